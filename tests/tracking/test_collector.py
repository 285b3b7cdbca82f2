"""The Segment-compatible collector: auth, validation, limits, clock skew, de-duplication, gzip."""

import base64
import gzip
import uuid

import orjson
import pytest

from medreach.tracking.service import KeyRing
from tests.conftest import problem_code


@pytest.fixture
def source(client, admin, app):
    """A server source: a secret key whose userIds are believed (client-side keys: tests/security)."""
    app.state.keyring = KeyRing(ttl_seconds=0)  # revocation visible at once in tests
    _, headers = admin
    r = client.post("/api/v1/admin/sources", headers=headers, json={"name": "backend", "kind": "server"})
    assert r.status_code == 201, r.text
    return r.json()


def basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def logged(app) -> list[dict]:
    return list(app.state.event_log.read())


def test_track_with_basic_auth_or_write_key_in_the_body(client, app, source):
    r = client.post("/v1/track", headers=basic(source["write_key"]),
                    json={"userId": "42", "event": "Product Viewed", "properties": {"sku": "MR1"}, "messageId": "m-1"})
    assert r.status_code == 200 and r.json() == {"success": True}
    r = client.post("/v1/page", json={"writeKey": source["write_key"], "anonymousId": "a-1", "name": "Home",
                                      "messageId": "m-2"})
    assert r.status_code == 200
    records = logged(app)
    assert [(e["type"], e["messageId"], e["sourceId"]) for e in records] == [
        ("track", "m-1", source["id"]), ("page", "m-2", source["id"])]
    assert records[0]["receivedAt"] and records[0]["properties"] == {"sku": "MR1"}


def test_bad_write_keys(client, admin, source):
    body = {"userId": "1", "event": "x"}
    assert problem_code(client.post("/v1/track", json=body)) == "INVALID_WRITE_KEY"
    assert client.post("/v1/track", headers=basic("mr_wrong"), json=body).status_code == 401
    _, headers = admin
    client.post(f"/api/v1/admin/sources/{source['id']}/revoke", headers=headers)
    assert client.post("/v1/track", headers=basic(source["write_key"]), json=body).status_code == 401
    rotated = client.post(f"/api/v1/admin/sources/{source['id']}/rotate", headers=headers).json()
    assert rotated["write_key"] != source["write_key"] and rotated["status"] == "active"
    assert client.post("/v1/track", headers=basic(rotated["write_key"]), json=body).status_code == 200


@pytest.mark.parametrize("body,field,reason", [
    ({"event": "x"}, "userId", "missing_user_id_and_anonymous_id"),
    ({"userId": "1"}, "event", "missing_event"),
    ({"userId": "1", "event": 5}, "event", "must_be_a_string"),
    ({"userId": ["1"], "event": "x"}, "userId", "must_be_a_string"),
    ({"userId": "1", "event": "x", "properties": [1]}, "properties", "must_be_an_object"),
    ({"userId": "1", "event": "x", "timestamp": "yesterday"}, "timestamp", "bad_timestamp"),
])
def test_bad_calls_are_refused_with_the_field(client, app, source, body, field, reason):
    r = client.post("/v1/track", headers=basic(source["write_key"]), json=body)
    assert r.status_code == 400 and problem_code(r) == "EVENT_REJECTED" and r.json()["reason"] == reason
    assert r.json()["errors"][0]["field"] == field
    assert logged(app) == []


def test_malformed_and_oversize(client, app, source):
    h = {**basic(source["write_key"]), "content-type": "application/json"}
    assert problem_code(client.post("/v1/track", headers=h, content=b"{nope")) == "MALFORMED_BODY"
    big = {"userId": "1", "event": "x", "properties": {"blob": "x" * 33_000}}
    r = client.post("/v1/track", headers=h, content=orjson.dumps(big))
    assert r.status_code == 413 and r.json()["reason"] == "event_too_large"
    batch = {"batch": [{"type": "track", "userId": "1", "event": "x", "properties": {"b": "y" * 20_000}}] * 30}
    r = client.post("/v1/batch", headers=h, content=orjson.dumps(batch))
    assert r.status_code == 413 and problem_code(r) == "BATCH_TOO_LARGE"
    assert logged(app) == []


def test_batch_keeps_valid_events_and_reports_the_rest(client, app, db, source, admin):
    batch = {"batch": [{"type": "track", "userId": "1", "event": "ok", "messageId": "b-1"},
                       {"type": "track", "userId": "1"},
                       {"type": "identify", "anonymousId": "anon", "traits": {"city": "深圳"}, "messageId": "b-3"},
                       {"type": "launch", "userId": "1"}]}
    r = client.post("/v1/batch", headers=basic(source["write_key"]), json=batch)
    assert r.status_code == 200
    assert r.json()["rejected"] == [{"index": 1, "field": "event", "reason": "missing_event"},
                                    {"index": 3, "field": "type", "reason": "unknown_type"}]
    assert [e["messageId"] for e in logged(app)] == ["b-1", "b-3"]
    _, headers = admin
    stats = client.get(f"/api/v1/admin/sources/{source['id']}/stats", headers=headers).json()
    assert stats["days"][-1] == {"day": stats["days"][-1]["day"], "received": 2, "rejected": 2}
    assert stats["rejected_by_reason"] == {"missing_event": 1, "unknown_type": 1}


