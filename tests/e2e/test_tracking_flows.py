"""Storefront tracking in Chromium, at desktop and phone sizes: an admin creates a web source in the console
(the write key is shown once), a shopper whose browser uses that key browses home → search → product → add to
cart and the collector counts the events (the batches carry the `mr_anon_id` cookie as anonymousId); the shopper
registers, and the identify goes out with the server's identity token, so the anonymous browsing joins the new
account (the key is public: without the token it would not); after the shopper turns 个性化与行为分析 off on the
account page, browsing sends nothing and the count stays put. A click right before leaving the page arrives (the
batch is a keepalive fetch), and no batch is aborted by a navigation."""

import json
import time
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.e2e.ui import console_login, console_nav, register

PASSWORD = "medreach-demo-2026"

ADMIN_GET_JS = """async (path) => {
    const token = JSON.parse(localStorage['medreach.tokens']).access_token
    const r = await fetch('/api/v1' + path, {headers: {Authorization: 'Bearer ' + token}})
    return await r.json()
}"""

STATS_JS = """async (id) => {
    const token = JSON.parse(localStorage['medreach.tokens']).access_token
    const r = await fetch('/api/v1/admin/sources/' + id + '/stats', {headers: {Authorization: 'Bearer ' + token}})
    const body = await r.json()
    return body.days[body.days.length - 1]
}"""


def today_received(admin: Page, source_id: str) -> int:
    return int(admin.evaluate(STATS_JS, source_id)["received"])


