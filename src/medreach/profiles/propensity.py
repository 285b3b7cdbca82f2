"""Predictive models (issue 13, 5.4): purchase propensity (buys in the next 30 days) and churn (a buyer with no
order in the next 90 days), each trained as a decision tree, a neural network (MLP) and two baselines (the
majority class; a logistic regression on recency alone), side by side, by 5-fold cross-validation over customers.

No leakage: the features are the profile store's columns computed at a cut-off (`model_features.at`, the lake
read up to that moment only) and the labels come from the paid orders strictly after it, within the horizon. The
cut-off defaults to the lake's last event minus the horizon, so every label is observed.

Each algorithm of a training is a version (`ModelVersion`: data snapshot, cut-off, features, parameters,
metrics, the fitted estimator under `lake/profiles/models/`); one version per task is promoted, and the
`score_customers` job scores every customer of the published store with it into the wide table's column
(`store.write_scores`); one customer is scored on demand from the store's row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from medreach.core.errors import AppError
from medreach.profiles import model_features, store
from medreach.profiles.models import MODEL_TASKS, ModelVersion

ALGORITHMS = ("majority", "recency", "decision_tree", "mlp")
BASELINES = ("majority", "recency")
FOLDS = 5
SEED = 0


@dataclass(frozen=True)
class Task:
    name: str
    horizon_days: int
    column: str  # the wide table's column a promoted model writes
    buyers_only: bool  # churn is defined among customers who have bought
    positive: str  # what label 1 means


TASKS = {
    "propensity_30d": Task("propensity_30d", 30, "propensity_30d", False, "buys within 30 days"),
    "churn_90d": Task("churn_90d", 90, "churn_risk", True, "no paid order within 90 days"),
}
assert tuple(TASKS) == MODEL_TASKS


def models_dir(lake_dir: Path) -> Path:
    return store.root(lake_dir) / "models"


# --- the data set -----------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    user_ids: pd.Series
    X: np.ndarray
    y: np.ndarray
    features: list[str]
    cutoff: datetime
    label_end: datetime


def labelled(task: Task, frame: pd.DataFrame, orders_after: dict[str, int]) -> pd.DataFrame:
    """The population and label of a task from the feature table at the cut-off and the paid orders after it."""
    if task.buyers_only:
        frame = frame[frame["orders"].fillna(0) > 0]
    bought = frame["user_id"].map(lambda u: orders_after.get(u, 0) > 0).astype(int)
    label = 1 - bought if task.buyers_only else bought
    return frame.assign(label=label.to_numpy())


def dataset(
    lake_dir: Path, task: Task, cutoff: datetime | None = None, order_sources: set[int] | None = None
) -> Dataset:
    end = model_features.data_end(lake_dir)
    if end is None:
        raise AppError(409, "MODEL_NO_DATA")
    cutoff = (cutoff or end - timedelta(days=task.horizon_days)).astimezone(UTC)
    label_end = cutoff + timedelta(days=task.horizon_days)
    frame = model_features.at(lake_dir, cutoff, order_sources)
    frame = frame[~frame["is_minor"].fillna(False).astype(bool)]  # no model about minors for marketing
    after = model_features.paid_between(lake_dir, cutoff, label_end, order_sources)
    data = labelled(task, frame, after)
    names = model_features.feature_names()
    return Dataset(
        data["user_id"], model_features.prepare(data, names), data["label"].to_numpy(), names, cutoff, label_end
    )


# --- algorithms and metrics -------------------------------------------------------------------------------------


def estimator(algorithm: str, features: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if algorithm == "majority":
        return DummyClassifier(strategy="most_frequent")
    if algorithm == "recency":
        only = ColumnTransformer([("recency", StandardScaler(), [features.index("recency_days")])])
        return make_pipeline(only, LogisticRegression())
    if algorithm == "decision_tree":
        return DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, class_weight="balanced", random_state=SEED)
    if algorithm == "mlp":
        return make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=(32, 16), alpha=1e-3, learning_rate_init=0.01, max_iter=500, random_state=SEED
            ),
        )
    raise ValueError(algorithm)


def params_of(model) -> dict[str, Any]:
    out = {}
    for key, value in model.get_params(deep=True).items():
        if isinstance(value, (int, float, str, bool, type(None))) or (
            isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value)
        ):
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """The Mann-Whitney form: the chance a random positive scores above a random negative (ties count half)."""
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return None
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def metrics(y: np.ndarray, predicted: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 of the positive class, ROC AUC and the confusion matrix
    [[tn, fp], [fn, tp]]; precision and F1 are 0 when nothing is predicted positive (as sklearn's zero_division=0)."""
    y, predicted = np.asarray(y).astype(int), np.asarray(predicted).astype(int)
    tp = int(((y == 1) & (predicted == 1)).sum())
    fp = int(((y == 0) & (predicted == 1)).sum())
    fn = int(((y == 1) & (predicted == 0)).sum())
    tn = int(((y == 0) & (predicted == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / len(y) if len(y) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(y, np.asarray(score, dtype=float)),
        "confusion": [[tn, fp], [fn, tp]],
        "support": len(y),
        "positives": int(y.sum()),
    }


def cross_validate(algorithm: str, X: np.ndarray, y: np.ndarray, features: list[str], folds: int = FOLDS) -> dict:
    """Stratified k-fold over customers (each row one customer): per-fold metrics, their mean and standard
    deviation, and the pooled out-of-fold confusion matrix."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    if len(np.unique(y)) < 2 or min(np.bincount(y)) < folds:
        raise AppError(409, "MODEL_TOO_FEW_LABELS", positives=int(y.sum()), customers=len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    per_fold, oof_pred, oof_score = [], np.zeros(len(y), int), np.zeros(len(y))
    for train, test in splitter.split(X, y):
        model = clone(estimator(algorithm, features)).fit(X[train], y[train])
        score = model.predict_proba(X[test])[:, 1]
        pred = model.predict(X[test])
        oof_pred[test], oof_score[test] = pred, score
        per_fold.append(metrics(y[test], pred, score))
    summary: dict[str, Any] = {}
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        values = [m[key] for m in per_fold if m[key] is not None]
        summary[key] = float(np.mean(values)) if values else None
        summary[f"{key}_std"] = float(np.std(values)) if values else None
    pooled = metrics(y, oof_pred, oof_score)
    return {
        **summary,
        "confusion": pooled["confusion"],
        "folds": per_fold,
        "support": len(y),
        "positives": int(y.sum()),
        "k": folds,
    }


# --- training, versions, promotion -------------------------------------------------------------------------------


def train(
    session: Session,
    lake_dir: Path,
    task_name: str,
    cutoff: datetime | None = None,
    order_sources: set[int] | None = None,
    actor_id: int | None = None,
    progress=None,
) -> list[ModelVersion]:
    """Train every algorithm of `task_name` with cross-validation, fit each on all customers, keep them as new
    versions (committed); returns them."""
    task = TASKS[task_name]
    data = dataset(lake_dir, task, cutoff, order_sources)
    run = uuid.uuid4().hex[:12]
    folder = models_dir(lake_dir)
    folder.mkdir(parents=True, exist_ok=True)
    versions = []
    for i, algorithm in enumerate(ALGORITHMS):
        if progress:
            progress(i, len(ALGORITHMS), algorithm)
        cv = cross_validate(algorithm, data.X, data.y, data.features)
        model = estimator(algorithm, data.features).fit(data.X, data.y)
        artifact = f"{task.name}-{run}-{algorithm}.joblib"
        joblib.dump({"model": model, "features": data.features, "task": task.name}, folder / artifact)
        explained = {}
        if algorithm == "decision_tree":
            from sklearn.tree import export_text

            explained["rules"] = export_text(model, feature_names=data.features, max_depth=3, decimals=2)
            explained["importance"] = dict(zip(data.features, map(float, model.feature_importances_), strict=True))
        version = ModelVersion(
            task=task.name,
            algorithm=algorithm,
            run=run,
            snapshot=f"events<={data.label_end.isoformat()}",
            as_of=data.cutoff,
            horizon_days=task.horizon_days,
            features=data.features,
            params={"estimator": params_of(model), "folds": FOLDS, "seed": SEED, "label": task.positive},
            metrics={"cv": cv, "label_end": data.label_end.isoformat(), **explained},
            artifact=f"profiles/models/{artifact}",
            promoted=False,
            created_by=actor_id,
        )
        session.add(version)
        versions.append(version)
    session.commit()
    if progress:
        progress(len(ALGORITHMS), len(ALGORITHMS), "")
    return versions


def list_versions(session: Session, task: str | None = None) -> list[ModelVersion]:
    q = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    if task:
        q = q.where(ModelVersion.task == task)
    return list(session.scalars(q.limit(200)))


def get_version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise AppError(404, "NOT_FOUND", resource="model_version")
    return version


def promote(session: Session, version_id: int) -> ModelVersion:
    """Make this version the task's promoted one (every other version of the task loses the flag, in the same
    transaction: one promoted per task)."""
    version = session.scalars(select(ModelVersion).where(ModelVersion.id == version_id).with_for_update()).one_or_none()
    if version is None:
        raise AppError(404, "NOT_FOUND", resource="model_version")
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.task == version.task, ModelVersion.id != version.id)
        .values(promoted=False, promoted_at=None)
    )
    version.promoted, version.promoted_at = True, datetime.now(UTC)
    session.commit()
    return version


def promoted(session: Session, task: str) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion).where(ModelVersion.task == task, ModelVersion.promoted.is_(True))
    ).first()


def load(lake_dir: Path, version: ModelVersion) -> dict[str, Any]:
    path = lake_dir / version.artifact
    if not path.exists():
        raise AppError(409, "MODEL_ARTIFACT_MISSING", version=version.id)
    return joblib.load(path)


def _population(task: Task, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[~frame["is_minor"].fillna(False).astype(bool)]
    return frame[frame["orders"].fillna(0) > 0] if task.buyers_only else frame


def score_all(session: Session, lake_dir: Path, task_name: str) -> dict[str, Any]:
    """Score every customer of the published store with the task's promoted model: the scores file
    (`lake/profiles/models/scores/<task>.parquet`) and the wide table's column."""
    import pyarrow.parquet as pq

    task = TASKS[task_name]
    version = promoted(session, task_name)
    if version is None:
        raise AppError(409, "MODEL_NOT_PROMOTED", task=task_name)
    fitted = load(lake_dir, version)
    frame = _population(task, model_features.published(lake_dir))
    X = model_features.prepare(frame, fitted["features"])
    scores = fitted["model"].predict_proba(X)[:, 1] if len(frame) else np.zeros(0)
    table = model_features.to_arrow_scores(frame["user_id"], scores)
    out = models_dir(lake_dir) / "scores" / f"{task_name}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}")
    pq.write_table(table.append_column("version", pq_array(version.id, table.num_rows)), tmp)
    tmp.replace(out)
    written = store.write_scores(lake_dir, task.column, table, f"{task_name}:{version.id}")
    return {
        "task": task_name,
        "version": version.id,
        "customers": written,
        "mean_score": float(scores.mean()) if len(scores) else None,
    }


