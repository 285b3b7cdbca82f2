"""Offline evaluation: fit models on training interactions, rank items for the test users, score the lists.

`evaluate_files` is `medreach recommend evaluate`: every model is fitted on the training file; the users
evaluated are the test file's users that also appear in the training file; each gets a top-k list of items
from the training catalog without the items already in their training history; the relevant items of a user
are their distinct test items (all of them, also those the training history makes impossible to recommend).
The metrics are defined in `medreach.recommend.metrics`. With an output file, every model's lists are written
as `model,user_id,item_id,rank` (rank from 1), so that anyone can score them independently.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Sequence, Set
from pathlib import Path

from medreach.core.errors import AppError
from medreach.recommend.interactions import (
    Interactions,
    read_interactions,
    read_item_attributes,
    read_pairs,
    unreadable,
)
from medreach.recommend.metrics import score_lists
from medreach.recommend.models import Content, Recommender, default_models

LISTS_HEADER = ("model", "user_id", "item_id", "rank")


def targets(
    train: Interactions, test_users: Sequence[str], test_items: Sequence[str]
) -> tuple[list[str], list[set[str]]]:
    """The test users that appear in `train` (in train's user order) and each one's distinct test items."""
    relevant: dict[str, set[str]] = {}
    for user, item in zip(test_users, test_items, strict=True):
        relevant.setdefault(user, set()).add(item)
    positions = train.user_indices(list(relevant))
    users = [user for _, user in sorted((int(p), u) for u, p in zip(relevant, positions, strict=True) if p >= 0)]
    return users, [relevant[user] for user in users]


def evaluate(
    models: Sequence[Recommender],
    train: Interactions,
    users: Sequence[str],
    relevant: Sequence[Set[str]],
    k: int,
    lists_writer: Callable[[Sequence[str]], object] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Iterator[dict[str, str | float | int]]:
    """Fit each model on `train`, rank k items for each user and yield its metrics (one dict per model)."""
    for model in models:
        log(f"{model.name}: fitting on {len(train.users):,} interactions")
        started = time.perf_counter()
        try:
            model.fit(train)
        except AppError as e:
            if e.code != "CATALOG_TOO_LARGE":
                raise
            log(f"{model.name}: skipped, the catalog has {train.n_items:,} items (limit {e.params['limit']:,})")
            continue
        fit_seconds = time.perf_counter() - started
        lists = model.recommend(users, k, exclude_seen=True)
        if lists_writer is not None:
            for user, items in zip(users, lists, strict=True):
                for rank, item in enumerate(items, start=1):
                    lists_writer((model.name, user, item, str(rank)))
        yield {
            "model": model.name,
            **score_lists(lists, relevant, k, train.n_items),
            "fit_seconds": round(fit_seconds, 3),
        }


def evaluate_files(
    train_path: Path,
    test_path: Path,
    k: int = 10,
    output: Path | None = None,
    items_path: Path | None = None,
    model_names: Sequence[str] = (),
    half_life_days: float | None = 30.0,
    log: Callable[[str], None] = lambda _: None,
) -> Iterator[dict[str, str | float | int]]:
    """`medreach recommend evaluate`: the metrics of every model (or of those named), one dict per model."""
    if k < 1:
        raise AppError(422, "VALIDATION_ERROR", field="k")
    train = read_interactions(train_path, "train")
    users, relevant = targets(train, *read_pairs(test_path, "test"))
    if not users:
        raise unreadable("test", f"no user of {test_path.name} appears in {train_path.name}")
    attributes = read_item_attributes(items_path) if items_path else None
    models = default_models(attributes, half_life_days)
    if attributes is None:
        log(f"{Content.name}: skipped (no item attributes file)")
    if Content.name in model_names and attributes is None:
        raise unreadable("items", f"the {Content.name} model needs an item attributes file")
    if model_names:
        known = {m.name for m in models}
        unknown = sorted(set(model_names) - known)
        if unknown:
            raise unreadable("model", f"unknown model {', '.join(unknown)}; one of {', '.join(sorted(known))}")
        models = [m for m in models if m.name in model_names]
    log(f"{train.n_users:,} users, {train.n_items:,} items in {train_path.name}; {len(users):,} test users")
    if output is None:
        yield from evaluate(models, train, users, relevant, k, log=log)
        return
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(LISTS_HEADER)
        yield from evaluate(models, train, users, relevant, k, writer.writerow, log)
