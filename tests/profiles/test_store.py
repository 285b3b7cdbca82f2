"""The profile store: one row per customer with the columns of PROFILES.md, computed from the clean events and the
table snapshots (paid orders counted once, from the database or from their events, cancelled and refunded ones
left out; staff and anonymous visitors are not customers); a build is published whole or not at all; a promoted
model's scores go into the store and stay; DuckDB and Spark build the same store."""

import math
import shutil
import threading

import pyarrow as pa
import pytest

from medreach.profiles import build as profile_build
from medreach.profiles import features, store
from tests.profiles.lake_world import AS_OF, World, build, by_user, rows, ts


def store_world() -> World:
    w = World()
    w.user(1, gender="female", birth_year=1980, city="深圳市")
    w.user(2, gender="male", birth_year=2008, city="北京")  # turns 18 in 2026: still counted a minor
    w.user(3, is_staff=True)
    w.user(4, gender="unknown", birth_year=1950, city="赣州市", occupation="教师")
    w.user(5, birth_year=None, city="某县", region="云南")
    w.view("1", 1, ts("2026-06-01T01:50"))
    w.add("1", 1, ts("2026-06-01T01:55"))
    w.db_order(1, "P1", ts("2026-06-01T02:00"), [(1, 2)], discount_fen=500)
    w.db_order(1, "P2", ts("2026-06-21T02:00"), [(1, 1), (6, 1)], status="shipped")
    w.db_order(1, "P3", ts("2026-06-22T02:00"), [(5, 3)], status="cancelled")  # never paid
    w.db_order(1, "P4", ts("2026-06-23T02:00"), [(4, 3)], status="refunded")  # paid, then given back
    w.db_order(1, "P5", ts("2026-06-24T02:00"), [(4, 1)], status="awaiting_payment")
    w.view("2", 5, ts("2026-06-20T02:00"))
    w.view("3", 5, ts("2026-06-20T02:00"))  # staff: not a customer
    w.db_order(3, "P6", ts("2026-06-20T03:00"), [(5, 1)])
    w.track(None, "Product Viewed", ts("2026-06-20T02:00"), product_id=5)  # anonymous: no one's profile
    w.track("4", "Products Searched", ts("2026-06-10T02:00"), query="降压药", results=3)
    w.sim_order("sim-7", "S1", ts("2026-04-01T02:00"), [(3, 1)])
    w.sim_order("sim-7", "S2", ts("2026-05-01T02:00"), [(3, 2)], discount_fen=1000)
    w.sim_order("sim-7", "S3", ts("2026-05-15T02:00"), [(4, 1)])
    w.track("sim-7", "Order Refunded", ts("2026-05-16T02:00"), order_id="S3")
    for minutes in (0, 10, 50):  # two sessions: a gap of 40 minutes starts the second
        w.page("5", ts("2026-06-28T02:00").replace(minute=minutes))
    return w


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    return build(store_world(), tmp_path_factory.mktemp("store"), {"marketing_sms": {"1"}, "health_profile": {"1"}})


def test_one_row_per_customer_with_the_documented_columns(lake_dir):
    table = pa.parquet.read_table(store.files(lake_dir, "customers"))
    assert table.schema.equals(store.CUSTOMER_SCHEMA, check_metadata=False)
    assert sorted(table["user_id"].to_pylist()) == ["1", "2", "4", "5", "sim-7"]  # staff and anonymous left out


def test_demographics(lake_dir):
    c = by_user(lake_dir)
    assert (c["1"]["gender"], c["1"]["age"], c["1"]["age_band"], c["1"]["is_minor"]) == ("female", 46, "45-54", False)
    assert (c["1"]["city"], c["1"]["city_tier"], c["1"]["region"]) == ("深圳", 1, "广东")
    assert (c["2"]["age"], c["2"]["age_band"], c["2"]["is_minor"]) == (18, "18-24", True)
    assert (c["4"]["gender"], c["4"]["age_band"], c["4"]["city_tier"], c["4"]["region"], c["4"]["occupation"]) == (
        None, "65+", 4, "江西", "教师")
    assert (c["5"]["age"], c["5"]["is_minor"], c["5"]["city_tier"], c["5"]["region"]) == (None, False, 4, "云南")
    assert c["sim-7"]["gender"] is None and c["sim-7"]["city_tier"] is None


