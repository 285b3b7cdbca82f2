"""Transformations of lake tables, each defined once with Ibis (so the same definition can run on DuckDB,
the default engine, or on Spark)."""

from __future__ import annotations

import ibis
from ibis import _


def merge_snapshot(previous: ibis.Table | None, changes: ibis.Table, columns: list[str], key: str = "id") -> ibis.Table:
    """The table as of now: the previous snapshot, with the changed rows replacing theirs (an upsert wins over
    the older copy) and the deleted keys taken out. `changes` has the table's `columns` plus `_op`
    ('upsert' or 'delete')."""
    fresh = changes.filter(_._op == "upsert").select(columns).mutate(_newer=ibis.literal(1))
    rows = fresh if previous is None else previous.select(columns).mutate(_newer=ibis.literal(0)).union(fresh)
    newest_first = ibis.window(group_by=key, order_by=ibis.desc("_newer"))
    latest = rows.mutate(_rank=ibis.row_number().over(newest_first)).filter(_._rank == 0).drop("_rank", "_newer")
    deleted = changes.filter(_._op == "delete").select(key)
    return latest.anti_join(deleted, key).order_by(key)
