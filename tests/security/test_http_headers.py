"""Issue 11.7: no security headers. Every response carries a Content-Security-Policy (with frame-ancestors),
X-Content-Type-Options: nosniff and a Referrer-Policy; HSTS only when served over HTTPS."""

import pytest
from fastapi.testclient import TestClient

from medreach.api import create_app
from medreach.catalog.search import SearchIndex
from medreach.core.http import APP_POLICY


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/", "/console/login", "/api/v1/categories", "/healthz", "/api/v1/nothing",
                                  "/openapi.json"])
def test_every_response_carries_the_headers(client, path):
    r = client.get(path)
    policy = directives(r.headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and "'unsafe-inline'" not in policy["script-src"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS would be ignored or wrong


def test_the_gateway_cashier_and_errors_from_the_middleware_carry_them(client):
    r = client.get("/sandbox-gateway/cashier/nope")
    assert r.headers["content-security-policy"] == APP_POLICY
    r = client.post("/api/v1/auth/login", content="[" * 100 + "]" * 100, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["x-content-type-options"] == "nosniff"


def test_the_interactive_docs_get_a_policy_that_lets_them_load(client):
    r = client.get("/docs")
    policy = directives(r.headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" in policy["script-src"] and policy["frame-ancestors"] == "'none'"


def test_hsts_over_https_only(app, settings, db, cache):
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    # Behind a TLS-terminating proxy the request arrives as http; the public address says https.
    behind_proxy = settings.model_copy(update={"public_base_url": "https://shop.example.cn"})
    with TestClient(create_app(behind_proxy, db=db, cache=cache, search=SearchIndex(None))) as c:
        assert c.get("/healthz").headers["strict-transport-security"] == "max-age=31536000"
