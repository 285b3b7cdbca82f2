"""Event cleaning: every rule drops exactly what it should and says so; the daily figures count canonical
copies by Shanghai day; DuckDB and Spark give the same report and the same outputs."""

import duckdb
import orjson
import pytest

from medreach.pipeline import cleaning
from medreach.tracking import lake

PERSON_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) MicroMessenger/8.0.50"


def record(mid, at, *, anon="a1", user=None, event="Product Viewed", ua=PERSON_UA, library="medreach-web"):
    r = {"type": "track", "event": event, "messageId": mid, "anonymousId": anon, "timestamp": at,
         "receivedAt": at, "sourceId": 1, "properties": {"product_id": 1},
         "context": {"library": {"name": library}, "userAgent": ua}}
    if user:
        r["userId"] = user
    return r


@pytest.fixture
def lake_dir(tmp_path):
    server = "medreach-server"
    records = [record(f"ok-{i}", f"2026-03-01T0{i}:00:00Z", library=server) for i in range(5)]  # a person, 5 views
    records += [record("ok-0", "2026-03-01T00:00:00Z", library=server)]  # delivered twice
    records += [record(f"bot-{i}", "2026-03-01T02:00:00Z", anon=f"b{i}", ua="Baiduspider/2.0") for i in range(3)]
    records += [record(f"burst-{i}", f"2026-03-01T03:00:{i % 60:02d}Z", anon="b-fast") for i in range(70)]
    records += [record(f"test-{i}", "2026-03-01T04:00:00Z", anon="t", user="test-1") for i in range(2)]
    # The server's copy of an event the browser also sent; late at night UTC = the next day in Shanghai.
    records += [record("srv-1", "2026-03-01T17:00:00Z", anon="a2", user="42", library=server),
                record("web-1", "2026-03-01T17:00:01Z", anon="a2", user="42")]
    segment = tmp_path / "seg.jsonl"
    segment.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    lake.compact([segment], tmp_path / "lake", tmp_path / "done")
    return tmp_path / "lake"


def outputs(lake_dir):
    con = duckdb.connect()
    clean = sorted(con.execute(f"SELECT message_id FROM read_parquet('{lake_dir}/clean/events/**/*.parquet', "
                               "hive_partitioning=false)").fetchall())
    daily = sorted(con.execute(f"SELECT CAST(day AS VARCHAR), name, events, people, signed_in FROM "
                               f"read_parquet('{lake_dir}/marts/daily_events/**/*.parquet')").fetchall())
    return clean, daily


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_each_rule_drops_what_it_should_and_both_engines_agree(lake_dir, engine):
    report = cleaning.run(lake_dir, engine, "local[2]")
    steps = {s["step"]: s["dropped"] for s in report.as_dict()["steps"]}
    assert steps == {"duplicate": 1, "bot": 3, "burst": 70, "test_traffic": 2}
    assert report.rows_in == 83 and report.rows_out == 7
    clean, daily = outputs(lake_dir)
    assert [m for (m,) in clean] == sorted([f"ok-{i}" for i in range(5)] + ["srv-1", "web-1"])
    # 5 views by one anonymous visitor on 1 March; the next Shanghai day, one canonical view by user 42.
    assert daily == [("2026-03-01", "Product Viewed", 5, 1, 0), ("2026-03-02", "Product Viewed", 1, 1, 1)]


def test_rules_come_from_the_config_file():
    rules = cleaning.EventRules.load()
    assert "spider" in rules.bot_user_agents and rules.max_events_per_minute > 0 and rules.dedupe_by == ("message_id",)


def test_an_empty_lake_is_a_clean_no_op(tmp_path):
    report = cleaning.run(tmp_path / "lake")
    assert report.rows_in == report.rows_out == 0 and report.steps == []
