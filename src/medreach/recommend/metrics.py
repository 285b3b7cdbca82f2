"""Top-k ranking metrics with binary relevance (the relevant items of a user are a set).

For one user with the ranked list `recommended` (its first k entries count) and the relevant set R:
- precision@k = hits / k  (a list shorter than k still divides by k)
- recall@k = hits / |R|
- NDCG@k = DCG / IDCG, DCG = sum over ranks i = 1..k of rel_i / log2(i + 1), IDCG the DCG of min(k, |R|) hits
- MAP@k = mean over users of AP@k, AP@k = sum over ranks i of P@i * rel_i / min(k, |R|)
- coverage = distinct items recommended to anyone / items in the catalog (the training items)
Each per-user figure is averaged over the users evaluated. Users with no relevant item are not evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence, Set


def _hits(recommended: Sequence[Hashable], relevant: Set[Hashable], k: int) -> list[bool]:
    return [item in relevant for item in recommended[:k]]


def precision_at_k(recommended: Sequence[Hashable], relevant: Set[Hashable], k: int) -> float:
    return sum(_hits(recommended, relevant, k)) / k


def recall_at_k(recommended: Sequence[Hashable], relevant: Set[Hashable], k: int) -> float:
    return sum(_hits(recommended, relevant, k)) / len(relevant)


def ndcg_at_k(recommended: Sequence[Hashable], relevant: Set[Hashable], k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(_hits(recommended, relevant, k)) if hit)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal


def average_precision_at_k(recommended: Sequence[Hashable], relevant: Set[Hashable], k: int) -> float:
    found, total = 0, 0.0
    for rank, hit in enumerate(_hits(recommended, relevant, k)):
        if hit:
            found += 1
            total += found / (rank + 1)
    return total / min(k, len(relevant))


PER_USER = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
}


def score_lists(
    lists: Sequence[Sequence[Hashable]], relevant: Sequence[Set[Hashable]], k: int, catalog_size: int
) -> dict[str, float | int]:
    """Mean precision@k, recall@k, ndcg@k and map@k of the users' lists, the lists' coverage, the user count.

    `lists[u]` is user u's ranked list, `relevant[u]` their relevant items (non-empty)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    users = len(relevant)
    if not users:
        raise ValueError("no users to evaluate")
    result: dict[str, float | int] = {}
    for name, metric in PER_USER.items():
        result[f"{name}@{k}"] = sum(metric(lst, rel, k) for lst, rel in zip(lists, relevant, strict=True)) / users
    recommended = {item for lst in lists for item in lst[:k]}
    result["coverage"] = len(recommended) / catalog_size
    result["users"] = users
    return result
