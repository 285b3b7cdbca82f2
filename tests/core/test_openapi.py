"""The OpenAPI document declares each operation's problem answers (core.openapi.declare_problems), who may call
it, and a 405 names every method the path serves."""

from tests.conftest import problem_code

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def operation(spec, method, path):
    return spec["paths"][path][method]


def problems(op) -> dict[str, dict]:
    return {s: r for s, r in op["responses"].items() if int(s) >= 400}


def test_each_operation_declares_the_problems_its_shape_gives(client):
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["Problem"]["required"][:3] == ["type", "title", "status"]
    for method, path, statuses, access in [
        ("get", "/api/v1/orders/{order_id}", {"401", "404", "422"}, "authenticated"),
        ("post", "/api/v1/auth/register", {"400", "413", "422"}, "public"),
        ("get", "/api/v1/admin/audit", {"401", "403", "422"}, "audit:read"),
        ("get", "/api/v1/products", {"401", "422"}, "public"),  # an optional token: a bad one is refused
        ("get", "/metrics", {"401"}, "public"),  # declared by the route itself
    ]:
        op = operation(spec, method, path)
        assert statuses <= set(problems(op)), (method, path, sorted(op["responses"]))
        assert op["x-access"] == access
        for response in problems(op).values():
            assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's own 422 shape is never given
    assert {} in operation(spec, "get", "/api/v1/products")["security"]  # callable without a token
    assert {} not in operation(spec, "get", "/api/v1/orders/{order_id}")["security"]
    assert operation(spec, "get", "/api/v1/orders/{order_id}")["responses"]["401"]["headers"]["WWW-Authenticate"]


def test_the_answers_match_the_declarations(client, customer):
    _, headers, _ = customer
    r = client.get("/api/v1/orders/999999", headers=headers)
    assert r.status_code == 404 and problem_code(r) == "NOT_FOUND"
    r = client.get("/api/v1/orders/1")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.get("/api/v1/admin/audit", headers=headers)
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"


def test_a_405_names_every_method_of_the_path(client):
    r = client.put("/api/v1/addresses")  # GET and POST are two routes
    assert r.status_code == 405 and problem_code(r) == "METHOD_NOT_ALLOWED"
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}
    r = client.get("/v1/track")  # the single-page app's catch-all leaves API paths alone
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and problem_code(r) == "NOT_FOUND"
    assert client.get("/console/pipeline").status_code == 200  # the app's own paths still reach it
