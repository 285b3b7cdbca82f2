from tests.conftest import problem_code


def test_guest_cart_then_merge_at_login(client, shop, register):
    r = client.post("/api/v1/cart/items", json={"product_id": shop["otc"], "quantity": 2})
    assert r.status_code == 200, r.text
    token = r.json()["guest_token"]
    assert token and r.json()["subtotal_fen"] == 3000
    r = client.post("/api/v1/cart/items", headers={"X-Cart-Token": token}, json={"product_id": shop["device"]})
    assert r.json()["item_count"] == 3
    r = client.patch(f"/api/v1/cart/items/{shop['otc']}", headers={"X-Cart-Token": token}, json={"quantity": 3})
    assert r.json()["subtotal_fen"] == 3 * 1500 + 25900 and r.json()["shipping_fen"] == 0

    _, headers, _ = register()
    client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"], "quantity": 1})
    merged = client.post("/api/v1/cart/merge", headers=headers, json={"guest_token": token}).json()
    assert {(line["product"]["id"], line["quantity"]) for line in merged["lines"]} == {
        (shop["otc"], 4), (shop["device"], 1)}
    assert client.get("/api/v1/cart", headers={"X-Cart-Token": token}).json()["lines"] == []  # the guest cart is gone


def test_cart_limits(client, shop):
    r = client.post("/api/v1/cart/items", json={"product_id": shop["otc_a"], "quantity": 6})
    assert r.status_code == 422 and problem_code(r) == "QUANTITY_LIMIT" and r.json()["limit"] == 5
    r = client.post("/api/v1/cart/items", json={"product_id": shop["device"], "quantity": 4})
    assert r.status_code == 409 and problem_code(r) == "OUT_OF_STOCK" and r.json()["available"] == 3
    r = client.post("/api/v1/cart/items", json={"product_id": shop["rx"], "quantity": 1})
    assert r.status_code == 422 and problem_code(r) == "RX_PRESCRIPTION_REQUIRED"
    r = client.post("/api/v1/cart/items", json={"product_id": shop["banned"], "quantity": 1})
    assert r.status_code == 404  # banned products do not exist for customers
    r = client.post("/api/v1/cart/items", json={"product_id": shop["otc"], "quantity": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "quantity"


def test_removing_and_unknown_items(client, shop, customer):
    _, headers, _ = customer
    client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"]})
    assert client.delete(f"/api/v1/cart/items/{shop['otc']}", headers=headers).json()["lines"] == []
    assert client.delete(f"/api/v1/cart/items/{shop['otc']}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/cart/items/{shop['device']}", headers=headers,
                        json={"quantity": 1}).status_code == 404


def test_each_customer_has_their_own_cart(client, shop, register):
    _, alice, _ = register()
    _, bob, _ = register()
    client.post("/api/v1/cart/items", headers=alice, json={"product_id": shop["otc"]})
    assert client.get("/api/v1/cart", headers=bob).json()["lines"] == []
    assert client.delete(f"/api/v1/cart/items/{shop['otc']}", headers=bob).status_code == 404
    assert len(client.get("/api/v1/cart", headers=alice).json()["lines"]) == 1


def test_lowering_a_quantity_always_works(client, db, shop, customer):
    from medreach.catalog.models import Product

    _, headers, _ = customer
    client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"], "quantity": 3})
    with db.session() as s:
        s.get(Product, shop["otc"]).stock = 1
    r = client.patch(f"/api/v1/cart/items/{shop['otc']}", headers=headers, json={"quantity": 2})
    assert r.status_code == 200 and r.json()["lines"][0]["problem"] == "OUT_OF_STOCK"
    r = client.patch(f"/api/v1/cart/items/{shop['otc']}", headers=headers, json={"quantity": 3})
    assert r.status_code == 409
