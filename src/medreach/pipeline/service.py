"""What the console asks of the pipeline, one function per route: jobs, their runs and schedules, the lake
tables, datasets (declared cleaning, imports, rows), quality reports and the feature table. Writes are audited
and committed here."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.db import Database, get_or_404
from medreach.core.errors import AppError, not_found
from medreach.core.pagination import Page, PageParams, paginate
from medreach.core.scheduler import CRON_TIMEZONE, Cron, Schedule
from medreach.core.settings import Settings
from medreach.ops.service import audit
from medreach.pipeline import datasets, jobs, quality, samples, snapshots
from medreach.pipeline.connectors.files import FORMATS
from medreach.pipeline.models import JobRun, QualityReport
from medreach.pipeline.tables import TABLES

# --- lake tables ----------------------------------------------------------------------------------------------


def list_tables(lake_dir: Path) -> list[dict[str, Any]]:
    synced = snapshots.state(lake_dir)
    return [
        {
            "name": t.name,
            "watermark_column": t.watermark,
            "key": t.key,
            "columns": [{"name": f.name, "type": str(f.type)} for f in t.schema],
            "state": synced.get(t.name),
            "snapshots": [p.parent.name.removeprefix("date=") for p in snapshots.snapshots(lake_dir, t.name)],
        }
        for t in TABLES.values()
    ]


def sync_now(session: Session, settings: Settings, actor: User, tables: list[str]) -> list[dict[str, Any]]:
    """Sync the chosen tables (default: all) into today's snapshots, audited."""
    results = snapshots.sync_all(
        session, settings.lake_path, tables or None, engine_name=settings.engine, spark_master=settings.spark_master
    )
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="pipeline.sync",
        subject_type="lake",
        subject_id=",".join(tables) or "all",
        detail={r.table: r.upserts + r.deletes for r in results},
    )
    session.commit()
    return snapshots.as_dicts(results)


# --- jobs and runs ----------------------------------------------------------------------------------------------


def list_jobs(session: Session, schedules: Mapping[str, Schedule], now: datetime | None = None) -> list[dict]:
    """Every pipeline job with its schedule (cron in Beijing time, from the one schedule), next run and latest run."""
    now = now or datetime.now(UTC)
    out = []
    for job in jobs.JOBS.values():
        schedule = schedules.get(job.name)
        last = jobs.latest_run(session, job.name)
        out.append(
            {
                "name": job.name,
                "title_zh": job.title_zh,
                "title_en": job.title_en,
                "description_zh": job.description_zh,
                "description_en": job.description_en,
                "schedule": schedule.expr if isinstance(schedule, Cron) else None,
                "timezone": CRON_TIMEZONE,
                "next_run_at": schedule.next_after(now) if schedule else None,
                "max_attempts": job.max_attempts,
                "params": list(job.params),
                "last_run": jobs.run_out(last) if last else None,
            }
        )
    return out


def list_runs(session: Session, paging: PageParams, job: str | None, status: str | None) -> Page[dict]:
    """Run history, newest first."""
    q = select(JobRun)
    if job:
        q = q.where(JobRun.job == job)
    if status:
        q = q.where(JobRun.status == status)
    runs, total = paginate(session, q.order_by(JobRun.id.desc()), paging)
    return Page(items=[jobs.run_out(r) for r in runs], total=total, limit=paging.limit, offset=paging.offset)


def get_run(session: Session, run_id: int) -> dict:
    return jobs.run_out(get_or_404(session, JobRun, run_id, "job run"), with_log=True)


def run_now(session: Session, db: Database, settings: Settings, actor: User, name: str) -> dict:
    """Start a job that needs no parameters now, in the background (409 while one runs)."""
    job = jobs.get_job(name)
    if job.params:
        raise AppError(422, "JOB_NEEDS_PARAMETERS", field="name", params=", ".join(job.params))
    return _start(session, db, settings, actor, name, None, "jobs.run", "job", name)


def _start(
    session: Session,
    db: Database,
    settings: Settings,
    actor: User,
    job: str,
    params: dict[str, Any] | None,
    action: str,
    subject_type: str,
    subject_id: str,
) -> dict:
    """Queue a manual run of `job`, audit it, start it in the background; returns the run."""
    run_id = jobs.create_run(db, job, "manual", requested_by=actor.id, params=params)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail={"run": run_id, **(params or {})},
    )
    session.commit()
    jobs.start_in_background(db, settings, run_id)
    return jobs.run_out(session.get_one(JobRun, run_id))


# --- datasets ---------------------------------------------------------------------------------------------------


def _column_out(c: datasets.ColumnSpec) -> dict[str, Any]:
    return {
        "name": c.name,
        "source": c.source,
        "aliases": list(c.aliases),
        "type": c.rule.type,
        "normalize": list(c.rule.normalize),
        "unit": c.rule.unit,
        "pii": c.pii,
        "missing": asdict(c.missing),
        "outliers": asdict(c.outliers) if c.outliers else None,
        "expect": c.expect,
    }


