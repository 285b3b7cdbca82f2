"""Issue 11.3: the unauthenticated payment callback answered 1,500 nested arrays with a 500, and kept every
notification it was sent, in full, with an audit row each, so anyone could grow the database by posting to it.
Now: a tight body limit (8 KB), a 4xx for any body, nothing stored for a notification that fails verification,
and one row per verified notification id however often it is delivered."""

import json

import sqlalchemy as sa

from medreach.orders import payments
from medreach.orders.models import PaymentNotification
from medreach.ops.models import AuditEntry
from tests.orders.test_payments import notification, open_payment
from tests.conftest import problem_code

NOTIFY = "/api/v1/payments/sandbox/notify"


def stored(db) -> tuple[int, int]:
    """(notification rows, audit rows)."""
    with db.session() as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(PaymentNotification)),
                s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))


def test_nested_bodies_are_a_4xx(client, db):
    before = stored(db)
    for depth in (1500, 40, 6):  # beyond the app's limit, and beyond the callback's own (a flat object)
        body = '{"notify_id": ' + "[" * depth + "]" * depth + "}"
        r = client.post(NOTIFY, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and problem_code(r) == "BODY_TOO_DEEP", (depth, r.text[:200])
    for body in ("[" * 1500 + "]" * 1500, "[]", "42", '"x"', "null", "{", "\xff\xfe"):
        r = client.post(NOTIFY, content=body.encode("utf-8", "surrogateescape"),
                        headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (body[:20], r.status_code)
    assert stored(db) == before


def test_oversized_bodies_are_a_413_declared_or_streamed(client, db):
    before = stored(db)
    big = json.dumps({"notify_id": "n-1", "padding": "x" * payments.NOTIFY_MAX_BYTES})
    r = client.post(NOTIFY, content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and problem_code(r) == "BODY_TOO_LARGE"
    assert r.json()["limit"] == 8 * 1024

    def chunks():  # no Content-Length: the limit holds while reading
        yield b'{"notify_id": "'
        for _ in range(20):
            yield b"y" * 1024
        yield b'"}'

    r = client.post(NOTIFY, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and problem_code(r) == "BODY_TOO_LARGE"
    # Just under the limit, a well-formed body is read (and refused as unsigned).
    fits = json.dumps({"notify_id": "n-2", "padding": "x" * (payments.NOTIFY_MAX_BYTES - 100)})
    assert client.post(NOTIFY, content=fits, headers={"content-type": "application/json"}).text == "fail"
    assert stored(db) == before


def test_unsigned_notifications_are_never_stored_nor_audited(client, db, shop, customer):
    order, payment, _ = open_payment(client, shop, customer)
    before = stored(db)
    rejected = payments.REJECTED.counts["bad_signature"]
    for i in range(50):
        forged = {"notify_id": f"forged-{i}", "out_trade_no": payment["out_trade_no"], "amount_fen": 1,
                  "currency": "CNY", "event": "trade.success", "sign": "0" * 64, "junk": "z" * 4000}
        r = client.post(NOTIFY, json=forged)
        assert r.status_code == 400 and r.text == "fail"
    assert stored(db) == before
    assert payments.REJECTED.counts["bad_signature"] - rejected == 50
    assert client.get(f"/api/v1/orders/{order['id']}", headers=customer[1]).json()["status"] == "awaiting_payment"


def test_a_verified_notification_is_one_row_however_often_it_arrives(client, db, shop, customer):
    order, payment, _ = open_payment(client, shop, customer)
    body = notification(client.app, payment)
    for _ in range(5):
        assert client.post(NOTIFY, json=body).text == "success"
    with db.session() as s:
        rows = list(s.scalars(sa.select(PaymentNotification)))
    assert len(rows) == 1 and rows[0].outcome == "applied" and rows[0].received_count == 5
    assert rows[0].notify_id == body["notify_id"] and rows[0].last_received_at is not None


def test_the_gateway_refuses_bad_trade_parameters_without_assert(client):
    """The sandbox gateway validated with `assert`, which `python -O` removes: a signed trade of -5 fen or of
    "abc" went through, and a list as the body raised a 500."""
    from medreach.orders.sandbox_gateway import signed

    s = client.app.state.settings
    base = {"merchant_id": s.payment_merchant_id, "out_trade_no": "P-ASSERT", "currency": "CNY",
            "subject": "test", "notify_url": "http://testserver/api/v1/payments/sandbox/notify"}
    for amount in (-5, 0, "abc", True, 1.5):
        r = client.post("/sandbox-gateway/v1/trades", json=signed({**base, "amount_fen": amount}, s.merchant_key))
        assert r.status_code == 400 and r.json()["message"] == "invalid trade parameters", amount
    r = client.post("/sandbox-gateway/v1/trades", json=signed({**base, "amount_fen": 100, "currency": "USD"},
                                                               s.merchant_key))
    assert r.status_code == 400
    for body in ([1, 2], "text", 7):
        assert client.post("/sandbox-gateway/v1/trades", json=body).status_code == 401
        assert client.post("/sandbox-gateway/v1/refunds", json=body).status_code == 401
    r = client.post("/sandbox-gateway/v1/refunds", json=signed(
        {"merchant_id": s.payment_merchant_id, "out_trade_no": "P-ASSERT", "out_refund_no": "R-1", "amount_fen": -1},
        s.merchant_key))
    assert r.status_code == 400 and r.json()["message"] == "invalid refund parameters"


def test_no_request_validation_by_assert():
    """`python -O` strips assert statements: none may stand for a check of what a request sent."""
    import ast
    from pathlib import Path

    import medreach.orders

    root = Path(medreach.orders.__file__).parent
    for name in ("api.py", "sandbox_gateway.py", "payments.py", "prescriptions.py"):
        tree = ast.parse((root / name).read_text())
        assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)], name
