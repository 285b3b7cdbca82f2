"""Promotions in Chromium, at desktop and phone sizes: a new customer claims the 新人券 in the coupon centre,
uses it at checkout (the page's breakdown is the API's, to the fen) and pays; another new customer buys in the
flash sale at the sale price, pays, and the sale's remaining stock goes down by what was bought."""

import math
import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.ui import new_phone, register, store_nav

ORDER_URL = re.compile(r"/orders/\d+$")
WELCOME_COUPON = "新人券"

PREVIEW_JS = """(grant) => fetch('/api/v1/checkout/preview', {
    method: 'POST',
    headers: {'Content-Type': 'application/json',
              Authorization: 'Bearer ' + JSON.parse(localStorage['medreach.tokens']).access_token},
    body: JSON.stringify({coupon_grant_id: grant, points: 0}),
}).then(r => r.json())"""


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def fill_address(page: Page) -> None:
    page.get_by_test_id("address-recipient").fill("王五")
    page.get_by_test_id("address-phone").fill(new_phone())
    page.get_by_test_id("address-province").fill("上海市")
    page.get_by_test_id("address-city").fill("上海市")
    page.get_by_test_id("address-district").fill("浦东新区")
    page.get_by_test_id("address-detail").fill("张江路 88 号")
    page.get_by_test_id("address-submit").click()


def pay_on_gateway(page: Page) -> None:
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "awaiting_payment")
    page.get_by_test_id("order-pay").click()
    expect(page.get_by_test_id("gateway-amount")).to_be_visible()
    page.get_by_test_id("gateway-pay").click()
    expect(page).to_have_url(ORDER_URL)
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("order-status")).to_have_text("已支付")


def otc_product_not_on_flash_sale(base: str) -> dict:
    on_flash = {f["flash"]["product_id"] for f in httpx.get(f"{base}/api/v1/flash-sales").json()}
    items = httpx.get(f"{base}/api/v1/products", params={"q": "板蓝根", "drug_class": ["otc_a", "otc_b"]}).json()["items"]
    return next(p for p in items if p["purchase_mode"] == "cart" and p["stock_status"] == "in_stock"
                and p["id"] not in on_flash)


def test_new_customer_claims_the_welcome_coupon_and_pays_less_at_checkout(page: Page, live_server: str):
    product = otc_product_not_on_flash_sale(live_server)
    unit = product["promo_price_fen"] or product["price_fen"]
    quantity = math.ceil(6000 / unit)  # comfortably past the coupon's ¥50 after every discount

    register(page, "领券顾客")
    store_nav(page, "nav-coupons")
    expect(page).to_have_url(re.compile(r"/coupons$"))
    card = page.get_by_test_id("coupon-claimable").filter(has_text=WELCOME_COUPON)
    expect(card.get_by_test_id("coupon-value")).to_have_text("¥10")
    expect(card.get_by_test_id("coupon-threshold")).to_have_text("满50可用")
    card.get_by_test_id("coupon-claim").click()
    expect(card.get_by_test_id("coupon-claimed")).to_have_text("已领取")

    # the product page shows the promotional price over the struck-through list price
    page.goto(f"/products/{product['id']}")
    expect(page.get_by_test_id("product-price")).to_have_text(yuan(unit))
    if product["promo_price_fen"]:
        expect(page.get_by_test_id("product-list-price")).to_have_text(yuan(product["price_fen"]))
        expect(page.get_by_test_id("product-promo-label")).to_have_text(product["promo_label"])
    page.get_by_test_id("product-quantity").locator("input").fill(str(quantity))
    page.get_by_test_id("product-quantity").locator("input").press("Tab")
    page.get_by_test_id("product-add-to-cart").click()
    expect(page.get_by_test_id("cart-badge")).to_have_attribute("data-count", str(quantity))

    page.get_by_test_id("nav-cart").click()
    expect(page.get_by_test_id("cart-line")).to_have_count(1)
    page.get_by_test_id("cart-checkout").click()
    expect(page).to_have_url(re.compile(r"/checkout$"))
    page.get_by_test_id("checkout-add-address").click()
    fill_address(page)
    expect(page.get_by_test_id("checkout-address").locator("input")).to_be_checked()

    expect(page.get_by_test_id("checkout-coupon-none").locator("input")).to_be_checked()
    option = page.get_by_test_id("checkout-coupon-option").filter(has_text=WELCOME_COUPON)
    grant_id = int(option.get_attribute("data-grant-id"))
    option.click()
    coupon_line = page.locator("[data-testid=checkout-adjustment][data-source=coupon]")
    expect(coupon_line.get_by_test_id("checkout-adjustment-label")).to_contain_text(WELCOME_COUPON)
    expect(coupon_line.get_by_test_id("checkout-adjustment-amount")).to_have_text("-¥10.00")
    expect(page.get_by_test_id("checkout-coupon-problem")).to_have_count(0)

    # what the page shows is exactly what the API prices
    api = page.evaluate(PREVIEW_JS, grant_id)
    b = api["breakdown"]
    assert [a["amount_fen"] for a in b["applied"] if a["source"] == "coupon"] == [1000]
    assert b["coupon_problem"] is None
    expect(page.get_by_test_id("checkout-subtotal")).to_have_text(yuan(b["subtotal_fen"]))
    expect(page.get_by_test_id("checkout-shipping")).to_have_text(yuan(b["shipping_fen"]) if b["shipping_fen"] else "免运费")
    expect(page.get_by_test_id("checkout-total")).to_have_text(yuan(api["total_fen"]))
    expect(page.get_by_test_id("checkout-points-earned")).to_have_text(f"本单可得 {b['points_earned']} 积分")
    promo_lines = page.locator("[data-testid=checkout-adjustment][data-source=promotion]")
    expect(promo_lines).to_have_count(len({(a["source_id"], a["kind"]) for a in b["applied"] if a["source"] == "promotion"}))

    page.get_by_test_id("checkout-submit").click()
    expect(page).to_have_url(ORDER_URL)
    order_coupon = page.locator("[data-testid=order-adjustment][data-source=coupon]")
    expect(order_coupon.get_by_test_id("order-adjustment-amount")).to_have_text("-¥10.00")
    expect(page.get_by_test_id("order-total")).to_have_text(yuan(api["total_fen"]))

    pay_on_gateway(page)
    expect(order_coupon.get_by_test_id("order-adjustment-label")).to_contain_text(WELCOME_COUPON)
    expect(order_coupon.get_by_test_id("order-adjustment-amount")).to_have_text("-¥10.00")
    expect(page.get_by_test_id("order-points-earned")).to_have_attribute("data-points", str(b["points_earned"]))

    page.goto("/account/coupons")  # the coupon was spent on the paid order
    page.get_by_test_id("wallet-tab-used").click()
    expect(page.get_by_test_id("wallet-coupon").filter(has_text=WELCOME_COUPON)).to_have_attribute("data-status", "used")


