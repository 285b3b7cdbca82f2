"""The demo world: an admin and one staff member per built-in role, a sample customer, and the curated
catalog (categories and 300+ real products, a few of them on the online-sale negative list).

Idempotent: a second run finds the accounts and products and leaves their data alone.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts import schemas, service
from medreach.accounts.permissions import STAFF_ROLES
from medreach.catalog import service as catalog
from medreach.catalog.models import Product

DATA = Path(__file__).parent / "catalog" / "data"

DEMO_PASSWORD = "medreach-demo-2026"
DEMO_STAFF = {
    "admin": ("admin@medreach.cn", "系统管理员"),
    "pharmacist": ("pharmacist@medreach.cn", "王药师"),
    "marketer": ("marketer@medreach.cn", "李运营"),
    "analyst": ("analyst@medreach.cn", "赵分析"),
    "service": ("service@medreach.cn", "陈客服"),
}
DEMO_CUSTOMER = ("13800138000", "张三")
DEMO_PHARMACIST_LICENCE = "执业药师注册证 440300-2019-0815"


def read_csv(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def with_batch(row: dict) -> dict:
    """A believable batch number and expiry date (18-36 months out) for the sales record, stable per SKU."""
    seed = int(hashlib.sha256(row["sku"].encode()).hexdigest()[:8], 16)
    made = date.today() - timedelta(days=30 + seed % 240)
    return {**row, "batch_no": row.get("batch_no") or f"{made:%Y%m%d}{seed % 100:02d}",
            "expiry_date": row.get("expiry_date") or (made + timedelta(days=548 + seed % 548)).isoformat()}


def load_catalog(session: Session) -> int:
    """Categories and products from the curated files; products already present are left as they are."""
    catalog.upsert_categories(session, read_csv("categories.csv"))
    if session.scalar(select(func.count()).select_from(Product)):
        return 0
    report = catalog.import_products(session, None, [with_batch(row) for row in read_csv("demo_products.csv")])
    if report.errors:
        raise ValueError(f"demo catalog has bad rows: {report.errors[:3]}")
    return report.created


def load_demo(session: Session) -> list[dict[str, str]]:
    service.ensure_builtin_roles(session)
    assert set(DEMO_STAFF) == set(STAFF_ROLES), "one demo staff member per staff role"
    logins = []
    for role, (email, name) in DEMO_STAFF.items():
        if service.find_by_login(session, email) is None:
            if role == "admin":
                service.create_admin(session, email=email, phone=None, password=DEMO_PASSWORD, name=name)
            else:
                admin = service.find_by_login(session, DEMO_STAFF["admin"][0])
                service.create_staff(session, admin, schemas.StaffIn(
                    email=email, password=DEMO_PASSWORD, name=name, roles=[role],
                    licence_no=DEMO_PHARMACIST_LICENCE if role == "pharmacist" else ""))
        logins.append({"role": role, "login": email, "password": DEMO_PASSWORD})
    phone, name = DEMO_CUSTOMER
    if service.find_by_login(session, phone) is None:
        service.register(session, schemas.RegisterIn(phone=phone, password=DEMO_PASSWORD, name=name))
    logins.append({"role": "customer", "login": phone, "password": DEMO_PASSWORD})
    load_catalog(session)
    return logins
