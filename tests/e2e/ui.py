"""Helpers shared by the e2e tests: the phone layout, the storefront's and the console's menus, logging in and
registering.

Both layouts close their phone drawer on every route change, so the login and registration helpers wait for the
app's redirect, and the menu helpers open the drawer again when a late route change closed it. On desktops the
signed-in customer's own pages (account, addresses, prescriptions…) and logging out sit in the user menu under the
name in the header."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PHONE_WIDTH = 500
CUSTOMER_PASSWORD = "e2e-pass-123"
DRAWER_TRY_TIMEOUT = 3_000  # ms for one try at a drawer item before opening the drawer again
DRAWER_TRIES = 3


def is_phone(page: Page) -> bool:
    """Whether the page is phone-sized: the menus live in drawers behind a toggle."""
    return page.viewport_size["width"] < PHONE_WIDTH


def new_phone() -> str:
    """A fresh mobile number."""
    return "139" + str(uuid.uuid4().int)[:8]


def sel(testid: str, **attrs: str) -> str:
    """A CSS selector for a test id with `data-*` attributes (`run_id=` → `data-run-id`)."""
    return f'[data-testid="{testid}"]' + "".join(f'[data-{k.replace("_", "-")}="{v}"]' for k, v in attrs.items())


def url_of(path: str) -> re.Pattern[str]:
    """A URL whose path is exactly `path`, with any query."""
    return re.compile(rf"^[a-z]+://[^/]+{re.escape(path)}(?:[?#].*)?$")


def expect_left(page: Page, path: str) -> None:
    """Wait until the app has navigated away from `path` (a redirect after logging in or registering)."""
    expect(page).not_to_have_url(url_of(path))


def _in_drawer(page: Page, toggle: str, testid: str, act: Callable[[Locator, float | None], None]) -> None:
    """`act` on a menu item; on phones open the drawer first unless the item shows. A route change just after the
    drawer opened closes it again: retry with a short timeout, then once with the normal one so a real failure
    reads clearly. On desktops an item of the storefront's user menu is reached through that menu."""
    item = page.get_by_test_id(testid)
    if not is_phone(page):
        user_menu = page.get_by_test_id("user-menu")
        if toggle == "nav-menu-toggle" and not item.is_visible() and user_menu.is_visible():
            user_menu.click()
            item = page.get_by_test_id("user-menu-items").get_by_test_id(testid)
        act(item, None)
        return
    for _ in range(DRAWER_TRIES):
        try:
            if not item.is_visible():
                page.get_by_test_id(toggle).click(timeout=DRAWER_TRY_TIMEOUT)
            act(item, DRAWER_TRY_TIMEOUT)
            return
        except PlaywrightTimeoutError:
            continue
    if not item.is_visible():
        page.get_by_test_id(toggle).click()
    act(item, None)


def _click(item: Locator, timeout: float | None) -> None:
    item.click(timeout=timeout)


def _show(item: Locator, timeout: float | None) -> None:
    item.wait_for(state="visible", timeout=timeout)


def store_nav(page: Page, testid: str) -> None:
    """Click a storefront nav item; on phones it lives in the drawer behind the menu toggle."""
    _in_drawer(page, "nav-menu-toggle", testid, _click)


def console_nav(page: Page, key_or_testid: str) -> None:
    """Click a console menu item, by key (`pipeline`) or test id (`menu-pipeline`); on phones it lives in the
    drawer behind the menu toggle."""
    testid = key_or_testid if key_or_testid.startswith("menu-") else f"menu-{key_or_testid}"
    _in_drawer(page, "console-menu-toggle", testid, _click)


def console_menu(page: Page) -> None:
    """Show the console menu: on phones open its drawer (desktops always show it)."""
    if is_phone(page):
        _in_drawer(page, "console-menu-toggle", "console-menu", _show)


def console_login(page: Page, login: str, password: str) -> None:
    """Log in on /console/login and wait for the redirect to the dashboard."""
    page.goto("/console/login")
    page.get_by_test_id("console-login-login").fill(login)
    page.get_by_test_id("console-login-password").fill(password)
    page.get_by_test_id("console-login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?$"))


def store_login(page: Page, login: str, password: str) -> None:
    """Log in on /login and wait for the redirect away from it."""
    page.goto("/login")
    page.get_by_test_id("login-login").fill(login)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect_left(page, "/login")
    expect(page.get_by_test_id("user-name")).to_be_visible()


def register_here(page: Page, name: str, phone: str | None = None) -> str:
    """Submit the registration form on the current page (a fresh phone number unless given); wait for the redirect
    away from /register (to `?redirect=` or /account) and the customer's name in the header. Returns the phone."""
    phone = phone or new_phone()
    page.get_by_test_id("register-phone").fill(phone)
    page.get_by_test_id("register-password").fill(CUSTOMER_PASSWORD)
    page.get_by_test_id("register-name").fill(name)
    page.get_by_test_id("register-agree").click()  # the user agreement and the privacy policy
    page.get_by_test_id("register-submit").click()
    expect_left(page, "/register")
    expect(page.get_by_test_id("user-name")).to_have_text(name)
    return phone


def register(page: Page, name: str, phone: str | None = None) -> str:
    """Register a new customer on /register; the app lands on /account. Returns the phone."""
    page.goto("/register")
    phone = register_here(page, name, phone)
    expect(page).to_have_url(url_of("/account"))
    return phone
