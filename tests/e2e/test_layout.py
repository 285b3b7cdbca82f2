"""Every storefront and console page fits a 1366 px laptop and a 390 px phone, in Chinese and in English: nothing
overflows the page sideways, nothing in the header is cut off or pushed out, no form label spills over its
neighbour, and in English the built-in words (member levels, role descriptions, permissions, audit actions) are
English. `MEDREACH_LAYOUT_SHOTS=<folder>` saves a screenshot of every page visited."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from medreach.demo import DEMO_CUSTOMER, DEMO_PASSWORD, DEMO_STAFF

from .conftest import ROOT

ROUTER = ROOT / "frontend" / "src" / "router"
SHOTS = os.environ.get("MEDREACH_LAYOUT_SHOTS")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Storefront routes (as written in router/index.ts) -> the pages visited for them; {product}, {rx_product},
# {category}, {order} and {cancelled_order} are filled in from the demo. Guests see the login and registration pages,
# a signed-in customer the rest; the public pages are visited by a guest too (the header and the prices differ).
GUEST_ROUTES = {"login": ["/login"], "register": ["/register"]}
GUEST_PUBLIC = [
    "/",
    "/products",
    "/products/{product}",
    "/products/{rx_product}",
    "/cart",
    "/coupons",
    "/flash-sales",
    "/legal/privacy",
]
CUSTOMER_ROUTES = {
    "": ["/"],
    "legal/:name(terms|privacy)": ["/legal/terms", "/legal/privacy"],
    "account": ["/account"],
    "account/addresses": ["/account/addresses"],
    "account/prescriptions": ["/account/prescriptions"],
    "account/coupons": ["/account/coupons"],
    "account/membership": ["/account/membership"],
    "coupons": ["/coupons"],
    "flash-sales": ["/flash-sales"],
    "products": ["/products", "/products?q=感冒", "/products?category={category}&sort=price_asc"],
    "products/:id(\\\\d+)": ["/products/{product}", "/products/{rx_product}"],
    "cart": ["/cart"],
    "checkout": ["/checkout"],
    "orders": ["/orders"],
    "orders/:id(\\\\d+)": ["/orders/{order}", "/orders/{cancelled_order}"],
    ":pathMatch(.*)*": ["/no-such-page"],
}
CONSOLE_GUEST = ["/console/login"]
# Pages the menu does not list, or a menu page in another state: a customer's timeline.
CONSOLE_EXTRA = ["/console/no-access", "/console/events/timeline?user={customer}"]

# Loaded: no loading mask or skeleton shows.
LOADED_JS = (
    """() => ![...document.querySelectorAll('.el-loading-mask, .el-skeleton')].some((m) => m.offsetParent !== null)"""
)

# What overflows: the page sideways; in the header an item outside the header or outside a box that clips it, or
# text cut off; a form label whose text spills out of its box (onto the next field or its neighbour).
OVERFLOW_JS = """() => {
  const problems = []
  const visible = (el) => {
    const r = el.getBoundingClientRect()
    const s = getComputedStyle(el)
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
  }
  const name = (el) => `${el.tagName.toLowerCase()}${el.dataset.testid ? '[' + el.dataset.testid + ']' : ''}` +
    ` "${(el.textContent || '').trim().slice(0, 30)}"`
  const doc = document.documentElement
  if (doc.scrollWidth > doc.clientWidth + 1) problems.push(`page is ${doc.scrollWidth}px wide in ${doc.clientWidth}px`)
  for (const header of document.querySelectorAll('header')) {
    if (!visible(header)) continue
    const hr = header.getBoundingClientRect()
    if (header.scrollWidth > header.clientWidth + 1) {
      problems.push(`header overflows: ${header.scrollWidth}px in ${header.clientWidth}px`)
    }
    for (const el of header.querySelectorAll('a, button, span, img, .el-badge')) {
      if (!visible(el)) continue
      const r = el.getBoundingClientRect()
      if (r.left < hr.left - 1 || r.right > hr.right + 1) {
        problems.push(`header item outside the header: ${name(el)}`)
        continue
      }
      for (let box = el.parentElement; box && box !== header; box = box.parentElement) {
        if (getComputedStyle(box).overflowX === 'visible') continue
        const b = box.getBoundingClientRect()
        if (r.left < b.left - 1 || r.right > b.right + 1) { problems.push(`header item cut off: ${name(el)}`); break }
      }
      const s = getComputedStyle(el)
      if (s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`header text cut off: ${name(el)}`)
      }
    }
  }
  for (const label of document.querySelectorAll('.el-form-item__label')) {
    if (!visible(label)) continue
    if (label.scrollHeight > label.clientHeight + 2 || label.scrollWidth > label.clientWidth + 2) {
      problems.push(`form label spills over: ${name(label)}`)
    }
  }
  return problems
}"""


def router_paths() -> set[str]:
    """The `path: '…'` values of the storefront's routes (the children of the '/' route)."""
    text = (ROUTER / "index.ts").read_text()
    store = text[text.index("path: '/',") :]
    return set(re.findall(r"path: '([^']*)'", store)) - {"/"}


