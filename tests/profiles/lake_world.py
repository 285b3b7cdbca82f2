"""Hand-made lakes for the profile tests: a few people, products, events and orders with answers one can work out
by hand. Events go through the real compaction and cleaning; table snapshots are written in their declared
schemas, as the lake sync writes them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from medreach.pipeline import cleaning
from medreach.pipeline.tables import TABLES
from medreach.tracking import lake

AS_OF = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai on 30 June
SERVER, WEB = "medreach-server", "medreach-web"

# id, generic name, brand, category, drug class, price (fen), pack size, daily dose
PRODUCTS = [
    (1, "苯磺酸氨氯地平片", "络活喜", "hypertension", "rx", 3380, 7, 1.0),
    (2, "缬沙坦胶囊", "代文", "hypertension", "rx", 4200, 14, 1.0),
    (3, "盐酸二甲双胍片", "格华止", "diabetes", "rx", 2500, 20, 2.0),
    (4, "阿托伐他汀钙片", "立普妥", "lipids", "rx", 5600, 7, 1.0),
    (5, "感冒灵颗粒", "999", "cold_flu", "otc_a", 1980, 9, 3.0),
    (6, "电子血压计", "欧姆龙", "device_bp", "device", 25900, 1, None),
    (7, "维生素C片", "汤臣倍健", "vitamins", "health_food", 5900, 100, 1.0),
    (8, "硝苯地平控释片", "拜新同", "cardio", "rx", 3000, 7, 1.0),  # a 地平 outside the hypertension category
]


def ts(text: str) -> datetime:
    """'2026-06-01T10:00' in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class World:
    records: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _record(self, user: str | None, at: datetime, kind: str = "track", library: str = SERVER, source: int = 1,
                **extra) -> None:
        n = next(self._ids)
        stamp = at.isoformat().replace("+00:00", "Z")
        record = {
            "type": kind,
            "messageId": f"m{n}",
            "anonymousId": f"anon-{user or n}",
            "timestamp": stamp,
            "receivedAt": stamp,
            "sourceId": source,
            "context": {"library": {"name": library}},
            **extra,
        }
        if user is not None:
            record["userId"] = user
        self.records.append(record)

    def track(self, user: str | None, event: str, at: datetime, source: int = 1, **properties) -> None:
        self._record(user, at, event=event, properties=properties, source=source)

    def page(self, user: str | None, at: datetime, path: str = "/") -> None:
        self._record(user, at, kind="page", library=WEB, name="page", properties={}, context_page=path)

    def view(self, user: str, product: int, at: datetime) -> None:
        pid, name, brand, category, drug_class, price, _, _ = PRODUCTS[product - 1]
        self.track(user, "Product Viewed", at, product_id=pid, name=name, brand=brand, category=category,
                   price=price / 100, drug_class=drug_class)

    def add(self, user: str, product: int, at: datetime) -> None:
        self.track(user, "Product Added", at, product_id=product, quantity=1)

    def sim_order(self, user: str, order_id: str, at: datetime, lines: list[tuple[int, int]], discount_fen: int = 0,
                  total_fen: int | None = None, source: int = 1):
        """An order that exists only as the server's Order Completed event (the simulated world's)."""
        subtotal = sum(PRODUCTS[p - 1][5] * q for p, q in lines)
        total = subtotal - discount_fen if total_fen is None else total_fen
        self.track(user, "Order Completed", at, source=source, order_id=order_id, total=total / 100,
                   revenue=subtotal / 100, discount=discount_fen / 100, currency="CNY",
                   products=[{"product_id": p, "sku": f"SKU{p}", "quantity": q, "price": PRODUCTS[p - 1][5] / 100}
                             for p, q in lines])

    def db_order(self, user: int, number: str, at: datetime, lines: list[tuple[int, int]], status: str = "completed",
                 discount_fen: int = 0, event: bool = True) -> None:
        """An order in the database's snapshot (and, as the relay writes it, its Order Completed event)."""
        order_id = len(self.orders) + 1
        subtotal = sum(PRODUCTS[p - 1][5] * q for p, q in lines)
        self.orders.append({
            "id": order_id, "number": number, "user_id": user, "status": status, "subtotal_fen": subtotal,
            "discount_fen": discount_fen, "shipping_fen": 0, "total_fen": subtotal - discount_fen,
            "points_earned": 0, "currency": "CNY", "requires_rx": False,
            "paid_at": None if status in ("awaiting_payment", "cancelled") else at,
            "shipped_at": None, "completed_at": None, "cancelled_at": None, "created_at": at, "updated_at": at,
        })
        for p, q in lines:
            product = PRODUCTS[p - 1]
            self.lines.append({
                "id": len(self.lines) + 1, "order_id": order_id, "product_id": p, "sku": f"SKU{p}",
                "generic_name": product[1], "drug_class": product[4], "unit_price_fen": product[5], "quantity": q,
                "line_total_fen": product[5] * q,
            })
        if event and self.orders[-1]["paid_at"]:
            self.sim_order(str(user), number, at, lines, discount_fen)

    def user(self, uid: int, gender: str = "female", birth_year: int | None = 1980, city: str = "深圳市",
             region: str = "", occupation: str = "", is_staff: bool = False) -> None:
        self.users.append({
            "id": uid, "gender": gender, "birth_year": birth_year, "region": region, "city": city,
            "occupation": occupation, "is_staff": is_staff, "is_active": True, "last_login_at": None,
            "created_at": ts("2025-01-01T00:00"), "updated_at": ts("2025-01-01T00:00"),
        })

    def write(self, lake_dir: Path, work: Path) -> Path:
        if self.records:
            segment = work / "segment.jsonl"
            segment.write_bytes(b"".join(orjson.dumps(_page_context(r)) + b"\n" for r in self.records))
            lake.compact([segment], lake_dir, work / "done")
            cleaning.run(lake_dir)
        _snapshot(lake_dir, "users", self.users)
        _snapshot(lake_dir, "orders", self.orders)
        _snapshot(lake_dir, "order_lines", self.lines)
        _snapshot(lake_dir, "products", [
            {"id": pid, "sku": f"SKU{pid}", "generic_name": name, "brand_name": brand, "manufacturer": "",
             "drug_class": drug_class, "category": category, "price_fen": price, "stock": 10, "pack_size": pack,
             "pack_unit": "片", "daily_dose": dose, "is_active": True, "online_banned": False, "sales": 0,
             "created_at": ts("2025-01-01T00:00"), "updated_at": ts("2025-01-01T00:00")}
            for pid, name, brand, category, drug_class, price, pack, dose in PRODUCTS
        ])
        return lake_dir


