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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SERVERS = {"mariadb": "mysql+pymysql://root@127.0.0.1:3306", "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    ap.add_argument("--buyers", type=int, default=40)
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="medreach-orderbench-"))
    env = {**os.environ, "MEDREACH_VAR_DIR": str(var), "MEDREACH_LOG_LEVEL": "WARNING", "MEDREACH_JOBS_ENABLED": "false"}
    admin_engine, dbname = None, f"mr_bench_{uuid.uuid4().hex[:8]}"
    if args.db != "sqlite":
        admin_engine = sa.create_engine(SERVERS[args.db], isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE {dbname}")
        env["MEDREACH_DATABASE_URL"] = f"{SERVERS[args.db]}/{dbname}"
    cli = [sys.executable, "-m", "medreach.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(cli + ["demo"], env=env, check=True, capture_output=True, cwd=ROOT)
    port = free_port()
    env["MEDREACH_PORT"] = str(port)
    server = subprocess.Popen(cli + ["serve", "--port", str(port), "--workers", str(args.workers)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
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
            r = client.post("/api/v1/auth/register", json={"phone": f"1370{i:07d}", "password": "bench-pass-1"})
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

        db_url = env.get("MEDREACH_DATABASE_URL") or f"sqlite:///{var / 'medreach.db'}"
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
        print(f"latency ms: p50 {pct(latencies, 50) * 1000:.1f}  p95 {pct(latencies, 95) * 1000:.1f}  "
              f"p99 {pct(latencies, 99) * 1000:.1f}  mean {statistics.mean(latencies) * 1000:.1f}")
        print(f"stock consistent with units sold: {not oversold} ; every 201 is one row: {orders == codes.get(201, 0)}")
    finally:
        server.terminate()
        server.wait(10)
        if admin_engine is not None:
            with admin_engine.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE {dbname}" + (" WITH (FORCE)" if args.db == "postgresql" else ""))


if __name__ == "__main__":
    main()
