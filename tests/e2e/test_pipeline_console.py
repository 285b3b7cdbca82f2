"""The console's 数据管道 page in Chromium, at desktop and phone sizes: the admin runs the lake_sync job from the jobs
tab, follows the run in the history until it succeeds, opens it (status, log lines), and sees the four lake tables
with their row counts; on desktop the admin also syncs the lake on demand and sees the per-table result."""

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from tests.e2e.ui import console_login, console_nav, is_phone, sel

LAKE_TABLES = ("users", "products", "orders", "order_lines")


def test_run_a_job_follow_its_run_and_see_the_lake_tables(page: Page):
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_be_visible()
    console_nav(page, "pipeline")
    expect(page.get_by_test_id("pipeline-page")).to_be_visible()

    # Jobs: run lake_sync now; the page switches to the run history with the new run on top.
    job = page.locator(sel("job-row", job="lake_sync"))
    expect(job).to_be_visible()
    # (Should a scheduled run of the job be in progress just then, the page answers 409 with a message and shows
    # that run instead.)
    job.locator("xpath=ancestor::tr").get_by_test_id("job-run").click()
    run = page.locator(sel("run-row", job="lake_sync", highlighted="true"))
    expect(run).to_be_visible()
    expect(run).to_have_attribute("data-status", "succeeded")  # the history refreshes itself every 2 s
    run_id = run.get_attribute("data-run-id")

    # The run's drawer: status, progress and the log.
    run.click()
    drawer = page.get_by_test_id("run-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded")
    expect(drawer.get_by_test_id("run-trigger")).to_be_visible()
    expect(drawer.get_by_test_id("run-progress")).to_have_attribute("data-total", "4")
    expect(drawer.get_by_test_id("run-log-line").first).to_be_visible()
    expect(drawer.get_by_test_id("run-result")).to_contain_text("products")
    expect(drawer.locator(f'[data-run-id="{run_id}"]')).to_be_visible()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    # The status filter: the run is among the succeeded ones, not among the failed.
    page.get_by_test_id("runs-filter-status").click()
    page.locator(sel("runs-filter-status-option", status="failed")).click()
    expect(page.locator(sel("run-row", run_id=run_id))).to_have_count(0)
    page.get_by_test_id("runs-filter-status").click()
    page.locator(sel("runs-filter-status-option", status="succeeded")).click()
    expect(page.locator(sel("run-row", run_id=run_id))).to_be_visible()

    # The jobs tab shows it as the job's latest run.
    page.get_by_test_id("pipeline-tab-jobs").click()
    expect(job.locator("xpath=ancestor::tr").get_by_test_id("job-last-status")).to_have_attribute(
        "data-status", "succeeded")

    # Lake tables: the four synced tables; the demo catalog has 332 products.
    page.get_by_test_id("pipeline-tab-tables").click()
    for name in LAKE_TABLES:
        expect(page.locator(sel("lake-table-row", table=name))).to_be_visible()
    products = page.locator(sel("lake-table-row", table="products"))
    expect(products).not_to_have_attribute("data-rows", "")
    assert int(products.get_attribute("data-rows")) > 300
    expect(page.get_by_test_id("lake-chart")).to_be_visible()
    products.click()  # expands to the column list
    expect(page.locator(f'{sel("lake-table-columns", table="products")} {sel("lake-column", column="id")}')
           ).to_be_visible()

    if not is_phone(page):  # desktop only, to keep the phone run short
        page.get_by_test_id("lake-sync").click()
        expect(page.get_by_test_id("lake-sync-result")).to_be_visible()
        for name in LAKE_TABLES:
            expect(page.locator(sel("lake-sync-result-row", table=name))).to_be_visible()
        synced = page.locator(sel("lake-sync-result-row", table="products"))
        assert int(synced.get_attribute("data-rows")) > 300
