"""Promotions, coupons, flash sales, order price adjustments, membership points."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medreach.core.db import Base, Timestamped, utcnow

# Promotion kinds the pricing engine knows (see engine.py for what each does and how they stack).
KINDS = ("catalog_discount", "spend_tier", "spend_percent", "free_shipping", "gift", "member_price", "flash_sale")
# Lifecycle: draft -> in_review -> published (running between starts_at and ends_at) -> paused <-> published
#            -> ended; a reviewer may send in_review back to draft.
STATUSES = ("draft", "in_review", "published", "paused", "ended")


class Promotion(Timestamped, Base):
    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column(index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher applies first among its kind
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)  # no other order-level promotion with it
    # What it applies to: {"product_ids": [...], "category_codes": [...], "brands": [...]}; empty = all.
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Kind-specific rules, validated by schemas.RulesFor[kind].
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    review_note: Mapped[str] = mapped_column(String(255), default="")
    published_at: Mapped[datetime | None] = mapped_column()


class FlashSale(Base):
    """The sale stock of a flash-sale promotion (one product). In the database path `remaining` is the
    truth; with Redis configured Redis holds the live count and this row is the starting point."""

    __tablename__ = "flash_sales"

    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sale_price_fen: Mapped[int] = mapped_column(Integer)
    sale_stock: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)


class FlashBuyer(Base):
    """Units a buyer holds in a flash sale (the per-user limit, in the database path)."""

    __tablename__ = "flash_buyers"

    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)


class FlashReservation(Base):
    """Units of a flash sale held for one order; released if the order is not paid in time."""

    __tablename__ = "flash_reservations"
    __table_args__ = (UniqueConstraint("promotion_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="held")  # held | confirmed | released
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coupon(Timestamped, Base):
    """A coupon template: codes or claims create CouponGrant rows for users."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # amount_off | percent_off
    amount_off_fen: Mapped[int] = mapped_column(Integer, default=0)
    percent_off: Mapped[int] = mapped_column(Integer, default=0)  # 10 = 10% off
    max_off_fen: Mapped[int] = mapped_column(Integer, default=0)  # cap for percent coupons; 0 = none
    min_spend_fen: Mapped[int] = mapped_column(Integer, default=0)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    valid_from: Mapped[datetime] = mapped_column()
    valid_to: Mapped[datetime] = mapped_column()
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)
    total_limit: Mapped[int] = mapped_column(Integer, default=0)  # 0 = unlimited
    issued: Mapped[int] = mapped_column(Integer, default=0)
    claimable: Mapped[bool] = mapped_column(Boolean, default=True)  # shown in the storefront's coupon centre
    public_code: Mapped[str | None] = mapped_column(String(32), unique=True)  # one code anyone may redeem
    min_member_level: Mapped[int] = mapped_column(Integer, default=0)  # member-exclusive coupons
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    created_by: Mapped[int | None] = mapped_column(Integer)
    reviewed_by: Mapped[int | None] = mapped_column(Integer)
    review_note: Mapped[str] = mapped_column(String(255), default="")


class CouponGrant(Base):
    """One usable coupon: claimed by or issued to a user, or a single-use code waiting to be redeemed."""

    __tablename__ = "coupon_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)  # single-use codes made in bulk
    status: Mapped[str] = mapped_column(String(16), default="available", index=True)  # available|locked|used
    order_id: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column()


class OrderAdjustment(Base):
    """One line of an order's price breakdown: which promotion, coupon or points took how much off."""

    __tablename__ = "order_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(Integer)  # None: an order-level adjustment
    source: Mapped[str] = mapped_column(String(24))  # promotion | coupon | points | shipping
    source_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(128))
    amount_fen: Mapped[int] = mapped_column(Integer)  # taken off (positive)


class PointsEntry(Base):
    """The points ledger: every earning, redemption and reversal, with the balance after it."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))  # earned | redeemed | reversed | refunded_redemption
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MemberSpend(Base):
    """What a paid order adds to its buyer's member spend (levels count the last 12 months), one row an order:
    written by the order hooks when it is paid, marked when it is refunded (then it counts no more)."""

    __tablename__ = "member_spend"
    __table_args__ = (Index("ix_member_spend_user_id_paid_at", "user_id", "paid_at"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount_fen: Mapped[int] = mapped_column(Integer)  # what the buyer paid for the order
    paid_at: Mapped[datetime] = mapped_column()
    refunded_at: Mapped[datetime | None] = mapped_column()
