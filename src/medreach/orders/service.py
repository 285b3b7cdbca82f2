"""Orders: checkout with stock reservation and idempotency, the lifecycle through the state machine,
customer and service-agent views. Payments and prescriptions plug in through their modules."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from medreach.accounts import service as accounts
from medreach.accounts.schemas import RevealOut
from medreach.catalog import service as catalog
from medreach.catalog.schemas import RX_NOTICE
from medreach.core.db import get_or_404
from medreach.core.errors import AppError
from medreach.core.events import emit
from medreach.core.pagination import PageParams, paginate
from medreach.core.security import mask_fields
from medreach.ops.service import audit
from medreach.orders import cart as carts
from medreach.orders import payments, prescriptions, pricing, schemas, state
from medreach.orders.models import Order, OrderLine, OrderStatusChange, Payment, Prescription
from medreach.promotions import schemas as promotion_schemas
from medreach.promotions import service as promotions
from medreach.promotions.flash import FlashStock, SaleCache

if TYPE_CHECKING:  # types only: users, products and flash sales are read through their domains' services
    from medreach.accounts.models import User
    from medreach.catalog.models import Product
    from medreach.promotions.models import FlashSale

PAY_WITHIN = timedelta(minutes=30)
REVIEW_WITHIN = timedelta(hours=48)


def _items(session: Session, user: User, requested: list[schemas.OrderItemIn] | None) -> list[tuple[int, int]]:
    if requested is not None:
        merged: dict[int, int] = {}
        for item in requested:
            merged[item.product_id] = merged.get(item.product_id, 0) + item.quantity
        return list(merged.items())
    cart = carts.find_cart(session, user, None)
    items = [(i.product_id, i.quantity) for i in cart.items] if cart else []
    if not items:
        raise AppError(422, "CART_EMPTY", field="items")
    return items


def preview(
    session: Session, user: User, data: schemas.PreviewIn, flash: FlashStock | None = None
) -> schemas.PreviewOut:
    lines, b = pricing.priced(
        session,
        user,
        _items(session, user, data.items),
        coupon_grant_id=data.coupon_grant_id,
        points=data.points,
        flash=flash,
    )
    requires_rx = any(line.product.drug_class == "rx" for line in lines)
    emit(
        session,
        "Checkout Started",
        user_id=user.id,
        value=b.total_fen / 100,
        currency="CNY",
        products=[{"product_id": line.product.id, "quantity": line.quantity} for line in lines],
    )
    session.commit()
    return schemas.PreviewOut(
        lines=lines,
        subtotal_fen=b.subtotal_fen,
        discount_fen=b.discount_fen + b.points_fen,
        shipping_fen=b.shipping_fen,
        total_fen=b.total_fen,
        requires_rx=requires_rx,
        rx_notice=RX_NOTICE if requires_rx else None,
        breakdown=b,
    )


def _request_hash(data: schemas.CheckoutIn, items: list[tuple[int, int]]) -> str:
    body = {**data.model_dump(exclude={"items"}), "items": sorted(items)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _existing(session: Session, user: User, key: str, request_hash: str) -> Order | None:
    order = session.scalar(select(Order).where(Order.user_id == user.id, Order.idempotency_key == key))
    if order is not None and order.request_hash != request_hash:
        raise AppError(422, "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    return order


def _check_prescription(
    session: Session, user: User, data: schemas.CheckoutIn, rx_lines: list[tuple[Product, int]]
) -> Prescription | None:
    if not rx_lines:
        return None
    if not data.risk_confirmed:
        raise AppError(422, "RX_RISK_NOT_CONFIRMED", field="risk_confirmed")
    if data.prescription_id is None:
        raise AppError(422, "RX_PRESCRIPTION_REQUIRED", field="prescription_id", product=rx_lines[0][0].sku)
    rx = session.get(Prescription, data.prescription_id)
    if rx is None or rx.user_id != user.id:
        raise AppError(422, "RX_PRESCRIPTION_REQUIRED", field="prescription_id", product=rx_lines[0][0].sku)
    if rx.status not in ("pending", "approved") or rx.consumed_order_id is not None:
        raise AppError(409, "PRESCRIPTION_USED", field="prescription_id")
    prescriptions.check_still_valid(rx, field="prescription_id")
    covered = {i.product_id: i.quantity for i in rx.items}
    for product, quantity in rx_lines:
        if covered.get(product.id, 0) < quantity:
            raise AppError(422, "RX_NOT_COVERED", field="prescription_id", product=product.sku)
    return rx


def place_order(
    session: Session,
    user: User,
    data: schemas.CheckoutIn,
    idempotency_key: str,
    flash: FlashStock,
    flash_promotion: int | None = None,
) -> tuple[Order, bool]:
    """Create the order at the engine's price, reserving flash units and stock with conditional updates:
    either every line gets its units or nothing is written. Returns (order, created); a repeated key
    returns the first order. `flash_promotion` (the flash-sale page) makes a flash refusal an error."""
    items = _items(session, user, data.items)
    request_hash = _request_hash(data, items)
    found = _existing(session, user, idempotency_key, request_hash)
    if found is not None:
        return found, False
    held: list[tuple[FlashSale, int]] = []
    try:
        return _place(session, user, data, idempotency_key, request_hash, items, flash, flash_promotion, held)
    except BaseException:
        promotions.undo_flash(session, flash, held, user.id)
        raise


def _place(
    session: Session,
    user: User,
    data: schemas.CheckoutIn,
    idempotency_key: str,
    request_hash: str,
    items: list[tuple[int, int]],
    flash: FlashStock,
    flash_promotion: int | None,
    held: list[tuple[FlashSale, int]],
) -> tuple[Order, bool]:
    address = accounts.get_address(session, user, data.address_id)
    products = catalog.products_by_id(session, [i for i, _ in items])
    wanted: list[tuple[Product, int]] = []
    for product_id, quantity in items:
        p = products.get(product_id)
        if p is None or not p.is_active or p.online_banned:
            raise AppError(422, "PRODUCT_UNAVAILABLE", field="items", product=str(product_id))
        if quantity > p.max_per_order:
            raise AppError(422, "QUANTITY_LIMIT", field="items", product=p.sku, limit=p.max_per_order)
        wanted.append((p, quantity))
    rx = _check_prescription(session, user, data, [(p, q) for p, q in wanted if p.is_rx])
    allowance = promotions.reserve_flash(session, flash, user, items, held, strict_promotion=flash_promotion)
    b = promotions.quote(
        session, user, items, coupon_grant_id=data.coupon_grant_id, points=data.points, allowance=allowance
    )
    if data.coupon_grant_id is not None and b.coupon_problem:
        raise AppError(422, b.coupon_problem, field="coupon_grant_id")
    finals = {line.product_id: line.final_fen for line in b.lines}
    now = datetime.now(UTC)
    status = state.AWAITING_RX if rx is not None and rx.status == "pending" else state.AWAITING_PAYMENT
    order = Order(
        number=now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(3).upper(),
        user_id=user.id,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        status=status,
        subtotal_fen=b.subtotal_fen,
        shipping_fen=b.shipping_fen,
        discount_fen=b.discount_fen + b.points_fen,
        total_fen=b.total_fen,
        points_earned=b.points_earned,
        address=json.dumps(
            {
                k: getattr(address, k)
                for k in ("recipient", "phone", "province", "city", "district", "detail", "postal_code")
            },
            ensure_ascii=False,
        ),
        requires_rx=rx is not None,
        prescription_id=rx.id if rx else None,
        risk_confirmed_at=now if rx is not None else None,
        note=data.note,
        expires_at=now + (REVIEW_WITHIN if status == state.AWAITING_RX else PAY_WITHIN),
    )
    gifts = catalog.products_by_id(session, [pid for pid, _, _ in b.gifts])
    gift_lines = [_line(gifts[pid], qty, 0, gift=True) for pid, _, qty in b.gifts if pid in gifts]
    order.lines = [_line(p, q, finals[p.id]) for p, q in wanted] + gift_lines
    order.history = [OrderStatusChange(from_status="", to_status=status, actor_id=user.id, reason="placed", at=now)]
    # Stock first, in a fixed product order: each UPDATE takes its row lock before anything else touches
    # the row (inserting order lines first would take shared locks through the foreign key and deadlock).
    for line in sorted(order.lines, key=lambda line: line.product_id):
        if not catalog.reserve_stock(session, line.product_id, line.quantity, ref=order.number):
            if line in gift_lines:
                order.lines.remove(line)  # an out-of-stock gift is simply not given
                continue
            session.rollback()
            raise AppError(409, "OUT_OF_STOCK", field="items", product=line.sku)
    session.add(order)
    try:
        session.flush()
    except IntegrityError:  # the same idempotency key, placed concurrently: return the winner's order
        session.rollback()
        found = _existing(session, user, idempotency_key, request_hash)
        if found is None:
            raise
        return found, False
    promotions.record(session, order, user, b, held, data.coupon_grant_id)
    if rx is not None:
        prescriptions.bind(session, rx, order.id)
    carts.clear(session, carts.find_cart(session, user, None), {p.id for p, _ in wanted})
    emit(
        session,
        "Order Placed",
        user_id=user.id,
        order_id=order.number,
        total=order.total_fen / 100,
        discount=order.discount_fen / 100,
        shipping=order.shipping_fen / 100,
        currency="CNY",
        requires_rx=order.requires_rx,
        products=[{"product_id": p.id, "sku": p.sku, "quantity": q, "price": p.price_fen / 100} for p, q in wanted],
    )
    session.commit()
    return order, True


def _line(p: Product, quantity: int, line_total_fen: int, gift: bool = False) -> OrderLine:
    """A sales record line; `line_total_fen` is what the buyer pays for it after every discount."""
    return OrderLine(
        product_id=p.id,
        sku=p.sku,
        generic_name=p.generic_name,
        brand_name=p.brand_name,
        specification=p.specification,
        dosage_form=p.dosage_form,
        manufacturer=p.manufacturer,
        approval_number=p.approval_number,
        drug_class=p.drug_class,
        batch_no=p.batch_no,
        expiry_date=p.expiry_date,
        unit_price_fen=0 if gift else p.price_fen,
        quantity=quantity,
        line_total_fen=line_total_fen,
    )


def buy_flash(
    session: Session,
    user: User,
    promo_id: int,
    data: schemas.FlashBuyIn,
    idempotency_key: str,
    flash: FlashStock,
    sales: SaleCache,
) -> tuple[Order, bool]:
    """Buy now at a flash sale's price: refused at once when it is not running, sold out or over the
    buyer's limit. Returns (order, created) like place_order."""
    product_id = promotions.open_flash_sale(session, promo_id, flash, sales)
    checkout = schemas.CheckoutIn(
        address_id=data.address_id, items=[schemas.OrderItemIn(product_id=product_id, quantity=data.quantity)]
    )
    return place_order(session, user, checkout, idempotency_key, flash, flash_promotion=promo_id)


