"""Withdrawing the health profile on the storefront, end to end in Chromium at desktop and phone sizes: a customer
who allows a health profile and bought an antihypertensive on prescription is built into the profile store, with
the health tag 高血压; a marketing segment that reads that health condition (with its impact assessment) and an
ordinary segment over the same figures both hold them. Staff with profiles:read_health see the health tag and the
health segment on the customer 360 page, and the customer among the segment's members. The customer switches the
health profile off on the account page's privacy card; at once the 360 page shows no health tag and no health
segment (the ordinary segment stays), and the segment no longer lists them."""

import re

import httpx
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.test_profiles_console import _login, _ok, customer_with_history, open_customer
from tests.e2e.ui import console_login, console_nav, is_phone, sel, store_login


def segments_of(base: str, uid: int, tag: str) -> tuple[int, int]:
    """A segment reading the hypertension condition and an ordinary one, both narrowed to the customer's own figures
    (their spend, an order within the day); returns (health segment id, ordinary segment id)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        admin = _login(c, DEMO_STAFF["admin"][0])
        profile = _ok(c.get(f"/api/v1/admin/profiles/customers/{uid}", headers=admin))["profile"]
        theirs = [
            {"field": "monetary_fen", "op": "eq", "value": profile["monetary_fen"]},
            {"field": "orders", "op": "eq", "value": profile["orders"]},
            {"field": "recency_days", "op": "le", "value": 1},
        ]
        health = _ok(c.post("/api/v1/admin/segments", headers=admin, json={
            "name": f"高血压复购{tag}", "kind": "dynamic", "purpose": "marketing",
            "definition": {"all": [{"health": "hypertension"}, *theirs]}, "impact_assessment_id": "PIA-2026-E2E"}))
        plain = _ok(c.post("/api/v1/admin/segments", headers=admin, json={
            "name": f"近日下单{tag}", "kind": "dynamic", "purpose": "marketing", "definition": {"all": theirs}}))
        assert health["sensitive"] and health["size"] >= 1, health
        assert not plain["sensitive"] and plain["size"] >= 1, plain
    return health["id"], plain["id"]


def open_segment(page: Page, segment_id: int, size: int | None = None):
    """The segment's drawer on the segments page (at the size given, else any); returns its size, the member ids
    the page received and the member rows' first cells (the user ids)."""
    console_nav(page, "segments")
    with page.expect_response(lambda r: f"/admin/segments/{segment_id}/members" in r.url) as answer:
        page.get_by_test_id(f"segment-open-{segment_id}").click()
    drawer = page.get_by_test_id("segment-drawer")
    shown = drawer.get_by_test_id("segment-drawer-size")
    expect(shown).to_have_text(re.compile(r"^\d+$") if size is None else str(size))
    received = [int(m["user_id"]) for m in answer.value.json()["items"]]
    rows = drawer.get_by_test_id("segment-members").locator("tbody tr td:first-child")
    return int(shown.inner_text()), received, rows


def test_a_withdrawn_health_profile_leaves_health_tags_and_health_segments(page: Page, live_server, browser):
    phone, uid = customer_with_history(live_server)
    health_id, plain_id = segments_of(live_server, uid, phone[-6:] + ("p" if is_phone(page) else "d"))

    # Staff with profiles:read_health: the health tag and the health segment on the 360 page, on request.
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    open_customer(page, phone, uid)
    expect(page.locator(sel("customer-segment", segment_id=str(plain_id)))).to_be_visible()
    expect(page.locator(sel("customer-segment", segment_id=str(health_id)))).to_have_count(0)  # not with the rest
    page.get_by_test_id("customer-health-load").click()
    expect(page.locator(sel("customer-health-row", condition="hypertension"))).to_be_visible()
    expect(page.locator(sel("customer-health-segment", segment_id=str(health_id)))).to_be_visible()
    size_before, received, rows = open_segment(page, health_id)
    assert uid in received, (uid, received)
    expect(rows.filter(has_text=re.compile(rf"^\s*{uid}\s*$"))).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("segment-drawer")).to_be_hidden()

    # The customer switches the health profile off on the account page's privacy card.
    shop = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server).new_page()
    store_login(shop, phone, DEMO_PASSWORD)
    shop.goto("/account")
    privacy = shop.get_by_test_id("account-privacy")
    switch = privacy.get_by_test_id("account-consent-health_profile")
    expect(switch).to_have_attribute("data-enabled", "true")
    switch.click()
    expect(switch).to_have_attribute("data-enabled", "false")
    expect(shop.get_by_text(re.compile("已关闭："))).to_be_visible()  # the ledger took the withdrawal
    shop.context.close()

    # At once: no health tag and no health segment on the 360 page; the ordinary segment stays.
    open_customer(page, phone, uid)
    expect(page.locator(sel("customer-segment", segment_id=str(plain_id)))).to_be_visible()
    page.get_by_test_id("customer-health-load").click()
    expect(page.get_by_test_id("customer-health-no-consent")).to_be_visible()
    expect(page.get_by_test_id("customer-health-row")).to_have_count(0)
    expect(page.get_by_test_id("customer-health-segment")).to_have_count(0)
    # ... and the segment no longer lists them.
    _, received, rows = open_segment(page, health_id, size_before - 1)
    assert uid not in received, (uid, received)
    expect(rows).to_have_count(min(size_before - 1, 20))
    expect(rows.filter(has_text=re.compile(rf"^\s*{uid}\s*$"))).to_have_count(0)
