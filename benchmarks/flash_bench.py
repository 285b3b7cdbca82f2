"""A flash-sale rush through the HTTP API: many buyers, a small sale, exactly the right number of orders.

    .venv/bin/python benchmarks/flash_bench.py [--db postgresql|mariadb|sqlite] [--redis redis://127.0.0.1:6379/0|none]
                                               [--attempts 20000] [--buyers 4000] [--stock 500] [--limit 1]
                                               [--concurrency 64] [--workers 2]

Starts `medreach serve` on a fresh database with the demo catalog, publishes a flash sale of `--stock`
units (per-user limit `--limit`), creates the buyers in bulk, then fires `--attempts` purchase requests
(POST /api/v1/flash-sales/{id}/orders, each with its own Idempotency-Key) from `--concurrency` client
threads, each with a keep-alive connection. Prints successful orders per second and latency percentiles, then
checks: exactly `stock` orders, no oversell, every buyer within the limit, no duplicate order.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from medreach.accounts import service as accounts
from medreach.accounts.models import Address, Role, User
from medreach.catalog.models import Product
from medreach.core.db import Database
from medreach.core.security import blind_index, hash_password
from medreach.core.settings import get_settings
from medreach.demo import DEMO_STAFF
from medreach.devserver import base_env, percentile, prepare, scratch_database, serving
from medreach.promotions import schemas as ps
from medreach.promotions import service as promotions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "mariadb"], default="postgresql")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--attempts", type=int, default=20_000)
    ap.add_argument("--buyers", type=int, default=4_000)
    ap.add_argument("--stock", type=int, default=500)
    ap.add_argument("--limit", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="medreach-flashbench-"))
    with ExitStack() as stack:
        db_url = stack.enter_context(scratch_database(args.db, var))
        env = base_env(var, MEDREACH_DATABASE_URL=db_url, MEDREACH_SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
                       MEDREACH_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(), MEDREACH_LOG_LEVEL="WARNING",
                       MEDREACH_JOBS_ENABLED="false", MEDREACH_REDIS_PREFIX=f"flashbench-{uuid.uuid4().hex[:6]}:")
        if args.redis != "none":
            env["MEDREACH_REDIS_URL"] = args.redis
        os.environ.update({k: v for k, v in env.items() if k.startswith("MEDREACH_")})  # for setup() below
        prepare(env)
        t0 = time.perf_counter()
        sale = setup(args)
        stack.callback(sale.db.dispose)
        print(f"setup: {args.buyers} buyers and the sale in {time.perf_counter() - t0:.1f} s; logs in {var}")
        base = stack.enter_context(serving(env, var / "server.log", workers=args.workers))
        if not rush(args, base, sale):
            raise SystemExit(1)


@dataclass
class Sale:
    db: object
    promo_id: int
    product_id: int
    buyers: list[tuple[str, int]]  # (access token, user id)
    addresses: dict[int, int]


def setup(args) -> Sale:
    """Buyers and the sale, straight through the service layer (the rush itself goes through HTTP)."""
    db = Database(get_settings().db_url)
    with db.session() as s:
        product = s.scalar(sa.select(Product).where(Product.drug_class == "otc_b", Product.online_banned.is_(False))
                           .order_by(Product.id))
        product.stock = args.stock * 10
        marketer = accounts.find_by_login(s, DEMO_STAFF["marketer"][0])
        admin = accounts.find_by_login(s, DEMO_STAFF["admin"][0])
        now = dt.datetime.now(dt.UTC)
        promo = promotions.create_promotion(s, marketer, ps.PromotionIn(
            name="bench flash", kind="flash_sale", starts_at=now - dt.timedelta(minutes=1),
            ends_at=now + dt.timedelta(hours=2), rules={"product_id": product.id, "sale_price_fen": 100,
                                                       "sale_stock": args.stock, "per_user_limit": args.limit}))
        promotions.act(s, marketer, promo, "submit")
        promotions.review(s, admin, promo, "approve", "bench")
        promo_id, product_id = promo.id, product.id
        customer = s.scalar(sa.select(Role).where(Role.name == "customer"))
        pw = hash_password("bench-pass-1")
        users = [User(phone=f"136{i:08d}", phone_index=blind_index(f"136{i:08d}"), password_hash=pw, name=f"买家{i}",
                      roles=[customer]) for i in range(args.buyers)]
        s.add_all(users)
        s.flush()
        s.add_all(Address(user_id=u.id, recipient="买家", phone="13800138000", province="北京市", city="北京市",
                          detail="1号", is_default=True) for u in users)
        buyers = [(accounts.issue_tokens(s, u).access_token, u.id) for u in users]  # a login each
        addresses = dict(s.execute(sa.select(Address.user_id, Address.id)).all())
    return Sale(db, promo_id, product_id, buyers, addresses)


def rush(args, base: str, sale: Sale) -> bool:
    db, promo_id, product_id, buyers, addresses = sale.db, sale.promo_id, sale.product_id, sale.buyers, sale.addresses
    rnd = random.Random(7)
    plan = [buyers[rnd.randrange(len(buyers))] for _ in range(args.attempts)]
    latencies, codes, won = [], Counter(), []

    local = threading.local()
    lock = threading.Lock()

    def one(attempt):
        token, user_id = attempt
        client = getattr(local, "client", None)
        if client is None:  # one keep-alive connection per thread
            client = local.client = httpx.Client(base_url=base, timeout=60)
        t = time.perf_counter()
        r = client.post(f"/api/v1/flash-sales/{promo_id}/orders",
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                        json={"address_id": addresses[user_id], "quantity": 1})
        done = time.perf_counter()
        body = r.json()
        with lock:
            latencies.append(done - t)
            codes[(r.status_code, body.get("code") if r.status_code != 201 else None)] += 1
            if r.status_code == 201:
                won.append((user_id, body["id"], done))

    start = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, plan))
    wall = time.perf_counter() - start
    sold_out_at = max((w[2] for w in won), default=start) - start
    with db.engine.connect() as c:
        orders = c.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar()
        per_user = Counter(uid for (uid,) in c.execute(sa.text("SELECT user_id FROM orders")).all())
        units = c.execute(sa.text("SELECT COALESCE(SUM(quantity), 0) FROM order_lines WHERE product_id = :p"),
                          {"p": product_id}).scalar()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"database: {args.db}; flash stock in: {'Redis' if args.redis != 'none' else 'the database'}; "
          f"server workers: {args.workers}; in flight: {args.concurrency}")
    print(f"attempts: {args.attempts} from {len(set(plan))} buyers in {wall:.1f} s ({args.attempts / wall:.0f} req/s)")
    print(f"responses: {dict(codes)}")
    print(f"successful orders: {len(won)}; sale sold out after {sold_out_at:.2f} s "
          f"({len(won) / max(sold_out_at, 1e-9):.0f} orders/s until then)")
    print(f"latency ms, all attempts: p50 {percentile(latencies, 50) * 1000:.1f}  p95 {percentile(latencies, 95) * 1000:.1f}  "
          f"p99 {percentile(latencies, 99) * 1000:.1f}")
    checks = {"exactly the stock sold": orders == args.stock == len(won) and units == args.stock,
              "no buyer over the limit": max(per_user.values(), default=0) <= args.limit,
              "no duplicate order": len({w[1] for w in won}) == len(won)}
    print("checks:", checks)
    return all(checks.values())


if __name__ == "__main__":
    main()