def test_paid_orders_count_once_cancelled_and_refunded_left_out(lake_dir):
    c = by_user(lake_dir)
    one = c["1"]
    # P1 (2 x 3380 - 500) and P2 (3380 + 25900); P3 cancelled, P4 refunded, P5 unpaid; the events of P1/P2 not again.
    assert (one["orders"], one["monetary_fen"]) == (2, 6260 + 29280)
    assert one["aov_fen"] == round((6260 + 29280) / 2)
    assert one["first_order_at"] == ts("2026-06-01T02:00") and one["last_order_at"] == ts("2026-06-21T02:00")
    assert one["purchase_interval_days"] == 20.0 and one["price_sensitivity"] == 0.5
    assert one["recency_days"] == pytest.approx((AS_OF - ts("2026-06-21T02:00")).total_seconds() / 86400)
    sim = c["sim-7"]  # S3 was refunded (an Order Refunded event names it)
    assert (sim["orders"], sim["monetary_fen"], sim["price_sensitivity"]) == (2, 2500 + 5000 - 1000, 0.5)
    assert (c["2"]["orders"], c["2"]["monetary_fen"], c["2"]["rfm_group"], c["2"]["churn_risk"]) == (0, 0, None, None)


def test_only_our_own_sources_order_events_are_paid_orders(tmp_path):
    """Through a public write key a client can send any event, `Order Completed` with a server's library name
    included: only the internal sources' (MedReach's server, the simulator: source 7 here) count."""
    w = World()
    w.sim_order("honest", "S1", ts("2026-06-01T02:00"), [(3, 1)], source=7)
    w.track("forger", "Order Completed", ts("2026-06-01T02:00"), source=2, order_id="X1", total=9999.0,
            products=[{"product_id": 3, "quantity": 99, "price": 101.0}])
    lake_dir = w.write(tmp_path / "lake", tmp_path)
    profile_build.build(lake_dir, profile_build.BuildInput(order_sources={7}), as_of=AS_OF)
    c = by_user(lake_dir)
    assert (c["honest"]["orders"], c["honest"]["monetary_fen"]) == (1, 2500)
    assert (c["forger"]["orders"], c["forger"]["monetary_fen"], c["forger"]["rfm_group"]) == (0, 0, None)


def test_behaviour_and_consents(lake_dir):
    c = by_user(lake_dir)
    assert (c["1"]["events"], c["1"]["product_views"], c["1"]["cart_adds"], c["1"]["sessions"]) == (5, 1, 1, 3)
    assert (c["5"]["events"], c["5"]["sessions"], c["5"]["last_seen_at"]) == (3, 2, ts("2026-06-28T02:50"))
    assert c["5"]["last_active_days"] == pytest.approx((AS_OF - ts("2026-06-28T02:50")).total_seconds() / 86400)
    assert c["4"]["searches"] == 1
    assert c["1"]["consent_marketing_sms"] and c["1"]["consent_health_profile"]
    assert not c["2"]["consent_marketing_sms"] and not c["5"]["consent_health_profile"]


def test_activity_counts_each_day_event_and_category(lake_dir):
    mine = [(str(r["day"]), r["event"], r["category"], r["count"]) for r in rows(lake_dir, "activity")
            if r["user_id"] == "1"]
    assert ("2026-06-01", "Order Completed", None, 1) in mine
    assert ("2026-06-21", "Order Completed", "hypertension", 1) in mine
    assert ("2026-06-21", "Order Completed", "device_bp", 1) in mine
    assert ("2026-06-01", "Product Viewed", "hypertension", 1) in mine
    assert not [m for m in mine if m[0] in ("2026-06-22", "2026-06-23", "2026-06-24")]  # not paid, or refunded
    five = [(r["event"], r["category"], r["count"]) for r in rows(lake_dir, "activity") if r["user_id"] == "5"]
    assert five == [("Page Viewed", None, 3)]