def _page_context(record: dict) -> dict:
    path = record.pop("context_page", None)
    if path is not None:
        record["context"]["page"] = {"path": path}
    return record


def _snapshot(lake_dir: Path, name: str, rows: list[dict]) -> None:
    folder = lake_dir / "tables" / name / "snapshot" / "date=2026-06-30"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=TABLES[name].schema), folder / "data.parquet")


def later(at: datetime, **delta) -> datetime:
    return at + timedelta(**delta)


def build(world: World, root: Path, consents: dict[str, set[str]] | None = None, engine: str = "duckdb",
          **given) -> Path:
    """Write the world's lake under `root` and build its profile store as of AS_OF."""
    from medreach.profiles import build as profile_build

    root.mkdir(parents=True, exist_ok=True)
    lake_dir = world.write(root / "lake", root)
    profile_build.build(lake_dir, profile_build.BuildInput(consents=consents or {}, **given), engine, "local[2]",
                        as_of=AS_OF)
    return lake_dir


def rows(lake_dir: Path, name: str) -> list[dict]:
    from medreach.profiles import store

    found = store.files(lake_dir, name)
    return pq.read_table(found).to_pylist() if found else []


def by_user(lake_dir: Path) -> dict[str, dict]:
    return {r["user_id"]: r for r in rows(lake_dir, "customers")}
