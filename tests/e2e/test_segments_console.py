"""The segments page in Chromium, at desktop and phone sizes: a marketer builds a segment with the condition tree
editor (customers with at least one paid order), sees the audience size while editing, saves it, finds it in the
list with its size, and opens it: the membership history chart and the masked members."""

import re
import time

import httpx
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone, new_phone


def _built(base: str) -> None:
    """The profile store built once (the demo builds it; a fresh server builds it here)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        tokens = c.post("/api/v1/auth/login", json={"login": DEMO_STAFF["admin"][0], "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {tokens.json()['tokens']['access_token']}"}
        if c.get("/api/v1/admin/profiles/status", headers=headers).json()["built"]:
            return
        c.post("/api/v1/admin/pipeline/sync", headers=headers, json={})
        run = c.post("/api/v1/admin/profiles/build", headers=headers).json()
        deadline = time.monotonic() + 240
        while run.get("status") in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(1)
            run = c.get(f"/api/v1/admin/jobs/runs/{run['id']}", headers=headers).json()


def test_a_segment_is_built_with_its_live_size(page: Page, live_server):
    _built(live_server)
    name = "e2e分群" + new_phone()[-6:] + ("p" if is_phone(page) else "d")
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)
    console_nav(page, "segments")
    expect(page.get_by_test_id("segments-page")).to_be_visible()
    page.get_by_test_id("segment-create").click()
    form = page.get_by_test_id("segment-form")
    form.get_by_test_id("segment-form-name").fill(name)
    # the editor starts with one row, orders >= 1: the live size comes without saving
    live = form.get_by_test_id("segment-live-size")
    expect(live).to_have_text(re.compile(r"\d"))
    before = int(re.sub(r"\D", "", live.inner_text()))
    form.get_by_test_id("tree-value").first.fill("1000000")  # nobody has a million orders
    expect(live).to_have_text(re.compile(r"[:：]\s*0$"))
    form.get_by_test_id("tree-value").first.fill("1")
    expect(live).to_have_text(re.compile(rf"[:：]\s*{before}$"))
    form.get_by_test_id("segment-form-save").click()
    expect(form).to_be_hidden()
    link = page.get_by_test_id("segment-list").get_by_text(name, exact=True)
    expect(link).to_be_visible()
    expect(link.locator("xpath=ancestor::tr").get_by_test_id("segment-size")).to_have_text(str(before))
    link.click()
    drawer = page.get_by_test_id("segment-drawer")
    expect(drawer.get_by_test_id("segment-drawer-size")).to_have_text(str(before))
    expect(drawer.get_by_test_id("segment-history-chart").locator("canvas")).to_have_count(1)
    if before:
        expect(drawer.get_by_test_id("segment-members").locator("tbody tr").first).to_contain_text("****")
