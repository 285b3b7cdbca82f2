"""Promotions and coupons: editing, the review lifecycle, compliance checks, claiming and redeeming,
and the glue between the database and the pricing engine (quotes, and an order's whole price life)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.catalog import service as catalog
from medreach.core.cache import Cache
from medreach.core.context import client_info
from medreach.core.db import get_or_404, retrying
from medreach.core.errors import AppError
from medreach.core.events import emit
from medreach.core.settings import get_settings
from medreach.ops.service import audit
from medreach.promotions import engine, membership, schemas
from medreach.promotions.flash import FlashStock, RedisFlashStock, SaleCache
from medreach.promotions.models import (
    Coupon,
    CouponGrant,
    FlashReservation,
    FlashSale,
    OrderAdjustment,
    PointsEntry,
    Promotion,
)
from medreach.promotions.throttle import CodeThrottle

if TYPE_CHECKING:  # types only: users and products are read through their domains' services
    from medreach.accounts.models import User
    from medreach.catalog.models import Product

GIFT_ALLOWED_CLASSES = ("device", "health_food", "other")  # gifts are never drugs (买药赠药 ban)


class PlacedOrder(membership.PaidOrder, Protocol):
    """What promotions reads of an order. Orders sit above promotions: they own the order and hand it to
    the hooks below (record, on_paid, on_cancelled, on_refunded) at each step of its life."""

    @property
    def number(self) -> str: ...


def now() -> datetime:
    return datetime.now(UTC)


# --- lifecycle, shared by promotions and coupons ------------------------------------------------------


def state_of(obj: Promotion | Coupon, at: datetime | None = None) -> schemas.LifecycleState:
    """What a promotion or coupon is doing now: its stored status, with the time window applied."""
    at = at or now()
    start, end = (obj.starts_at, obj.ends_at) if isinstance(obj, Promotion) else (obj.valid_from, obj.valid_to)
    if obj.status != "published":
        return cast(schemas.LifecycleState, obj.status)  # every stored status but published is a state itself
    return "scheduled" if at < start else "ended" if at >= end else "running"


_ACTIONS = {
    "submit": ("draft", "in_review"),
    "pause": ("published", "paused"),
    "resume": ("paused", "published"),
    "end": (("published", "paused"), "ended"),
}


def act(session: Session, actor: User, obj, action: str) -> None:
    sources, target = _ACTIONS[action]
    sources = (sources,) if isinstance(sources, str) else sources
    if obj.status not in sources:
        raise AppError(409, "PROMO_STATE_CONFLICT", current=obj.status, action=action)
    obj.status = target
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action=f"{obj.__tablename__}.{action}",
        subject_type=obj.__tablename__,
        subject_id=obj.id,
    )
    session.commit()


def review(session: Session, reviewer: User, obj, decision: str, note: str) -> None:
    """Four eyes: a reviewer approves or rejects what someone else submitted."""
    if obj.status != "in_review":
        raise AppError(409, "PROMO_STATE_CONFLICT", current=obj.status, action="review")
    if obj.created_by == reviewer.id:
        raise AppError(403, "PROMO_SELF_REVIEW")
    obj.status = "published" if decision == "approve" else "draft"
    obj.reviewed_by, obj.review_note = reviewer.id, note
    if decision == "approve" and isinstance(obj, Promotion):
        obj.published_at = now()
    audit(
        session,
        actor_id=reviewer.id,
        actor_login=reviewer.login,
        action=f"{obj.__tablename__}.{decision}",
        subject_type=obj.__tablename__,
        subject_id=obj.id,
        detail={"note": note},
    )
    session.commit()


# --- compliance -----------------------------------------------------------------------------------------


def check_scope(session: Session, scope: schemas.ScopeIn) -> None:
    """Promotions never reach prescription drugs (广告法 Art 15): naming one in a scope is refused.
    (Category and brand scopes may contain Rx products; the engine leaves those lines alone.)"""
    found = catalog.products_by_id(session, scope.product_ids)
    missing = set(scope.product_ids) - set(found)
    if missing:
        raise AppError(422, "PRODUCT_UNAVAILABLE", field="scope.product_ids", product=str(min(missing)))
    for p in found.values():
        if p.is_rx:
            raise AppError(422, "PROMO_RX_NOT_ALLOWED", field="scope.product_ids", product=p.sku)
        if p.online_banned:
            raise AppError(422, "PRODUCT_UNAVAILABLE", field="scope.product_ids", product=p.sku)


def _validated_rules(session: Session, kind: str, raw: dict) -> dict:
    try:
        rules = schemas.RULES_FOR[kind].model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(["rules", *map(str, err["loc"])])
        raise AppError(422, "VALIDATION_ERROR", field=field, reason=err["msg"]) from e
    data = rules.model_dump(exclude_none=True)
    if isinstance(rules, schemas.GiftRules):
        gift = catalog.products_by_id(session, [rules.gift_product_id]).get(rules.gift_product_id)
        if gift is None:
            raise AppError(
                422, "PRODUCT_UNAVAILABLE", field="rules.gift_product_id", product=str(rules.gift_product_id)
            )
        if gift.drug_class not in GIFT_ALLOWED_CLASSES:
            raise AppError(422, "GIFT_DRUG_FORBIDDEN", field="rules.gift_product_id", product=gift.sku)
        data.update(gift_name=catalog.display_name(gift), gift_drug_class=gift.drug_class)
    if isinstance(rules, schemas.FlashSaleRules):
        product = catalog.products_by_id(session, [rules.product_id]).get(rules.product_id)
        if product is None or product.online_banned or not product.is_active:
            raise AppError(422, "PRODUCT_UNAVAILABLE", field="rules.product_id", product=str(rules.product_id))
        if product.is_rx:
            raise AppError(422, "PROMO_RX_NOT_ALLOWED", field="rules.product_id", product=product.sku)
        if rules.sale_price_fen >= product.price_fen:
            raise AppError(422, "VALIDATION_ERROR", field="rules.sale_price_fen")
    return data


# --- promotions ----------------------------------------------------------------------------------------------


def create_promotion(session: Session, actor: User, data: schemas.PromotionIn) -> Promotion:
    check_scope(session, data.scope)
    rules = _validated_rules(session, data.kind, data.rules)
    scope = data.scope.model_dump()
    if data.kind == "flash_sale":
        scope = {"product_ids": [rules["product_id"]], "category_codes": [], "brands": []}
    promo = Promotion(
        name=data.name,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        priority=data.priority,
        exclusive=data.exclusive,
        scope=scope,
        rules=rules,
        created_by=actor.id,
    )
    session.add(promo)
    session.flush()
    if data.kind == "flash_sale":
        session.add(
            FlashSale(
                promotion_id=promo.id,
                product_id=rules["product_id"],
                sale_price_fen=rules["sale_price_fen"],
                sale_stock=rules["sale_stock"],
                remaining=rules["sale_stock"],
                per_user_limit=rules["per_user_limit"],
            )
        )
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="promotions.create",
        subject_type="promotion",
        subject_id=promo.id,
        detail={"kind": data.kind, "name": data.name},
    )
    session.commit()
    return promo


def update_promotion(session: Session, actor: User, promo_id: int, data: schemas.PromotionPatch) -> Promotion:
    promo = get_promotion(session, promo_id)
    if promo.status != "draft":
        raise AppError(409, "PROMO_STATE_CONFLICT", current=promo.status, action="edit")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if data.scope is not None:
        check_scope(session, data.scope)
    if data.rules is not None:
        changes["rules"] = _validated_rules(session, promo.kind, data.rules)
        if promo.kind == "flash_sale":
            sale = get_or_404(session, FlashSale, promo.id, "flash sale")
            r = changes["rules"]
            sale.product_id, sale.sale_price_fen, sale.per_user_limit = (
                r["product_id"],
                r["sale_price_fen"],
                r["per_user_limit"],
            )
            sale.sale_stock = sale.remaining = r["sale_stock"]
    for field, value in changes.items():
        setattr(promo, field, value)
    if promo.ends_at <= promo.starts_at:
        raise AppError(422, "VALIDATION_ERROR", field="ends_at")
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="promotions.update",
        subject_type="promotion",
        subject_id=promo.id,
        detail={"changed": sorted(changes)},
    )
    session.commit()
    return promo


def get_promotion(session: Session, promo_id: int) -> Promotion:
    return get_or_404(session, Promotion, promo_id, "promotion")


def promotion_view(session: Session, promo: Promotion, flash: FlashStock | None = None) -> schemas.PromotionOut:
    info = None
    if promo.kind == "flash_sale":
        sale = get_or_404(session, FlashSale, promo.id, "flash sale")
        product = catalog.get_product(session, sale.product_id)
        info = {
            "product_id": sale.product_id,
            "product_name": catalog.display_name(product),
            "list_price_fen": product.price_fen,
            "sale_price_fen": sale.sale_price_fen,
            "sale_stock": sale.sale_stock,
            "per_user_limit": sale.per_user_limit,
            "remaining": flash.remaining(session, sale) if flash else sale.remaining,
            "image_url": catalog.image_url(product),
        }
    return schemas.PromotionOut(
        id=promo.id,
        name=promo.name,
        kind=promo.kind,
        status=promo.status,
        state=state_of(promo),
        starts_at=promo.starts_at,
        ends_at=promo.ends_at,
        priority=promo.priority,
        exclusive=promo.exclusive,
        scope=promo.scope,
        rules=promo.rules,
        review_note=promo.review_note,
        created_by=promo.created_by,
        reviewed_by=promo.reviewed_by,
        flash=info,
    )


def list_promotions(session: Session, kind: str | None = None, status: str | None = None) -> list[Promotion]:
    q = select(Promotion).order_by(Promotion.id.desc())
    if kind:
        q = q.where(Promotion.kind == kind)
    if status:
        q = q.where(Promotion.status == status)
    return list(session.scalars(q.limit(500)))


def running(session: Session, at: datetime | None = None, kind: str | None = None) -> list[Promotion]:
    at = at or now()
    q = select(Promotion).where(Promotion.status == "published", Promotion.starts_at <= at, Promotion.ends_at > at)
    if kind:
        q = q.where(Promotion.kind == kind)
    return list(session.scalars(q.order_by(Promotion.priority.desc(), Promotion.id)))


def adjustments_by(session: Session, promo_id: int) -> Select:
    """The promotion's share of every order it priced, as (order_id, product_id, amount_fen) rows to query
    further: its results count only paid orders, which the orders domain (above) knows."""
    get_promotion(session, promo_id)
    return select(OrderAdjustment.order_id, OrderAdjustment.product_id, OrderAdjustment.amount_fen).where(
        OrderAdjustment.source == "promotion", OrderAdjustment.source_id == promo_id
    )


# --- coupons ---------------------------------------------------------------------------------------------------


def create_coupon(session: Session, actor: User, data: schemas.CouponIn) -> Coupon:
    check_scope(session, data.scope)
    if data.public_code and session.scalar(select(Coupon.id).where(Coupon.public_code == data.public_code)):
        raise AppError(409, "CONFLICT", field="public_code")
    coupon = Coupon(**data.model_dump(exclude={"scope"}), scope=data.scope.model_dump(), created_by=actor.id)
    session.add(coupon)
    session.flush()
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="coupons.create",
        subject_type="coupons",
        subject_id=coupon.id,
        detail={"name": data.name},
    )
    session.commit()
    return coupon


def get_coupon(session: Session, coupon_id: int) -> Coupon:
    return get_or_404(session, Coupon, coupon_id, "coupon")


def coupon_view(c: Coupon) -> schemas.CouponOut:
    return schemas.CouponOut(
        **{f: getattr(c, f) for f in schemas.CouponOut.model_fields if f != "status"}, status=state_of(c)
    )


def list_coupons(session: Session) -> list[Coupon]:
    return list(session.scalars(select(Coupon).order_by(Coupon.id.desc()).limit(500)))


def _usable(coupon: Coupon, at: datetime | None = None) -> bool:
    return state_of(coupon, at) == "running"


def _grant(session: Session, user: User, coupon: Coupon) -> CouponGrant:
    """Give one coupon to the user, within the per-user and total limits (safe under concurrency)."""
    if not _usable(coupon):
        raise AppError(409, "COUPON_NOT_AVAILABLE", current=state_of(coupon))
    if coupon.min_member_level > membership.member_level(session, user.id):
        raise AppError(403, "COUPON_MEMBERS_ONLY", level=coupon.min_member_level)
    accounts.lock_user(session, user.id)
    held = (
        session.scalar(select(func.count()).where(CouponGrant.coupon_id == coupon.id, CouponGrant.user_id == user.id))
        or 0
    )
    if held >= coupon.per_user_limit:
        raise AppError(409, "COUPON_LIMIT_REACHED", limit=coupon.per_user_limit)
    if coupon.total_limit:
        issued = cast(
            CursorResult,
            session.execute(
                update(Coupon)
                .where(Coupon.id == coupon.id, Coupon.issued < Coupon.total_limit)
                .values(issued=Coupon.issued + 1)
            ),
        ).rowcount
        if not issued:
            raise AppError(409, "COUPON_SOLD_OUT")
    else:
        session.execute(update(Coupon).where(Coupon.id == coupon.id).values(issued=Coupon.issued + 1))
    grant = CouponGrant(coupon_id=coupon.id, user_id=user.id)
    session.add(grant)
    return grant


def claim(session: Session, user: User, coupon_id: int) -> CouponGrant:
    coupon = get_coupon(session, coupon_id)
    if not coupon.claimable:
        raise AppError(409, "COUPON_NOT_AVAILABLE", current="not claimable")
    grant = _grant(session, user, coupon)
    session.commit()
    return grant


def redeem_code(session: Session, cache: Cache, user: User, code: str) -> CouponGrant:
    """A customer types a coupon code: throttled per customer and per client IP (promotions/throttle.py), then
    redeemed; a redeemed code gives its try back."""
    attempt = CodeThrottle(cache, get_settings()).begin(user.id, client_info.get().ip)
    grant = retrying(session, lambda: redeem(session, user, code))
    attempt.redeemed()
    return grant


def redeem(session: Session, user: User, code: str) -> CouponGrant:
    """A public code (anyone, within limits) or a single-use code made in bulk (first user takes it)."""
    code = code.strip().upper()
    coupon = session.scalar(select(Coupon).where(Coupon.public_code == code))
    if coupon is not None:
        claimed = _grant(session, user, coupon)
        session.commit()
        return claimed
    grant = session.scalar(select(CouponGrant).where(CouponGrant.code == code))
    if grant is None:
        raise AppError(404, "COUPON_CODE_UNKNOWN", field="code")
    if not _usable(get_coupon(session, grant.coupon_id)):
        raise AppError(409, "COUPON_NOT_AVAILABLE", current="expired")
    taken = cast(
        CursorResult,
        session.execute(
            update(CouponGrant)
            .where(CouponGrant.id == grant.id, CouponGrant.user_id.is_(None))
            .values(user_id=user.id, granted_at=now())
        ),
    ).rowcount
    if not taken:
        raise AppError(409, "COUPON_CODE_USED", field="code")
    session.commit()
    session.refresh(grant)
    return grant


def bulk_codes(session: Session, actor: User, coupon_id: int, count: int) -> list[str]:
    coupon = get_coupon(session, coupon_id)
    if coupon.total_limit and coupon.issued + count > coupon.total_limit:
        raise AppError(409, "COUPON_SOLD_OUT")
    codes = ["".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12)) for _ in range(count)]
    session.add_all(CouponGrant(coupon_id=coupon.id, code=c) for c in codes)
    coupon.issued += count
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="coupons.codes",
        subject_type="coupons",
        subject_id=coupon.id,
        detail={"count": count},
    )
    session.commit()
    return codes


def issue(session: Session, actor: User, coupon_id: int, user_ids: list[int]) -> int:
    coupon = get_coupon(session, coupon_id)
    done = 0
    for user in accounts.customers_by_ids(session, user_ids):
        try:
            with session.begin_nested():
                _grant(session, user, coupon)
            done += 1
        except AppError:
            continue  # over a limit: skipped, reported in the count
    audit(
        session,
        actor_id=actor.id,
        actor_login=actor.login,
        action="coupons.issue",
        subject_type="coupons",
        subject_id=coupon.id,
        detail={"requested": len(user_ids), "issued": done},
    )
    session.commit()
    return done


def wallet(session: Session, user: User) -> list[tuple[CouponGrant, Coupon]]:
    return list(
        session.execute(
            select(CouponGrant, Coupon)
            .join(Coupon)
            .where(CouponGrant.user_id == user.id)
            .order_by(CouponGrant.id.desc())
        ).all()
    )


def claimable(session: Session) -> list[Coupon]:
    at = now()
    return list(
        session.scalars(
            select(Coupon)
            .where(
                Coupon.status == "published", Coupon.claimable.is_(True), Coupon.valid_from <= at, Coupon.valid_to > at
            )
            .order_by(Coupon.min_spend_fen)
        )
    )


# --- pricing glue ------------------------------------------------------------------------------------------------


def _rule(p: Promotion) -> engine.Rule:
    return engine.Rule(
        id=p.id,
        name=p.name,
        kind=p.kind,
        rules=p.rules,
        scope=engine.Scope.of(p.scope),
        priority=p.priority,
        exclusive=p.exclusive,
    )


def items_for(session: Session, wanted: list[tuple[int, int]]) -> list[tuple[Product, engine.Item]]:
    products = catalog.products_by_id(session, [pid for pid, _ in wanted])
    out = []
    for pid, qty in wanted:
        p = products.get(pid)
        if p is not None:
            out.append(
                (
                    p,
                    engine.Item(
                        p.id,
                        catalog.display_name(p),
                        p.price_fen,
                        qty,
                        tuple(catalog.category_path(p.category)),
                        p.brand_name,
                        p.drug_class,
                    ),
                )
            )
    return out


def coupon_offer(session: Session, user: User | None, grant_id: int | None) -> engine.CouponOffer | None:
    if grant_id is None:
        return None
    grant = session.get(CouponGrant, grant_id)
    if grant is None or user is None or grant.user_id != user.id:
        raise AppError(422, "COUPON_NOT_FOUND", field="coupon_grant_id")
    coupon = get_coupon(session, grant.coupon_id)
    if grant.status != "available" or not _usable(coupon):
        raise AppError(409, "COUPON_NOT_AVAILABLE", field="coupon_grant_id", current=grant.status)
    return engine.CouponOffer(
        grant_id=grant.id,
        coupon_id=coupon.id,
        name=coupon.name,
        kind=coupon.kind,
        amount_off_fen=coupon.amount_off_fen,
        percent_off=coupon.percent_off,
        max_off_fen=coupon.max_off_fen,
        min_spend_fen=coupon.min_spend_fen,
        scope=engine.Scope.of(coupon.scope),
    )


def _policy() -> engine.Policy:
    s = get_settings()
    return engine.Policy(
        shipping_fen=s.shipping_fen,
        free_shipping_from_fen=s.free_shipping_from_fen,
        points_per_yuan=s.points_per_yuan,
        max_points_ratio_percent=s.points_max_ratio_percent,
    )


def shipping_terms(session: Session, at: datetime | None = None) -> schemas.ShippingTermsOut:
    """The shipping fee and the free-shipping threshold in force now, as the pricing engine applies them."""
    policy = _policy()
    rules = [_rule(p) for p in running(session, at, kind="free_shipping")]
    threshold = engine.free_shipping_from(policy, rules)
    setter = next((r.name for r in rules if r.rules.get("threshold_fen", 0) == threshold), None)
    return schemas.ShippingTermsOut(
        shipping_fen=policy.shipping_fen,
        free_shipping_from_fen=threshold,
        promotion_name=setter if threshold < policy.free_shipping_from_fen else None,
    )


def flash_sales_for(session: Session, product_ids: list[int], at: datetime | None = None) -> list[FlashSale]:
    live = [p.id for p in running(session, at, kind="flash_sale")]
    if not live or not product_ids:
        return []
    return list(
        session.scalars(
            select(FlashSale).where(FlashSale.promotion_id.in_(live), FlashSale.product_id.in_(product_ids))
        )
    )


def quote(
    session: Session,
    user: User | None,
    wanted: list[tuple[int, int]],
    *,
    coupon_grant_id: int | None = None,
    points: int = 0,
    flash: FlashStock | None = None,
    allowance: dict[int, int] | None = None,
    at: datetime | None = None,
    extra_rules: Sequence[Promotion] = (),
) -> engine.Breakdown:
    """Price a cart for a user. Without an explicit allowance, flash units are what the user could still buy."""
    items = items_for(session, wanted)
    rules = [_rule(p) for p in [*running(session, at), *extra_rules]]
    if allowance is None:
        allowance = {}
        for sale in flash_sales_for(session, [p.id for p, _ in items], at):
            left = flash.remaining(session, sale) if flash else sale.remaining
            held = _user_flash_units(session, sale.promotion_id, user.id) if user else 0
            allowance[sale.promotion_id] = max(min(left, sale.per_user_limit - held), 0)
    level = membership.member_level(session, user.id if user else None)
    return engine.price(
        engine.PricingInput(
            items=tuple(i for _, i in items),
            rules=tuple(rules),
            coupon=coupon_offer(session, user, coupon_grant_id),
            member_level=level,
            points_balance=membership.balance(session, user.id) if user else 0,
            points_to_redeem=points,
            flash_allowance=tuple(allowance.items()),
            at=at,
            policy=_policy(),
        )
    )


def preview_for_level(
    session: Session,
    wanted: list[tuple[int, int]],
    level: int,
    *,
    coupon_id: int | None = None,
    at: datetime | None = None,
    extra: Sequence[Promotion] = (),
) -> engine.Breakdown:
    """The console's price preview: a sample cart for a member level, without any buyer's data."""
    items = items_for(session, wanted)
    rules = [_rule(p) for p in [*running(session, at), *extra]]
    offer = None
    if coupon_id is not None:
        c = get_coupon(session, coupon_id)
        offer = engine.CouponOffer(
            grant_id=0,
            coupon_id=c.id,
            name=c.name,
            kind=c.kind,
            amount_off_fen=c.amount_off_fen,
            percent_off=c.percent_off,
            max_off_fen=c.max_off_fen,
            min_spend_fen=c.min_spend_fen,
            scope=engine.Scope.of(c.scope),
        )
    sales = {
        s.promotion_id: s.per_user_limit
        for s in session.scalars(
            select(FlashSale).where(FlashSale.promotion_id.in_([r.id for r in rules if r.kind == "flash_sale"]))
        )
    }
    return engine.price(
        engine.PricingInput(
            items=tuple(i for _, i in items),
            rules=tuple(rules),
            coupon=offer,
            member_level=level,
            flash_allowance=tuple(sales.items()),
            at=at,
            policy=_policy(),
        )
    )


def _user_flash_units(session: Session, promotion_id: int, user_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.sum(FlashReservation.quantity), 0)).where(
                FlashReservation.promotion_id == promotion_id,
                FlashReservation.user_id == user_id,
                FlashReservation.status.in_(("held", "confirmed")),
            )
        )
        or 0
    )


def unit_prices(session: Session, products: list[Product], at: datetime | None = None) -> dict[int, tuple[int, str]]:
    """The best one-unit promotional price per product for any shopper (cards and pages), with its label.
    Member prices are left out: they depend on who is looking."""
    rules = tuple(_rule(p) for p in running(session, at) if p.kind in ("catalog_discount", "flash_sale"))
    if not rules:
        return {}
    sales = {s.promotion_id: 1 for s in flash_sales_for(session, [p.id for p in products], at) if s.remaining > 0}
    out = {}
    for p, item in items_for(session, [(p.id, 1) for p in products if not p.is_rx]):
        b = engine.price(
            engine.PricingInput(items=(item,), rules=rules, flash_allowance=tuple(sales.items()), policy=_policy())
        )
        if b.discount_fen > 0:
            out[p.id] = (b.goods_fen, b.lines[0].adjustments[0].label)
    return out


def breakdown_out(b: engine.Breakdown) -> schemas.BreakdownOut:
    """The engine's breakdown as the API shows it (cart, checkout, orders, the console's preview)."""

    def adj(a: engine.Adjustment) -> schemas.AdjustmentOut:
        return schemas.AdjustmentOut(
            source=a.source,
            source_id=a.source_id,
            kind=a.kind,
            label=a.label,
            amount_fen=a.amount_fen,
            product_id=a.product_id,
        )

    return schemas.BreakdownOut(
        lines=[
            schemas.PricedLineOut(
                product_id=line.product_id,
                quantity=line.quantity,
                list_price_fen=line.list_price_fen,
                list_total_fen=line.list_total_fen,
                flash_units=line.flash_units,
                discount_fen=line.discount_fen,
                final_fen=line.final_fen,
                adjustments=[adj(a) for a in line.adjustments],
            )
            for line in b.lines
        ],
        applied=[adj(a) for a in b.applied],
        subtotal_fen=b.subtotal_fen,
        discount_fen=b.discount_fen,
        goods_fen=b.goods_fen,
        points_redeemed=b.points_redeemed,
        points_fen=b.points_fen,
        shipping_fen=b.shipping_fen,
        total_fen=b.total_fen,
        points_earned=b.points_earned,
        gifts=[{"product_id": g[0], "name": g[1], "quantity": g[2]} for g in b.gifts],
        coupon_problem=b.coupon_problem,
        free_shipping_from_fen=b.free_shipping_from_fen,
        free_shipping_gap_fen=b.free_shipping_gap_fen,
    )


# --- an order's price life -------------------------------------------------------------------------------------


def open_flash_sale(session: Session, promo_id: int, flash: FlashStock, sales: SaleCache) -> int:
    """The product of a running flash sale that still has units, for the buy-now path (refreshing the rush
    cache on the way); FLASH_NOT_RUNNING or FLASH_SOLD_OUT otherwise."""
    promo = get_promotion(session, promo_id)
    if promo.kind != "flash_sale" or state_of(promo) != "running":
        raise AppError(409, "FLASH_NOT_RUNNING")
    sale = get_or_404(session, FlashSale, promo.id, "flash sale")
    sales.put(sale)
    if flash.remaining(session, sale) <= 0:
        raise AppError(409, "FLASH_SOLD_OUT")
    return sale.product_id


def reserve_flash(
    session: Session,
    flash: FlashStock,
    user: User,
    wanted: list[tuple[int, int]],
    held: list[tuple[FlashSale, int]],
    strict_promotion: int | None = None,
) -> dict[int, int]:
    """Hold flash units for the order. `held` collects what Redis gave, for compensation if the
    transaction fails. With `strict_promotion` (the flash-sale page) a refusal is an error, not list price."""
    allowance = {}
    sales = {s.product_id: s for s in flash_sales_for(session, [pid for pid, _ in wanted])}
    for pid, qty in wanted:
        sale = sales.get(pid)
        if sale is None:
            continue
        want = min(qty, sale.per_user_limit)
        refused = flash.reserve(session, sale, user.id, want)
        if refused and strict_promotion == sale.promotion_id:
            raise AppError(409, refused, limit=sale.per_user_limit)
        if not refused:
            allowance[sale.promotion_id] = want
            held.append((sale, want))
    if strict_promotion is not None and strict_promotion not in allowance:
        raise AppError(409, "FLASH_NOT_RUNNING")
    return allowance


def undo_flash(session: Session, flash: FlashStock, held: list[tuple[FlashSale, int]], user_id: int) -> None:
    """After a failed transaction: give Redis back what it reserved (the database rolled back by itself)."""
    if isinstance(flash, RedisFlashStock):
        for sale, qty in held:
            flash.release(session, sale, user_id, qty)


def record(
    session: Session,
    order: PlacedOrder,
    user: User,
    breakdown: engine.Breakdown,
    held: list[tuple[FlashSale, int]],
    coupon_grant_id: int | None,
) -> None:
    """Write the breakdown onto a new order: adjustments, flash holds, the coupon lock, the points debit."""
    for line in breakdown.lines:
        for a in line.adjustments:
            session.add(
                OrderAdjustment(
                    order_id=order.id,
                    product_id=a.product_id,
                    source=a.source,
                    source_id=a.source_id,
                    kind=a.kind,
                    label=a.label[:128],
                    amount_fen=a.amount_fen,
                )
            )
    used_flash = {line.product_id: line.flash_units for line in breakdown.lines}
    for sale, qty in held:
        session.add(
            FlashReservation(
                promotion_id=sale.promotion_id,
                user_id=user.id,
                order_id=order.id,
                quantity=min(qty, used_flash.get(sale.product_id, 0)) or qty,
            )
        )
    if coupon_grant_id is not None and any(a.source == "coupon" for a in breakdown.applied):
        locked = cast(
            CursorResult,
            session.execute(
                update(CouponGrant)
                .where(
                    CouponGrant.id == coupon_grant_id, CouponGrant.user_id == user.id, CouponGrant.status == "available"
                )
                .values(status="locked", order_id=order.id)
            ),
        ).rowcount
        if not locked:
            raise AppError(409, "COUPON_NOT_AVAILABLE", field="coupon_grant_id", current="in use")
        emit(
            session,
            "Coupon Applied",
            user_id=user.id,
            order_id=order.number,
            coupon_id=coupon_grant_id,
            discount=sum(a.amount_fen for a in breakdown.applied if a.source == "coupon") / 100,
        )
    if breakdown.points_redeemed:
        membership.add_points(session, user.id, -breakdown.points_redeemed, "redeemed", order.id)


def on_paid(session: Session, order: PlacedOrder, points_earned: int) -> None:
    """The order is paid: its coupon is used, its flash units are confirmed, it earns points and its total
    counts towards the buyer's member level."""
    session.execute(
        update(CouponGrant)
        .where(CouponGrant.order_id == order.id, CouponGrant.status == "locked")
        .values(status="used", used_at=now())
    )
    session.execute(
        update(FlashReservation)
        .where(FlashReservation.order_id == order.id, FlashReservation.status == "held")
        .values(status="confirmed")
    )
    if points_earned > 0:
        membership.add_points(session, order.user_id, points_earned, "earned", order.id)
    membership.record_spend(session, [order])


