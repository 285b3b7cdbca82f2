"""The behaviour simulator at scale: people and events per second written in bulk to the lake.

    .venv/bin/python benchmarks/simulator_bench.py [--users 100000] [--days 365] [--workers 0]

A fresh SQLite database with the demo catalog, then `simulator.write_lake` (what `medreach demo --users N`
runs) into a temporary lake; prints the rate, the lake's size and a few figures of the world it made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from medreach.core.db import Database
from medreach.tracking import simulator
from medreach.tracking.lake import read_lake


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=0, help="0: one per core")
    args = ap.parse_args()
    var = Path(tempfile.mkdtemp(prefix="medreach-simbench-"))
    env = {**os.environ, "MEDREACH_VAR_DIR": str(var), "MEDREACH_DEMO_USERS": "0"}
    env.pop("MEDREACH_DATABASE_URL", None)
    for cmd in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "medreach.cli", *cmd], env=env, check=True, capture_output=True)
    db = Database(f"sqlite:///{var / 'medreach.db'}")
    plan = simulator.Plan(users=args.users, seed=2026, days=args.days, end=dt.date(2026, 11, 25))
    start = time.perf_counter()
    manifest = simulator.write_lake(db.session, var / "lake", var / "staging", plan, workers=args.workers)
    wall = time.perf_counter() - start
    size = sum(f.stat().st_size for f in (var / "lake").rglob("*.parquet"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    orders, buyers, days = con.execute(
        f"SELECT count(*) FILTER (WHERE event = 'Order Completed'), count(DISTINCT user_id), "
        f"count(DISTINCT CAST(\"timestamp\" AS DATE)) FROM {read_lake(var / 'lake')}").fetchone()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"{args.users:,} people, {args.days} days: {manifest['events']:,} events in {wall:.1f} s — "
          f"{args.users / wall:,.0f} people/s, {manifest['events'] / wall:,.0f} events/s into the lake "
          f"({size / 2**20:,.0f} MiB of Parquet, {days} day partitions)")
    print(f"world: {orders:,} orders, {buyers:,} people signed in, people by kind {manifest['people']}")
    shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
