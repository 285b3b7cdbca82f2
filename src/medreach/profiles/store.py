"""The profile store in the lake: where its tables live, how a build is published, and the readers. This module
is the ONLY reader of `lake/profiles/*` for the rest of the code base.

    lake/profiles/customers/data.parquet   one row per customer: the wide table (CUSTOMER_COLUMNS)
    lake/profiles/interests/               user_id, kind ('category' | 'brand'), key, score
    lake/profiles/health/data.parquet      user_id, condition, confidence, evidence, medicine_product_id,
                                           next_refill_date; consenting customers only (sensitive)
    lake/profiles/activity/                user_id, day, event, category, count (per Shanghai day)
    lake/profiles/tags/                    user_id, tag, value, score, evidence, computed_at
    lake/profiles/imports/<tag>.parquet    an imported tag's accepted rows (user_id, value), kept across builds
    lake/profiles/scores/<column>.parquet  a promoted model's scores (user_id, score, model), kept across builds
    lake/profiles/manifest.json            the published build: id, as of, engine, rows per table

A table is a folder of Parquet files: one `data.parquet` when DuckDB or this module wrote it, Spark's part files
when Spark did. A build writes every table into a staging folder and `publish` swaps the folders in under the
store's lock, so a reader sees the previous build or the new one, never a half-written table; the customers and
health tables are always single files, replaced with an atomic rename when a score or a consent changes them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from medreach.core.sql import sql_literal

TABLES = ("customers", "interests", "health", "activity", "tags")
# The wide table's columns (PROFILES.md): add more, never rename. Readers and condition trees rely on them.
CUSTOMER_COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.string(),
    "computed_at": pa.timestamp("us", tz="UTC"),
    "gender": pa.string(),
    "age": pa.int64(),
    "age_band": pa.string(),
    "is_minor": pa.bool_(),
    "city": pa.string(),
    "city_tier": pa.int64(),
    "region": pa.string(),
    "occupation": pa.string(),
    "orders": pa.int64(),
    "first_order_at": pa.timestamp("us", tz="UTC"),
    "last_order_at": pa.timestamp("us", tz="UTC"),
    "recency_days": pa.float64(),
    "monetary_fen": pa.int64(),
    "aov_fen": pa.int64(),
    "purchase_interval_days": pa.float64(),
    "price_sensitivity": pa.float64(),
    "r_score": pa.int64(),
    "f_score": pa.int64(),
    "m_score": pa.int64(),
    "rfm_group": pa.string(),
    "p_alive": pa.float64(),
    "expected_orders_90d": pa.float64(),
    "expected_value_12m_fen": pa.int64(),
    "churn_risk": pa.float64(),
    "propensity_30d": pa.float64(),
    "top_categories": pa.list_(pa.string()),
    "top_brands": pa.list_(pa.string()),
    "events": pa.int64(),
    "sessions": pa.int64(),
    "product_views": pa.int64(),
    "searches": pa.int64(),
    "cart_adds": pa.int64(),
    "last_seen_at": pa.timestamp("us", tz="UTC"),
    "last_active_days": pa.float64(),
    "consent_marketing_sms": pa.bool_(),
    "consent_marketing_email": pa.bool_(),
    "consent_marketing_push": pa.bool_(),
    "consent_personalization": pa.bool_(),
    "consent_health_profile": pa.bool_(),
}
CUSTOMER_SCHEMA = pa.schema(list(CUSTOMER_COLUMNS.items()))
HEALTH_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("condition", pa.string()),
        ("confidence", pa.float64()),
        ("evidence", pa.string()),
        ("medicine_product_id", pa.int64()),
        ("next_refill_date", pa.date32()),
    ]
)
TAG_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("tag", pa.string()),
        ("value", pa.string()),
        ("score", pa.float64()),
        ("evidence", pa.string()),
        ("computed_at", pa.timestamp("us", tz="UTC")),
    ]
)
SCORE_COLUMNS = ("churn_risk", "propensity_30d")  # what a promoted model may write into the wide table


class StoreMissing(LookupError):
    """No profile build has been published yet."""


def root(lake_dir: Path) -> Path:
    return lake_dir / "profiles"


def folder(lake_dir: Path, name: str) -> Path:
    return root(lake_dir) / name


def import_file(lake_dir: Path, tag: str) -> Path:
    return root(lake_dir) / "imports" / f"{tag}.parquet"


def scores_file(lake_dir: Path, column: str) -> Path:
    return root(lake_dir) / "scores" / f"{column}.parquet"


def manifest(lake_dir: Path) -> dict[str, Any] | None:
    path = root(lake_dir) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def built(lake_dir: Path) -> bool:
    return manifest(lake_dir) is not None


def staging(lake_dir: Path, build_id: str) -> Path:
    return lake_dir / "staging" / f"profiles-{build_id}"


@contextmanager
def locked(lake_dir: Path) -> Iterator[None]:
    """The store's write lock (a file lock, so several processes share it): publishing a build, replacing a
    tag's values, removing a customer's health rows and writing scores take it, one at a time."""
    path = root(lake_dir) / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _swap(new: Path, target: Path) -> None:
    """Put folder `new` in the place of `target` (two renames; readers retry in the instant between them)."""
    old = target.with_name(f".{target.name}.old")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def publish(staged: Path, lake_dir: Path, meta: dict[str, Any]) -> None:
    """Publish a staged build: each table's folder swapped in, then the manifest that names the build."""
    with locked(lake_dir):
        for name in TABLES:
            if (staged / name).exists():
                _swap(staged / name, folder(lake_dir, name))
        _write_json(root(lake_dir) / "manifest.json", meta)
    shutil.rmtree(staged, ignore_errors=True)


