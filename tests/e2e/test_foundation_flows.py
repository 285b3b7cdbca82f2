"""The foundation's flows in Chromium, at desktop and phone sizes: a customer registers, logs in and edits
the profile; an admin creates a marketer, who then sees only the marketer's console menu."""

import re
import uuid

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF

PHONE_WIDTH = 500


def is_phone(page: Page) -> bool:
    return page.viewport_size["width"] < PHONE_WIDTH


def store_nav(page: Page, testid: str) -> None:
    """Click a storefront nav item; on phones it lives in the drawer behind the menu toggle."""
    if is_phone(page):
        page.get_by_test_id("nav-menu-toggle").click()
    page.get_by_test_id(testid).click()


def console_menu(page: Page) -> None:
    if is_phone(page):
        page.get_by_test_id("console-menu-toggle").click()


def api_me(page: Page) -> dict:
    return page.evaluate("""fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' +
        JSON.parse(localStorage['medreach.tokens']).access_token}}).then(r => r.json())""")


def test_customer_registers_logs_in_and_edits_profile(page: Page):
    phone = "139" + str(uuid.uuid4().int)[:8]
    page.goto("/")
    store_nav(page, "nav-register")
    page.get_by_test_id("register-phone").fill(phone)
    page.get_by_test_id("register-password").fill("e2e-pass-123")
    page.get_by_test_id("register-name").fill("测试顾客")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text("测试顾客")

    store_nav(page, "logout-button")
    expect(page.get_by_test_id("nav-login")).to_be_visible()
    page.get_by_test_id("nav-login").click()
    page.get_by_test_id("login-login").fill(phone)
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    page.get_by_test_id("login-password").fill("e2e-pass-123")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text("测试顾客")

    store_nav(page, "nav-account")
    page.get_by_test_id("account-name").fill("王小明")
    page.get_by_test_id("account-gender-male").click()
    page.locator("[data-testid=account-birth-date] input").fill("1990-05-01")
    page.locator("[data-testid=account-birth-date] input").press("Enter")
    page.get_by_test_id("account-city").fill("杭州市")
    page.get_by_test_id("account-occupation").fill("教师")
    page.get_by_test_id("account-id-number").fill("11010519491231002X")
    page.get_by_test_id("account-save").click()
    expect(page.get_by_test_id("account-save-success")).to_be_visible()
    expect(page.get_by_test_id("user-name")).to_have_text("王小明")
    me = api_me(page)
    assert (me["name"], me["gender"], me["birth_date"], me["city"], me["occupation"]) == (
        "王小明", "male", "1990-05-01", "杭州市", "教师")

    page.reload()  # what was saved is what the page shows after a reload
    expect(page.get_by_test_id("account-city")).to_have_value("杭州市")


def console_login(page: Page, login: str, password: str) -> None:
    page.goto("/console/login")
    page.get_by_test_id("console-login-login").fill(login)
    page.get_by_test_id("console-login-password").fill(password)
    page.get_by_test_id("console-login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?$"))


def test_admin_creates_marketer_who_sees_only_the_marketer_menu(page: Page):
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    console_menu(page)
    for item in ("menu-dashboard", "menu-customers", "menu-staff", "menu-roles", "menu-audit"):
        expect(page.get_by_test_id(item)).to_be_visible()
    page.get_by_test_id("menu-staff").click()
    page.get_by_test_id("staff-create").click()
    email = f"mk-{uuid.uuid4().hex[:8]}@medreach.cn"
    page.get_by_test_id("staff-form-name").fill("新运营")
    page.get_by_test_id("staff-form-email").fill(email)
    page.get_by_test_id("staff-form-password").fill("marketer-pass-1")
    page.get_by_test_id("staff-form-role-marketer").click()
    page.get_by_test_id("staff-form-submit").click()
    expect(page.get_by_text(email)).to_be_visible()

    page.get_by_test_id("logout-button").click()
    console_login(page, email, "marketer-pass-1")
    expect(page.get_by_test_id("user-name")).to_have_text("新运营")
    console_menu(page)
    expect(page.get_by_test_id("menu-dashboard")).to_be_visible()
    expect(page.get_by_test_id("menu-customers")).to_be_visible()
    for hidden in ("menu-staff", "menu-roles", "menu-audit"):
        expect(page.get_by_test_id(hidden)).to_have_count(0)
    page.goto("/console/audit")  # typing the address does not get around the menu
    expect(page).not_to_have_url(re.compile(r"/console/audit"))
