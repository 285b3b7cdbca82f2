"""Payments: the provider interface, the sandbox provider (a real HTTP client of the sandbox gateway),
and the handling of asynchronous notifications: verified, idempotent, amount- and currency-checked.

The notification URL is public and unauthenticated, so what it costs to post there is bounded: a body is at most
`NOTIFY_MAX_BYTES`; a notification that fails verification touches no database at all (it is counted in
`REJECTED`, a per-process trace with a warning logged at most once a minute); a verified one is kept as one row
per notification id, however often the gateway (or a replay) delivers it."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, cast

import httpx
import structlog
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request

from medreach.core.db import Database
from medreach.core.errors import AppError, not_found
from medreach.core.events import emit
from medreach.core.http import check_json_depth
from medreach.ops.service import audit
from medreach.orders import state
from medreach.orders.models import Order, Payment, PaymentNotification
from medreach.orders.sandbox_gateway import signed, verify


@dataclass
class Created:
    pay_url: str
    qr_code: str
    gateway_trade_no: str


@dataclass
class TradeStatus:
    status: str  # created | paid | closed
    amount_fen: int
    currency: str
    gateway_trade_no: str


@dataclass
class Notification:
    notify_id: str
    out_trade_no: str
    gateway_trade_no: str
    amount_fen: int
    currency: str


UNPAID = ("created", "closed")


class SignatureError(Exception):
    pass


class PaymentProvider(Protocol):
    name: str

    def create(self, out_trade_no: str, amount_fen: int, subject: str, notify_url: str, return_url: str) -> Created: ...
    def query(self, out_trade_no: str) -> TradeStatus: ...
    def refund(self, out_trade_no: str, out_refund_no: str, amount_fen: int) -> str: ...
    def parse_notification(self, body: dict[str, Any]) -> Notification:
        """Raise SignatureError unless the body is genuinely from the gateway."""


class SandboxProvider:
    """Talks to the sandbox gateway over HTTP, signing every request with the merchant key."""

    name = "sandbox"
    _STATUS: ClassVar[dict[str, str]] = {"WAIT_PAY": "created", "SUCCESS": "paid", "CLOSED": "closed"}

    def __init__(self, base_url: str, merchant_id: str, key: str, http: httpx.Client | None = None):
        self.base_url, self.merchant_id, self.key = base_url.rstrip("/"), merchant_id, key
        self.http = http or httpx.Client(timeout=10)

    def _call(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        body = signed({"merchant_id": self.merchant_id, **params}, self.key)
        try:
            if method == "GET":
                r = self.http.get(self.base_url + path, params=body)
            else:
                r = self.http.post(self.base_url + path, json=body)
            data = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise AppError(502, "PAYMENT_GATEWAY_UNAVAILABLE", reason=type(e).__name__) from e
        if data.get("code") != "SUCCESS":
            raise AppError(502, "PAYMENT_GATEWAY_ERROR", reason=str(data.get("message", ""))[:200])
        if not verify(data, self.key):
            raise AppError(502, "PAYMENT_GATEWAY_ERROR", reason="bad response signature")
        return data

    def create(self, out_trade_no, amount_fen, subject, notify_url, return_url) -> Created:
        d = self._call(
            "POST",
            "/v1/trades",
            {
                "out_trade_no": out_trade_no,
                "amount_fen": amount_fen,
                "currency": "CNY",
                "subject": subject,
                "notify_url": notify_url,
                "return_url": return_url,
            },
        )
        return Created(pay_url=d["pay_url"], qr_code=d["qr_code"], gateway_trade_no=d["trade_no"])

    def query(self, out_trade_no) -> TradeStatus:
        d = self._call("GET", f"/v1/trades/{out_trade_no}", {"out_trade_no": out_trade_no})
        return TradeStatus(
            status=self._STATUS.get(d["status"], "created"),
            amount_fen=int(d["amount_fen"]),
            currency=d["currency"],
            gateway_trade_no=d["trade_no"],
        )

    def refund(self, out_trade_no, out_refund_no, amount_fen) -> str:
        d = self._call(
            "POST",
            "/v1/refunds",
            {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "amount_fen": amount_fen},
        )
        return d["refund_no"]

    def parse_notification(self, body) -> Notification:
        if (
            body.get("merchant_id") != self.merchant_id
            or body.get("event") != "trade.success"
            or not verify(body, self.key)
        ):
            raise SignatureError("bad signature")
        try:
            return Notification(
                notify_id=str(body["notify_id"]),
                out_trade_no=str(body["out_trade_no"]),
                gateway_trade_no=str(body["trade_no"]),
                amount_fen=int(body["amount_fen"]),
                currency=str(body["currency"]),
            )
        except (KeyError, ValueError) as e:
            raise SignatureError("incomplete notification") from e


def open_payment(
    session: Session, provider: PaymentProvider, order: Order, notify_url: str, return_url: str
) -> tuple[Payment, Created | None]:
    """The order's payment with the gateway, created on first use (one open payment per order)."""
    if order.status not in state.OPEN_FOR_PAYMENT:
        raise AppError(409, "ORDER_NOT_PAYABLE", current=order.status)
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status == "created"))
    if payment is None:
        payment = Payment(
            order_id=order.id,
            provider=provider.name,
            amount_fen=order.total_fen,
            currency=order.currency,
            out_trade_no=f"P{order.number}{secrets.token_hex(3).upper()}",
        )
        session.add(payment)
        session.flush()
    created = provider.create(
        payment.out_trade_no, payment.amount_fen, f"MedReach 订单 {order.number}", notify_url, return_url
    )
    payment.gateway_trade_no, payment.pay_url = created.gateway_trade_no, created.pay_url
    session.commit()
    return payment, created