def test_the_manifest_names_the_build(lake_dir):
    meta = store.manifest(lake_dir)
    assert meta["as_of"] == AS_OF.isoformat() and meta["engine"] == "duckdb"
    assert meta["rows"]["customers"] == 5 and set(meta["seconds"]) >= {"customers", "tags", "total"}
    assert not list((lake_dir / "staging").glob("profiles-*"))


def test_a_failed_build_leaves_the_published_store_as_it_was(lake_dir, tmp_path, monkeypatch):
    copy = tmp_path / "lake"
    shutil.copytree(lake_dir, copy)
    before = store.manifest(copy)
    customers = rows(copy, "customers")

    def broken(inputs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(features, "activity", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        profile_build.build(copy, profile_build.BuildInput(), as_of=AS_OF)
    assert store.manifest(copy) == before and rows(copy, "customers") == customers
    assert rows(copy, "interests") and not list((copy / "staging").glob("profiles-*"))


def test_readers_see_a_whole_table_while_builds_are_published(lake_dir, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake_dir, copy)
    seen, errors, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                seen.append(store.customer(copy, "1"))
            except Exception as e:  # noqa: BLE001  the test reports what a reader met
                errors.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(2):
            profile_build.build(copy, profile_build.BuildInput(), as_of=AS_OF)
    finally:
        stop.set()
        reader.join()
    assert not errors and seen and all(row is not None and row["orders"] == 2 for row in seen)


def test_a_promoted_models_scores_go_into_the_store_and_stay(lake_dir, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake_dir, copy)
    heuristic = store.customer(copy, "sim-7")["churn_risk"]
    scored = store.write_scores(copy, "churn_risk", pa.table({"user_id": ["1", "nobody"], "score": [0.9, 0.1]}), "m3")
    assert scored == 2
    assert store.customer(copy, "1")["churn_risk"] == 0.9 and store.customer(copy, "sim-7")["churn_risk"] == heuristic
    profile_build.build(copy, profile_build.BuildInput(), as_of=AS_OF)
    assert store.customer(copy, "1")["churn_risk"] == 0.9  # the next build keeps the model's score
    with pytest.raises(ValueError, match="one of churn_risk"):
        store.write_scores(copy, "orders", pa.table({"user_id": ["1"], "score": [1.0]}), "m3")


def test_an_empty_lake_builds_an_empty_store(tmp_path):
    lake_dir = tmp_path / "lake"
    lake_dir.mkdir()
    meta = profile_build.build(lake_dir, profile_build.BuildInput(), as_of=AS_OF)
    assert meta["rows"] == {"customers": 0, "health": 0}
    assert store.customer(lake_dir, "1") is None and store.customer_count(lake_dir) == 0


@pytest.mark.timeout(1200)  # Spark local[2] runs each of the build's stages as jobs of its own: minutes, not seconds
def test_both_engines_build_the_same_store(lake_dir, tmp_path):
    spark = build(store_world(), tmp_path, {"marketing_sms": {"1"}, "health_profile": {"1"}}, engine="spark")
    for name in store.TABLES:
        duck, other = (sorted(rows(d, name), key=_key) for d in (lake_dir, spark))
        assert len(duck) == len(other), name
        for a, b in zip(duck, other, strict=True):
            assert a.keys() == b.keys(), name
            for column, value in a.items():
                if isinstance(value, float):
                    assert math.isclose(value, b[column], rel_tol=1e-9, abs_tol=1e-12), (name, column)
                else:
                    assert value == b[column], (name, column, a, b)


def _key(row: dict) -> str:
    return repr(sorted((k, str(v)) for k, v in row.items() if not isinstance(v, float)))
