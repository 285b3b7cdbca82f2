"""Audience size of a three-condition segment over a synthetic profile store (issue 13: p95 under 300 ms at 1M).

    .venv/bin/python benchmarks/segments_bench.py [--people 100000] [--runs 30]

Writes a store of N customers (the wide table in its real schema, with city tiers, orders and minors spread as in
the demo world), their daily activity (about 6 rows each over a year: app opens, views and paid orders by
category) and a tags table, then times `segments.evaluate` — what the console's live size calls — on

    all: city_tier <= 2, bought category cold_flu at least twice in the last 90 days,
         not: opened the app in the last 60 days            (marketing: minors left out)

The first run opens the store (DuckDB views over the Parquet files, kept per thread while the store's version
holds), as the first preview after a build does; the percentiles are over the runs after it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from medreach.profiles import segments, store

TREE = {
    "all": [
        {"field": "city_tier", "op": "le", "value": 2},
        {"event": "Order Completed", "category": "cold_flu", "min": 2, "within_days": 90},
        {"not": {"event": "Application Opened", "within_days": 60}},
    ]
}
AS_OF = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)


def write_store(lake: Path, people: int, seed: int = 13) -> None:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, people + 1).astype(str)
    columns: dict[str, pa.Array] = {}
    for name, kind in store.CUSTOMER_COLUMNS.items():
        columns[name] = pa.nulls(people, kind)
    columns["user_id"] = pa.array(ids, pa.string())
    columns["computed_at"] = pa.array([AS_OF] * people, pa.timestamp("us", tz="UTC"))
    columns["city_tier"] = pa.array(rng.integers(1, 5, people), pa.int64())
    columns["orders"] = pa.array(rng.poisson(3, people), pa.int64())
    columns["is_minor"] = pa.array(rng.random(people) < 0.04, pa.bool_())
    columns["consent_health_profile"] = pa.array(rng.random(people) < 0.3, pa.bool_())
    store.write_single(pa.table(columns).cast(store.CUSTOMER_SCHEMA), store.folder(lake, "customers"))

    rows = people * 6
    user = rng.integers(1, people + 1, rows).astype(str)
    day0 = date(2025, 7, 1)
    days = [day0 + timedelta(days=int(d)) for d in rng.integers(0, 365, rows)]
    kind = rng.choice(["Application Opened", "Product Viewed", "Order Completed"], rows, p=[0.4, 0.4, 0.2])
    category = np.where(
        kind == "Application Opened", None, rng.choice(["cold_flu", "vitamins", "hypertension", "skin"], rows)
    )
    activity = pa.table(
        {
            "user_id": pa.array(user, pa.string()),
            "day": pa.array(days, pa.date32()),
            "event": pa.array(kind, pa.string()),
            "category": pa.array(category.tolist(), pa.string()),
            "count": pa.array(rng.integers(1, 3, rows), pa.int64()),
        }
    )
    store.write_single(activity, store.folder(lake, "activity"))
    store.write_single(store.TAG_SCHEMA.empty_table(), store.folder(lake, "tags"))
    store.write_single(store.HEALTH_SCHEMA.empty_table(), store.folder(lake, "health"))
    meta = {"build": "bench", "as_of": AS_OF.isoformat(), "built_at": AS_OF.isoformat(), "engine": "duckdb"}
    (store.root(lake) / "manifest.json").write_text(json.dumps(meta))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        started = time.perf_counter()
        write_store(lake, args.people)
        print(f"store of {args.people:,} customers written in {time.perf_counter() - started:.1f}s")
        times, size = [], 0
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            size = len(segments.evaluate(lake, TREE, marketing=True))
            times.append((time.perf_counter() - t) * 1000)
        first, rest = times[0], np.array(times[1:])
        print(
            f"audience {size:,} of {args.people:,}: first {first:.0f} ms; over {args.runs} runs "
            f"p50 {np.percentile(rest, 50):.0f} ms, p95 {np.percentile(rest, 95):.0f} ms, max {rest.max():.0f} ms"
        )
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
