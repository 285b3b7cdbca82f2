"""Personas: k chosen by silhouette with the elbow beside it, clusters described by their distinguishing
features and named by the rules, the tree's rules and fidelity, the chronic-care share only with an impact
assessment; the health tags' precision and recall against a simulated world's truth; the API."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medreach.pipeline import jobs
from medreach.profiles import build as profile_build
from medreach.profiles import personas, truth
from tests.profiles.lake_world import AS_OF, World, ts
from tests.profiles.test_propensity import signal_world


def persona_world() -> World:
    """The signal world's regular and lapsed buyers, and 30 people who only browse."""
    w, _ = signal_world(n=60)
    for i in range(30):
        uid = 3000 + i
        w.user(uid, birth_year=1985)
        for k in range(4 + i % 3):
            w.view(str(uid), 7, AS_OF - timedelta(days=2 + 3 * k, hours=i % 5))
    return w


def test_k_is_chosen_clusters_are_named_and_a_tree_explains_them(tmp_path):
    lake_dir = tmp_path / "lake"
    persona_world().write(lake_dir, tmp_path)
    profile_build.build(lake_dir, profile_build.BuildInput(), as_of=AS_OF)
    result = personas.run(lake_dir)
    assert result["customers"] == 90
    scores = result["selection"]["scores"]
    assert [s["k"] for s in scores] == list(range(2, 11))
    best = max(scores, key=lambda s: s["silhouette"])
    assert result["k"] == best["k"] == result["selection"]["best_silhouette"]
    inertia = [s["inertia"] for s in scores]
    assert inertia[0] > inertia[-1] and result["selection"]["elbow"] in range(2, 11)
    assert sum(c["size"] for c in result["clusters"]) == 90
    assert all(c["code"] in personas.NAMES and c["name_zh"] and c["name_en"] for c in result["clusters"])
    # the browsers are a cluster of their own, named as browsers; the distinguishing features lead with the
    # largest difference from everyone
    codes = {c["code"] for c in result["clusters"]}
    assert "browser" in codes
    for c in result["clusters"]:
        zs = [abs(d["z"]) for d in c["distinguishing"]]
        assert zs == sorted(zs, reverse=True) and zs[0] == max(abs(v) for v in c["z"].values())
    tree = result["tree"]
    assert tree["fidelity"] >= 0.9 and "|---" in tree["text"]
    assert sum(leaf["customers"] for leaf in tree["leaves"]) == 90
    assert "chronic_share" not in result["features"]
    assert personas.latest(lake_dir)["id"] == result["id"]
    fixed = personas.run(lake_dir, k=3)
    assert fixed["k"] == 3 and len(fixed["clusters"]) == 3


def test_the_rules_name_a_cluster_from_its_figures():
    base = {"orders": 4, "last_active_days": 5, "recency_days": 10, "price_sensitivity": 0.1, "cold_share": 0.1}
    zero = dict.fromkeys([*base, "monetary_fen"], 0.0)
    assert personas.name_cluster(base | {"chronic_share": 0.6}, zero | {"chronic_share": 1.2}) == "chronic"
    assert personas.name_cluster(base | {"orders": 0.1, "last_active_days": 200}, zero) == "dormant"
    assert personas.name_cluster(base | {"orders": 0.1}, zero) == "browser"
    assert personas.name_cluster(base, zero | {"monetary_fen": 1.0, "recency_days": -0.5}) == "high_value"
    assert personas.name_cluster(base | {"price_sensitivity": 0.6}, zero | {"price_sensitivity": 1.0}) == "price"
    assert personas.name_cluster(base | {"cold_share": 0.7}, zero | {"cold_share": 1.5}) == "seasonal"
    assert personas.name_cluster(base | {"orders": 1.2}, zero) == "new"
    assert personas.elbow([2, 3, 4, 5, 6], [100, 40, 30, 25, 22]) == 3


