"""Another customer's prescription is invisible to a customer: its file, its record, the list, and binding it to an
order all answer as if it did not exist."""

from tests.conftest import problem_code
from tests.orders.test_orders import key
from tests.orders.test_prescriptions import PNG, review, upload


def test_another_customers_prescription_and_its_file_are_not_found(client, shop, customer, register, pharmacist):
    _, owner, _ = customer
    rx = upload(client, owner, shop["rx"], quantity=1)
    assert rx.status_code == 201, rx.text
    rx_id = rx.json()["id"]
    assert review(client, pharmacist[1], rx_id).status_code == 200
    assert client.get(f"/api/v1/prescriptions/{rx_id}/file", headers=owner).content == PNG

    _, other, _ = register()
    for path in (f"/api/v1/prescriptions/{rx_id}", f"/api/v1/prescriptions/{rx_id}/file"):
        r = client.get(path, headers=other)
        assert r.status_code == 404 and problem_code(r) == "NOT_FOUND", (path, r.text)
        assert PNG not in r.content
    assert client.get("/api/v1/prescriptions", headers=other).json() == []

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
    order = client.post(
        "/api/v1/orders",
        headers={**other, **key()},
        json={
            "address_id": address["id"],
            "items": [{"product_id": shop["rx"], "quantity": 1}],
            "prescription_id": rx_id,
            "risk_confirmed": True,
        },
    )
    # As if the buyer held no prescription at all: nothing tells them the id is someone else's.
    assert (order.status_code, problem_code(order)) == (422, "RX_PRESCRIPTION_REQUIRED"), order.text
    assert client.get("/api/v1/orders", headers=other).json()["total"] == 0
    # Still the owner's, unused: it appears in their list with no order bound to it.
    assert [(p["id"], p["order_id"]) for p in client.get("/api/v1/prescriptions", headers=owner).json()] == [
        (rx_id, None)
    ]
