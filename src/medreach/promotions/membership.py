"""Member levels by trailing 12-month paid spend, and the points ledger.

Paid spend is a fact of orders, and orders sit above promotions (their checkout is priced here). Coupon
claims and the membership page start in promotions' own routes, so no caller above can pass the spend in:
the orders domain hands its reader over once, when `medreach.orders.service` is imported
(`read_paid_spend_with`), and this module never imports orders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.core.errors import AppError
from medreach.core.settings import get_settings
from medreach.promotions.models import PointsEntry

PaidSpend = Callable[[Session, int, datetime], int]  # (session, user id, since) -> fen paid for orders that count


_paid_spend: PaidSpend | None = None


def read_paid_spend_with(reader: PaidSpend) -> None:
    """Called by the orders domain: how much a user paid, for orders that count, since a moment."""
    global _paid_spend
    _paid_spend = reader


def levels() -> list[tuple[str, int]]:
    """(name, threshold in fen) from MEDREACH_MEMBER_LEVELS, lowest first."""
    return get_settings().member_level_thresholds


def spend_12m(session: Session, user_id: int, now: datetime | None = None) -> int:
    if _paid_spend is None:
        raise RuntimeError("member levels need the orders domain's paid spend: import medreach.orders.service")
    return _paid_spend(session, user_id, (now or datetime.now(UTC)) - timedelta(days=365))


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
    accounts.lock_user(session, user_id)
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
