"""Order placement throughput through the HTTP API, against a real server process.

    .venv/bin/python benchmarks/order_bench.py [--db sqlite|postgresql|mariadb] [--buyers 40] [--orders 1000]
                                               [--workers 2]

Starts `medreach serve` on a fresh database loaded with the demo catalog, registers the buyers, then each
buyer thread places orders one after another (1–3 random OTC lines, a fresh Idempotency-Key each) until
the total is reached. Prints orders/s and p50/p95/p99 latency, and checks that every 201 is one order row
and the stock moved by exactly the units sold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import sqlalchemy as sa

from medreach.accounts.legal import current_versions
from medreach.devserver import base_env, percentile, prepare, scratch_database, serving


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    ap.add_argument("--buyers", type=int, default=40)
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="medreach-orderbench-"))
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database(args.db, var))
        env = base_env(var, MEDREACH_DATABASE_URL=db_url, MEDREACH_LOG_LEVEL="WARNING", MEDREACH_JOBS_ENABLED="false")
        prepare(env)
        base = stack.enter_context(serving(env, var / "server.log", workers=args.workers))
        run(args, base, db_url)


def run(args, base: str, db_url: str) -> None:
    client = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=args.buyers + 4))
    admin = client.post("/api/v1/auth/login", json={"login": "admin@medreach.cn", "password": "medreach-demo-2026"})
    ah = {"Authorization": "Bearer " + admin.json()["tokens"]["access_token"]}
    otc = [p for p in client.get("/api/v1/products", params={"drug_class": ["otc_a", "otc_b"], "limit": 100}).json()["items"]]
    client.post("/api/v1/admin/products/bulk", headers=ah, json={"items": [
        {"sku": p["sku"], "stock": 1_000_000} for p in otc]})
    for p in otc:  # no per-order limit in the way of the benchmark
        client.patch(f"/api/v1/admin/products/{p['id']}", headers=ah, json={"max_per_order": 999})
    buyers = []
    for i in range(args.buyers):
        r = client.post("/api/v1/auth/register", json={"phone": f"1370{i:07d}", "password": "bench-pass-1",
                                                       "agreements": current_versions()})
        h = {"Authorization": "Bearer " + r.json()["tokens"]["access_token"]}
        a = client.post("/api/v1/addresses", headers=h, json={"recipient": "买家", "phone": "13800138000",
                                                              "province": "北京市", "city": "北京市", "detail": "1号"})
        buyers.append((h, a.json()["id"]))

    latencies: list[float] = []
    codes: dict[int, int] = {}
    units_sold: dict[int, int] = {}
    lock = threading.Lock()
    remaining = [args.orders]

    def buyer(headers, address_id, seed):
        rnd = random.Random(seed)
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            items = [{"product_id": p["id"], "quantity": rnd.randint(1, 3)} for p in rnd.sample(otc, rnd.randint(1, 3))]
            t0 = time.perf_counter()
            r = client.post("/api/v1/orders", headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                            json={"address_id": address_id, "items": items})
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
                if r.status_code == 201:
                    for it in items:
                        units_sold[it["product_id"]] = units_sold.get(it["product_id"], 0) + it["quantity"]

    threads = [threading.Thread(target=buyer, args=(h, a, i)) for i, (h, a) in enumerate(buyers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start

    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        orders = c.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar()
        stock = dict(c.exec_driver_sql("SELECT id, stock FROM products").all())
    engine.dispose()
    oversold = [pid for pid, n in units_sold.items() if stock[pid] != 1_000_000 - n]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"database: {args.db}; server workers: {args.workers}; buyers (concurrent clients): {args.buyers}")
    print(f"orders attempted: {len(latencies)}; responses: {codes}; order rows: {orders}")
    print(f"throughput: {codes.get(201, 0) / wall:.1f} orders/s over {wall:.1f} s")
    print(f"latency ms: p50 {percentile(latencies, 50) * 1000:.1f}  p95 {percentile(latencies, 95) * 1000:.1f}  "
          f"p99 {percentile(latencies, 99) * 1000:.1f}  mean {statistics.mean(latencies) * 1000:.1f}")
    print(f"stock consistent with units sold: {not oversold} ; every 201 is one row: {orders == codes.get(201, 0)}")


if __name__ == "__main__":
    main()
