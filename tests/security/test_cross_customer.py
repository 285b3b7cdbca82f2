"""Issue 12.4: prescription files and coupon grants had no cross-customer test. One customer, knowing (or guessing)
the ids of another's, can neither read that customer's prescription or its file, nor buy with it, nor see, price
with or spend their coupon grant."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import problem_code
from tests.orders.test_orders import key
from tests.orders.test_prescriptions import PNG, upload


@pytest.fixture
def victim(client, customer, shop):
    """The first customer, holding an uploaded prescription."""
    _, headers, _ = customer
    rx = upload(client, headers, shop["rx"])
    assert rx.status_code == 201, rx.text
    return headers, rx.json()


@pytest.fixture
def attacker(client, register):
    _, headers, _ = register()
    address = client.post("/api/v1/addresses", headers=headers, json={
        "recipient": "李四", "phone": "13900001111", "province": "广东省", "city": "广州市",
        "district": "天河区", "detail": "体育西路 2 号"}).json()
    return headers, address["id"]


def test_another_customers_prescription_and_its_file_are_not_found(client, victim, attacker):
    victim_headers, rx = victim
    headers, _ = attacker
    for path in (f"/api/v1/prescriptions/{rx['id']}", f"/api/v1/prescriptions/{rx['id']}/file"):
        r = client.get(path, headers=headers)
        assert r.status_code == 404 and problem_code(r) == "NOT_FOUND", path
        assert PNG not in r.content
        assert client.get(path, headers=victim_headers).status_code == 200  # while its owner reads it
    assert client.get("/api/v1/prescriptions", headers=headers).json() == []
    assert client.get(f"/api/v1/prescriptions/{rx['id']}/file").status_code == 401  # nor anonymously


def test_another_customers_approved_prescription_cannot_buy(client, shop, victim, attacker, pharmacist):
    _, rx = victim
    _, ph = pharmacist
    client.post(f"/api/v1/admin/prescriptions/{rx['id']}/review", headers=ph, json={"decision": "approve"})
    headers, address_id = attacker
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 1}], "risk_confirmed": True,
        "prescription_id": rx["id"]})
    assert r.status_code == 422 and problem_code(r) == "RX_PRESCRIPTION_REQUIRED"
    page = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert page["purchase_mode"] == "prescription" and page["indications"] is None  # unlocks nothing for them


def test_uploading_another_customers_file_gives_nothing_of_theirs_back(client, shop, victim, attacker):
    _, rx = victim
    headers, _ = attacker
    r = upload(client, headers, shop["rx"])  # the same bytes
    assert r.status_code == 409 and problem_code(r) == "PRESCRIPTION_DUPLICATE"
    body = r.json()
    assert set(body) >= {"code", "errors"} and "id" not in body and "patient" not in body
    assert "王小明" not in r.text and rx["file_name"] not in r.text


def _coupon(client, staff) -> dict:
    _, marketer = staff("marketer")
    _, reviewer = staff("admin")
    now = datetime.now(UTC)
    r = client.post("/api/v1/admin/coupons", headers=marketer, json={
        "name": "满10减5", "kind": "amount_off", "amount_off_fen": 500, "min_spend_fen": 1000,
        "valid_from": (now - timedelta(hours=1)).isoformat(), "valid_to": (now + timedelta(days=1)).isoformat()})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    client.post(f"/api/v1/admin/coupons/{cid}/actions", headers=marketer, json={"action": "submit"})
    r = client.post(f"/api/v1/admin/coupons/{cid}/review", headers=reviewer, json={"decision": "approve"})
    assert r.json()["status"] == "running", r.text
    return r.json()


def test_another_customers_coupon_grant_can_be_neither_seen_nor_used(client, shop, customer, attacker, staff):
    _, victim_headers, _ = customer
    coupon = _coupon(client, staff)
    grant = client.post(f"/api/v1/coupons/{coupon['id']}/claim", headers=victim_headers)
    assert grant.status_code == 201, grant.text
    grant_id = grant.json()["id"]
    headers, address_id = attacker
    assert client.get("/api/v1/me/coupons", headers=headers).json() == []
    items = [{"product_id": shop["otc"], "quantity": 2}]
    r = client.post("/api/v1/checkout/preview", headers=headers, json={"items": items, "coupon_grant_id": grant_id})
    assert r.status_code == 422 and problem_code(r) == "COUPON_NOT_FOUND"
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": items, "coupon_grant_id": grant_id})
    assert r.status_code == 422 and problem_code(r) == "COUPON_NOT_FOUND"
    # The grant is still the victim's, unused, and works for them.
    [mine] = client.get("/api/v1/me/coupons", headers=victim_headers).json()
    assert mine["id"] == grant_id and mine["status"] == "available"
    r = client.post("/api/v1/checkout/preview", headers=victim_headers,
                    json={"items": items, "coupon_grant_id": grant_id})
    assert r.status_code == 200 and r.json()["discount_fen"] == 500, r.text
