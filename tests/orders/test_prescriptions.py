"""Prescriptions: upload checks, de-duplication, pharmacist review, single use, and the Rx display rules."""

import json
from datetime import timedelta

import sqlalchemy as sa

from medreach.orders.prescriptions import today

from medreach.core.events import DomainEvent
from medreach.orders.models import Prescription
from tests.conftest import problem_code
from tests.orders.test_orders import key, pay, stock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PATIENT = {"name": "王小明", "sex": "female", "birth_date": "1990-05-06", "allergies": "青霉素",
           "pregnancy": "breastfeeding", "relationship": "spouse"}


def upload(client, headers, product_id, content=PNG, quantity=2, name="rx.png", patient=None):
    return client.post("/api/v1/prescriptions", headers=headers, files={"file": (name, content, "image/png")},
                       data={"items": json.dumps([{"product_id": product_id, "quantity": quantity}]),
                             "patient": json.dumps(patient or PATIENT), "filename": name})


def e_rx(issued_on=None, validity_days=1, rx_number="RX-2026-0001", product_id=None, **patient):
    return {"hospital": "深圳市人民医院", "doctor": "李医生", "rx_number": rx_number,
            "issued_on": (issued_on or today()).isoformat(), "validity_days": validity_days,
            "patient": {**PATIENT, **patient}, "diagnosis": "原发性高血压",
            "items": [{"product_id": product_id, "quantity": 1}]}


def review(client, headers, rx_id, decision="approve", reason=""):
    return client.post(f"/api/v1/admin/prescriptions/{rx_id}/review", headers=headers,
                       json={"decision": decision, "reason": reason})


def test_upload_checks_and_deduplication(client, shop, customer, register):
    _, headers, _ = customer
    r = upload(client, headers, shop["rx"])
    assert r.status_code == 201 and r.json()["status"] == "pending" and r.json()["content_type"] == "image/png"
    again = upload(client, headers, shop["rx"])
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"] and again.json()["duplicate"] is True
    _, other, _ = register()
    r2 = upload(client, other, shop["rx"])
    assert r2.status_code == 409 and problem_code(r2) == "PRESCRIPTION_DUPLICATE"
    r3 = upload(client, headers, shop["rx"], content=b"just some text", name="rx.png")
    assert r3.status_code == 415 and problem_code(r3) == "PRESCRIPTION_FILE_TYPE"
    r4 = upload(client, headers, shop["rx"], content=b"%PDF-" + b"x" * (5 * 1024 * 1024))
    assert r4.status_code == 413
    r5 = upload(client, headers, shop["otc"], content=PNG + b"1")
    assert r5.status_code == 422 and problem_code(r5) == "PRESCRIPTION_NOT_NEEDED"
    r6 = client.post("/api/v1/prescriptions", headers=headers, files={"file": ("a.png", PNG + b"2", "image/png")},
                     data={"items": "not json", "patient": json.dumps(PATIENT)})
    assert r6.status_code == 422 and r6.json()["errors"][0]["field"] == "items"
    assert client.get(f"/api/v1/prescriptions/{r.json()['id']}/file", headers=headers).content == PNG
    assert client.get(f"/api/v1/prescriptions/{r.json()['id']}", headers=other).status_code == 404


def test_rx_display_rules_follow_the_viewers_prescription(client, shop, customer, pharmacist):
    _, headers, _ = customer
    locked = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert locked["notice"] == "处方药须凭处方在药师指导下购买和使用"
    assert locked["image_url"] is None and locked["indications"] is None and locked["usage_dosage"] is None
    assert locked["purchase_mode"] == "prescription" and locked["rx_approved"] is False
    listed = client.get("/api/v1/products", params={"category": "hypertension"}).json()["items"][0]
    assert listed["image_url"] is None and listed["purchase_mode"] == "prescription"
    otc = client.get(f"/api/v1/products/{shop['otc']}").json()
    assert otc["indications"] and otc["image_url"] and otc["purchase_mode"] == "cart"
    assert otc["notice"] == "请按药品说明书或者在药师指导下购买和使用"

    rx = upload(client, headers, shop["rx"]).json()
    _, ph = pharmacist
    review(client, ph, rx["id"])
    unlocked = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert unlocked["indications"] == "高血压、冠心病。" and unlocked["image_url"] and unlocked["purchase_mode"] == "cart"
    assert client.get(f"/api/v1/products/{shop['rx']}").json()["indications"] is None  # others still see it locked


