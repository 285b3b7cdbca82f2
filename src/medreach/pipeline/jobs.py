"""Pipeline jobs: named steps run on their schedule (declared with every other periodic task in
`medreach.schedule`), by hand (console, API) or from the CLI; each run is a `job_runs` row with its progress,
log, attempts and outcome.

Every API process runs the schedule: a scheduled fire time is claimed by inserting the run with a unique
(job, scheduled_for), so exactly one process runs it. A failed attempt is retried after a pause, up to the job's
`max_attempts`.
"""

from __future__ import annotations

import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from medreach.core.db import Database
from medreach.core.errors import AppError, not_found
from medreach.core.settings import Settings
from medreach.pipeline import cleaning, connectors, datasets, imports, quality, snapshots, sources
from medreach.pipeline.models import JobRun
from medreach.pipeline.tables import TABLES

log = structlog.get_logger(__name__)
ACTIVE = ("queued", "running")
STALE_AFTER = timedelta(hours=2)  # a run with no word for this long died with its process
MAX_LOG_LINES = 500


class JobContext:
    """What a job gets: its settings, sessions, and progress and log that land on its run (written at most
    twice a second, and always at the end)."""

    def __init__(
        self, db: Database, settings: Settings, run_id: int, on_progress=None, params: dict[str, Any] | None = None
    ):
        self.db, self.settings, self.run_id, self.on_progress = db, settings, run_id, on_progress
        self.params = params or {}
        self._lines: list[dict] = []
        self._state: dict[str, Any] = {}
        self._written = 0.0

    def session(self):
        return self.db.session()

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self._state.update(progress_done=done, progress_total=total, message=message[:255])
        if self.on_progress:
            self.on_progress(done, total, message)
        self.flush(force=total is not None and done >= total)

    def log(self, message: str, level: str = "info") -> None:
        self._lines.append(
            {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "message": message[:1000]}
        )
        self.flush()

    def flush(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._written < 0.5:
            return
        with self.db.session() as s:
            run = s.get_one(JobRun, self.run_id)
            for key, value in self._state.items():
                setattr(run, key, value)
            if self._lines:
                run.log = (list(run.log or []) + self._lines)[-MAX_LOG_LINES:]
                self._lines = []
        self._written = time.monotonic()


@dataclass(frozen=True)
class Job:
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    run: Callable[[JobContext], dict]
    max_attempts: int = 3
    retry_delay_seconds: float = 5.0
    params: tuple[str, ...] = ()  # what a run must be given (a dataset, a file); such jobs start from their page


def _lake_sync(ctx: JobContext) -> dict:
    names = list(TABLES)
    results = []
    for i, name in enumerate(names):
        ctx.progress(i, len(names), name)
        with ctx.session() as s:
            [r] = snapshots.sync_all(
                s,
                ctx.settings.lake_path,
                [name],
                engine_name=ctx.settings.engine,
                spark_master=ctx.settings.spark_master,
            )
        ctx.log(f"{name}: {r.upserts} changed, {r.deletes} deleted, {r.rows} rows in the {r.snapshot_date} snapshot")
        changed = r.upserts + r.deletes > 0  # an unchanged snapshot has nothing new to report (every 5 minutes)
        results.append(
            {
                **asdict(r),
                "report_id": _report_on_file(
                    ctx,
                    f"table:{name}",
                    snapshots.snapshots(ctx.settings.lake_path, name)[-1],
                    [cleaning.Step("deleted", r.rows + r.deletes, r.rows)],
                )
                if changed
                else None,
            }
        )
    ctx.progress(len(names), len(names), "")
    return {"tables": results}


def _backup(ctx: JobContext) -> dict:
    from medreach.pipeline import backup

    steps = []

    def advance(step: str) -> None:
        steps.append(step)
        ctx.progress(len(steps), None, step)

    manifest = backup.create(
        ctx.db,
        ctx.settings.lake_path,
        ctx.settings.backup_target,
        ctx.settings.data_key,
        keep=ctx.settings.backup_keep,
        advance=advance,
    )
    rows = backup.row_count(manifest)
    ctx.log(
        f"backup {manifest['id']}: {rows} rows in {len(manifest['tables'])} tables, {len(manifest['lake'])} lake files"
    )
    return {"id": manifest["id"], "rows": rows, "lake_files": len(manifest["lake"])}


def _clean_events(ctx: JobContext) -> dict:
    lake = ctx.settings.lake_path
    staging = lake / "staging" / f"clean_events-{ctx.run_id}"  # published only if the expectations hold
    shutil.rmtree(staging, ignore_errors=True)
    ctx.progress(0, 2, f"clean ({ctx.settings.engine})")
    try:
        report = cleaning.run(lake, ctx.settings.engine, ctx.settings.spark_master, out_dir=staging)
        for step in report.steps:
            ctx.log(f"{step.name}: {step.rows_in} in, {step.dropped} dropped, {step.rows_out} out")
        ctx.log(f"{report.rows_out} clean events over {report.days} days in {report.seconds:.1f}s on {report.engine}")
        if not report.rows_in:
            return {**report.as_dict(), "report_id": None}
        ctx.progress(1, 2, "quality report")
        quality_report, report_id = _store_report(
            ctx,
            "events",
            lambda previous: quality.events_report(
                staging, report, previous, ctx.settings.engine, ctx.settings.spark_master
            ),
        )
        _expectations_hold(ctx, "events", quality_report, report_id)
        cleaning.publish(staging, lake)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ctx.progress(2, 2, "")
    return {**report.as_dict(), "report_id": report_id}


def _store_report(ctx: JobContext, subject: str, make: Callable[[dict | None], dict]) -> tuple[dict, int]:
    """Make a report against the subject's previous one and store it; returns it and its id. The sessions are
    short: none stays open while the report is made (which reads the whole output)."""
    with ctx.session() as s:
        previous = quality.previous(s, subject)
    report = make(previous)
    with ctx.session() as s:
        return report, quality.save(s, subject, report, ctx.run_id).id


def _report_on_file(ctx: JobContext, subject: str, path: Path, steps: list) -> int:
    """Store the quality report of a run that wrote `path`; returns its id."""
    return _store_report(ctx, subject, lambda previous: quality.parquet_report(subject, path, steps, previous))[1]


def _expectations_hold(ctx: JobContext, subject: str, report: dict, report_id: int) -> None:
    failures = report["expectations"]["failures"]
    drift = report.get("drift", {})
    if drift.get("drifted"):
        ctx.log(
            f"schema drift against report {drift['baseline']}: added {drift['columns_added']}, removed "
            f"{drift['columns_removed']}, types {drift['type_changes']}, null rates {drift['null_rate_changes']}",
            "warning",
        )
    if failures:
        raise quality.ExpectationsFailed(f"{subject} (report {report_id})", failures)
    ctx.log(f"quality report {report_id}: {report['rows_in']} rows in, {report['rows_out']} out, expectations hold")


def _clean(ctx: JobContext, name: str, done: int = 0, total: int = 4) -> dict:
    """Clean a dataset and store its quality report; fails the run when an expectation is broken."""
    spec = datasets.get(name)
    subject = f"dataset:{name}"
    report, report_id = _store_report(
        ctx,
        subject,
        lambda previous: imports.clean(
            ctx.settings.lake_path,
            spec,
            ctx.settings.data_key,
            ctx.settings.engine,
            ctx.settings.spark_master,
            previous,
            progress=lambda d, t, m: ctx.progress(done + d, done + total, m),
        ),
    )
    for step in report["steps"]:
        if step["dropped"]:
            ctx.log(f"{step['step']}: {step['dropped']} dropped")
    _expectations_hold(ctx, subject, report, report_id)
    return {
        "dataset": name,
        "report_id": report_id,
        "rows_in": report["rows_in"],
        "rows_out": report["rows_out"],
        "dropped_by_reason": report["dropped_by_reason"],
    }


def _import(ctx: JobContext, name: str, source: str, connector) -> dict:
    """Run a connector into a dataset, then clean it."""
    spec = datasets.get(name)
    result = imports.run_import(
        ctx.settings.lake_path,
        spec,
        source,
        connector,
        ctx.settings.data_key,
        progress=lambda d, t, m: ctx.progress(d, t, f"import: {m}"),
    )
    ctx.log(
        f"{source}: {result.read} read, {result.written} written, {sum(result.rejected.values())} rejected"
        + "".join(f"; {n} {reason}" for reason, n in result.rejected.items())
    )
    for sample in result.samples[:5]:
        ctx.log(f"rejected ({sample['reason']}): {sample['detail']}", "warning")
    return {"import": result.as_dict(), **_clean(ctx, name)}


def _build_features(ctx: JobContext) -> dict:
    from medreach.pipeline import features

    ctx.progress(0, 1, ctx.settings.engine)
    built = features.build(ctx.settings.lake_path, ctx.settings.engine, ctx.settings.spark_master)
    ctx.log(f"{built['rows']} customers, {len(built['scaling'])} features scaled in {built['seconds']}s")
    table = ctx.settings.lake_path / "features" / "customers" / "data.parquet"
    if table.exists():
        built["report_id"] = _report_on_file(ctx, "features:customers", table, [])
    ctx.progress(1, 1, "")
    return built


def _import_file(ctx: JobContext) -> dict:
    """An uploaded file (params: dataset, path, filename)."""
    from medreach.pipeline.connectors.files import FileSource

    p = ctx.params
    return _import(ctx, p["dataset"], f"file:{p['filename']}", FileSource(Path(p["path"])))


def _clean_dataset(ctx: JobContext) -> dict:
    return _clean(ctx, ctx.params["dataset"], 0, 4)


def _pull(source: sources.Source) -> Callable[[JobContext], dict]:
    def run(ctx: JobContext) -> dict:
        return _import(ctx, source.dataset, source.name, connectors.make(source.kind, source.config))

    return run


JOBS: dict[str, Job] = {
    j.name: j
    for j in (
        Job(
            "lake_sync",
            "同步业务库到数据湖",
            "Sync the database into the lake",
            "把用户、商品、订单、订单明细按水位增量同步为数据湖中的每日快照（含删除）",
            "Users, products, orders and order lines into the lake's daily snapshots, incrementally (deletes too)",
            _lake_sync,
        ),
        Job(
            "backup",
            "备份数据库与数据湖",
            "Back up the database and the lake",
            "一致性快照备份业务库和数据湖，附清单与校验和，按保留策略清理旧备份",
            "A consistent backup of the database and the lake, with a manifest and checksums; old ones pruned",
            _backup,
            max_attempts=2,
        ),
        Job(
            "clean_events",
            "清洗行为事件并按日汇总",
            "Clean the events and aggregate them by day",
            "去重、剔除爬虫与脚本流量、异常突发和测试账号，写出清洗后的事件和每日事件汇总（按北京时间）",
            "Drop duplicates, crawlers, bursts and test accounts; write the clean events and the daily figures "
            "(Shanghai days)",
            _clean_events,
        ),
        Job(
            "build_features",
            "构建客户特征",
            "Build the customer features",
            "整合清洗后的行为事件与用户快照，派生近度、活跃天数、转化等特征，并按保存的参数缩放（log、z-score、min-max）",
            "Clean events joined with the users snapshot; recency, activity and conversion derived; features scaled "
            "(log, z-score, min-max) with the fitted parameters saved for serving",
            _build_features,
        ),
        Job(
            "import_file",
            "导入文件到数据集",
            "Import a file into a dataset",
            "上传的 CSV、Excel、JSON Lines 或 Parquet 文件导入数据集，随后清洗并生成质量报告",
            "An uploaded CSV, Excel, JSON Lines or Parquet file into a dataset, then cleaned with a quality report",
            _import_file,
            max_attempts=1,
            params=("dataset", "path", "filename"),
        ),
        Job(
            "clean_dataset",
            "清洗数据集",
            "Clean a dataset",
            "按数据集声明的规则去重、补缺、处理异常值、统一格式，检查期望并生成质量报告",
            "De-duplicate, fill, treat outliers and normalise a dataset by its declared rules; check expectations",
            _clean_dataset,
            max_attempts=1,
            params=("dataset",),
        ),
    )
}


def source_job(source: sources.Source) -> str:
    """The name of a configured source's job."""
    return f"source:{source.name}"


def register_sources(settings: Settings) -> list[str]:
    """A job per connector source configured in `MEDREACH_PIPELINE_SOURCES` (its schedule is declared with the
    others, in `medreach.schedule`)."""
    added = []
    for source in sources.load(settings.pipeline_sources).values():
        name = source_job(source)
        JOBS[name] = Job(
            name,
            f"数据源：{source.title}",
            f"Source: {source.title}",
            f"{source.kind} 连接器导入数据集 {source.dataset}，随后清洗",
            f"The {source.kind} connector into dataset {source.dataset}, then cleaned",
            _pull(source),
            max_attempts=source.max_attempts,
        )
        added.append(name)
    return added


def get_job(name: str) -> Job:
    if name not in JOBS:
        raise not_found("job")
    return JOBS[name]


def create_run(
    db: Database, name: str, trigger: str, requested_by: int | None = None, params: dict[str, Any] | None = None
) -> int:
    """A queued manual or CLI run of `name`; refused (409) while another run of the job with the same parameters
    is in progress."""
    job = get_job(name)
    with db.session() as s:
        active = s.scalars(
            select(JobRun.params).where(
                JobRun.job == name, JobRun.status.in_(ACTIVE), JobRun.created_at > datetime.now(UTC) - STALE_AFTER
            )
        )
        if any((p or {}) == (params or {}) for p in active):
            raise AppError(409, "JOB_ALREADY_RUNNING", job=name)
        run = _new_run(job, trigger, requested_by=requested_by, params=params)
        s.add(run)
        s.flush()
        return run.id


def claim(db: Database, name: str, due: datetime) -> int | None:
    """The queued run of `name` for the scheduled fire time `due`; None when another process (or an earlier
    beat) claimed that time already."""
    job = get_job(name)
    with db.session() as s:
        if s.scalar(select(JobRun.id).where(JobRun.job == name, JobRun.scheduled_for == due)):
            return None
        run = _new_run(job, "schedule", scheduled_for=due)
        s.add(run)
        try:
            s.commit()
        except IntegrityError:  # claimed between the look and the insert
            s.rollback()
            return None
        return run.id


def _new_run(job: Job, trigger: str, **fields: Any) -> JobRun:
    return JobRun(job=job.name, trigger=trigger, status="queued", max_attempts=job.max_attempts, log=[], **fields)


def run_scheduled(db: Database, settings: Settings, name: str, due: datetime) -> str | None:
    """The scheduler's firing of a job: claim the fire time, then run it here; returns the final status, or None
    when the time was claimed elsewhere."""
    run_id = claim(db, name, due)
    return execute(db, settings, run_id) if run_id is not None else None


def execute(db: Database, settings: Settings, run_id: int, on_progress=None) -> str:
    """Run the job of this run (retrying failed attempts); returns the final status."""
    with db.session() as s:
        run = s.get_one(JobRun, run_id)
        job = get_job(run.job)
        run.status, run.started_at = "running", datetime.now(UTC)
        params = run.params
    ctx = JobContext(db, settings, run_id, on_progress, params)
    for attempt in range(1, job.max_attempts + 1):
        with db.session() as s:
            s.execute(update(JobRun).where(JobRun.id == run_id).values(attempt=attempt))
        ctx.log(f"attempt {attempt} of {job.max_attempts}")
        try:
            result = job.run(ctx)
        except Exception as e:  # noqa: BLE001  a failing attempt is recorded and retried; the last one fails the run
            ctx.log(f"{type(e).__name__}: {e}", "error")
            if attempt < job.max_attempts and not isinstance(e, quality.ExpectationsFailed):  # the data will not change
                ctx.flush(force=True)
                time.sleep(job.retry_delay_seconds)
                continue
            _finish(ctx, "failed", None, traceback.format_exc(limit=5)[-4000:])
            return "failed"
        _finish(ctx, "succeeded", result, None)
        return "succeeded"
    return "failed"  # unreachable: the loop returns


def _finish(ctx: JobContext, status: str, result: dict | None, error: str | None) -> None:
    ctx.log("succeeded" if status == "succeeded" else "failed", "info" if status == "succeeded" else "error")
    ctx.flush(force=True)
    with ctx.db.session() as s:
        run = s.get_one(JobRun, ctx.run_id)
        run.status, run.result, run.error, run.finished_at = status, result, error, datetime.now(UTC)
        job = run.job
    log.info("job_finished", job=job, run=ctx.run_id, status=status)


def start_in_background(db: Database, settings: Settings, run_id: int) -> None:
    threading.Thread(target=_safely, args=(db, settings, run_id), daemon=True, name=f"job-run-{run_id}").start()


def _safely(db: Database, settings: Settings, run_id: int) -> None:
    try:
        execute(db, settings, run_id)
    except Exception:  # the run row could not even be updated (database down): log it, keep the process
        log.exception("job_run_crashed", run=run_id)


def close_stale_runs(db: Database, now: datetime | None = None) -> int:
    """Mark runs that died with their process (no word for STALE_AFTER) as failed; returns how many."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        closed = cast(
            CursorResult,
            s.execute(
                update(JobRun)
                .where(JobRun.status.in_(ACTIVE), JobRun.created_at < now - STALE_AFTER)
                .values(status="failed", error="interrupted: no progress (the process stopped)", finished_at=now)
            ),
        )
        return closed.rowcount


def latest_run(session, name: str) -> JobRun | None:
    return session.scalar(select(JobRun).where(JobRun.job == name).order_by(JobRun.id.desc()).limit(1))


def run_out(run: JobRun, with_log: bool = False) -> dict:
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
    out = {
        "id": run.id,
        "job": run.job,
        "trigger": run.trigger,
        "status": run.status,
        "attempt": run.attempt,
        "max_attempts": run.max_attempts,
        "progress_done": run.progress_done,
        "progress_total": run.progress_total,
        "message": run.message,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": duration,
        "requested_by": run.requested_by,
        "params": run.params,
        "result": run.result,
        "error": run.error,
    }
    if with_log:
        out["log"] = run.log or []
    return out
