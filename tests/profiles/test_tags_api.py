"""The tag catalogue's API and the customer 360 on every database: built-in tags seeded once, rule tags created,
edited, refreshed and deleted, CSV imports with a report of unknown ids, coverage and distributions, who may do
what, the audit trail, and a customer's view of their own tags."""

import shutil
import time

import pytest

from medreach.ops.models import AuditEntry
from medreach.pipeline import jobs
from medreach.profiles import service, store
from medreach.profiles.models import TagDefinition
from tests.conftest import problem_code
from tests.profiles.lake_world import World, build, ts

A, B = "1001", "1002"  # the customers of the shared lake (tests that need their accounts use `world`)


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory):
    w = World()
    w.user(int(A), gender="female", birth_year=1985, city="杭州市")
    w.user(int(B), gender="male", birth_year=1972, city="成都市")
    w.view(A, 5, ts("2026-06-01T02:00"))
    w.db_order(int(A), "PA1", ts("2026-06-01T02:05"), [(5, 2)], discount_fen=300)
    w.db_order(int(A), "PA2", ts("2026-06-15T02:05"), [(1, 1)])
    w.db_order(int(B), "PB1", ts("2026-03-01T02:05"), [(7, 1)])
    return build(w, tmp_path_factory.mktemp("api"))


@pytest.fixture
def built(client, settings, db, shared_lake):
    """The shared lake in the app's lake folder, its catalogue seeded and covered (as build_profiles leaves it)."""
    shutil.copytree(shared_lake, settings.lake_path, dirs_exist_ok=True)
    with db.session() as s:
        service.seed_catalogue(s)
        service.record_coverage(s, settings.lake_path)
    return {"a": A, "b": B}


@pytest.fixture
def world(client, register, settings, db):
    """Two registered customers with a little history, built into the app's lake by the build_profiles job."""
    a, a_headers, _ = register()
    b, b_headers, _ = register()
    w = World()
    w.user(a["id"], gender="female", birth_year=1985, city="杭州市")
    w.user(b["id"], gender="male", birth_year=1972, city="成都市")
    w.view(str(a["id"]), 5, ts("2026-06-01T02:00"))
    w.db_order(a["id"], "PA1", ts("2026-06-01T02:05"), [(5, 2)], discount_fen=300)
    w.db_order(a["id"], "PA2", ts("2026-06-15T02:05"), [(1, 1)])
    w.db_order(b["id"], "PB1", ts("2026-03-01T02:05"), [(7, 1)])
    w.write(settings.lake_path, settings.var_dir)
    run = jobs.create_run(db, "build_profiles", "manual")
    assert jobs.execute(db, settings, run) == "succeeded"
    return {"a": a, "a_headers": a_headers, "b": b, "b_headers": b_headers}


