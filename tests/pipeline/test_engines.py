"""One definition, two engines: the pipeline's transformations give identical outputs on DuckDB and on
Spark (local[2]) from the same input."""

from datetime import date

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from medreach.accounts import schemas as account_schemas
from medreach.accounts.legal import current_versions
from medreach.accounts import service as accounts
from medreach.catalog.models import Product
from medreach.core.db import Database
from medreach.core.migrate import upgrade
from medreach.demo import load_demo
from medreach.pipeline import engine, snapshots
from medreach.pipeline.tables import TABLES


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('engines') / 'medreach.db'}"
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        accounts.ensure_builtin_roles(s)
        load_demo(s)
    yield db
    db.dispose()


def test_snapshot_merges_are_identical_on_duckdb_and_spark(demo_db, tmp_path):
    lakes = {"duckdb": tmp_path / "duckdb", "spark": tmp_path / "spark"}

    def sync_both(day):
        for name, lake in lakes.items():
            with demo_db.session() as s:
                snapshots.sync_all(s, lake, today=day, engine_name=name, spark_master="local[2]")

    sync_both(date(2026, 5, 1))
    with demo_db.session() as s:  # a day of changes: prices, a product withdrawn, a new customer
        ids = list(s.scalars(sa.select(Product.id).order_by(Product.id).limit(3)))
        s.execute(sa.update(Product).where(Product.id.in_(ids[:2])).values(price_fen=Product.price_fen + 100))
        s.execute(sa.delete(Product).where(Product.id == ids[2]))
        accounts.register(s, account_schemas.RegisterIn(phone="13911112222", password="a-good-password", name="新客",
                                                         agreements=current_versions()))
    sync_both(date(2026, 5, 2))

    compared = 0
    for name in TABLES:
        duck, spark = (snapshots.snapshots(lake, name) for lake in lakes.values())
        assert [p.parent.name for p in duck] == [p.parent.name for p in spark] == ["date=2026-05-01", "date=2026-05-02"]
        for a, b in zip(duck, spark):
            left, right = pq.read_table(a), pq.read_table(b)
            assert left.schema == right.schema == TABLES[name].schema
            assert left.equals(right), (name, a.parent.name)
            compared += left.num_rows
    assert compared > 600  # 332 products on each day, and the users


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'excel'"):
        engine.connect("excel")


def test_dataset_cleaning_and_its_report_are_identical_on_duckdb_and_spark(tmp_path):
    from medreach.pipeline import datasets, imports, samples
    from medreach.pipeline.connectors.files import FileSource

    spec = datasets.get("external_orders")
    export = samples.external_orders(tmp_path / "orders.csv", rows=400, seed=11)
    reports, tables = {}, {}
    for name in ("duckdb", "spark"):
        lake = tmp_path / name
        imports.run_import(lake, spec, "file", FileSource(export), b"key")
        reports[name] = imports.clean(lake, spec, b"key", engine_name=name, spark_master="local[2]")
        tables[name] = pq.read_table(datasets.DatasetFiles(lake, spec.name).clean).sort_by("order_no")
    assert reports["duckdb"]["status"] == reports["spark"]["status"] == "passed"
    assert tables["duckdb"].num_rows > 300 and tables["duckdb"].equals(tables["spark"])
    for part in ("steps", "dropped_by_reason", "outliers", "filled", "invalid"):
        assert reports["duckdb"][part] == reports["spark"][part], part
    profile = {name: {c["name"]: (c["nulls"], c["distinct"], c.get("histogram"), c.get("top"))
                      for c in r["columns"]} for name, r in reports.items()}
    assert profile["duckdb"] == profile["spark"]
