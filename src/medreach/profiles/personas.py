"""Personas by clustering (issue 13, 5.3 of the seed): k-means on the scaled customer features of the published
store, k chosen from 2..10 by the silhouette (computed on a sample when there are many customers) with the
elbow of the inertia beside it; each cluster described by the features where its mean differs most from
everyone's (in standard deviations), named by rules (慢病复购型, 价格敏感型, 季节感冒型 …), and a shallow decision
tree that explains membership as readable rules, with its fidelity to the k-means labels.

The result is kept in the lake (`lake/profiles/models/personas.json`, the assignment beside it in
`personas.parquet`); the chronic-care share enters only with an impact assessment id and only for customers
whose health_profile consent is in force (`model_features`).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medreach.core.errors import AppError
from medreach.profiles import model_features
from medreach.profiles.propensity import models_dir

K_RANGE = range(2, 11)
SILHOUETTE_SAMPLE = 5000
MIN_CUSTOMERS = 20
TREE_DEPTH = 4
SEED = 0
# (code, zh, en): the rules of `name_cluster`, in the order they are tried
NAMES = {
    "chronic": ("慢病复购型", "Chronic refills"),
    "dormant": ("沉睡流失型", "Dormant, lapsing"),
    "browser": ("只逛不买型", "Browsers, not buyers"),
    "high_value": ("高价值活跃型", "High-value active"),
    "price": ("价格敏感型", "Price-sensitive"),
    "seasonal": ("季节感冒型", "Seasonal cold & flu"),
    "loyal": ("稳定复购型", "Steady repeat buyers"),
    "new": ("新客尝鲜型", "New, one-time buyers"),
    "mainstream": ("普通大众型", "Mainstream occasional"),
}


def result_file(lake_dir: Path) -> Path:
    return models_dir(lake_dir) / "personas.json"


def scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z-scores (population standard deviation; a constant column scales to 0)."""
    mean, std = X.mean(axis=0), X.std(axis=0)
    safe = np.where(std > 0, std, 1.0)
    return (X - mean) / safe * (std > 0), mean, std


def choose_k(Z: np.ndarray, ks: range = K_RANGE) -> dict[str, Any]:
    """Inertia and silhouette per k; the chosen k has the best silhouette, the elbow is the k farthest from the
    line joining the first and the last inertia."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    candidates = [k for k in ks if k < len(Z)]
    rows: list[dict[str, Any]] = []
    sample = min(SILHOUETTE_SAMPLE, len(Z))
    for k in candidates:
        km = KMeans(n_clusters=k, n_init=4, random_state=SEED).fit(Z)
        labels = km.labels_
        sil = (
            float(silhouette_score(Z, labels, sample_size=sample, random_state=SEED))
            if len(np.unique(labels)) > 1
            else -1.0
        )
        rows.append({"k": k, "inertia": float(km.inertia_), "silhouette": sil})
    best = max(rows, key=lambda r: r["silhouette"])["k"]
    return {
        "scores": rows,
        "best_silhouette": best,
        "elbow": elbow([r["k"] for r in rows], [r["inertia"] for r in rows]),
    }


def elbow(ks: list[int], inertia: list[float]) -> int:
    if len(ks) < 3:
        return ks[0]
    x, y = np.asarray(ks, float), np.asarray(inertia, float)
    x = (x - x[0]) / (x[-1] - x[0])
    y = (y - y[-1]) / ((y[0] - y[-1]) or 1.0)
    # distance from the chord from (0, 1) to (1, 0): |x + y - 1| / sqrt 2
    return int(ks[int(np.argmax(np.abs(x + y - 1)))])


def name_cluster(raw: dict[str, float], z: dict[str, float]) -> str:
    """A suggested persona code from the cluster's mean raw features and their differences from everyone (in
    standard deviations)."""
    if raw.get("chronic_share", 0) >= 0.3 and z.get("chronic_share", 0) > 0.5:
        return "chronic"
    if raw["orders"] < 0.5:
        return "dormant" if raw["last_active_days"] > 90 else "browser"
    if raw["recency_days"] > 120 and z["recency_days"] > 0.3:
        return "dormant"
    if z["monetary_fen"] > 0.7 and z["recency_days"] < 0:
        return "high_value"
    if raw["price_sensitivity"] >= 0.4 and z["price_sensitivity"] > 0.5:
        return "price"
    if raw["cold_share"] >= 0.3 and z["cold_share"] > 0.5:
        return "seasonal"
    if z["orders"] > 0.5:
        return "loyal"
    if raw["orders"] < 1.5:
        return "new"
    return "mainstream"


def describe(frame: pd.DataFrame, Z: np.ndarray, labels: np.ndarray, names: list[str], top: int = 4) -> list[dict]:
    """Per cluster: size, share, the mean raw value and z difference of every feature, the `top` most
    distinguishing ones, and a suggested name (duplicates numbered)."""
    clusters = []
    used: dict[str, int] = {}
    for c in sorted(np.unique(labels)):
        inside = labels == c
        z = {n: float(Z[inside, j].mean()) for j, n in enumerate(names)}
        raw = {n: float(pd.to_numeric(frame.loc[inside, n], errors="coerce").fillna(0).mean()) for n in names}
        if "recency_days" in raw:  # non-buyers have no recency: the mean over those who bought
            bought = inside & (frame["orders"].fillna(0).to_numpy() > 0)
            raw["recency_days"] = float(frame.loc[bought, "recency_days"].mean()) if bought.any() else 730.0
        code = name_cluster(raw, z)
        used[code] = used.get(code, 0) + 1
        zh, en = NAMES[code]
        suffix = "" if used[code] == 1 else f" {used[code]}"
        ranked = sorted(names, key=lambda n: -abs(z[n]))[:top]
        clusters.append(
            {
                "cluster": int(c),
                "code": code,
                "name_zh": zh + suffix,
                "name_en": en + suffix,
                "size": int(inside.sum()),
                "share": float(inside.mean()),
                "distinguishing": [{"feature": n, "z": z[n], "mean": raw[n]} for n in ranked],
                "z": z,
                "mean": raw,
            }
        )
    return clusters


def explain(frame: pd.DataFrame, labels: np.ndarray, names: list[str]) -> dict[str, Any]:
    """A decision tree (depth TREE_DEPTH) on the raw features that predicts the cluster: its rules as text and
    as a list of leaves (conditions, cluster, customers), and its fidelity (accuracy against the k-means labels,
    on all customers and by 5-fold cross-validation)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, export_text

    X = np.column_stack([pd.to_numeric(frame[n], errors="coerce").fillna(_fill(n)).to_numpy() for n in names])
    tree = DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=SEED).fit(X, labels)
    fidelity = float((tree.predict(X) == labels).mean())
    folds = min(5, int(np.bincount(labels).min()))
    cv = (
        float(
            cross_val_score(DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=SEED), X, labels, cv=folds).mean()
        )
        if folds >= 2
        else None
    )
    return {
        "depth": TREE_DEPTH,
        "fidelity": fidelity,
        "fidelity_cv": cv,
        "text": export_text(tree, feature_names=names, decimals=2),
        "leaves": leaves(tree, names),
    }