# --- lifecycle -------------------------------------------------------------------------------------------


def _release(session: Session, order: Order, flash: FlashStock) -> None:
    for line in order.lines:
        catalog.release_stock(session, line.product_id, line.quantity, ref=order.number)
    prescriptions.unbind(session, order.prescription_id, order.id)
    promotions.on_cancelled(session, flash, order)


def cancel(session: Session, order: Order, *, actor_id: int | None, reason: str, flash: FlashStock) -> Order:
    if order.status not in state.HOLDS_STOCK:
        raise AppError(409, "ORDER_STATE_CONFLICT", current=order.status, to=state.CANCELLED)
    state.transition(session, order, state.CANCELLED, actor_id=actor_id, reason=reason)
    _release(session, order, flash)
    session.execute(
        update(Payment)
        .where(Payment.order_id == order.id, Payment.status == "created")
        .values(status="closed")
        .execution_options(synchronize_session=False)
    )
    emit(
        session,
        "Order Cancelled",
        user_id=order.user_id,
        order_id=order.number,
        reason=reason,
        total=order.total_fen / 100,
        currency=order.currency,
    )
    session.commit()
    return order


def expire_overdue(session: Session, flash: FlashStock, now: datetime | None = None) -> int:
    """Cancel unpaid or unreviewed orders past their deadline, releasing their stock. Safe to run anywhere,
    any number of times at once: each cancellation is a guarded state change."""
    now = now or datetime.now(UTC)
    overdue = list(
        session.scalars(
            select(Order)
            .where(Order.status.in_(state.HOLDS_STOCK), Order.expires_at < now)
            .order_by(Order.id)
            .limit(500)
        )
    )
    done = 0
    for order in overdue:
        try:
            cancel(session, order, actor_id=None, reason="timeout", flash=flash)
            done += 1
        except AppError:  # paid or cancelled meanwhile
            session.rollback()
    return done


