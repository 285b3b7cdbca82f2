"""Collector throughput: batches of 100-500 events sent to /v1/batch from a separate process, durability on.

    .venv/bin/python benchmarks/collector_bench.py [--events 200000] [--threads 8] [--workers 1]

Also measures a raw baseline in the same run: the same batch bytes parsed, each event re-serialized and
appended to a file with one fsync per batch, with no HTTP — and reports our throughput as a ratio of it.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import multiprocessing as mp
import os
import platform
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

from medreach.demo import DEMO_PASSWORD, DEMO_STAFF
from medreach.devserver import base_env, percentile, prepare, serving

EVENTS = ["Product Viewed", "Products Searched", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed"]


def make_batches(total: int, seed: int = 7) -> list[bytes]:
    rnd = random.Random(seed)
    batches, made = [], 0
    while made < total:
        size = min(rnd.randint(100, 500), total - made)
        now = dt.datetime.now(dt.UTC).isoformat()
        batch = [{"type": "track", "anonymousId": f"a{rnd.randrange(100000)}", "userId": str(rnd.randrange(50000)),
                  "event": rnd.choice(EVENTS), "messageId": str(uuid.uuid4()), "originalTimestamp": now,
                  "properties": {"product_id": rnd.randrange(1, 400), "price": rnd.randrange(100, 30000) / 100,
                                 "category": "cold_flu"},
                  "context": {"page": {"path": "/products/1"}, "userAgent": "Mozilla/5.0 bench",
                              "campaign": {"source": "wechat", "medium": "social"}}} for _ in range(size)]
        batches.append(orjson.dumps({"batch": batch, "sentAt": now}))
        made += size
    return batches


def baseline(batches: list[bytes], directory: Path) -> float:
    """Events per second to parse the same bytes and append them durably, with no HTTP."""
    path = directory / "baseline.jsonl"
    start = time.perf_counter()
    with open(path, "ab", buffering=0) as f:
        for raw in batches:
            events = orjson.loads(raw)["batch"]
            f.write(b"".join(orjson.dumps(e) + b"\n" for e in events))
            os.fsync(f.fileno())
    n = sum(len(orjson.loads(b)["batch"]) for b in batches)
    return n / (time.perf_counter() - start)


def sender(base: str, key: str, batches: list[bytes], threads: int, out) -> None:
    """Runs in its own process: post every batch, record latencies."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json"}
    local = threading.local()
    latencies, failures = [], 0

    def post(raw: bytes):
        nonlocal failures
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=base, timeout=30)
        c = local.c
        t = time.perf_counter()
        r = c.post("/v1/batch", content=raw, headers=auth)
        latencies.append(time.perf_counter() - t)
        if r.status_code != 200:
            failures += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, batches))
    out.put((time.perf_counter() - start, latencies, failures))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    var = Path(tempfile.mkdtemp(prefix="medreach-collectorbench-"))
    env = base_env(var, MEDREACH_LOG_LEVEL="WARNING", MEDREACH_JOBS_ENABLED="false")
    prepare(env)
    batches = make_batches(args.events)
    raw_rate = baseline(batches, var)
    with serving(env, var / "server.log", workers=args.workers) as base:
        login = httpx.post(base + "/api/v1/auth/login", json={"login": DEMO_STAFF["admin"][0], "password": DEMO_PASSWORD})
        h = {"Authorization": "Bearer " + login.json()["tokens"]["access_token"]}
        key = httpx.post(base + "/api/v1/admin/sources", headers=h, json={"name": "bench", "kind": "server"}).json()["write_key"]
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        p = ctx.Process(target=sender, args=(base, key, batches, args.threads, out))
        p.start()
        wall, latencies, failures = out.get()
        p.join()
    stored = sum(1 for segment in (var / "events").glob("*.jsonl") for _line in open(segment, "rb"))
    rate = args.events / wall
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"{args.events} events in {len(batches)} batches of 100-500, {args.threads} sender threads in a separate "
          f"process, server workers {args.workers}, fsync on")
    print(f"collector: {rate:,.0f} events/s; batch latency p50 {percentile(latencies, 50) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.1f} ms; failed batches {failures}; events in the log {stored}")
    print(f"raw baseline (parse + append + fsync per batch, no HTTP): {raw_rate:,.0f} events/s; "
          f"collector = {rate / raw_rate:.0%} of it")


if __name__ == "__main__":
    main()
