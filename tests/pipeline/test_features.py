"""Preprocessing: the customer feature table integrates clean events with the users snapshot on the user id,
derives recency, tenure and conversion, and scales features with fitted parameters that are saved and give the
same numbers at serving time; DuckDB and Spark build the same table."""

import math

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medreach.pipeline import cleaning, features
from medreach.tracking import lake
from tests.pipeline.test_cleaning import record as browser_record


@pytest.fixture
def world(tmp_path, db):
    """Two signed-in shoppers (one a member in the users snapshot) and an anonymous one, cleaned."""
    def record(*args, **kw):
        return browser_record(*args, library="medreach-server", **kw)  # the server's (canonical) copies

    events = [record(f"a{i}", f"2026-03-0{1 + i}T02:00:00Z", anon="x1", user="7") for i in range(3)]
    events += [record("a-add", "2026-03-03T03:00:00Z", anon="x1", user="7", event="Product Added"),
               record("a-buy", "2026-03-03T03:05:00Z", anon="x1", user="7", event="Order Completed")]
    events += [record("b1", "2026-03-05T02:00:00Z", anon="x2", user="sim-1"),
               record("b-add", "2026-03-05T02:01:00Z", anon="x2", user="sim-1", event="Product Added"),
               record("c1", "2026-03-05T02:02:00Z", anon="x3")]
    segment = tmp_path / "seg.jsonl"
    segment.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in events))
    lake_dir = tmp_path / "lake"
    lake.compact([segment], lake_dir, tmp_path / "done")
    cleaning.run(lake_dir)
    users = lake_dir / "tables" / "users" / "snapshot" / "date=2026-03-05"
    users.mkdir(parents=True)
    pq.write_table(pa.table({"id": [7], "gender": ["female"], "birth_year": [1980], "region": ["上海"]}),
                   users / "data.parquet")
    return lake_dir


def rows(lake_dir):
    return {r["user_id"]: r for r in pq.read_table(lake_dir / "features" / "customers" / "data.parquet").to_pylist()}


def test_the_feature_table_integrates_derives_and_scales(world):
    built = features.build(world)
    assert built["rows"] == 2
    got = rows(world)
    member, guest = got["7"], got["sim-1"]
    assert (member["events"], member["product_views"], member["cart_adds"], member["orders"]) == (5, 3, 1, 1)
    assert member["is_member"] and member["gender"] == "female" and member["age"] == 2026 - 1980
    assert not guest["is_member"] and guest["age"] is None
    assert member["cart_to_order"] == 1.0 and guest["cart_to_order"] == 0.0
    assert guest["recency_days"] == 0.0 and member["recency_days"] == pytest.approx(2 - 1 / 24 * 1, abs=0.05)
    assert member["active_days"] == 3 and member["tenure_days"] == pytest.approx(2 + 1.1 / 24, abs=0.01)
    # Scaling: log1p then min-max puts the two shoppers' views at 1 and 0; z-scores centre on 0.
    assert member["product_views_scaled"] == 1.0 and guest["product_views_scaled"] == 0.0
    assert member["events_scaled"] == pytest.approx(-guest["events_scaled"]) and member["events_scaled"] > 0
    params = built["scaling"]["events"]
    assert [p["method"] for p in params] == ["log", "zscore"]
    assert params[1]["mean"] == pytest.approx((math.log1p(5) + math.log1p(2)) / 2)


def test_serving_applies_the_saved_scaling_exactly(world):
    features.build(world)
    scaling = features.Scaling.load(world)
    for row in rows(world).values():
        served = scaling.apply(row)
        for name, value in served.items():
            assert value == pytest.approx(row[name], abs=1e-9), name
    assert scaling.apply({"events": None})["events_scaled"] is None


def test_both_engines_build_the_same_features(world, tmp_path):
    import shutil

    spark_lake = tmp_path / "spark-lake"
    shutil.copytree(world, spark_lake)
    features.build(world, "duckdb")
    features.build(spark_lake, "spark", "local[2]")
    duck, spark = rows(world), rows(spark_lake)
    assert duck.keys() == spark.keys()
    for user in duck:
        for column, value in duck[user].items():
            other = spark[user][column]
            assert (value == pytest.approx(other, abs=1e-9)) if isinstance(value, float) else value == other, column


def test_a_bad_scaling_declaration_is_refused(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('[customers.scale]\nevents = ["sqrt"]\n')
    with pytest.raises(ValueError, match="methods are"):
        features.load_methods(path)


def test_the_features_job_and_api(client, staff, settings, world):
    import shutil

    from tests.pipeline.test_jobs import wait_for

    _, analyst = staff("analyst")
    assert client.get("/api/v1/admin/features", headers=analyst).json()["rows"] == 0
    shutil.copytree(world, settings.lake_path, dirs_exist_ok=True)
    run = wait_for(client, analyst, client.post("/api/v1/admin/jobs/build_features/run", headers=analyst).json()["id"])
    assert run["status"] == "succeeded" and run["result"]["rows"] == 2
    report = client.get(f"/api/v1/admin/quality/reports/{run['result']['report_id']}", headers=analyst).json()
    assert report["subject"] == "features:customers" and report["rows_out"] == 2
    got = client.get("/api/v1/admin/features", headers=analyst).json()
    assert got["rows"] == 2 and got["scaling"]["columns"]["orders"][0]["method"] == "log"
    assert {c["name"] for c in got["columns"]} >= {"user_id", "recency_days", "orders_scaled"}
    assert {r["user_id"] for r in got["sample"]} == {"7", "sim-1"}
