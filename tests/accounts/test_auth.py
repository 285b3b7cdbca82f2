import sqlalchemy as sa

from medreach.accounts.models import RefreshToken
from medreach.api import create_app
from tests.conftest import AGREEMENTS, PASSWORD, bearer, problem_code


def test_register_with_phone_or_email_then_login(client):
    r = client.post("/api/v1/auth/register",
                    json={"phone": "138 0013 8001", "password": PASSWORD, "name": "张三", "agreements": AGREEMENTS})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["phone"] == "13800138001" and r.json()["user"]["roles"] == ["customer"]
    r = client.post("/api/v1/auth/register", json={"email": "Li@Example.com", "password": PASSWORD,
                                                   "agreements": AGREEMENTS})
    assert r.status_code == 201 and r.json()["user"]["email"] == "li@example.com"
    for login in ("13800138001", "+8613800138001", "li@example.com", "LI@example.com"):
        r = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert r.status_code == 200, (login, r.text)
    me = client.get("/api/v1/me", headers=bearer(r.json()["tokens"]))
    assert me.json()["email"] == "li@example.com" and me.json()["is_staff"] is False


def test_register_rejects_bad_input_with_named_fields(client):
    cases = [
        ({"phone": "12345", "password": PASSWORD}, "phone"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, ""),  # neither phone nor email
        ({"phone": "13800138002", "email": "a@example.com", "password": PASSWORD}, ""),
    ]
    for body, field in cases:
        r = client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 422 and problem_code(r) == "VALIDATION_ERROR", body
        if field:
            assert field in [e["field"] for e in r.json()["errors"]]


def test_duplicate_login_is_a_conflict(client, register):
    register("13800138003")
    r = client.post("/api/v1/auth/register",
                    json={"phone": "13800138003", "password": PASSWORD, "agreements": AGREEMENTS})
    assert r.status_code == 409 and problem_code(r) == "LOGIN_TAKEN"
    assert r.json()["errors"][0]["field"] == "phone"


def test_wrong_password_and_unknown_login_look_the_same(client, register):
    register("13800138004")
    a = client.post("/api/v1/auth/login", json={"login": "13800138004", "password": "wrong-pass"})
    b = client.post("/api/v1/auth/login", json={"login": "13899999999", "password": "wrong-pass"})
    assert a.status_code == b.status_code == 401
    assert problem_code(a) == problem_code(b) == "INVALID_CREDENTIALS"


def test_delay_after_repeated_failures(client, register, app):
    register("13800138005")
    limit = app.state.settings.login_free_failures
    for _ in range(limit):
        r = client.post("/api/v1/auth/login", json={"login": "13800138005", "password": "wrong-pass"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"login": "13800138005", "password": PASSWORD})
    assert r.status_code == 429 and problem_code(r) == "LOGIN_LOCKED"
    assert 0 < r.json()["retry_after"] <= app.state.settings.login_delay_base_seconds
    assert r.headers["retry-after"] == str(r.json()["retry_after"])
    # Another login is not affected.
    register("13800138006")
    assert client.post("/api/v1/auth/login", json={"login": "13800138006", "password": PASSWORD}).status_code == 200


def test_lockout_is_shared_between_processes_through_the_cache(settings, db, cache, register):
    """Two app instances (two API processes) share the failure count when they share the cache."""
    from fastapi.testclient import TestClient

    register("13800138007")
    apps = [TestClient(create_app(settings, db=db, cache=cache)) for _ in range(2)]
    for i in range(settings.login_free_failures):
        apps[i % 2].post("/api/v1/auth/login", json={"login": "13800138007", "password": "nope-nope"})
    r = apps[1].post("/api/v1/auth/login", json={"login": "13800138007", "password": PASSWORD})
    assert r.status_code == 429


def test_successful_login_clears_failures(client, register, app):
    register("13800138008")
    for _ in range(app.state.settings.login_free_failures - 1):
        client.post("/api/v1/auth/login", json={"login": "13800138008", "password": "wrong-pass"})
    assert client.post("/api/v1/auth/login", json={"login": "13800138008", "password": PASSWORD}).status_code == 200
    for _ in range(app.state.settings.login_free_failures - 1):
        client.post("/api/v1/auth/login", json={"login": "13800138008", "password": "wrong-pass"})
    assert client.post("/api/v1/auth/login", json={"login": "13800138008", "password": PASSWORD}).status_code == 200


def test_refresh_rotates_and_reuse_revokes_the_family(client, register, db):
    _, _, tokens = register()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(new)).status_code == 200
    # The old token is spent: presenting it again is treated as theft and ends the whole chain.
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and problem_code(r) == "INVALID_TOKEN"
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 401
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).where(RefreshToken.revoked_at.is_(None))) == 0


def test_logout_revokes_refresh_token(client, register):
    _, _, tokens = register()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


def test_bad_and_missing_tokens(client):
    assert problem_code(client.get("/api/v1/me")) == "NOT_AUTHENTICATED"
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401 and problem_code(r) == "INVALID_TOKEN"
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": "never-issued"})
    assert r.status_code == 401


def test_change_password(client, register):
    user, headers, tokens = register()
    r = client.post("/api/v1/me/password", headers=headers,
                    json={"current_password": "wrong-one", "new_password": "another-pass-1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = client.post("/api/v1/me/password", headers=headers,
                    json={"current_password": PASSWORD, "new_password": "another-pass-1"})
    assert r.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(r.json())).status_code == 200  # the new login's tokens work
    assert client.post("/api/v1/auth/login", json={"login": user["phone"], "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login",
                       json={"login": user["phone"], "password": "another-pass-1"}).status_code == 200
    # Sessions opened before the change are closed.
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_disabled_account_cannot_log_in_or_use_tokens(client, register, admin):
    user, headers, _ = register()
    _, admin_headers = admin
    assert client.patch(f"/api/v1/admin/users/{user['id']}", headers=admin_headers,
                        json={"is_active": False}).status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    r = client.post("/api/v1/auth/login", json={"login": user["phone"], "password": PASSWORD})
    assert r.status_code == 403 and problem_code(r) == "ACCOUNT_DISABLED"
