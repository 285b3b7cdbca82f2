"""The consent ledger, and the server honouring a refusal of behaviour analytics: a signed-in user's choice
(on any device) and a visitor's opt-out header, Do Not Track or Global Privacy Control."""

import pytest
import sqlalchemy as sa

from medreach.accounts.models import Consent
from medreach.core.events import DomainEvent
from medreach.tracking.relay import relay
from tests.conftest import problem_code
from tests.orders.test_orders import place

URL = "/api/v1/me/consents"


def test_defaults_decisions_and_the_ledger(client, db, register):
    user, headers, _ = register()
    listed = client.get(URL, headers=headers).json()
    analytics = next(c for c in listed if c["purpose"] == "behaviour_analytics")
    assert analytics["granted"] is True and analytics["default"] is True and analytics["decided_at"] is None
    assert analytics["description_zh"]

    off = client.put(f"{URL}/behaviour_analytics", headers=headers, json={"granted": False}).json()
    assert off["granted"] is False and off["decided_at"]
    assert client.put(f"{URL}/behaviour_analytics", headers=headers, json={"granted": False}).status_code == 200
    assert client.put(f"{URL}/behaviour_analytics", headers=headers, json={"granted": True}).json()["granted"] is True
    with db.session() as s:
        rows = s.scalars(sa.select(Consent).where(Consent.user_id == user["id"]).order_by(Consent.id)).all()
        assert [r.granted for r in rows] == [False, True]  # a repeat of the same choice adds nothing
        assert all(r.channel == "account" and r.ip for r in rows)


@pytest.mark.parametrize("path, body, field", [
    ("marketing_carrier_pigeon", {"granted": True}, "purpose"),
    ("behaviour_analytics", {"granted": "maybe"}, "granted"),
    ("behaviour_analytics", {}, "granted"),
    ("behaviour_analytics", {"granted": True, "extra": 1}, "extra"),
])
def test_bad_consent_input(client, register, path, body, field):
    _, headers, _ = register()
    r = client.put(f"{URL}/{path}", headers=headers, json=body)
    assert r.status_code == 422 and problem_code(r) == "VALIDATION_ERROR"
    assert any(field in e["field"] for e in r.json()["errors"])


def test_consents_need_a_login(client):
    assert client.get(URL).status_code == 401
    assert client.put(f"{URL}/behaviour_analytics", json={"granted": False}).status_code == 401


def outbox_names(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(sa.select(DomainEvent.name).order_by(DomainEvent.id)))


@pytest.mark.parametrize("header", [{"X-Tracking-Opt-Out": "1"}, {"DNT": "1"}, {"Sec-GPC": "1"}])
def test_an_opted_out_visitor_leaves_no_behaviour_events(client, db, shop, header):
    client.get(f"/api/v1/products/{shop['otc']}", headers={"X-Anonymous-Id": "anon-1", **header})
    client.get("/api/v1/products", params={"q": "感冒"}, headers=header)
    assert outbox_names(db) == []
    client.get(f"/api/v1/products/{shop['otc']}", headers={"X-Anonymous-Id": "anon-1"})
    assert outbox_names(db) == ["Product Viewed"]


def test_a_refusal_on_the_account_stops_browsing_events_but_keeps_orders(client, app, db, shop, customer):
    user, headers, address_id = customer
    client.get(f"/api/v1/products/{shop['otc']}", headers=headers)  # before the refusal: recorded
    with db.session() as s:
        relay(s, app.state.event_log, app.state.dedupe)
    assert client.put(f"{URL}/behaviour_analytics", headers=headers, json={"granted": False}).status_code == 200
    # Another device of the same user that sends no opt-out header: the relay still knows.
    client.get(f"/api/v1/products/{shop['otc']}", headers=headers)
    place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}])
    with db.session() as s:
        relay(s, app.state.event_log, app.state.dedupe)
        assert s.scalar(sa.select(sa.func.count()).select_from(DomainEvent)
                        .where(DomainEvent.published_at.is_(None))) == 0  # handled, not left waiting
    mine = [r["event"] for r in app.state.event_log.read() if r.get("userId") == str(user["id"])]
    assert mine.count("Product Viewed") == 1  # only the one from before
    assert "Order Placed" in mine and "Product Added" not in mine and "Checkout Started" not in mine
