"""Issue 11.7: /metrics was public. It is served only with the configured token (MEDREACH_METRICS_TOKEN, as a
bearer token) or, without one, to clients in the internal networks (loopback by default)."""

from fastapi.testclient import TestClient

from medreach.api import create_app
from medreach.catalog.search import SearchIndex
from tests.conftest import problem_code


def test_metrics_are_not_public(client):
    r = client.get("/metrics")  # the test client is no internal address
    assert r.status_code == 401 and problem_code(r) == "METRICS_TOKEN_REQUIRED"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "medreach_http_requests_total" not in r.text


def test_metrics_from_loopback_without_a_token(app):
    with TestClient(app, client=("127.0.0.1", 40000)) as c:
        r = c.get("/metrics")
    assert r.status_code == 200 and "medreach_http_requests_total" in r.text
    with TestClient(app, client=("10.1.2.3", 40000)) as c:
        assert c.get("/metrics").status_code == 401


def test_metrics_with_the_token_only(settings, db, cache):
    configured = settings.model_copy(update={"metrics_token": "scrape-me-" + "s" * 32})
    app = create_app(configured, db=db, cache=cache, search=SearchIndex(None))
    with TestClient(app, client=("127.0.0.1", 40000)) as c:  # with a token, even loopback must send it
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Basic " + "scrape-me-" + "s" * 32}).status_code == 401
        r = c.get("/metrics", headers={"Authorization": "Bearer scrape-me-" + "s" * 32})
    assert r.status_code == 200 and "medreach_http_request_duration_seconds_bucket" in r.text


def test_configured_internal_networks(settings, db, cache):
    configured = settings.model_copy(update={"metrics_networks": ["10.0.0.0/8"]})
    app = create_app(configured, db=db, cache=cache, search=SearchIndex(None))
    with TestClient(app, client=("10.1.2.3", 40000)) as c:
        assert c.get("/metrics").status_code == 200
    with TestClient(app, client=("127.0.0.1", 40000)) as c:
        assert c.get("/metrics").status_code == 401