def console_paths() -> list[str]:
    return re.findall(r"path: '([^']*)'", (ROUTER / "consoleMenu.ts").read_text())


def test_every_route_is_visited():
    """A route added to the router without a place here would go unchecked."""
    assert router_paths() == set(GUEST_ROUTES) | set(CUSTOMER_ROUTES)
    assert len(console_paths()) > 10


def login_tokens(base: str, login: str) -> dict:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"login": login, "password": DEMO_PASSWORD}, timeout=20)
    r.raise_for_status()
    return r.json()["tokens"]


@pytest.fixture(scope="module")
def demo_ids(live_server) -> dict[str, int | str]:
    """An OTC and an Rx product, a category, the demo customer's id and two orders of theirs (placed here, one of them
    cancelled), plus something in the cart for checkout."""
    headers = {"Authorization": f"Bearer {login_tokens(live_server, DEMO_CUSTOMER[0])['access_token']}"}
    with httpx.Client(base_url=f"{live_server}/api/v1", headers=headers, timeout=20) as api:
        product = api.get("/products", params={"drug_class": "otc_a", "limit": 1}).raise_for_status().json()["items"][0]
        rx = api.get("/products", params={"drug_class": "rx", "limit": 1}).raise_for_status().json()["items"][0]
        category = api.get("/categories").raise_for_status().json()[0]["code"]
        me = api.get("/me").raise_for_status().json()
        addresses = api.get("/addresses").raise_for_status().json()
        if not addresses:
            address = {
                "recipient": "张三",
                "phone": "13800138000",
                "province": "上海市",
                "city": "上海市",
                "district": "浦东新区",
                "detail": "世纪大道 100 号",
                "is_default": True,
            }
            addresses = [api.post("/addresses", json=address).raise_for_status().json()]
        item = {"product_id": product["id"], "quantity": 1}
        order, cancelled = (
            api.post(
                "/orders",
                json={"address_id": addresses[0]["id"], "items": [item]},
                headers={"Idempotency-Key": f"layout-test-order-{n}"},
            )
            .raise_for_status()
            .json()
            for n in (1, 2)
        )
        if cancelled["status"] != "cancelled":  # a server kept from an earlier run answers with the same orders
            api.post(f"/orders/{cancelled['id']}/cancel", json={"reason": ""}).raise_for_status()
        api.post("/cart/items", json=item).raise_for_status()
    return {
        "product": product["id"],
        "rx_product": rx["id"],
        "category": category,
        "customer": me["id"],
        "order": order["id"],
        "cancelled_order": cancelled["id"],
    }


def start_in(page: Page, lang: str) -> None:
    """Every page opens in `lang`."""
    page.add_init_script(f"localStorage.setItem('medreach.locale', {json.dumps(lang)})")


def sign_in(page: Page, base: str, login: str) -> None:
    """Sign in as `login`: the tokens go where the app keeps them (once; the app may renew them later)."""
    tokens = json.dumps(json.dumps(login_tokens(base, login)))
    page.add_init_script(
        f"if (!localStorage.getItem('medreach.tokens')) localStorage.setItem('medreach.tokens', {tokens})"
    )


