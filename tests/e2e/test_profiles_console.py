"""The customer 360 and the tag catalogue in Chromium, at desktop and phone sizes: a customer with a paid
prescription order (antihypertensive) and an OTC order, who allows a health profile, is built into the profile
store; the console finds them (by phone, and among the buyers of their city tier), shows their profile masked,
tags with evidence, RFM, CLV, interests and behaviour, a notice instead of health tags to a marketer, and their
health tags to the admin on request; the customer withdraws the health profile on the storefront and the console
shows no health tag at once. The tag catalogue shows coverage, owners and a tag's distribution; a marketer builds a
rule tag as a condition tree, refreshes it, and imports an imported tag's values from a CSV file."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone, new_phone, sel, store_login

SHANGHAI = ZoneInfo("Asia/Shanghai")  # a prescription is valid on its Beijing day of issue


def _ok(r: httpx.Response) -> dict:
    assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}"
    return r.json() if r.content else {}


def _login(c: httpx.Client, login: str) -> dict[str, str]:
    tokens = _ok(c.post("/api/v1/auth/login", json={"login": login, "password": DEMO_PASSWORD}))["tokens"]
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _product(c: httpx.Client, q: str) -> int:
    items = _ok(c.get("/api/v1/products", params={"q": q}))["items"]
    assert items, q
    return items[0]["id"]


def _pay(c: httpx.Client, headers: dict, order_id: int) -> None:
    pay_url = _ok(c.post(f"/api/v1/orders/{order_id}/pay", headers=headers))["pay_url"]
    trade_no = pay_url.rsplit("/", 1)[1]
    assert c.post(f"/sandbox-gateway/cashier/{trade_no}/pay").status_code in (200, 303)


def _patient(c: httpx.Client, name: str) -> dict:
    """The e-prescription's patient in the shape the server's schema asks for: the person taking the medicine
    (用药人) with sex and age, or the older patient_name."""
    schemas = _ok(c.get("/openapi.json"))["components"]["schemas"]
    if "patient" in schemas.get("EPrescriptionIn", {}).get("properties", {}):
        return {"patient": {"name": name, "sex": "female", "age": 58, "relationship": "self"}}
    return {"patient_name": name}


def customer_with_history(base: str) -> tuple[str, int]:
    """A new customer (health profile allowed at registration) with a paid Rx order and a paid OTC order, built
    into the profile store; returns their phone and id."""
    phone = new_phone()
    with httpx.Client(base_url=base, timeout=60) as c:
        agreements = {d["name"]: d["version"] for d in _ok(c.get("/api/v1/legal/documents"))}
        me = _ok(c.post("/api/v1/auth/register", json={
            "phone": phone, "password": DEMO_PASSWORD, "name": "王画像", "agreements": agreements,
            "consents": {"health_profile": True}}))
        headers = {"Authorization": f"Bearer {me['tokens']['access_token']}"}
        address = _ok(c.post("/api/v1/addresses", headers=headers, json={
            "recipient": "王画像", "phone": phone, "province": "浙江省", "city": "杭州市", "district": "西湖区",
            "detail": "文三路 1 号"}))["id"]
        rx_product, otc_product = _product(c, "苯磺酸氨氯地平"), _product(c, "感冒灵")
        rx = _ok(c.post("/api/v1/prescriptions/e-rx", headers=headers, json={
            "hospital": "杭州市第一人民医院", "doctor": "李医生", "rx_number": f"E2E-{phone}",
            "issued_on": datetime.now(SHANGHAI).date().isoformat(), **_patient(c, "王画像"), "diagnosis": "高血压",
            "items": [{"product_id": rx_product, "quantity": 2}]}))
        pharmacist = _login(c, DEMO_STAFF["pharmacist"][0])
        _ok(c.post(f"/api/v1/admin/prescriptions/{rx['id']}/review", headers=pharmacist,
                   json={"decision": "approve", "reason": ""}))
        rx_order = _ok(c.post("/api/v1/orders", headers={**headers, "Idempotency-Key": f"rx-{phone}"}, json={
            "address_id": address, "items": [{"product_id": rx_product, "quantity": 2}], "prescription_id": rx["id"],
            "risk_confirmed": True}))
        _pay(c, headers, rx_order["id"])
        otc_order = _ok(c.post("/api/v1/orders", headers={**headers, "Idempotency-Key": f"otc-{phone}"}, json={
            "address_id": address, "items": [{"product_id": otc_product, "quantity": 1}]}))
        _pay(c, headers, otc_order["id"])
        admin = _login(c, DEMO_STAFF["admin"][0])
        _ok(c.post("/api/v1/admin/pipeline/sync", headers=admin, json={}))
        run = _ok(c.post("/api/v1/admin/profiles/build", headers=admin))
        deadline = time.monotonic() + 240
        while run["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(1)
            run = _ok(c.get(f"/api/v1/admin/jobs/runs/{run['id']}", headers=admin))
        assert run["status"] == "succeeded", run
    return phone, me["user"]["id"]


def open_customer(page: Page, phone: str, uid: int) -> None:
    console_nav(page, "customer-profiles")
    expect(page.get_by_test_id("profiles-status")).to_have_attribute("data-built", "true")
    page.get_by_test_id("profiles-customers-search").fill(phone)
    page.get_by_test_id("profiles-customers-search-button").click()
    page.locator(sel("profile-customer-row", user_id=str(uid))).click()
    expect(page.get_by_test_id("customer-detail-id")).to_have_attribute("data-user-id", str(uid))


def test_the_customer_360_and_a_withdrawn_health_profile(page: Page, live_server, browser):
    phone, uid = customer_with_history(live_server)
    # A marketer: personal data masked, tags with their evidence, RFM, CLV, interests; no health tags.
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)
    open_customer(page, phone, uid)
    expect(page.get_by_test_id("customer-masked")).to_be_visible()
    expect(page.get_by_test_id("customer-phone")).to_contain_text("****")
    expect(page.get_by_test_id("customer-rfm-group")).to_be_visible()
    expect(page.get_by_test_id("customer-clv")).to_be_visible()
    expect(page.locator(sel("customer-tag", code="rfm_group"))).to_be_visible()
    expect(page.locator(sel("customer-tag", code="price_sensitivity"))).to_have_count(1)
    expect(page.get_by_test_id("customer-interests-chart")).to_have_attribute("data-values", re.compile("高血压"))
    expect(page.locator(sel("customer-consents") + " [data-consent=consent_health_profile]")).to_have_attribute(
        "data-granted", "true")
    expect(page.get_by_test_id("customer-segments")).to_be_visible()
    expect(page.get_by_test_id("customer-behaviour")).to_be_visible()
    expect(page.get_by_test_id("customer-health-locked")).to_be_visible()
    expect(page.get_by_test_id("customer-health-card")).to_have_count(0)
    page.get_by_test_id("customer-timeline-link").click()
    expect(page).to_have_url(re.compile(rf"/console/events/timeline\?user={uid}$"))

    # The admin may see health tags, on request (audited).
    admin = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server).new_page()
    console_login(admin, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    open_customer(admin, phone, uid)
    admin.get_by_test_id("customer-health-load").click()
    expect(admin.locator(sel("customer-health-row", condition="hypertension"))).to_be_visible()

    # The customer withdraws the health profile on the storefront: no health tag shows any more, at once.
    shop = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server).new_page()
    store_login(shop, phone, DEMO_PASSWORD)
    shop.goto("/account")
    switch = shop.get_by_test_id("account-consent-health_profile")
    expect(switch).to_have_attribute("data-enabled", "true")
    switch.click()
    expect(switch).to_have_attribute("data-enabled", "false")
    shop.context.close()

    admin.reload()
    admin.get_by_test_id("customer-health-load").click()
    expect(admin.get_by_test_id("customer-health-no-consent")).to_be_visible()
    expect(admin.locator(sel("customer-health-row", condition="hypertension"))).to_have_count(0)
    admin.context.close()


def test_the_customer_list_filters_by_profile(page: Page, live_server):
    """The demo world's customers filtered by RFM group and as buyers: every row shown is of that group."""
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)
    console_nav(page, "customer-profiles")
    expect(page.get_by_test_id("profiles-status")).to_have_attribute("data-built", "true")
    expect(page.get_by_test_id("profile-customer-row").first).to_be_visible()
    page.get_by_test_id("profiles-filter-rfm").click()
    page.get_by_role("option", name="重要价值客户").click()
    page.get_by_test_id("profiles-filter-buyers").click()
    table = page.get_by_test_id("profiles-customers-table")
    expect(page.get_by_test_id("profiles-filter-clear")).to_be_visible()
    expect(table.locator("tbody tr").first).to_contain_text("重要价值客户")
    expect(table.locator("tbody tr").filter(has_not_text="重要价值客户")).to_have_count(0)
    page.get_by_test_id("profiles-filter-clear").click()
    expect(page.get_by_test_id("profiles-filter-clear")).to_have_count(0)


