"""The online pharmacy's flows in Chromium, at desktop and phone sizes: a guest finds an OTC medicine by
pinyin, puts it in the cart, signs up at checkout and pays on the sandbox gateway; a customer orders a
prescription drug with an uploaded prescription and its patient, which a pharmacist approves in the console
(seeing the patient masked, with the age) before payment, and then reads the drug's leaflet;
a product on the online-sale negative list cannot be found or opened."""

import os
import re
import struct
import uuid
import zlib
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, new_phone, register, register_here

ORDER_URL = re.compile(r"/orders/\d+$")


def add_address_at_checkout(page: Page) -> None:
    page.get_by_test_id("checkout-add-address").click()
    page.get_by_test_id("address-recipient").fill("李四")
    page.get_by_test_id("address-phone").fill(new_phone())
    page.get_by_test_id("address-province").fill("浙江省")
    page.get_by_test_id("address-city").fill("杭州市")
    page.get_by_test_id("address-district").fill("西湖区")
    page.get_by_test_id("address-detail").fill("文三路 100 号")
    page.get_by_test_id("address-submit").click()
    expect(page.get_by_test_id("checkout-address")).to_have_count(1)
    expect(page.get_by_test_id("checkout-address").locator("input")).to_be_checked()


def pay_on_gateway(page: Page) -> None:
    """Pay from the order page on the sandbox cashier; the gateway sends the browser back to the order."""
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "awaiting_payment")
    expect(page.get_by_test_id("order-expiry")).to_be_visible()
    page.get_by_test_id("order-pay").click()
    expect(page.get_by_test_id("gateway-amount")).to_be_visible()
    page.get_by_test_id("gateway-pay").click()
    expect(page).to_have_url(ORDER_URL)
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("order-status")).to_have_text("已支付")


