"""Preprocessing for the models downstream: a customer feature table that integrates the clean events with the
users snapshot on the user id, converts types, derives columns, and scales them (log, z-score, min-max) with
fitted parameters saved beside the table, so that serving applies exactly the same scaling to one customer
(`Scaling.apply`) as the batch did to all (`Scaling.apply_table`).

    lake/features/customers/data.parquet     one row per signed-in person: raw features and <name>_scaled
    lake/features/customers/scaling.json     the fitted parameters, the rows they were fitted on, when
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq

from medreach.pipeline import engine, snapshots
from medreach.pipeline.cleaning import CHINA

SPEC_FILE = Path(__file__).parent / "data" / "features.toml"
METHODS = ("log", "zscore", "minmax")


def customer_table(con, lake_dir: Path) -> ir.Table:
    """Per signed-in person, from the clean events (canonical copies) and the latest users snapshot."""
    events = engine.read_folder(con, lake_dir / "clean" / "events")
    mine = events.filter(events.user_id.notnull() & events.canonical.fill_null(True))
    as_of = con.execute(mine.timestamp.max())

    def count(name: str) -> ir.IntegerScalar:
        return (mine.event == name).cast("int64").sum()

    people = mine.group_by(mine.user_id).aggregate(
        events=mine.count(),
        active_days=(mine.timestamp + CHINA).date().nunique(),
        searches=count("Products Searched"),
        product_views=count("Product Viewed"),
        cart_adds=count("Product Added"),
        orders=count("Order Completed"),
        first_seen=mine.timestamp.min(),
        last_seen=mine.timestamp.max(),
    )

    def days(at: ir.TimestampValue) -> ir.FloatingValue:
        return at.epoch_seconds().cast("float64") / 86400.0

    people = people.mutate(  # derived: how recent, how long, how decided
        recency_days=days(ibis.literal(as_of)) - days(people.last_seen),
        tenure_days=days(people.last_seen) - days(people.first_seen),
        cart_to_order=ibis.ifelse(people.cart_adds > 0, people.orders.cast("float64") / people.cart_adds, None),
    )
    users = _latest_users(con, lake_dir)
    if users is None:
        return people.mutate(
            is_member=ibis.literal(False),
            gender=ibis.null("string"),
            age=ibis.null("int64"),
            region=ibis.null("string"),
        )
    joined = people.left_join(users, people.user_id == users.uid)
    return joined.select(
        *[people[c] for c in people.columns],
        is_member=users.uid.notnull(),
        gender=users.gender,
        age=(ibis.literal(as_of).year() - users.birth_year).cast("int64"),
        region=users.region,
    )


def _latest_users(con, lake_dir: Path) -> ir.Table | None:
    """The users snapshot's ids as text (events carry user ids as text), with what a model may use."""
    files = snapshots.snapshots(lake_dir, "users")
    if not files:
        return None
    users = con.read_parquet(str(files[-1]))
    return users.select(
        uid=users.id.cast("string"), gender=users.gender, birth_year=users.birth_year, region=users.region
    )