def on_prescription_decided(flash: FlashStock):
    def follow(session: Session, rx: Prescription, order: Order | None) -> None:
        """A bound order follows its prescription: approved -> awaiting payment; rejected -> cancelled."""
        if order is None or order.status != state.AWAITING_RX:
            return
        if rx.status == "approved":
            state.transition(session, order, state.AWAITING_PAYMENT, actor_id=rx.reviewer_id, reason="rx approved")
            order.expires_at = datetime.now(UTC) + PAY_WITHIN
            return
        state.transition(session, order, state.CANCELLED, actor_id=rx.reviewer_id, reason="rx rejected")
        _release(session, order, flash)
        emit(
            session,
            "Order Cancelled",
            user_id=order.user_id,
            order_id=order.number,
            reason="rx rejected",
            total=order.total_fen / 100,
            currency=order.currency,
        )

    return follow


def on_paid(provider: payments.PaymentProvider):
    def apply(session: Session, payment: Payment) -> None:
        order = get_any(session, payment.order_id)
        if order.status != state.AWAITING_PAYMENT:
            # Paid after the order lapsed: the money goes straight back.
            payments.refund_payment(session, provider, order)
            audit(
                session,
                actor_id=None,
                actor_login=provider.name,
                action="payments.late_refund",
                subject_type="order",
                subject_id=order.id,
                detail={"status": order.status},
            )
            return
        state.transition(session, order, state.PAID, actor_id=None, reason=f"paid {payment.out_trade_no}")
        order.expires_at = None
        prescriptions.consume(session, order.prescription_id)
        promotions.on_paid(session, order, order.points_earned)
        emit(
            session,
            "Order Completed",
            user_id=order.user_id,
            order_id=order.number,
            total=order.total_fen / 100,
            revenue=order.subtotal_fen / 100,
            shipping=order.shipping_fen / 100,
            currency=order.currency,
            products=[
                {
                    "product_id": line.product_id,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "price": line.unit_price_fen / 100,
                }
                for line in order.lines
            ],
        )

    return apply


