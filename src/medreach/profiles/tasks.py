"""The profiles domain's jobs, run by the pipeline's scheduler (`pipeline/jobs.py`), and its consent listener.

The pipeline cannot import profiles (imports point down), so the layer above both wires them: the app factory
and the CLI call `install(settings)` / `register()`, which add these jobs to the pipeline's registry and the
listener to accounts' consent hooks.

- build_profiles: the whole store (`build.build`), then each tag's coverage; daily after build_features.
- refresh_tag: one rule or imported tag (params: code), from the console's refresh button.
- refresh_tags: every rule or imported tag whose own schedule has fired since it was computed; hourly.
- refresh_segments (a scheduler task, not a recorded job: it runs every few seconds): the dynamic segments that
  are due (`segments.due_segments`: the store changed, the definition changed, their schedule came round).

Their schedules are declared with every other periodic task, in `medreach.schedule`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medreach.accounts import consents
from medreach.core.settings import Settings
from medreach.pipeline import jobs
from medreach.pipeline.jobs import Job, JobContext
from medreach.profiles import build, health, segments, service, store


def _build_profiles(ctx: JobContext) -> dict:
    with ctx.session() as s:
        service.seed_catalogue(s)
        given = service.build_input(s)
    ctx.log(
        f"{len(given.rule_tags)} rule tags, {len(given.import_tags)} imported tags, "
        f"{len(given.consents.get(health.PURPOSE, ()))} customers allow a health profile"
    )
    meta = build.build(
        ctx.settings.lake_path,
        given,
        ctx.settings.engine,
        ctx.settings.spark_master,
        progress=lambda done, total, step: ctx.progress(done, total, step),
    )
    with ctx.session() as s:
        service.record_coverage(s, ctx.settings.lake_path)
    ctx.log(
        f"{meta['rows'].get('customers', 0)} customers, {meta['rows'].get('health', 0)} health rows in "
        f"{meta['seconds']['total']}s on {meta['engine']} ({meta['clv']})"
    )
    return meta


def _refresh(ctx: JobContext, code: str) -> int:
    with ctx.session() as s:
        rule = service.rule_input(s, code)
    customers = build.refresh(ctx.settings.lake_path, code, rule, ctx.settings.engine, ctx.settings.spark_master)
    with ctx.session() as s:
        service.record_coverage(s, ctx.settings.lake_path, [code])
    ctx.log(f"{code}: {customers} customers")
    return customers


def _refresh_tag(ctx: JobContext) -> dict:
    code = ctx.params["code"]
    return {"code": code, "customers": _refresh(ctx, code)}


def _refresh_tags(ctx: JobContext) -> dict:
    with ctx.session() as s:
        due = service.due_tags(s, datetime.now(UTC))
    if not due or not store.built(ctx.settings.lake_path):
        return {"refreshed": {}}
    refreshed = {}
    for i, code in enumerate(due):
        ctx.progress(i, len(due), code)
        refreshed[code] = _refresh(ctx, code)
    ctx.progress(len(due), len(due), "")
    return {"refreshed": refreshed}


JOBS = (
    Job(
        "build_profiles",
        "构建用户画像与标签",
        "Build the customer profiles and tags",
        "由清洗后的行为事件与订单、用户、商品快照计算画像宽表、兴趣、行为、健康标签（仅限已同意者）与全部标签，"
        "整体发布",
        "The customer table, interests, activity, health tags (consenting customers only) and every tag, from the "
        "clean events and the order, user and product snapshots, published whole",
        _build_profiles,
        max_attempts=2,
    ),
    Job(
        "refresh_tag",
        "刷新标签",
        "Refresh a tag",
        "按当前画像重新计算一个规则标签或重新应用一个导入标签",
        "Recompute one rule tag, or apply one imported tag again, over the current profiles",
        _refresh_tag,
        max_attempts=1,
        params=("code",),
    ),
    Job(
        "refresh_tags",
        "按计划刷新标签",
        "Refresh scheduled tags",
        "刷新自身计划已到期的规则标签和导入标签",
        "Refresh the rule and imported tags whose own schedule has come round",
        _refresh_tags,
        max_attempts=1,
    ),
)


def refresh_segments(db: Any, lake_dir: Path) -> dict[str, tuple[int, int]]:
    """Recompute the dynamic segments that are due; returns (entered, left) by segment name (empty: none due)."""
    if not store.built(lake_dir):
        return {}
    with db.session() as s:
        return segments.refresh_dynamic(s, lake_dir)


def register() -> None:
    """Add the profile jobs to the pipeline's registry (idempotent)."""
    from medreach.profiles import models_tasks

    for job in (*JOBS, *models_tasks.JOBS):
        jobs.JOBS[job.name] = job


def install(settings: Settings) -> None:
    """Register the jobs, and the consent listeners that remove a customer's health rows and their memberships
    of segments that read health data at once when they withdraw their health_profile consent (for the lake of
    these settings)."""
    register()
    lake = settings.lake_path

    def withdrawn(_session, user_id: int, purpose: str, granted: bool) -> None:
        health.consent_changed(lake, user_id, purpose, granted)

    consents.on_change("profiles.health", withdrawn)
    # after the health rows: the customer leaves every segment that reads health data at once
    consents.on_change("profiles.segments", segments.consent_withdrawn)
