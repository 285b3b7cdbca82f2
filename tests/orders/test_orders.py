import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from medreach.catalog.models import Product, StockMovement
from medreach.core.events import DomainEvent
from medreach.orders import service
from medreach.orders.models import Order, OrderLine
from tests.conftest import PASSWORD, bearer, problem_code


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def place(client, headers, address_id, items, **extra):
    return client.post("/api/v1/orders", headers={**headers, **key()},
                       json={"address_id": address_id, "items": items, **extra})


def stock(db, product_id) -> int:
    with db.session() as s:
        return s.get(Product, product_id).stock


def events(db, name) -> list[DomainEvent]:
    with db.session() as s:
        return list(s.scalars(sa.select(DomainEvent).where(DomainEvent.name == name)))


def test_place_order_from_cart(client, db, shop, customer):
    user, headers, address_id = customer
    client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"], "quantity": 2})
    preview = client.post("/api/v1/checkout/preview", headers=headers, json={}).json()
    assert preview["total_fen"] == 3000 + 1000 and preview["requires_rx"] is False
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={"address_id": address_id})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "awaiting_payment" and order["total_fen"] == 4000
    assert order["address"]["detail"] == "科技园 1 号" and order["allowed_actions"] == ["pay", "cancel"]
    line = order["lines"][0]
    assert (line["generic_name"], line["manufacturer"], line["quantity"], line["unit_price_fen"]) == (
        "板蓝根颗粒", "广州白云山和记黄埔中药有限公司", 2, 1500)
    assert stock(db, shop["otc"]) == 98
    assert client.get("/api/v1/cart", headers=headers).json()["lines"] == []  # bought lines leave the cart
    [placed] = events(db, "Order Placed")
    assert placed.user_id == user["id"] and placed.properties["total"] == 40.0
    assert events(db, "Checkout Started")


def test_idempotency_key(client, db, shop, customer):
    _, headers, address_id = customer
    k = {"Idempotency-Key": "order-key-123"}
    body = {"address_id": address_id, "items": [{"product_id": shop["otc"], "quantity": 1}]}
    first = client.post("/api/v1/orders", headers={**headers, **k}, json=body)
    again = client.post("/api/v1/orders", headers={**headers, **k}, json=body)
    assert first.status_code == 201 and again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] and stock(db, shop["otc"]) == 99
    other = client.post("/api/v1/orders", headers={**headers, **k}, json={**body, "note": "changed"})
    assert other.status_code == 422 and problem_code(other) == "IDEMPOTENCY_KEY_REUSED"
    missing = client.post("/api/v1/orders", headers=headers, json=body)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "Idempotency-Key"


def test_order_input_errors(client, shop, customer, register):
    _, headers, address_id = customer
    r = place(client, headers, address_id, [{"product_id": shop["banned"], "quantity": 1}])
    assert r.status_code == 422 and problem_code(r) == "PRODUCT_UNAVAILABLE"
    r = place(client, headers, address_id, [{"product_id": shop["otc_a"], "quantity": 6}])
    assert r.status_code == 422 and problem_code(r) == "QUANTITY_LIMIT"
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={"address_id": address_id})
    assert r.status_code == 422 and problem_code(r) == "CART_EMPTY"
    _, other, _ = register()
    r = place(client, other, address_id, [{"product_id": shop["otc"], "quantity": 1}])
    assert r.status_code == 404  # someone else's address


def test_out_of_stock_writes_nothing(client, db, shop, customer):
    _, headers, address_id = customer
    r = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1},
                                            {"product_id": shop["device"], "quantity": 3}])
    assert r.status_code == 201
    r = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1},
                                            {"product_id": shop["device"], "quantity": 1}])
    assert r.status_code == 409 and problem_code(r) == "OUT_OF_STOCK" and r.json()["product"] == "T-BPM"
    assert stock(db, shop["otc"]) == 99  # the first line's reservation was rolled back too
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_cancel_and_timeout_release_stock(client, db, shop, customer):
    _, headers, address_id = customer
    a = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 5}]).json()
    b = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 7}]).json()
    assert stock(db, shop["otc"]) == 88
    r = client.post(f"/api/v1/orders/{a['id']}/cancel", headers=headers, json={"reason": "changed my mind"})
    assert r.json()["status"] == "cancelled" and stock(db, shop["otc"]) == 93
    assert client.post(f"/api/v1/orders/{a['id']}/cancel", headers=headers, json={}).status_code == 409
    with db.session() as s:
        flash = client.app.state.flash
        assert service.expire_overdue(s, flash) == 0  # not due yet
        assert service.expire_overdue(s, flash, now=datetime.now(UTC) + timedelta(minutes=31)) == 1
    assert client.get(f"/api/v1/orders/{b['id']}", headers=headers).json()["status"] == "cancelled"
    assert stock(db, shop["otc"]) == 100
    with db.session() as s:
        reasons = [m.reason for m in s.scalars(sa.select(StockMovement).where(StockMovement.product_id == shop["otc"]))]
    assert reasons.count("order_reserve") == 2 and reasons.count("order_release") == 2


def pay(client, headers, order_id):
    """The buyer's path: open the payment, follow the cashier URL, press pay (the gateway notifies us)."""
    payment = client.post(f"/api/v1/orders/{order_id}/pay", headers=headers)
    assert payment.status_code == 200, payment.text
    cashier = client.get(payment.json()["pay_url"])
    assert cashier.status_code == 200 and "¥" in cashier.text
    trade_no = payment.json()["pay_url"].rsplit("/", 1)[1]
    r = client.post(f"/sandbox-gateway/cashier/{trade_no}/pay", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"/orders/{order_id}")
    return payment.json()