def current_payment(session: Session, provider: payments.PaymentProvider, user: User, order_id: int) -> Payment:
    """The caller's order's latest payment; if the gateway says it is paid but no notification came, the
    payment is applied now."""
    payment = payments.latest(session, get_own(session, user, order_id).id)
    return payments.sync_with_gateway(session, provider, payment, on_paid(provider))


def ship(session: Session, agent: User, order: Order, tracking_no: str) -> Order:
    state.transition(session, order, state.SHIPPED, actor_id=agent.id, reason=f"tracking {tracking_no}")
    order.tracking_no = tracking_no
    emit(session, "Order Shipped", user_id=order.user_id, order_id=order.number, tracking_no=tracking_no)
    audit(
        session,
        actor_id=agent.id,
        actor_login=agent.login,
        action="orders.ship",
        subject_type="order",
        subject_id=order.id,
        detail={"tracking_no": tracking_no},
    )
    session.commit()
    return order


def confirm_receipt(session: Session, user: User, order: Order) -> Order:
    state.transition(session, order, state.COMPLETED, actor_id=user.id, reason="received")
    emit(session, "Order Delivered", user_id=order.user_id, order_id=order.number)
    session.commit()
    return order


def request_refund(session: Session, user: User, order: Order, reason: str) -> Order:
    state.transition(session, order, state.REFUND_REQUESTED, actor_id=user.id, reason=reason)
    session.commit()
    return order


def _status_before_refund_request(order: Order) -> str:
    for change in reversed(order.history):
        if change.to_status == state.REFUND_REQUESTED:
            return change.from_status
    raise AppError(409, "ORDER_STATE_CONFLICT", current=order.status, to="previous")


def decide_refund(
    session: Session, agent: User, order: Order, approve: bool, reason: str, provider: payments.PaymentProvider
) -> Order:
    if order.status != state.REFUND_REQUESTED:
        raise AppError(409, "ORDER_STATE_CONFLICT", current=order.status, to=state.REFUNDED)
    if approve:
        previous = _status_before_refund_request(order)
        payments.refund_payment(session, provider, order)
        state.transition(session, order, state.REFUNDED, actor_id=agent.id, reason=reason or "refund approved")
        promotions.on_refunded(session, order)
        if previous == state.PAID:  # never shipped: the units go back on the shelf
            for line in order.lines:
                catalog.release_stock(session, line.product_id, line.quantity, ref=order.number)
    else:
        state.transition(
            session, order, _status_before_refund_request(order), actor_id=agent.id, reason=reason or "refund rejected"
        )
    audit(
        session,
        actor_id=agent.id,
        actor_login=agent.login,
        action="orders.refund_" + ("approve" if approve else "reject"),
        subject_type="order",
        subject_id=order.id,
        detail={"reason": reason},
    )
    session.commit()
    return order


# --- views -------------------------------------------------------------------------------------------------

CUSTOMER_ACTIONS = {
    state.AWAITING_RX: ["cancel"],
    state.AWAITING_PAYMENT: ["pay", "cancel"],
    state.PAID: ["refund"],
    state.SHIPPED: ["confirm", "refund"],
    state.COMPLETED: ["refund", "review"],
}
STAFF_ACTIONS = {
    state.PAID: ["ship"],
    state.REFUND_REQUESTED: ["approve_refund", "reject_refund"],
    state.AWAITING_RX: ["cancel"],
    state.AWAITING_PAYMENT: ["cancel"],
}


