"""API conventions: problem+json, request ids, body limits, health, readiness and metrics."""

import gzip
import json

from fastapi.testclient import TestClient

from medreach.api import create_app
from medreach.core.cache import RedisCache
from tests.conftest import problem_code


def test_request_id_on_every_response(client):
    r = client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    r = client.get("/api/v1/me", headers={"X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123" and r.json()["request_id"] == "trace-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


def test_problem_details_shape_and_language(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and problem_code(r) == "NOT_FOUND"
    body = r.json()
    assert {"type", "title", "status", "detail", "code", "instance"} <= body.keys()
    assert body["detail"] == "资源不存在"
    r = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.json()["detail"] == "Not found"
    r = client.delete("/api/v1/me")
    assert r.status_code == 405 and problem_code(r) == "METHOD_NOT_ALLOWED"


def test_malformed_and_wrongly_typed_bodies(client):
    r = client.post("/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and problem_code(r) == "MALFORMED_BODY"
    r = client.post("/api/v1/auth/login", json={"login": 5, "password": ["x"]})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"login", "password"}
    r = client.post("/api/v1/auth/login", json=[1, 2])
    assert r.status_code == 422


def test_body_size_limit(client, app):
    limit = app.state.settings.max_body_bytes
    big = json.dumps({"login": "x" * (limit + 10), "password": "y"})
    r = client.post("/api/v1/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and problem_code(r) == "BODY_TOO_LARGE"

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(limit // 1000 + 5):
            yield b"x" * 1000

    r = client.post("/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "cache": "ok"}


def test_readiness_fails_when_redis_is_down(settings, db):
    app = create_app(settings, db=db, cache=RedisCache("redis://127.0.0.1:1/0"))
    with TestClient(app) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["cache"].startswith("error")


def test_metrics_count_requests_by_route(client, app):
    client.get("/api/v1/addresses/1")
    client.get("/api/v1/addresses/2")
    with TestClient(app, client=("127.0.0.1", 40000)) as scraper:  # an internal address (tests/security has the rule)
        text = scraper.get("/metrics").text
    assert 'medreach_http_requests_total{method="GET",route="/api/v1/addresses/{address_id}",status="401"} 2.0' in text
    assert "medreach_http_request_duration_seconds_bucket" in text


def test_openapi_and_spa_fallback(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"] and "/{path}" not in spec["paths"]
    r = client.get("/console/staff")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert client.get("/api/v1/unknown").headers["content-type"].startswith("application/problem+json")


def test_gzip_is_not_mistaken_for_json(client):
    r = client.post("/api/v1/auth/login", content=gzip.compress(b'{"login":"a","password":"b"}'),
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