def test_pay_ship_receive_refund(client, db, shop, customer, staff):
    user, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 2}]).json()
    payment = pay(client, headers, order["id"])
    assert payment["amount_fen"] == 4000 and payment["pay_url"].startswith("http://testserver/sandbox-gateway/")
    paid = client.get(f"/api/v1/orders/{order['id']}", headers=headers).json()
    assert paid["status"] == "paid" and paid["paid_at"]
    assert client.get(f"/api/v1/orders/{order['id']}/payment", headers=headers).json()["status"] == "paid"
    assert [e.properties["order_id"] for e in events(db, "Order Completed")] == [order["number"]]

    _, agent = staff("service")
    r = client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF1234567890"})
    assert r.json()["status"] == "shipped"
    r = client.post(f"/api/v1/orders/{order['id']}/confirm-receipt", headers=headers)
    assert r.json()["status"] == "completed"
    r = client.post(f"/api/v1/orders/{order['id']}/refund-request", headers=headers, json={"reason": "包装破损"})
    assert r.json()["status"] == "refund_requested"
    r = client.post(f"/api/v1/admin/orders/{order['id']}/refund", headers=agent,
                    json={"decision": "reject", "reason": "不符合退款条件"})
    assert r.json()["status"] == "completed", r.text  # back to where it was
    client.post(f"/api/v1/orders/{order['id']}/refund-request", headers=headers, json={"reason": "再次申请"})
    r = client.post(f"/api/v1/admin/orders/{order['id']}/refund", headers=agent, json={"decision": "approve"})
    assert r.json()["status"] == "refunded"
    assert client.get(f"/api/v1/orders/{order['id']}/payment", headers=headers).json()["status"] == "refunded"
    assert events(db, "Order Refunded")
    history = [h["to_status"] for h in r.json()["history"]]
    assert history == ["awaiting_payment", "paid", "shipped", "completed", "refund_requested", "completed",
                       "refund_requested", "refunded"]


def test_refund_before_shipping_returns_stock(client, db, shop, customer, staff):
    _, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 4}]).json()
    pay(client, headers, order["id"])
    client.post(f"/api/v1/orders/{order['id']}/refund-request", headers=headers, json={"reason": "不需要了"})
    _, agent = staff("service")
    client.post(f"/api/v1/admin/orders/{order['id']}/refund", headers=agent, json={"decision": "approve"})
    assert stock(db, shop["otc"]) == 100


def test_customers_cannot_touch_each_others_orders(client, shop, customer, register):
    _, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    _, other, _ = register()
    for method, path, body in [("get", "", None), ("post", "/cancel", {}), ("post", "/pay", None),
                               ("get", "/payment", None), ("post", "/confirm-receipt", None),
                               ("post", "/refund-request", {"reason": "x"})]:
        r = client.request(method.upper(), f"/api/v1/orders/{order['id']}{path}", headers=other, json=body)
        assert r.status_code == 404, (path, r.text)
    assert client.get("/api/v1/orders", headers=other).json()["total"] == 0


def test_service_agents_search_orders(client, shop, customer, staff):
    user, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    _, agent = staff("service")
    by_number = client.get("/api/v1/admin/orders", headers=agent, params={"q": order["number"]}).json()
    assert [o["id"] for o in by_number["items"]] == [order["id"]]
    by_status = client.get("/api/v1/admin/orders", headers=agent, params={"status": "paid"}).json()
    assert by_status["total"] == 0
    r = client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF1"})
    assert r.status_code == 422  # tracking number too short
    r = client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF123456"})
    assert r.status_code == 409 and problem_code(r) == "ORDER_STATE_CONFLICT"  # not paid yet
    _, marketer = staff("marketer")
    assert client.get("/api/v1/admin/orders", headers=marketer).status_code == 403


def test_concurrent_buyers_of_the_last_units(client, db, shop, register):
    """N buyers race for the last K units: exactly K orders, the rest a clean OUT_OF_STOCK, nothing half-done."""
    k, n = 3, 12
    with db.session() as s:
        s.get(Product, shop["otc"]).stock = k
    buyers = []
    for _ in range(n):
        _, headers, _ = register()
        address = client.post("/api/v1/addresses", headers=headers, json={
            "recipient": "买家", "phone": "13800138000", "province": "北京市", "city": "北京市", "detail": "1号"}).json()
        buyers.append((headers, address["id"]))

    def buy(buyer):
        headers, address_id = buyer
        r = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}])
        return r.status_code, r.json().get("code")

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(buy, buyers))
    assert sorted(results).count((201, None)) == k, results
    assert all(r == (409, "OUT_OF_STOCK") for r in results if r[0] != 201), results
    assert stock(db, shop["otc"]) == 0
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Order)) == k
        assert s.scalar(sa.select(sa.func.count()).select_from(OrderLine)) == k
        assert s.get(Product, shop["otc"]).sales == k


def test_login_again_after_order(client, customer):
    user, _, _ = customer
    r = client.post("/api/v1/auth/login", json={"login": user["phone"], "password": PASSWORD})
    assert client.get("/api/v1/orders", headers=bearer(r.json()["tokens"])).status_code == 200
