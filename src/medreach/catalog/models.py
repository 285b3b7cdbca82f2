"""Categories, products with their drug attributes, and stock movements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medreach.core.db import Base, Timestamped, utcnow

DrugClass = Literal["rx", "otc_a", "otc_b", "device", "health_food", "other"]
DRUG_CLASSES: tuple[DrugClass, ...] = get_args(DrugClass)
MEDICINE_CLASSES: frozenset[str] = frozenset({"rx", "otc_a", "otc_b"})  # drugs: their active ingredients are required
DRUG_CLASS_NAMES = {
    "rx": "处方药",
    "otc_a": "甲类非处方药",
    "otc_b": "乙类非处方药",
    "device": "医疗器械",
    "health_food": "保健食品",
    "other": "其他",
}


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    parent: Mapped[Category | None] = relationship(remote_side=[id], lazy="joined", join_depth=3)


class Product(Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True)
    generic_name: Mapped[str] = mapped_column(String(128), index=True)  # 通用名
    brand_name: Mapped[str] = mapped_column(String(64), default="", index=True)  # 商品名/品牌
    specification: Mapped[str] = mapped_column(String(128), default="")
    dosage_form: Mapped[str] = mapped_column(String(32), default="")
    manufacturer: Mapped[str] = mapped_column(String(128), default="", index=True)
    approval_number: Mapped[str] = mapped_column(String(64), default="")  # 国药准字…
    drug_class: Mapped[DrugClass] = mapped_column(String(16), index=True)
    special_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"code": ingredient code (compliance/data/ingredients.toml), "amount": number or null, "unit": "mg"}]
    active_ingredients: Mapped[list[dict]] = mapped_column(JSON, default=list)
    atc_code: Mapped[str] = mapped_column(String(16), default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    indications: Mapped[str] = mapped_column(Text, default="")
    contraindications: Mapped[str] = mapped_column(Text, default="")
    pregnancy: Mapped[str] = mapped_column(String(64), default="")
    children: Mapped[str] = mapped_column(String(64), default="")
    elderly: Mapped[str] = mapped_column(String(64), default="")
    usage_dosage: Mapped[str] = mapped_column(Text, default="")
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    pack_unit: Mapped[str] = mapped_column(String(8), default="")
    daily_dose: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))  # units per day, for days of supply
    price_fen: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    max_per_order: Mapped[int] = mapped_column(Integer, default=10)  # per-customer quantity limit per order
    batch_no: Mapped[str] = mapped_column(String(32), default="")
    expiry_date: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_url: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Derived from the negative list on every save (compliance.negative_list); never set by hand.
    online_banned: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    banned_reason: Mapped[str] = mapped_column(String(255), default="")
    negative_list_version: Mapped[str] = mapped_column(String(32), default="")
    sales: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[Category] = relationship(lazy="joined")

    @property
    def is_rx(self) -> bool:
        return self.drug_class == "rx"

    @property
    def ingredient_codes(self) -> list[str]:
        return [i["code"] for i in self.active_ingredients or []]

    @property
    def days_of_supply(self) -> float | None:
        if not self.daily_dose or self.daily_dose <= 0:
            return None
        return round(self.pack_size / float(self.daily_dose), 1)


class StockMovement(Base):
    """Every change of stock, with why: an order reserving or releasing, an import, a manual fix."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), default="")
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
