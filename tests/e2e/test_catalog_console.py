"""The console's product form shows a drug's active ingredients and, for a product on the online-sale negative
list, why it is banned, marked as derived (no flag lifts it), at desktop and phone sizes."""

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login


def test_the_product_form_shows_ingredients_and_the_derived_ban(page: Page):
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    page.goto("/console/products")
    page.get_by_test_id("products-search").fill("新康泰克")
    page.get_by_test_id("products-search-button").click()
    row = page.locator('[data-testid="product-row"][data-sku="MR10006"]')
    expect(row).to_be_visible()
    expect(page.get_by_test_id("product-banned-reason").first).to_contain_text("含麻黄碱类复方制剂")
    page.get_by_test_id("product-edit").first.click()

    dialog = page.get_by_test_id("product-dialog")
    expect(dialog.get_by_test_id("product-form-ban")).to_contain_text("伪麻黄碱")
    expect(dialog.get_by_test_id("product-form-ban-finding")).to_have_count(1)
    expect(dialog.get_by_test_id("ban-derived")).to_be_visible()
    field = dialog.get_by_test_id("product-form-active_ingredients")
    expect(field).to_have_value("pseudoephedrine:90mg; chlorphenamine:4mg")
    expect(dialog.get_by_test_id("product-form-ingredient-names")).to_contain_text("伪麻黄碱 90mg")
    box = dialog.get_by_test_id("product-form-ban").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
