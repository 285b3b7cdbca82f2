"""Health tags: chronic conditions inferred from medicine purchases (by category or by the generic name's class
stem), with a confidence that grows with the evidence, the next refill date from the days of supply, computed only
for consenting customers, removed at once when the consent is withdrawn (and never shown without it), readable by
staff only with profiles:read_health, every read audited."""

import json
import shutil
from datetime import date

import pytest

from medreach.ops.models import AuditEntry
from medreach.pipeline import jobs
from medreach.profiles import health, store
from tests.conftest import problem_code
from tests.profiles.lake_world import World, build, rows, ts


def health_world() -> World:
    w = World()
    w.sim_order("h1", "H1a", ts("2026-05-01T02:00"), [(1, 1)])
    w.sim_order("h1", "H1b", ts("2026-06-10T02:00"), [(1, 2), (6, 1)])  # 2 packs of 7 and a BP monitor
    w.sim_order("h2", "H2a", ts("2026-06-01T02:00"), [(8, 1)])  # 硝苯地平 listed under cardio: the 地平 stem
    w.sim_order("h3", "H3a", ts("2026-06-01T02:00"), [(7, 1), (6, 1)])  # vitamins and a monitor: no medicine
    w.sim_order("h4", "H4a", ts("2026-04-01T02:00"), [(3, 1)])
    w.sim_order("h4", "H4b", ts("2026-06-20T17:00"), [(3, 3)])  # 01:00 on 21 June in Shanghai; 3 x 20 / 2 a day
    w.sim_order("h5", "H5a", ts("2026-06-01T02:00"), [(1, 1)])  # no consent
    w.sim_order("h6", "H6a", ts("2026-06-01T02:00"), [(4, 1), (1, 1)])  # two conditions in one order
    return w


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    consenting = {"h1", "h2", "h3", "h4", "h6"}
    return build(health_world(), tmp_path_factory.mktemp("health"), {"health_profile": consenting})


def by_key(lake_dir):
    return {(r["user_id"], r["condition"], r["medicine_product_id"]): r for r in rows(lake_dir, "health")}


def test_conditions_are_inferred_from_medicines_with_their_evidence(lake_dir):
    got = by_key(lake_dir)
    assert set(got) == {("h1", "hypertension", 1), ("h2", "hypertension", 8), ("h4", "diabetes", 3),
                        ("h6", "hypertension", 1), ("h6", "hyperlipidemia", 4)}
    evidence = json.loads(got[("h1", "hypertension", 1)]["evidence"])
    assert evidence == {"rules": health.rules().version, "orders": ["H1a", "H1b"], "order_count": 2,
                        "first_purchase": "2026-05-01", "last_purchase": "2026-06-10",
                        "medicine_last_purchase": "2026-06-10", "prescription_drug": True, "supporting_device": True}


def test_confidence_grows_with_the_evidence(lake_dir):
    got = by_key(lake_dir)
    assert got[("h1", "hypertension", 1)]["confidence"] == health.confidence(2, True, True) == round(1 - 0.5**3.5, 4)
    assert got[("h2", "hypertension", 8)]["confidence"] == 0.75  # one order, a prescription drug
    assert health.confidence(1, False, False) == 0.5 and health.confidence(20, True, True) == 0.99


def test_the_next_refill_date_is_the_supply_of_the_last_purchase(lake_dir):
    got = by_key(lake_dir)
    assert got[("h1", "hypertension", 1)]["next_refill_date"] == date(2026, 6, 24)  # 10 June + 2 x 7 / 1
    assert got[("h4", "diabetes", 3)]["next_refill_date"] == date(2026, 7, 21)  # 21 June + 3 x 20 / 2
    assert got[("h6", "hyperlipidemia", 4)]["next_refill_date"] == date(2026, 6, 8)


def test_only_consenting_customers_have_health_rows(lake_dir):
    assert not [r for r in rows(lake_dir, "health") if r["user_id"] == "h5"]
    assert store.customer(lake_dir, "h5")["orders"] == 1  # the customer is profiled, not their health
    assert not {r["tag"] for r in rows(lake_dir, "tags")} & {"chronic_hypertension", "chronic_diabetes"}