def test_rx_order_waits_for_the_pharmacist_then_pays(client, db, shop, customer, pharmacist):
    user, headers, address_id = customer
    rx = upload(client, headers, shop["rx"]).json()
    body = {"address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 2}]}
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json=body)
    assert r.status_code == 422 and problem_code(r) == "RX_RISK_NOT_CONFIRMED"
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={**body, "risk_confirmed": True})
    assert r.status_code == 422 and problem_code(r) == "RX_PRESCRIPTION_REQUIRED"
    over = {**body, "items": [{"product_id": shop["rx"], "quantity": 3}], "risk_confirmed": True,
            "prescription_id": rx["id"]}
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json=over)
    assert r.status_code == 422 and problem_code(r) == "RX_NOT_COVERED"
    r = client.post("/api/v1/orders", headers={**headers, **key()},
                    json={**body, "risk_confirmed": True, "prescription_id": rx["id"]})
    order = r.json()
    assert r.status_code == 201 and order["status"] == "awaiting_rx_review" and order["risk_confirmed_at"]
    assert stock(db, shop["rx"]) == 18
    r = client.post(f"/api/v1/orders/{order['id']}/pay", headers=headers)
    assert r.status_code == 409 and problem_code(r) == "ORDER_NOT_PAYABLE"

    ph_user, ph = pharmacist
    queue = client.get("/api/v1/admin/prescriptions", headers=ph).json()
    assert [q["id"] for q in queue["items"]] == [rx["id"]] and queue["items"][0]["order_id"] == order["id"]
    assert client.get(f"/api/v1/admin/prescriptions/{rx['id']}/file", headers=ph).content == PNG
    decided = review(client, ph, rx["id"], reason="处方合规").json()
    assert decided["status"] == "approved" and decided["reviewer_licence"] == "执业药师 TEST-0001"
    assert decided["reviewer_name"] == ph_user["name"] and decided["reviewed_at"]
    assert review(client, ph, rx["id"]).status_code == 409  # reviewed once
    assert client.get(f"/api/v1/orders/{order['id']}", headers=headers).json()["status"] == "awaiting_payment"

    pay(client, headers, order["id"])
    assert client.get(f"/api/v1/orders/{order['id']}", headers=headers).json()["status"] == "paid"
    with db.session() as s:
        assert s.get(Prescription, rx["id"]).status == "consumed"
    # Used once: it cannot buy again.
    r = client.post("/api/v1/orders", headers={**headers, **key()},
                    json={**body, "risk_confirmed": True, "prescription_id": rx["id"]})
    assert r.status_code == 409 and problem_code(r) == "PRESCRIPTION_USED"
    with db.session() as s:
        names = [e.name for e in s.scalars(sa.select(DomainEvent).order_by(DomainEvent.id))]
    assert "Prescription Submitted" in names and "Prescription Approved" in names


def test_rejected_prescription_cancels_the_order(client, db, shop, customer, pharmacist):
    _, headers, address_id = customer
    rx = upload(client, headers, shop["rx"]).json()
    order = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 1}], "risk_confirmed": True,
        "prescription_id": rx["id"]}).json()
    _, ph = pharmacist
    assert review(client, ph, rx["id"], decision="reject").status_code == 422  # a reason is required
    r = review(client, ph, rx["id"], decision="reject", reason="处方已过期")
    assert r.json()["status"] == "rejected" and r.json()["review_reason"] == "处方已过期"
    assert client.get(f"/api/v1/orders/{order['id']}", headers=headers).json()["status"] == "cancelled"
    assert stock(db, shop["rx"]) == 20


def test_review_needs_a_licensed_pharmacist(client, shop, customer, staff):
    _, headers, _ = customer
    rx = upload(client, headers, shop["rx"]).json()
    _, unlicensed = staff("pharmacist")
    r = review(client, unlicensed, rx["id"])
    assert r.status_code == 422 and problem_code(r) == "PHARMACIST_LICENCE_REQUIRED"
    _, marketer = staff("marketer")
    assert review(client, marketer, rx["id"]).status_code == 403


def test_e_prescription(client, shop, customer):
    _, headers, _ = customer
    body = e_rx(product_id=shop["rx"], name="张三", validity_days=3)
    r = client.post("/api/v1/prescriptions/e-rx", headers=headers, json=body)
    assert r.status_code == 201 and r.json()["kind"] == "e_rx" and r.json()["patient"]["name"] == "张三"
    assert r.json()["valid_until"] == (today() + timedelta(days=2)).isoformat()
    assert client.post("/api/v1/prescriptions/e-rx", headers=headers, json=body).json()["duplicate"] is True
    assert [p["id"] for p in client.get("/api/v1/prescriptions", headers=headers).json()] == [r.json()["id"]]
