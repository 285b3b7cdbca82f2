"""The patient (用药人) collected with every prescription, and what the reviewing pharmacist sees: the patient with
the name masked and the age shown, and the buyer's earlier prescription orders."""

import json
from datetime import date, timedelta

import sqlalchemy as sa

from medreach.orders.models import Prescription
from medreach.orders.prescriptions import today
from tests.conftest import problem_code
from tests.orders.test_orders import key, pay
from tests.orders.test_prescriptions import PATIENT, PNG, e_rx, review, upload


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_the_upload_keeps_the_patient_encrypted_and_the_owner_sees_it_in_full(client, db, shop, customer):
    _, headers, _ = customer
    r = upload(client, headers, shop["rx"])
    assert r.status_code == 201, r.text
    patient = r.json()["patient"]
    assert patient == {**PATIENT, "age": age_on(date(1990, 5, 6), today())}
    assert r.json()["masked"] is False
    mine = client.get(f"/api/v1/prescriptions/{r.json()['id']}", headers=headers).json()
    assert mine["patient"]["name"] == "王小明" and mine["patient"]["birth_date"] == "1990-05-06"
    with db.engine.connect() as conn:  # stored encrypted: neither the name nor the allergies in the clear
        stored = conn.execute(sa.text("SELECT patient_name_enc, patient_enc FROM prescriptions")).one()
    assert "王小明" not in str(stored[0]) and "青霉素" not in str(stored[1]) and stored[1]
    with db.session() as s:
        rx = s.get(Prescription, r.json()["id"])
        assert json.loads(rx.patient)["allergies"] == "青霉素" and rx.patient_name == "王小明"


def test_the_patient_is_checked(client, shop, customer):
    _, headers, _ = customer
    no_age = {k: v for k, v in PATIENT.items() if k != "birth_date"}
    r = upload(client, headers, shop["rx"], content=PNG + b"a", patient=no_age)
    assert r.status_code == 422 and problem_code(r) == "PATIENT_AGE_REQUIRED"
    assert r.json()["errors"][0]["field"] == "patient.age"
    r = upload(client, headers, shop["rx"], content=PNG + b"b", patient={**no_age, "age": 7})
    assert r.status_code == 201 and r.json()["patient"]["age"] == 7 and r.json()["patient"]["birth_date"] is None
    r = upload(client, headers, shop["rx"], content=PNG + b"c", patient={**PATIENT, "sex": "male"})
    assert r.status_code == 422 and problem_code(r) == "PATIENT_PREGNANCY_INVALID"
    future = (today() + timedelta(days=1)).isoformat()
    r = upload(client, headers, shop["rx"], content=PNG + b"d", patient={**PATIENT, "birth_date": future})
    assert r.status_code == 422 and problem_code(r) == "PATIENT_BIRTH_DATE_INVALID"
    r = upload(client, headers, shop["rx"], content=PNG + b"e", patient={**PATIENT, "relationship": "neighbour"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("patient.relationship")
    r = upload(client, headers, shop["rx"], content=PNG + b"f", patient={**PATIENT, "name": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("patient.name")
    missing = client.post("/api/v1/prescriptions", headers=headers, files={"file": ("a.png", PNG + b"g", "image/png")},
                          data={"items": json.dumps([{"product_id": shop["rx"], "quantity": 1}])})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "patient"
    r = client.post("/api/v1/prescriptions/e-rx", headers=headers,
                    json=e_rx(product_id=shop["rx"], rx_number="RX-NOAGE", birth_date=None))
    assert r.status_code == 422 and problem_code(r) == "PATIENT_AGE_REQUIRED"


def test_the_pharmacist_sees_the_patient_masked_with_the_age_and_the_buyers_earlier_rx_orders(
    client, db, shop, customer, pharmacist
):
    _, headers, address_id = customer
    _, ph = pharmacist
    first = upload(client, headers, shop["rx"]).json()
    assert review(client, ph, first["id"]).json()["status"] == "approved"
    order = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 2}], "risk_confirmed": True,
        "prescription_id": first["id"]}).json()
    pay(client, headers, order["id"])

    second = upload(client, headers, shop["rx"], content=PNG + b"2", patient={**PATIENT, "name": "王二"}).json()
    seen = client.get(f"/api/v1/admin/prescriptions/{second['id']}", headers=ph).json()
    assert seen["masked"] is True
    assert seen["patient"]["name"] == "王*" and seen["patient"]["birth_date"] is None
    assert seen["patient"]["age"] == age_on(date(1990, 5, 6), today())
    assert (seen["patient"]["sex"], seen["patient"]["allergies"]) == ("female", "青霉素")
    assert (seen["patient"]["pregnancy"], seen["patient"]["relationship"]) == ("breastfeeding", "spouse")
    [earlier] = seen["earlier_rx_orders"]
    assert earlier["id"] == order["id"] and earlier["status"] == "paid" and earlier["prescription_id"] == first["id"]
    assert [(line["product_id"], line["quantity"]) for line in earlier["lines"]] == [(shop["rx"], 2)]
    assert earlier["lines"][0]["drug_class"] == "rx" and "苯磺酸氨氯地平片" in earlier["lines"][0]["name"]
    queued = client.get("/api/v1/admin/prescriptions", headers=ph).json()["items"]
    assert [q["patient"]["name"] for q in queued] == ["王*"]  # the queue masks alike
    decided = review(client, ph, second["id"]).json()
    assert decided["patient"]["name"] == "王*" and len(decided["earlier_rx_orders"]) == 1

    # The order bound to the prescription under review is not one of the "earlier" orders.
    assert client.get(f"/api/v1/admin/prescriptions/{first['id']}", headers=ph).json()["earlier_rx_orders"] == []


def test_a_prescription_from_before_the_patient_was_collected_still_shows(client, db, shop, customer, pharmacist):
    user, headers, _ = customer
    rx = upload(client, headers, shop["rx"]).json()
    with db.session() as s:  # as the rows from before: the name only
        row = s.get(Prescription, rx["id"])
        row.patient = None
        s.commit()
    _, ph = pharmacist
    seen = client.get(f"/api/v1/admin/prescriptions/{rx['id']}", headers=ph)
    assert seen.status_code == 200
    assert seen.json()["patient"] == {"name": "王*明", "sex": None, "birth_date": None, "age": None,
                                      "allergies": None, "pregnancy": None, "relationship": None}


def test_approved_rx_shows_its_leaflet_to_the_buyer_also_after_it_was_used(client, shop, customer, pharmacist):
    _, headers, address_id = customer
    _, ph = pharmacist
    rx = upload(client, headers, shop["rx"]).json()
    pending = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert pending["indications"] is None and pending["image_url"] is None  # not before approval (COMPLIANCE A4)
    review(client, ph, rx["id"])
    order = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 2}], "risk_confirmed": True,
        "prescription_id": rx["id"]}).json()
    pay(client, headers, order["id"])
    after = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert after["indications"] == "高血压、冠心病。" and after["usage_dosage"] == "口服，一次1片，一日1次"
    assert after["contraindications"] and after["image_url"]
    assert after["purchase_mode"] == "prescription"  # the prescription is used: buying again needs a new one
    listed = client.get("/api/v1/products", headers=headers, params={"category": "hypertension"}).json()["items"][0]
    assert listed["image_url"] and listed["purchase_mode"] == "prescription"
    assert client.get(f"/api/v1/products/{shop['rx']}").json()["indications"] is None  # others still see it locked
