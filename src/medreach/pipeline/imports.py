"""Importing a dataset and cleaning it.

`run_import` drives a connector: each batch is written as a raw Parquet part (values as text, personal
identifiers already pseudonymised) before its checkpoint is saved, and the run counts rows read, written and
rejected by reason. `clean` then converts the raw rows to the declared types (Python, `normalize.py`), applies
the set-level policies on the engine (`policies.py`), checks the expectations, and replaces the clean table
only if they hold; either way it returns a quality report.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis.expr.datatypes as dt
import pyarrow as pa
import pyarrow.parquet as pq

from medreach.pipeline import engine, policies, quality
from medreach.pipeline.connectors import Connector, ConnectorError, Record
from medreach.pipeline.datasets import IMPORT_ID, ROW_NO, DatasetFiles, DatasetSpec
from medreach.pipeline.normalize import convert

Progress = Callable[[int, int | None, str], None]
MAX_SAMPLES = 20


@dataclass
class ImportResult:
    dataset: str
    source: str
    import_id: str
    read: int = 0
    written: int = 0
    rejected: Counter = field(default_factory=Counter)
    samples: list[dict[str, str]] = field(default_factory=list)  # the first rejections, with where they were
    invalid: dict[str, int] = field(default_factory=dict)  # personal identifiers that were not valid (e.g. phones)
    resumed_from: dict[str, Any] | None = None
    columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "import_id": self.import_id,
            "read": self.read,
            "written": self.written,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "rejection_samples": self.samples,
            "invalid_identifiers": self.invalid,
            "resumed_from": self.resumed_from,
            "columns": self.columns,
            "seconds": round(self.seconds, 3),
        }


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def new_import_id() -> str:
    """Sortable by time, so "the last imported" is the largest."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


def _raw_table(
    records: list[Record], spec: DatasetSpec, import_id: str, first_row: int, key: bytes, result: ImportResult
) -> pa.Table:
    header = list(dict.fromkeys(k for r in records for k in r))
    matched = spec.match_header(header)
    if not matched:
        expected = ", ".join(c.source for c in spec.columns)
        raise ConnectorError(
            f"none of the columns ({', '.join(header[:10])}) belongs to {spec.name}: "
            f"expected {expected} (or their aliases)"
        )
    columns: dict[str, list] = {}
    for name in header:
        values = [r.get(name) for r in records]
        column = matched.get(name)
        if column is not None and column.pii:  # the identifier is never written: only its pseudonym
            outcome = convert(values, column.rule, key)
            result.invalid[column.name] = result.invalid.get(column.name, 0) + outcome.invalid
            values = outcome.values
        columns[name] = [_text(v) for v in values]
    columns[IMPORT_ID] = [import_id] * len(records)
    columns[ROW_NO] = list(range(first_row, first_row + len(records)))
    return pa.table({k: pa.array(v, pa.int64() if k == ROW_NO else pa.string()) for k, v in columns.items()})


def run_import(
    lake_dir: Path, spec: DatasetSpec, source: str, connector: Connector, key: bytes, progress: Progress | None = None
) -> ImportResult:
    """Read everything the connector gives into the dataset's raw parts. A source that stopped half-way
    resumes from its last checkpoint; an incremental one (a database table) always goes on from it."""
    files = DatasetFiles(lake_dir, spec.name)
    state = files.state()
    mine = state.get(source, {})
    resume = mine.get("checkpoint") if connector.incremental or not mine.get("complete", True) else None
    result = ImportResult(spec.name, source, new_import_id(), resumed_from=resume)
    started = time.perf_counter()
    files.raw.mkdir(parents=True, exist_ok=True)
    seen_columns: dict[str, None] = {}
    for n, batch in enumerate(connector.batches(resume)):
        result.read += len(batch.records) + len(batch.rejected)
        for rejection in batch.rejected:
            result.rejected[rejection.reason] += 1
            if len(result.samples) < MAX_SAMPLES:
                result.samples.append({"reason": rejection.reason, "detail": rejection.detail})
        if batch.records:
            table = _raw_table(batch.records, spec, result.import_id, result.written, key, result)
            seen_columns.update(dict.fromkeys(c for c in table.column_names if c not in (IMPORT_ID, ROW_NO)))
            part = files.raw / f"part-{result.import_id}-{n:05d}.parquet"
            tmp = part.with_suffix(".tmp")
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, part)  # the part is whole before the checkpoint that counts it is saved
            result.written += table.num_rows
        state[source] = {"checkpoint": batch.checkpoint, "complete": False, "import_id": result.import_id}
        files.save_state(state)
        if progress:
            progress(
                batch.done if batch.done is not None else result.read,
                batch.total,
                f"{result.written} rows written ({batch.unit})",
            )
    state[source] = {
        "checkpoint": state.get(source, {}).get("checkpoint"),
        "complete": True,
        "import_id": result.import_id,
        "finished_at": datetime.now(UTC).isoformat(),
    }
    files.save_state(state)
    result.columns = list(seen_columns)
    result.seconds = time.perf_counter() - started
    files.record_import(
        {
            "import_id": result.import_id,
            "source": source,
            "finished_at": state[source]["finished_at"],
            "read": result.read,
            "written": result.written,
            "rejected": sum(result.rejected.values()),
        }
    )
    return result


