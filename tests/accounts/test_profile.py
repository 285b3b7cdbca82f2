import sqlalchemy as sa

from tests.conftest import problem_code

ADDRESS = {"recipient": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
           "district": "南山区", "detail": "科技园路 1 号", "postal_code": "518000"}


def test_profile_read_and_update(client, register):
    _, headers, _ = register(name="小王")
    r = client.patch("/api/v1/me", headers=headers, json={
        "name": "王小明", "gender": "male", "birth_date": "1985-06-01", "region": "广东", "city": "深圳",
        "occupation": "工程师", "real_name": "王小明", "id_number": "11010519491231002x"})
    assert r.status_code == 200, r.text
    me = client.get("/api/v1/me", headers=headers).json()
    assert (me["name"], me["gender"], me["birth_date"], me["city"]) == ("王小明", "male", "1985-06-01", "深圳")
    assert me["id_number"] == "11010519491231002X"  # the owner sees their own data in full


def test_profile_validation(client, register):
    _, headers, _ = register()
    for body, field in [({"gender": "robot"}, "gender"), ({"birth_date": "2999-01-01"}, "birth_date"),
                        ({"id_number": "110105194912310021"}, "id_number"), ({"name": "x" * 65}, "name")]:
        r = client.patch("/api/v1/me", headers=headers, json=body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, body


def test_personal_data_is_encrypted_at_rest(client, register, db):
    user, headers, _ = register("13912345678")
    client.patch("/api/v1/me", headers=headers, json={"real_name": "李四", "id_number": "11010519491231002X"})
    client.post("/api/v1/addresses", headers=headers, json={**ADDRESS, "recipient": "李四收",
                                                            "detail": "秘密路 9 号"})
    with db.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT phone_enc, real_name_enc, id_number_enc FROM users WHERE id = :id"),
                           {"id": user["id"]}).one()
        addr = conn.execute(sa.text("SELECT recipient_enc, phone_enc, detail_enc FROM addresses")).one()
    stored = " ".join([*raw, *addr])
    for secret in ("13912345678", "李四", "11010519491231002X", "13800138000", "秘密路"):
        assert secret not in stored
    assert all(v.startswith("v1:") for v in [*raw, *addr])


def test_address_crud_and_single_default(client, register):
    _, headers, _ = register()
    first = client.post("/api/v1/addresses", headers=headers, json=ADDRESS).json()
    assert first["is_default"] is True  # the first address is the default
    second = client.post("/api/v1/addresses", headers=headers, json={**ADDRESS, "city": "广州市",
                                                                      "is_default": True}).json()
    listed = client.get("/api/v1/addresses", headers=headers).json()
    assert [a["id"] for a in listed] == [second["id"], first["id"]]
    assert [a["is_default"] for a in listed] == [True, False]
    r = client.patch(f"/api/v1/addresses/{first['id']}", headers=headers, json={"detail": "新地址", "is_default": True})
    assert r.status_code == 200 and r.json()["detail"] == "新地址"
    assert sum(a["is_default"] for a in client.get("/api/v1/addresses", headers=headers).json()) == 1
    assert client.delete(f"/api/v1/addresses/{second['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/addresses/{second['id']}", headers=headers).status_code == 404


def test_address_validation(client, register):
    _, headers, _ = register()
    r = client.post("/api/v1/addresses", headers=headers, json={**ADDRESS, "phone": "110", "postal_code": "12"})
    assert r.status_code == 422 and problem_code(r) == "VALIDATION_ERROR"
    assert {e["field"] for e in r.json()["errors"]} == {"phone", "postal_code"}
    assert client.get("/api/v1/addresses", headers=headers).json() == []  # nothing half-written
