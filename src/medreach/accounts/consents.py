"""The consent ledger: what each user allows MedReach to do with their data, purpose by purpose (PIPL
Art 14-16, 28-31). Refusing never blocks buying; a change takes effect at once.

Each purpose is explained on its own and switched on its own. Behaviour analytics (the store's own usage
statistics) is on unless the user (or the browser's Do Not Track / Global Privacy Control) says no; every other
purpose, health profiles above all (sensitive personal information), is off until the user turns it on. The
choices made at registration are recorded as such (channel "registration").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from medreach.accounts.models import Consent, User
from medreach.core.context import client_info

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Purpose:
    default: bool
    sensitive: bool  # health data: separate, explicit consent (PIPL Art 29)
    label_zh: str
    label_en: str
    zh: str  # what is used, what for, what saying no means
    en: str


PurposeName = Literal["behaviour_analytics", "personalization", "marketing_sms", "marketing_email", "health_profile"]

PURPOSES: dict[PurposeName, Purpose] = {
    "behaviour_analytics": Purpose(
        True,
        False,
        "行为分析",
        "Behaviour analytics",
        "记录您在本店的浏览、搜索、加入购物车和点击（不含手机号、身份证号），用于统计商品和页面的使用情况、改进服务和"
        "评估活动效果。默认开启，可随时关闭；浏览器的“请勿追踪”或“全局隐私控制”信号视为关闭。",
        "Records what you browse, search, add to the cart and click in the store (never your phone or ID number) to "
        "measure how products and pages are used, improve the store and evaluate campaigns. On by default; switch it "
        "off at any time. A browser's Do Not Track or Global Privacy Control signal counts as off.",
    ),
    "personalization": Purpose(
        False,
        False,
        "个性化推荐",
        "Personalized recommendations",
        "根据您的浏览和购买记录为您推荐商品、排序搜索结果和展示优惠。关闭时您看到的内容不基于您的个人特征。",
        "Suggests products, orders search results and picks offers from what you browsed and bought. Off, what you "
        "see is not based on your personal characteristics.",
    ),
    "marketing_sms": Purpose(
        False,
        False,
        "短信营销",
        "Marketing by SMS",
        "通过短信向您发送优惠券和活动信息，每条短信注明发送方并可退订。订单、物流和退款通知不受此影响。",
        "Offers and campaigns by text message, each naming its sender with a way to unsubscribe. Order, delivery and "
        "refund notices are not affected.",
    ),
    "marketing_email": Purpose(
        False,
        False,
        "邮件营销",
        "Marketing by email",
        "通过邮件向您发送优惠券和活动信息，每封邮件注明发送方并可退订。订单、物流和退款通知不受此影响。",
        "Offers and campaigns by email, each naming its sender with a way to unsubscribe. Order, delivery and refund "
        "notices are not affected.",
    ),
    "health_profile": Purpose(
        False,
        True,
        "健康档案",
        "Health profile",
        "根据您的处方、用药和药品购买记录建立健康档案，用于用药提醒和相关健康建议。这是敏感个人信息，需要您单独同意；"
        "不同意不影响购买任何商品（包括处方药），可随时撤回。",
        "Builds a health profile from your prescriptions, medication and drug purchases for refill reminders and "
        "relevant health suggestions. This is sensitive personal information and needs your separate consent; saying "
        "no never affects buying anything, prescription drugs included, and you can withdraw at any time.",
    ),
}


assert set(get_args(PurposeName)) == set(PURPOSES), "every purpose named once, and explained"

# Other domains act on a changed decision (profiles removes health data when health_profile is withdrawn) without
# accounts importing them: they register a listener here, and `decide` calls it once the change is committed.
ConsentListener = Callable[[Session, int, str, bool], None]
_listeners: dict[str, ConsentListener] = {}


def on_change(name: str, listener: ConsentListener) -> None:
    """Call `listener(session, user_id, purpose, granted)` after every committed change of a decision (the same
    name registered again replaces its listener). A failing listener is logged; the decision stands."""
    _listeners[name] = listener


@dataclass(frozen=True)
class State:
    purpose: PurposeName
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


def decide(session: Session, user: User, purpose: PurposeName, granted: bool, channel: str = "account") -> State:
    """Record a decision (only a change adds a row) and return the state in force."""
    current = next(s for s in states(session, user.id) if s.purpose == purpose)
    if current.granted != granted or current.decided_at is None:
        _add(session, user.id, purpose, granted, channel)
        session.commit()
        for name, listener in list(_listeners.items()):
            try:
                listener(session, user.id, purpose, granted)
            except Exception:  # the decision is recorded and in force; readers check the ledger too
                log.exception("consent_listener_failed", listener=name, purpose=purpose)
    return next(s for s in states(session, user.id) if s.purpose == purpose)


def record_registration(session: Session, user: User, choices: Mapping[PurposeName, bool]) -> None:
    """The choices made on the registration form, in the caller's transaction. Without a choice for behaviour
    analytics, a browser's Do Not Track / Global Privacy Control is recorded as a no."""
    if "behaviour_analytics" not in choices and client_info.get().tracking_opt_out:
        choices = {**choices, "behaviour_analytics": False}
    for purpose, granted in choices.items():
        _add(session, user.id, purpose, granted, "registration")


def _add(session: Session, user_id: int, purpose: str, granted: bool, channel: str) -> None:
    session.add(
        Consent(user_id=user_id, purpose=purpose, granted=granted, channel=channel, ip=client_info.get().ip[:45])
    )


def refused(session: Session, user_ids: set[int], purpose: PurposeName) -> set[int]:
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


def granting(session: Session, purpose: str) -> set[int]:
    """The users whose newest decision grants `purpose` (for a purpose off by default, everyone who allows it)."""
    return set(
        session.scalars(
            select(Consent.user_id).where(Consent.id.in_(_newest_ids(purpose=purpose)), Consent.granted.is_(True))
        )
    )


def _newest_ids(user_id: int | None = None, purpose: str | None = None, user_ids: set[int] | None = None):
    q = select(func.max(Consent.id)).group_by(Consent.user_id, Consent.purpose)
    if user_id is not None:
        q = q.where(Consent.user_id == user_id)
    if user_ids is not None:
        q = q.where(Consent.user_id.in_(user_ids))
    if purpose is not None:
        q = q.where(Consent.purpose == purpose)
    return q


def record_many(session: Session, decisions: Iterable[tuple[int, str, bool, str, datetime]]) -> int:
    """Decisions in bulk, in the caller's transaction: (user id, purpose, granted, channel, when), added to the
    ledger as `record_registration` and `decide` add them, at their own times, in statements of a few thousand
    rows. No listener is called (for accounts whose derived data does not exist yet: the demo's customers)."""
    total, rows = 0, []
    for user_id, purpose, granted, channel, at in decisions:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        rows.append(
            {"user_id": user_id, "purpose": purpose, "granted": granted, "channel": channel, "ip": "", "at": at}
        )
        if len(rows) == 2000:
            session.execute(insert(Consent.metadata.tables["consents"]), rows)
            total, rows = total + len(rows), []
    if rows:
        session.execute(insert(Consent.metadata.tables["consents"]), rows)
    return total + len(rows)
