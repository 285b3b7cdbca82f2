"""Predictive models: labels strictly after the cut-off and features strictly up to it, the cross-validated
metrics against sklearn's on a known set, the models beating the majority baseline on a world with a signal,
promotion keeping one version per task, scoring all customers and one, and the API's permissions."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from sklearn import metrics as skm

from medreach.pipeline import jobs
from medreach.profiles import build as profile_build
from medreach.profiles import model_features, propensity, store
from medreach.profiles.models import ModelVersion
from tests.profiles.lake_world import AS_OF, World, ts

START = ts("2026-01-05T02:00")


def signal_world(n: int = 80, seed: int = 7, first_id: int = 1000) -> tuple[World, dict[int, str]]:
    """Regular customers order every 6-9 days until the end; lapsed ones ordered two or three times in January
    and were last seen in February. One in ten of each behaves like the other after the cut-off (noise)."""
    rng = random.Random(seed)
    w, kinds = World(), {}
    for i in range(n):
        uid = first_id + i
        kind = "regular" if i % 2 == 0 else "lapsed"
        kinds[uid] = kind
        w.user(uid, birth_year=1960 + i % 40)
        if kind == "regular":
            at, k = START + timedelta(days=rng.randint(0, 5)), 0
            stop = AS_OF - timedelta(days=20 if rng.random() < 0.1 else 0)
            while at < stop:
                w.view(str(uid), 1 + k % 7, at - timedelta(minutes=5))
                w.db_order(uid, f"R{uid}-{k}", at, [(1 + k % 7, 1)], discount_fen=100 if k % 3 == 0 else 0)
                at, k = at + timedelta(days=rng.randint(6, 9)), k + 1
        else:
            for k in range(rng.randint(2, 3)):
                at = START + timedelta(days=3 + 9 * k + rng.randint(0, 3))
                w.view(str(uid), 5, at - timedelta(minutes=5))
                w.db_order(uid, f"L{uid}-{k}", at, [(5, 1)])
            w.track(str(uid), "Application Opened", ts("2026-02-20T01:00"))
            if rng.random() < 0.1:  # comes back after the cut-off
                w.db_order(uid, f"L{uid}-back", AS_OF - timedelta(days=5), [(5, 1)])
    w.track(str(first_id), "Application Opened", AS_OF - timedelta(hours=1))  # the lake's last event
    return w, kinds


def test_cv_metrics_equal_sklearn_on_a_known_set():
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0])
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.6, 0.3, 0.55, 0.45, 0.5])
    predicted = (score >= 0.5).astype(int)
    m = propensity.metrics(y, predicted, score)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
    assert m["precision"] == pytest.approx(skm.precision_score(y, predicted))
    assert m["recall"] == pytest.approx(skm.recall_score(y, predicted))
    assert m["f1"] == pytest.approx(skm.f1_score(y, predicted))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))
    assert m["confusion"] == skm.confusion_matrix(y, predicted).tolist()
    # ties in the score count half, as sklearn's AUC does; nothing predicted positive gives 0 (zero_division=0)
    tied = np.array([0.5, 0.5, 0.2, 0.5])
    assert propensity.roc_auc(np.array([1, 0, 0, 1]), tied) == pytest.approx(
        skm.roc_auc_score([1, 0, 0, 1], tied)
    )
    none = propensity.metrics(np.array([1, 0, 1]), np.zeros(3), np.zeros(3))
    assert none["precision"] == 0 and none["f1"] == 0 and none["roc_auc"] == 0.5


def test_the_folds_metrics_are_the_mean_of_each_folds_sklearn_figures():
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    names = ["recency_days", "orders", "events"]
    cv = propensity.cross_validate("decision_tree", X, y, names)
    f1s, aucs, pooled = [], [], np.zeros((2, 2), int)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=propensity.SEED).split(X, y):
        model = clone(propensity.estimator("decision_tree", names)).fit(X[train], y[train])
        f1s.append(skm.f1_score(y[test], model.predict(X[test])))
        aucs.append(skm.roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))
        pooled += skm.confusion_matrix(y[test], model.predict(X[test]))
    assert cv["f1"] == pytest.approx(np.mean(f1s)) and cv["roc_auc"] == pytest.approx(np.mean(aucs))
    assert cv["confusion"] == pooled.tolist() and cv["k"] == 5 and len(cv["folds"]) == 5


def test_features_stop_at_the_cut_off_and_labels_start_after_it(tmp_path):
    w = World()
    for uid in (1, 2, 3):
        w.user(uid)
    cutoff = ts("2026-06-01T00:00")
    w.db_order(1, "A1", cutoff - timedelta(days=10), [(5, 1)])
    w.db_order(1, "A2", cutoff, [(5, 1)])  # at the cut-off: a feature, not a label
    w.db_order(2, "B1", cutoff - timedelta(days=40), [(5, 1)])
    w.db_order(2, "B2", cutoff + timedelta(seconds=1), [(5, 2)])  # just after: a label
    w.db_order(3, "C1", cutoff - timedelta(days=5), [(5, 1)])
    w.db_order(3, "C2", cutoff + timedelta(days=31), [(5, 1)])  # after the 30-day window: neither
    w.track("3", "Application Opened", ts("2026-06-29T00:00"))
    lake_dir = w.write(tmp_path / "lake", tmp_path)

    frame = model_features.at(lake_dir, cutoff).set_index("user_id")
    assert frame.loc["1", "orders"] == 2 and frame.loc["2", "orders"] == 1 and frame.loc["3", "orders"] == 1
    assert frame.loc["2", "monetary_fen"] == 1980  # B2 (3960 fen) is after the cut-off
    assert frame.loc["2", "recency_days"] == pytest.approx(40)
    after = model_features.paid_between(lake_dir, cutoff, cutoff + timedelta(days=30))
    assert after == {"2": 1}

    task = propensity.TASKS["propensity_30d"]
    data = propensity.dataset(lake_dir, task, cutoff)
    labels = dict(zip(data.user_ids, data.y, strict=True))
    assert labels == {"1": 0, "2": 1, "3": 0}
    assert data.cutoff == cutoff and data.label_end == cutoff + timedelta(days=30)
    churn = propensity.dataset(lake_dir, propensity.TASKS["churn_90d"], cutoff)
    assert dict(zip(churn.user_ids, churn.y, strict=True)) == {"1": 1, "2": 0, "3": 0}
    # the default cut-off is the lake's last event less the horizon, so every label is observed
    default = propensity.dataset(lake_dir, task)
    assert default.cutoff == cutoff + timedelta(days=31) - timedelta(days=30)  # C2's event is the last


@pytest.mark.parametrize("task", ["propensity_30d", "churn_90d"])
def test_the_models_beat_the_majority_baseline_on_a_world_with_a_signal(tmp_path, db, task):
    w, _ = signal_world()
    lake_dir = w.write(tmp_path / "lake", tmp_path)
    with db.session() as s:
        versions = {v.algorithm: v for v in propensity.train(s, lake_dir, task)}
        assert set(versions) == set(propensity.ALGORITHMS)
        cv = {a: v.metrics["cv"] for a, v in versions.items()}
        for algorithm in ("decision_tree", "mlp"):
            assert cv[algorithm]["accuracy"] > cv["majority"]["accuracy"] + 0.2, (algorithm, cv[algorithm])
            assert cv[algorithm]["f1"] > cv["majority"]["f1"] + 0.1
            assert cv[algorithm]["roc_auc"] > 0.8
        assert cv["majority"]["roc_auc"] == pytest.approx(0.5)
        tree = versions["decision_tree"]
        assert "recency_days" in tree.metrics["rules"] or "last_active_days" in tree.metrics["rules"]
        assert tree.as_of < tree.as_of + timedelta(days=tree.horizon_days) <= AS_OF
        assert (lake_dir / tree.artifact).exists()
        assert sum(sum(row) for row in cv["mlp"]["confusion"]) == cv["mlp"]["support"]


def test_promotion_keeps_one_per_task_and_scores_all_and_one(tmp_path, db):
    w, kinds = signal_world(n=60)
    lake_dir = tmp_path / "lake"
    tmp_path.mkdir(exist_ok=True)
    w.write(lake_dir, tmp_path)
    profile_build.build(lake_dir, profile_build.BuildInput(), as_of=AS_OF)
    with db.session() as s:
        first = propensity.train(s, lake_dir, "churn_90d")
        second = propensity.train(s, lake_dir, "churn_90d")
        other = propensity.train(s, lake_dir, "propensity_30d")
        tree = next(v for v in first if v.algorithm == "decision_tree")
        mlp = next(v for v in second if v.algorithm == "mlp")
        propensity.promote(s, other[2].id)
        propensity.promote(s, tree.id)
        propensity.promote(s, mlp.id)
        promoted = s.query(ModelVersion).filter(ModelVersion.promoted.is_(True)).all()
        assert sorted((v.task, v.id) for v in promoted) == sorted([("churn_90d", mlp.id), ("propensity_30d",
                                                                                           other[2].id)])
        result = propensity.score_all(s, lake_dir, "churn_90d")
        assert result["customers"] == len(kinds) and result["version"] == mlp.id
        rows = {r["user_id"]: r for r in store.query(f"SELECT * FROM {store.relation(lake_dir, 'customers')}")
                .to_pylist()}
        regular = [rows[str(u)]["churn_risk"] for u, k in kinds.items() if k == "regular"]
        lapsed = [rows[str(u)]["churn_risk"] for u, k in kinds.items() if k == "lapsed"]
        assert np.mean(lapsed) > np.mean(regular) + 0.3
        one = propensity.score_one(s, lake_dir, "churn_90d", "1001")
        assert one["score"] == pytest.approx(rows["1001"]["churn_risk"])
        assert (propensity.models_dir(lake_dir) / "scores" / "churn_90d.parquet").exists()


def test_the_api_trains_promotes_and_scores_with_its_permissions(client, staff, settings, db, monkeypatch):
    monkeypatch.setattr(jobs, "start_in_background", lambda d, s, run_id: jobs.execute(d, s, run_id))
    _, analyst = staff("analyst")
    _, support = staff("pharmacist")
    r = client.post("/api/v1/admin/profiles/models/train", headers=analyst, json={"task": "churn_90d"})
    assert r.status_code == 409 and r.json()["code"] == "PROFILES_NOT_BUILT"
    w, _ = signal_world(n=60)
    w.write(settings.lake_path, settings.var_dir)
    profile_build.build(settings.lake_path, profile_build.BuildInput(), as_of=AS_OF)

    r = client.post("/api/v1/admin/profiles/models/train", headers=support, json={"task": "churn_90d"})
    assert r.status_code == 403
    r = client.post("/api/v1/admin/profiles/models/train", headers=analyst, json={"task": "nope"})
    assert r.status_code == 422
    r = client.post("/api/v1/admin/profiles/models/train", headers=analyst, json={"task": "churn_90d"})
    assert r.status_code == 202, r.text
    r = client.get("/api/v1/admin/profiles/models?task=churn_90d", headers=analyst)
    assert r.status_code == 200
    cards = {c["algorithm"]: c for c in r.json()}
    assert set(cards) == set(propensity.ALGORITHMS) and cards["majority"]["baseline"]
    assert "artifact" not in cards["mlp"] and cards["mlp"]["metrics"]["cv"]["confusion"]
    r = client.get("/api/v1/admin/profiles/models/churn_90d/score/1001", headers=analyst)
    assert r.status_code == 409 and r.json()["code"] == "MODEL_NOT_PROMOTED"
    r = client.post(f"/api/v1/admin/profiles/models/{cards['decision_tree']['id']}/promote", headers=support)
    assert r.status_code == 403
    r = client.post(f"/api/v1/admin/profiles/models/{cards['decision_tree']['id']}/promote", headers=analyst)
    assert r.status_code == 200 and r.json()["promoted"]
    r = client.get("/api/v1/admin/profiles/models/churn_90d/score/1001", headers=analyst)
    assert r.status_code == 200 and 0 <= r.json()["score"] <= 1, r.text
    assert r.json()["version"] == cards["decision_tree"]["id"]
    assert store.customer(settings.lake_path, "1001")["churn_risk"] == pytest.approx(r.json()["score"])
    assert client.get("/api/v1/admin/profiles/models/churn_90d/score/999999", headers=analyst).status_code == 404
    assert client.get("/api/v1/admin/profiles/models/999999", headers=analyst).status_code == 404