def write_single(table: pa.Table, target: Path) -> None:
    """`table` as `target/data.parquet`, replacing the file atomically (the folder holds nothing else)."""
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".data-{uuid.uuid4().hex}.parquet"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, target / "data.parquet")
    for other in target.glob("*.parquet"):
        if other.name != "data.parquet":
            other.unlink()


# --- reading -----------------------------------------------------------------------------------------------------


def files(lake_dir: Path, name: str) -> list[str]:
    """The Parquet files of a published table (empty when there is none)."""
    for _ in range(20):  # a publish swaps folders: wait out the instant the table is between them
        where = folder(lake_dir, name)
        if where.exists() or not where.with_name(f".{name}.old").exists():
            return sorted(str(p) for p in where.glob("*.parquet"))
        time.sleep(0.01)
    return []


def relation(lake_dir: Path, name: str) -> str:
    """A DuckDB table expression over a published table (raises StoreMissing when there is none)."""
    found = files(lake_dir, name)
    if not found:
        raise StoreMissing(name)
    return f"read_parquet([{', '.join(sql_literal(f) for f in found)}], union_by_name=true)"


def query(sql: str, params: list[Any] | None = None) -> pa.Table:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetch_arrow_table()
    finally:
        con.close()


def _rows(lake_dir: Path, name: str, where: str, params: list[Any], order: str = "") -> list[dict[str, Any]]:
    try:
        source = relation(lake_dir, name)
    except StoreMissing:
        return []
    return query(f"SELECT * FROM {source} WHERE {where} {order}", params).to_pylist()


def customer(lake_dir: Path, user_id: str) -> dict[str, Any] | None:
    """One customer's row of the wide table, or None."""
    rows = _rows(lake_dir, "customers", "user_id = ?", [user_id])
    return rows[0] if rows else None


