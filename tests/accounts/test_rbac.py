"""Roles and permissions: the declared access of every route, the role x route matrix, escalation."""

import pytest
from fastapi.routing import APIRoute

from medreach.accounts.permissions import BUILTIN_ROLES, PERMISSIONS, expand
from tests.conftest import PASSWORD, problem_code

# Everything a guest may call. Anything else must declare a permission or need a logged-in caller.
PUBLIC = {
    ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"), ("GET", "/api/v1/legal/documents"), ("GET", "/api/v1/legal/documents/{name}"),
    ("GET", "/api/v1/legal/purposes"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("GET", "/{path:path}"), ("GET", "/api/v1/categories"), ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/suggest"), ("GET", "/api/v1/products/{product_id}"),
    ("GET", "/api/v1/products/{product_id}/image.svg"), ("GET", "/api/v1/products/{product_id}/reviews"),
    ("GET", "/api/v1/cart"), ("POST", "/api/v1/cart/items"), ("PATCH", "/api/v1/cart/items/{product_id}"),
    ("DELETE", "/api/v1/cart/items/{product_id}"),
    ("GET", "/api/v1/coupons/claimable"), ("GET", "/api/v1/flash-sales"), ("GET", "/api/v1/tracking/config"),
    ("GET", "/api/v1/shipping"),  # the fee and the free-shipping threshold in force
    ("POST", "/api/v1/payments/sandbox/notify"),  # the gateway's call: it proves itself by signature
    *(("POST", f"/v1/{kind}") for kind in ("identify", "track", "page", "screen", "group", "alias", "batch",
                                          "import")),  # the collector: a source's write key
}


def access_of(route: APIRoute) -> str:
    """The access a route declares: a permission, 'authenticated', or 'public' (no auth dependency)."""
    found = set()

    def walk(dependant):
        for dep in dependant.dependencies:
            if hasattr(dep.call, "access"):
                found.add(dep.call.access)
            walk(dep)

    walk(route.dependant)
    if len(found) > 1:  # require() builds on current_user: the permission is the declaration
        found.discard("authenticated")
    assert len(found) <= 1, (route.path, found)
    return found.pop() if found else "public"


def _flatten(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from _flatten(route.original_router.routes)


def api_routes(app):
    routes = list(_flatten(app.routes))
    assert len(routes) >= 20
    for route in routes:
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route


def test_every_route_declares_its_access(app):
    for method, route in api_routes(app):
        access = access_of(route)
        if (method, route.path) in PUBLIC:
            assert access == "public", route.path
        else:
            assert access == "authenticated" or access in PERMISSIONS, (method, route.path, access)


def test_builtin_roles_use_known_permissions():
    for name, (_, perms) in BUILTIN_ROLES.items():
        assert perms <= set(PERMISSIONS), name
    assert expand(BUILTIN_ROLES["admin"][1]) == set(PERMISSIONS)
    assert BUILTIN_ROLES["customer"][1] == frozenset()


def _concrete(path: str) -> str:
    for param in ("{user_id}", "{address_id}", "{product_id}", "{order_id}", "{rx_id}", "{review_id}",
                  "{promo_id}", "{coupon_id}", "{source_id}"):
        path = path.replace(param, "999999")
    return path.replace("{name}", "no-such-role")


def test_role_route_matrix(client, register, staff):
    """Each built-in role against each protected route: 403 exactly when the role lacks the permission."""
    callers = {"customer": register()[1]}
    for role in BUILTIN_ROLES:
        if role != "customer":
            callers[role] = staff(role)[1]
    checked = 0
    for method, route in api_routes(client.app):
        access = access_of(route)
        if access == "public":
            continue
        url = _concrete(route.path)
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, (method, url)
        for role, headers in callers.items():
            r = client.request(method, url, json={}, headers=headers)
            allowed = access == "authenticated" or access in expand(set(BUILTIN_ROLES[role][1]))
            if allowed:
                assert r.status_code not in (401, 403), (role, method, url, r.text)
            else:
                assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED", (role, method, url)
                assert r.json()["permission"] == access
            checked += 1
    assert checked >= 6 * 40


def test_admin_creates_staff_who_gets_only_their_role(client, admin):
    _, admin_headers = admin
    r = client.post("/api/v1/admin/users", headers=admin_headers, json={
        "email": "new.marketer@medreach.cn", "password": PASSWORD, "name": "新运营", "roles": ["marketer"]})
    assert r.status_code == 201, r.text
    assert r.json()["is_staff"] is True and r.json()["roles"] == ["marketer"]
    login = client.post("/api/v1/auth/login", json={"login": "new.marketer@medreach.cn", "password": PASSWORD})
    perms = set(login.json()["user"]["permissions"])
    assert perms == set(BUILTIN_ROLES["marketer"][1])
    assert "users:manage" not in perms and "audit:read" not in perms


def test_staff_creation_validation(client, admin):
    _, h = admin
    base = {"email": "x@medreach.cn", "password": PASSWORD, "name": "x"}
    r = client.post("/api/v1/admin/users", headers=h, json={**base, "roles": ["wizard"]})
    assert r.status_code == 422 and problem_code(r) == "ROLE_UNKNOWN"
    r = client.post("/api/v1/admin/users", headers=h, json={**base, "roles": ["customer"]})
    assert r.status_code == 422 and problem_code(r) == "ROLE_NOT_STAFF"
    r = client.post("/api/v1/admin/users", headers=h, json={**base, "roles": []})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "roles"


def test_custom_role_lifecycle(client, admin, staff):
    _, h = admin
    r = client.post("/api/v1/admin/roles", headers=h, json={
        "name": "auditor", "description": "只读审计", "permissions": ["audit:read", "users:read"]})
    assert r.status_code == 201 and r.json()["permissions"] == ["audit:read", "users:read"]
    r = client.post("/api/v1/admin/roles", headers=h, json={"name": "bad", "permissions": ["fly:high"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "permissions"
    r = client.patch("/api/v1/admin/roles/auditor", headers=h, json={"permissions": ["audit:read"]})
    assert r.status_code == 200 and r.json()["permissions"] == ["audit:read"]
    _, auditor = staff("auditor")
    assert client.get("/api/v1/admin/audit", headers=auditor).status_code == 200
    assert client.get("/api/v1/admin/users", headers=auditor).status_code == 403
    r = client.delete("/api/v1/admin/roles/auditor", headers=h)
    assert r.status_code == 409 and problem_code(r) == "ROLE_IN_USE"
    r = client.delete("/api/v1/admin/roles/marketer", headers=h)
    assert r.status_code == 409 and problem_code(r) == "ROLE_BUILTIN"
    names = [x["name"] for x in client.get("/api/v1/admin/roles", headers=h).json()]
    assert set(BUILTIN_ROLES) | {"auditor"} == set(names)


def test_no_escalation_through_roles(client, admin, staff, db):
    """A user manager without system:admin cannot grant permissions they do not hold."""
    _, h = admin
    client.post("/api/v1/admin/roles", headers=h, json={"name": "hr", "permissions": ["users:manage", "users:read"]})
    _, hr = staff("hr")
    r = client.post("/api/v1/admin/users", headers=hr, json={
        "email": "evil@medreach.cn", "password": PASSWORD, "name": "evil", "roles": ["admin"]})
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    r = client.post("/api/v1/admin/roles", headers=hr, json={"name": "mega", "permissions": ["system:admin"]})
    assert r.status_code == 403
    r = client.post("/api/v1/admin/users", headers=hr, json={
        "email": "ok@medreach.cn", "password": PASSWORD, "name": "ok", "roles": ["hr"]})
    assert r.status_code == 201


def test_last_admin_cannot_be_removed(client, admin):
    me, h = admin
    for body in ({"is_active": False}, {"roles": ["marketer"]}):
        r = client.patch(f"/api/v1/admin/users/{me['id']}", headers=h, json=body)
        assert r.status_code == 409 and problem_code(r) == "LAST_ADMIN"
    assert client.get("/api/v1/me", headers=h).json()["roles"] == ["admin"]


@pytest.mark.parametrize("viewer", ["marketer", "service", "admin"])
def test_staff_see_personal_data_masked_whoever_they_are(client, register, staff, viewer):
    customer, headers, _ = register("13812345678")
    client.patch("/api/v1/me", headers=headers, json={"real_name": "王小明", "id_number": "11010519491231002X"})
    _, h = staff(viewer)
    detail = client.get(f"/api/v1/admin/users/{customer['id']}", headers=h).json()
    listed = client.get("/api/v1/admin/users", headers=h, params={"is_staff": False}).json()["items"][0]
    assert detail["phone"] == listed["phone"] == "138****5678"
    assert detail["real_name"] == "王*明" and detail["id_number"] == "110***********002X"
    assert detail["masked"] is True  # the full values only through the audited reveal (tests/security)


def test_user_search_filters(client, register, staff):
    register("13811112222", name="查找目标")
    register(name="其他人")
    _, h = staff("service")
    by_phone = client.get("/api/v1/admin/users", headers=h, params={"q": "13811112222"}).json()
    assert [u["name"] for u in by_phone["items"]] == ["查找目标"]
    by_name = client.get("/api/v1/admin/users", headers=h, params={"q": "目标"}).json()
    assert by_name["total"] == 1
    customers = client.get("/api/v1/admin/users", headers=h, params={"role": "customer", "limit": 1}).json()
    assert customers["total"] == 2 and len(customers["items"]) == 1 and customers["limit"] == 1
