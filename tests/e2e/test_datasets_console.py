"""The console's 数据管道 page, 数据集 and 质量报告 tabs, in Chromium at desktop and phone sizes: the admin sees that
import_file starts from the datasets tab (no 运行 on the jobs tab), imports an orders export into external_orders
(on desktop the sample file downloaded from the page, on phones one generated here), follows the run to 成功, opens
its quality report (passed, fewer rows out than in, exact duplicates dropped, a chart per column), finds the
cleaned rows with Traditional product names made Simplified, finds the import under 导入记录 and the report again on
the 质量报告 tab. Then a file with a row that breaks an expectation: its run fails, the dataset points to 导入记录,
the admin removes that import, cleans again from the drawer and the dataset passes again."""

import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from medreach.pipeline import samples
from tests.e2e.ui import console_login, console_nav, is_phone, sel

DATASET = "external_orders"
RUN_TIMEOUT = 90_000  # ms: the import, the clean and the report run in the background on a shared CI machine


def test_import_a_file_follow_the_run_and_read_its_quality_report(page: Page, tmp_path: Path):
    console_login(page, DEMO_STAFF["admin"][0], DEMO_PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_be_visible()
    console_nav(page, "pipeline")
    expect(page.get_by_test_id("pipeline-page")).to_be_visible()

    # Jobs tab: import_file needs a dataset and a file, so it has no 运行 button, only a link to the datasets tab.
    job = page.locator(sel("job-row", job="import_file")).locator("xpath=ancestor::tr")
    expect(job.get_by_test_id("job-run-elsewhere")).to_be_visible()
    expect(job.get_by_test_id("job-run")).to_have_count(0)
    job.get_by_test_id("job-run-elsewhere").click()

    dataset = page.locator(sel("dataset-row", dataset=DATASET))
    expect(dataset).to_be_visible()

    # The file: the page's sample (a GB18030 CSV with Chinese headers) on desktop, a generated one on phones.
    if is_phone(page):
        orders = samples.external_orders(tmp_path / "orders.csv", rows=200)
    else:
        with page.expect_download() as download:
            page.locator(sel("dataset-sample", dataset=DATASET)).click()
        assert download.value.suggested_filename == f"{DATASET}_sample.csv"
        orders = tmp_path / download.value.suggested_filename
        download.value.save_as(orders)
        assert orders.read_bytes().startswith("订单号".encode("gb18030"))

    # Import: the file goes up as soon as it is chosen; the run's drawer opens and follows it to 成功.
    page.locator(sel("dataset-import-input", dataset=DATASET)).set_input_files(orders)
    run = page.get_by_test_id("run-drawer")
    expect(run).to_be_visible()
    expect(run.get_by_test_id("run-params")).to_contain_text(orders.name)
    expect(run.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT)
    imported = run.get_by_test_id("run-import")
    expect(imported).to_be_visible()
    assert int(imported.get_attribute("data-read")) > 0
    written = imported.get_attribute("data-written")
    assert int(written) > 0

    # Its quality report.
    run.get_by_test_id("run-open-report").click()
    expect(run).to_be_hidden()
    report = page.get_by_test_id("report-drawer")
    expect(report).to_be_visible()
    expect(report.get_by_test_id("report-status")).to_have_attribute("data-status", "passed")
    expect(report.get_by_test_id("report-subject")).to_have_attribute("data-subject", f"dataset:{DATASET}")
    rows = report.get_by_test_id("report-rows")
    assert int(rows.get_attribute("data-rows-in")) > int(rows.get_attribute("data-rows-out"))
    expect(report.locator(sel("report-drop-reason", reason="duplicate"))).to_be_visible()
    expect(report.get_by_test_id("report-expectations")).to_have_attribute("data-passed", "true")
    expect(report.get_by_test_id("report-steps-chart").locator("canvas")).to_be_attached()
    expect(report.locator(sel("report-column", column="product_name"))).to_be_attached()
    charts = report.locator(f'{sel("column-chart")} canvas')
    expect(charts.first).to_be_attached()
    assert charts.count() > 0
    report_id = report.locator("[data-report-id]").first.get_attribute("data-report-id")
    page.keyboard.press("Escape")
    expect(report).to_be_hidden()

    # The dataset row now links to that report.
    expect(dataset).to_have_attribute("data-report-status", "passed")
    expect(page.locator(sel("dataset-report", report_id=report_id))).to_be_visible()

    # 查看数据: the clean rows, product names in Simplified Chinese; then the raw rows with their import.
    page.locator(sel("dataset-view-rows", dataset=DATASET)).click()
    data = page.get_by_test_id("dataset-rows-drawer")
    expect(data).to_be_visible()
    table = data.get_by_test_id("dataset-rows-table")
    expect(table).to_have_attribute("data-stage", "clean")
    expect(table).to_contain_text("板蓝根颗粒")
    expect(table).not_to_contain_text("板藍根顆粒")
    assert int(table.get_attribute("data-total")) > 0
    data.get_by_test_id("dataset-rows-stage-raw").click()
    expect(table).to_have_attribute("data-stage", "raw")
    expect(table).to_contain_text("_import")
    page.keyboard.press("Escape")
    expect(data).to_be_hidden()

    # 导入记录: the import just made (newest first), by its file name, with the rows it wrote; the admin may remove it.
    page.locator(sel("dataset-view-imports", dataset=DATASET)).click()
    imports = page.get_by_test_id("dataset-imports-drawer")
    expect(imports).to_be_visible()
    made = imports.locator(sel("dataset-import-row", source=f"file:{orders.name}")).first
    expect(made).to_contain_text(orders.name)
    expect(made).to_have_attribute("data-rows", written)
    expect(made).to_have_attribute("data-written", written)
    expect(made.locator("xpath=ancestor::tr").get_by_test_id("dataset-import-remove")).to_be_visible()
    page.keyboard.press("Escape")
    expect(imports).to_be_hidden()

    # 质量报告 tab: the report is among the passed reports of the dataset and opens again.
    page.get_by_test_id("pipeline-tab-quality").click()
    page.get_by_test_id("quality-filter-subject").click()
    page.locator(sel("quality-filter-subject-option", subject=f"dataset:{DATASET}")).click()
    page.get_by_test_id("quality-filter-status").click()
    page.locator(sel("quality-filter-status-option", status="passed")).click()
    listed = page.locator(sel("quality-row", report_id=report_id))
    expect(listed).to_have_attribute("data-status", "passed")
    expect(page.locator(sel("quality-row", status="failed"))).to_have_count(0)
    listed.click()
    expect(report).to_be_visible()
    expect(report.locator(sel("report-drop-reason", reason="duplicate"))).to_be_visible()
    page.keyboard.press("Escape")
    expect(report).to_be_hidden()

    # A file whose only row breaks an expectation (数量 0, expected ≥ 1): the run fails, the clean table stays, and
    # the dataset points to 导入记录 (every later clean would fail too while the import is there).
    page.get_by_test_id("pipeline-tab-datasets").click()
    bad = tmp_path / f"bad-{uuid.uuid4().hex[:6]}.csv"
    bad.write_text("订单号,商品名称,数量,金额,下单时间\nX1,维生素C片,0,8.00,2026-11-01 10:00\n", encoding="utf-8")
    page.locator(sel("dataset-import-input", dataset=DATASET)).set_input_files(bad)
    expect(run).to_be_visible()
    expect(run.get_by_test_id("run-params")).to_contain_text(bad.name)
    expect(run.get_by_test_id("run-status")).to_have_attribute("data-status", "failed", timeout=RUN_TIMEOUT)
    page.keyboard.press("Escape")
    expect(run).to_be_hidden()
    expect(dataset).to_have_attribute("data-report-status", "failed")
    hint = page.locator(sel("dataset-failed-hint", dataset=DATASET))
    hint.get_by_test_id("dataset-failed-hint-imports").click()

    # Remove that import (confirmed), then clean again from the drawer: the run succeeds and the dataset passes.
    expect(imports).to_be_visible()
    bad_row = imports.locator(sel("dataset-import-row", source=f"file:{bad.name}"))
    expect(bad_row).to_have_attribute("data-rows", "1")
    import_id = bad_row.get_attribute("data-import-id")
    bad_row.locator("xpath=ancestor::tr").get_by_test_id("dataset-import-remove").click()
    page.locator(".dataset-import-remove-confirm").click()
    expect(imports.get_by_test_id("dataset-imports-removed")).to_have_attribute("data-import-id", import_id)
    expect(imports.locator(sel("dataset-import-row", import_id=import_id))).to_have_count(0)
    expect(imports.locator(sel("dataset-import-row", source=f"file:{orders.name}")).first).to_be_visible()
    imports.get_by_test_id("dataset-imports-reclean").click()
    expect(imports).to_be_hidden()
    expect(run).to_be_visible()
    expect(run.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT)
    page.keyboard.press("Escape")
    expect(run).to_be_hidden()
    expect(dataset).to_have_attribute("data-report-status", "passed")
    expect(hint).to_have_count(0)
