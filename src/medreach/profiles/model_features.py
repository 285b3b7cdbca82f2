"""The feature matrix of the personas and the predictive models: one row per customer, the profile store's own
columns (so a customer scored on demand from the published store gets exactly the features the model was trained
on), computed at any moment from the lake with the store's builders (`features.read_inputs(as_of)`,
`features.customers`, `build.lifetime_value`), and the share of recent interest in cold-season and chronic-care
categories from the interests table.

Counts, money and durations are log1p-transformed (`prepare`) before any scaling; the models scale inside their
pipeline (fitted on the training folds only), the personas with a z-score whose parameters are kept with the run.
The chronic-care share reads health-related purchases: it is used only when the caller records an impact
assessment id (COMPLIANCE 18), and only for customers whose `health_profile` consent is in force.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from medreach.core.errors import AppError
from medreach.pipeline import engine
from medreach.profiles import features, store

NUMERIC = (
    "orders",
    "monetary_fen",
    "aov_fen",
    "recency_days",
    "purchase_interval_days",
    "price_sensitivity",
    "events",
    "sessions",
    "product_views",
    "searches",
    "cart_adds",
    "last_active_days",
    "p_alive",
    "expected_orders_90d",
)
LOGGED = frozenset(NUMERIC) - {"price_sensitivity", "p_alive"}
INTEREST = ("cold_share",)
HEALTH = ("chronic_share",)
COLD_CATEGORIES = ("cold_flu", "cough", "pain_fever")
CHRONIC_CATEGORIES = ("hypertension", "diabetes", "lipids", "cardio", "device_bp", "device_glucose")
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)
NEVER_DAYS = 730.0  # recency / last activity of someone who never ordered or was never seen: two years


def feature_names(with_health: bool = False) -> list[str]:
    return [*NUMERIC, *INTEREST, *(HEALTH if with_health else ())]


def prepare(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The model's input matrix: missing values filled (a non-buyer has no recency, interval or CLV), counts,
    money and durations log1p-transformed."""
    out = np.empty((len(frame), len(names)), dtype=float)
    for j, name in enumerate(names):
        x = pd.to_numeric(frame[name], errors="coerce").astype(float).to_numpy() if name in frame else None
        if x is None:
            x = np.zeros(len(frame))
        fill = NEVER_DAYS if name in ("recency_days", "last_active_days", "purchase_interval_days") else 0.0
        x = np.where(np.isnan(x), fill, x)
        out[:, j] = np.log1p(np.clip(x, 0, None)) if name in LOGGED else x
    return out


def interest_shares(interests: pd.DataFrame, user_ids: pd.Series, consenting: set[str] | None) -> pd.DataFrame:
    """Per customer, the share of their (time-decayed) category interest in cold-season and chronic-care
    categories; chronic_share is 0 for a customer outside `consenting` (None: leave it out entirely)."""
    cats = interests[interests["kind"] == "category"]
    total = cats.groupby("user_id")["score"].sum()
    cold = cats[cats["key"].isin(COLD_CATEGORIES)].groupby("user_id")["score"].sum()
    out = pd.DataFrame({"user_id": user_ids.astype(str)})
    denominator = out["user_id"].map(total).astype(float)
    out["cold_share"] = (out["user_id"].map(cold).astype(float) / denominator).fillna(0.0)
    if consenting is not None:
        chronic = cats[cats["key"].isin(CHRONIC_CATEGORIES)].groupby("user_id")["score"].sum()
        share = (out["user_id"].map(chronic).astype(float) / denominator).fillna(0.0)
        out["chronic_share"] = np.where(out["user_id"].isin(consenting), share, 0.0)
    return out


def at(
    lake_dir: Path,
    as_of: datetime,
    order_sources: set[int] | None = None,
    consenting: set[str] | None = None,
) -> pd.DataFrame:
    """The feature table as the store's build would have computed it at `as_of` (nothing after it is read):
    user_id, the NUMERIC columns, cold_share and, with `consenting`, chronic_share."""
    from medreach.profiles import build  # the CLV fit (scipy), imported when features are computed

    con = engine.connect("duckdb")
    try:
        inputs = features.read_inputs(con, lake_dir, as_of, order_sources)
        buyers = engine.materialize(features.consumption(inputs))
        gap = features.median_gap(con, buyers)
        wide = engine.to_arrow(con, features.customers(inputs, buyers, gap).order_by("user_id"))
        paid = engine.to_arrow(con, inputs.orders.select("user_id", "day", "total_fen"))
        interests = engine.to_arrow(con, features.interests(inputs)).to_pandas()
        buyers.release()
    finally:
        engine.release(con, "duckdb")
    value, _ = build.lifetime_value(paid, wide["user_id"], as_of)
    frame = wide.select([c for c in wide.column_names if c in ("user_id", *NUMERIC, "is_minor")]).to_pandas()
    for name, column in value.items():
        if name in NUMERIC:
            frame[name] = column.to_numpy(zero_copy_only=False)
    shares = interest_shares(interests, frame["user_id"], consenting)
    return frame.merge(shares, on="user_id", how="left")


def published(lake_dir: Path, consenting: set[str] | None = None) -> pd.DataFrame:
    """The same table from the published store (its build's moment): what scoring and the personas read."""
    found = store.files(lake_dir, "customers")
    if not found:
        raise AppError(409, "PROFILES_NOT_BUILT")
    columns = ["user_id", *NUMERIC, "is_minor", "consent_health_profile"]
    frame = store.query(f"SELECT {', '.join(columns)} FROM {store.relation(lake_dir, 'customers')}").to_pandas()
    interest_files = store.files(lake_dir, "interests")
    interests = (
        store.query(f"SELECT user_id, kind, key, score FROM {store.relation(lake_dir, 'interests')}").to_pandas()
        if interest_files
        else pd.DataFrame({"user_id": [], "kind": [], "key": [], "score": []})
    )
    if consenting is not None:  # the ledger as of the build, narrowed by the live ledger the caller passes
        consenting = consenting & set(frame.loc[frame["consent_health_profile"].fillna(False), "user_id"])
    return frame.merge(interest_shares(interests, frame["user_id"], consenting), on="user_id", how="left")


def paid_between(
    lake_dir: Path, start: datetime, end: datetime, order_sources: set[int] | None = None
) -> dict[str, int]:
    """Paid orders per customer with start < paid_at <= end (the labels' window)."""
    con = engine.connect("duckdb")
    try:
        inputs = features.read_inputs(con, lake_dir, end, order_sources)
        o = inputs.orders
        window = o.filter(o.paid_at > start)
        counts = engine.to_arrow(con, window.group_by("user_id").aggregate(n=window.count()))
    finally:
        engine.release(con, "duckdb")
    return dict(zip(counts["user_id"].to_pylist(), counts["n"].to_pylist(), strict=True))


def data_end(lake_dir: Path) -> datetime | None:
    """The last moment the lake has behaviour for (its latest clean event), or None."""
    con = engine.connect("duckdb")
    try:
        if not engine.has_events(lake_dir):
            return None
        inputs = features.read_inputs(con, lake_dir, FAR_FUTURE)
        last = con.execute(inputs.events.timestamp.max())
    finally:
        engine.release(con, "duckdb")
    if last is None or pd.isna(last):
        return None
    return pd.Timestamp(last).to_pydatetime()


def to_arrow_scores(user_ids: pd.Series, scores: np.ndarray) -> pa.Table:
    return pa.table({"user_id": pa.array(user_ids.astype(str), pa.string()), "score": pa.array(scores, pa.float64())})
