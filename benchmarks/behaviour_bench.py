"""Behaviour analysis at scale: building the behaviour mart from the clean events, and each chart's query over it
(uncached, as the first request after a new mart sees it), on DuckDB.

    .venv/bin/python benchmarks/behaviour_bench.py [--users 100000] [--runs 20] [--keep DIR | --lake DIR]

Makes a simulated world (`--users` people, a year) in a temporary var folder — or in DIR, kept for later runs, with
`--keep DIR`; or reuses one made earlier (`medreach demo`'s var folder will do) with `--lake DIR` — cleans its
events, builds the mart, then runs every chart `--runs` times with different ranges (the last 7, 30, 90 and 365
days) and filters (none, the top channel, the top device) and one customer's panel for `--runs` customers, and
prints p50, p95 and the slowest run of each in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from medreach.core.db import Database
from medreach.core.settings import get_settings
from medreach.pipeline import cleaning, engine, snapshots
from medreach.profiles import behaviour

sys.path.insert(0, str(Path(__file__).parent))
from pipeline_bench import make_world  # (the pipeline benchmark's world)


def timed(mart: behaviour.Mart, fn, *args) -> float:
    """One chart on a thread's open connection, uncached (what `Reader.run` does on a cache miss), in ms."""
    start = time.perf_counter()
    fn(mart, *args)
    return (time.perf_counter() - start) * 1000


def summary(name: str, times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return f"  {name:<13} p50 {statistics.median(times):7.0f}   p95 {p95:7.0f}   max {times[-1]:7.0f}   ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--lake", type=Path, help="reuse this var folder's lake instead of simulating")
    ap.add_argument("--keep", type=Path, help="simulate into this (new) var folder and keep it for --lake")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
    var = args.lake or args.keep or Path(tempfile.mkdtemp(prefix="medreach-behaviourbench-"))
    lake = var / "lake"
    if not args.lake:
        make_world(var, args.users)
    if not any((lake / "clean" / "events").glob("*.parquet")):
        os.environ["MEDREACH_VAR_DIR"] = str(var)  # the world's keys decrypt its accounts while they are synced
        get_settings.cache_clear()
        with Database(f"sqlite:///{var / 'medreach.db'}").session() as s:
            snapshots.sync_all(s, lake)
        report = cleaning.run(lake)
        print(f"synced and cleaned: {report.rows_out:,} clean events in {report.seconds:.0f} s")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{dt.datetime.now():%Y-%m-%d %H:%M}"
    )
    meta = behaviour.build(lake, "duckdb")
    people = pq.read_metadata(next((lake / "marts" / "behaviour" / "sessions").glob("*.parquet"))).num_rows
    print(f"mart: built in {meta['seconds']:.1f} s on DuckDB; rows {meta['rows']} ({people:,} sessions)")

    started = time.perf_counter()
    con = engine.connect("duckdb")
    mart = behaviour.Mart(con, lake)
    span = behaviour.bounds(mart)
    print(f"a thread's connection and the mart's tables opened in {(time.perf_counter() - started) * 1000:.0f} ms")
    s = mart.table("sessions")
    users = [r["user_id"] for r in mart.rows(s.filter(s.user_id.notnull()).select("user_id").distinct())]
    last = span["last_day"]
    ranges = [(last - dt.timedelta(days=n - 1), last) for n in (7, 30, 90, 365)]
    cuts = [(None, None), (span["channels"][0], None), (None, span["devices"][0])]
    filters = [behaviour.Filters(a, b, c, d) for (a, b), (c, d) in itertools.product(ranges, cuts)]
    charts = {
        "overview": lambda f: (behaviour.overview, f, None),
        "funnel": lambda f: (behaviour.funnel, f, 7, None),
        "funnel by day": lambda f: (behaviour.funnel, f, 7, "day"),
        "searches": lambda f: (behaviour.searches, f, 20, None),
        "browsing": lambda f: (behaviour.browsing, f, 15, None),
        "interest": lambda f: (behaviour.interest, f, "day", 8),
        "purchases": lambda f: (behaviour.purchases, f, 15, None),
        "interactions": lambda f: (behaviour.interactions, f, 15, None),
    }
    print(f"charts (uncached, {args.runs} runs each over {len(filters)} ranges and filters):")
    for name, call in charts.items():
        times = [timed(mart, *call(filters[i % len(filters)])) for i in range(args.runs)]
        print(summary(name, times))
    everything = behaviour.Filters(span["first_day"], last)
    picked = random.Random(2026).sample(users, min(args.runs, len(users)))
    print(summary("customer", [timed(mart, behaviour.customer, uid, everything) for uid in picked]))
    engine.release(con, "duckdb")


if __name__ == "__main__":
    main()
