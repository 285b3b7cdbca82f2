"""Identity stitching, trait mapping, the user timeline, reversible merges, and the live view."""

from tests.conftest import problem_code
from tests.tracking.test_collector import basic, source  # noqa: F401 (fixture)


def send(client, key, *events):
    r = client.post("/v1/batch", headers=basic(key), json={"batch": list(events)})
    assert r.status_code == 200 and "rejected" not in r.json(), r.text


def test_anonymous_browsing_joins_the_account_after_identify(client, app, source, register, staff):
    user, _, _ = register()
    uid = str(user["id"])
    key = source["write_key"]
    send(client, key,
         {"type": "page", "anonymousId": "anon-1", "name": "首页", "timestamp": "2026-11-01T01:00:00Z"},
         {"type": "track", "anonymousId": "anon-1", "event": "Product Viewed", "timestamp": "2026-11-01T01:01:00Z"},
         {"type": "track", "anonymousId": "someone-else", "event": "Product Viewed"})
    send(client, key, {"type": "identify", "anonymousId": "anon-1", "userId": uid, "timestamp": "2026-11-01T01:02:00Z"})
    send(client, key, {"type": "track", "userId": uid, "event": "Order Completed", "timestamp": "2026-11-01T01:05:00Z"},
         {"type": "alias", "previousId": "old-device", "userId": uid, "timestamp": "2026-11-01T01:06:00Z"},
         {"type": "track", "anonymousId": "old-device", "event": "Products Searched", "timestamp": "2026-10-01T00:00:00Z"})
    # Traits from an identify made now (after the account last changed) map onto the profile.
    send(client, key, {"type": "identify", "anonymousId": "anon-1", "userId": uid,
                       "traits": {"name": "王五", "gender": "男", "birthday": "1980-02-03", "address": {"city": "成都"},
                                  "phone": "13712345678"}})
    _, analyst = staff("analyst")
    tl = client.get(f"/api/v1/admin/users/{uid}/timeline", headers=analyst).json()
    assert set(tl["ids"]) == {uid, "anon-1", "old-device"}
    names = [e["event"] or e["type"] for e in tl["events"]]
    assert names == ["identify", "alias", "Order Completed", "identify", "Product Viewed", "page", "Products Searched"]
    me = client.get(f"/api/v1/admin/users/{uid}", headers=staff("admin")[1]).json()
    assert (me["name"], me["gender"], me["birth_date"], me["city"]) == ("王五", "male", "1980-02-03", "成都")
    assert me["phone"] == user["phone"]  # contact data never comes from traits

    _, admin = staff("admin")
    link = next(x for x in tl["links"] if x["anonymous_id"] == "old-device")
    assert client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=admin).status_code == 200
    again = client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=admin)
    assert again.status_code == 409 and problem_code(again) == "CONFLICT"
    tl = client.get(f"/api/v1/admin/users/{uid}/timeline", headers=analyst).json()
    assert "old-device" not in tl["ids"] and "Products Searched" not in [e["event"] for e in tl["events"]]
    assert client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=analyst).status_code == 403


def test_a_late_identify_does_not_undo_a_later_profile_edit(client, source, register, staff):
    """The storefront batches its identify; one that arrives after the person edited their profile is older
    than the edit and leaves it alone."""
    user, headers, _ = register(name="旧名字")
    uid, key = str(user["id"]), source["write_key"]
    from datetime import UTC, datetime

    sent_before_the_edit = datetime.now(UTC).isoformat()
    assert client.patch("/api/v1/me", headers=headers, json={"name": "新名字"}).status_code == 200
    send(client, key, {"type": "identify", "anonymousId": "anon-late", "userId": uid,
                       "timestamp": sent_before_the_edit, "traits": {"name": "旧名字", "address": {"city": "拉萨"}}})
    me = client.get(f"/api/v1/admin/users/{uid}", headers=staff("admin")[1]).json()
    assert me["name"] == "新名字" and me["city"] != "拉萨"
    send(client, key, {"type": "identify", "anonymousId": "anon-late", "userId": uid, "traits": {"name": "第三个名字"}})
    assert client.get(f"/api/v1/admin/users/{uid}", headers=staff("admin")[1]).json()["name"] == "第三个名字"


def test_live_view_filters(client, app, source, staff):
    key = source["write_key"]
    send(client, key, {"type": "track", "userId": "u1", "event": "A"}, {"type": "track", "userId": "u2", "event": "B"},
         {"type": "track", "anonymousId": "x", "event": "A"})
    _, analyst = staff("analyst")
    live = client.get("/api/v1/admin/events/live", headers=analyst).json()
    assert [e["event"] for e in live] == ["A", "B", "A"]
    assert [e["userId"] for e in client.get("/api/v1/admin/events/live", headers=analyst,
                                            params={"event": "A", "user": "u1"}).json()] == ["u1"]
    assert client.get("/api/v1/admin/events/live", headers=analyst, params={"source_id": 999}).json() == []
