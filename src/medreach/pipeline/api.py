"""The console's view of the pipeline: jobs (schedule, runs with progress and log, run now) and the lake
tables (declared schemas, sync state and snapshots; sync on demand)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from medreach.accounts.deps import DbSession, require
from medreach.accounts.models import User
from medreach.core.errors import not_found
from medreach.core.pagination import Page, Paging
from medreach.core.params import IdPath
from medreach.ops.service import audit
from medreach.pipeline import jobs, snapshots
from medreach.pipeline.models import JobRun
from medreach.pipeline.tables import TABLES

router = APIRouter(prefix="/api/v1/admin", tags=["pipeline"])
TableName = Annotated[str, Field(pattern="^(" + "|".join(TABLES) + ")$")]


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tables: list[TableName] = Field(default_factory=list, max_length=len(TABLES))


@router.get("/pipeline/tables")
def list_tables(request: Request, _: Annotated[User, require("analytics:read")]):
    """Every lake table synced from the database: columns and types, watermark, last sync, snapshot days."""
    lake_dir = request.app.state.settings.lake_path
    synced = snapshots.state(lake_dir)
    return [{"name": t.name, "watermark_column": t.watermark, "key": t.key,
             "columns": [{"name": f.name, "type": str(f.type)} for f in t.schema],
             "state": synced.get(t.name),
             "snapshots": [p.parent.name.removeprefix("date=") for p in snapshots.snapshots(lake_dir, t.name)]}
            for t in TABLES.values()]


@router.post("/pipeline/sync")
async def sync_now(data: SyncIn, request: Request, session: DbSession,
                   actor: Annotated[User, require("pipeline:run")]):
    """Sync the chosen tables (default: all) into today's snapshots now (it also runs on a schedule)."""
    settings = request.app.state.settings
    results = await run_in_threadpool(snapshots.sync_all, session, settings.lake_path, data.tables or None,
                                      engine_name=settings.engine, spark_master=settings.spark_master)
    audit(session, actor_id=actor.id, actor_login=actor.login, action="pipeline.sync", subject_type="lake",
          subject_id=",".join(data.tables) or "all", detail={r.table: r.upserts + r.deletes for r in results})
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
        out.append({"name": job.name, "title_zh": job.title_zh, "title_en": job.title_en,
                    "description_zh": job.description_zh, "description_en": job.description_en,
                    "schedule": job.schedule, "next_run_at": job.next_run(now), "max_attempts": job.max_attempts,
                    "last_run": jobs.run_out(last) if last else None})
    return out


@router.get("/jobs/runs", response_model=Page[dict])
def list_runs(session: DbSession, paging: Paging, _: Annotated[User, require("analytics:read")],
              job: Annotated[str | None, Query(max_length=64)] = None,
              status: Annotated[Literal["queued", "running", "succeeded", "failed"] | None, Query()] = None):
    """Run history, newest first."""
    q = select(JobRun)
    if job:
        q = q.where(JobRun.job == job)
    if status:
        q = q.where(JobRun.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    runs = session.scalars(q.order_by(JobRun.id.desc()).limit(paging.limit).offset(paging.offset))
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
    state = request.app.state
    run_id = jobs.create_run(state.db, name, "manual", requested_by=actor.id)
    audit(session, actor_id=actor.id, actor_login=actor.login, action="jobs.run", subject_type="job",
          subject_id=name, detail={"run": run_id})
    session.commit()
    jobs.start_in_background(state.db, state.settings, run_id)
    return jobs.run_out(session.get(JobRun, run_id))
