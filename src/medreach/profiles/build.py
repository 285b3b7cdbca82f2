"""The profile build: the store of PROFILES.md computed from the lake on DuckDB or Spark, written to a staging
folder and published whole (`store.publish`). What comes from the database (consents as of now, the rule and
imported tags of the catalogue) is handed in, so this module reads no table of another domain.

Most of the work is Ibis (`features`, `health`, `tags`), run by the engine; the lifetime-value fit (`clv`, numpy)
runs on the paid orders collected to this process, and the consent columns are joined here too, so both engines
give the same rows.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medreach.orders import lake_figures
from medreach.pipeline import engine
from medreach.profiles import features, health, store, tags

CONSENT_COLUMNS = {
    "consent_marketing_sms": "marketing_sms",
    "consent_marketing_email": "marketing_email",
    "consent_marketing_push": "marketing_push",
    "consent_personalization": "personalization",
    "consent_health_profile": "health_profile",
}


@dataclass(frozen=True)
class RuleTag:
    code: str
    definition: dict[str, Any]
    version: int


@dataclass
class BuildInput:
    """What the database contributes: the users granting each consent purpose now (ids as text), the catalogue's
    rule tags, the codes of its imported tags and the internal event sources (features.read_inputs)."""

    consents: dict[str, set[str]] = field(default_factory=dict)
    rule_tags: list[RuleTag] = field(default_factory=list)
    import_tags: list[str] = field(default_factory=list)
    order_sources: set[int] | None = None  # whose Order Completed events are paid orders (None: every source)


def build(
    lake_dir: Path,
    given: BuildInput,
    engine_name: str = "duckdb",
    spark_master: str = "local[*]",
    as_of: datetime | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Compute the whole store and publish it; returns the manifest (rows per table, seconds per step)."""
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    build_id = uuid.uuid4().hex[:12]
    work = store.staging(lake_dir, build_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    steps: dict[str, float] = {}
    rows: dict[str, int] = {}
    started = last = time.perf_counter()
    plan = ("customers", "interests", "activity", "health", "tags", "products")

    def done(name: str, count: int | None = None) -> None:
        nonlocal last
        now = time.perf_counter()
        steps[name] = round(now - last, 3)
        last = now
        if count is not None:
            rows[name] = count
        if progress:
            progress(len(steps), len(plan), name)

    con = engine.connect(engine_name, spark_master)
    cached: list[Any] = []

    def keep(expr):
        cached.append(engine.materialize(expr))
        return cached[-1]

    try:
        inputs = features.read_inputs(con, lake_dir, as_of, given.order_sources)
        buyers = keep(features.consumption(inputs))
        gap = features.median_gap(con, buyers)
        wide = engine.to_arrow(con, features.customers(inputs, buyers, gap).order_by("user_id"))
        paid = engine.to_arrow(con, inputs.orders.select("user_id", "day", "total_fen"))
        customers = _assemble(lake_dir, wide, paid, given.consents, as_of)
        store.write_single(customers, work / "customers")
        done("customers", customers.num_rows)

        engine.write_parquet(con, features.interests(inputs), work / "interests")
        done("interests")
        engine.write_parquet(con, features.activity(inputs), work / "activity")
        done("activity")

        consenting = ibis.memtable(
            pa.table({"user_id": pa.array(sorted(given.consents.get(health.PURPOSE, ())), pa.string())})
        )
        inferred = engine.to_arrow(con, health.infer(inputs, consenting))
        health_rows = health.health_table(inferred)
        store.write_single(health_rows, work / "health")
        done("health", health_rows.num_rows)

        staged = engine.read_folder(con, work / "customers")
        builtin = tags.builtin_values(staged, engine.read_folder(con, work / "interests"), as_of)
        scope = tags.Scope(staged, builtin, engine.read_folder(con, work / "activity"), inputs.as_of_day)
        parts = [builtin]
        parts += [tags.rule_values(scope, r.code, r.definition, r.version, as_of) for r in given.rule_tags]
        parts += [t for code in given.import_tags if (t := tags.import_values(con, lake_dir, code, as_of)) is not None]
        engine.write_parquet(con, ibis.union(*parts, distinct=False), work / "tags")
        done("tags")

        figures = engine.to_arrow(con, features.product_figures(con, inputs, given.order_sources))
        figures = figures.select(lake_figures.SCHEMA.names).cast(lake_figures.SCHEMA)
        store.write_single(figures, lake_figures.folder(lake_dir))  # the storefront's, beside the marts
        done("products")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        for table in cached:
            table.release()
        engine.release(con, engine_name)

    meta = {
        "build": build_id,
        "as_of": as_of.isoformat(),
        "built_at": datetime.now(UTC).isoformat(),
        "engine": engine_name,
        "rows": rows,
        "seconds": {**steps, "total": round(time.perf_counter() - started, 3)},
        "clv": customers.schema.metadata and customers.schema.metadata.get(b"clv", b"").decode(),
    }
    store.publish(work, lake_dir, meta)
    return meta


def _assemble(
    lake_dir: Path, wide: pa.Table, paid: pa.Table, consents: dict[str, set[str]], as_of: datetime
) -> pa.Table:
    """The wide table: the engine's columns, the lifetime value, the consents as of now and any promoted model's
    scores, in CUSTOMER_SCHEMA's order."""
    n = wide.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {name: wide[name] for name in wide.column_names}
    columns["computed_at"] = pa.array([as_of] * n, pa.timestamp("us", tz="UTC"))
    value, note = lifetime_value(paid, wide["user_id"], as_of)
    columns.update(value)
    columns["propensity_30d"] = pa.nulls(n, pa.float64())
    for column, purpose in CONSENT_COLUMNS.items():
        allowed = pa.array(sorted(consents.get(purpose, ())), pa.string())
        columns[column] = pc.is_in(wide["user_id"], value_set=allowed)
    table = pa.table({name: columns[name] for name in store.CUSTOMER_COLUMNS}).cast(store.CUSTOMER_SCHEMA)
    for column in store.SCORE_COLUMNS:
        scores = store.load_scores(lake_dir, column)
        if scores is not None:
            table = store.apply_scores(table, column, scores)
    return table.replace_schema_metadata({"clv": note})


def lifetime_value(paid: pa.Table, user_ids: pa.ChunkedArray, as_of: datetime) -> tuple[dict[str, pa.Array], str]:
    """p_alive, expected_orders_90d and expected_value_12m_fen per customer (in `user_ids`' order) from BG/NBD and
    Gamma-Gamma fitted on the paid orders (one period a Shanghai day, amounts in fen, observed up to the as-of
    day); nulls when the models cannot be fitted (too few repeat customers). Returns the columns and a note."""
    from medreach.profiles import clv  # scipy: imported when a build runs, not by every process that serves the API

    n = len(user_ids)
    empty = {
        "p_alive": pa.nulls(n, pa.float64()),
        "expected_orders_90d": pa.nulls(n, pa.float64()),
        "expected_value_12m_fen": pa.nulls(n, pa.int64()),
    }
    if paid.num_rows == 0:
        return empty, "no paid orders"
    frame = paid.to_pandas()
    transactions = pd.DataFrame(
        {
            "customer_id": frame["user_id"].astype(str),
            "date": pd.to_datetime(frame["day"]),
            "amount": frame["total_fen"].astype(float),
        }
    ).sort_values(["customer_id", "date", "amount"], kind="stable", ignore_index=True)
    end = pd.Timestamp(as_of.astimezone(features.SHANGHAI).date())
    try:
        summary = clv.summarise(transactions, "D", observation_end=end)
        bgnbd = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
        gamma_gamma = clv.fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
        predicted = clv.predict(bgnbd, gamma_gamma, summary, "D")
    except (clv.ClvFitError, clv.ClvDataError, ValueError) as e:
        return empty, f"not fitted: {e}"
    at = pd.Index(predicted.index).get_indexer(np.asarray(user_ids.to_pylist(), dtype=object))
    found = at >= 0

    def column(name: str) -> np.ndarray:
        out = np.full(n, np.nan)
        out[found] = predicted[name].to_numpy()[at[found]]
        return out

    value = column("expected_value_12m")
    return {
        "p_alive": pa.array(column("probability_alive"), pa.float64(), from_pandas=True),
        "expected_orders_90d": pa.array(column("expected_orders_90d"), pa.float64(), from_pandas=True),
        "expected_value_12m_fen": pa.array(
            np.where(np.isnan(value), 0, np.round(value)).astype(np.int64), pa.int64(), mask=np.isnan(value)
        ),
    }, (
        f"BG/NBD r={bgnbd.r:.4g} alpha={bgnbd.alpha:.4g} a={bgnbd.a:.4g} b={bgnbd.b:.4g}; "
        f"Gamma-Gamma p={gamma_gamma.p:.4g} q={gamma_gamma.q:.4g} v={gamma_gamma.v:.4g}; {len(summary)} customers"
    )


def refresh(
    lake_dir: Path, code: str, rule: RuleTag | None, engine_name: str = "duckdb", spark_master: str = "local[*]"
) -> int:
    """Recompute one rule tag (`rule`) or re-apply one imported tag (None) over the published store, replacing
    that tag's values; returns how many customers have it now."""
    meta = store.manifest(lake_dir)
    if meta is None:
        raise store.StoreMissing("customers")
    as_of = datetime.fromisoformat(meta["as_of"])
    con = engine.connect(engine_name, spark_master)
    try:
        customers = engine.read_folder(con, store.folder(lake_dir, "customers"))
        if rule is not None:
            scope = tags.Scope(
                customers,
                engine.read_folder(con, store.folder(lake_dir, "tags")),
                engine.read_folder(con, store.folder(lake_dir, "activity")),
                as_of.astimezone(features.SHANGHAI).date(),
            )
            expr = tags.rule_values(scope, code, rule.definition, rule.version, datetime.now(UTC))
        else:
            imported = tags.import_values(con, lake_dir, code, datetime.now(UTC))
            if imported is None:
                store.replace_tag_values(lake_dir, code, None)
                return 0
            expr = imported.semi_join(customers, "user_id")
        values = engine.to_arrow(con, expr)
    finally:
        engine.release(con, engine_name)
    return store.replace_tag_values(lake_dir, code, values)