def _fill(name: str) -> float:
    return model_features.NEVER_DAYS if name in ("recency_days", "last_active_days", "purchase_interval_days") else 0


def leaves(tree, names: list[str]) -> list[dict[str, Any]]:
    """Each leaf of a fitted tree as the path of conditions that leads to it, with its majority cluster."""
    t = tree.tree_
    out: list[dict[str, Any]] = []

    def walk(node: int, path: list[str]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            out.append(
                {
                    "conditions": path,
                    "cluster": int(tree.classes_[int(np.argmax(counts))]),
                    "customers": int(t.n_node_samples[node]),
                    "purity": float(counts.max() / counts.sum()),
                }
            )
            return
        name, threshold = names[t.feature[node]], float(t.threshold[node])
        walk(t.children_left[node], [*path, f"{name} <= {threshold:.2f}"])
        walk(t.children_right[node], [*path, f"{name} > {threshold:.2f}"])

    walk(0, [])
    return out


def run(
    lake_dir: Path,
    k: int | None = None,
    impact_assessment_id: str | None = None,
    consenting: set[str] | None = None,
) -> dict[str, Any]:
    """Cluster the published store's customers and keep the result; returns it. `k`: a fixed number of
    clusters (else the silhouette's choice); `impact_assessment_id` with `consenting` adds the chronic-care share
    of the consenting customers."""
    from sklearn.cluster import KMeans

    with_health = bool(impact_assessment_id)
    frame = model_features.published(lake_dir, consenting if with_health else None)
    frame = frame[~frame["is_minor"].fillna(False).astype(bool)].reset_index(drop=True)
    if len(frame) < MIN_CUSTOMERS:
        raise AppError(409, "PERSONAS_TOO_FEW", customers=len(frame), needed=MIN_CUSTOMERS)
    names = model_features.feature_names(with_health)
    Z, mean, std = scale(model_features.prepare(frame, names))
    selection = choose_k(Z)
    chosen = k or selection["best_silhouette"]
    labels = KMeans(n_clusters=chosen, n_init=8, random_state=SEED).fit(Z).labels_
    result = {
        "id": uuid.uuid4().hex[:12],
        "computed_at": datetime.now(UTC).isoformat(),
        "customers": len(frame),
        "features": names,
        "scaling": {
            n: {"log1p": n in model_features.LOGGED, "mean": float(m), "std": float(s)}
            for n, m, s in zip(names, mean, std, strict=True)
        },
        "impact_assessment_id": impact_assessment_id,
        "k": chosen,
        "k_fixed": k is not None,
        "selection": selection,
        "clusters": describe(frame, Z, labels, names),
        "tree": explain(frame, labels, names),
    }
    folder = models_dir(lake_dir)
    folder.mkdir(parents=True, exist_ok=True)
    assigned = pa.table({"user_id": pa.array(frame["user_id"].astype(str)), "cluster": pa.array(labels, pa.int64())})
    tmp = folder / f".personas.{result['id']}.parquet"
    pq.write_table(assigned, tmp)
    os.replace(tmp, folder / "personas.parquet")
    target = result_file(lake_dir)
    tmp = target.with_name(f".{target.name}.{result['id']}")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, target)
    return result


def latest(lake_dir: Path) -> dict[str, Any]:
    path = result_file(lake_dir)
    if not path.exists():
        raise AppError(404, "PERSONAS_NOT_RUN")
    return json.loads(path.read_text(encoding="utf-8"))
