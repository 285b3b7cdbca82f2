"""Compaction into the lake: Parquet by event day (late events in their own day), the declared schema,
timelines and de-duplication across the move."""

import duckdb

from medreach.tracking.lake import EVENT_SCHEMA, lake_glob
from medreach.tracking.service import Deduper
from tests.tracking.test_collector import basic, source  # noqa: F401 (fixture)
from tests.tracking.test_identity import send


def test_compaction_partitions_by_event_day_with_the_declared_schema(client, app, source, staff):
    key = source["write_key"]
    send(client, key,
         {"type": "track", "userId": "9", "event": "Product Viewed", "messageId": "l-1",
          "timestamp": "2026-11-20T23:59:00Z", "properties": {"sku": "MR1", "price": 19.8},
          "context": {"page": {"path": "/products/1"}, "campaign": {"source": "wechat", "medium": "social"}}},
         {"type": "track", "userId": "9", "event": "Order Completed", "messageId": "l-2",
          "timestamp": "2026-11-21T08:00:00+08:00"},  # 00:00 UTC on the 21st
         {"type": "page", "anonymousId": "a", "name": "Home", "messageId": "l-3", "timestamp": "2026-11-22T10:00:00Z"})
    _, admin = staff("admin")
    r = client.post("/api/v1/admin/events/compact", headers=admin)
    assert r.status_code == 200 and r.json() == {"events": 3}
    lake = app.state.settings.lake_path
    days = sorted(p.name for p in (lake / "events").iterdir())
    assert days == ["day=2026-11-20", "day=2026-11-21", "day=2026-11-22"]
    assert app.state.event_log.segments() == []  # moved to compacted/
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{lake_glob(lake)}', hive_partitioning=false) ORDER BY message_id")
    assert rel.columns == list(EVENT_SCHEMA)
    row = dict(zip(rel.columns, rel.fetchone()))
    assert (row["page_path"], row["campaign_source"], row["campaign_medium"]) == ("/products/1", "wechat", "social")
    assert '"sku":"MR1"' in row["properties"].replace(" ", "")
    # A late event, received today, lands in its own (old) day.
    send(client, key, {"type": "track", "userId": "9", "event": "Product Reviewed", "messageId": "l-4",
                       "timestamp": "2026-11-20T12:00:00Z"})
    assert client.post("/api/v1/admin/events/compact", headers=admin).json() == {"events": 1}
    assert len(list((lake / "events" / "day=2026-11-20").glob("*.parquet"))) == 2
    # The timeline reads the lake and the live log together.
    send(client, key, {"type": "track", "userId": "9", "event": "Cart Viewed", "messageId": "l-5",
                       "timestamp": "2026-11-23T00:00:00Z"})
    tl = client.get("/api/v1/admin/users/9/timeline", headers=admin).json()
    assert [e["event"] for e in tl["events"]] == ["Cart Viewed", "Order Completed", "Product Viewed", "Product Reviewed"]
    # After a restart the compacted ids are still known: a retry is dropped.
    dedupe = Deduper(app.state.event_log)
    assert dedupe.fresh(["l-1", "l-5", "new"]) == [False, False, True]
    assert client.post("/api/v1/admin/events/compact", headers=staff("marketer")[1]).status_code == 403
