"""The console's 用户行为分析 page in Chromium, at desktop and phone sizes, on the demo world: the analyst sees the
headline figures, the view -> cart -> checkout -> paid funnel (people and sessions, each step no more than the one
before) and its breakdown by channel, the top search terms, views by category, the paid orders, and the page in
English; a bad range cannot be picked (days outside the data are disabled)."""

import json
import re

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone


def figures(page: Page, testid: str, attribute: str) -> list[int]:
    chart = page.get_by_test_id(testid)
    expect(chart).to_have_attribute(attribute, re.compile(r"^\[[1-9]\d*(,\d+){3}\]$"))  # four steps, some people
    return json.loads(chart.get_attribute(attribute))


def test_the_behaviour_page_on_the_demo_world(page: Page):
    console_login(page, DEMO_STAFF["analyst"][0], DEMO_PASSWORD)
    console_nav(page, "behaviour")
    expect(page.get_by_test_id("behaviour-page")).to_be_visible()
    sessions = page.get_by_test_id("kpi-sessions")
    expect(sessions).not_to_have_text("0")
    assert int(sessions.inner_text()) > 0

    # The funnel: people and sessions at each step, never more than at the step before.
    people = figures(page, "behaviour-funnel-chart", "data-people")
    visits = figures(page, "behaviour-funnel-chart", "data-sessions")
    assert people[0] > 0 and visits[0] > 0
    assert people == sorted(people, reverse=True) and visits == sorted(visits, reverse=True)
    expect(page.get_by_test_id("behaviour-funnel-table").locator("tbody tr")).to_have_count(4)

    # Broken down by channel: a row per channel, direct visits named as such.
    page.get_by_test_id("behaviour-breakdown").click()
    page.get_by_role("option", name="按渠道").click()
    breakdown = page.get_by_test_id("behaviour-funnel-breakdown")
    expect(breakdown).to_be_visible()
    expect(breakdown.get_by_test_id("breakdown-key").filter(has_text="直接访问")).to_be_visible()

    # Searches: the top terms; zero-result terms, or the word that there were none.
    page.get_by_role("tab", name="搜索").click()
    expect(page.get_by_test_id("behaviour-top-terms").get_by_test_id("search-term").first).to_be_visible()
    expect(page.get_by_test_id("behaviour-zero-terms").or_(page.get_by_test_id("behaviour-zero-none"))).to_be_visible()

    # Browsing: views by category (named, not coded) and the interest over time.
    page.get_by_role("tab", name="浏览与兴趣").click()
    categories = page.get_by_test_id("behaviour-categories-chart")
    expect(categories).to_be_visible()
    expect(categories).not_to_have_attribute("data-values", "{}")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in categories.get_attribute("data-values"))
    expect(page.get_by_test_id("behaviour-interest-chart")).to_be_visible()

    # Purchases: the paid orders of the range.
    page.get_by_role("tab", name="购买").click()
    orders = page.get_by_test_id("behaviour-purchases").get_by_test_id("kpi-orders")
    expect(orders).not_to_have_text("0")

    if not is_phone(page):  # desktop only, to keep the phone run short
        page.get_by_role("tab", name="评价").click()
        expect(page.get_by_test_id("behaviour-ratings-chart")).to_be_visible()
        page.get_by_test_id("lang-switch").click()
        expect(page.get_by_role("tab", name="Purchases")).to_be_visible()
        expect(page.get_by_text("Behaviour analysis").first).to_be_visible()
