"""Issue 11.7: access tokens kept working for 30 minutes after logout, a password change or the revocation of
their login. Each access token is bound to its login (refresh-token family) and stops working at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from medreach.api import create_app
from tests.conftest import PASSWORD, bearer, problem_code


def me(client, tokens: dict):
    return client.get("/api/v1/me", headers=bearer(tokens))


def log_in(client, login: str) -> dict:
    r = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["tokens"]


def refused(r) -> bool:
    return r.status_code == 401 and problem_code(r) == "INVALID_TOKEN"


def test_logout_ends_the_access_token_at_once_and_only_that_login(client, register):
    user, _, tokens = register()
    other = log_in(client, user["phone"])  # the same customer on another device
    assert me(client, tokens).status_code == 200
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert refused(me(client, tokens))
    assert me(client, other).status_code == 200


def test_a_password_change_ends_every_login_of_the_account(client, register):
    user, _, tokens = register()
    other = log_in(client, user["phone"])
    r = client.post("/api/v1/me/password", headers=bearer(tokens),
                    json={"current_password": PASSWORD, "new_password": "a-fresh-secret-7"})
    assert r.status_code == 200
    assert refused(me(client, tokens)) and refused(me(client, other))
    assert me(client, r.json()).status_code == 200  # the new login handed back with the change


def test_a_revoked_login_ends_its_access_tokens(client, register):
    """Presenting a spent refresh token (a stolen copy) revokes the login: its newest access token dies too."""
    _, _, first = register()
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert me(client, rotated).status_code == 200
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert refused(me(client, rotated)) and refused(me(client, first))


def test_every_process_sees_the_logout_at_once(settings, db, cache, register):
    """Two API processes sharing the cache (Redis on the server backends): one has just seen the token work,
    the other ends the login, and the first refuses the token on its next request."""
    _, _, tokens = register()
    a, b = (TestClient(create_app(settings, db=db, cache=cache)) for _ in range(2))
    assert me(a, tokens).status_code == 200
    assert b.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert refused(me(a, tokens))


def test_a_token_without_a_login_is_refused(client, register):
    import jwt

    from medreach.core.settings import get_settings

    user, _, _ = register()
    legacy = jwt.encode({"sub": str(user["id"]), "exp": 4102444800, "typ": "access"}, get_settings().signing_key)
    assert refused(client.get("/api/v1/me", headers={"Authorization": f"Bearer {legacy}"}))
