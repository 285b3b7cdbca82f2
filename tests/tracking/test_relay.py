"""Server-side domain events reach the event log once, with the same names as storefront events."""

import sqlalchemy as sa

from medreach.core.events import DomainEvent
from medreach.tracking.relay import relay
from tests.orders.test_orders import place


def test_domain_events_are_relayed_exactly_once(client, app, db, shop, customer):
    user, headers, address_id = customer
    client.get(f"/api/v1/products/{shop['otc']}", headers=headers)
    place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}])
    with db.session() as s:
        outbox = s.scalar(sa.select(sa.func.count()).select_from(DomainEvent))
        assert relay(s, app.state.event_log, app.state.dedupe) == outbox
        assert relay(s, app.state.event_log, app.state.dedupe) == 0
    records = list(app.state.event_log.read())
    placed = [r for r in records if r["event"] == "Order Placed"]
    assert len(placed) == 1 and placed[0]["type"] == "track" and placed[0]["userId"] == str(user["id"])
    assert {"Product Viewed", "Order Placed"} <= {r["event"] for r in records}
    # A crash between writing and marking: the events come round again and the log keeps one copy.
    with db.session() as s:
        s.execute(sa.update(DomainEvent).values(published_at=None))
    with db.session() as s:
        assert relay(s, app.state.event_log, app.state.dedupe) == 0
    assert len(list(app.state.event_log.read())) == len(records)