def test_the_tag_catalogue_shows_coverage_and_distributions(page: Page, live_server):
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)
    console_nav(page, "tags")
    expect(page.locator(sel("tag-row", code="rfm_group"))).to_be_visible()
    expect(page.locator(sel("tag-row", code="chronic_hypertension"))).to_be_visible()
    if not is_phone(page):
        expect(page.get_by_test_id("tags-coverage-chart")).to_be_visible()
        expect(page.locator(sel("tag-owner", code="rfm_group"))).to_have_text("系统内置")
    page.locator(sel("tag-row", code="city_tier")).click()
    drawer = page.get_by_test_id("tag-detail-drawer")
    expect(drawer.get_by_test_id("tag-definition")).to_contain_text("city_tier")
    expect(drawer.get_by_test_id("tag-detail-coverage")).to_be_visible()
    expect(drawer.get_by_test_id("tag-distribution-chart")).not_to_have_attribute("data-values", "{}")
    # A sensitive tag's figures need the health permission: the marketer is told so.
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    page.locator(sel("tag-row", code="chronic_hypertension")).click()
    expect(page.get_by_test_id("tag-detail-error")).to_be_visible()


def test_a_rule_tag_built_as_a_condition_tree_and_an_imported_tag(page: Page, live_server):
    """A marketer builds 'at least 2 orders AND NOT (an order in the latest 30 days)' with the tree editor (an
    empty value is named first), saves and refreshes it; an imported tag takes a CSV of user_id,value and reports
    the ids it does not know."""
    code = "e2e_" + new_phone()[-6:] + ("p" if is_phone(page) else "d")
    console_login(page, DEMO_STAFF["marketer"][0], DEMO_PASSWORD)
    console_nav(page, "tags")
    page.get_by_test_id("tags-new").click()
    form = page.get_by_test_id("tag-form")
    form.get_by_test_id("tag-form-code").fill(code)
    form.get_by_test_id("tag-form-name-zh").fill("沉睡复购客户")
    form.get_by_test_id("tag-form-reset").click()  # one row: orders >= 1
    form.locator(sel("tree-row", path="1.1")).get_by_test_id("tree-value").fill("")
    form.get_by_test_id("tag-form-save").click()
    expect(form.get_by_test_id("tag-form-error")).to_contain_text("1.1")
    form.locator(sel("tree-row", path="1.1")).get_by_test_id("tree-value").fill("2")
    form.get_by_test_id("tree-add-group").first.click()
    group = form.locator(sel("tree-group", path="1.2"))
    group.get_by_test_id("tree-group-not").click()
    group.get_by_test_id("tree-row-remove").click()
    group.get_by_test_id("tree-add-event").click()
    group.get_by_test_id("tree-within").locator("input").fill("30")
    form.get_by_test_id("tag-form-mode").click()  # as JSON: the tree as the API takes it
    when = form.get_by_test_id("tag-form-when")
    expect(when).to_have_value(re.compile(r'"not":\s*\{\s*"any"'))
    assert '"value": 2' in when.input_value() and '"within_days": 30' in when.input_value()
    form.get_by_test_id("tag-form-mode").click()
    form.get_by_test_id("tag-form-save").click()
    expect(form).to_be_hidden()
    row = page.locator(sel("tag-row", code=code))
    expect(row).to_be_visible()
    if not is_phone(page):
        expect(page.locator(sel("tag-owner", code=code))).not_to_have_text("系统内置")
    row.locator("xpath=ancestor::tr").get_by_test_id("tag-refresh").click()
    expect(page.get_by_text("已开始刷新标签")).to_be_visible()

    if is_phone(page):
        return  # the import once, at desktop size
    page.get_by_test_id("tags-new").click()
    form.get_by_test_id("tag-form-code").fill(code + "_csv")
    form.get_by_test_id("tag-form-name-zh").fill("线下会员")
    form.get_by_test_id("tag-form-kind").get_by_text("导入").click()
    form.get_by_test_id("tag-form-save").click()
    expect(form).to_be_hidden()
    imported = page.locator(sel("tag-row", code=code + "_csv")).locator("xpath=ancestor::tr")
    imported.get_by_test_id("tag-import").click()
    dialog = page.get_by_test_id("tag-import-dialog")
    customer = _customer_id(live_server)
    csv = f"user_id,value\n{customer},金卡\n99999999,银卡\n".encode()
    upload = {"name": "members.csv", "mimeType": "text/csv", "buffer": csv}
    dialog.get_by_test_id("tag-import-file").set_input_files(upload)
    dialog.get_by_test_id("tag-import-upload").click()
    report = dialog.get_by_test_id("tag-import-report")
    expect(report).to_have_attribute("data-imported", "1")
    expect(report).to_have_attribute("data-unknown", "1")
    expect(report).to_contain_text("99999999")


def _customer_id(base: str) -> int:
    """A demo customer who has a profile."""
    with httpx.Client(base_url=base, timeout=60) as c:
        admin = _login(c, DEMO_STAFF["admin"][0])
        rows = _ok(c.get("/api/v1/admin/profiles/customers", headers=admin, params={"min_orders": 1, "limit": 1}))
    return rows["items"][0]["id"]
