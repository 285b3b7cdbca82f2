from tests.conftest import problem_code
from tests.orders.test_orders import pay, place


def test_only_buyers_review_and_moderation_gates_display(client, shop, customer, staff, register):
    _, headers, address_id = customer
    r = client.post(f"/api/v1/products/{shop['otc']}/reviews", headers=headers, json={"rating": 5, "body": "好"})
    assert r.status_code == 403 and problem_code(r) == "REVIEW_NOT_A_BUYER"
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    pay(client, headers, order["id"])
    _, agent = staff("service")
    client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF00001111"})
    text = '<script>alert("x")</script> 效果不错'
    r = client.post(f"/api/v1/products/{shop['otc']}/reviews", headers=headers, json={"rating": 4, "body": text})
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["body"] == text
    again = client.post(f"/api/v1/products/{shop['otc']}/reviews", headers=headers, json={"rating": 1})
    assert again.status_code == 403  # one review per purchase
    assert client.get(f"/api/v1/products/{shop['otc']}/reviews").json()["total"] == 0

    queue = client.get("/api/v1/admin/reviews", headers=agent).json()
    assert [x["body"] for x in queue["items"]] == [text]
    bad = client.post(f"/api/v1/admin/reviews/{r.json()['id']}/moderate", headers=agent, json={"decision": "reject"})
    assert bad.status_code == 422
    ok = client.post(f"/api/v1/admin/reviews/{r.json()['id']}/moderate", headers=agent, json={"decision": "approve"})
    assert ok.json()["status"] == "approved"
    shown = client.get(f"/api/v1/products/{shop['otc']}/reviews").json()
    assert shown["total"] == 1 and shown["items"][0]["body"] == text and shown["items"][0]["rating"] == 4
    product = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert product["rating"] == 4.0 and product["review_count"] == 1
    r = client.post(f"/api/v1/products/{shop['otc']}/reviews", headers=headers, json={"rating": 6})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rating"


def test_the_storefront_counts_the_lakes_reviews_beside_approved_ones(client, shop, customer, staff, settings):
    """A product's card and page count the reviews only the lake holds (the profile build's product figures)
    beside the database's approved reviews: one average over both."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medreach.orders import lake_figures

    folder = lake_figures.folder(settings.lake_path)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"product_id": [shop["otc"]], "sold": [40], "reviews": [3], "rating_sum": [9]})
    pq.write_table(table.cast(lake_figures.SCHEMA), folder / "data.parquet")
    product = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert (product["rating"], product["review_count"]) == (3.0, 3)

    _, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}]).json()
    pay(client, headers, order["id"])
    _, agent = staff("service")
    client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF00001112"})
    r = client.post(f"/api/v1/products/{shop['otc']}/reviews", headers=headers, json={"rating": 5, "body": "好"})
    assert r.status_code == 201
    pending = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert pending["review_count"] == 3  # a pending review is not counted
    client.post(f"/api/v1/admin/reviews/{r.json()['id']}/moderate", headers=agent, json={"decision": "approve"})
    product = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert (product["rating"], product["review_count"]) == (3.5, 4)  # (9 + 5) / 4
    card = next(p for p in client.get("/api/v1/products", params={"limit": 100}).json()["items"] if p["id"] == shop["otc"])
    assert (card["rating"], card["review_count"]) == (3.5, 4)
