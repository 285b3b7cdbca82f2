"""Gateway notifications: verified, idempotent, amount- and currency-checked; a lost one is recovered by query."""

import sqlalchemy as sa

from medreach.orders import payments
from medreach.orders.models import Order, Payment, PaymentNotification
from medreach.orders.sandbox_gateway import signed
from medreach.ops.models import AuditEntry
from tests.orders.test_orders import place


def open_payment(client, shop, customer):
    _, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    payment = client.post(f"/api/v1/orders/{order['id']}/pay", headers=headers).json()
    return order, payment, headers


def notification(app, payment, **override):
    s = app.state.settings
    body = {"notify_id": "n-" + payment["out_trade_no"], "event": "trade.success", "merchant_id": s.payment_merchant_id,
            "out_trade_no": payment["out_trade_no"], "trade_no": "SBX-TEST", "amount_fen": payment["amount_fen"],
            "currency": "CNY", "paid_at": "2026-11-25T08:00:00+00:00", **override}
    return signed(body, s.merchant_key)


def outcomes(db) -> list[str]:
    with db.session() as s:
        return [n.outcome for n in s.scalars(sa.select(PaymentNotification).order_by(PaymentNotification.id))]


def order_status(db, order_id) -> str:
    with db.session() as s:
        return s.get(Order, order_id).status


def test_replayed_notification_changes_nothing(client, db, shop, customer):
    order, payment, _ = open_payment(client, shop, customer)
    body = notification(client.app, payment)
    for _ in range(3):
        r = client.post("/api/v1/payments/sandbox/notify", json=body)
        assert r.status_code == 200 and r.text == "success"
    assert outcomes(db) == ["applied"]  # one row per notification id, counting its deliveries
    with db.session() as s:
        kept = s.scalar(sa.select(PaymentNotification))
        assert kept.received_count == 3 and kept.last_received_at is not None
    assert order_status(db, order["id"]) == "paid"
    with db.session() as s:
        history = s.get(Order, order["id"]).history
        assert [h.to_status for h in history].count("paid") == 1


def test_forged_notification_is_rejected_and_not_stored(client, db, shop, customer):
    order, payment, _ = open_payment(client, shop, customer)
    before = dict(payments.REJECTED.counts)
    body = notification(client.app, payment)
    body["sign"] = "0" * 64
    r = client.post("/api/v1/payments/sandbox/notify", json=body)
    assert r.status_code == 400 and r.text == "fail"
    other_key = signed({k: v for k, v in notification(client.app, payment).items() if k not in ("sign", "timestamp")},
                       "not-the-merchant-key")
    assert client.post("/api/v1/payments/sandbox/notify", json=other_key).status_code == 400
    stale = notification(client.app, payment)
    stale["timestamp"] -= 3600  # an old, captured notification
    assert client.post("/api/v1/payments/sandbox/notify", json=stale).status_code == 400
    assert client.post("/api/v1/payments/sandbox/notify", content=b"not json").status_code == 400
    assert order_status(db, order["id"]) == "awaiting_payment"
    assert outcomes(db) == []  # anyone can post here: nothing unverified reaches the database
    with db.session() as s:
        assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "payments.notify_rejected")).all() == []
    counts = payments.REJECTED.counts
    assert counts["bad_signature"] - before.get("bad_signature", 0) == 3
    assert counts["malformed"] - before.get("malformed", 0) == 1


def test_amount_or_currency_mismatch_is_rejected_and_audited(client, db, shop, customer):
    order, payment, _ = open_payment(client, shop, customer)
    for override in ({"amount_fen": payment["amount_fen"] - 1, "notify_id": "n-1"}, {"currency": "USD"}):
        for _ in range(2):  # a repeat of the same notification keeps one row and one audit entry
            r = client.post("/api/v1/payments/sandbox/notify", json=notification(client.app, payment, **override))
            assert r.status_code == 400
    assert outcomes(db) == ["mismatch", "mismatch"] and order_status(db, order["id"]) == "awaiting_payment"
    with db.session() as s:
        details = [a.detail for a in s.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "payments.notify_rejected"))]
    assert all(d["reason"] == "amount or currency mismatch" for d in details) and len(details) == 2


def test_unknown_trade(client, db, shop, customer):
    _, payment, _ = open_payment(client, shop, customer)
    r = client.post("/api/v1/payments/sandbox/notify",
                    json=notification(client.app, payment, out_trade_no="P-NOT-OURS"))
    assert r.status_code == 400 and outcomes(db) == ["unknown_trade"]


def test_lost_notification_is_recovered_by_query(client, db, shop, customer):
    order, payment, headers = open_payment(client, shop, customer)
    client.app.state.gateway.deliver = lambda url, payload: False  # the notification never arrives
    trade_no = payment["pay_url"].rsplit("/", 1)[1]
    client.post(f"/sandbox-gateway/cashier/{trade_no}/pay", follow_redirects=False)
    assert order_status(db, order["id"]) == "awaiting_payment"
    r = client.get(f"/api/v1/orders/{order['id']}/payment", headers=headers)
    assert r.json()["status"] == "paid" and order_status(db, order["id"]) == "paid"


def test_payment_after_the_order_lapsed_is_refunded(client, db, shop, customer):
    order, payment, headers = open_payment(client, shop, customer)
    with db.session() as s:
        from medreach.orders import service

        service.cancel(s, s.get(Order, order["id"]), actor_id=None, reason="timeout", flash=client.app.state.flash)
    trade_no = payment["pay_url"].rsplit("/", 1)[1]
    client.post(f"/sandbox-gateway/cashier/{trade_no}/pay", follow_redirects=False)
    with db.session() as s:
        p = s.scalar(sa.select(Payment).where(Payment.order_id == order["id"]))
        assert p.status == "refunded" and p.refunded_fen == p.amount_fen
    assert order_status(db, order["id"]) == "cancelled"


def test_pay_twice_reuses_the_open_payment(client, shop, customer):
    order, first, headers = open_payment(client, shop, customer)
    again = client.post(f"/api/v1/orders/{order['id']}/pay", headers=headers).json()
    assert again["out_trade_no"] == first["out_trade_no"] and again["pay_url"] == first["pay_url"]