def _dataset_out(session: Session, lake_dir: Path, spec: datasets.DatasetSpec) -> dict[str, Any]:
    files = datasets.DatasetFiles(lake_dir, spec.name)
    last = session.scalar(
        select(QualityReport)
        .where(QualityReport.subject == f"dataset:{spec.name}")
        .order_by(QualityReport.id.desc())
        .limit(1)
    )
    return {
        "name": spec.name,
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "description_zh": spec.description_zh,
        "description_en": spec.description_en,
        "key": list(spec.key),
        "latest_by": spec.latest_by,
        "dedupe_exact": spec.dedupe_exact,
        "min_rows": spec.min_rows,
        "columns": [_column_out(c) for c in spec.columns],
        "raw_rows": files.raw_rows(),
        "raw_files": len(files.raw_parts()),
        "clean_rows": files.clean_rows(),
        "sources": files.state(),
        "last_report": quality.report_out(last) if last else None,
    }


def list_datasets(session: Session, lake_dir: Path) -> list[dict[str, Any]]:
    """Every declared dataset: its columns and cleaning rules, rows raw and clean, sources, latest report."""
    return [_dataset_out(session, lake_dir, spec) for spec in datasets.all_specs().values()]


def get_dataset(session: Session, lake_dir: Path, name: str) -> dict[str, Any]:
    return _dataset_out(session, lake_dir, datasets.get(name))


def dataset_rows(lake_dir: Path, name: str, stage: str, paging: PageParams) -> Page[dict]:
    """Rows as imported (raw: every value as text, identifiers pseudonymised) or as cleaned."""
    files = datasets.DatasetFiles(lake_dir, datasets.get(name).name)
    paths = files.raw_parts() if stage == "raw" else [files.clean] if files.clean.exists() else []
    if not paths:
        return Page(items=[], total=0, limit=paging.limit, offset=paging.offset)
    table = pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
    rows = table.slice(paging.offset, paging.limit).to_pylist()
    return Page(items=rows, total=table.num_rows, limit=paging.limit, offset=paging.offset)


def dataset_sample(name: str) -> bytes:
    """A messy example export to try the import with (orders only): GB18030 CSV with Chinese headers."""
    if name != "external_orders":
        raise not_found("sample")
    with tempfile.TemporaryDirectory() as tmp:
        return samples.external_orders(Path(tmp) / "orders.csv").read_bytes()


def import_file(
    session: Session,
    db: Database,
    settings: Settings,
    actor: User,
    name: str,
    filename: str,
    content: BinaryIO,
) -> dict:
    """Store an uploaded file (within the import limit) and import, clean and report on it in the background."""
    spec = datasets.get(name)
    filename = Path(filename).name
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise AppError(415, "UNSUPPORTED_FILE_TYPE", field="file", allowed=" ".join(sorted(FORMATS)))
    limit = settings.import_max_mb * 1024 * 1024
    target = settings.uploads_path / "imports" / f"{uuid.uuid4().hex}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        while chunk := content.read(1 << 20):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink()
                raise AppError(413, "BODY_TOO_LARGE", field="file", limit=limit)
            out.write(chunk)
    if size == 0:
        target.unlink()
        raise AppError(422, "EMPTY_FILE", field="file")
    params = {"dataset": spec.name, "path": str(target), "filename": filename, "bytes": size}
    return _start(session, db, settings, actor, "import_file", params, "datasets.import", "dataset", spec.name)


def list_imports(lake_dir: Path, name: str) -> list[dict[str, Any]]:
    """The imports whose rows the dataset holds, newest first: source, rows read, written, rejected."""
    return datasets.DatasetFiles(lake_dir, datasets.get(name).name).imports()


def remove_import(session: Session, lake_dir: Path, actor: User, name: str, import_id: str) -> None:
    """Take one import's rows out of the dataset (audited); the clean table changes at the next clean."""
    removed = datasets.DatasetFiles(lake_dir, datasets.get(name).name).remove_import(import_id)
    if not removed:
        raise not_found("import")
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="datasets.remove_import",
        subject_type="dataset",
        subject_id=name,
        detail={"import": import_id, "files": removed},
    )
    session.commit()


def clean_dataset(session: Session, db: Database, settings: Settings, actor: User, name: str) -> dict:
    """Clean the dataset again from its raw rows, in the background (409 while that runs)."""
    spec = datasets.get(name)
    return _start(
        session, db, settings, actor, "clean_dataset", {"dataset": spec.name}, "datasets.clean", "dataset", name
    )


# --- features and quality reports -----------------------------------------------------------------------------


def customer_features(lake_dir: Path) -> dict[str, Any]:
    """The customer feature table (built by build_features): its columns, rows, fitted scaling and a few rows."""
    folder = lake_dir / "features" / "customers"
    if not (folder / "data.parquet").exists():
        return {"name": "customers", "rows": 0, "columns": [], "scaling": None, "sample": []}
    table = pq.read_table(folder / "data.parquet")
    return {
        "name": "customers",
        "rows": table.num_rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "scaling": json.loads((folder / "scaling.json").read_text()),
        "sample": table.slice(0, 20).to_pylist(),
    }


def list_reports(
    session: Session, paging: PageParams, subject: str | None, status: str | None, run_id: int | None
) -> Page[dict]:
    """Quality reports, newest first."""
    q = select(QualityReport)
    if subject:
        q = q.where(QualityReport.subject == subject)
    if status:
        q = q.where(QualityReport.status == status)
    if run_id:
        q = q.where(QualityReport.run_id == run_id)
    rows, total = paginate(session, q.order_by(QualityReport.id.desc()), paging)
    return Page(items=[quality.report_out(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset)


def get_report(session: Session, report_id: int) -> dict[str, Any]:
    return quality.report_out(get_or_404(session, QualityReport, report_id, "quality report"), full=True)
