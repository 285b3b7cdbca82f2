"""The foundation's flows in Chromium, at desktop and phone sizes: a customer registers (accepting the user
agreement and the privacy policy, choosing the optional purposes), logs in and edits the profile; an admin creates
a marketer, who then sees only the marketer's console menu."""

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import (CUSTOMER_PASSWORD, console_login, console_menu, expect_left, new_phone, register_here,
                          store_nav, url_of)

OPTIONAL = ("personalization", "marketing_sms", "marketing_email", "health_profile")
TITLES = {"zh-CN": ("MedReach 用户协议", "MedReach 隐私政策"), "en": ("MedReach User Agreement", "MedReach Privacy Policy")}


def api_get(page: Page, path: str):
    return page.evaluate("""path => fetch('/api/v1' + path, {headers: {Authorization: 'Bearer ' +
        JSON.parse(localStorage['medreach.tokens']).access_token}}).then(r => r.json())""", path)


def api_me(page: Page) -> dict:
    return api_get(page, "/me")


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_registration_accepts_the_documents_and_records_the_chosen_purposes(page: Page, lang: str):
    page.add_init_script(f"localStorage.setItem('medreach.locale', '{lang}')")
    page.goto("/register")
    for purpose in OPTIONAL:  # explained, each on its own, off until the customer turns it on
        expect(page.get_by_test_id(f"register-consent-{purpose}")).to_have_attribute("data-enabled", "false")
    expect(page.get_by_test_id("register-consent-behaviour_analytics")).to_have_attribute("data-enabled", "true")
    assert fits_the_width(page)

    with page.context.expect_page() as opened:  # the documents are real pages, opened beside the form
        page.get_by_test_id("register-privacy-link").click()
    policy = opened.value
    expect(policy.get_by_test_id("legal-title")).to_have_text(TITLES[lang][1])
    expect(policy.get_by_test_id("legal-version")).to_have_attribute("data-version", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    assert fits_the_width(policy)
    policy.get_by_test_id("legal-other-link").click()
    expect(policy.get_by_test_id("legal-title")).to_have_text(TITLES[lang][0])
    policy.close()

    phone = new_phone()
    page.get_by_test_id("register-phone").fill(phone)
    page.get_by_test_id("register-password").fill(CUSTOMER_PASSWORD)
    page.get_by_test_id("register-submit").click()  # without accepting: refused on the page
    expect(page.locator(".register-agree .el-form-item__error")).to_be_visible()
    expect(page).to_have_url(url_of("/register"))

    page.get_by_test_id("register-consent-personalization").click()
    expect(page.get_by_test_id("register-consent-personalization")).to_have_attribute("data-enabled", "true")
    page.get_by_test_id("register-agree").click()
    page.get_by_test_id("register-submit").click()
    expect(page).to_have_url(url_of("/account"))

    consents = {c["purpose"]: c for c in api_get(page, "/me/consents")}
    assert consents["personalization"]["granted"] is True and consents["personalization"]["decided_at"]
    assert [p for p in OPTIONAL if consents[p]["granted"]] == ["personalization"]
    assert all(a["up_to_date"] and a["accepted_at"] for a in api_get(page, "/me/agreements"))
    # The account's privacy settings show the same purposes, as chosen.
    expect(page.get_by_test_id("account-consent-personalization")).to_have_attribute("data-enabled", "true")
    for purpose in OPTIONAL[1:]:
        expect(page.get_by_test_id(f"account-consent-{purpose}")).to_have_attribute("data-enabled", "false")
    expect(page.get_by_test_id("account-tracking-switch")).to_have_attribute("data-enabled", "true")
    expect(page.get_by_test_id("account-agreement-privacy")).to_have_attribute("data-up-to-date", "true")
    with page.expect_response(lambda r: r.url.endswith("/me/consents/marketing_sms") and r.ok):
        page.get_by_test_id("account-consent-marketing_sms").click()
    expect(page.get_by_test_id("account-consent-marketing_sms")).to_have_attribute("data-enabled", "true")
    assert {c["purpose"]: c["granted"] for c in api_get(page, "/me/consents")}["marketing_sms"] is True
    assert fits_the_width(page)


def test_customer_registers_logs_in_and_edits_profile(page: Page):
    phone = new_phone()
    page.goto("/")
    store_nav(page, "nav-register")
    register_here(page, "测试顾客", phone)
    expect(page).to_have_url(url_of("/account"))

    store_nav(page, "logout-button")
    expect(page).to_have_url(url_of("/"))  # the account page needs a login: logging out leaves it for home
    expect(page.get_by_test_id("nav-login")).to_be_visible()
    page.get_by_test_id("nav-login").click()
    page.get_by_test_id("login-login").fill(phone)
    page.get_by_test_id("login-password").fill("wrong-password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    page.get_by_test_id("login-password").fill(CUSTOMER_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect_left(page, "/login")
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
