"""The console's live view and user timeline in Chromium, at desktop and phone sizes: a shopper browses the
storefront anonymously and an admin sees the visitor's Product Viewed in the live view within seconds (filtered by
the `mr_anon_id` cookie); the shopper logs in as the demo customer and views another product; the admin opens the
customer's timeline from the live view and sees the anonymous browsing stitched to the account (the identify link,
events under both ids: the storefront's identify carries the server's identity token), and finds the same timeline
by the customer's phone number. On desktop the admin then undoes the link: the anonymous events leave the timeline, the link
shows as undone, and the customers page's detail drawer opens the same timeline."""

import re
import time

from playwright.sync_api import Browser, Locator, Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone, sel, store_login

CUSTOMER = "13800138000"


def view_product(shop: Page, query: str) -> None:
    """Home → search → the first matching product's page."""
    shop.goto("/")
    shop.get_by_test_id("home-search-input").fill(query)
    shop.get_by_test_id("home-search-submit").click()
    shop.get_by_test_id("product-card").filter(has_text=query).first.get_by_test_id("product-card-link").click()
    expect(shop.get_by_test_id("product-name")).to_contain_text(query)


def until_on_timeline(page: Page, locator: Locator, timeout: float = 30) -> None:
    """The timeline reads the collector's log: search again until `locator` shows (the tracker flushes every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(locator.first).to_be_visible(timeout=3000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.get_by_test_id("timeline-search").click()


def test_live_view_and_timeline_stitch_anonymous_browsing_to_the_account(page: Page, browser: Browser,
                                                                         live_server: str):
    context = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server)
    context.set_default_timeout(15_000)
    shop = context.new_page()
    shop_errors: list[str] = []
    shop.on("pageerror", lambda e: shop_errors.append(str(e)))
    try:
        view_product(shop, "板蓝根")
        anon = next(c["value"] for c in context.cookies() if c["name"] == "mr_anon_id")

        # The admin's live view, filtered by the visitor's anonymous id.
        console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
        expect(page.get_by_test_id("dashboard-greeting")).to_be_visible()
        console_nav(page, "live-events")
        expect(page.get_by_test_id("live-events-page")).to_be_visible()
        toggle = page.get_by_test_id("live-toggle")
        expect(toggle).to_have_attribute("data-paused", "false")
        page.get_by_test_id("live-filter-user").fill(anon)
        viewed = page.locator(sel("live-event-row", event="Product Viewed", anonymous_id=anon))
        expect(viewed.first).to_be_visible()
        expect(page.locator(f'[data-testid="live-event-row"]:not([data-anonymous-id="{anon}"])')).to_have_count(0)
        expect(page.get_by_test_id("live-chart")).to_be_visible()
        expect(page.get_by_test_id("live-updated")).to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2}"))
        # An id nobody has: the empty state.
        page.get_by_test_id("live-filter-event").fill("No Such Event")
        expect(page.get_by_test_id("live-empty")).to_be_visible()
        page.get_by_test_id("live-filter-event").fill("")
        expect(viewed.first).to_be_visible()
        toggle.click()
        expect(toggle).to_have_attribute("data-paused", "true")
        toggle.click()
        expect(toggle).to_have_attribute("data-paused", "false")

        # The shopper logs in as the demo customer and views another product.
        store_login(shop, CUSTOMER, DEMO_PASSWORD)
        uid = str(shop.evaluate("""fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' +
            JSON.parse(localStorage['medreach.tokens']).access_token}}).then(r => r.json()).then(me => me.id)"""))
        view_product(shop, "感冒灵")

        # The live view (still filtered by the anonymous id) now shows events under the user id too.
        after = page.locator(sel("live-event-row", event="Product Viewed", anonymous_id=anon, user_id=uid))
        expect(after.first).to_be_visible()
        page.locator(sel("live-open-timeline", id=uid)).first.click()
        expect(page.get_by_test_id("timeline-page")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"/console/events/timeline\?user={uid}$"))
        expect(page.get_by_test_id("timeline-user-input")).to_have_value(uid)

        until_on_timeline(page, page.locator(sel("timeline-event", event="Product Viewed", anonymous_id=anon,
                                                 user_id=uid)))
        until_on_timeline(page, page.locator(sel("timeline-id", id=anon)))
        expect(page.locator(sel("timeline-id", id=uid))).to_be_visible()
        link = page.locator(sel("timeline-link", anonymous_id=anon))
        expect(link).to_have_attribute("data-undone", "false")
        before_login = page.locator(sel("timeline-event", event="Product Viewed", anonymous_id=anon, user_id=""))
        expect(before_login.first).to_be_visible()
        # Newest first: the product viewed after login is above the one viewed before.
        events = page.get_by_test_id("timeline-event")
        order = [(e.get_attribute("data-event"), e.get_attribute("data-user-id"))
                 for e in events.all() if e.get_attribute("data-anonymous-id") == anon]
        assert order.index(("Product Viewed", uid)) < order.index(("Product Viewed", "")), order

        # Staff find the same person by phone number too (the search is audited on the server).
        page.get_by_test_id("timeline-user-input").fill("+86 " + CUSTOMER)
        page.get_by_test_id("timeline-search").click()
        expect(page.get_by_test_id("timeline-user-input")).to_have_value(uid)
        expect(page.get_by_test_id("timeline-result")).to_have_attribute("data-user-id", uid)
        expect(page.get_by_test_id("timeline-as-id")).to_have_count(0)

        if not is_phone(page):  # desktop only, to keep the phone run short
            undo_and_open_from_customers(page, anon, uid)
    finally:
        context.close()
    assert not shop_errors, f"JavaScript errors on the shop page: {shop_errors}"


def undo_and_open_from_customers(page: Page, anon: str, uid: str) -> None:
    """Undo the link: the anonymous browsing leaves the timeline, the link stays, marked undone; then the
    customers page's detail drawer opens the same timeline."""
    link = page.locator(sel("timeline-link", anonymous_id=anon))
    before_login = page.locator(sel("timeline-event", anonymous_id=anon, user_id=""))
    page.locator(f'[data-testid="timeline-links"] .el-table__row:has({sel("timeline-link", anonymous_id=anon)})'
                 ).get_by_test_id("timeline-link-undo").click()
    page.locator(".timeline-undo-confirm").click()
    expect(link).to_have_attribute("data-undone", "true")
    expect(before_login).to_have_count(0)
    expect(page.locator(sel("timeline-id", id=anon))).to_have_count(0)
    expect(page.locator(sel("timeline-event", event="Product Viewed", user_id=uid)).first).to_be_visible()

    # The customers page's detail drawer opens the same timeline.
    console_nav(page, "customers")
    page.get_by_test_id("customers-search").fill(CUSTOMER)
    page.get_by_test_id("customers-search-button").click()
    page.locator(sel("customer-row", user_id=uid)).click()
    page.get_by_test_id("user-open-timeline").click()
    expect(page).to_have_url(re.compile(rf"/console/events/timeline\?user={uid}$"))
    expect(page.get_by_test_id("timeline-result")).to_have_attribute("data-user-id", uid)
