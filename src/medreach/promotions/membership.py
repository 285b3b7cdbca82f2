"""Member levels by trailing 12-month paid spend, and the points ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts.models import User
from medreach.core.errors import AppError
from medreach.core.settings import get_settings
from medreach.orders.models import Order
from medreach.promotions.models import PointsEntry

COUNTED = ("paid", "shipped", "completed", "refund_requested")


def levels() -> list[tuple[str, int]]:
    """(name, threshold in fen) from MEDREACH_MEMBER_LEVELS, lowest first."""
    return get_settings().member_level_thresholds


def spend_12m(session: Session, user_id: int, now: datetime | None = None) -> int:
    since = (now or datetime.now(UTC)) - timedelta(days=365)
    return (
        session.scalar(
            select(func.coalesce(func.sum(Order.total_fen), 0)).where(
                Order.user_id == user_id, Order.status.in_(COUNTED), Order.paid_at >= since
            )
        )
        or 0
    )


def level_of(spend_fen: int) -> int:
    level = 0
    for i, (_, threshold) in enumerate(levels()):
        if spend_fen >= threshold:
            level = i
    return level


def member_level(session: Session, user_id: int | None) -> int:
    return level_of(spend_12m(session, user_id)) if user_id else 0


def balance(session: Session, user_id: int) -> int:
    return (
        session.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(PointsEntry.user_id == user_id)) or 0
    )


def add_points(session: Session, user_id: int, delta: int, reason: str, order_id: int | None = None) -> PointsEntry:
    """Write one ledger entry. The user row is locked first, so concurrent redemptions cannot overdraw."""
    session.scalar(select(User.id).where(User.id == user_id).with_for_update())
    current = balance(session, user_id)
    if current + delta < 0:
        raise AppError(422, "POINTS_INSUFFICIENT", field="points", balance=current)
    entry = PointsEntry(user_id=user_id, delta=delta, balance=current + delta, reason=reason, order_id=order_id)
    session.add(entry)
    return entry


def ledger(session: Session, user_id: int, limit: int = 100) -> list[PointsEntry]:
    return list(
        session.scalars(
            select(PointsEntry).where(PointsEntry.user_id == user_id).order_by(PointsEntry.id.desc()).limit(limit)
        )
    )


def summary(session: Session, user_id: int) -> dict:
    spend = spend_12m(session, user_id)
    lv = level_of(spend)
    table = levels()
    nxt = table[lv + 1] if lv + 1 < len(table) else None
    return {
        "level": lv,
        "level_name": table[lv][0],
        "spend_12m_fen": spend,
        "next_level_name": nxt[0] if nxt else None,
        "next_level_at_fen": nxt[1] if nxt else None,
        "points": balance(session, user_id),
        "levels": [{"level": i, "name": n, "threshold_fen": t} for i, (n, t) in enumerate(table)],
    }
