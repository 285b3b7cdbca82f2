"""Dated snapshots of the transactional tables in the lake, synced incrementally.

Each sync reads the rows changed since the table's watermark (updated_at, or id for rows that are only
added), finds deleted rows by comparing keys with the last snapshot, writes those changes to
`tables/<name>/changes/date=D/` and the table as of that day to `tables/<name>/snapshot/date=D/data.parquet`
(a later sync on the same day replaces that day's snapshot; earlier days stay as they were).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal, overload

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, raiseload

from medreach.core.locks import file_lock
from medreach.core.sql import sql_identifier, sql_literal
from medreach.pipeline import engine
from medreach.pipeline.tables import TABLES, LakeTable
from medreach.pipeline.transforms import merge_snapshot

# Re-read this far behind the watermark: a transaction that commits late with an earlier updated_at is
# still caught, and rows read twice merge to the same result.
LAG = timedelta(minutes=5)
_MISSING = object()


@dataclass
class SyncResult:
    table: str
    snapshot_date: str
    upserts: int
    deletes: int
    rows: int
    watermark: str | int | None


def table_dir(lake_dir: Path, name: str) -> Path:
    return lake_dir / "tables" / name


def _state_path(lake_dir: Path) -> Path:
    return lake_dir / "tables" / "_state.json"


def state(lake_dir: Path) -> dict:
    path = _state_path(lake_dir)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_state(lake_dir: Path, data: dict) -> None:
    path = _state_path(lake_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def snapshots(lake_dir: Path, name: str) -> list[Path]:
    """This table's snapshot files, oldest day first."""
    return sorted((table_dir(lake_dir, name) / "snapshot").glob("date=*/data.parquet"))


def _changed_rows(session: Session, table: LakeTable, watermark) -> list[dict]:
    model = table.model
    column = getattr(model, table.watermark)
    q: Select = select(model).options(raiseload("*"))  # only the columns declared; no relationship sneaks in
    q = q.options(*(joinedload(getattr(model, name)) for name in table.joins))
    if watermark is not None:
        q = q.where(
            column > watermark if table.watermark == "id" else column >= datetime.fromisoformat(watermark) - LAG
        )
    rows = []
    for obj in session.scalars(q.order_by(column, getattr(model, table.key)).execution_options(yield_per=5000)):
        rows.append({name: c.value(obj) for name, c in table.columns.items()})
    return rows


def sync(
    session: Session,
    lake_dir: Path,
    table: LakeTable,
    today: date | None = None,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
) -> SyncResult:
    today = today or datetime.now(UTC).date()
    all_state = state(lake_dir)
    mine = all_state.get(table.name, {})
    rows = _changed_rows(session, table, mine.get("watermark"))
    keys_now = set(session.scalars(select(getattr(table.model, table.key))))
    earlier = [p for p in snapshots(lake_dir, table.name) if p.parent.name <= f"date={today}"]
    previous = earlier[-1] if earlier else None
    before: dict = {}  # key -> watermark value in the previous snapshot
    if previous is not None:
        columns = f"{sql_identifier(table.key)}, {sql_identifier(table.watermark)}"
        before = dict(duckdb.sql(f"SELECT {columns} FROM read_parquet({sql_literal(previous)})").fetchall())
    deleted = sorted(set(before) - keys_now)
    rows = [r for r in rows if before.get(r[table.key], _MISSING) != r[table.watermark]]  # re-read, unchanged

    changes = pa.Table.from_pylist(rows + [{table.key: k} for k in deleted], schema=table.schema)
    changes = changes.append_column("_op", pa.array(["upsert"] * len(rows) + ["delete"] * len(deleted), pa.string()))
    changes = changes.append_column(
        "_synced_at", pa.array([datetime.now(UTC)] * changes.num_rows, pa.timestamp("us", tz="UTC"))
    )
    folder = table_dir(lake_dir, table.name)
    day = folder / "changes" / f"date={today}"
    day.mkdir(parents=True, exist_ok=True)
    changes_file = day / f"part-{uuid.uuid4().hex}.parquet"
    pq.write_table(changes, changes_file, compression="zstd")

    con = engine.connect(engine_name, spark_master)
    try:
        base = con.read_parquet(str(previous)) if previous is not None else None
        merged = merge_snapshot(base, con.read_parquet(str(changes_file)), table.schema.names, table.key)
        result = con.to_pyarrow(merged.cast(table.schema)).cast(table.schema)
    finally:
        engine.release(con, engine_name)
    if not changes.num_rows:
        changes_file.unlink()  # nothing changed: keep no empty file
    target = folder / "snapshot" / f"date={today}" / "data.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".data-{uuid.uuid4().hex}.parquet")
    pq.write_table(result, tmp, compression="zstd")
    os.replace(tmp, target)
    count = result.num_rows

    mark = mine.get("watermark")
    if rows:
        newest = max(r[table.watermark] for r in rows)
        mark = newest if table.watermark == "id" else newest.isoformat()
        if table.watermark != "id" and mine.get("watermark"):
            mark = max(mark, mine["watermark"])
    all_state[table.name] = {
        "watermark": mark,
        "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "snapshot_date": today.isoformat(),
        "rows": int(count),
    }
    _save_state(lake_dir, all_state)
    return SyncResult(table.name, today.isoformat(), len(rows), len(deleted), int(count), mark)


@overload
def sync_all(
    session: Session,
    lake_dir: Path,
    names: list[str] | None = None,
    today: date | None = None,
    wait: Literal[True] = True,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
) -> list[SyncResult]: ...
@overload
def sync_all(
    session: Session,
    lake_dir: Path,
    names: list[str] | None = None,
    today: date | None = None,
    *,
    wait: Literal[False],
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
) -> list[SyncResult] | None: ...
def sync_all(
    session: Session,
    lake_dir: Path,
    names: list[str] | None = None,
    today: date | None = None,
    wait: bool = True,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
) -> list[SyncResult] | None:
    """Sync these tables (default: all). One sync at a time per lake (a lock file; several API processes
    share it): with `wait=False` a sync already running elsewhere means this one is skipped (None)."""
    with file_lock(lake_dir / "tables" / ".sync.lock", wait) as held:
        if not held:
            return None
        return [
            sync(session, lake_dir, TABLES[name], today, engine_name, spark_master) for name in (names or list(TABLES))
        ]


def as_dicts(results: list[SyncResult]) -> list[dict]:
    return [asdict(r) for r in results]