def latest(session: Session, order_id: int) -> Payment:
    """The order's most recent payment (404 before the buyer opened one)."""
    payment = session.scalar(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id.desc()).limit(1))
    if payment is None:
        raise not_found("payment")
    return payment


NOTIFY_MAX_BYTES = 8 * 1024  # a real notification is about 400 bytes
NOTIFY_MAX_DEPTH = 4  # and a flat object


class RejectionTrace:
    """What is left of notifications that failed verification (not JSON, not an object, a bad signature): counts
    per reason in this process, and a warning with the counts since the last one logged at most once per
    `interval` seconds. Nothing is stored: anyone can post to the notification URL."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()
        self._logged_at = float("-inf")
        self._lock = threading.Lock()
        self._log = structlog.get_logger("medreach.payments")

    def note(self, reason: str) -> None:
        with self._lock:
            self.counts[reason] += 1
            self._pending[reason] += 1
            now = time.monotonic()
            if now - self._logged_at < self.interval:
                return
            pending, self._pending, self._logged_at = dict(self._pending), Counter(), now
        self._log.warning("payment notifications rejected", counts=pending)


REJECTED = RejectionTrace()


def _too_large() -> AppError:
    REJECTED.note("too_large")
    return AppError(413, "BODY_TOO_LARGE", limit=NOTIFY_MAX_BYTES)


async def read_body(request: Request) -> bytes:
    """A notification's body, read no further than NOTIFY_MAX_BYTES (413 beyond, also when the declared length
    says so before anything is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > NOTIFY_MAX_BYTES:
        raise _too_large()
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > NOTIFY_MAX_BYTES:
            raise _too_large()
    return bytes(raw)


def read_notification(raw: bytes) -> dict[str, Any] | None:
    """The notification body as a JSON object, or None (counted in REJECTED). Too large a body is a 413 and too
    deep a one a 400, before any parser sees it."""
    if len(raw) > NOTIFY_MAX_BYTES:
        raise _too_large()
    try:
        check_json_depth(raw, NOTIFY_MAX_DEPTH)
    except AppError:
        REJECTED.note("too_deep")
        raise
    try:
        body = json.loads(raw)
    except ValueError:
        REJECTED.note("malformed")
        return None
    if not isinstance(body, dict):
        REJECTED.note("not_an_object")
        return None
    return body


def receive_notification(db: Database, provider: PaymentProvider, raw: bytes, on_paid) -> bool:
    """A gateway notification as posted. True means 'answer success' (applied, or applied before). Only a
    verified notification opens a database session."""
    body = read_notification(raw)
    if body is None:
        return False
    try:
        note = provider.parse_notification(body)
    except SignatureError:
        REJECTED.note("bad_signature")
        return False
    with db.session() as session:
        return handle_notification(session, provider, note, body, on_paid)