# The shipping address's personal data and the rule that masks each field in staff views.
ADDRESS_PII = {"recipient": "name", "phone": "phone", "detail": "street"}


def view(session: Session, order: Order, staff: bool = False) -> schemas.OrderOut:
    """An order as its buyer sees it, or as staff do (`staff=True`: the recipient, phone and street masked)."""
    address = json.loads(order.address)
    return schemas.OrderOut(
        **{
            f: getattr(order, f)
            for f in schemas.OrderOut.model_fields
            if f not in ("address", "lines", "history", "allowed_actions", "adjustments", "masked")
        },
        adjustments=[
            schemas.AdjustmentOut(**{f: getattr(a, f) for f in schemas.AdjustmentOut.model_fields})
            for a in promotions.adjustments_of(session, order.id)
        ],
        address=mask_fields(address, ADDRESS_PII) if staff else address,
        masked=staff,
        lines=[
            schemas.OrderLineOut(**{f: getattr(line, f) for f in schemas.OrderLineOut.model_fields})
            for line in order.lines
        ],
        history=[
            schemas.StatusChangeOut(from_status=h.from_status, to_status=h.to_status, reason=h.reason, at=h.at)
            for h in order.history
        ],
        allowed_actions=(STAFF_ACTIONS if staff else CUSTOMER_ACTIONS).get(order.status, []),
    )


def reveal_address(session: Session, viewer: User, order_id: int, purpose: str) -> RevealOut:
    """The shipping address's recipient, phone and street in full, for the stated purpose (audited)."""
    order = get_any(session, order_id)
    address = json.loads(order.address)
    values = {k: address.get(k) for k in ADDRESS_PII}
    return accounts.reveal(session, viewer, "order", order.id, values, purpose, needs="orders:read_all")


def get_own(session: Session, user: User, order_id: int) -> Order:
    return get_or_404(session, Order, order_id, "order", owner_id=user.id)


def get_any(session: Session, order_id: int) -> Order:
    return get_or_404(session, Order, order_id, "order")


def list_own(session: Session, user: User, params: PageParams, status: str | None = None):
    q = select(Order).where(Order.user_id == user.id)
    if status:
        q = q.where(Order.status == status)
    return paginate(session, q.order_by(Order.id.desc()), params)


def search(
    session: Session,
    viewer: User,
    params: PageParams,
    *,
    q: str | None = None,
    status: str | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    requires_rx: bool | None = None,
):
    query = select(Order)
    if q:
        found_user = accounts.find_by_login(session, q)
        query = query.where(
            or_(
                Order.number == q.strip(),
                Order.user_id == (found_user.id if found_user else -1),
                Order.tracking_no == q.strip(),
            )
        )
    if status:
        query = query.where(Order.status == status)
    if user_id:
        query = query.where(Order.user_id == user_id)
    if since:
        query = query.where(Order.created_at >= since)
    if until:
        query = query.where(Order.created_at < until)
    if requires_rx is not None:
        query = query.where(Order.requires_rx.is_(requires_rx))
    rows, total = paginate(session, query.order_by(Order.id.desc()), params)
    audit(
        session,
        actor_id=viewer.id,
        actor_login=viewer.login,
        action="orders.list",
        subject_type="order",
        detail={"q": q or "", "status": status or "", "returned": [o.id for o in rows]},
    )
    session.commit()
    return rows, total


# --- what promotions learn of paid orders ------------------------------------------------------------------


def promotion_results(session: Session, promo_id: int) -> promotion_schemas.PromotionResults:
    """Orders, GMV, discount cost and units of the paid orders that a promotion touched."""
    adjustments = promotions.adjustments_by(session, promo_id).subquery()
    touched = (
        select(adjustments)
        .join(Order, Order.id == adjustments.c.order_id)
        .where(Order.status.in_(state.COUNTED))
        .subquery()
    )
    orders, discount = session.execute(
        select(func.count(func.distinct(touched.c.order_id)), func.coalesce(func.sum(touched.c.amount_fen), 0))
    ).one()
    order_ids = select(touched.c.order_id).distinct()
    gmv = session.scalar(select(func.coalesce(func.sum(Order.total_fen), 0)).where(Order.id.in_(order_ids))) or 0
    units = (
        session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(
                OrderLine.order_id.in_(order_ids),
                OrderLine.product_id.in_(select(touched.c.product_id).where(touched.c.product_id.is_not(None))),
            )
        )
        or 0
    )
    return promotion_schemas.PromotionResults(
        promotion_id=promo_id, orders=orders, gmv_fen=gmv, discount_fen=discount, units=units
    )