def wait(client, headers, run_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/admin/jobs/runs/{run_id}", headers=headers).json()
        if run["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def test_the_catalogue_is_seeded_once_with_coverage(client, staff, built, db):
    with db.session() as s:
        assert service.seed_catalogue(s) == 0  # seeded already; again changes nothing
        assert s.query(TagDefinition).filter_by(code="rfm_group").count() == 1
    _, analyst = staff("analyst")
    listed = {t["code"]: t for t in client.get("/api/v1/admin/tags", headers=analyst).json()}
    assert {"rfm_group", "age_band", "top_category", "chronic_hypertension"} <= set(listed)
    assert listed["gender"]["coverage"] == 1.0 and listed["gender"]["customers"] == 2
    assert listed["churn_risk"]["kind"] == "builtin" and listed["churn_risk"]["computed_at"]
    assert listed["chronic_hypertension"]["sensitive"] and listed["chronic_hypertension"]["family"] == "health"
    health = client.get("/api/v1/admin/tags?family=health", headers=analyst).json()
    assert {t["family"] for t in health} == {"health"}


def test_a_tags_detail_shows_how_its_values_are_spread(client, staff, built):
    _, analyst = staff("analyst")
    detail = client.get("/api/v1/admin/tags/city_tier", headers=analyst).json()
    assert detail["total_customers"] == 2
    assert {d["value"]: d["customers"] for d in detail["distribution"]} == {"2": 2}
    aov = client.get("/api/v1/admin/tags/aov_band", headers=analyst).json()
    assert sum(b["customers"] for b in aov["histogram"]) == 2 and len(aov["histogram"]) == 10
    assert client.get("/api/v1/admin/tags/no_such_tag", headers=analyst).status_code == 404


def test_a_sensitive_tags_figures_need_the_health_permission_and_are_audited(client, staff, built, db):
    _, analyst = staff("analyst")
    r = client.get("/api/v1/admin/tags/chronic_hypertension", headers=analyst)
    assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    admin_user, admin = staff("admin")
    assert client.get("/api/v1/admin/tags/chronic_hypertension", headers=admin).status_code == 200
    with db.session() as s:
        trail = [(e.outcome, e.actor_id == admin_user["id"]) for e in
                 s.query(AuditEntry).filter_by(action="profiles.read_health", subject_id="chronic_hypertension")]
    assert trail == [("denied", False), ("success", True)]


def test_rule_tags_are_created_refreshed_edited_and_deleted(client, staff, built, db, settings):
    marketer_user, marketer = staff("marketer")
    body = {"code": "two_orders", "name_zh": "复购客户", "name_en": "Repeat buyers", "kind": "rule",
            "definition": {"when": {"field": "orders", "op": "ge", "value": 2}, "value": "复购"}}
    created = client.post("/api/v1/admin/tags", headers=marketer, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["family"] == "custom" and created.json()["owner_id"] == marketer_user["id"]
    assert problem_code(client.post("/api/v1/admin/tags", headers=marketer, json=body)) == "TAG_EXISTS"
    listed = {t["code"]: t for t in client.get("/api/v1/admin/tags", headers=marketer).json()}
    assert listed["two_orders"]["owner_name"] == marketer_user["name"] and listed["two_orders"]["owner_name"]
    assert listed["rfm_group"]["owner_id"] is None and listed["rfm_group"]["owner_name"] is None
    run = client.post("/api/v1/admin/tags/two_orders/refresh", headers=marketer)
    assert run.status_code == 202 and run.json()["job"] == "refresh_tag"
    assert wait(client, marketer, run.json()["id"])["status"] == "succeeded"
    a = built["a"]
    values = [v for v in store.tag_values(settings.lake_path, a) if v["tag"] == "two_orders"]
    assert [v["value"] for v in values] == ["复购"]
    assert not [v for v in store.tag_values(settings.lake_path, built["b"]) if v["tag"] == "two_orders"]
    detail = client.get("/api/v1/admin/tags/two_orders", headers=marketer).json()
    assert detail["customers"] == 1 and detail["coverage"] == 0.5

    edited = client.patch("/api/v1/admin/tags/two_orders", headers=marketer, json={
        "definition": {"when": {"field": "orders", "op": "ge", "value": 1}, "value": "买过"}, "schedule": "0 6 * * *"})
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["schedule"] == "0 6 * * *"
    with db.session() as s:
        assert service.due_tags(s, ts("2026-12-05T00:00")) == ["two_orders"]  # 06:00 Beijing is 22:00 UTC

    assert client.delete("/api/v1/admin/tags/two_orders", headers=marketer).status_code == 204
    assert not [v for v in store.tag_values(settings.lake_path, a) if v["tag"] == "two_orders"]
    assert client.get("/api/v1/admin/tags/two_orders", headers=marketer).status_code == 404
    with db.session() as s:
        actions = [e.action for e in s.query(AuditEntry).filter_by(subject_type="tag", subject_id="two_orders")]
    assert actions == ["tags.create", "tags.refresh", "tags.update", "tags.delete"]


def test_bad_tags_are_refused_with_the_field_named(client, staff, built):
    _, marketer = staff("marketer")

    def create(**over):
        body = {"code": "t1", "name_zh": "测试", "kind": "rule",
                "definition": {"when": {"field": "orders", "op": "ge", "value": 1}}} | over
        return client.post("/api/v1/admin/tags", headers=marketer, json=body)

    r = create(name_zh="人傻钱多")
    assert r.status_code == 422 and problem_code(r) == "TAG_WORD_BANNED" and r.json()["errors"][0]["field"] == "name_zh"
    r = create(definition={"when": {"field": "orders", "op": "ge", "value": 1}, "value": "可杀熟"})
    assert problem_code(r) == "TAG_WORD_BANNED"
    r = create(definition={"when": {"health": "diabetes", "refill_due_within_days": 7}})
    assert r.status_code == 422 and problem_code(r) == "TAG_SENSITIVE_SOURCE"
    r = create(definition={"when": {"field": "id_number", "op": "eq", "value": "1"}})
    assert problem_code(r) == "CONDITION_INVALID" and r.json()["errors"][0]["field"] == "definition.when.field"
    assert create(code="Bad Code").status_code == 422
    assert create(schedule="every day").status_code == 422
    assert problem_code(create(definition=None)) == "CONDITION_INVALID"
    r = client.patch("/api/v1/admin/tags/rfm_group", headers=marketer, json={"name_zh": "改名"})
    assert r.status_code == 409 and problem_code(r) == "TAG_BUILTIN"
    assert problem_code(client.delete("/api/v1/admin/tags/rfm_group", headers=marketer)) == "TAG_BUILTIN"


def test_an_imported_tag_reports_unknown_ids_and_keeps_its_values(client, staff, built, settings, db):
    _, marketer = staff("marketer")
    created = client.post("/api/v1/admin/tags", headers=marketer,
                          json={"code": "store_member", "name_zh": "门店会员", "kind": "import"})
    assert created.status_code == 201 and created.json()["family"] == "imported"
    a, b = built["a"], built["b"]
    csv = f"user_id,value\n{a},金卡\n{b},银卡\n999999,金卡\nnobody,铜卡\n{b},金卡\n".encode()
    r = client.post("/api/v1/admin/tag-imports/store_member", headers=marketer,
                    files={"file": ("members.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 5, "imported": 2, "unknown": 2, "unknown_ids": ["999999", "nobody"],
                        "duplicates": 1}
    mine = {v["tag"]: v["value"] for v in store.tag_values(settings.lake_path, b)}
    assert mine["store_member"] == "金卡"  # the last line of a repeated id wins
    # The next build keeps the imported values.
    run = jobs.create_run(db, "build_profiles", "manual")
    assert jobs.execute(db, settings, run) == "succeeded"
    assert {v["tag"]: v["value"] for v in store.tag_values(settings.lake_path, a)}["store_member"] == "金卡"
    tag = client.get("/api/v1/admin/tags/store_member", headers=marketer).json()
    assert tag["customers"] == 2 and tag["definition"]["unknown"] == 2

    banned = client.post("/api/v1/admin/tag-imports/store_member", headers=marketer,
                         files={"file": ("x.csv", f"user_id,value\n{a},韭菜\n".encode(), "text/csv")})
    assert banned.status_code == 422 and problem_code(banned) == "TAG_WORD_BANNED"
    assert banned.json()["errors"][0]["field"] == "line 2"
    bad = client.post("/api/v1/admin/tag-imports/store_member", headers=marketer,
                      files={"file": ("x.csv", b"id;label\n1;x\n", "text/csv")})
    assert problem_code(bad) == "IMPORT_UNREADABLE"
    wrong_kind = client.post("/api/v1/admin/tag-imports/rfm_group", headers=marketer,
                             files={"file": ("x.csv", b"user_id,value\n1,x\n", "text/csv")})
    assert problem_code(wrong_kind) == "TAG_KIND"


def test_who_may_do_what(client, staff, register, built):
    _, service_agent = staff("service")  # no profiles:read
    _, analyst = staff("analyst")
    _, customer, _ = register()
    for headers in (service_agent, customer):
        assert client.get("/api/v1/admin/tags", headers=headers).status_code == 403
        assert client.get("/api/v1/admin/profiles/customers", headers=headers).status_code == 403
    _, pharmacist = staff("pharmacist")
    body = {"code": "x1", "name_zh": "x", "kind": "import"}
    for headers in (customer, pharmacist):
        r = client.post("/api/v1/admin/tags", headers=headers, json=body)
        assert r.status_code == 403 and problem_code(r) == "PERMISSION_DENIED"
    assert client.post("/api/v1/admin/tags", headers=analyst, json=body).status_code == 201
    assert client.get("/api/v1/admin/profiles/status", headers=analyst).json()["built"] is True


def test_customers_are_found_and_shown_masked_with_their_profile(client, staff, world, db):
    viewer_user, marketer = staff("marketer")
    a = world["a"]
    found = client.get(f"/api/v1/admin/profiles/customers?q={a['phone']}", headers=marketer).json()
    assert found["total"] == 1
    row = found["items"][0]
    assert row["id"] == a["id"] and row["phone"] != a["phone"] and "*" in row["phone"]
    assert row["profile"]["orders"] == 2 and row["profile"]["city_tier"] == 2

    page = client.get(f"/api/v1/admin/profiles/customers/{a['id']}", headers=marketer)
    assert page.status_code == 200, page.text
    data = page.json()
    assert data["user"]["masked"] and data["user"]["phone"] != a["phone"]
    assert data["profile"]["orders"] == 2 and data["profile"]["rfm_group"]
    assert data["timeline_user_id"] == str(a["id"]) and data["segments"] == [] and not data["can_read_health"]
    by_code = {t["code"]: t for t in data["tags"]}
    assert by_code["price_sensitivity"]["value"] == "high" and by_code["price_sensitivity"]["evidence"] == {
        "price_sensitivity": 0.5, "orders": 2}
    assert by_code["rfm_group"]["computed_at"] and "recency_days" in by_code["rfm_group"]["evidence"]
    assert not [t for t in data["tags"] if t["family"] == "health"]
    assert {i["key"] for i in data["interests"] if i["kind"] == "category"} == {"cold_flu", "hypertension"}
    assert {x["event"] for x in data["activity"]} >= {"Product Viewed", "Order Completed"}
    with db.session() as s:
        read = s.query(AuditEntry).filter_by(action="profiles.read", subject_id=str(a["id"])).one()
        assert read.actor_id == viewer_user["id"] and read.detail["unmasked"] is False
    assert client.get("/api/v1/admin/profiles/customers/99999", headers=marketer).status_code == 404


def test_customers_are_filtered_by_their_profile(client, staff, world, db):
    """The list filters over the profile store: RFM group, city tier, orders, and with a search as well; the
    filtered read is audited; an unknown group or a tier out of range is refused."""
    viewer_user, marketer = staff("marketer")
    a, b = world["a"], world["b"]
    url = "/api/v1/admin/profiles/customers"
    rows = {r["id"]: r for r in client.get(url, headers=marketer).json()["items"]}
    group_a = rows[a["id"]]["profile"]["rfm_group"]
    assert group_a and group_a != rows[b["id"]]["profile"]["rfm_group"]

    found = client.get(url, headers=marketer, params={"rfm_group": group_a}).json()
    assert (found["total"], [r["id"] for r in found["items"]]) == (1, [a["id"]])
    assert "*" in found["items"][0]["phone"] and found["items"][0]["profile"]["rfm_group"] == group_a
    tier2 = client.get(url, headers=marketer, params={"city_tier": 2}).json()  # 杭州 and 成都: new first-tier
    assert tier2["total"] == 2 and [r["id"] for r in tier2["items"]] == sorted([a["id"], b["id"]], reverse=True)
    paged = client.get(url, headers=marketer, params={"city_tier": 2, "limit": 1, "offset": 1}).json()
    assert (paged["total"], [r["id"] for r in paged["items"]]) == (2, [min(a["id"], b["id"])])
    assert client.get(url, headers=marketer, params={"min_orders": 2}).json()["total"] == 1
    both = client.get(url, headers=marketer, params={"q": b["phone"], "city_tier": 2}).json()
    assert (both["total"], [r["id"] for r in both["items"]]) == (1, [b["id"]])
    none = client.get(url, headers=marketer, params={"q": b["phone"], "rfm_group": group_a}).json()
    assert (none["total"], none["items"]) == (0, [])
    nobody = client.get(url, headers=marketer, params={"q": "无此人", "city_tier": 2})
    assert nobody.status_code == 200 and nobody.json()["total"] == 0
    with db.session() as s:
        entries = s.query(AuditEntry).filter_by(action="profiles.list", actor_id=viewer_user["id"]).all()
        assert len(entries) == 7 and entries[0].detail["filters"] == {"rfm_group": group_a}
    for bad in ({"rfm_group": "VIP"}, {"city_tier": 5}, {"age_band": "10-17"}, {"min_orders": -1}):
        assert client.get(url, headers=marketer, params=bad).status_code == 422, bad


def test_the_filters_name_the_stores_groups_and_bands():
    from medreach.profiles import features, schemas

    assert set(schemas.RFM_GROUP_NAMES) == set(features.RFM_GROUPS.values())
    assert (*(label for _, label in features.AGE_BANDS), "65+") == schemas.AGE_BAND_NAMES


def test_a_customer_sees_their_own_tags(client, world):
    mine = client.get("/api/v1/me/tags", headers=world["b_headers"])
    assert mine.status_code == 200
    codes = {t["code"] for t in mine.json()}
    assert {"gender", "city_tier", "rfm_group"} <= codes and not {c for c in codes if c.startswith("chronic_")}
    assert client.get("/api/v1/me/tags").status_code == 401
