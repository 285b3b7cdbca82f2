"""Cleaning and daily aggregation of the event lake at scale, on DuckDB and on Spark local[2].

    .venv/bin/python benchmarks/pipeline_bench.py [--users 140000] [--engines duckdb,spark]
                                                  [--keep DIR | --lake DIR]

Makes a simulated world of about 10 million events (140,000 people, a year) in a temporary lake — or in DIR,
kept for later runs, with `--keep DIR`; or reuses one made earlier with `--lake DIR` — then runs
`cleaning.run` (de-duplication, crawlers, bursts, test accounts, the clean events written, the daily mart) on
each engine and prints rows/s and the ratio between them.
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

from medreach.core.db import Database
from medreach.pipeline import cleaning
from medreach.tracking import simulator


def make_world(var: Path, users: int) -> int:
    env = {**os.environ, "MEDREACH_VAR_DIR": str(var), "MEDREACH_DEMO_USERS": "0"}
    env.pop("MEDREACH_DATABASE_URL", None)
    for cmd in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "medreach.cli", *cmd], env=env, check=True, capture_output=True)
    db = Database(f"sqlite:///{var / 'medreach.db'}")
    plan = simulator.Plan(users=users, seed=2026, days=365, end=dt.date(2026, 11, 25))
    start = time.perf_counter()
    manifest = simulator.write_lake(db.session, var / "lake", var / "staging", plan)
    print(f"world: {manifest['events']:,} events of {users:,} people in {time.perf_counter() - start:.0f} s")
    return manifest["events"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=140_000)
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--lake", type=Path, help="reuse this var folder's lake instead of simulating")
    ap.add_argument("--keep", type=Path, help="simulate into this (new) var folder and keep it for --lake")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
    var = args.lake or args.keep or Path(tempfile.mkdtemp(prefix="medreach-pipelinebench-"))
    if not args.lake:
        make_world(var, args.users)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    rates = {}
    for name in args.engines.split(","):
        report = cleaning.run(var / "lake", name, "local[2]")
        rates[name] = report.rows_in / report.seconds
        steps = ", ".join(f"{s.name} -{s.dropped:,}" for s in report.steps)
        print(f"{name:<7} {report.rows_in:,} events cleaned and aggregated in {report.seconds:.1f} s = "
              f"{rates[name]:,.0f} rows/s ({steps}; {report.rows_out:,} clean, {report.days} days)")
    if len(rates) == 2:
        print(f"DuckDB / Spark local[2]: {rates['duckdb'] / rates['spark']:.1f}x")
    if not (args.lake or args.keep):
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
