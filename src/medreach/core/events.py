"""Domain events: one function emits them, one table (an outbox) keeps them.

`emit()` adds the event to the caller's transaction, so an event exists exactly when the state change
it reports was committed. Names follow the Segment e-commerce spec where one exists ("Product Viewed",
"Order Completed" = paid, …); the tracking capability reads the outbox and moves events into the event log
without touching the code that emits them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from medreach.core.context import client_info
from medreach.core.db import Base, utcnow

# The stable catalogue: a name not listed here is a programming error, caught by tests.
EVENTS = {
    "Products Searched",
    "Product List Viewed",
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Order Placed",
    "Order Completed",
    "Order Cancelled",
    "Order Refunded",
    "Order Shipped",
    "Order Delivered",
    "Prescription Submitted",
    "Prescription Approved",
    "Prescription Rejected",
    "Product Reviewed",
    "Coupon Applied",
}
# Events about browsing rather than transactions: not recorded for a visitor who opted out of behaviour
# analytics. Orders, payments, prescriptions and reviews are business records and always kept.
BEHAVIOUR = {
    "Products Searched",
    "Product List Viewed",
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
}


class DomainEvent(Base):
    __tablename__ = "domain_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column()  # set by the tracking capability


def emit(
    session: Session, name: str, /, *, user_id: int | None = None, anonymous_id: str | None = None, **properties: Any
) -> DomainEvent | None:
    """Add one event to the session's transaction. Properties are the event's own (Segment spec names).
    A behaviour event of a request that opted out of tracking is not recorded (None)."""
    if name not in EVENTS:
        raise ValueError(f"unknown domain event {name!r}")
    if name in BEHAVIOUR and client_info.get().tracking_opt_out:
        return None
    event = DomainEvent(
        message_id=str(uuid.uuid4()), name=name, user_id=user_id, anonymous_id=anonymous_id, properties=properties
    )
    session.add(event)
    return event
