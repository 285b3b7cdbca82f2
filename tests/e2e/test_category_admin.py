"""The console's category page in Chromium, at desktop and phone sizes: an admin creates a category under
`vitamins` and sees it in the tree table under that parent."""

import random
import re
import string

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav

# Each category row's level in the tree table (el-table marks it on the <tr>) and its position.
ROWS_JS = """() => [...document.querySelectorAll('[data-testid=categories-table] tr.el-table__row')].map(tr => {
    const cell = tr.querySelector('[data-testid=category-row]')
    const level = (tr.className.match(/el-table__row--level-(\\d+)/) || [])[1]
    return {code: cell && cell.dataset.code, level: Number(level ?? 0)}
})"""


def test_admin_creates_a_category_under_vitamins(page: Page):
    code = "e2e_" + "".join(random.choices(string.ascii_lowercase, k=6))
    name = "测试分类" + code[-6:]

    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    console_nav(page, "menu-categories")
    expect(page).to_have_url(re.compile(r"/console/categories$"))
    expect(page.get_by_test_id("categories-page")).to_be_visible()
    parent_row = page.locator("[data-testid=category-row][data-code=vitamins]")
    expect(parent_row).to_be_visible()

    page.get_by_test_id("category-create").click()
    page.get_by_test_id("category-form-code").fill(code)
    page.get_by_test_id("category-form-parent").click()
    page.get_by_test_id("category-parent-option-vitamins").click()
    page.get_by_test_id("category-form-name-zh").fill(name)
    page.get_by_test_id("category-form-name-en").fill("E2E category")
    page.get_by_test_id("category-form-submit").click()
    expect(page.get_by_test_id("category-dialog")).to_be_hidden()

    row = page.locator(f"[data-testid=category-row][data-code={code}]")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-parent-code", "vitamins")
    expect(row.get_by_test_id("category-name-zh")).to_have_text(name)

    # In the tree: right below `vitamins` (after its other children), one level deeper.
    rows = page.evaluate(ROWS_JS)
    codes = [r["code"] for r in rows]
    p, c = codes.index("vitamins"), codes.index(code)
    assert p < c
    assert rows[c]["level"] == rows[p]["level"] + 1
    assert all(r["level"] > rows[p]["level"] for r in rows[p + 1:c + 1])

    page.reload()  # what was saved is what the page shows after a reload
    expect(page.locator(f"[data-testid=category-row][data-code={code}]")).to_have_attribute("data-parent-code", "vitamins")
