"""Configured sources run as jobs: a competitor's price pages scraped politely into `competitor_prices`, and a
table of another MariaDB/PostgreSQL database synced incrementally into `external_orders` — each run imported,
cleaned and reported on, with rows read, written and rejected by reason."""

import datetime as dt
import uuid

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from medreach import schedule
from medreach.core.scheduler import Cron
from medreach.pipeline import datasets, jobs, sources
from medreach.pipeline.models import JobRun, QualityReport
from tests.pipeline.test_connector_database import ext  # noqa: F401  (a fixture: a table on each server)
from tests.pipeline.test_connectors_web import serve, site  # noqa: F401  (a fixture and a test site)


def run_job(db, settings, name: str) -> JobRun:
    run_id = jobs.create_run(db, name, "cli")
    jobs.execute(db, settings, run_id)
    with db.session() as s:
        run = s.get(JobRun, run_id)
        s.expunge(run)
        return run


@pytest.fixture
def configure(settings, tmp_path, monkeypatch):
    """Write a sources file, point the settings at it and register its jobs (removed again afterwards)."""
    monkeypatch.setattr(jobs, "JOBS", dict(jobs.JOBS))

    def write(text: str) -> list[str]:
        path = tmp_path / "sources.toml"
        path.write_text(text, encoding="utf-8")
        settings.pipeline_sources = path
        return jobs.register_sources(settings)

    return write


def test_a_scraped_price_list_lands_cleaned_in_competitor_prices(db, settings, configure, serve):  # noqa: F811
    shop = serve(site())
    added = configure(f"""
[sources.rival]
kind = "scraper"
dataset = "competitor_prices"
title = "某竞品药房"
schedule = "0 2 * * *"
site = "rival"
start_urls = ["{shop.url}/shop"]
follow = "a.product::attr(href)"
rate_limit_per_second = 50
[sources.rival.fields]
name = "div.product-detail h1::text"
price = "span.price"
spec = "//dt[text()='Specification']/following-sibling::dd[1]/text()"
""")
    assert added == ["source:rival"] and schedule.schedules(settings)["source:rival"] == Cron("0 2 * * *")
    run = run_job(db, settings, "source:rival")
    assert run.status == "succeeded", run.error
    imported = run.result["import"]
    assert imported["rejected_by_reason"]["robots_disallowed"] == 1  # /private is never fetched
    assert "/private/p/3" not in shop.paths()
    assert imported["written"] == 2 and run.result["rows_out"] == 2
    clean = pq.read_table(datasets.DatasetFiles(settings.lake_path, "competitor_prices").clean).to_pylist()
    assert {r["site"] for r in clean} == {"rival"} and all(r["price_fen"] > 0 for r in clean)
    with db.session() as s:
        report = s.get(QualityReport, run.result["report_id"])
        assert report.subject == "dataset:competitor_prices" and report.run_id == run.id


@pytest.fixture
def erp(ext):  # noqa: F811
    """An order table of another system, on the same server as `ext` (MariaDB or PostgreSQL)."""
    table = sa.Table(f"erp_orders_{uuid.uuid4().hex[:8]}", sa.MetaData(),
                     sa.Column("order_no", sa.String(32), primary_key=True),
                     sa.Column("product_name", sa.String(64)), sa.Column("amount", sa.Numeric(10, 2)),
                     sa.Column("ordered_at", sa.DateTime), sa.Column("updated_at", sa.DateTime))
    table.create(ext.engine)
    yield ext, table
    table.drop(ext.engine)


def test_another_databases_table_syncs_incrementally_into_external_orders(db, settings, configure, erp):
    ext, table = erp
    at = dt.datetime(2026, 11, 1, 9)
    with ext.engine.begin() as conn:
        conn.execute(table.insert(), [{"order_no": f"ERP{i}", "product_name": "維生素C片", "amount": f"{10 + i}.50",
                                       "ordered_at": at, "updated_at": at + dt.timedelta(minutes=i)}
                                      for i in range(1, 6)])
    configure(f"""
[sources.erp]
kind = "database"
dataset = "external_orders"
url = "{ext.url}"
table = "{table.name}"
key = ["order_no"]
watermark = "updated_at"
lag_seconds = 0
batch_size = 2
""")
    first = run_job(db, settings, "source:erp")
    assert first.status == "succeeded", first.error
    assert first.result["import"]["read"] == first.result["import"]["written"] == 5 and first.result["rows_out"] == 5
    with ext.engine.begin() as conn:
        conn.execute(table.update().where(table.c.order_no == "ERP2").values(amount="99.00",
                                                                             updated_at=at + dt.timedelta(days=1)))
        conn.execute(table.insert(), [{"order_no": "ERP6", "product_name": "布洛芬", "amount": "7.00",
                                       "ordered_at": at, "updated_at": at + dt.timedelta(days=1, minutes=1)}])
    second = run_job(db, settings, "source:erp")
    assert second.result["import"]["written"] == 2  # only the changed row and the new one
    assert second.result["import"]["resumed_from"]["key"] == ["ERP5"]
    assert second.result["rows_out"] == 6 and second.result["dropped_by_reason"] == {"duplicate_key": 1}
    clean = {r["order_no"]: r for r in
             pq.read_table(datasets.DatasetFiles(settings.lake_path, "external_orders").clean).to_pylist()}
    assert clean["ERP2"]["amount_fen"] == 9900 and clean["ERP1"]["product_name"] == "维生素C片"
    state = datasets.DatasetFiles(settings.lake_path, "external_orders").state()["erp"]
    assert state["complete"] and state["checkpoint"]["key"] == ["ERP6"]


def test_a_sources_file_that_cannot_work_is_refused(tmp_path):
    with pytest.raises(sources.SourceError, match="needs kind"):
        sources.parse('[sources.x]\nkind = "ftp"\ndataset = "external_orders"\n', tmp_path)
    with pytest.raises(sources.SourceError, match="no such file"):
        sources.load(tmp_path / "missing.toml")
    assert sources.load(None) == {}