def unique_png(path: Path) -> Path:
    """A tiny valid PNG with random content (prescriptions are deduplicated by their bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    r, g, b = os.urandom(3)
    raw = b"\x00" + bytes([r, g, b]) * 2  # one filter byte, then 2x1 RGB pixels
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
           + chunk(b"tEXt", b"Comment\x00" + uuid.uuid4().hex.encode())
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def admin_token(base: str) -> str:
    res = httpx.post(f"{base}/api/v1/auth/login", json={"login": DEMO_STAFF["admin"][0], "password": DEMO_PASSWORD})
    res.raise_for_status()
    return res.json()["tokens"]["access_token"]


def test_guest_finds_otc_medicine_by_pinyin_signs_up_at_checkout_and_pays(page: Page):
    page.goto("/")
    page.get_by_test_id("home-search-input").fill("banlangen")
    suggestion = page.get_by_test_id("home-search-suggestion").filter(has_text="板蓝根")
    expect(suggestion.first).to_be_visible()
    suggestion.first.click()
    expect(page).to_have_url(re.compile(r"/products\?q="))

    card = page.get_by_test_id("product-card").filter(has_text="板蓝根").first
    expect(card.get_by_test_id("drug-class-badge")).to_have_text("OTC")
    card.get_by_test_id("product-card-link").click()
    expect(page.get_by_test_id("product-name")).to_contain_text("板蓝根")
    expect(page.get_by_test_id("product-otc-notice")).to_be_visible()
    expect(page.get_by_test_id("product-image")).to_be_visible()
    expect(page.get_by_test_id("product-approval-number")).to_contain_text("国药准字")

    page.get_by_test_id("product-add-to-cart").click()  # as a guest: the cart lives on its token
    expect(page.get_by_test_id("cart-badge")).to_have_attribute("data-count", "1")
    assert page.evaluate("localStorage.getItem('medreach.cartToken')")
    page.get_by_test_id("nav-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    expect(page.get_by_test_id("cart-line-name")).to_contain_text("板蓝根")

    page.get_by_test_id("cart-checkout").click()  # checkout needs an account: log in or sign up
    expect(page).to_have_url(re.compile(r"/login\?redirect="))
    page.get_by_test_id("login-go-register").click()
    register_here(page, "购药顾客")  # back to the checkout (`?redirect=`), logged in
    expect(page).to_have_url(re.compile(r"/checkout$"))
    # the guest cart followed the customer into the account, and its token is gone
    expect(page.get_by_test_id("checkout-line")).to_have_count(1)
    expect(page.get_by_test_id("checkout-line")).to_contain_text("板蓝根")
    assert page.evaluate("localStorage.getItem('medreach.cartToken')") is None
    expect(page.get_by_test_id("checkout-rx")).to_have_count(0)

    expect(page.get_by_test_id("checkout-no-address")).to_be_visible()
    add_address_at_checkout(page)
    total = page.get_by_test_id("checkout-total").inner_text()
    page.get_by_test_id("checkout-submit").click()
    expect(page).to_have_url(ORDER_URL)
    expect(page.get_by_test_id("order-total")).to_have_text(total)
    expect(page.get_by_test_id("cart-badge")).to_have_attribute("data-count", "0")

    pay_on_gateway(page)
    expect(page.get_by_test_id("order-history-item").first).to_have_attribute("data-status", "paid")


def test_rx_order_waits_for_the_pharmacist_then_is_paid(page: Page, browser: Browser, live_server: str, tmp_path: Path):
    products = httpx.get(f"{live_server}/api/v1/products",
                         params={"drug_class": "rx", "sort": "sales", "limit": 50}).json()["items"]
    rx = next(p for p in products if p["purchase_mode"] == "prescription" and p["stock_status"] == "in_stock")
    assert rx["image_url"] is None  # the API never offers an Rx package before approval

    register(page, "处方顾客")

    page.goto(f"/products/{rx['id']}")
    expect(page.get_by_test_id("product-name")).to_have_text(rx["name"])
    expect(page.get_by_test_id("product-rx-notice")).to_have_text("处方药须凭处方在药师指导下购买和使用")
    expect(page.get_by_test_id("rx-placeholder")).to_contain_text("处方药 凭处方购买")
    expect(page.get_by_test_id("product-image")).to_have_count(0)
    expect(page.get_by_test_id("product-add-to-cart")).to_have_count(0)
    expect(page.get_by_test_id("product-info-locked")).to_be_visible()

    page.get_by_test_id("product-buy-with-rx").click()
    expect(page.get_by_test_id("rx-dialog-product")).to_contain_text(rx["name"])
    page.get_by_test_id("rx-submit").click()  # no file yet: refused in the page
    expect(page.get_by_test_id("rx-file-error")).to_be_visible()
    page.get_by_test_id("rx-file").set_input_files(str(unique_png(tmp_path / "rx.png")))
    expect(page.get_by_test_id("rx-file-preview")).to_be_visible()
    # The patient (用药人) goes with the prescription: without a name and an age it is refused in the page.
    patient = page.get_by_test_id("patient-fields")
    expect(patient).to_be_visible()
    page.get_by_test_id("rx-submit").click()
    expect(patient.locator(".el-form-item__error")).to_have_count(2)
    page.get_by_test_id("patient-name").fill("赵小红")
    page.get_by_test_id("patient-age-mode-age").click()
    page.locator("[data-testid=patient-age] input, input[data-testid=patient-age]").fill("36")
    page.get_by_test_id("patient-allergies").fill("青霉素")
    expect(page.get_by_test_id("patient-pregnancy")).to_be_visible()  # asked for a woman only
    page.get_by_test_id("patient-sex-male").click()
    expect(page.get_by_test_id("patient-pregnancy")).to_have_count(0)
    page.get_by_test_id("patient-sex-female").click()
    page.get_by_test_id("rx-submit").click()

    expect(page).to_have_url(re.compile(r"/checkout\?items=\d+(:|%3A)1&prescription=\d+"))
    rx_id = re.search(r"prescription=(\d+)", page.url).group(1)
    expect(page.get_by_test_id("checkout-line")).to_contain_text(rx["name"])
    expect(page.get_by_test_id("checkout-rx-notice")).to_be_visible()
    option = page.locator(f"[data-testid=checkout-rx-option][data-rx-id='{rx_id}']")
    expect(option.locator("input")).to_be_checked()
    add_address_at_checkout(page)
    page.get_by_test_id("checkout-submit").click()  # the risk notice is not confirmed yet
    expect(page.get_by_test_id("checkout-submit-error")).to_be_visible()
    page.get_by_test_id("checkout-risk-confirm").click()
    page.get_by_test_id("checkout-submit").click()
    expect(page).to_have_url(ORDER_URL)
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "awaiting_rx_review")
    expect(page.get_by_test_id("order-status")).to_have_text("待药师审方")
    expect(page.get_by_test_id("order-pay")).to_have_count(0)

    # The pharmacist, in another browser, approves it from the review queue.
    pharmacist = browser.new_context(viewport=page.viewport_size, locale="zh-CN", base_url=live_server)
    pharmacist.set_default_timeout(15_000)
    try:
        ph = pharmacist.new_page()
        console_login(ph, DEMO_STAFF["pharmacist"][0], DEMO_PASSWORD)
        console_nav(ph, "prescriptions")
        row = ph.locator(f"[data-testid=rx-row][data-rx-id='{rx_id}']")
        expect(row).to_have_attribute("data-status", "pending")
        row.click()
        detail = ph.get_by_test_id("rx-detail")
        expect(detail).to_have_attribute("data-rx-id", rx_id)
        expect(ph.get_by_test_id("rx-detail-item")).to_contain_text("× 1")
        expect(ph.get_by_test_id("rx-file-image")).to_be_visible()
        expect(ph.get_by_test_id("rx-detail-order")).to_contain_text("#")
        # The patient, the name masked and the age shown; the buyer has no earlier prescription orders.
        expect(ph.get_by_test_id("rx-patient-name")).to_have_text("赵*红")
        expect(ph.get_by_test_id("rx-patient-age")).to_have_text("36 岁")
        expect(ph.get_by_test_id("rx-patient-sex")).to_have_text("女")
        expect(ph.get_by_test_id("rx-patient-allergies")).to_have_text("青霉素")
        expect(ph.get_by_test_id("rx-patient-relationship")).to_have_text("本人")
        expect(ph.get_by_test_id("rx-no-earlier-orders")).to_be_visible()
        expect(ph.get_by_test_id("rx-patient-reveal")).to_have_count(0)  # pharmacists hold no pii:reveal
        ph.get_by_test_id("rx-approve").click()
        expect(detail).to_have_attribute("data-status", "approved")
        expect(ph.get_by_test_id("rx-detail-reviewer")).to_contain_text("王药师")
    finally:
        pharmacist.close()

    page.reload()
    pay_on_gateway(page)

    page.goto("/account/prescriptions")
    card = page.locator(f"[data-testid=rx-card][data-rx-id='{rx_id}']")
    expect(card).to_have_attribute("data-status", "consumed")
    expect(card.get_by_test_id("rx-card-reviewer")).to_contain_text("王药师")

    # Bought with an approved prescription: the leaflet and the package now show to this customer.
    page.goto(f"/products/{rx['id']}")
    expect(page.get_by_test_id("product-image")).to_be_visible()
    expect(page.get_by_test_id("product-info-locked")).to_have_count(0)


def test_a_product_on_the_negative_list_cannot_be_found(page: Page, live_server: str):
    token = admin_token(live_server)
    found = httpx.get(f"{live_server}/api/v1/admin/products", params={"q": "复方甘草片"},
                      headers={"Authorization": f"Bearer {token}"}).json()["items"]
    banned = next(p for p in found if p["generic_name"] == "复方甘草片")
    assert banned["online_banned"]

    page.goto("/")
    page.get_by_test_id("home-search-input").fill("复方甘草片")
    page.get_by_test_id("home-search-submit").click()
    expect(page).to_have_url(re.compile(r"/products\?q="))
    expect(page.get_by_test_id("products-heading")).to_contain_text("复方甘草片")
    expect(page.get_by_test_id("products-total")).to_be_visible()
    expect(page.get_by_test_id("product-card").filter(has_text="甘草片")).to_have_count(0)

    page.goto(f"/products/{banned['id']}")  # not even by its address
    expect(page.get_by_test_id("product-not-found")).to_be_visible()
    expect(page.get_by_test_id("product-add-to-cart")).to_have_count(0)
