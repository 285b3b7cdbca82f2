"""Every periodic task of MedReach, in one place, with its schedule. `core.scheduler` runs them: one beat in each
API process (`MEDREACH_JOBS_ENABLED`, on by default), each task on its own thread, each safe with several
processes (see there). Cron expressions are Beijing time.

Like `models.py` this module sits above the domains: it is where their periodic work meets a clock. A task
reads what it works with from the running app's state when it fires (`state`: the app's `app.state`); listing
the schedule (the console, `medreach pipeline jobs`) needs no state.
"""

from __future__ import annotations

from typing import Any

from medreach.core.scheduler import Cron, Every, Task
from medreach.core.settings import Settings
from medreach.orders import service as orders
from medreach.pipeline import jobs, sources
from medreach.profiles import tasks as profiles
from medreach.tracking.relay import relay
from medreach.tracking.tasks import compact_sealed


def tasks(settings: Settings, state: Any = None) -> list[Task]:
    def pipeline_job(name: str, cron: str) -> Task:  # recorded in job_runs, shown in the console
        return Task(name, Cron(cron), lambda due: jobs.run_scheduled(state.db, settings, name, due))

    def in_session(work):
        with state.db.session() as session:
            return work(session)

    return [
        # Unpaid orders lapse after 30 minutes, unreviewed Rx orders after 48 hours (guarded updates).
        Task(
            "expire_orders",
            Every(settings.order_expiry_interval_seconds),
            lambda due: in_session(lambda s: orders.expire_overdue(s, state.flash)),
        ),
        # Server-side domain events reach the event log this fast (rows taken with SKIP LOCKED, ids de-duplicated).
        Task(
            "relay_domain_events",
            Every(settings.event_relay_interval_seconds),
            lambda due: in_session(lambda s: relay(s, state.event_log, state.dedupe, state.live)),
        ),
        # Sealed log segments into the lake's Parquet files: one process at a time (it moves the segments).
        Task("compact_events", Every(60), lambda due: compact_sealed(state), exclusive=True),
        Task("close_stale_job_runs", Every(300), lambda due: jobs.close_stale_runs(state.db)),
        pipeline_job("lake_sync", "*/5 * * * *"),
        pipeline_job("backup", "0 3 * * *"),
        pipeline_job("clean_events", "30 3 * * *"),  # after the day's last events are compacted
        pipeline_job("build_features", "0 4 * * *"),  # from the clean events
        pipeline_job("build_profiles", "30 4 * * *"),  # profiles and tags, after the features (profiles.tasks)
        pipeline_job("find_personas", "0 5 * * 1"),  # personas weekly, Monday after the build (profiles.models_tasks)
        pipeline_job("refresh_tags", "0 * * * *"),  # rule and imported tags whose own schedule came round
        # Dynamic segments follow the store within seconds of a change (a build, a refreshed tag, a consent).
        Task(
            "refresh_segments",
            Every(settings.segment_refresh_interval_seconds),
            lambda due: profiles.refresh_segments(state.db, settings.lake_path),
            exclusive=True,
        ),
        # Connector sources configured by the operator (MEDREACH_PIPELINE_SOURCES), each on its own schedule.
        *(
            pipeline_job(jobs.source_job(source), source.schedule)
            for source in sources.load(settings.pipeline_sources).values()
            if source.schedule
        ),
    ]


def schedules(settings: Settings) -> dict[str, Every | Cron]:
    """Each task's schedule, by name (for listing)."""
    return {t.name: t.schedule for t in tasks(settings)}
