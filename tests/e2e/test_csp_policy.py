"""The Content-Security-Policy must not break what it protects. The storefront, the console (Element
Plus and ECharts set inline styles) and the sandbox gateway's cashier page load in Chromium with no violation
of the policy the server sends."""

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_CUSTOMER, DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login

pytestmark = pytest.mark.e2e

STORE_PATHS = ["/", "/products", "/products?q=感冒", "/cart", "/coupons", "/flash-sales", "/login", "/register"]
CONSOLE_PATHS = ["/console", "/console/products", "/console/orders", "/console/promotions", "/console/sources",
                 "/console/events/live", "/console/pipeline", "/console/customers", "/console/audit"]
# Every violation is reported to the page as an event, whatever the directive.
WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


@pytest.fixture
def watched(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", base_url=live_server)
    context.add_init_script(WATCH)
    page = context.new_page()
    logged: list[str] = []
    page.on("console", lambda m: logged.append(m.text) if "Content Security Policy" in m.text else None)
    yield page, logged
    context.close()


def violations(page: Page, logged: list[str]) -> list[str]:
    page.wait_for_timeout(300)  # a chart or a lazy component may style itself just after the load
    return page.evaluate("window.__violations") + logged


def visit(page: Page, logged: list[str], path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert page.locator("#app").inner_html().strip(), f"{path} rendered nothing"
    assert not violations(page, logged), (path, violations(page, logged))


def test_storefront_pages_keep_the_policy(watched, live_server):  # noqa: F811
    page, logged = watched
    first = httpx.get(f"{live_server}/api/v1/products", params={"limit": 1}).json()["items"][0]
    for path in [*STORE_PATHS, f"/products/{first['id']}"]:
        visit(page, logged, path)
    policy = httpx.get(live_server + "/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_console_pages_keep_the_policy(watched):
    page, logged = watched
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    expect(page.locator("canvas, svg").first).to_be_visible()  # the dashboard drew its charts
    for path in CONSOLE_PATHS:
        visit(page, logged, path)


def test_the_gateway_cashier_keeps_the_policy(watched, live_server):  # noqa: F811
    page, logged = watched
    api = httpx.Client(base_url=live_server, timeout=15)
    login = api.post("/api/v1/auth/login", json={"login": DEMO_CUSTOMER[0], "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['tokens']['access_token']}"}
    otc = api.get("/api/v1/products", params={"drug_class": "otc_b", "limit": 1}).json()["items"][0]
    address = api.post("/api/v1/addresses", headers=headers, json={
        "recipient": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市", "district": "南山区",
        "detail": "科技园 1 号"}).json()
    order = api.post("/api/v1/orders", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                     json={"items": [{"product_id": otc["id"], "quantity": 1}], "address_id": address["id"]})
    assert order.status_code == 201, order.text
    pay = api.post(f"/api/v1/orders/{order.json()['id']}/pay", headers=headers)
    assert pay.status_code == 200, pay.text
    page.goto(pay.json()["pay_url"])
    expect(page.get_by_test_id("gateway-pay")).to_be_visible()
    assert not violations(page, logged), violations(page, logged)
