"""Issue 11.4: `GET /api/v1/admin/orders/{id}` showed the recipient's full phone and name to pharmacists and service
agents, while user views masked them. One masking rule for personal data in every staff view, whoever the viewer
is; the full values only through an audited reveal that states its purpose (pii:reveal)."""

import json

import pytest
import sqlalchemy as sa

from medreach.ops.models import AuditEntry
from tests.conftest import problem_code
from tests.orders.test_orders import place
from tests.orders.test_prescriptions import PATIENT, upload
from tests.tracking.test_collector import source  # noqa: F401 (fixture)
from tests.tracking.test_identity import send

FULL = {"recipient": "张三", "phone": "13800138000", "detail": "科技园 1 号"}
MASKED = {"recipient": "张*", "phone": "138****8000", "detail": "科技园****"}


def reveals(db) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "pii.reveal").order_by(AuditEntry.id)))


@pytest.fixture
def order(client, shop, customer):
    _, headers, address_id = customer
    r = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}])
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("role", ["pharmacist", "service", "admin"])
def test_the_admin_order_views_mask_the_address_for_every_staff_role(client, staff, customer, order, role):
    _, h = staff(role)
    detail = client.get(f"/api/v1/admin/orders/{order['id']}", headers=h).json()
    assert {k: detail["address"][k] for k in MASKED} == MASKED and detail["masked"] is True
    assert detail["address"]["city"] == "深圳市" and detail["address"]["district"] == "南山区"  # not personal alone
    listed = client.get("/api/v1/admin/orders", headers=h).json()["items"]
    assert [{k: o["address"][k] for k in MASKED} for o in listed] == [MASKED]
    found = client.get("/api/v1/admin/orders", headers=h, params={"q": order["number"]}).json()["items"]
    assert "13800138000" not in json.dumps(found, ensure_ascii=False)
    _, headers, _ = customer
    own = client.get(f"/api/v1/orders/{order['id']}", headers=headers).json()  # the buyer sees their own in full
    assert {k: own["address"][k] for k in FULL} == FULL and own["masked"] is False


def test_staff_actions_answer_masked_too(client, db, staff, order):
    _, agent = staff("service")
    with db.session() as s:  # paid, so it can be shipped
        from medreach.orders.models import Order

        s.get(Order, order["id"]).status = "paid"
        s.commit()
    shipped = client.post(f"/api/v1/admin/orders/{order['id']}/ship", headers=agent, json={"tracking_no": "SF1234567"})
    assert shipped.status_code == 200, shipped.text
    assert {k: shipped.json()["address"][k] for k in MASKED} == MASKED


