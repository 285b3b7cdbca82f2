"""Member levels: the spend ledger promotions keep of paid orders (filled by migration 0017 for the orders paid
before it), its 12-month window, refunds, and the level thresholds read exactly from the settings."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from medreach.core.migrate import downgrade, upgrade
from medreach.core.settings import Settings, get_settings
from medreach.orders.models import Order
from medreach.promotions import membership
from medreach.promotions.models import MemberSpend
from tests.orders.test_orders import pay, place


def spend(client, headers) -> int:
    return client.get("/api/v1/me/membership", headers=headers).json()["spend_12m_fen"]


def refund(client, headers, agent, order_id: int) -> None:
    client.post(f"/api/v1/orders/{order_id}/refund-request", headers=headers, json={"reason": "买多了"})
    r = client.post(f"/api/v1/admin/orders/{order_id}/refund", headers=agent, json={"decision": "approve"})
    assert r.status_code == 200, r.text


def test_migration_fills_the_ledger_from_paid_orders_that_count(backend, client, db, shop, customer, staff):
    _, headers, address_id = customer
    _, agent = staff("service")
    kept = place(client, headers, address_id, [{"product_id": shop["device"], "quantity": 1}]).json()
    pay(client, headers, kept["id"])
    refunded = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 2}]).json()
    pay(client, headers, refunded["id"])
    refund(client, headers, agent, refunded["id"])
    unpaid = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    assert unpaid["status"] == "awaiting_payment"
    assert spend(client, headers) == kept["total_fen"]

    downgrade(backend.db.url, "0016")  # the ledger did not exist when these orders were paid
    assert "member_spend" not in sa.inspect(backend.db.engine).get_table_names()
    upgrade(backend.db.url)
    with db.session() as s:
        rows = s.scalars(sa.select(MemberSpend)).all()
        assert [(r.order_id, r.amount_fen, r.refunded_at) for r in rows] == [(kept["id"], kept["total_fen"], None)]
        assert rows[0].paid_at == s.get(Order, kept["id"]).paid_at
    assert spend(client, headers) == kept["total_fen"]


def test_refunded_and_old_payments_stop_counting(client, db, shop, customer, staff):
    _, headers, address_id = customer
    _, agent = staff("service")
    orders = [place(client, headers, address_id, [{"product_id": shop["device"], "quantity": 1}]).json()
              for _ in range(3)]
    for order in orders:
        pay(client, headers, order["id"])
    total = sum(o["total_fen"] for o in orders)
    assert spend(client, headers) == total
    refund(client, headers, agent, orders[0]["id"])
    assert spend(client, headers) == total - orders[0]["total_fen"]
    with db.session() as s:
        row = s.get(MemberSpend, orders[0]["id"])
        assert row is not None and row.refunded_at is not None  # kept, marked
        now = datetime.now(UTC)
        s.get(MemberSpend, orders[1]["id"]).paid_at = now - timedelta(days=366)  # out of the 12 months
        s.get(MemberSpend, orders[2]["id"]).paid_at = now - timedelta(days=364)
        s.commit()
    assert spend(client, headers) == orders[2]["total_fen"]


def test_only_paid_orders_are_recorded(db):
    unpaid = SimpleNamespace(id=1, user_id=1, total_fen=100, paid_at=None)
    with db.session() as s, pytest.raises(ValueError, match="order 1 is not paid"):
        membership.record_spend(s, [unpaid])


def test_thresholds_are_exact_fen():
    levels = Settings(member_levels="普通会员:0,银卡会员:499.5,金卡会员:2000.01,钻石会员:5000").member_level_thresholds
    assert levels == [("普通会员", 0), ("银卡会员", 49_950), ("金卡会员", 200_001), ("钻石会员", 500_000)]


def test_a_spend_reaches_a_half_yuan_threshold_exactly(monkeypatch):
    monkeypatch.setenv("MEDREACH_MEMBER_LEVELS", "普通会员:0,银卡会员:499.5")
    get_settings.cache_clear()
    try:
        assert membership.level_of(49_949) == 0
        assert membership.level_of(49_950) == 1  # int(float("499.5")) * 100 made this 49,900
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.mark.parametrize("spec, why", [
    ("普通会员:0,银卡会员:abc", "not an amount in yuan"),
    ("普通会员:0,银卡会员:499.555", "not a whole number of fen"),
    ("普通会员:0,银卡会员:-5", "not a whole number of fen"),
    ("普通会员:0,银卡会员:inf", "not a whole number of fen"),
    ("普通会员:0,银卡会员:NaN", "not a whole number of fen"),
    ("普通会员:0,银卡会员", "name:threshold_yuan"),
    ("普通会员:0,:500", "name:threshold_yuan"),
    ("普通会员:0,金卡会员:2000,银卡会员:500", "lowest first"),
    (" , ", "at least one member level"),
])
def test_bad_levels_stop_the_start(spec, why):
    with pytest.raises(ValidationError, match=why):
        Settings(member_levels=spec)
