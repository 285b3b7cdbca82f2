"""The console's view of the pipeline: jobs (schedule, runs with progress and log, run now), the lake tables
(declared schemas, sync state and snapshots; sync on demand), datasets (declared cleaning, file imports, raw
and clean rows) and quality reports."""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.errors import AppError, not_found
from medreach.core.pagination import Page, Paging, paginate
from medreach.core.params import IdPath
from medreach.core.schemas import InputModel
from medreach.ops.service import audit
from medreach.pipeline import datasets, jobs, quality, samples, snapshots
from medreach.pipeline.connectors.files import FORMATS
from medreach.pipeline.models import JobRun, QualityReport
from medreach.pipeline.tables import TABLES

router = APIRouter(prefix="/api/v1/admin", tags=["pipeline"])
TableName = Annotated[str, Field(pattern="^(" + "|".join(TABLES) + ")$")]


class SyncIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    tables: list[TableName] = Field(default_factory=list, max_length=len(TABLES))


@router.get("/pipeline/tables")
def list_tables(request: Request, _: Annotated[User, require("analytics:read")]):
    """Every lake table synced from the database: columns and types, watermark, last sync, snapshot days."""
    lake_dir = request.app.state.settings.lake_path
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


@router.post("/pipeline/sync")
async def sync_now(data: SyncIn, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    """Sync the chosen tables (default: all) into today's snapshots now (it also runs on a schedule)."""
    settings = request.app.state.settings
    results = await run_in_threadpool(
        snapshots.sync_all,
        session,
        settings.lake_path,
        data.tables or None,
        engine_name=settings.engine,
        spark_master=settings.spark_master,
    )
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="pipeline.sync",
        subject_type="lake",
        subject_id=",".join(data.tables) or "all",
        detail={r.table: r.upserts + r.deletes for r in results},
    )
    session.commit()
    return snapshots.as_dicts(results)


# --- jobs -------------------------------------------------------------------------------------------------

JobName = Annotated[str, PathParam(min_length=1, max_length=64)]


@router.get("/jobs")
def list_jobs(session: DbSession, _: Annotated[User, require("analytics:read")]):
    """Every pipeline job: what it does, its schedule (cron, UTC) and next run, and its latest run."""
    now = datetime.now(UTC)
    out = []
    for job in jobs.JOBS.values():
        last = jobs.latest_run(session, job.name)
        out.append(
            {
                "name": job.name,
                "title_zh": job.title_zh,
                "title_en": job.title_en,
                "description_zh": job.description_zh,
                "description_en": job.description_en,
                "schedule": job.schedule,
                "next_run_at": job.next_run(now),
                "max_attempts": job.max_attempts,
                "params": list(job.params),
                "last_run": jobs.run_out(last) if last else None,
            }
        )
    return out


@router.get("/jobs/runs", response_model=Page[dict])
def list_runs(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    job: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["queued", "running", "succeeded", "failed"] | None, Query()] = None,
):
    """Run history, newest first."""
    q = select(JobRun)
    if job:
        q = q.where(JobRun.job == job)
    if status:
        q = q.where(JobRun.status == status)
    runs, total = paginate(session, q.order_by(JobRun.id.desc()), paging)
    return Page(items=[jobs.run_out(r) for r in runs], total=total, limit=paging.limit, offset=paging.offset)


