"""Issue 11.6: rotating the internal "server (domain events)" source answered 200 with a working key, and analysts
managed sources. Internal sources cannot be rotated, revoked or revealed; managing sources needs sources:manage."""

import base64

import pytest

from medreach.tracking.relay import server_source
from medreach.tracking.service import KeyRing
from tests.conftest import problem_code


def basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def internal_id(client, app, db) -> int:
    app.state.keyring = KeyRing(ttl_seconds=0)
    with db.session() as s:
        return server_source(s)


def test_rotating_the_internal_server_source_gives_no_key(client, admin, internal_id):
    _, headers = admin
    r = client.post(f"/api/v1/admin/sources/{internal_id}/rotate", headers=headers)
    assert r.status_code == 409 and problem_code(r) == "SOURCE_INTERNAL", r.text
    assert "write_key" not in r.json()
    r = client.post(f"/api/v1/admin/sources/{internal_id}/revoke", headers=headers)
    assert r.status_code == 409 and problem_code(r) == "SOURCE_INTERNAL"
    [row] = [s for s in client.get("/api/v1/admin/sources", headers=headers).json()["items"] if s["id"] == internal_id]
    assert row["internal"] is True and row["status"] == "revoked"
    # Its hash used to be sha256("internal:<name>"): that guessable "key" must not write either.
    r = client.post("/v1/track", headers=basic("internal:server (domain events)"), json={"userId": "1", "event": "x"})
    assert r.status_code == 401 and problem_code(r) == "INVALID_WRITE_KEY"


def test_analysts_no_longer_manage_sources(client, app, staff, admin):
    app.state.keyring = KeyRing(ttl_seconds=0)
    _, analyst = staff("analyst")  # pipeline:run, which used to be enough
    r = client.post("/api/v1/admin/sources", headers=analyst, json={"name": "x", "kind": "server"})
    assert r.status_code == 403 and r.json()["permission"] == "sources:manage"
    web = client.get("/api/v1/tracking/config").json()
    [storefront] = [s for s in client.get("/api/v1/admin/sources", headers=analyst).json()["items"]
                    if s["kind"] == "web"]
    for action in ("rotate", "revoke"):
        r = client.post(f"/api/v1/admin/sources/{storefront['id']}/{action}", headers=analyst)
        assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    assert client.get("/api/v1/tracking/config").json() == web  # the key still works, unchanged
    _, headers = admin
    rotated = client.post(f"/api/v1/admin/sources/{storefront['id']}/rotate", headers=headers)
    assert rotated.status_code == 200 and rotated.json()["write_key"] != web["write_key"]