def pq_array(value: int, n: int):
    import pyarrow as pa

    return pa.array([value] * n, pa.int64())


def score_one(session: Session, lake_dir: Path, task_name: str, user_id: str) -> dict[str, Any]:
    """One customer's score from the promoted model, on their row of the published store."""
    task = TASKS[task_name]
    version = promoted(session, task_name)
    if version is None:
        raise AppError(409, "MODEL_NOT_PROMOTED", task=task_name)
    row = store.customer(lake_dir, user_id)
    if row is None:
        raise AppError(404, "NOT_FOUND", resource="customer")
    if row.get("is_minor"):
        raise AppError(422, "MODEL_MINOR", field="user_id")
    if task.buyers_only and not row.get("orders"):
        raise AppError(422, "MODEL_NOT_A_BUYER", field="user_id", task=task_name)
    fitted = load(lake_dir, version)
    interests = pd.DataFrame(store.interests(lake_dir, user_id) or [], columns=["kind", "key", "score"])
    interests["user_id"] = user_id
    frame = pd.DataFrame([row])
    shares = model_features.interest_shares(interests, frame["user_id"], None)
    frame = frame.merge(shares, on="user_id", how="left")
    X = model_features.prepare(frame, fitted["features"])
    score = float(fitted["model"].predict_proba(X)[0, 1])
    return {
        "task": task_name,
        "version": version.id,
        "algorithm": version.algorithm,
        "user_id": user_id,
        "score": score,
        "label": int(score >= 0.5),
        "features": {name: float(X[0, j]) for j, name in enumerate(fitted["features"])},
        "computed_at": row.get("computed_at"),
    }
