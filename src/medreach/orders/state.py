"""The order state machine: the one place that says which status may follow which.

awaiting_rx_review ──approve──> awaiting_payment ──pay──> paid ──ship──> shipped ──receive──> completed
      │ reject/cancel/timeout          │ cancel/timeout     │                 │                   │
      └──────────> cancelled <─────────┘                    └─> refund_requested <────────────────┘
                                                                 │ approve          │ reject
                                                                 └─> refunded       └─> back to where it was
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from medreach.core.errors import AppError
from medreach.orders.models import Order, OrderStatusChange

AWAITING_RX = "awaiting_rx_review"
AWAITING_PAYMENT = "awaiting_payment"
PAID = "paid"
SHIPPED = "shipped"
COMPLETED = "completed"
CANCELLED = "cancelled"
REFUND_REQUESTED = "refund_requested"
REFUNDED = "refunded"

STATUSES = (AWAITING_RX, AWAITING_PAYMENT, PAID, SHIPPED, COMPLETED, CANCELLED, REFUND_REQUESTED, REFUNDED)

TRANSITIONS: dict[str, frozenset[str]] = {
    AWAITING_RX: frozenset({AWAITING_PAYMENT, CANCELLED}),
    AWAITING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({SHIPPED, REFUND_REQUESTED}),
    SHIPPED: frozenset({COMPLETED, REFUND_REQUESTED}),
    COMPLETED: frozenset({REFUND_REQUESTED}),
    REFUND_REQUESTED: frozenset({REFUNDED, PAID, SHIPPED, COMPLETED}),
    CANCELLED: frozenset(),
    REFUNDED: frozenset(),
}
OPEN_FOR_PAYMENT = frozenset({AWAITING_PAYMENT})
HOLDS_STOCK = frozenset({AWAITING_RX, AWAITING_PAYMENT})  # released if the order is cancelled from here
COUNTED = frozenset({PAID, SHIPPED, COMPLETED, REFUND_REQUESTED})  # paid and not given back: spend, GMV


def transition(session: Session, order: Order, to: str, *, actor_id: int | None, reason: str = "") -> None:
    """Move the order to `to`, or refuse. Guarded by the status read, so two racing moves cannot both win."""
    current = order.status
    if to not in TRANSITIONS.get(current, frozenset()):
        raise AppError(409, "ORDER_STATE_CONFLICT", current=current, to=to)
    now = datetime.now(UTC)
    moved = cast(
        CursorResult,
        session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == current)
            .values(status=to, updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if moved != 1:
        session.rollback()
        raise AppError(409, "ORDER_STATE_CONFLICT", current="changed", to=to)
    order.history.append(
        OrderStatusChange(from_status=current, to_status=to, actor_id=actor_id, reason=reason[:255], at=now)
    )
    stamp = {PAID: "paid_at", SHIPPED: "shipped_at", COMPLETED: "completed_at", CANCELLED: "cancelled_at"}.get(to)
    order.status = to
    if stamp:
        setattr(order, stamp, now)