def test_new_customer_buys_in_the_flash_sale_and_the_remaining_stock_goes_down(page: Page):
    register(page, "秒杀顾客")
    store_nav(page, "nav-flash-sales")
    expect(page).to_have_url(re.compile(r"/flash-sales$"))
    card = page.get_by_test_id("flash-card").filter(has_text="感冒灵").first
    expect(card).to_have_attribute("data-state", "running")
    expect(card.get_by_test_id("countdown")).to_have_text(re.compile(r"\d{2}:\d{2}:\d{2}$"))
    remaining = card.get_by_test_id("flash-remaining")
    before = int(remaining.get_attribute("data-remaining"))
    assert 0 < before <= int(remaining.get_attribute("data-stock"))
    expect(remaining).to_contain_text(f"仅剩 {before} 件")
    expect(card.get_by_test_id("flash-stock-bar")).to_be_visible()
    expect(card.get_by_test_id("flash-limit")).to_contain_text("每人限购")
    sale_price = int(card.get_by_test_id("flash-sale-price").get_attribute("data-fen"))
    expect(card.get_by_test_id("flash-sale-price")).to_have_text(yuan(sale_price))

    card.get_by_test_id("flash-buy").click()
    fill_address(page)  # a new customer has no address yet: the page asks for one first
    dialog = page.get_by_test_id("flash-dialog")
    expect(dialog.get_by_test_id("flash-address").locator("input")).to_be_checked()
    expect(dialog.get_by_test_id("flash-quantity").locator("input")).to_have_value("1")
    expect(dialog.get_by_test_id("flash-dialog-amount")).to_have_text(yuan(sale_price))
    dialog.get_by_test_id("flash-confirm").click()

    expect(page).to_have_url(ORDER_URL)
    expect(page.get_by_test_id("order-line")).to_have_count(1)
    expect(page.get_by_test_id("order-line-total")).to_have_text(yuan(sale_price))
    expect(page.locator("[data-testid=order-adjustment][data-kind=flash_sale]")).to_be_visible()
    pay_on_gateway(page)
    expect(page.get_by_test_id("order-line-total")).to_have_text(yuan(sale_price))

    store_nav(page, "nav-flash-sales")
    card = page.get_by_test_id("flash-card").filter(has_text="感冒灵").first
    expect(card.get_by_test_id("flash-remaining")).to_have_attribute("data-remaining", str(before - 1))
