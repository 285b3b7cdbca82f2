"""The console's view of the pipeline: jobs (schedule, runs with progress and log, run now), the lake tables
(declared schemas, sync state and snapshots; sync on demand), datasets (declared cleaning, file imports, raw
and clean rows) and quality reports. Each route calls one function of `pipeline.service`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.pipeline import schemas, service

router = APIRouter(prefix="/api/v1/admin", tags=["pipeline"])
JobName = Annotated[str, PathParam(min_length=1, max_length=64)]
DatasetName = Annotated[str, PathParam(min_length=1, max_length=64, pattern="^[a-z0-9_]+$")]
ImportId = Annotated[str, PathParam(pattern=r"^\d{8}T\d{12}-[0-9a-f]{6}$")]


@router.get("/pipeline/tables", response_model=list[schemas.LakeTableOut])
def list_tables(request: Request, _: Annotated[User, require("analytics:read")]):
    """Every lake table synced from the database: columns and types, watermark, last sync, snapshot days."""
    return service.list_tables(request.app.state.settings.lake_path)


@router.post("/pipeline/sync", response_model=list[schemas.SyncResultOut])
def sync_now(
    data: schemas.SyncIn, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]
):
    """Sync the chosen tables (default: all) into today's snapshots now (it also runs on a schedule)."""
    return service.sync_now(session, request.app.state.settings, actor, data.tables)


# --- jobs -------------------------------------------------------------------------------------------------


@router.get("/jobs", response_model=list[schemas.JobOut])
def list_jobs(request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """Every pipeline job: what it does, its schedule (cron, Beijing time) and next run, and its latest run."""
    return service.list_jobs(session, request.app.state.scheduler.schedules())


@router.get("/jobs/runs", response_model=Page[schemas.JobRunOut])
def list_runs(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    job: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["queued", "running", "succeeded", "failed"] | None, Query()] = None,
):
    """Run history, newest first."""
    return service.list_runs(session, paging, job, status)


@router.get("/jobs/runs/{run_id}", response_model=schemas.JobRunDetailOut)
def get_run(run_id: IdPath, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """One run with its log."""
    return service.get_run(session, run_id)


@router.post("/jobs/{name}/run", status_code=202, response_model=schemas.JobRunOut)
def run_now(name: JobName, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]):
    """Start a run now (in the background); 409 while one is in progress."""
    state = request.app.state
    return service.run_now(session, state.db, state.settings, actor, name)


# --- datasets ---------------------------------------------------------------------------------------------


@router.get("/datasets", response_model=list[schemas.DatasetOut])
def list_datasets(request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """Every declared dataset: its columns and cleaning rules, rows raw and clean, sources, latest report."""
    return service.list_datasets(session, request.app.state.settings.lake_path)


@router.get("/datasets/{name}", response_model=schemas.DatasetOut)
def get_dataset(name: DatasetName, request: Request, session: DbSession, _: Annotated[User, require("analytics:read")]):
    return service.get_dataset(session, request.app.state.settings.lake_path, name)


@router.get("/datasets/{name}/rows", response_model=Page[dict[str, Any]])
def dataset_rows(
    name: DatasetName,
    request: Request,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    stage: Annotated[Literal["raw", "clean"], Query()] = "clean",
):
    """Rows as imported (raw: every value as text, identifiers pseudonymised) or as cleaned."""
    return service.dataset_rows(request.app.state.settings.lake_path, name, stage, paging)


@router.get("/datasets/{name}/sample", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def dataset_sample(name: DatasetName, _: Annotated[User, require("analytics:read")]):
    """A messy example export to try the import with (orders only): GB18030 CSV with Chinese headers."""
    return Response(
        service.dataset_sample(name),
        media_type="text/csv; charset=gb18030",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''external_orders_sample.csv"},
    )


@router.post("/datasets/{name}/imports", status_code=202, response_model=schemas.JobRunOut)
def import_file(
    name: DatasetName,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("pipeline:run")],
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030), XLSX, JSON Lines or Parquet")],
):
    """Upload a file into the dataset; it is imported, cleaned and reported on in the background (a job run)."""
    state = request.app.state
    return service.import_file(session, state.db, state.settings, actor, name, file.filename or "", file.file)


@router.get("/datasets/{name}/imports", response_model=list[dict[str, Any]])
def list_imports(name: DatasetName, request: Request, _: Annotated[User, require("analytics:read")]):
    """The imports whose rows the dataset holds, newest first: source, rows read, written, rejected."""
    return service.list_imports(request.app.state.settings.lake_path, name)


@router.delete("/datasets/{name}/imports/{import_id}", status_code=204, response_class=Response)
def remove_import(
    name: DatasetName,
    import_id: ImportId,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("pipeline:run")],
):
    """Take one import's rows out of the dataset (a wrong or broken file); clean again to publish the change."""
    service.remove_import(session, request.app.state.settings.lake_path, actor, name, import_id)
    return Response(status_code=204)


@router.post("/datasets/{name}/clean", status_code=202, response_model=schemas.JobRunOut)
def clean_dataset(
    name: DatasetName, request: Request, session: DbSession, actor: Annotated[User, require("pipeline:run")]
):
    """Clean the dataset again from its raw rows (e.g. after its rules changed); 409 while that runs."""
    state = request.app.state
    return service.clean_dataset(session, state.db, state.settings, actor, name)


# --- features -----------------------------------------------------------------------------------------------


@router.get("/features", response_model=schemas.FeaturesOut)
def customer_features(request: Request, _: Annotated[User, require("analytics:read")]):
    """The customer feature table: its columns, rows, the fitted scaling and a few rows (built by the
    build_features job)."""
    return service.customer_features(request.app.state.settings.lake_path)


# --- quality reports --------------------------------------------------------------------------------------


@router.get("/quality/reports", response_model=Page[schemas.ReportSummaryOut])
def list_reports(
    session: DbSession,
    paging: Paging,
    _: Annotated[User, require("analytics:read")],
    subject: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[Literal["passed", "failed"] | None, Query()] = None,
    run_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):
    """Quality reports, newest first (subject: events or dataset:<name>)."""
    return service.list_reports(session, paging, subject, status, run_id)


@router.get("/quality/reports/{report_id}", response_model=schemas.ReportOut)
def get_report(report_id: IdPath, session: DbSession, _: Annotated[User, require("analytics:read")]):
    """One report in full: steps, drops by reason, fills, outliers, column profiles, drift, expectations."""
    return service.get_report(session, report_id)
