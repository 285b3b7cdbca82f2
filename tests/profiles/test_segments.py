"""Segments over a hand-made store on every database: the issue's conditions (bought a category at least N times in
the last D days, a refill due within 7 days, did not open the app in 60 days), static snapshots and dynamic
segments that follow the store, the membership history, minors left out of marketing, the impact assessment a
health tree needs, leaving sensitive segments on a withdrawn consent, overlap, the masked export and who may do
what."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import timedelta

import pytest

from medreach.ops.models import AuditEntry
from medreach.profiles import build as profile_build
from medreach.profiles import segments, service, store
from medreach.profiles import tasks as profile_tasks
from medreach.profiles.models import Segment, SegmentChange
from medreach.schedule import schedules
from tests.conftest import problem_code
from tests.profiles.lake_world import AS_OF, World, ts

COLD_3_IN_30 = {"event": "Order Completed", "category": "cold_flu", "min": 3, "within_days": 30}
REFILL_7 = {"health": "hypertension", "refill_within_days": 7}
NO_APP_60 = {"not": {"event": "Application Opened", "within_days": 60}}


@pytest.fixture
def people(client, register, settings, db):
    """Four customers with accounts: an adult who bought cold medicine three times this month and whose
    antihypertensive runs out in two days (consents to a health profile); an adult who bought it once and opened
    the app last week; a minor who bought it three times; an adult last in the app in March."""
    ids = {}
    for name, phone in (("adult", "13812345678"), ("once", "13812345679"), ("minor", None), ("away", None)):
        user, headers, _ = register(phone) if phone else register()
        ids[name] = user["id"]
        ids[f"{name}_headers"] = headers
    w = World()
    a, o, m, y = (ids[k] for k in ("adult", "once", "minor", "away"))
    w.user(a, birth_year=1980)
    w.user(o, birth_year=1990)
    w.user(m, birth_year=2012)
    w.user(y, birth_year=1975)
    for i, day in enumerate(("2026-06-05", "2026-06-12", "2026-06-20")):
        w.db_order(a, f"A{i}", ts(f"{day}T02:00"), [(5, 1)])
        w.db_order(m, f"M{i}", ts(f"{day}T03:00"), [(5, 1)])
    w.db_order(a, "A9", ts("2026-06-25T02:00"), [(1, 1)])  # 7 tablets at 1 a day: refill due on 2 July
    w.db_order(o, "O1", ts("2026-06-10T02:00"), [(5, 1)])
    w.db_order(o, "O0", ts("2026-04-10T02:00"), [(5, 1)])  # outside the last 30 days
    w.track(str(o), "Application Opened", ts("2026-06-23T01:00"))
    w.track(str(y), "Application Opened", ts("2026-03-01T01:00"))
    w.write(settings.lake_path, settings.var_dir)
    given = profile_build.BuildInput(consents={"health_profile": {str(a)}})
    profile_build.build(settings.lake_path, given, as_of=AS_OF)
    with db.session() as s:
        service.seed_catalogue(s)
    return ids


def create(client, headers, **body):
    body = {"kind": "dynamic", "purpose": "marketing", **body}
    r = client.post("/api/v1/admin/segments", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def member_ids(client, headers, segment_id):
    r = client.get(f"/api/v1/admin/segments/{segment_id}/members?limit=100", headers=headers)
    assert r.status_code == 200, r.text
    return {int(m["user_id"]) for m in r.json()["items"]}


def preview(client, headers, tree, **extra):
    r = client.post("/api/v1/admin/segments/preview", headers=headers, json={"definition": tree, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_issues_conditions_select_the_right_customers(client, staff, people):
    _, marketer = staff("marketer")
    adult, once, minor, away = (people[k] for k in ("adult", "once", "minor", "away"))
    bought = preview(client, marketer, COLD_3_IN_30, purpose="analysis")
    assert bought["size"] == 2 and {int(m["user_id"]) for m in bought["sample"]} == {adult, minor}
    assert preview(client, marketer, COLD_3_IN_30)["size"] == 1  # marketing: the minor is left out
    two = {**COLD_3_IN_30, "min": 2, "within_days": 90}
    assert preview(client, marketer, two, purpose="analysis")["size"] == 3  # the one-time buyer's two in 90 days
    away_from_app = preview(client, marketer, NO_APP_60, purpose="analysis")
    assert {int(m["user_id"]) for m in away_from_app["sample"]} == {adult, minor, away}
    nested = {"all": [{"field": "orders", "op": "ge", "value": 1}, {"any": [COLD_3_IN_30, NO_APP_60]}]}
    assert {int(m["user_id"]) for m in preview(client, marketer, nested)["sample"]} == {adult}
    # a health tree: the size for a marketer, the sample only with the health permission
    refill = preview(client, marketer, REFILL_7)
    assert refill == {"size": 1, "sample": [], "sensitive": True}
    _, admin = staff("admin")
    assert [int(m["user_id"]) for m in preview(client, admin, REFILL_7)["sample"]] == [adult]
    later = preview(client, admin, {"health": "hypertension", "refill_within_days": 1})
    assert later["size"] == 0  # due on 2 July, the store's day is 30 June
    sample = bought["sample"][0]
    assert "****" in (sample["phone"] or "") or sample["phone"] is None


def test_static_and_dynamic_segments_and_their_history(client, staff, people, settings, db):
    _, marketer = staff("marketer")
    adult, once = people["adult"], people["once"]
    tree = {"field": "orders", "op": "ge", "value": 2}
    dynamic = create(client, marketer, name="复购客户", definition=tree)
    static = create(client, marketer, name="复购快照", kind="static", definition=tree)
    assert dynamic["size"] == static["size"] == 2  # adult (4 orders) and the one-time buyer's 2; the minor is not
    assert member_ids(client, marketer, dynamic["id"]) == {adult, once}

    # the store changes: the one-time buyer's orders are refunded in the next build (here: their 2 orders gone)
    with db.session() as s:
        assert [x.name for x in segments.due_segments(s, settings.lake_path, AS_OF)] == []
    customers = store.files(settings.lake_path, "customers")
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(customers)
    orders = pc.if_else(pc.equal(table["user_id"], str(once)), 0, table["orders"])
    store.write_single(table.set_column(table.schema.get_field_index("orders"), "orders", orders),
                       store.folder(settings.lake_path, "customers"))
    with db.session() as s:
        assert [x.name for x in segments.due_segments(s, settings.lake_path, AS_OF)] == ["复购客户"]
    assert profile_tasks.refresh_segments(client.app.state.db, settings.lake_path) == {"复购客户": (0, 1)}
    assert profile_tasks.refresh_segments(client.app.state.db, settings.lake_path) == {}  # nothing changed since
    assert member_ids(client, marketer, dynamic["id"]) == {adult}
    assert member_ids(client, marketer, static["id"]) == {adult, once}  # a snapshot stays as taken

    history = client.get(f"/api/v1/admin/segments/{dynamic['id']}/history", headers=marketer).json()
    assert sum(d["entered"] for d in history["days"]) == 2 and sum(d["left"] for d in history["days"]) == 1
    assert history["days"][-1]["size"] == 1
    assert history["changes"][0] == {**history["changes"][0], "user_id": str(once), "change": "left"}

    recomputed = client.post(f"/api/v1/admin/segments/{static['id']}/compute", headers=marketer).json()
    assert recomputed["size"] == 1 and recomputed["left"] == 1
    assert "refresh_segments" in schedules(settings)


def test_a_schedule_and_an_edit_make_a_dynamic_segment_due(client, staff, people, settings, db):
    _, marketer = staff("marketer")
    seg = create(client, marketer, name="每日", definition={"field": "orders", "op": "ge", "value": 1},
                 schedule="0 6 * * *")
    with db.session() as s:
        row = s.get(Segment, seg["id"])
        assert segments.due_segments(s, settings.lake_path, row.computed_at + timedelta(minutes=1)) == []
        assert [x.id for x in segments.due_segments(s, settings.lake_path, row.computed_at + timedelta(days=1))] == [
            seg["id"]]
    edited = client.patch(f"/api/v1/admin/segments/{seg['id']}", headers=marketer,
                          json={"definition": {"field": "orders", "op": "ge", "value": 4}})
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["size"] == 1


def test_minors_never_enter_a_marketing_segment(client, staff, people):
    _, marketer = staff("marketer")
    seg = create(client, marketer, name="感冒药常客", definition=COLD_3_IN_30)
    assert member_ids(client, marketer, seg["id"]) == {people["adult"]}
    analysis = create(client, marketer, name="感冒药常客（分析）", purpose="analysis", definition=COLD_3_IN_30)
    assert member_ids(client, marketer, analysis["id"]) == {people["adult"], people["minor"]}
    # switching the analysis segment to marketing drops the minor
    r = client.patch(f"/api/v1/admin/segments/{analysis['id']}", headers=marketer, json={"purpose": "marketing"})
    assert r.json()["size"] == 1 and member_ids(client, marketer, analysis["id"]) == {people["adult"]}


def test_a_health_segment_needs_an_impact_assessment_and_loses_a_withdrawn_customer(client, staff, people, db):
    marketer_user, marketer = staff("marketer")
    r = client.post("/api/v1/admin/segments", headers=marketer,
                    json={"name": "待续方", "kind": "dynamic", "definition": REFILL_7})
    assert r.status_code == 422 and problem_code(r) == "SEGMENT_IMPACT_ASSESSMENT_REQUIRED"
    assert r.json()["field"] == "impact_assessment_id"
    seg = create(client, marketer, name="待续方", definition=REFILL_7, impact_assessment_id="PIA-2026-007")
    assert seg["sensitive"] and seg["size"] == 1
    r = client.get(f"/api/v1/admin/segments/{seg['id']}/members", headers=marketer)
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    assert client.get(f"/api/v1/admin/segments/{seg['id']}/export", headers=marketer).status_code == 403
    _, admin = staff("admin")
    assert member_ids(client, admin, seg["id"]) == {people["adult"]}
    # removing the impact assessment from a health segment is refused
    r = client.patch(f"/api/v1/admin/segments/{seg['id']}", headers=marketer, json={"impact_assessment_id": ""})
    assert problem_code(r) == "SEGMENT_IMPACT_ASSESSMENT_REQUIRED"

    # the customer grants, then withdraws the health profile on the storefront: out at once
    headers = people["adult_headers"]
    assert client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": True}).status_code == 200
    assert client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": False}).status_code == 200
    assert member_ids(client, admin, seg["id"]) == set()
    assert client.get(f"/api/v1/admin/segments/{seg['id']}", headers=admin).json()["size"] == 0
    with db.session() as s:
        left = s.query(SegmentChange).filter_by(segment_id=seg["id"], change="left").one()
        assert (left.user_id, left.reason) == (str(people["adult"]), "consent")
        denied = s.query(AuditEntry).filter_by(action="segments.read_members", outcome="denied").count()
        assert denied == 2
    # and the next evaluation agrees: the health rows are gone
    assert preview(client, admin, REFILL_7)["size"] == 0


def test_overlap_exclusions_and_the_masked_export(client, staff, people, db):
    _, marketer = staff("marketer")
    buyers = create(client, marketer, name="买过", definition={"field": "orders", "op": "ge", "value": 1},
                    purpose="analysis")
    cold = create(client, marketer, name="感冒药", definition=COLD_3_IN_30, purpose="analysis")
    away = create(client, marketer, name="久未打开", definition=NO_APP_60, purpose="analysis")
    r = client.post("/api/v1/admin/segments/overlap", headers=marketer,
                    json={"segments": [buyers["id"], cold["id"], away["id"]]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [s["size"] for s in out["segments"]] == [3, 2, 3]
    pairs = {(p["a"], p["b"]): p["both"] for p in out["pairs"]}
    assert pairs == {(buyers["id"], cold["id"]): 2, (buyers["id"], away["id"]): 2, (cold["id"], away["id"]): 2}
    assert out["all"] == 2
    bad = client.post("/api/v1/admin/segments/overlap", headers=marketer, json={"segments": [buyers["id"], 99999]})
    assert bad.status_code == 422 and bad.json()["field"] == "segments[1]"

    excluding = create(client, marketer, name="买过但不常买感冒药", purpose="analysis",
                       definition={"field": "orders", "op": "ge", "value": 1}, exclusions=[cold["id"]])
    assert member_ids(client, marketer, excluding["id"]) == {people["once"]}
    r = client.delete(f"/api/v1/admin/segments/{cold['id']}", headers=marketer)
    assert r.status_code == 409 and problem_code(r) == "SEGMENT_IN_USE"

    export = client.get(f"/api/v1/admin/segments/{buyers['id']}/export", headers=marketer)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert {int(r["user_id"]) for r in rows} == {people["adult"], people["once"], people["minor"]}
    adult = next(r for r in rows if int(r["user_id"]) == people["adult"])
    assert adult["phone"] == "138****5678" and "13812345678" not in export.text
    with db.session() as s:
        assert s.query(AuditEntry).filter_by(action="segments.export", subject_id=str(buyers["id"])).count() == 1


def test_bad_segments_are_refused_and_who_may_do_what(client, staff, people, settings):
    _, marketer = staff("marketer")
    _, pharmacist = staff("pharmacist")
    body = {"name": "x", "kind": "dynamic", "definition": {"field": "no_such_column", "op": "eq", "value": 1}}
    r = client.post("/api/v1/admin/segments", headers=marketer, json=body)
    assert r.status_code == 422 and problem_code(r) == "CONDITION_INVALID" and r.json()["field"] == "definition.field"
    r = client.post("/api/v1/admin/segments", headers=marketer,
                    json={**body, "definition": {"health": "no_such_condition"}})
    assert problem_code(r) == "CONDITION_INVALID" and r.json()["field"] == "definition.health"
    r = client.post("/api/v1/admin/segments", headers=marketer,
                    json={**body, "definition": {"field": "orders", "op": "ge", "value": 1}, "exclusions": [424242]})
    assert problem_code(r) == "SEGMENT_EXCLUSION_INVALID" and r.json()["field"] == "exclusions[0]"
    r = client.post("/api/v1/admin/segments", headers=marketer, json={**body, "kind": "sometimes"})
    assert r.status_code == 422
    create(client, marketer, name="重名", definition={"field": "orders", "op": "ge", "value": 1})
    r = client.post("/api/v1/admin/segments", headers=marketer,
                    json={"name": "重名", "kind": "static", "definition": {"field": "orders", "op": "ge", "value": 1}})
    assert r.status_code == 409 and problem_code(r) == "SEGMENT_EXISTS"
    r = client.post("/api/v1/admin/segments/preview", headers=pharmacist, json={"definition": {"all": []}})
    assert r.status_code == 403
    _, analyst = staff("analyst")
    listed = client.get("/api/v1/admin/segments", headers=analyst).json()
    assert [s["name"] for s in listed] == ["重名"] and listed[0]["owner_name"]
    assert client.get("/api/v1/admin/segments/999999", headers=analyst).status_code == 404
    shutil.rmtree(store.root(settings.lake_path))
    r = client.post("/api/v1/admin/segments/preview", headers=marketer, json={"definition": {"all": []}})
    assert r.status_code == 409 and problem_code(r) == "PROFILES_NOT_BUILT"


def test_the_customer_360_shows_the_segments_a_customer_is_in(client, staff, people, db):
    """The customer 360 lists the segments the customer is in; a segment that reads health data is not there but
    with the health tags (profiles:read_health, audited), and only while the health profile consent holds."""
    _, marketer = staff("marketer")
    _, admin = staff("admin")
    adult, once = people["adult"], people["once"]
    buyers = create(client, marketer, name="买过", definition={"field": "orders", "op": "ge", "value": 1})
    cold = create(client, marketer, name="感冒药", definition=COLD_3_IN_30, purpose="analysis")
    refill = create(client, marketer, name="待续方", definition=REFILL_7, impact_assessment_id="PIA-2026-007")
    headers = people["adult_headers"]
    assert client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": True}).status_code == 200

    page = client.get(f"/api/v1/admin/profiles/customers/{adult}", headers=marketer).json()
    shown = {s["id"]: (s["name"], s["sensitive"]) for s in page["segments"]}
    assert shown == {buyers["id"]: ("买过", False), cold["id"]: ("感冒药", False)}
    assert all(s["since"] for s in page["segments"])
    assert refill["id"] not in {s["id"] for s in page["segments"]}
    other = client.get(f"/api/v1/admin/profiles/customers/{once}", headers=marketer).json()
    assert [s["id"] for s in other["segments"]] == [buyers["id"]]  # one cold-medicine order: not in 感冒药
    # the health segments only through the health route, which a marketer may not use
    assert client.get(f"/api/v1/admin/profiles/customers/{adult}/health", headers=marketer).status_code == 403
    health = client.get(f"/api/v1/admin/profiles/customers/{adult}/health", headers=admin).json()
    assert health["consent"] and [(s["id"], s["sensitive"]) for s in health["segments"]] == [(refill["id"], True)]
    assert client.get(f"/api/v1/admin/profiles/customers/{once}/health", headers=admin).json()["segments"] == []
    with db.session() as s:
        read = s.query(AuditEntry).filter_by(action="profiles.read_health", subject_id=str(adult)).one()
        assert read.detail["segments"] == [refill["id"]]

    # withdrawn: out of the health segment at once, still in the others
    assert client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": False}).status_code == 200
    health = client.get(f"/api/v1/admin/profiles/customers/{adult}/health", headers=admin).json()
    assert (health["consent"], health["conditions"], health["segments"]) == (False, [], [])
    page = client.get(f"/api/v1/admin/profiles/customers/{adult}", headers=admin).json()
    assert {s["id"] for s in page["segments"]} == {buyers["id"], cold["id"]}
