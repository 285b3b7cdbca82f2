"""The personas and predictive models pages in Chromium, at desktop and phone sizes, on the e2e server's simulated
world: the clustering and a training of the purchase propensity are run through the API once; a marketer opens
人群画像 and sees the silhouette and elbow chart, a persona card with its name and size (in English after
switching the language) and the tree's rules with their fidelity, then 预测模型 and sees the propensity's model
card with every algorithm's cross-validated metrics and spread, the baselines beside, a confusion matrix and the
health tags' truth table, with nothing overflowing the page sideways. On the desktop the marketer also trains the
churn model from the page (its job followed to the end) and promotes a version."""

import re
import time

import httpx
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone, sel

RUN_SECONDS = 300
NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"


def _wait(c: httpx.Client, headers: dict, run: dict) -> dict:
    deadline = time.monotonic() + RUN_SECONDS
    while run.get("status") in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(1)
        run = c.get(f"/api/v1/admin/jobs/runs/{run['id']}", headers=headers).json()
    assert run["status"] == "succeeded", run
    return run


def _world(base: str) -> None:
    """The profile store built, the personas found and the propensity trained (each once per server)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        tokens = c.post("/api/v1/auth/login", json={"login": DEMO_STAFF["admin"][0], "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {tokens.json()['tokens']['access_token']}"}
        if not c.get("/api/v1/admin/profiles/status", headers=headers).json()["built"]:
            c.post("/api/v1/admin/pipeline/sync", headers=headers, json={})
            _wait(c, headers, c.post("/api/v1/admin/profiles/build", headers=headers).json())
        if c.get("/api/v1/admin/profiles/personas", headers=headers).status_code == 404:
            _wait(c, headers, c.post("/api/v1/admin/profiles/personas/run", headers=headers, json={}).json())
        if not c.get("/api/v1/admin/profiles/models", headers=headers, params={"task": "propensity_30d"}).json():
            started = c.post("/api/v1/admin/profiles/models/train", headers=headers, json={"task": "propensity_30d"})
            assert started.status_code == 202, started.text
            _wait(c, headers, started.json())


def test_personas_and_model_cards(page: Page, live_server):
    _world(live_server)
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)

    console_nav(page, "personas")
    personas = page.get_by_test_id("personas-page")
    expect(personas.get_by_test_id("persona-k-chart").locator("canvas")).to_have_count(1)
    cards = personas.get_by_test_id("persona-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 2
    first = cards.first
    zh_name = first.get_by_test_id("persona-name").inner_text()
    assert re.search(r"[\u4e00-\u9fff]", zh_name), zh_name
    expect(first.get_by_test_id("persona-size")).to_contain_text("%")
    expect(first.get_by_test_id("persona-features-chart").locator("canvas")).to_have_count(1)
    expect(personas.get_by_test_id("persona-fidelity")).to_contain_text("%")
    expect(personas.get_by_test_id("persona-rule").first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS), "the personas page overflows sideways"
    page.get_by_test_id("lang-switch").click()
    expect(first.get_by_test_id("persona-name")).not_to_have_text(zh_name)
    expect(first.get_by_test_id("persona-name")).to_have_text(re.compile(r"^[A-Za-z][A-Za-z &,\-0-9]+$"))
    assert page.evaluate(NO_SIDEWAYS), "the personas page overflows sideways in English"
    page.get_by_test_id("lang-switch").click()

    console_nav(page, "models")
    models = page.get_by_test_id("models-page")
    propensity = models.locator(sel("model-card", task="propensity_30d"))
    latest = propensity.get_by_test_id("model-run").first
    expect(latest.get_by_test_id("model-version")).to_have_count(4)
    algorithms = [v.get_attribute("data-algorithm") for v in latest.get_by_test_id("model-version").all()]
    assert algorithms == ["decision_tree", "mlp", "recency", "majority"], algorithms
    expect(latest.get_by_test_id("metric-f1").first).to_have_text(re.compile(r"^\d\.\d{3} ± \d\.\d{3}$"))
    expect(latest.get_by_test_id("confusion-matrix").first).to_be_visible()
    expect(models.get_by_test_id("truth-table").get_by_test_id("truth-condition").first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS), "the models page overflows sideways"

    if is_phone(page):
        return
    # train the churn model from its card and follow the job; then promote the propensity's decision tree
    churn = models.locator(sel("model-card", task="churn_90d"))
    runs = int(churn.get_attribute("data-runs") or 0)
    churn.get_by_test_id("model-train-churn_90d").click()
    expect(churn.get_by_test_id("model-job")).to_have_attribute("data-status", "succeeded", timeout=RUN_SECONDS * 1000)
    expect(churn).to_have_attribute("data-runs", str(runs + 1))
    expect(churn.get_by_test_id("model-run").first.get_by_test_id("model-version")).to_have_count(4)

    tree = latest.locator(sel("model-version", algorithm="decision_tree")).locator("xpath=ancestor::tr")
    tree.get_by_test_id("model-promote").click()
    page.locator(".el-message-box").get_by_role("button", name=re.compile("确定|OK")).click()
    expect(latest.locator(sel("model-version", algorithm="decision_tree", promoted="true"))).to_be_visible()
    expect(latest.get_by_test_id("model-promoted")).to_have_count(1)