def visit(page: Page, url: str, lang: str) -> list[str]:
    """Open a page, let it settle and return what overflows."""
    page.goto(url)
    try:
        page.wait_for_load_state("networkidle", timeout=8_000)
        page.wait_for_function(LOADED_JS, timeout=8_000)
    except PlaywrightTimeoutError:  # a page that polls is never idle for long: its first answers are in by now
        pass
    page.wait_for_timeout(300)  # transitions (drawers, tags) end
    if SHOTS:
        width = page.viewport_size["width"]
        name = re.sub(r"[^a-z0-9]+", "_", url.lower()).strip("_") or "home"
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{width}-{lang}-{name}.png", full_page=True)
    return page.evaluate(OVERFLOW_JS)


def check_all(page: Page, urls: list[str], lang: str) -> None:
    found = {url: problems for url in urls if (problems := visit(page, url, lang))}
    width = page.viewport_size["width"]
    assert not found, f"layout problems at {width} px in {lang}: {json.dumps(found, ensure_ascii=False, indent=1)}"


def english_only(page: Page, testid: str) -> list[str]:
    """The texts of the elements with this test id (at least one), none of them with Chinese in it."""
    elements = page.get_by_test_id(testid)
    elements.first.wait_for()
    texts = elements.all_inner_texts()
    assert texts and not [x for x in texts if CJK.search(x)], (testid, texts)
    return texts


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_storefront_fits(page: Page, live_server, demo_ids, lang):
    start_in(page, lang)
    guest = [u for urls in GUEST_ROUTES.values() for u in urls] + [u.format(**demo_ids) for u in GUEST_PUBLIC]
    check_all(page, guest + CONSOLE_GUEST, lang)

    sign_in(page, live_server, DEMO_CUSTOMER[0])
    urls = [u.format(**demo_ids) for urls in CUSTOMER_ROUTES.values() for u in urls]
    check_all(page, urls, lang)
    if lang == "en":
        # Category names, the brand and the drug notices are English; the legally required Chinese wording of a
        # notice may follow the English one (COMPLIANCE 3), never replace it.
        page.goto("/")
        english_only(page, "home-category")
        logo = page.get_by_test_id("store-logo").inner_text()  # the phone header has room for the short name only
        assert logo.strip() == ("MedReach" if page.viewport_size["width"] < 768 else "MedReach Pharmacy"), logo
        page.goto(f"/products/{demo_ids['rx_product']}")
        notice = page.get_by_test_id("product-rx-notice").inner_text()
        assert notice.startswith("Prescription medicine"), notice
        page.goto(f"/products/{demo_ids['product']}")
        assert page.get_by_test_id("product-otc-notice").inner_text().startswith("Buy and use"), "OTC notice"
        english_only(page, "product-dosage-form")
        english_only(page, "product-pack")
        page.goto("/account/membership")
        levels = page.get_by_test_id("membership-level-row")
        levels.first.wait_for()
        names = levels.all_inner_texts()
        assert names and not [n for n in names if CJK.search(n)], names


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_console_fits(page: Page, live_server, demo_ids, lang):
    start_in(page, lang)
    sign_in(page, live_server, DEMO_STAFF["admin"][0])
    extra = [u.format(**demo_ids) for u in CONSOLE_EXTRA]
    check_all(page, [f"/console/{p}".rstrip("/") for p in console_paths()] + extra, lang)
    if lang == "en":
        page.goto("/console")
        permissions = page.get_by_test_id("dashboard-permission")
        permissions.first.wait_for()
        texts = permissions.all_inner_texts()
        assert texts and not [x for x in texts if CJK.search(x) or ":" in x], texts
        page.goto("/console/roles")
        descriptions = page.get_by_test_id("role-description")
        descriptions.first.wait_for()
        texts = descriptions.all_inner_texts()
        assert texts and not [x for x in texts if CJK.search(x)], texts
        page.goto("/console/audit")
        rows = page.get_by_test_id("audit-row")
        rows.first.wait_for()
        unlabelled = sorted(
            {
                r.get_attribute("data-action")
                for r in rows.all()
                if r.get_by_test_id("audit-action-label").inner_text() == r.get_attribute("data-action")
            }
        )
        assert not unlabelled, (
            f"audit actions shown as codes (add them to auditActions in the i18n files): {unlabelled}"
        )