def test_too_few_customers_are_refused(tmp_path):
    w = World()
    w.user(1)
    w.db_order(1, "A", ts("2026-06-01T00:00"), [(5, 1)])
    lake_dir = tmp_path / "lake"
    w.write(lake_dir, tmp_path)
    profile_build.build(lake_dir, profile_build.BuildInput(), as_of=AS_OF)
    with pytest.raises(Exception) as e:
        personas.run(lake_dir)
    assert getattr(e.value, "code", None) == "PERSONAS_TOO_FEW"


def test_health_tags_against_the_truth(tmp_path):
    """Consenting: 1 has hypertension and bought its medicine twice (true positive), 2 has it and bought nothing
    (missed), 3 bought an antihypertensive once without having it (false positive); 4 has it and bought it but
    never consented, so no tag could exist for them: left out."""
    w = World()
    for uid in (1, 2, 3, 4):
        w.user(uid)
    w.db_order(1, "A1", ts("2026-05-01T02:00"), [(2, 1)])
    w.db_order(1, "A2", ts("2026-06-01T02:00"), [(2, 1)])
    w.db_order(2, "B1", ts("2026-06-01T02:00"), [(7, 1)])
    w.db_order(3, "C1", ts("2026-06-02T02:00"), [(1, 1)])
    w.db_order(4, "D1", ts("2026-06-02T02:00"), [(1, 1)])
    lake_dir = tmp_path / "lake"
    w.write(lake_dir, tmp_path)
    profile_build.build(lake_dir, profile_build.BuildInput(consents={"health_profile": {"1", "2", "3"}}), as_of=AS_OF)
    people = [
        {"user_id": "1", "kind": "shopper", "conditions": ["hypertension", "diabetes"]},
        {"user_id": "2", "kind": "shopper", "conditions": ["hypertension"]},
        {"user_id": "3", "kind": "shopper", "conditions": []},
        {"user_id": "4", "kind": "shopper", "conditions": ["hypertension"]},
        {"user_id": "bot1", "kind": "bot", "conditions": []},
    ]
    (lake_dir / "simulation").mkdir()
    pq.write_table(pa.Table.from_pylist(people), truth.truth_file(lake_dir))
    report = truth.report(lake_dir)
    assert report["customers"] == 3 and report["shoppers"] == 4
    by = {c["condition"]: c for c in report["conditions"]}
    h = by["hypertension"]
    assert (h["tagged"], h["actual"], h["true_positives"]) == (2, 2, 1)
    assert h["precision"] == 0.5 and h["recall"] == 0.5 and h["tag"] == "chronic_hypertension"
    strict = next(level for level in h["levels"] if level["min_confidence"] == 0.875)
    assert strict["tagged"] == 1 and strict["precision"] == 1.0  # two Rx orders: 0.875
    d = by["diabetes"]
    assert d["tagged"] == 0 and d["precision"] is None and d["recall"] == 0.0


def test_the_api_runs_personas_and_reports_truth(client, staff, settings, monkeypatch):
    monkeypatch.setattr(jobs, "start_in_background", lambda d, s, run_id: jobs.execute(d, s, run_id))
    _, analyst = staff("analyst")
    _, pharmacist = staff("pharmacist")
    assert client.get("/api/v1/admin/profiles/personas", headers=analyst).json()["code"] == "PERSONAS_NOT_RUN"
    persona_world().write(settings.lake_path, settings.var_dir)
    profile_build.build(settings.lake_path, profile_build.BuildInput(), as_of=AS_OF)
    assert client.post("/api/v1/admin/profiles/personas/run", headers=pharmacist, json={}).status_code == 403
    r = client.post("/api/v1/admin/profiles/personas/run", headers=analyst, json={"k": 11})
    assert r.status_code == 422
    r = client.post("/api/v1/admin/profiles/personas/run", headers=analyst, json={"k": 4})
    assert r.status_code == 202, r.text
    r = client.get("/api/v1/admin/profiles/personas", headers=analyst)
    assert r.status_code == 200 and r.json()["k"] == 4 and len(r.json()["clusters"]) == 4
    assert client.get("/api/v1/admin/profiles/personas", headers=pharmacist).status_code == 403
    r = client.get("/api/v1/admin/profiles/truth", headers=analyst)
    assert r.status_code == 409 and r.json()["code"] == "TRUTH_MISSING"
