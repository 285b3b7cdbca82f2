"""The jobs of the personas and the predictive models, registered by `profiles.tasks.register`:

- find_personas: k-means personas over the published store (params: k, impact_assessment_id, both optional).
- train_models: every algorithm of a task with 5-fold cross-validation, kept as versions (params: task).
- score_customers: every customer of the store scored by the task's promoted model (params: task); started by
  a promotion (the scores are kept across later builds by the store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.errors import AppError
from medreach.ops.service import audit
from medreach.pipeline import jobs
from medreach.pipeline.jobs import Job, JobContext
from medreach.profiles import health, personas, propensity, service, store, truth
from medreach.profiles.models import ModelVersion


def _find_personas(ctx: JobContext) -> dict:
    assessment = ctx.params.get("impact_assessment_id")
    consenting = None
    if assessment:
        with ctx.session() as s:
            consenting = service.build_input(s).consents.get(health.PURPOSE, set())
    result = personas.run(ctx.settings.lake_path, ctx.params.get("k"), assessment, consenting)
    ctx.log(
        f"{result['customers']} customers in {result['k']} personas, tree fidelity {result['tree']['fidelity']:.3f}"
    )
    return {"id": result["id"], "k": result["k"], "customers": result["customers"]}


def _train_models(ctx: JobContext) -> dict:
    task = ctx.params["task"]
    with ctx.session() as s:
        sources = service.build_input(s).order_sources
        versions = propensity.train(
            s,
            ctx.settings.lake_path,
            task,
            order_sources=sources,
            actor_id=ctx.params.get("actor"),
            progress=ctx.progress,
        )
        summary = {
            v.algorithm: {"id": v.id, "f1": v.metrics["cv"]["f1"], "roc_auc": v.metrics["cv"]["roc_auc"]}
            for v in versions
        }
    ctx.log(f"{task}: " + ", ".join(f"{a} F1 {m['f1']:.3f}" for a, m in summary.items()))
    return {"task": task, "versions": summary}


def _score_customers(ctx: JobContext) -> dict:
    with ctx.session() as s:
        result = propensity.score_all(s, ctx.settings.lake_path, ctx.params["task"])
    ctx.log(f"{result['task']}: {result['customers']} customers scored by version {result['version']}")
    return result


JOBS = (
    Job(
        "find_personas",
        "划分人群画像",
        "Find personas",
        "在已发布的用户画像上做 k-means 聚类，用轮廓系数与肘部法选择 k，自动命名各人群并以决策树给出规则",
        "k-means over the published profiles, k chosen by silhouette and elbow, each persona named and explained by "
        "a decision tree",
        _find_personas,
        max_attempts=1,
    ),
    Job(
        "train_models",
        "训练预测模型",
        "Train predictive models",
        "以截止日前的特征与其后的订单为标签，训练决策树、神经网络与基线模型并做 5 折交叉验证",
        "Decision tree, neural network and baselines on features before a cut-off and labels after it, with 5-fold "
        "cross-validation",
        _train_models,
        max_attempts=1,
        params=("task",),
    ),
    Job(
        "score_customers",
        "模型批量打分",
        "Score all customers",
        "用已发布的模型为全部客户打分，写入用户画像",
        "Score every customer with the promoted model, into the customer profiles",
        _score_customers,
        max_attempts=2,
        params=("task",),
    ),
)


# --- what the routes call ----------------------------------------------------------------------------------------


def start(session: Session, app: Any, actor: User, job: str, params: dict[str, Any]) -> dict[str, Any]:
    """Queue a run of `job` with `params` (audited) and start it in the background."""
    db, settings = app.state.db, app.state.settings
    if not store.built(settings.lake_path):
        raise AppError(409, "PROFILES_NOT_BUILT")
    run_id = jobs.create_run(db, job, "manual", requested_by=actor.id, params=params)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action=f"profiles.{job}",
        subject_type="job",
        subject_id=job,
        detail={"run": run_id, **params},
    )
    session.commit()
    jobs.start_in_background(db, settings, run_id)
    return {"id": run_id, "job": job, "status": "queued"}


def latest_personas(lake_dir: Path) -> dict[str, Any]:
    return personas.latest(lake_dir)


def _card(version: ModelVersion) -> dict[str, Any]:
    columns = [c.name for c in ModelVersion.__table__.columns if c.name != "artifact"]
    return {c: getattr(version, c) for c in columns} | {"baseline": version.algorithm in propensity.BASELINES}


def cards(session: Session, task: str | None) -> list[dict[str, Any]]:
    return [_card(v) for v in propensity.list_versions(session, task)]


def card(session: Session, version_id: int) -> dict[str, Any]:
    return _card(propensity.get_version(session, version_id))


def promote(session: Session, app: Any, actor: User, version_id: int) -> dict[str, Any]:
    version = propensity.promote(session, version_id)
    out = _card(version)
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="profiles.model_promote",
        subject_type="model_version",
        subject_id=str(version.id),
        detail={"task": version.task, "algorithm": version.algorithm},
    )
    session.commit()
    run_id = jobs.create_run(
        app.state.db, "score_customers", "manual", requested_by=actor.id, params={"task": version.task}
    )
    jobs.start_in_background(app.state.db, app.state.settings, run_id)
    return out | {"scoring_run": run_id}


def score_one(session: Session, lake_dir: Path, viewer: User, task: str, user_id: str) -> dict[str, Any]:
    result = propensity.score_one(session, lake_dir, task, user_id)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="profiles.model_score",
        subject_type="user",
        subject_id=user_id,
        detail={"task": task, "version": result["version"]},
    )
    session.commit()
    return result


def truth_report(lake_dir: Path) -> dict[str, Any]:
    return truth.report(lake_dir)