def _record(session: Session, provider: str, note: Notification, outcome: str, payload: dict) -> bool:
    """Keep a verified notification: one row per notification id (a repeat counts on the first row). True the
    first time this notification id is seen."""
    notify_id = note.notify_id[:64]
    kept = session.scalar(
        select(PaymentNotification).where(
            PaymentNotification.provider == provider, PaymentNotification.notify_id == notify_id
        )
    )
    if kept is None:
        try:
            with session.begin_nested():
                session.add(
                    PaymentNotification(
                        provider=provider,
                        notify_id=notify_id,
                        out_trade_no=note.out_trade_no[:64],
                        outcome=outcome,
                        payload=payload,
                    )
                )
            return True
        except IntegrityError:  # the same notification, delivered twice at once: the other copy was first
            kept = session.scalar(
                select(PaymentNotification).where(
                    PaymentNotification.provider == provider, PaymentNotification.notify_id == notify_id
                )
            )
            if kept is None:
                raise
    kept.received_count += 1
    kept.last_received_at = datetime.now(UTC)
    return False


def handle_notification(
    session: Session, provider: PaymentProvider, note: Notification, body: dict[str, Any], on_paid
) -> bool:
    """Apply a verified notification. True means 'answer success' (applied or already applied)."""
    payment = session.scalar(select(Payment).where(Payment.out_trade_no == note.out_trade_no))
    if payment is None:
        _record(session, provider.name, note, "unknown_trade", body)
        session.commit()
        return False
    if note.amount_fen != payment.amount_fen or note.currency != payment.currency:
        if _record(session, provider.name, note, "mismatch", body):
            audit(
                session,
                actor_id=None,
                actor_login=provider.name,
                action="payments.notify_rejected",
                subject_type="payment",
                subject_id=payment.id,
                outcome="denied",
                detail={
                    "reason": "amount or currency mismatch",
                    "expected": [payment.amount_fen, payment.currency],
                    "got": [note.amount_fen, note.currency],
                },
            )
        session.commit()
        return False
    # Idempotent: only the first notification moves the payment to paid. A payment we closed (the order
    # lapsed) can still be paid at the gateway; it is marked paid here and refunded by on_paid.
    now = datetime.now(UTC)
    moved = cast(
        CursorResult,
        session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status.in_(UNPAID))
            .values(status="paid", paid_at=now, gateway_trade_no=note.gateway_trade_no, updated_at=now)
        ),
    ).rowcount
    _record(session, provider.name, note, "applied" if moved else "duplicate", body)
    if moved:
        session.refresh(payment)
        on_paid(session, payment)
    session.commit()
    return True


def sync_with_gateway(session: Session, provider: PaymentProvider, payment: Payment, on_paid) -> Payment:
    """Active query: if a notification was lost, the gateway's word still reaches us."""
    if payment.status != "created":
        return payment
    status = provider.query(payment.out_trade_no)
    if status.status == "paid" and status.amount_fen == payment.amount_fen and status.currency == payment.currency:
        now = datetime.now(UTC)
        if cast(
            CursorResult,
            session.execute(
                update(Payment)
                .where(Payment.id == payment.id, Payment.status == "created")
                .values(status="paid", paid_at=now, gateway_trade_no=status.gateway_trade_no, updated_at=now)
            ),
        ).rowcount:
            session.refresh(payment)
            on_paid(session, payment)
            session.commit()
    return payment


def refund_payment(session: Session, provider: PaymentProvider, order: Order) -> Payment | None:
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status == "paid"))
    if payment is None:
        return None
    amount = payment.amount_fen - payment.refunded_fen
    if amount > 0:
        provider.refund(payment.out_trade_no, f"R{payment.out_trade_no}", amount)
    payment.refunded_fen += amount
    payment.status = "refunded"
    emit(
        session,
        "Order Refunded",
        user_id=order.user_id,
        order_id=order.number,
        total=amount / 100,
        currency=order.currency,
    )
    return payment
