"""Another customer's coupon grant is not theirs to use: the preview and the order refuse it as not found (its
existence is not revealed), nothing is held or spent, and its owner still has it."""

from tests.conftest import problem_code
from tests.orders.test_orders import key


def test_another_customers_coupon_grant_is_refused(client, shop, coupon, customer, register):
    _, owner, owner_address = customer
    c = coupon(min_spend_fen=0, amount_off_fen=300)
    grant = client.post(f"/api/v1/coupons/{c['id']}/claim", headers=owner).json()
    assert grant["status"] == "available"

    _, other, _ = register()
    address = client.post(
        "/api/v1/addresses",
        headers=other,
        json={
            "recipient": "李四",
            "phone": "13900139000",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": "世纪大道 1 号",
        },
    ).json()
    items = [{"product_id": shop["otc"], "quantity": 2}]
    preview = client.post(
        "/api/v1/checkout/preview", headers=other, json={"items": items, "coupon_grant_id": grant["id"]}
    )
    assert preview.status_code == 422 and problem_code(preview) == "COUPON_NOT_FOUND", preview.text
    assert preview.json()["errors"][0]["field"] == "coupon_grant_id"
    order = client.post(
        "/api/v1/orders",
        headers={**other, **key()},
        json={"address_id": address["id"], "items": items, "coupon_grant_id": grant["id"]},
    )
    assert order.status_code == 422 and problem_code(order) == "COUPON_NOT_FOUND", order.text
    assert client.get("/api/v1/orders", headers=other).json()["total"] == 0
    assert client.get("/api/v1/me/coupons", headers=other).json() == []

    # The owner's grant was neither held nor spent: it still takes 3 yuan off the owner's own order.
    assert [g["status"] for g in client.get("/api/v1/me/coupons", headers=owner).json()] == ["available"]
    mine = client.post(
        "/api/v1/orders",
        headers={**owner, **key()},
        json={"address_id": owner_address, "items": items, "coupon_grant_id": grant["id"]},
    )
    assert mine.status_code == 201, mine.text
    assert [a["amount_fen"] for a in mine.json()["adjustments"] if a["source"] == "coupon"] == [300]