def on_cancelled(session: Session, flash: FlashStock, order: PlacedOrder) -> None:
    """Everything the order held goes back: coupon, flash units, redeemed points."""
    session.execute(
        update(CouponGrant)
        .where(CouponGrant.order_id == order.id, CouponGrant.status == "locked")
        .values(status="available", order_id=None)
    )
    for r in session.scalars(
        select(FlashReservation).where(FlashReservation.order_id == order.id, FlashReservation.status == "held")
    ):
        r.status = "released"
        flash.release(session, get_or_404(session, FlashSale, r.promotion_id, "flash sale"), r.user_id, r.quantity)
    _return_redeemed(session, order)


def on_refunded(session: Session, order: PlacedOrder) -> None:
    """Points earned by the order are taken back (as far as the balance allows); redeemed ones return; its
    payment no longer counts towards the member level."""
    membership.refund_spend(session, order.id)
    got = (
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.order_id == order.id, PointsEntry.reason == "earned"
            )
        )
        or 0
    )
    if got:
        current = membership.balance(session, order.user_id)
        membership.add_points(session, order.user_id, -min(got, current), "reversed", order.id)
    _return_redeemed(session, order)


def _return_redeemed(session: Session, order: PlacedOrder) -> None:
    spent = -(
        session.scalar(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.order_id == order.id, PointsEntry.reason.in_(("redeemed", "refunded_redemption"))
            )
        )
        or 0
    )
    if spent > 0:
        membership.add_points(session, order.user_id, spent, "refunded_redemption", order.id)


def adjustments_of(session: Session, order_id: int) -> list[OrderAdjustment]:
    return list(
        session.scalars(
            select(OrderAdjustment).where(OrderAdjustment.order_id == order_id).order_by(OrderAdjustment.id)
        )
    )
