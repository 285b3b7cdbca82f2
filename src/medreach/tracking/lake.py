"""Compaction of the event log into the lake: Parquet files partitioned by the day the event happened
(late events land in their own day), with a declared schema — typed context columns, properties and
traits kept as JSON. One definition, run by DuckDB."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from medreach.core.events import EVENTS
from medreach.core.sql import sql_literal

# The server records these itself (domain events); a browser's copy of one is kept but not canonical, so
# analyses that count `canonical` rows count each happening once, from the side that cannot be blocked.
_SERVER_NAMES = ", ".join(sql_literal(n) for n in sorted(EVENTS))
# The declared schema of lake/events: column -> (type, expression over the raw JSON record).
EVENT_SCHEMA: dict[str, tuple[str, str]] = {
    "message_id": ("VARCHAR", "messageId"),
    "type": ("VARCHAR", "type"),
    "event": ("VARCHAR", "event"),
    "name": ("VARCHAR", "name"),
    "user_id": ("VARCHAR", "userId"),
    "anonymous_id": ("VARCHAR", "anonymousId"),
    "previous_id": ("VARCHAR", "previousId"),
    "source_id": ("INTEGER", "sourceId"),
    # Segment's clock-skew correction (collector.event_time is the same rule for a single record).
    "timestamp": (
        "TIMESTAMPTZ",
        'coalesce(TRY_CAST("timestamp" AS TIMESTAMPTZ), '
        "TRY_CAST(receivedAt AS TIMESTAMPTZ) - (TRY_CAST(sentAt AS TIMESTAMPTZ) - "
        "TRY_CAST(originalTimestamp AS TIMESTAMPTZ)), TRY_CAST(originalTimestamp AS TIMESTAMPTZ), "
        "TRY_CAST(receivedAt AS TIMESTAMPTZ))",
    ),
    "received_at": ("TIMESTAMPTZ", "CAST(receivedAt AS TIMESTAMPTZ)"),
    "page_path": ("VARCHAR", "json_extract_string(context, '$.page.path')"),
    "page_url": ("VARCHAR", "json_extract_string(context, '$.page.url')"),
    "page_referrer": ("VARCHAR", "json_extract_string(context, '$.page.referrer')"),
    "campaign_source": ("VARCHAR", "json_extract_string(context, '$.campaign.source')"),
    "campaign_medium": ("VARCHAR", "json_extract_string(context, '$.campaign.medium')"),
    "campaign_name": ("VARCHAR", "json_extract_string(context, '$.campaign.name')"),
    "user_agent": ("VARCHAR", "json_extract_string(context, '$.userAgent')"),
    "locale": ("VARCHAR", "json_extract_string(context, '$.locale')"),
    "library": ("VARCHAR", "json_extract_string(context, '$.library.name')"),
    "canonical": (
        "BOOLEAN",
        f"NOT (type = 'track' AND event IN ({_SERVER_NAMES}) AND "
        "coalesce(json_extract_string(context, '$.library.name'), '') <> 'medreach-server')",
    ),
    "properties": ("JSON", "properties"),
    "traits": ("JSON", "traits"),
}
RAW_COLUMNS = {
    "type": "VARCHAR",
    "event": "VARCHAR",
    "name": "VARCHAR",
    "userId": "VARCHAR",
    "anonymousId": "VARCHAR",
    "previousId": "VARCHAR",
    "messageId": "VARCHAR",
    "timestamp": "VARCHAR",
    "receivedAt": "VARCHAR",
    "originalTimestamp": "VARCHAR",
    "sentAt": "VARCHAR",
    "sourceId": "INTEGER",
    "properties": "JSON",
    "traits": "JSON",
    "context": "JSON",
}


def raw_source(files: list[str]) -> str:
    columns = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in RAW_COLUMNS.items())
    quoted = ", ".join(sql_literal(f) for f in files)
    return f"read_json([{quoted}], format='newline_delimited', columns={{{columns}}}, ignore_errors=true)"


def select_events(files: list[str]) -> str:
    cols = ", ".join(f'{expr} AS "{name}"' for name, (_, expr) in EVENT_SCHEMA.items())
    return f"SELECT {cols} FROM {raw_source(files)} WHERE messageId IS NOT NULL"


def compact(segments: list[Path], lake_dir: Path, done_dir: Path, prefix: str = "part") -> int:
    """Write these sealed segments into lake_dir/events/day=YYYY-MM-DD/*.parquet, then move them to done_dir
    (kept for de-duplication and audits). Returns the number of events written. Files are named
    `<prefix>-<uuid>.parquet` (the simulator's own prefix lets its world be replaced)."""
    if not segments:
        return 0
    target = lake_dir / "events"
    target.mkdir(parents=True, exist_ok=True)
    done_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f'CREATE TEMP TABLE batch AS SELECT *, CAST("timestamp" AS DATE) AS day '
            f"FROM ({select_events([str(p) for p in segments])})"
        )
        (n,) = con.execute("SELECT count(*) FROM batch").fetchone() or (0,)
        if n:  # one pass writes every day's file (day=YYYY-MM-DD/<prefix>-<uuid>.parquet), next to earlier ones
            con.execute(
                f'COPY (SELECT * FROM batch ORDER BY "timestamp") TO {sql_literal(target)} (FORMAT PARQUET, '
                f"COMPRESSION ZSTD, PARTITION_BY (day), APPEND, FILENAME_PATTERN {sql_literal(prefix + '-{uuid}')})"
            )
    finally:
        con.close()
    for p in segments:
        shutil.move(str(p), done_dir / p.name)
    return n


def lake_glob(lake_dir: Path) -> str:
    return str(lake_dir / "events" / "day=*" / "*.parquet")


def read_lake(lake_dir: Path) -> str:
    """The lake's events as a DuckDB table expression (files written before a column was added read it as NULL)."""
    return f"read_parquet({sql_literal(lake_glob(lake_dir))}, hive_partitioning=false, union_by_name=true)"
