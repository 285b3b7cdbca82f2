"""Pipeline jobs: run by hand with progress, log and result; retries; one run at a time; the scheduler claims
each fire time once across processes; stale runs are closed."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from medreach.pipeline import jobs
from medreach.pipeline.models import JobRun
from medreach.pipeline.tables import TABLES
from tests.conftest import problem_code


def wait_for(client, headers, run_id, timeout=30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/admin/jobs/runs/{run_id}", headers=headers).json()
        if run["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_run_now_with_progress_log_and_result(client, staff, shop, register):
    _, analyst = staff("analyst")
    started = client.post("/api/v1/admin/jobs/lake_sync/run", headers=analyst)
    assert started.status_code == 202 and started.json()["status"] in ("queued", "running")
    assert started.json()["trigger"] == "manual"
    run = wait_for(client, analyst, started.json()["id"])
    assert run["status"] == "succeeded" and run["attempt"] == 1 and run["error"] is None
    assert run["progress_done"] == run["progress_total"] == len(TABLES) and run["duration_seconds"] >= 0
    assert [t["table"] for t in run["result"]["tables"]] == list(TABLES)
    products = next(t for t in run["result"]["tables"] if t["table"] == "products")
    report = client.get(f"/api/v1/admin/quality/reports/{products['report_id']}", headers=analyst).json()
    assert report["subject"] == "table:products" and report["rows_out"] == products["rows"]
    assert {c["name"] for c in report["report"]["columns"]} == {f.name for f in TABLES["products"].schema}
    assert any(line["message"].startswith("products:") for line in run["log"])
    listed = {j["name"]: j for j in client.get("/api/v1/admin/jobs", headers=analyst).json()}
    assert listed["lake_sync"]["last_run"]["id"] == run["id"] and listed["lake_sync"]["next_run_at"]
    assert listed["lake_sync"]["schedule"] == "*/5 * * * *" and listed["lake_sync"]["timezone"] == "Asia/Shanghai"
    assert listed["import_file"]["schedule"] is None and listed["import_file"]["next_run_at"] is None
    page = client.get("/api/v1/admin/jobs/runs", headers=analyst, params={"job": "lake_sync", "status": "succeeded"})
    assert page.json()["total"] == 1 and page.json()["items"][0]["id"] == run["id"]
    assert "log" not in page.json()["items"][0]
    # Bad input and permissions.
    assert problem_code(client.post("/api/v1/admin/jobs/nope/run", headers=analyst)) == "NOT_FOUND"
    bad = client.get("/api/v1/admin/jobs/runs", headers=analyst, params={"status": "exploded"})
    assert bad.status_code == 422 and any(e["field"].endswith("status") for e in bad.json()["errors"])
    assert client.get("/api/v1/admin/jobs/runs/999999", headers=analyst).status_code == 404
    _, customer, _ = register()
    assert client.post("/api/v1/admin/jobs/lake_sync/run", headers=customer).status_code == 403
    assert client.get("/api/v1/admin/jobs", headers=customer).status_code == 403


def test_one_manual_run_at_a_time(client, staff, db):
    _, analyst = staff("analyst")
    jobs.claim(db, "lake_sync", datetime.now(UTC))  # queued by the scheduler, not yet picked up
    r = client.post("/api/v1/admin/jobs/lake_sync/run", headers=analyst)
    assert r.status_code == 409 and problem_code(r) == "JOB_ALREADY_RUNNING"


@pytest.fixture
def fake_jobs(monkeypatch):
    calls = {"flaky": 0}

    def flaky(ctx):
        calls["flaky"] += 1
        ctx.progress(1, 2, "half")
        if calls["flaky"] == 1:
            raise RuntimeError("the source was busy")
        return {"ok": True}

    def broken(ctx):
        raise ValueError("bad input file")

    table = {"flaky": jobs.Job("flaky", "不稳定", "flaky", "", "", flaky, max_attempts=3, retry_delay_seconds=0),
             "broken": jobs.Job("broken", "坏", "broken", "", "", broken, max_attempts=2, retry_delay_seconds=0),
             "every5": jobs.Job("every5", "定时", "every5", "", "", lambda ctx: {"ran": True})}
    monkeypatch.setattr(jobs, "JOBS", table)
    return calls


def test_a_failed_attempt_is_retried_and_the_last_failure_recorded(db, settings, fake_jobs):
    run_id = jobs.create_run(db, "flaky", "cli")
    assert jobs.execute(db, settings, run_id) == "succeeded"
    with db.session() as s:
        run = s.get(JobRun, run_id)
        assert run.attempt == 2 and run.result == {"ok": True}
        assert [line["level"] for line in run.log].count("error") == 1
    run_id = jobs.create_run(db, "broken", "cli")
    assert jobs.execute(db, settings, run_id) == "failed"
    with db.session() as s:
        run = s.get(JobRun, run_id)
        assert run.status == "failed" and run.attempt == 2 and "bad input file" in run.error and run.finished_at


def test_a_scheduled_fire_time_is_claimed_once_across_processes(db, settings, fake_jobs):
    due = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)
    assert jobs.run_scheduled(db, settings, "every5", due) == "succeeded"
    assert jobs.run_scheduled(db, settings, "every5", due) is None  # another process, or a restarted one
    assert jobs.claim(db, "every5", due) is None
    with db.session() as s:
        runs = list(s.scalars(sa.select(JobRun).where(JobRun.job == "every5")))
    assert len(runs) == 1 and runs[0].trigger == "schedule" and runs[0].scheduled_for == due
    assert runs[0].result == {"ran": True}
    assert jobs.run_scheduled(db, settings, "every5", due + timedelta(minutes=5)) == "succeeded"


def test_runs_that_died_with_their_process_are_closed(db, fake_jobs):
    with db.session() as s:
        s.add(JobRun(job="flaky", trigger="manual", status="running", max_attempts=1, log=[],
                     created_at=datetime.now(UTC) - timedelta(hours=3)))
        s.add(JobRun(job="broken", trigger="manual", status="running", max_attempts=1, log=[]))
    assert jobs.close_stale_runs(db) == 1
    with db.session() as s:
        stale = s.scalar(sa.select(JobRun).where(JobRun.job == "flaky"))
        fresh = s.scalar(sa.select(JobRun).where(JobRun.job == "broken"))
    assert stale.status == "failed" and "interrupted" in stale.error and fresh.status == "running"


def test_every_periodic_task_is_in_the_one_schedule(settings):
    from medreach import schedule
    from medreach.core.scheduler import Cron, Every

    planned = schedule.schedules(settings)
    assert {"expire_orders", "relay_domain_events", "compact_events", "lake_sync", "backup", "clean_events",
            "build_features", "close_stale_job_runs"} <= set(planned)
    assert planned["backup"] == Cron("0 3 * * *")  # 03:00 Beijing time
    assert planned["expire_orders"] == Every(settings.order_expiry_interval_seconds)
    # Every job that is not started by hand with parameters has a schedule.
    assert {name for name, job in jobs.JOBS.items() if not job.params} <= set(planned)
