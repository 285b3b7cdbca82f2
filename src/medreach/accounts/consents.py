"""The consent ledger: what each user allows MedReach to do with their data, purpose by purpose (PIPL
Art 14-16, 28-31). Refusing never blocks buying; a change takes effect at once.

Purposes are added here as the capabilities that need them arrive; each says its default. Behaviour
analytics is on unless the user (or the browser's Do Not Track / Global Privacy Control) says no; the
sensitive purposes still to come (health profiles, marketing channels, sharing) will be off by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medreach.accounts.models import Consent, User
from medreach.core.context import client_info


@dataclass(frozen=True)
class Purpose:
    default: bool
    zh: str
    en: str


PURPOSES = {
    "behaviour_analytics": Purpose(
        True,
        "个性化与行为分析：记录浏览、搜索和购物车行为，用于改进商品和服务",
        "Behaviour analytics: browsing, searches and cart activity, to improve the store",
    ),
}


@dataclass(frozen=True)
class State:
    purpose: str
    granted: bool
    default: bool
    decided_at: datetime | None


def states(session: Session, user_id: int) -> list[State]:
    """Every purpose for this user: the newest decision, or the default when there is none."""
    newest = {
        c.purpose: c
        for c in session.scalars(
            select(Consent).where(Consent.user_id == user_id, Consent.id.in_(_newest_ids(user_id=user_id)))
        )
    }
    return [
        State(
            p, newest[p].granted if p in newest else spec.default, spec.default, newest[p].at if p in newest else None
        )
        for p, spec in PURPOSES.items()
    ]


def decide(session: Session, user: User, purpose: str, granted: bool, channel: str = "account") -> State:
    """Record a decision (only a change adds a row) and return the state in force."""
    current = next(s for s in states(session, user.id) if s.purpose == purpose)
    if current.granted != granted or current.decided_at is None:
        session.add(
            Consent(user_id=user.id, purpose=purpose, granted=granted, channel=channel, ip=client_info.get().ip[:45])
        )
        session.commit()
    return next(s for s in states(session, user.id) if s.purpose == purpose)


def refused(session: Session, user_ids: set[int], purpose: str) -> set[int]:
    """Which of these users do not allow `purpose` right now."""
    if not user_ids:
        return set()
    decided = dict(
        session.execute(
            select(Consent.user_id, Consent.granted).where(
                Consent.id.in_(_newest_ids(purpose=purpose, user_ids=user_ids))
            )
        ).all()
    )
    default = PURPOSES[purpose].default
    return {u for u in user_ids if not decided.get(u, default)}


def _newest_ids(user_id: int | None = None, purpose: str | None = None, user_ids: set[int] | None = None):
    q = select(func.max(Consent.id)).group_by(Consent.user_id, Consent.purpose)
    if user_id is not None:
        q = q.where(Consent.user_id == user_id)
    if user_ids is not None:
        q = q.where(Consent.user_id.in_(user_ids))
    if purpose is not None:
        q = q.where(Consent.purpose == purpose)
    return q
