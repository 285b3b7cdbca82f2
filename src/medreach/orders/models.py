"""Carts, orders and their history, payments and refunds, prescriptions, reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medreach.core.db import Base, Timestamped, utcnow
from medreach.core.security import EncryptedString

PrescriptionKind = Literal["upload", "e_rx"]


class Cart(Timestamped, Base):
    """A customer's cart, or a guest's (found by its token until the guest logs in)."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    guest_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    items: Mapped[list[CartItem]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="CartItem.id")


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prescription(Timestamped, Base):
    """An uploaded prescription (image/PDF) or an e-prescription record, reviewed by a pharmacist."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PrescriptionKind] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|rejected|consumed
    file_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(128), default="")
    content_type: Mapped[str] = mapped_column(String(64), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    hospital: Mapped[str] = mapped_column(String(128), default="")
    doctor: Mapped[str] = mapped_column(String(64), default="")
    rx_number: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # the last day it may be used (an e-prescription's)
    patient_name: Mapped[str | None] = mapped_column("patient_name_enc", EncryptedString())
    # The rest of the patient (用药人) as JSON: sex, birth date or age, allergies, pregnancy, relationship to the buyer.
    patient: Mapped[str | None] = mapped_column("patient_enc", EncryptedString())
    diagnosis: Mapped[str | None] = mapped_column("diagnosis_enc", EncryptedString())
    reviewer_id: Mapped[int | None] = mapped_column(Integer)
    reviewer_name: Mapped[str] = mapped_column(String(64), default="")
    reviewer_licence: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_reason: Mapped[str] = mapped_column(String(255), default="")
    consumed_order_id: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[list[PrescriptionItem]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class PrescriptionItem(Base):
    __tablename__ = "prescription_items"

    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)


class Order(Timestamped, Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))  # the same key with another request is refused
    status: Mapped[str] = mapped_column(String(32), index=True)
    subtotal_fen: Mapped[int] = mapped_column(Integer)
    shipping_fen: Mapped[int] = mapped_column(Integer, default=0)
    discount_fen: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(Integer)
    points_earned: Mapped[int] = mapped_column(Integer, default=0)  # credited when paid
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # A snapshot of the shipping address at order time (JSON, encrypted as personal data).
    address: Mapped[str] = mapped_column("address_enc", EncryptedString())
    requires_rx: Mapped[bool] = mapped_column(Boolean, default=False)
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    risk_confirmed_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(index=True)  # unpaid / unreviewed orders lapse then
    paid_at: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    tracking_no: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(255), default="")
    lines: Mapped[list[OrderLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OrderLine.id"
    )
    history: Mapped[list[OrderStatusChange]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="OrderStatusChange.id"
    )


class OrderLine(Base):
    """A sales record line (药品管理法 Art 57): what was sold, from which batch, at what price."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    sku: Mapped[str] = mapped_column(String(32))
    generic_name: Mapped[str] = mapped_column(String(128))
    brand_name: Mapped[str] = mapped_column(String(64), default="")
    specification: Mapped[str] = mapped_column(String(128), default="")
    dosage_form: Mapped[str] = mapped_column(String(32), default="")
    manufacturer: Mapped[str] = mapped_column(String(128), default="")
    approval_number: Mapped[str] = mapped_column(String(64), default="")
    drug_class: Mapped[str] = mapped_column(String(16))
    batch_no: Mapped[str] = mapped_column(String(32), default="")
    expiry_date: Mapped[date | None] = mapped_column(Date)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_fen: Mapped[int] = mapped_column(Integer)


class OrderStatusChange(Base):
    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(32), default="")
    to_status: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Timestamped, Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="RESTRICT"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)  # our id, sent to the gateway
    gateway_trade_no: Mapped[str] = mapped_column(String(64), default="")
    amount_fen: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(16), default="created")  # created | paid | closed | refunded
    pay_url: Mapped[str] = mapped_column(String(255), default="")
    paid_at: Mapped[datetime | None] = mapped_column()
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)


class PaymentNotification(Base):
    """A verified asynchronous notification (signed by the gateway) with its outcome: one row per notification id,
    however often it is delivered. Notifications that fail verification are never stored (payments.REJECTED)."""

    __tablename__ = "payment_notifications"
    __table_args__ = (UniqueConstraint("provider", "notify_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    notify_id: Mapped[str] = mapped_column(String(64), index=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(32))  # applied | duplicate | mismatch | unknown_trade
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_count: Mapped[int] = mapped_column(Integer, default=1)  # deliveries of this notification id
    last_received_at: Mapped[datetime | None] = mapped_column()


class Review(Timestamped, Base):
    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("user_id", "product_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|approved|rejected
    moderator_id: Mapped[int | None] = mapped_column(Integer)
    moderation_reason: Mapped[str] = mapped_column(String(255), default="")
    moderated_at: Mapped[datetime | None] = mapped_column()
