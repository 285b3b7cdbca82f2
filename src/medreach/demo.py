"""The demo world: an admin and one staff member per built-in role, a sample customer, and the curated
catalog (categories and 300+ real products, a few of them on the online-sale negative list).

Idempotent: a second run finds the accounts and products and leaves their data alone.
"""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts import legal, schemas, service
from medreach.accounts.models import User
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
    return {
        **row,
        "batch_no": row.get("batch_no") or f"{made:%Y%m%d}{seed % 100:02d}",
        "expiry_date": row.get("expiry_date") or (made + timedelta(days=548 + seed % 548)).isoformat(),
    }


def load_catalog(session: Session) -> int:
    """Categories and products from the curated files; products already present are left as they are, but
    their online-sale ban is derived again (the negative list or the ingredient knowledge may have changed)."""
    catalog.upsert_categories(session, read_csv("categories.csv"))
    if session.scalar(select(func.count()).select_from(Product)):
        catalog.recheck_negative_list(session)
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
                service.create_staff(
                    session,
                    _staff(session, "admin"),
                    schemas.StaffIn(
                        email=email,
                        password=DEMO_PASSWORD,
                        name=name,
                        roles=[role],
                        licence_no=DEMO_PHARMACIST_LICENCE if role == "pharmacist" else "",
                    ),
                )
        logins.append({"role": role, "login": email, "password": DEMO_PASSWORD})
    phone, name = DEMO_CUSTOMER
    if service.find_by_login(session, phone) is None:
        agreements = legal.current_versions()
        service.register(
            session, schemas.RegisterIn(phone=phone, password=DEMO_PASSWORD, name=name, agreements=agreements)
        )
    logins.append({"role": "customer", "login": phone, "password": DEMO_PASSWORD})
    load_catalog(session)
    load_promotions(session)
    return logins


def _staff(session: Session, role: str) -> User:
    user = service.find_by_login(session, DEMO_STAFF[role][0])
    if user is None:
        raise RuntimeError(f"the demo {role} is missing: load_demo creates the staff first")
    return user


def _find(session: Session, generic_contains: str, drug_class: tuple[str, ...]) -> Product | None:
    return session.scalar(
        select(Product)
        .where(
            Product.generic_name.contains(generic_contains),
            Product.drug_class.in_(drug_class),
            Product.online_banned.is_(False),
        )
        .order_by(Product.id)
    )


FLASH_SALE_HOURS = 8  # the demo's flash sale: started an hour before the demo was loaded, over 7 hours after


def load_promotions(session: Session) -> int:
    """Running promotions for the demo (created by the marketer, approved by the admin): a flash sale,
    spend-X-save-Y tiers, a category discount, free shipping, a non-drug gift, member prices and coupons."""
    from medreach.promotions import schemas as ps
    from medreach.promotions import service as promotions
    from medreach.promotions.models import Promotion

    if session.scalar(select(func.count()).select_from(Promotion)):
        return 0
    marketer, admin = _staff(session, "marketer"), _staff(session, "admin")
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=60)
    flash_end = start + timedelta(hours=FLASH_SALE_HOURS)  # a flash sale lasts hours, not the season
    flash_item = _find(session, "感冒灵", ("otc_a", "otc_b")) or _find(session, "", ("otc_b",))
    if flash_item is None:
        raise RuntimeError("the demo catalog has no OTC product for the flash sale")
    mask = _find(session, "口罩", ("device",))
    plans: list[tuple[str, str, dict, dict]] = [
        (
            "限时秒杀 · 999感冒灵",
            "flash_sale",
            {
                "product_id": flash_item.id,
                "sale_price_fen": flash_item.price_fen * 6 // 10,
                "sale_stock": 50,
                "per_user_limit": 2,
            },
            {},
        ),
        (
            "双12 满99减10 满199减30",
            "spend_tier",
            {"tiers": [{"threshold_fen": 9900, "off_fen": 1000}, {"threshold_fen": 19900, "off_fen": 3000}]},
            {},
        ),
        ("感冒季 感冒用药9折", "catalog_discount", {"percent_off": 10}, {"category_codes": ["cold_flu"]}),
        ("满59包邮", "free_shipping", {"threshold_fen": 5900}, {}),
        ("会员价：银卡95折 金卡9折 钻石85折", "member_price", {"level_percent": {"1": 95, "2": 90, "3": 85}}, {}),
    ]
    if mask is not None:
        plans.append(("满199赠医用口罩", "gift", {"threshold_fen": 19900, "gift_product_id": mask.id}, {}))
    for name, kind, rules, scope in plans:
        promo = promotions.create_promotion(
            session,
            marketer,
            ps.PromotionIn.model_validate(
                {
                    "name": name,
                    "kind": kind,
                    "rules": rules,
                    "scope": scope,
                    "starts_at": start,
                    "ends_at": flash_end if kind == "flash_sale" else end,
                }
            ),
        )
        promotions.act(session, marketer, promo, "submit")
        promotions.review(session, admin, promo, "approve", "demo")
    coupons = [
        {"name": "新人券 满50减10", "kind": "amount_off", "amount_off_fen": 1000, "min_spend_fen": 5000},
        {"name": "全场95折 最高减20", "kind": "percent_off", "percent_off": 5, "max_off_fen": 2000},
        {
            "name": "会员专享 满200减30",
            "kind": "amount_off",
            "amount_off_fen": 3000,
            "min_spend_fen": 20000,
            "min_member_level": 1,
        },
        {
            "name": "口令券 MEDREACH2026 满30减5",
            "kind": "amount_off",
            "amount_off_fen": 500,
            "min_spend_fen": 3000,
            "claimable": False,
            "public_code": "MEDREACH2026",
            "total_limit": 1000,
        },
    ]
    for fields in coupons:
        coupon = promotions.create_coupon(
            session, marketer, ps.CouponIn.model_validate({"valid_from": start, "valid_to": end, **fields})
        )
        promotions.act(session, marketer, coupon, "submit")
        promotions.review(session, admin, coupon, "approve", "demo")
    return len(plans) + len(coupons)
