from tests.conftest import PASSWORD


def _entries(client, headers, **params):
    r = client.get("/api/v1/admin/audit", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_staff_reads_of_personal_data_are_audited(client, register, staff, admin):
    customer, _, _ = register()
    marketer, mh = staff("marketer")
    client.get(f"/api/v1/admin/users/{customer['id']}", headers=mh)
    _, ah = admin
    [entry] = _entries(client, ah, action="users.read", actor_id=marketer["id"])
    assert entry["subject_type"] == "user" and entry["subject_id"] == str(customer["id"])
    assert entry["outcome"] == "success" and entry["detail"] == {"unmasked": False}
    assert entry["ip"] and entry["request_id"] and entry["actor_login"] == marketer["email"]


def test_privileged_writes_and_denials_are_audited(client, admin, staff, register):
    admin_user, ah = admin
    r = client.post("/api/v1/admin/users", headers=ah, json={
        "email": "ph@medreach.cn", "password": PASSWORD, "name": "药师", "roles": ["pharmacist"]})
    [created] = _entries(client, ah, action="staff.create")
    assert created["actor_id"] == admin_user["id"] and created["subject_id"] == str(r.json()["id"])
    assert created["detail"] == {"roles": ["pharmacist"]}
    _, customer, _ = register()
    client.get("/api/v1/admin/audit", headers=customer)
    [denied] = _entries(client, ah, outcome="denied", action="permission.denied")
    assert denied["detail"]["permission"] == "audit:read"


def test_audit_query_filters_and_paging(client, admin, register):
    _, ah = admin
    for _ in range(3):
        client.get("/api/v1/admin/users", headers=ah)
    page = client.get("/api/v1/admin/audit", headers=ah, params={"action": "users.list", "limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first
    later = client.get("/api/v1/admin/audit", headers=ah,
                       params={"since": "2999-01-01T00:00:00Z", "action": "users.list"}).json()
    assert later["total"] == 0
    r = client.get("/api/v1/admin/audit", headers=ah, params={"outcome": "maybe"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "outcome"
