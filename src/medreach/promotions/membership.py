"""Member levels by trailing 12-month paid spend, and the points ledger.

Paid spend is a fact of orders, and orders sit above promotions (their checkout is priced here). Promotions
keeps its own ledger of it instead (`member_spend`): the order hooks write a paid order's total and time
(`promotions.service.on_paid`) and mark a refunded one (`on_refunded`), and levels are read from there. A bulk
import of past orders calls `record_spend` with the orders that count; migration 0017 filled the ledger from
the orders paid before it existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.core.errors import AppError
from medreach.core.settings import get_settings
from medreach.promotions.models import MemberSpend, PointsEntry

SPEND_WINDOW = timedelta(days=365)


class PaidOrder(Protocol):
    """What the spend ledger reads of a paid order."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def total_fen(self) -> int: ...
    @property
    def paid_at(self) -> datetime | None: ...


def record_spend(session: Session, orders: Iterable[PaidOrder]) -> int:
    """Count paid orders in their buyers' member spend (in the caller's transaction), one statement for all of
    them: the payment hook's call, and the one call a bulk import of past orders makes with the orders that
    count (paid, not refunded). Returns how many were recorded."""
    rows = []
    for order in orders:
        if order.paid_at is None:
            raise ValueError(f"order {order.id} is not paid: only paid orders count as member spend")
        rows.append(
            {"order_id": order.id, "user_id": order.user_id, "amount_fen": order.total_fen, "paid_at": order.paid_at}
        )
    if rows:
        session.execute(insert(MemberSpend), rows)
    return len(rows)


def refund_spend(session: Session, order_id: int) -> None:
    """A refunded order's payment no longer counts (the row stays, marked)."""
    session.execute(
        update(MemberSpend)
        .where(MemberSpend.order_id == order_id, MemberSpend.refunded_at.is_(None))
        .values(refunded_at=datetime.now(UTC))
    )


def levels() -> list[tuple[str, int]]:
    """(name, threshold in fen) from MEDREACH_MEMBER_LEVELS, lowest first."""
    return get_settings().member_level_thresholds


def spend_12m(session: Session, user_id: int, now: datetime | None = None) -> int:
    """What the user paid in the last 12 months for orders not refunded, in fen."""
    since = (now or datetime.now(UTC)) - SPEND_WINDOW
    return (
        session.scalar(
            select(func.coalesce(func.sum(MemberSpend.amount_fen), 0)).where(
                MemberSpend.user_id == user_id, MemberSpend.paid_at >= since, MemberSpend.refunded_at.is_(None)
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