def test_duplicates_by_message_id_are_dropped(client, app, source):
    event = {"userId": "7", "event": "Order Completed", "messageId": "dup-1"}
    for _ in range(3):
        assert client.post("/v1/track", headers=basic(source["write_key"]), json=event).status_code == 200
    batch = {"batch": [{**event, "type": "track"}, {**event, "type": "track", "messageId": "dup-2"},
                       {**event, "type": "track", "messageId": "dup-2"}]}
    client.post("/v1/batch", headers=basic(source["write_key"]), json=batch)
    assert [e["messageId"] for e in logged(app)] == ["dup-1", "dup-2"]


def test_clock_skew_is_corrected(client, app, source):
    # The client's clock runs 1 hour fast: it sent at 11:00 (its time) an event it recorded at 10:59:50.
    event = {"userId": "1", "event": "x", "originalTimestamp": "2026-01-01T10:59:50Z", "sentAt": "2026-01-01T11:00:00Z"}
    client.post("/v1/track", headers=basic(source["write_key"]), json=event)
    [e] = logged(app)
    from datetime import datetime, timedelta

    import duckdb

    from medreach.tracking.collector import event_time
    from medreach.tracking.lake import select_events

    received = datetime.fromisoformat(e["receivedAt"].replace("Z", "+00:00"))
    ts = datetime.fromisoformat(event_time(e).replace("Z", "+00:00"))
    assert abs((received - ts) - timedelta(seconds=10)) < timedelta(milliseconds=2)
    client.post("/v1/track", headers=basic(source["write_key"]),
                json={**event, "timestamp": "2026-01-01T08:00:00Z", "messageId": "given"})
    batch = {"sentAt": "2026-01-01T11:00:00Z", "batch": [{**event, "type": "track", "sentAt": None, "messageId": "b"},
                                                         {"type": "track", "userId": "1", "event": "y", "messageId": "c"}]}
    client.post("/v1/batch", headers=basic(source["write_key"]), json=batch)
    records = {r["messageId"]: r for r in logged(app)}
    assert event_time(records["given"]) == "2026-01-01T08:00:00.000Z"  # a given timestamp is kept
    assert event_time(records["c"]) == records["c"]["receivedAt"]  # nothing to go by but arrival
    # The lake's column applies the same rule, record by record.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    segments = [str(p) for p in app.state.event_log.segments()]
    lake = dict(con.execute(f"SELECT message_id, \"timestamp\" FROM ({select_events(segments)})").fetchall())
    assert len(lake) == 4
    for mid, record in records.items():
        assert lake[mid].isoformat(timespec="milliseconds").replace("+00:00", "Z") == event_time(record), mid


def test_gzip_bodies(client, app, source):
    body = orjson.dumps({"batch": [{"type": "track", "anonymousId": "z", "event": "Gz", "messageId": str(uuid.uuid4())}]})
    r = client.post("/v1/batch", content=gzip.compress(body), headers={
        **basic(source["write_key"]), "content-encoding": "gzip", "content-type": "application/json"})
    assert r.status_code == 200 and logged(app)[0]["event"] == "Gz"
    r = client.post("/v1/batch", content=b"not gzip", headers={
        **basic(source["write_key"]), "content-encoding": "gzip", "content-type": "application/json"})
    assert r.status_code == 400


def test_sources_need_permissions(client, staff, source):
    _, marketer = staff("marketer")
    assert client.get("/api/v1/admin/sources", headers=marketer).status_code == 200  # analytics:read
    r = client.post("/api/v1/admin/sources", headers=marketer, json={"name": "x", "kind": "web"})
    assert r.status_code == 403 and r.json()["permission"] == "sources:manage"
    _, customer = staff()
    assert client.get("/api/v1/admin/sources", headers=customer).status_code == 403


def test_storefront_config_hands_out_the_web_sources_key(client, app, admin):
    app.state.keyring = KeyRing(ttl_seconds=0)
    config = client.get("/api/v1/tracking/config").json()
    assert config["enabled"] and config["write_key"].startswith("mr_")
    assert client.get("/api/v1/tracking/config").json() == config  # one built-in source
    r = client.post("/v1/page", headers=basic(config["write_key"]), json={"anonymousId": "a", "name": "Home"})
    assert r.status_code == 200
    _, headers = admin
    [web] = [s for s in client.get("/api/v1/admin/sources", headers=headers).json()["items"] if s["kind"] == "web"]
    assert (web["trusted"], web["internal"]) == (False, False)
    rotated = client.post(f"/api/v1/admin/sources/{web['id']}/rotate", headers=headers).json()
    assert client.get("/api/v1/tracking/config").json()["write_key"] == rotated["write_key"]
