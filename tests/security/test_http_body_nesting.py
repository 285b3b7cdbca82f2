"""Issue 11.3 (the global part): 1,500 nested arrays posted to the payment callback raised an uncaught
RecursionError (a 500). Any body to any route answers a 4xx: a body nested deeper than the limit is refused
as 400 BODY_TOO_DEEP before a parser recurses into it."""

import gzip

import pytest

from tests.conftest import problem_code

NESTED = "[" * 1500 + "]" * 1500


def json_operations(client) -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every operation in the OpenAPI document that takes a JSON body."""
    spec = client.get("/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                filled = path
                for p in op.get("parameters", []):
                    if p["in"] == "path":
                        filled = filled.replace("{" + p["name"] + "}", "1")
                found.append((method.upper(), filled))
    return found


def test_the_nested_body_on_the_payment_callback_is_a_400(client):
    r = client.post("/api/v1/payments/sandbox/notify", content=NESTED, headers={"content-type": "application/json"})
    assert r.status_code == 400 and problem_code(r) == "BODY_TOO_DEEP"
    assert r.json()["limit"] == client.app.state.settings.max_json_depth


def test_every_json_route_of_the_openapi_document_refuses_the_nested_body(client, admin):
    _, headers = admin  # past authentication: the body reaches whatever the route does with it
    operations = json_operations(client)
    assert len(operations) > 40  # the whole API, not an empty document
    wrapped = '{"batch": [{"properties": {"x": ' + NESTED + "}}]}"  # deep inside a plausible body too
    for method, path in operations:
        for body in (NESTED, wrapped):
            r = client.request(method, path, content=body, headers={**headers, "content-type": "application/json"})
            assert r.status_code == 400 and problem_code(r) == "BODY_TOO_DEEP", (method, path, r.text[:200])


@pytest.mark.parametrize("depth", [300, 1000, 1500])
def test_the_collector_refuses_deep_events_plain_and_gzipped(client, depth):
    key = client.get("/api/v1/tracking/config").json()["write_key"]
    properties = "[" * depth + "]" * depth  # orjson parses up to 1,024 levels but writes at most 254
    event = '{"type": "track", "event": "Deep", "anonymousId": "a-1", "properties": {"x": ' + properties + "}}"
    for path, body in (("/v1/track", event), ("/v1/batch", '{"batch": [' + event + "]}")):
        r = client.post(path, content=body, auth=(key, ""), headers={"content-type": "application/json"})
        assert r.status_code == 400 and problem_code(r) == "BODY_TOO_DEEP", (path, r.text[:200])
    packed = gzip.compress(('{"batch": [' + event + "]}").encode())
    r = client.post("/v1/batch", content=packed, auth=(key, ""),
                    headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert r.status_code == 400 and problem_code(r) == "BODY_TOO_DEEP"


def test_brackets_inside_strings_and_ordinary_bodies_pass(client):
    # A password made of brackets is text, not nesting: the login answers as for any wrong password.
    bracketed = "[{" * 600 + '\\"' + "}]" * 600
    r = client.post("/api/v1/auth/login", content='{"login": "13800138000", "password": "' + bracketed + '"}',
                    headers={"content-type": "application/json"})
    assert r.status_code in (401, 422) and problem_code(r) != "BODY_TOO_DEEP"
    key = client.get("/api/v1/tracking/config").json()["write_key"]
    nested_ok = {"a": {"b": {"c": [[{"d": [1, 2, {"e": "[[[["}]}]]}}}
    r = client.post("/v1/track", json={"type": "track", "event": "Fine", "anonymousId": "a-2", "properties": nested_ok},
                    auth=(key, ""))
    assert r.status_code == 200, r.text
