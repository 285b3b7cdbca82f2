"""Issue 11.7: e-prescriptions dated 2099 or 1990 were accepted. A prescription is valid from its issue date for
the period the prescription rules allow (处方管理办法 Art 18: the day of issue, at most 3 days when the prescriber
says so), in Beijing days, and never dated in the future; once lapsed it can be neither approved nor bought with."""

from datetime import UTC, date, datetime, timedelta

import pytest

from medreach.orders import prescriptions
from medreach.orders.models import Prescription
from tests.conftest import problem_code
from tests.orders.test_orders import key
from tests.orders.test_prescriptions import e_rx, review

TODAY = prescriptions.today()
E_RX = "/api/v1/prescriptions/e-rx"


@pytest.mark.parametrize("issued_on", [date(2099, 1, 1), TODAY + timedelta(days=1)])
def test_an_e_prescription_dated_in_the_future_is_refused(client, shop, customer, issued_on):
    _, headers, _ = customer
    r = client.post(E_RX, headers=headers, json=e_rx(issued_on, 3, product_id=shop["rx"]))
    assert r.status_code == 422 and problem_code(r) == "PRESCRIPTION_DATED_IN_FUTURE"
    assert r.json()["errors"][0]["field"] == "issued_on"
    assert client.get("/api/v1/prescriptions", headers=headers).json() == []


@pytest.mark.parametrize("issued_on,days", [(date(1990, 1, 1), 3), (TODAY - timedelta(days=1), 1),
                                            (TODAY - timedelta(days=3), 3)])
def test_an_e_prescription_past_its_validity_is_refused(client, shop, customer, issued_on, days):
    _, headers, _ = customer
    r = client.post(E_RX, headers=headers, json=e_rx(issued_on, days, product_id=shop["rx"]))
    assert r.status_code == 422 and problem_code(r) == "PRESCRIPTION_EXPIRED"
    last = issued_on + timedelta(days=days - 1)
    assert r.json()["valid_until"] == last.isoformat()


def test_validity_is_the_day_of_issue_or_at_most_three_days(client, shop, customer):
    _, headers, _ = customer
    r = client.post(E_RX, headers=headers, json=e_rx(product_id=shop["rx"]))
    assert r.status_code == 201 and r.json()["valid_until"] == TODAY.isoformat()  # the day of issue only
    r = client.post(E_RX, headers=headers, json=e_rx(TODAY - timedelta(days=2), 3, "RX-3DAYS", shop["rx"]))
    assert r.status_code == 201 and r.json()["valid_until"] == TODAY.isoformat()
    for days in (0, 4, 30):
        r = client.post(E_RX, headers=headers, json=e_rx(TODAY, days, f"RX-D{days}", shop["rx"]))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "validity_days", days


def test_a_lapsed_prescription_can_be_neither_approved_nor_used(client, db, shop, customer, pharmacist):
    _, headers, address_id = customer
    _, ph = pharmacist
    pending = client.post(E_RX, headers=headers, json=e_rx(product_id=shop["rx"])).json()
    approved = client.post(E_RX, headers=headers, json=e_rx(rx_number="RX-APPROVED", product_id=shop["rx"])).json()
    assert review(client, ph, approved["id"]).json()["status"] == "approved"
    assert client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()["purchase_mode"] == "cart"
    with db.session() as s:  # a day later, as far as these two are concerned
        for rx_id in (pending["id"], approved["id"]):
            s.get(Prescription, rx_id).valid_until = TODAY - timedelta(days=1)
        s.commit()
    r = review(client, ph, pending["id"])
    assert r.status_code == 422 and problem_code(r) == "PRESCRIPTION_EXPIRED"
    r = client.post("/api/v1/orders", headers={**headers, **key()}, json={
        "address_id": address_id, "items": [{"product_id": shop["rx"], "quantity": 1}], "risk_confirmed": True,
        "prescription_id": approved["id"]})
    assert r.status_code == 422 and problem_code(r) == "PRESCRIPTION_EXPIRED"
    page = client.get(f"/api/v1/products/{shop['rx']}", headers=headers).json()
    assert page["purchase_mode"] == "prescription"  # no longer usable to buy…
    assert page["indications"] == "高血压、冠心病。"  # …while the approved leaflet still shows to this customer


def test_validity_is_counted_in_beijing_days(monkeypatch):
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # 23:30 UTC on 1 March: already 07:30 on 2 March in Beijing
            return datetime(2026, 3, 1, 23, 30, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(prescriptions, "datetime", Clock)
    assert prescriptions.today() == date(2026, 3, 2)
    assert prescriptions.valid_until(date(2026, 3, 2), 1, prescriptions.today()) == date(2026, 3, 2)
