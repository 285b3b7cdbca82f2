"""Quality reports: a profile of every column of what a run wrote (null rate, distinct values, range and a
histogram or the most frequent values, for the console's chart per column), drift against the subject's
previous report, and the declared expectations checked with pandera on the engine's own table (pandera's
Ibis backend, so the check runs where the data is, DuckDB or Spark).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandera.ibis as pa
from pandera.errors import SchemaErrors
from sqlalchemy import select

from medreach.pipeline import engine
from medreach.pipeline.cleaning import RULES_FILE
from medreach.pipeline.models import QualityReport

BINS = 10
TOP = 8
NULL_RATE_DRIFT = 0.1  # a column whose share of missing values moves this much is reported as drifting


class ExpectationsFailed(Exception):
    """The data broke a declared expectation: the run fails and what it would have replaced stays."""

    def __init__(self, subject: str, failures: list[dict[str, Any]]):
        self.failures = failures
        listed = "; ".join(f"{f['column'] or 'table'}: {f['check']} ({f['error'][:120]})" for f in failures[:5])
        super().__init__(f"{subject}: {len(failures)} expectation(s) broken: {listed}")


def _plain(value: Any) -> Any:
    """Numbers, text and times as JSON values (NaN as None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _kind(dtype: dt.DataType) -> str:
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "time"
    return "text"


def profile(con, t: ir.Table, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Per column: type, nulls and their rate, distinct values, min/max/mean, and a histogram (numbers) or the
    most frequent values (text and booleans)."""
    columns = columns or list(t.columns)
    stats: dict[str, ir.Scalar] = {"_rows": t.count()}
    for i, name in enumerate(columns):
        x = t[name]
        stats[f"n{i}"] = x.count()
        stats[f"d{i}"] = x.nunique()
        if _kind(x.type()) in ("numeric", "time"):
            stats[f"lo{i}"], stats[f"hi{i}"] = x.min(), x.max()
        if _kind(x.type()) == "numeric":
            stats[f"mean{i}"] = x.cast("float64").mean()
    row = con.execute(t.aggregate(**stats)).iloc[0]
    rows = int(row["_rows"])
    out = []
    for i, name in enumerate(columns):
        x = t[name]
        kind = _kind(x.type())
        present = int(row[f"n{i}"])
        entry: dict[str, Any] = {
            "name": name,
            "type": str(x.type()),
            "kind": kind,
            "rows": rows,
            "nulls": rows - present,
            "null_rate": round((rows - present) / rows, 4) if rows else 0.0,
            "distinct": int(row[f"d{i}"]),
        }
        if kind in ("numeric", "time"):
            entry.update(min=_plain(row[f"lo{i}"]), max=_plain(row[f"hi{i}"]))
        if kind == "numeric":
            entry["mean"] = _plain(row[f"mean{i}"])
            entry["histogram"] = histogram(con, t, name, entry["min"], entry["max"]) if present else []
        elif kind in ("text", "boolean"):
            entry["top"] = top_values(con, t, name)
        out.append(entry)
    return out


def histogram(con, t: ir.Table, name: str, lo: float, hi: float) -> list[dict[str, Any]]:
    """Counts in BINS equal-width bins from min to max."""
    x = t[name].cast("float64")
    if hi == lo:
        return [{"from": lo, "to": hi, "count": int(con.execute(x.count()))}]
    width = (hi - lo) / BINS
    bucket = ((x - lo) / width).floor().clip(upper=BINS - 1).cast("int64")
    counts = con.execute(t.filter(x.notnull()).group_by(bin=bucket).aggregate(n=ibis._.count()))
    by_bin = dict(zip(counts["bin"].tolist(), counts["n"].tolist(), strict=True))
    return [
        {"from": round(lo + b * width, 6), "to": round(lo + (b + 1) * width, 6), "count": int(by_bin.get(b, 0))}
        for b in range(BINS)
    ]


def top_values(con, t: ir.Table, name: str) -> list[dict[str, Any]]:
    x = t[name]
    counts = (
        t.filter(x.notnull())
        .group_by(value=x.cast("string"))
        .aggregate(n=ibis._.count())
        .order_by([ibis.desc("n"), "value"])
        .limit(TOP)
    )
    return [{"value": r["value"], "count": int(r["n"])} for r in con.execute(counts).to_dict("records")]


def drift(columns: list[dict[str, Any]], source_columns: list[str], previous: dict[str, Any] | None) -> dict[str, Any]:
    """What changed since the subject's previous report: source columns that appeared or went away, column
    types, and null rates that moved by NULL_RATE_DRIFT or more."""
    if not previous:
        return {
            "baseline": None,
            "columns_added": [],
            "columns_removed": [],
            "type_changes": [],
            "null_rate_changes": [],
            "drifted": False,
        }
    before_source = previous.get("source_columns", [])
    before = {c["name"]: c for c in previous.get("columns", [])}
    type_changes = [
        {"column": c["name"], "before": before[c["name"]]["type"], "after": c["type"]}
        for c in columns
        if c["name"] in before and before[c["name"]]["type"] != c["type"]
    ]
    null_changes = [
        {"column": c["name"], "before": before[c["name"]]["null_rate"], "after": c["null_rate"]}
        for c in columns
        if c["name"] in before and abs(before[c["name"]]["null_rate"] - c["null_rate"]) >= NULL_RATE_DRIFT
    ]
    added = [c for c in source_columns if c not in before_source]
    removed = [c for c in before_source if c not in source_columns]
    return {
        "baseline": previous.get("id"),
        "columns_added": added,
        "columns_removed": removed,
        "type_changes": type_changes,
        "null_rate_changes": null_changes,
        "drifted": bool(added or removed or type_changes or null_changes),
    }


def assemble(
    subject: str,
    engine_name: str,
    steps: list,
    columns: list[dict[str, Any]],
    source_columns: list[str],
    previous_report: dict[str, Any] | None,
    failures: Sequence[dict[str, Any]] = (),
    rows_in: int | None = None,
    **details: Any,
) -> dict[str, Any]:
    """A report in the one shape the console reads; `steps` are `cleaning.Step`s (rows in and out, named by
    the reason rows were dropped)."""
    steps = [{"step": s.name, "rows_in": s.rows_in, "rows_out": s.rows_out, "dropped": s.dropped} for s in steps]
    rows_out = columns[0]["rows"] if columns else 0
    return {
        "subject": subject,
        "engine": engine_name,
        "rows_in": rows_in if rows_in is not None else steps[0]["rows_in"] if steps else rows_out,
        "rows_out": rows_out,
        "steps": steps,
        "dropped_by_reason": {s["step"]: s["dropped"] for s in steps if s["dropped"]},
        "invalid": {},
        "outliers": {},
        "filled": {},
        **details,
        "source_columns": source_columns,
        "columns": columns,
        "drift": drift(columns, source_columns, previous_report),
        "expectations": {"passed": not failures, "failures": list(failures)},
        "status": "failed" if failures else "passed",
    }


def parquet_report(
    subject: str, path: Path, steps: list, previous_report: dict[str, Any] | None, rows_in: int | None = None
) -> dict[str, Any]:
    """The report of a run that wrote one Parquet file with no declared expectations (a lake table's
    snapshot, the feature table): its steps and a profile of what it wrote, read with DuckDB."""
    con = engine.connect("duckdb")
    try:
        table = con.read_parquet(str(path), hive_partitioning=False)  # (date=… in the path is not a column)
        columns = profile(con, table)
    finally:
        engine.release(con, "duckdb")
    return assemble(subject, "duckdb", steps, columns, [c["name"] for c in columns], previous_report, rows_in=rows_in)


# --- expectations ------------------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[Any], pa.Check]] = {
    "ge": pa.Check.ge,
    "le": pa.Check.le,
    "gt": pa.Check.gt,
    "lt": pa.Check.lt,
    "isin": pa.Check.isin,
    "str_length_max": lambda n: pa.Check.str_length(max_value=n),
}


def schema(columns: dict[str, tuple[dt.DataType, dict[str, Any]]], min_rows: int = 0) -> pa.DataFrameSchema:
    """A pandera schema from declared expectations: {column: (type, {nullable, ge, le, gt, lt, isin, …})}."""
    unknown = {k for _, expect in columns.values() for k in expect if k != "nullable" and k not in CHECKS}
    if unknown:
        raise ValueError(f"unknown expectation(s): {sorted(unknown)}")
    checks = [pa.Check(lambda d: d.table.count() >= min_rows, name=f"at least {min_rows} rows")] if min_rows else []
    return pa.DataFrameSchema(
        {
            name: pa.Column(
                dtype,
                nullable=expect.get("nullable", True),
                checks=[CHECKS[k](v) for k, v in expect.items() if k != "nullable"],
            )
            for name, (dtype, expect) in columns.items()
        },
        checks=checks,
    )


def check(t: ir.Table, expectations: pa.DataFrameSchema) -> list[dict[str, Any]]:
    """The broken expectations (empty when all hold)."""
    try:
        expectations.validate(t, lazy=True)
    except SchemaErrors as e:
        return [
            {"column": f.get("column"), "check": str(f.get("check")), "error": str(f.get("error"))}
            for group in e.message.values()
            for failures in group.values()
            for f in failures
        ]
    return []


# --- the event lake ----------------------------------------------------------------------------------------

EVENT_COLUMNS = [
    "type",
    "event",
    "source_id",
    "user_id",
    "anonymous_id",
    "timestamp",
    "page_path",
    "campaign_source",
    "library",
    "canonical",
]


def events_report(
    written: Path,
    cleaning,
    previous_report: dict[str, Any] | None,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
) -> dict[str, Any]:
    """The quality report of an event-cleaning run (`cleaning.CleaningReport`): its steps, a profile of the
    clean events, drift, and the expectations of `cleaning.toml` on the clean events and the daily mart, read
    from where the run wrote them (`written`: the lake, or the job's staging folder)."""
    declared = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))["expectations"]
    con = engine.connect(engine_name, spark_master)
    try:
        clean = engine.read_folder(con, written / "clean" / "events")
        daily = engine.read_folder(con, written / "marts" / "daily_events")
        columns = profile(con, clean, EVENT_COLUMNS)
        failures = []
        for table, name in ((clean, "clean_events"), (daily, "daily_events")):
            expect = {c: (table[c].type(), e) for c, e in declared[name].items()}
            failures += [{**f, "table": name} for f in check(table, schema(expect))]
    finally:
        engine.release(con, engine_name)
    report = assemble("events", engine_name, cleaning.steps, columns, EVENT_COLUMNS, previous_report, failures)
    return {**report, "seconds": round(cleaning.seconds, 3)}


# --- storing reports ---------------------------------------------------------------------------------------


def previous(session, subject: str) -> dict[str, Any] | None:
    row = session.scalar(
        select(QualityReport)
        .where(QualityReport.subject == subject, QualityReport.status == "passed")
        .order_by(QualityReport.id.desc())
        .limit(1)
    )
    return {"id": row.id, **row.report} if row else None


def save(session, subject: str, report: dict[str, Any], run_id: int | None) -> QualityReport:
    row = QualityReport(
        subject=subject,
        run_id=run_id,
        status=report["status"],
        engine=report["engine"],
        rows_in=report["rows_in"],
        rows_out=report["rows_out"],
        report=report,
    )
    session.add(row)
    session.commit()
    return row


def report_out(row: QualityReport, full: bool = False) -> dict[str, Any]:
    out = {
        "id": row.id,
        "subject": row.subject,
        "run_id": row.run_id,
        "status": row.status,
        "engine": row.engine,
        "rows_in": row.rows_in,
        "rows_out": row.rows_out,
        "created_at": row.created_at,
        "drifted": bool(row.report.get("drift", {}).get("drifted")),
        "broken": len(row.report.get("expectations", {}).get("failures", [])),
    }
    if full:
        out["report"] = row.report
    return out