@router.get("/jobs/runs/{run_id}")
def get_run(run_id: IdPath, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """One run with its log."""
    run = session.get(JobRun, run_id)
    if run is None:
        raise not_found("job run")
    return jobs.run_out(run, with_log=True)


@router.post("/jobs/{name}/run", status_code=202)
def run_now(name: JobName, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    """Start a run now (in the background); 409 while one is in progress."""
    if jobs.get_job(name).params:
        raise AppError(422, "JOB_NEEDS_PARAMETERS", field="name", params=", ".join(jobs.get_job(name).params))
    return _start(request, session, actor, name, None, "jobs.run", "job", name)


def _start(
    request: Request,
    session,
    actor: User,
    job: str,
    params: dict | None,
    action: str,
    subject_type: str,
    subject_id: str,
) -> dict:
    """Queue a manual run of `job`, audit it, start it in the background; returns the run."""
    state = request.app.state
    run_id = jobs.create_run(state.db, job, "manual", requested_by=actor.id, params=params)
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
    jobs.start_in_background(state.db, state.settings, run_id)
    return jobs.run_out(session.get(JobRun, run_id))


# --- datasets ---------------------------------------------------------------------------------------------

DatasetName = Annotated[str, PathParam(min_length=1, max_length=64, pattern="^[a-z0-9_]+$")]


def _column_out(c: datasets.ColumnSpec) -> dict:
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


def _dataset_out(session, lake_dir: Path, spec: datasets.DatasetSpec) -> dict:
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


@router.get("/datasets")
def list_datasets(request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """Every declared dataset: its columns and cleaning rules, rows raw and clean, sources, latest report."""
    lake_dir = request.app.state.settings.lake_path
    return [_dataset_out(session, lake_dir, spec) for spec in datasets.all_specs().values()]


@router.get("/datasets/{name}")
def get_dataset(name: DatasetName, request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]):
    return _dataset_out(session, request.app.state.settings.lake_path, datasets.get(name))


@router.get("/datasets/{name}/rows")
def dataset_rows(
    name: DatasetName,
    request: Request,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    stage: Annotated[Literal["raw", "clean"], Query()] = "clean",
):
    """Rows as imported (raw: every value as text, identifiers pseudonymised) or as cleaned."""
    files = datasets.DatasetFiles(request.app.state.settings.lake_path, datasets.get(name).name)
    paths = files.raw_parts() if stage == "raw" else [files.clean] if files.clean.exists() else []
    if not paths:
        return Page(items=[], total=0, limit=paging.limit, offset=paging.offset)
    table = pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
    rows = table.slice(paging.offset, paging.limit).to_pylist()
    return Page(items=rows, total=table.num_rows, limit=paging.limit, offset=paging.offset)


@router.get("/datasets/{name}/sample")
def dataset_sample(name: DatasetName, _: Annotated[User, require("analytics:read")]):
    """A messy example export to try the import with (orders only): GB18030 CSV with Chinese headers."""
    if name != "external_orders":
        raise not_found("sample")
    with tempfile.TemporaryDirectory() as tmp:
        content = samples.external_orders(Path(tmp) / "orders.csv").read_bytes()
    return Response(
        content,
        media_type="text/csv; charset=gb18030",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''external_orders_sample.csv"},
    )


@router.post("/datasets/{name}/imports", status_code=202)
def import_file(
    name: DatasetName,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("pipeline:run")],
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030), XLSX, JSON Lines or Parquet")],
):
    """Upload a file into the dataset; it is imported, cleaned and reported on in the background (a job run)."""
    spec = datasets.get(name)
    filename = Path(file.filename or "").name
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise AppError(415, "UNSUPPORTED_FILE_TYPE", field="file", allowed=" ".join(sorted(FORMATS)))
    settings = request.app.state.settings
    limit = settings.import_max_mb * 1024 * 1024
    target = settings.uploads_path / "imports" / f"{uuid.uuid4().hex}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        while chunk := file.file.read(1 << 20):
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
    return _start(request, session, actor, "import_file", params, "datasets.import", "dataset", spec.name)


@router.get("/datasets/{name}/imports")
def list_imports(name: DatasetName, request: Request, _: Annotated[User, require("analytics:read")]):
    """The imports whose rows the dataset holds, newest first: source, rows read, written, rejected."""
    return datasets.DatasetFiles(request.app.state.settings.lake_path, datasets.get(name).name).imports()


ImportId = Annotated[str, PathParam(pattern=r"^\d{8}T\d{12}-[0-9a-f]{6}$")]


@router.delete("/datasets/{name}/imports/{import_id}", status_code=204)
def remove_import(
    name: DatasetName,
    import_id: ImportId,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("pipeline:run")],
):
    """Take one import's rows out of the dataset (a wrong or broken file); clean again to publish the change."""
    files = datasets.DatasetFiles(request.app.state.settings.lake_path, datasets.get(name).name)
    removed = files.remove_import(import_id)
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
    return Response(status_code=204)


@router.post("/datasets/{name}/clean", status_code=202)
def clean_dataset(
    name: DatasetName, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]
):
    """Clean the dataset again from its raw rows (e.g. after its rules changed); 409 while that runs."""
    spec = datasets.get(name)
    return _start(
        request, session, actor, "clean_dataset", {"dataset": spec.name}, "datasets.clean", "dataset", spec.name
    )


# --- features -----------------------------------------------------------------------------------------------


@router.get("/features")
def customer_features(request: Request, _: Annotated[User, require("analytics:read")]):
    """The customer feature table: its columns, rows, the fitted scaling and a few rows (built by the
    build_features job)."""
    folder = request.app.state.settings.lake_path / "features" / "customers"
    if not (folder / "data.parquet").exists():
        return {"name": "customers", "rows": 0, "columns": [], "scaling": None, "sample": []}
    table = pq.read_table(folder / "data.parquet")
    meta = json.loads((folder / "scaling.json").read_text())
    return {
        "name": "customers",
        "rows": table.num_rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "scaling": meta,
        "sample": table.slice(0, 20).to_pylist(),
    }


# --- quality reports --------------------------------------------------------------------------------------


@router.get("/quality/reports", response_model=Page[dict])
def list_reports(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    subject: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[Literal["passed", "failed"] | None, Query()] = None,
    run_id: Annotated[int | None, Query(ge=1)] = None,
):
    """Quality reports, newest first (subject: events or dataset:<name>)."""
    q = select(QualityReport)
    if subject:
        q = q.where(QualityReport.subject == subject)
    if status:
        q = q.where(QualityReport.status == status)
    if run_id:
        q = q.where(QualityReport.run_id == run_id)
    rows, total = paginate(session, q.order_by(QualityReport.id.desc()), paging)
    return Page(items=[quality.report_out(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset)


@router.get("/quality/reports/{report_id}")
def get_report(report_id: IdPath, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """One report in full: steps, drops by reason, fills, outliers, column profiles, drift, expectations."""
    row = session.get(QualityReport, report_id)
    if row is None:
        raise not_found("quality report")
    return quality.report_out(row, full=True)