def wait_received(admin: Page, source_id: str, at_least: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = today_received(admin, source_id)
        if n >= at_least or time.monotonic() > deadline:
            return n
        time.sleep(0.5)


def settle(admin: Page, source_id: str) -> int:
    """The count once nothing more arrives for a few seconds (the tracker flushes every 2 s)."""
    last = today_received(admin, source_id)
    while True:
        time.sleep(3)
        n = today_received(admin, source_id)
        if n == last:
            return n
        last = n


def create_web_source(page: Page) -> tuple[str, str]:
    console_login(page, "admin@medreach.cn", PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_be_visible()
    console_nav(page, "sources")
    expect(page.get_by_test_id("sources-page")).to_be_visible()

    page.get_by_test_id("sources-create").click()
    page.get_by_test_id("source-form-name").fill(f"e2e web {uuid.uuid4().hex[:6]}")
    page.get_by_test_id("source-form-kind-web").click()
    page.get_by_test_id("source-form-submit").click()
    dialog = page.get_by_test_id("source-key-dialog")
    expect(dialog.get_by_test_id("source-key-warning")).to_be_visible()
    key_el = page.get_by_test_id("source-key-value")
    expect(key_el).to_have_text(lambda_re_key())
    key = key_el.inner_text().strip()
    source_id = key_el.get_attribute("data-source-id")
    page.get_by_test_id("source-key-copy").click()
    page.get_by_test_id("source-key-done").click()
    expect(page.get_by_test_id("source-key-dialog")).to_be_hidden()
    # Shown once: the table only has the hint.
    row = page.locator(f'[data-testid="source-row"][data-source-id="{source_id}"]')
    expect(row).to_have_attribute("data-status", "active")
    assert key not in page.content()
    # The stats drawer opens with its chart.
    row_actions = page.get_by_test_id("source-stats")
    row_actions.last.click()
    expect(page.get_by_test_id("source-stats-drawer")).to_be_visible()
    expect(page.get_by_test_id("source-stats-chart")).to_be_visible()
    return key, source_id


def lambda_re_key():
    import re

    return re.compile(r"^mr_[A-Za-z0-9_-]{20,}$")


def browse(shop: Page) -> None:
    shop.goto("/")
    shop.get_by_test_id("home-search-input").fill("板蓝根")
    shop.get_by_test_id("home-search-submit").click()
    card = shop.get_by_test_id("product-card").filter(has_text="板蓝根").first
    card.get_by_test_id("product-card-link").click()
    expect(shop.get_by_test_id("product-name")).to_contain_text("板蓝根")
    before = int(shop.get_by_test_id("cart-badge").get_attribute("data-count") or 0) \
        if shop.get_by_test_id("cart-badge").count() else 0
    shop.get_by_test_id("product-add-to-cart").click()
    expect(shop.get_by_test_id("cart-badge")).to_have_attribute("data-count", str(before + 1))


def test_storefront_sends_segment_batches_and_honours_the_opt_out(page: Page, browser: Browser, live_server: str):
    key, source_id = create_web_source(page)
    page.keyboard.press("Escape")
    assert today_received(page, source_id) == 0

    context = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(15_000)
    context.add_init_script(f"localStorage.setItem('medreach.trackingWriteKey', {json.dumps(key)})")
    shop = context.new_page()
    errors: list[str] = []
    shop.on("pageerror", lambda e: errors.append(str(e)))
    batches: list[dict] = []  # what the browser sent (a keepalive request's body is not always shown: headers only)

    def on_request(req):
        if req.url.endswith("/v1/batch") and req.method == "POST":
            batches.append({"auth": req.headers.get("authorization", "")})

    shop.on("request", on_request)
    aborted: list[str] = []
    shop.on("requestfailed", lambda req: "/v1/batch" in req.url and aborted.append(req.failure or "failed"))
    try:
        browse(shop)
        received = wait_received(page, source_id, 3)
        assert received >= 3, f"the collector counted {received} events today"

        anon = next(c["value"] for c in context.cookies() if c["name"] == "mr_anon_id")

        def arrived() -> list[dict]:
            """What the collector recorded from this browser, oldest first (the live view, by anonymous id)."""
            return page.evaluate(ADMIN_GET_JS, f"/admin/events/live?user={anon}&source_id={source_id}&limit=500")[::-1]

        deadline = time.monotonic() + 10
        events = arrived()
        while not (added := [e for e in events if e.get("event") == "Product Added"]):
            assert time.monotonic() < deadline, [e.get("event") or e.get("type") for e in events]
            shop.wait_for_timeout(500)
            events = arrived()
        assert added[0]["anonymousId"] == anon
        assert added[0]["properties"]["quantity"] == 1 and added[0]["properties"]["sku"]
        assert {"Products Searched", "Product List Viewed", "Product Viewed"} <= {e.get("event") for e in events}
        pages = [e for e in events if e["type"] == "page"]
        assert pages and pages[0]["context"]["page"]["path"] == "/" and pages[0]["name"] == "home"
        assert all(e["messageId"] and e["originalTimestamp"] and e["context"]["locale"] for e in events)
        assert all(e["sentAt"] for e in events)
        assert batches and all(b["auth"].startswith("Basic ") for b in batches)

        # A new customer: the identify carries the server's identity token (the key is public: without the token the
        # collector would keep it anonymous), so the browsing before joins the account.
        register(shop, "埋点测试")
        uid = str(shop.evaluate(ADMIN_GET_JS, "/me")["id"])
        deadline = time.monotonic() + 20
        while not (identified := [e for e in arrived() if e["type"] == "identify"]):
            assert time.monotonic() < deadline, "no identify arrived"
            shop.wait_for_timeout(500)
        assert identified[0].get("userId") == uid, identified[0]
        assert "claimedUserId" not in identified[0]["context"] and "identityToken" not in identified[0]["context"]
        assert identified[0].get("traits", {}) == {}, identified[0]  # no personal data from the browser
        timeline = page.evaluate(ADMIN_GET_JS, f"/admin/users/{uid}/timeline")
        while anon not in timeline["ids"]:
            assert time.monotonic() < deadline, f"the browsing was not stitched: {timeline['ids']}"
            page.wait_for_timeout(500)
            timeline = page.evaluate(ADMIN_GET_JS, f"/admin/users/{uid}/timeline")
        assert [link["via"] for link in timeline["links"]] == ["identify"]

        # Opt out on the account page: nothing is queued or sent afterwards.
        shop.goto("/account")
        switch = shop.get_by_test_id("account-tracking-switch")
        expect(switch).to_have_attribute("data-enabled", "true")
        switch.click()
        expect(switch).to_have_attribute("data-enabled", "false")
        assert shop.evaluate("localStorage.getItem('medreach.trackingOptOut')") == "1"
        # The account keeps the decision too (the consent ledger), so the server honours it on every device.
        deadline = time.monotonic() + 10
        while (consent := next(c for c in shop.evaluate(ADMIN_GET_JS, "/me/consents")
                               if c["purpose"] == "behaviour_analytics"))["granted"]:
            assert time.monotonic() < deadline, "the opt-out never reached the consent ledger"
            shop.wait_for_timeout(300)
        assert consent["decided_at"]

        settled = settle(page, source_id)
        sent_before = len(batches)
        opt_out_headers: list[dict] = []
        shop.on("request", lambda req: "/api/v1/products" in req.url and req.resource_type == "fetch"
                and opt_out_headers.append(req.headers))
        browse(shop)
        shop.wait_for_timeout(4500)
        assert len(batches) == sent_before, "a batch was sent after the opt-out"
        # API calls tell the server too (no anonymous id, the opt-out header): it records no browsing events.
        assert opt_out_headers and all(h.get("x-tracking-opt-out") == "1" and "x-anonymous-id" not in h
                                       for h in opt_out_headers)
        assert shop.evaluate("localStorage.getItem('medreach.trackingQueue')") is None
        assert today_received(page, source_id) == settled

        # Still off after a reload.
        shop.goto("/account")
        expect(shop.get_by_test_id("account-tracking-switch")).to_have_attribute("data-enabled", "false")
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the shop page: {errors}"
    assert not aborted, f"batches aborted by a navigation: {aborted}"


def test_a_click_right_before_leaving_the_page_arrives(page: Page, browser: Browser, live_server: str):
    """Add to cart, then leave for another site at once (long before the 2 s flush): the event still reaches the
    collector, sent on pagehide as a keepalive fetch that outlives the page."""
    console_login(page, "admin@medreach.cn", PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_be_visible()
    context = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(15_000)
    shop = context.new_page()
    # No requestfailed check here: a keepalive fetch outlives the page it left, but the page that is gone may
    # still report it as aborted (its renderer stops listening). What counts is that the event arrives.
    try:
        browse(shop)  # ends with the click on 加入购物车 (Product Added queued)
        anon = next(c["value"] for c in context.cookies() if c["name"] == "mr_anon_id")
        shop.goto("about:blank")  # leave at once: the batch timer never fires on that page
        deadline = time.monotonic() + 15
        while True:
            live = page.evaluate(ADMIN_GET_JS, f"/admin/events/live?user={anon}&event=Product%20Added")
            if live or time.monotonic() > deadline:
                break
            page.wait_for_timeout(500)
        assert live and live[0]["anonymousId"] == anon, "the click before leaving never arrived"
    finally:
        context.close()
