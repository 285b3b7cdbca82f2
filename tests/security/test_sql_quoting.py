"""Issue 11.7: DuckDB SQL built from paths escaped some paths and not others. Every path spliced into SQL goes
through core.sql: a lake in a folder with a quote in its name works, and a folder named like SQL stays a name."""

from datetime import UTC, date, datetime

import duckdb
import orjson
import pytest

from medreach.core.sql import sql_identifier, sql_literal
from medreach.pipeline import snapshots
from medreach.tracking import lake
from medreach.tracking.identity import timeline
from medreach.tracking.log import EventLog

# A name that would end the string and write a file of the attacker's choosing if it were pasted in as is.
HOSTILE = "it's') TO 'pwned.parquet' (FORMAT PARQUET); --"


def test_quoting():
    assert sql_literal("it's") == "'it''s'" and duckdb.sql(f"SELECT {sql_literal(HOSTILE)}").fetchone()[0] == HOSTILE
    name = sql_identifier('a"b')
    assert name == '"a""b"' and duckdb.sql(f"SELECT 1 AS {name}").columns == ['a"b']


def test_snapshots_of_a_lake_in_a_hostile_folder(db, shop, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a relative 'pwned.parquet' would land
    lake_dir = tmp_path / HOSTILE / "lake"
    with db.session() as s:
        snapshots.sync_all(s, lake_dir, today=date(2026, 3, 1))
        second = {r.table: r for r in snapshots.sync_all(s, lake_dir, today=date(2026, 3, 2))}  # reads day one
    assert second["products"].rows == len(shop) and second["products"].upserts == 0
    assert not list(tmp_path.rglob("pwned.parquet"))


@pytest.mark.parametrize("folder", ["it's events", HOSTILE])
def test_events_compacted_and_read_from_a_hostile_folder(tmp_path, monkeypatch, folder):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / folder
    log = EventLog(base / "events", fsync=False)
    record = {"type": "track", "event": "Product Viewed", "anonymousId": "a-1", "messageId": "m-1",
              "timestamp": datetime(2026, 3, 1, 8, tzinfo=UTC).isoformat(), "receivedAt": "2026-03-01T08:00:00Z"}
    log.append([orjson.dumps(record)])
    log.seal()
    assert [e["message_id"] for e in timeline(log, base / "lake", "u-0", {"a-1"})] == ["m-1"]  # from the segment
    written = lake.compact(log.sealed_segments(0), base / "lake", log.compacted_dir, prefix="it's")
    assert written == 1
    assert [e["message_id"] for e in timeline(log, base / "lake", "u-0", {"a-1"})] == ["m-1"]  # from the lake
    assert duckdb.sql(f"SELECT count(*) FROM {lake.read_lake(base / 'lake')}").fetchone()[0] == 1
    log.close()
    assert not list(tmp_path.rglob("pwned.parquet"))