# --- cleaning ----------------------------------------------------------------------------------------------


def stage(spec: DatasetSpec, files: DatasetFiles, target: Path, key: bytes) -> tuple[list[str], dict[str, Any]]:
    """Convert the raw parts to the declared columns and types in one Parquet file; returns the source columns
    seen and what could not be converted, per column."""
    invalid: dict[str, dict[str, Any]] = {}
    source_columns: dict[str, None] = {}
    writer = pq.ParquetWriter(target, pa.schema([*spec.clean_schema, (IMPORT_ID, pa.string()), (ROW_NO, pa.int64())]))
    try:
        for part in files.raw_parts():
            raw = pq.read_table(part)
            header = [c for c in raw.column_names if c not in (IMPORT_ID, ROW_NO)]
            source_columns.update(dict.fromkeys(header))
            matched: dict[str, str] = {}
            for name, column in spec.match_header(header).items():
                if column.name not in matched or name == column.source:  # the declared name wins over an alias
                    matched[column.name] = name
            arrays = []
            for column in spec.columns:
                if column.name not in matched:
                    arrays.append(pa.nulls(raw.num_rows, column.arrow_type))
                    continue
                values = raw.column(matched[column.name]).to_pylist()
                if column.pii:  # pseudonymised on import already
                    arrays.append(pa.array(values, pa.string()))
                    continue
                outcome = convert(values, column.rule, key)
                if outcome.invalid:
                    slot = invalid.setdefault(column.name, {"count": 0, "examples": []})
                    slot["count"] += outcome.invalid
                    slot["examples"] = (slot["examples"] + outcome.examples)[:5]
                arrays.append(pa.array(outcome.values, column.arrow_type))
            arrays += [raw.column(IMPORT_ID), raw.column(ROW_NO)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=writer.schema))
    finally:
        writer.close()
    return list(source_columns), invalid


def expectations(spec: DatasetSpec, table) -> Any:
    """The declared expectations as a pandera schema over the clean table. Timestamps take the engine's own
    type: both hold UTC, but Spark's carries no zone."""
    return quality.schema(
        {
            c.name: (table[c.name].type() if c.rule.type == "timestamp" else dt.dtype(c.arrow_type), c.expect)
            for c in spec.columns
            if c.name in table.columns
        },
        spec.min_rows,
    )


def clean(
    lake_dir: Path,
    spec: DatasetSpec,
    key: bytes,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
    previous: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Clean the dataset's raw rows into its clean table; returns the quality report (status passed or
    failed). A failed report leaves the previous clean table in place."""
    files = DatasetFiles(lake_dir, spec.name)
    started, at = time.perf_counter(), datetime.now(UTC)
    say = progress or (lambda done, total, message: None)
    work = Path(tempfile.mkdtemp(prefix=f"medreach-{spec.name}-"))
    con = engine.connect(engine_name, spark_master)
    outcome = None
    try:
        say(0, 4, "convert")
        staged = work / "staged.parquet"
        source_columns, invalid = stage(spec, files, staged, key)
        say(1, 4, "clean")
        outcome = policies.clean(con, con.read_parquet(str(staged)), spec)
        final = outcome.table.order_by([IMPORT_ID, ROW_NO]).drop(IMPORT_ID, ROW_NO)
        say(2, 4, "profile")
        columns = quality.profile(con, final)
        failures = quality.check(final, expectations(spec, final))
        report = quality.assemble(
            f"dataset:{spec.name}",
            engine_name,
            outcome.steps,
            columns,
            source_columns,
            previous,
            failures,
            invalid=invalid,
            outliers=outcome.outliers,
            filled=outcome.filled,
            started_at=at.isoformat(),
        )
        say(3, 4, "write")
        if not failures:
            out = work / "clean.parquet"
            pq.write_table(engine.to_arrow(con, final), out, compression="zstd")
            files.clean.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(out, files.clean)
        report["seconds"] = round(time.perf_counter() - started, 3)
        say(4, 4, report["status"])
        return report
    finally:
        if outcome is not None:
            outcome.release()
        engine.release(con, engine_name)
        shutil.rmtree(work, ignore_errors=True)
