"""Issue 11.1: with the storefront's public write key anyone could claim any customer's identity.

The attack, exactly as the penetration test did it: read the public key from /api/v1/tracking/config, browse
anonymously, then POST /v1/identify {"userId": <victim>, "anonymousId": <attacker's>, "traits": {...}}. It
overwrote the victim's name, gender, birth date, city and occupation and stitched the attacker's browsing
into the victim's timeline. Now a public key's userId counts only with the server's signed identity token for
that user; anything else is stored anonymously and links nothing; traits never change account fields.
"""

import base64

import pytest

from medreach.tracking.service import KeyRing
from tests.conftest import problem_code

ATTACKER_ANON = "attacker-anon-7f3c"
FORGED_TRAITS = {"name": "黑客改名", "gender": "female", "birthday": "1999-09-09", "city": "漠河", "title": "伪造职业",
                 "address": {"city": "漠河"}}


def basic(key: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def public_key(client, app) -> str:
    app.state.keyring = KeyRing(ttl_seconds=0)
    config = client.get("/api/v1/tracking/config").json()
    assert config["enabled"]
    return config["write_key"]


@pytest.fixture
def victim(register, client, staff):
    user, headers, _ = register(name="李真名")
    profile = {"gender": "male", "birth_date": "1970-01-02", "city": "杭州", "occupation": "教师"}
    assert client.patch("/api/v1/me", headers=headers, json=profile).status_code == 200
    return user, headers


def profile_of(client, staff, user_id) -> dict:
    me = client.get(f"/api/v1/admin/users/{user_id}", headers=staff("admin")[1]).json()
    return {k: me[k] for k in ("name", "gender", "birth_date", "city", "occupation")}


def timeline(client, staff, user_id) -> dict:
    r = client.get(f"/api/v1/admin/users/{user_id}/timeline", headers=staff("analyst")[1])
    assert r.status_code == 200, r.text
    return r.json()


def logged(app) -> list[dict]:
    return list(app.state.event_log.read())


def identity_token(client, headers) -> str:
    r = client.get("/api/v1/tracking/identity", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_the_spoofed_identify_changes_nothing_and_is_stored_anonymously(client, app, staff, public_key, victim):
    user, _ = victim
    uid = str(user["id"])
    before = profile_of(client, staff, uid)
    # The attacker browses anonymously, then claims the victim's id with forged traits.
    r = client.post("/v1/track", headers=basic(public_key),
                    json={"anonymousId": ATTACKER_ANON, "event": "Product Viewed", "messageId": "atk-view"})
    assert r.status_code == 200
    r = client.post("/v1/identify", headers=basic(public_key),
                    json={"userId": uid, "anonymousId": ATTACKER_ANON, "traits": FORGED_TRAITS, "messageId": "atk-id"})
    assert r.status_code == 200, r.text

    assert profile_of(client, staff, uid) == before  # no profile change
    tl = timeline(client, staff, uid)
    assert tl["ids"] == [uid] and tl["links"] == []  # no link
    assert not [e for e in tl["events"] if e["anonymous_id"] == ATTACKER_ANON]  # none of the attacker's events
    [stored] = [e for e in logged(app) if e["messageId"] == "atk-id"]
    assert "userId" not in stored and stored["anonymousId"] == ATTACKER_ANON  # stored anonymously
    assert stored["context"]["claimedUserId"] == uid  # the claim is kept as data, not as identity


def test_a_claim_needs_a_token_for_that_very_user(client, app, staff, register, public_key, victim):
    user, _ = victim
    uid = str(user["id"])
    _, attacker_headers, _ = register(name="攻击者")
    own_token = identity_token(client, attacker_headers)
    claims = [
        {"messageId": "own-token", "context": {"identityToken": own_token}},  # a real token, for someone else
        {"messageId": "forged", "context": {"identityToken": f"v1.{uid}.9999999999.AAAA"}},
        {"messageId": "garbage", "context": {"identityToken": "x" * 40}},
        {"messageId": "wrong-type", "context": {"identityToken": 12}},
    ]
    batch = [{"type": "identify", "userId": uid, "anonymousId": ATTACKER_ANON, "traits": FORGED_TRAITS, **c}
             for c in claims]
    assert client.post("/v1/batch", headers=basic(public_key), json={"batch": batch}).status_code == 200
    tl = timeline(client, staff, uid)
    assert tl["links"] == [] and tl["ids"] == [uid]
    stored = {e["messageId"]: e for e in logged(app)}
    assert all("userId" not in stored[c["messageId"]] for c in claims)
    assert all("identityToken" not in stored[c["messageId"]]["context"] for c in claims)  # tokens are not logged


def test_a_claim_without_an_anonymous_id_is_refused(client, app, public_key, victim):
    uid = str(victim[0]["id"])
    r = client.post("/v1/track", headers=basic(public_key), json={"userId": uid, "event": "Order Completed"})
    assert r.status_code == 400 and problem_code(r) == "EVENT_REJECTED"
    assert r.json()["reason"] == "unverified_user_id" and r.json()["errors"][0]["field"] == "userId"
    assert logged(app) == []


def test_the_victims_own_id_as_an_anonymous_id_does_not_reach_their_timeline(client, app, staff, register,
                                                                             public_key, victim):
    """Events sent under anonymousId = the victim's account id, and a verified identify or an alias that names it,
    must not join the victim's timeline or theirs to the attacker's."""
    uid = str(victim[0]["id"])
    attacker, attacker_headers, _ = register(name="攻击者")
    aid = str(attacker["id"])
    token = identity_token(client, attacker_headers)
    batch = [
        {"type": "track", "anonymousId": uid, "event": "Forged Purchase", "messageId": "as-anon"},
        {"type": "identify", "userId": aid, "anonymousId": uid, "context": {"identityToken": token},
         "messageId": "link-victim"},
        {"type": "alias", "userId": aid, "previousId": uid, "context": {"identityToken": token},
         "messageId": "alias-victim"},
    ]
    assert client.post("/v1/batch", headers=basic(public_key), json={"batch": batch}).status_code == 200
    assert [e["event"] for e in timeline(client, staff, uid)["events"]] == []
    assert timeline(client, staff, aid)["ids"] == [aid]


def test_traits_never_change_account_fields_even_from_a_trusted_source(client, app, staff, admin, victim):
    app.state.keyring = KeyRing(ttl_seconds=0)
    key = client.post("/api/v1/admin/sources", headers=admin[1], json={"name": "backend", "kind": "server"}).json()
    uid = str(victim[0]["id"])
    before = profile_of(client, staff, uid)
    r = client.post("/v1/identify", headers=basic(key["write_key"]),
                    json={"userId": uid, "anonymousId": "server-side-anon", "traits": FORGED_TRAITS})
    assert r.status_code == 200
    assert profile_of(client, staff, uid) == before
    assert timeline(client, staff, uid)["ids"] == sorted([uid, "server-side-anon"])  # trusted: it links


def test_the_signed_in_storefront_still_stitches(client, app, staff, public_key, victim):
    user, headers = victim
    uid = str(user["id"])
    r = client.get("/api/v1/tracking/identity", headers=headers)
    assert r.status_code == 200 and r.json()["user_id"] == uid and r.json()["expires_at"]
    token = r.json()["token"]
    assert client.get("/api/v1/tracking/identity").status_code == 401
    with_token = {"identityToken": token, "library": {"name": "medreach-web"}}
    batch = [
        {"type": "page", "anonymousId": "real-anon", "name": "home", "timestamp": "2026-11-01T01:00:00Z"},
        {"type": "identify", "userId": uid, "anonymousId": "real-anon", "context": with_token,
         "timestamp": "2026-11-01T01:01:00Z", "traits": FORGED_TRAITS},
        {"type": "track", "userId": uid, "anonymousId": "real-anon", "event": "Product Viewed",
         "context": with_token, "timestamp": "2026-11-01T01:02:00Z"},
    ]
    before = profile_of(client, staff, uid)
    assert client.post("/v1/batch", headers=basic(public_key), json={"batch": batch}).status_code == 200
    tl = timeline(client, staff, uid)
    assert set(tl["ids"]) == {uid, "real-anon"} and [x["via"] for x in tl["links"]] == ["identify"]
    assert [(e["event"] or e["type"], e["user_id"]) for e in tl["events"]] == [
        ("Product Viewed", uid), ("identify", uid), ("page", None)]
    assert profile_of(client, staff, uid) == before  # traits still change nothing


def test_an_expired_token_proves_nothing(client, app, staff, public_key, victim):
    from medreach.tracking.identity import IdentityTokens

    uid = str(victim[0]["id"])
    expired, _ = IdentityTokens(app.state.settings.signing_key, ttl_seconds=-1).issue(uid)
    r = client.post("/v1/identify", headers=basic(public_key),
                    json={"userId": uid, "anonymousId": ATTACKER_ANON, "context": {"identityToken": expired}})
    assert r.status_code == 200
    assert timeline(client, staff, uid)["links"] == []