def customers_summary(lake_dir: Path, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """A few headline columns for a page of customers, by user id."""
    if not user_ids:
        return {}
    try:
        source = relation(lake_dir, "customers")
    except StoreMissing:
        return {}
    table = query(
        "SELECT user_id, orders, monetary_fen, rfm_group, last_order_at, last_seen_at, age_band, city_tier "
        f"FROM {source} WHERE list_contains(?, user_id)",
        [user_ids],
    )
    return {row["user_id"]: row for row in table.to_pylist()}


def find_customers(
    lake_dir: Path,
    where: dict[str, Any],
    limit: int,
    offset: int,
    among: list[str] | None = None,
) -> tuple[list[str], int]:
    """The ids of the customers whose row matches every filter of `where` (rfm_group, city_tier, age_band: equal;
    min_orders: at least), newest id first, one page of them, and how many match; only among `among` if given."""
    if among is not None and not among:
        return [], 0
    try:
        source = relation(lake_dir, "customers")
    except StoreMissing:
        return [], 0
    conds: list[str] = []
    params: list[Any] = []
    for column in ("rfm_group", "city_tier", "age_band"):
        if where.get(column) is not None:
            conds.append(f"{column} = ?")
            params.append(where[column])
    if where.get("min_orders") is not None:
        conds.append("orders >= ?")
        params.append(where["min_orders"])
    if among is not None:
        conds.append("list_contains(?, user_id)")
        params.append(among)
    clause = " AND ".join(conds) or "true"
    total = int(query(f"SELECT count(*) AS n FROM {source} WHERE {clause}", params)["n"][0].as_py())
    table = query(
        f"SELECT user_id FROM {source} WHERE {clause} "
        "ORDER BY TRY_CAST(user_id AS BIGINT) DESC NULLS LAST, user_id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [str(u) for u in table.column("user_id").to_pylist()], total


def interests(lake_dir: Path, user_id: str) -> list[dict[str, Any]]:
    return _rows(lake_dir, "interests", "user_id = ?", [user_id], "ORDER BY kind, score DESC, key")


def tag_values(lake_dir: Path, user_id: str) -> list[dict[str, Any]]:
    return _rows(lake_dir, "tags", "user_id = ?", [user_id], "ORDER BY tag, score DESC NULLS LAST, value")


def health_rows(lake_dir: Path, user_id: str) -> list[dict[str, Any]]:
    """One customer's health rows as stored: the caller checks live consent (health.py does)."""
    return _rows(lake_dir, "health", "user_id = ?", [user_id], "ORDER BY condition, medicine_product_id")


def activity(lake_dir: Path, user_id: str, days: int = 90) -> list[dict[str, Any]]:
    """One customer's daily event counts (all categories together) over the `days` days up to their last."""
    rows = _rows(lake_dir, "activity", "user_id = ? AND category IS NULL", [user_id], "ORDER BY day, event")
    if not rows:
        return []
    last = max(r["day"] for r in rows)
    return [r for r in rows if (last - r["day"]).days < days]


def customer_count(lake_dir: Path) -> int:
    try:
        return int(query(f"SELECT count(*) AS n FROM {relation(lake_dir, 'customers')}")["n"][0].as_py())
    except StoreMissing:
        return 0


def tag_counts(lake_dir: Path) -> dict[str, int]:
    """Customers with a value, per tag of the tags table and per condition of the health table (`health:<c>`)."""
    counts: dict[str, int] = {}
    for name, column, prefix in (("tags", "tag", ""), ("health", "condition", "health:")):
        try:
            source = relation(lake_dir, name)
        except StoreMissing:
            continue
        table = query(f"SELECT {column} AS k, count(DISTINCT user_id) AS n FROM {source} GROUP BY 1")
        counts.update({prefix + row["k"]: row["n"] for row in table.to_pylist()})
    return counts


def distribution(lake_dir: Path, tag: str, health_condition: str | None = None, top: int = 20) -> list[dict]:
    """How a tag's values are spread: customers per value (the `top` most common), with the mean score."""
    name, column, key = ("health", "condition", health_condition) if health_condition else ("tags", "tag", tag)
    value = "'yes'" if health_condition else "value"
    score = "confidence" if health_condition else "score"
    try:
        source = relation(lake_dir, name)
    except StoreMissing:
        return []
    return query(
        f"SELECT {value} AS value, count(DISTINCT user_id) AS customers, avg({score}) AS mean_score FROM {source} "
        f"WHERE {column} = ? GROUP BY 1 ORDER BY customers DESC, value LIMIT {int(top)}",
        [key],
    ).to_pylist()


def histogram(lake_dir: Path, tag: str, bins: int = 10) -> list[dict]:
    """The scores of a numeric tag in `bins` equal-width bins (lower edge, upper edge, customers)."""
    try:
        source = relation(lake_dir, "tags")
    except StoreMissing:
        return []
    rows = query(f"SELECT min(score) AS lo, max(score) AS hi FROM {source} WHERE tag = ?", [tag]).to_pylist()
    lo, hi = rows[0]["lo"], rows[0]["hi"]
    if lo is None:
        return []
    width = (hi - lo) / bins or 1.0
    counts = {
        r["b"]: r["n"]
        for r in query(
            f"SELECT least(CAST(floor((score - ?) / ?) AS BIGINT), {bins - 1}) AS b, count(*) AS n FROM {source} "
            "WHERE tag = ? AND score IS NOT NULL GROUP BY 1",
            [lo, width, tag],
        ).to_pylist()
    }
    return [{"lo": lo + i * width, "hi": lo + (i + 1) * width, "customers": counts.get(i, 0)} for i in range(bins)]


def known_ids(lake_dir: Path, user_ids: list[str]) -> set[str]:
    """Which of these ids are customers in the published store."""
    try:
        source = relation(lake_dir, "customers")
    except StoreMissing:
        return set()
    table = query(f"SELECT user_id FROM {source} WHERE list_contains(?, user_id)", [list(set(user_ids))])
    return set(table["user_id"].to_pylist())


# --- changing a published store ---------------------------------------------------------------------------------


def replace_tag_values(lake_dir: Path, tag: str, values: pa.Table | None) -> int:
    """Replace one tag's rows of the tags table with `values` (TAG_SCHEMA; None: remove them); returns the rows
    written for the tag."""
    with locked(lake_dir):
        target = folder(lake_dir, "tags")
        new = target.with_name(f".tags.{uuid.uuid4().hex}")
        new.mkdir(parents=True)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            parts = []
            if files(lake_dir, "tags"):
                parts.append(f"SELECT * FROM {relation(lake_dir, 'tags')} WHERE tag <> {sql_literal(tag)}")
            if values is not None and values.num_rows:
                con.register("incoming", values.cast(TAG_SCHEMA))
                parts.append("SELECT * FROM incoming")
            if parts:
                con.execute(
                    f"COPY ({' UNION ALL '.join(parts)}) TO {sql_literal(new / 'data.parquet')} "
                    "(FORMAT PARQUET, COMPRESSION ZSTD)"
                )
            else:
                pq.write_table(TAG_SCHEMA.empty_table(), new / "data.parquet")
        finally:
            con.close()
        _swap(new, target)
    return 0 if values is None else values.num_rows


def remove_health(lake_dir: Path, user_id: str) -> int:
    """Take one customer's rows out of the health table (a withdrawn consent); returns how many were removed."""
    with locked(lake_dir):
        found = files(lake_dir, "health")
        if not found:
            return 0
        table = pq.read_table(found)
        keep = pc.not_equal(table["user_id"], pa.scalar(user_id))
        removed = table.num_rows - int(pc.sum(keep.cast(pa.int64())).as_py() or 0)
        if removed:
            write_single(table.filter(keep), folder(lake_dir, "health"))
        return removed


def write_scores(lake_dir: Path, column: str, scores: pa.Table, model: str) -> int:
    """A promoted model's scores (columns user_id, score) into the wide table's `column` (churn_risk or
    propensity_30d), kept beside the store so every later build uses them; returns the customers scored."""
    if column not in SCORE_COLUMNS:
        raise ValueError(f"scores go into one of {', '.join(SCORE_COLUMNS)}")
    scores = scores.select(["user_id", "score"]).cast(pa.schema([("user_id", pa.string()), ("score", pa.float64())]))
    scores = scores.append_column("model", pa.array([model] * scores.num_rows, pa.string()))
    with locked(lake_dir):
        path = scores_file(lake_dir, column)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        pq.write_table(scores, tmp, compression="zstd")
        os.replace(tmp, path)
        found = files(lake_dir, "customers")
        if found:
            customers = pq.read_table(found)
            write_single(apply_scores(customers, column, scores), folder(lake_dir, "customers"))
    return scores.num_rows


def apply_scores(customers: pa.Table, column: str, scores: pa.Table) -> pa.Table:
    """`customers` with `column` taken from `scores` where a customer was scored (kept as it was elsewhere)."""
    at = pc.index_in(customers["user_id"], value_set=scores["user_id"])
    scored = pc.take(scores["score"], at)
    index = customers.schema.get_field_index(column)
    merged = pc.coalesce(scored, customers[column].cast(pa.float64()))
    return customers.set_column(index, customers.schema.field(index), merged)


def load_scores(lake_dir: Path, column: str) -> pa.Table | None:
    path = scores_file(lake_dir, column)
    return pq.read_table(path) if path.exists() else None


def version(lake_dir: Path) -> str | None:
    """The published store's version: its build and the latest change of any of its tables (a refreshed tag,
    a model's scores, a customer's health rows removed), or None before the first build. Readers that keep
    results (dynamic segments) recompute when it changes."""
    meta = manifest(lake_dir)
    if meta is None:
        return None
    stamps = [os.stat(f).st_mtime_ns for name in TABLES for f in files(lake_dir, name) if os.path.exists(f)]
    return f"{meta.get('build', '')}:{max(stamps, default=0)}"