def test_a_withdrawal_removes_the_rows_from_the_store(lake_dir, tmp_path):
    copy = tmp_path / "lake"
    shutil.copytree(lake_dir, copy)
    assert health.consent_changed(copy, 99, "health_profile", True) == 0  # a grant removes nothing
    assert store.remove_health(copy, "h6") == 2
    assert not store.health_rows(copy, "h6") and store.health_rows(copy, "h1")


# --- through the API, on every database -----------------------------------------------------------------------


@pytest.fixture
def patient(client, register, settings, db):
    """A customer who allows a health profile and buys antihypertensives, another who does not; built."""
    user, headers, _ = register()
    other, other_headers, _ = register()
    r = client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": True})
    assert r.status_code == 200 and r.json()["granted"]
    w = World()
    for uid in (user["id"], other["id"]):
        w.user(uid)
        w.db_order(uid, f"N{uid}-1", ts("2026-05-01T02:00"), [(2, 1)])
        w.db_order(uid, f"N{uid}-2", ts("2026-06-01T02:00"), [(2, 1)])
    w.write(settings.lake_path, settings.var_dir)
    run = jobs.create_run(db, "build_profiles", "manual")
    assert jobs.execute(db, settings, run) == "succeeded"
    return {"user": user, "headers": headers, "other": other, "other_headers": other_headers}


def test_staff_read_health_tags_only_with_the_permission_and_every_read_is_audited(client, staff, patient, db):
    uid = patient["user"]["id"]
    marketer_user, marketer = staff("marketer")
    refused = client.get(f"/api/v1/admin/profiles/customers/{uid}/health", headers=marketer)
    assert refused.status_code == 403 and problem_code(refused) == "PERMISSION_DENIED"
    page = client.get(f"/api/v1/admin/profiles/customers/{uid}", headers=marketer).json()
    assert not page["can_read_health"] and not [t for t in page["tags"] if t["code"].startswith("chronic_")]
    admin_user, admin = staff("admin")
    read = client.get(f"/api/v1/admin/profiles/customers/{uid}/health", headers=admin).json()
    assert read["consent"] is True
    assert [(c["condition"], c["confidence"], c["next_refill_date"]) for c in read["conditions"]] == [
        ("hypertension", 0.875, "2026-06-15")]  # two Rx orders; 1 June + 14 days
    assert read["conditions"][0]["evidence"]["orders"] == [f"N{uid}-1", f"N{uid}-2"]
    with db.session() as s:
        trail = [(e.actor_id, e.outcome) for e in s.query(AuditEntry).filter_by(action="profiles.read_health")]
        denied = s.query(AuditEntry).filter_by(actor_id=marketer_user["id"], outcome="denied").count()
    assert trail == [(admin_user["id"], "success")] and denied == 1
    other = client.get(f"/api/v1/admin/profiles/customers/{patient['other']['id']}/health", headers=admin).json()
    assert other == {"user_id": patient["other"]["id"], "consent": False, "conditions": [], "segments": []}


def test_withdrawing_the_consent_removes_health_tags_at_once(client, staff, patient, settings):
    uid, headers = patient["user"]["id"], patient["headers"]
    _, admin = staff("admin")
    mine = {t["code"] for t in client.get("/api/v1/me/tags", headers=headers).json()}
    assert "chronic_hypertension" in mine
    kept = settings.var_dir / "health-before"
    shutil.copytree(store.folder(settings.lake_path, "health"), kept)

    r = client.put("/api/v1/me/consents/health_profile", headers=headers, json={"granted": False})
    assert r.status_code == 200 and not r.json()["granted"]
    assert store.health_rows(settings.lake_path, str(uid)) == []  # the consent hook took them out
    read = client.get(f"/api/v1/admin/profiles/customers/{uid}/health", headers=admin).json()
    assert read == {"user_id": uid, "consent": False, "conditions": [], "segments": []}
    assert "chronic_hypertension" not in {t["code"] for t in client.get("/api/v1/me/tags", headers=headers).json()}

    # A build that ran during the withdrawal could publish the rows again: readers check the ledger as well.
    shutil.rmtree(store.folder(settings.lake_path, "health"))
    shutil.copytree(kept, store.folder(settings.lake_path, "health"))
    assert store.health_rows(settings.lake_path, str(uid))
    assert client.get(f"/api/v1/admin/profiles/customers/{uid}/health", headers=admin).json()["conditions"] == []
    assert "chronic_hypertension" not in {t["code"] for t in client.get("/api/v1/me/tags", headers=headers).json()}
