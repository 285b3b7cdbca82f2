"""Identity stitching, the user timeline, reversible merges, finding a person, and the live view (a trusted server
source here; client-side keys and their identity tokens: tests/security/test_tracking_identity.py)."""

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
    # Traits are event data: they change no account field.
    before = client.get(f"/api/v1/admin/users/{uid}", headers=staff("admin")[1]).json()
    send(client, key, {"type": "identify", "anonymousId": "anon-1", "userId": uid,
                       "traits": {"name": "王五", "gender": "男", "birthday": "1980-02-03", "address": {"city": "成都"},
                                  "phone": "13712345678"}})
    _, analyst = staff("analyst")
    tl = client.get(f"/api/v1/admin/users/{uid}/timeline", headers=analyst).json()
    assert set(tl["ids"]) == {uid, "anon-1", "old-device"}
    names = [e["event"] or e["type"] for e in tl["events"]]
    assert names == ["identify", "alias", "Order Completed", "identify", "Product Viewed", "page", "Products Searched"]
    assert client.get(f"/api/v1/admin/users/{uid}", headers=staff("admin")[1]).json() == before

    _, admin = staff("admin")
    link = next(x for x in tl["links"] if x["anonymous_id"] == "old-device")
    assert client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=admin).status_code == 200
    again = client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=admin)
    assert again.status_code == 409 and problem_code(again) == "CONFLICT"
    tl = client.get(f"/api/v1/admin/users/{uid}/timeline", headers=analyst).json()
    assert "old-device" not in tl["ids"] and "Products Searched" not in [e["event"] for e in tl["events"]]
    assert client.post(f"/api/v1/admin/identity-links/{link['id']}/undo", headers=analyst).status_code == 403


def test_staff_find_a_persons_timeline_by_phone_email_or_name(client, register, staff, db):
    from medreach.accounts.models import User

    user, _, _ = register(name="赵时间线")
    other, _, _ = register(name="钱某")
    with db.session() as s:
        s.get(User, user["id"]).email = "zhao.timeline@example.com"
        s.commit()
    _, analyst = staff("analyst")  # profiles:read, no users:read
    uid = str(user["id"])
    for q in (user["phone"], "+86 " + user["phone"], "zhao.timeline@", "赵时间", uid):
        r = client.get("/api/v1/admin/events/people", headers=analyst, params={"q": q})
        assert r.status_code == 200, r.text
        assert [p["user_id"] for p in r.json()["items"]] == [uid], q
    [person] = r.json()["items"]
    assert person["name"] == "赵时间线" and "****" in person["phone"] and person["email"].startswith("z***@")
    assert client.get("/api/v1/admin/events/people", headers=analyst, params={"q": "没有这个人"}).json()["total"] == 0
    _, service_agent = staff("service")  # users:read but not profiles:read
    assert client.get("/api/v1/admin/events/people", headers=service_agent, params={"q": "赵"}).status_code == 403
    from sqlalchemy import select

    from medreach.ops.models import AuditEntry

    with db.session() as s:
        searches = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "users.list")))
    assert len(searches) == 6 and all(a.detail["is_staff"] is False for a in searches)  # every search audited
    assert str(other["id"]) not in {p["user_id"] for p in r.json()["items"]}


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
