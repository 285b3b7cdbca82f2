"""The lake's tables synced from the transactional database, declared in one place: where each comes from,
its key, what marks a change, and its columns with their Arrow types.

Personal identifiers (phone, e-mail, names, ID numbers, addresses) never leave the transactional database:
the lake holds what analysis needs (a birth year rather than a birth date), so that a copy of the lake is
not a copy of anyone's identity (PIPL Art 51; COMPLIANCE 19).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from medreach.accounts.models import User
from medreach.catalog.models import Product
from medreach.orders.models import Order, OrderLine


@dataclass(frozen=True)
class Column:
    type: pa.DataType
    value: Callable[[Any], object]  # from the ORM row


def attr(name: str) -> Callable[[Any], object]:
    return lambda row: getattr(row, name)


@dataclass(frozen=True)
class LakeTable:
    name: str
    model: type
    watermark: str  # "updated_at" (rows change) or "id" (rows are only added)
    columns: dict[str, Column]
    key: str = "id"
    joins: tuple[str, ...] = ()  # relationships the columns read (loaded with the rows; any other is refused)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(name, c.type) for name, c in self.columns.items()])


TS = pa.timestamp("us", tz="UTC")


def _cols(**types: pa.DataType) -> dict[str, Column]:
    return {name: Column(t, attr(name)) for name, t in types.items()}


TABLES: dict[str, LakeTable] = {
    t.name: t
    for t in (
        LakeTable(
            "users",
            User,
            "updated_at",
            {
                **_cols(id=pa.int64(), gender=pa.string()),
                "birth_year": Column(pa.int32(), lambda u: u.birth_date.year if u.birth_date else None),
                **_cols(
                    region=pa.string(),
                    city=pa.string(),
                    occupation=pa.string(),
                    is_staff=pa.bool_(),
                    is_active=pa.bool_(),
                    last_login_at=TS,
                    created_at=TS,
                    updated_at=TS,
                ),
            },
        ),
        LakeTable(
            "products",
            Product,
            "updated_at",
            {
                **_cols(
                    id=pa.int64(),
                    sku=pa.string(),
                    generic_name=pa.string(),
                    brand_name=pa.string(),
                    manufacturer=pa.string(),
                    drug_class=pa.string(),
                ),
                "category": Column(pa.string(), lambda p: p.category.code),
                **_cols(price_fen=pa.int64(), stock=pa.int64(), pack_size=pa.int32(), pack_unit=pa.string()),
                "daily_dose": Column(pa.float64(), lambda p: float(p.daily_dose) if p.daily_dose is not None else None),
                **_cols(is_active=pa.bool_(), online_banned=pa.bool_(), sales=pa.int64(), created_at=TS, updated_at=TS),
            },
            joins=("category",),
        ),
        LakeTable(
            "orders",
            Order,
            "updated_at",
            _cols(
                id=pa.int64(),
                number=pa.string(),
                user_id=pa.int64(),
                status=pa.string(),
                subtotal_fen=pa.int64(),
                discount_fen=pa.int64(),
                shipping_fen=pa.int64(),
                total_fen=pa.int64(),
                points_earned=pa.int64(),
                currency=pa.string(),
                requires_rx=pa.bool_(),
                paid_at=TS,
                shipped_at=TS,
                completed_at=TS,
                cancelled_at=TS,
                created_at=TS,
                updated_at=TS,
            ),
        ),
        LakeTable(
            "order_lines",
            OrderLine,
            "id",
            _cols(
                id=pa.int64(),
                order_id=pa.int64(),
                product_id=pa.int64(),
                sku=pa.string(),
                generic_name=pa.string(),
                drug_class=pa.string(),
                unit_price_fen=pa.int64(),
                quantity=pa.int64(),
                line_total_fen=pa.int64(),
            ),
        ),
    )
}