def test_the_address_reveal_needs_a_purpose_and_the_permission_and_is_audited(client, db, staff, order):
    agent_user, agent = staff("service")
    url = f"/api/v1/admin/orders/{order['id']}/reveal"
    r = client.post(url, headers=agent, json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    assert reveals(db) == []
    r = client.post(url, headers=agent, json={"purpose": "联系收件人确认配送"})
    assert r.status_code == 200, r.text
    assert r.json() == {"subject_type": "order", "subject_id": order["id"], "values": FULL, "purpose": "联系收件人确认配送"}
    [entry] = reveals(db)
    assert entry.actor_id == agent_user["id"] and entry.subject_type == "order"
    assert entry.subject_id == str(order["id"])
    assert entry.detail == {"purpose": "联系收件人确认配送", "fields": ["detail", "phone", "recipient"]}
    # The detail stays masked after a reveal: the reveal hands the values to this one answer only.
    assert client.get(f"/api/v1/admin/orders/{order['id']}", headers=agent).json()["address"]["phone"] == "138****8000"

    _, ph = staff("pharmacist")  # reads orders, but may not reveal
    r = client.post(url, headers=ph, json={"purpose": "看看"})
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    assert len(reveals(db)) == 1


def test_a_reveal_opens_no_view_the_viewer_lacks(client, db, admin, staff, order):
    _, h = admin
    r = client.post("/api/v1/admin/roles", headers=h, json={"name": "revealer", "permissions": ["pii:reveal"]})
    assert r.status_code == 201, r.text
    _, revealer = staff("revealer")
    r = client.post(f"/api/v1/admin/orders/{order['id']}/reveal", headers=revealer, json={"purpose": "联系收件人"})
    assert r.status_code == 403 and r.json()["permission"] == "orders:read_all"
    assert reveals(db) == []


def test_user_views_are_masked_for_every_viewer_and_revealed_with_a_purpose(client, db, register, staff, admin):
    customer, headers, _ = register("13812345678")
    client.patch("/api/v1/me", headers=headers, json={"real_name": "王小明", "id_number": "11010519491231002X"})
    _, h = admin  # holds every permission, and still sees the masked values
    detail = client.get(f"/api/v1/admin/users/{customer['id']}", headers=h).json()
    assert (detail["phone"], detail["real_name"], detail["id_number"]) == ("138****5678", "王*明", "110***********002X")
    assert "profiles:read_sensitive" not in {p["code"] for p in client.get(
        "/api/v1/admin/permissions", headers=h).json()}
    agent_user, agent = staff("service")
    r = client.post(f"/api/v1/admin/users/{customer['id']}/reveal", headers=agent, json={"purpose": "核实退款身份"})
    assert r.status_code == 200, r.text
    assert r.json()["values"] == {"email": None, "phone": "13812345678", "real_name": "王小明",
                                  "id_number": "11010519491231002X"}
    [entry] = reveals(db)
    assert entry.actor_id == agent_user["id"] and entry.subject_type == "user"
    assert entry.detail["purpose"] == "核实退款身份"
    _, marketer = staff("marketer")
    r = client.post(f"/api/v1/admin/users/{customer['id']}/reveal", headers=marketer, json={"purpose": "营销"})
    assert r.status_code == 403 and len(reveals(db)) == 1


def test_the_patient_is_masked_for_staff_and_revealed_with_a_purpose(client, db, shop, customer, pharmacist, admin):
    _, headers, _ = customer
    rx = upload(client, headers, shop["rx"]).json()
    _, ph = pharmacist
    seen = client.get(f"/api/v1/admin/prescriptions/{rx['id']}", headers=ph).json()
    assert seen["patient"]["name"] == "王*明" and seen["patient"]["birth_date"] is None and seen["masked"] is True
    r = client.post(f"/api/v1/admin/prescriptions/{rx['id']}/reveal", headers=ph, json={"purpose": "核对用药人"})
    assert r.status_code == 403  # pharmacists review on the masked patient; revealing is pii:reveal
    admin_user, h = admin
    r = client.post(f"/api/v1/admin/prescriptions/{rx['id']}/reveal", headers=h, json={"purpose": "核对用药人身份"})
    assert r.status_code == 200, r.text
    assert r.json()["values"] == {"patient_name": PATIENT["name"], "patient_birth_date": PATIENT["birth_date"]}
    [entry] = reveals(db)
    assert entry.actor_id == admin_user["id"] and entry.subject_type == "prescription"
    assert entry.subject_id == str(rx["id"]) and entry.detail["fields"] == ["patient_birth_date", "patient_name"]


def test_people_search_and_customer_360_are_masked(client, register, admin):
    customer, headers, _ = register("13887654321")
    client.patch("/api/v1/me", headers=headers, json={"real_name": "李四"})
    _, h = admin
    people = client.get("/api/v1/admin/events/people", headers=h, params={"q": "13887654321"}).json()["items"]
    assert [p["phone"] for p in people] == ["138****4321"]
    found = client.get("/api/v1/admin/profiles/customers", headers=h, params={"q": "13887654321"})
    assert [row["phone"] for row in found.json()["items"]] == ["138****4321"] and "13887654321" not in found.text
    page = client.get(f"/api/v1/admin/profiles/customers/{customer['id']}", headers=h)
    assert page.status_code == 200, page.text
    assert page.json()["user"]["phone"] == "138****4321" and page.json()["user"]["masked"] is True
    assert "13887654321" not in page.text and "李四" not in page.text


def test_the_timeline_and_the_live_view_mask_what_clients_sent_as_personal_traits(client, source, register, staff):
    user, _, _ = register()
    uid = str(user["id"])
    send(client, source["write_key"],
         {"type": "identify", "anonymousId": "anon-pii", "userId": uid,
          "traits": {"name": "王五", "phone": "13712345678", "email": "wangwu@example.com", "gender": "男",
                     "address": {"city": "成都", "street": "天府大道 100 号"}}},
         {"type": "track", "userId": uid, "event": "Product Viewed",
          "properties": {"name": "板蓝根颗粒", "product_id": 1, "contact": {"mobile": "13712345678"}}})
    _, admin_headers = staff("admin")
    timeline = client.get(f"/api/v1/admin/users/{uid}/timeline", headers=admin_headers)
    assert timeline.status_code == 200, timeline.text
    live = client.get("/api/v1/admin/events/live", headers=admin_headers, params={"user": uid})
    for answer in (timeline, live):
        text = answer.text
        assert "13712345678" not in text and "王五" not in text and "wangwu@" not in text and "天府大道" not in text
        assert "137****5678" in text and "成都" in text and "板蓝根颗粒" in text  # masked, not dropped
    events = timeline.json()["events"]
    identify = next(e for e in events if e["type"] == "identify")
    traits = identify["traits"] if isinstance(identify["traits"], dict) else json.loads(identify["traits"])
    assert traits["name"] == "王*" and traits["email"] == "w***@example.com" and traits["gender"] == "男"