@dataclass(frozen=True)
class Scaling:
    """Fitted scaling per column: an ordered list of (method, parameters)."""

    columns: dict[str, list[tuple[str, dict[str, float]]]]

    @classmethod
    def fit(cls, con, t: ir.Table, methods: dict[str, list[str]]) -> Scaling:
        fitted: dict[str, list[tuple[str, dict[str, float]]]] = {}
        for column, steps in methods.items():
            x = t[column].cast("float64")
            fitted[column] = []
            for method in steps:
                if method == "zscore":
                    stats = con.execute(t.aggregate(mean=x.mean(), std=x.std(how="pop"))).iloc[0]
                    params = {"mean": float(stats["mean"]), "std": float(stats["std"])}
                elif method == "minmax":
                    stats = con.execute(t.aggregate(lo=x.min(), hi=x.max())).iloc[0]
                    params = {"min": float(stats["lo"]), "max": float(stats["hi"])}
                else:
                    params = {}
                fitted[column].append((method, params))
                x = _step_expr(x, method, params)
        return cls(fitted)

    def apply_table(self, t: ir.Table) -> ir.Table:
        scaled = {}
        for column, steps in self.columns.items():
            x = t[column].cast("float64")
            for method, params in steps:
                x = _step_expr(x, method, params)
            scaled[f"{column}_scaled"] = x
        return t.mutate(**scaled)

    def apply(self, record: dict[str, Any]) -> dict[str, float | None]:
        """The same scaling for one record at serving time."""
        out = {}
        for column, steps in self.columns.items():
            x = record.get(column)
            value = None if x is None else float(x)
            for method, params in steps:
                value = None if value is None else _step_value(value, method, params)
            out[f"{column}_scaled"] = value
        return out

    def as_dict(self) -> dict[str, Any]:
        return {c: [{"method": m, **p} for m, p in steps] for c, steps in self.columns.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaling:
        return cls(
            {
                c: [(s["method"], {k: v for k, v in s.items() if k != "method"}) for s in steps]
                for c, steps in data.items()
            }
        )

    @classmethod
    def load(cls, lake_dir: Path, name: str = "customers") -> Scaling:
        return cls.from_dict(json.loads((lake_dir / "features" / name / "scaling.json").read_text())["columns"])


def _step_expr(x: ir.FloatingValue, method: str, p: dict[str, float]) -> ir.FloatingValue:
    if method == "log":
        return (x.clip(lower=0) + 1).ln()  # log1p of counts and amounts (never negative)
    if method == "zscore":
        return (x - p["mean"]) / p["std"] if p["std"] else x * 0.0
    spread = p["max"] - p["min"]
    return (x - p["min"]) / spread if spread else x * 0.0


def _step_value(x: float, method: str, p: dict[str, float]) -> float:
    if method == "log":
        return math.log1p(max(x, 0.0))
    if method == "zscore":
        return (x - p["mean"]) / p["std"] if p["std"] else 0.0
    spread = p["max"] - p["min"]
    return (x - p["min"]) / spread if spread else 0.0


def load_methods(path: Path = SPEC_FILE) -> dict[str, list[str]]:
    methods = tomllib.loads(path.read_text(encoding="utf-8"))["customers"]["scale"]
    for column, steps in methods.items():
        if not steps or any(m not in METHODS for m in steps):
            raise ValueError(f"features.customers.scale.{column}: methods are {', '.join(METHODS)}")
    return methods


def build(lake_dir: Path, engine_name: str = "duckdb", spark_master: str = "local[*]") -> dict[str, Any]:
    """Build the customer feature table and its scaling; returns what was built."""
    started = time.perf_counter()
    target = lake_dir / "features" / "customers"
    if not engine.has_events(lake_dir) or not (lake_dir / "clean" / "events").exists():
        return {"rows": 0, "columns": [], "scaling": {}, "seconds": 0.0}
    con = engine.connect(engine_name, spark_master)
    try:
        table = customer_table(con, lake_dir).cache()
        scaling = Scaling.fit(con, table, load_methods())
        out = scaling.apply_table(table).order_by("user_id")
        arrow = engine.to_arrow(con, out)
        rows = arrow.num_rows
        table.release()
    finally:
        engine.release(con, engine_name)
    work = target.with_name("customers.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    pq.write_table(arrow, work / "data.parquet", compression="zstd")
    meta = {
        "columns": scaling.as_dict(),
        "rows": rows,
        "fitted_at": datetime.now(UTC).isoformat(),
        "engine": engine_name,
    }
    (work / "scaling.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(work, target)  # readers see the old table or the new one, with its own scaling
    return {
        "rows": rows,
        "columns": arrow.column_names,
        "scaling": meta["columns"],
        "seconds": round(time.perf_counter() - started, 3),
    }
