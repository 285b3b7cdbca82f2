"""A customer can never read or change another customer's data: every customer-owned resource."""

from tests.accounts.test_profile import ADDRESS


def test_addresses_of_another_customer_are_invisible(client, register):
    _, alice, _ = register()
    _, bob, _ = register()
    mine = client.post("/api/v1/addresses", headers=alice, json=ADDRESS).json()
    assert client.get("/api/v1/addresses", headers=bob).json() == []
    for method, kwargs in [("get", {}), ("patch", {"json": {"detail": "hijack"}}), ("delete", {})]:
        r = getattr(client, method)(f"/api/v1/addresses/{mine['id']}", headers=bob, **kwargs)
        assert r.status_code == 404, (method, r.text)  # not 403: existence is not revealed
    assert client.get(f"/api/v1/addresses/{mine['id']}", headers=alice).json()["detail"] == ADDRESS["detail"]


def test_me_is_always_the_caller(client, register):
    alice_user, alice, _ = register(name="Alice")
    _, bob, _ = register(name="Bob")
    assert client.get("/api/v1/me", headers=bob).json()["name"] == "Bob"
    client.patch("/api/v1/me", headers=bob, json={"name": "Bob2", "id": alice_user["id"]})
    assert client.get("/api/v1/me", headers=alice).json()["name"] == "Alice"


def test_customers_cannot_reach_staff_routes(client, register):
    alice_user, alice, _ = register()
    assert client.get(f"/api/v1/admin/users/{alice_user['id']}", headers=alice).status_code == 403
    assert client.get("/api/v1/admin/users", headers=alice).status_code == 403
