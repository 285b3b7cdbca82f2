"""The health tags against the simulated world's truth (issue 13, item 7). The simulator writes each person's
latent conditions beside the lake (`lake/simulation/people.parquet`: user_id, kind, conditions); the tags are
the published health table (`profiles/health.py`). Per condition: precision (of the customers tagged, the share
who have it) and recall (of the customers who have it, the share tagged), among the customers the tags could be
computed for — shoppers of the store whose health_profile consent was in force at the build — overall and at
each confidence level. The truth is read here only: it never enters a feature or a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from medreach.core.errors import AppError
from medreach.profiles import health, store

CONFIDENCE_LEVELS = (0.5, 0.75, 0.875)


def truth_file(lake_dir: Path) -> Path:
    return lake_dir / "simulation" / "people.parquet"


def scores(tagged: set[str], actual: set[str]) -> dict[str, Any]:
    tp = len(tagged & actual)
    return {
        "tagged": len(tagged),
        "actual": len(actual),
        "true_positives": tp,
        "precision": tp / len(tagged) if tagged else None,
        "recall": tp / len(actual) if actual else None,
    }


def report(lake_dir: Path) -> dict[str, Any]:
    path = truth_file(lake_dir)
    if not path.exists():
        raise AppError(409, "TRUTH_MISSING")
    people = pq.read_table(path, columns=["user_id", "kind", "conditions"]).to_pylist()
    found = store.files(lake_dir, "customers")
    if not found:
        raise AppError(409, "PROFILES_NOT_BUILT")
    consenting = set(
        store.query(f"SELECT user_id FROM {store.relation(lake_dir, 'customers')} WHERE consent_health_profile")[
            "user_id"
        ].to_pylist()
    )
    shoppers = {p["user_id"]: set(p["conditions"] or ()) for p in people if p["kind"] == "shopper"}
    scope = consenting & set(shoppers)
    rows = pq.read_table(store.files(lake_dir, "health")).to_pylist() if store.files(lake_dir, "health") else []
    conditions = []
    rules = health.rules()
    for condition in rules.conditions:
        actual = {u for u in scope if condition in shoppers[u]}
        mine = [r for r in rows if r["condition"] == condition and r["user_id"] in scope]
        levels = [
            {"min_confidence": level, **scores({r["user_id"] for r in mine if r["confidence"] >= level}, actual)}
            for level in CONFIDENCE_LEVELS
        ]
        names = rules.conditions[condition]
        conditions.append(
            {
                "condition": condition,
                "name_zh": names.name_zh,
                "name_en": names.name_en,
                "tag": health.tag_code(condition),
                **scores({r["user_id"] for r in mine}, actual),
                "levels": levels,
            }
        )
    return {
        "customers": len(scope),
        "shoppers": len(shoppers),
        "consenting": len(consenting),
        "build": (store.manifest(lake_dir) or {}).get("build"),
        "rules_version": rules.version,
        "conditions": conditions,
    }
