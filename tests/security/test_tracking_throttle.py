"""Issue 11.7: the collector had no rate limit per key and client IP. A flood from one address is now answered
429 (problem+json, Retry-After) and counted as rejected for the source; other addresses and keys go on."""

import base64

import pytest
from fastapi.testclient import TestClient

from medreach.api import create_app
from medreach.catalog.search import SearchIndex
from medreach.catalog.synonyms import load_synonyms
from medreach.core.settings import Settings
from medreach.tracking.service import KeyRing
from tests.conftest import PASSWORD, problem_code


def basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def tight(tmp_path, db, cache):
    settings = Settings(var_dir=tmp_path / "var", public_base_url="http://testserver", jobs_enabled=False,
                        collector_rate_public=5, collector_rate_trusted=8, collector_rate_bad_keys=3,
                        collector_rate_window_seconds=60)
    app = create_app(settings, db=db, cache=cache, search=SearchIndex(None, synonyms=load_synonyms()))
    app.state.keyring = KeyRing(ttl_seconds=0)
    return app


def flood(client, key, n) -> list:
    return [client.post("/v1/batch", headers=basic(key), json={"batch": [
        {"type": "track", "anonymousId": "flood", "event": "Spam"}, {"type": "page", "anonymousId": "flood"}]})
        for _ in range(n)]


def test_a_flood_on_the_public_key_from_one_address_is_throttled(tight, staff):
    with TestClient(tight, client=("203.0.113.7", 4000)) as attacker, \
            TestClient(tight, client=("198.51.100.2", 4000)) as shopper:
        key = attacker.get("/api/v1/tracking/config").json()["write_key"]
        answers = flood(attacker, key, 7)
        assert [r.status_code for r in answers] == [200] * 5 + [429] * 2
        r = answers[-1]
        assert problem_code(r) == "TRACKING_RATE_LIMITED"
        assert 0 < int(r.headers["Retry-After"]) <= 60 and r.json()["retry_after"] == int(r.headers["Retry-After"])
        assert shopper.post("/v1/page", headers=basic(key), json={"anonymousId": "s", "name": "home"}).status_code == 200
        # Counted as rejected for the source (the events of the refused calls), with the reason on record.
        login = shopper.post("/api/v1/auth/login", json={"login": staff("admin")[0]["email"],
                                                         "password": PASSWORD})
        headers = {"Authorization": "Bearer " + login.json()["tokens"]["access_token"]}
        [web] = [s for s in shopper.get("/api/v1/admin/sources", headers=headers).json()["items"]
                 if s["kind"] == "web"]
        stats = shopper.get(f"/api/v1/admin/sources/{web['id']}/stats", headers=headers).json()
        assert stats["days"][-1]["received"] == 5 * 2 + 1 and stats["days"][-1]["rejected"] == 2 * 2
        assert stats["rejected_by_reason"] == {"rate_limited": 1}  # one record per address and window


def test_trusted_keys_have_their_own_limit_and_bad_keys_are_throttled_too(tight, staff):
    with TestClient(tight, client=("203.0.113.9", 4000)) as c:
        login = c.post("/api/v1/auth/login", json={"login": staff("admin")[0]["email"], "password": PASSWORD})
        headers = {"Authorization": "Bearer " + login.json()["tokens"]["access_token"]}
        key = c.post("/api/v1/admin/sources", headers=headers, json={"name": "srv", "kind": "server"}).json()
        assert [r.status_code for r in flood(c, key["write_key"], 9)] == [200] * 8 + [429]
        guesses = [c.post("/v1/track", headers=basic(f"mr_guess{i}"), json={"userId": "1", "event": "x"})
                   for i in range(5)]
        assert [r.status_code for r in guesses] == [401] * 3 + [429] * 2
        assert guesses[-1].headers["Retry-After"]


def test_the_defaults_are_generous():
    s = Settings()
    # A shopper's browser sends about one batch every 2 s; the simulator and the benchmark send hundreds a second
    # from one address with a trusted key.
    assert s.collector_rate_public >= 600 and s.collector_rate_trusted >= 60_000
