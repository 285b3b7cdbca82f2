"""Built-in and rule tags computed on hand-made lakes: the eight RFM groups, price sensitivity, time-decayed
interests and the top interests, minors flagged, bands and levels, rule tags over fields, tags and events, and the
words no tag may contain."""

import itertools
import math

import pytest

from medreach.core.errors import AppError
from medreach.profiles import build as profile_build
from medreach.profiles import features, tags
from tests.profiles.lake_world import AS_OF, World, build, by_user, later, rows, ts

COMBOS = list(itertools.product((True, False), repeat=3))  # (recent, frequent, high spend)


def rfm_world() -> World:
    """Eight customers, one per combination: recent = last order 1-8 days ago (else 100+), frequent = 3 orders
    (else 1), high spend = 40,000+ fen in all (else 1,000+)."""
    w = World()
    for i, (recent, frequent, big) in enumerate(COMBOS):
        user = f"c{i}"
        last = later(AS_OF, days=-(1 + i if recent else 100 + i))
        total = (40_000 if big else 1_000) + 90 * i
        count = 3 if frequent else 1
        for k in range(count):
            share = total // count + (total % count if k == 0 else 0)
            w.sim_order(user, f"R{i}-{k}", later(last, days=-10 * k), [(5, 1)], total_fen=share)
    # Price sensitivity: 1 of 4 orders discounted.
    for k in range(4):
        w.sim_order("thrifty", f"T{k}", ts("2026-06-01T02:00").replace(day=1 + k), [(5, 1)],
                    discount_fen=300 if k == 0 else 0)
    # Interests: cold_flu (brand 999) viewed today and added to the cart 30 days ago; vitamins viewed twice 60 days
    # ago; a minor who browses.
    w.user(90, birth_year=2012)
    w.view("90", 5, ts("2026-06-30T01:00"))
    w.add("90", 5, ts("2026-05-31T01:00"))
    w.view("90", 7, ts("2026-05-01T01:00"))
    w.view("90", 7, ts("2026-05-01T01:30"))
    w.page("91", ts("2026-06-29T01:00"))
    w.user(92, gender="male", birth_year=1990, city="成都市", occupation="工程师")
    w.page("92", ts("2026-06-29T01:00"))
    return w


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    rule = profile_build.RuleTag(
        "loyal_browser",
        {"when": {"all": [{"field": "orders", "op": "ge", "value": 3},
                          {"not": {"event": "Order Completed", "within_days": 30}}]}, "value": "沉睡老客"},
        4,
    )
    cold = profile_build.RuleTag(
        "cold_season",
        {"when": {"any": [{"tag": "top_category", "value": "cold_flu"},
                          {"event": "Product Viewed", "category": "vitamins", "min": 2, "within_days": 90}]},
         "value": "yes"},
        1,
    )
    return build(rfm_world(), tmp_path_factory.mktemp("tags"), rule_tags=[rule, cold])


def values(lake_dir, tag):
    return {r["user_id"]: r for r in rows(lake_dir, "tags") if r["tag"] == tag}


def test_the_eight_rfm_groups(lake_dir):
    c = by_user(lake_dir)
    for i, combo in enumerate(COMBOS):
        row = c[f"c{i}"]
        assert row["rfm_group"] == features.RFM_GROUPS[combo], (combo, row["r_score"], row["f_score"], row["m_score"])
        assert (row["f_score"] == 5) == combo[1] and row["orders"] == (3 if combo[1] else 1)
    assert {features.RFM_GROUPS[combo] for combo in COMBOS} == set(features.RFM_GROUPS.values())
    assert values(lake_dir, "rfm_group")["c0"]["value"] == "重要价值客户"


def test_rfm_scores_are_quintiles_that_ties_share():
    import ibis

    t = ibis.memtable({"x": [1, 1, 1, 1, 2, 3, 4, 5, 6, 7]})
    got = t.mutate(s=features._quintile(ibis.cume_dist().over(order_by=t.x))).execute()
    assert dict(zip(got.x, got.s, strict=True)) == {1: 2, 2: 3, 3: 3, 4: 4, 5: 4, 6: 5, 7: 5}


def test_price_sensitivity_is_the_share_of_discounted_orders(lake_dir):
    assert by_user(lake_dir)["thrifty"]["price_sensitivity"] == 0.25
    tag = values(lake_dir, "price_sensitivity")["thrifty"]
    assert (tag["value"], tag["score"]) == ("medium", 0.25)


def test_interests_decay_with_a_thirty_day_half_life(lake_dir):
    mine = {(r["kind"], r["key"]): r["score"] for r in rows(lake_dir, "interests") if r["user_id"] == "90"}
    # A view today weighs 1, a cart add 30 days ago 3 x 1/2; two views 60 days ago 2 x 1/4.
    assert mine[("category", "cold_flu")] == pytest.approx(1 + 3 * 0.5)
    assert mine[("brand", "999")] == pytest.approx(1 + 3 * 0.5)
    assert mine[("category", "vitamins")] == pytest.approx(2 * 0.25)
    row = by_user(lake_dir)["90"]
    assert row["top_categories"] == ["cold_flu", "vitamins"] and row["top_brands"] == ["999", "汤臣倍健"]
    top = [(r["value"], r["score"]) for r in rows(lake_dir, "tags") if r["user_id"] == "90" and r["tag"] == "top_category"]
    assert sorted(top) == [("cold_flu", pytest.approx(2.5)), ("vitamins", pytest.approx(0.5))]


def test_a_minor_is_flagged_and_has_no_age_band(lake_dir):
    row = by_user(lake_dir)["90"]
    assert row["is_minor"] and row["age"] == 14 and row["age_band"] is None
    assert values(lake_dir, "is_minor")["90"]["value"] == "true" and "90" not in values(lake_dir, "age_band")


def test_bands_and_levels(lake_dir):
    aov = values(lake_dir, "aov_band")
    assert aov["c0"]["value"] == "100-200" and aov["c0"]["score"] == by_user(lake_dir)["c0"]["aov_fen"]
    assert aov["c2"]["value"] == "200+" and aov["c3"]["value"] == "0-50"  # one order of 401.80 / of 12.70
    churn = values(lake_dir, "churn_risk")
    assert {churn[f"c{i}"]["value"] for i in range(8)} <= set(tags.LEVELS)
    assert "91" not in churn  # no order, no churn risk


def test_churn_risk_grows_with_how_late_a_customer_is(lake_dir):
    c = by_user(lake_dir)
    gap = c["c1"]["purchase_interval_days"]  # recent, frequent: orders 10 days apart
    assert gap == 10.0 and c["c1"]["churn_risk"] == 0.0
    late = c["c5"]  # old (105 days), frequent, every 10 days
    overdue = late["recency_days"] / late["purchase_interval_days"] - 1
    assert late["churn_risk"] == pytest.approx(overdue / (overdue + 1)) and late["churn_risk"] > 0.8


def test_rule_tags_over_fields_tags_and_events(lake_dir):
    sleepers = values(lake_dir, "loyal_browser")
    # Three orders and none in the last 30 days: the old frequent ones, not thrifty (4 orders in June).
    assert set(sleepers) == {"c4", "c5"}
    assert sleepers["c4"]["value"] == "沉睡老客" and sleepers["c4"]["evidence"] == '{"rule_version": 4}'
    cold = values(lake_dir, "cold_season")
    assert "90" in cold and set(cold) >= {f"c{i}" for i in range(8)}  # everyone who bought 感冒灵 has it on top
    assert "91" not in cold


def test_a_condition_tree_is_checked_before_it_is_used():
    catalogue = {"rfm_group": {"kind": "builtin", "sensitive": False},
                 "chronic_diabetes": {"kind": "builtin", "sensitive": True},
                 "vip": {"kind": "rule", "sensitive": False}}
    tags.check_tree({"all": [{"field": "orders", "op": "between", "value": [1, 3]},
                             {"tag": "rfm_group", "op": "in", "value": ["重要价值客户"]}]}, catalogue)
    cases = [
        ({"field": "phone", "op": "eq", "value": "1"}, "CONDITION_INVALID", "definition.when.field"),
        ({"field": "orders", "op": "contains", "value": "x"}, "CONDITION_INVALID", "definition.when.op"),
        ({"all": [{"field": "rfm_group", "op": "in", "value": "x"}]}, "CONDITION_INVALID",
         "definition.when.all[0].value"),
        ({"any": [{"health": "diabetes", "refill_due_within_days": 7}]}, "TAG_SENSITIVE_SOURCE",
         "definition.when.any[0]"),
        ({"tag": "chronic_diabetes"}, "TAG_SENSITIVE_SOURCE", "definition.when.tag"),
        ({"tag": "vip"}, "CONDITION_INVALID", "definition.when.tag"),
        ({"event": "Order Completed", "min": 0}, "CONDITION_INVALID", "definition.when.min"),
        ({"nonsense": 1}, "CONDITION_INVALID", "definition.when"),
    ]
    for tree, code, field in cases:
        with pytest.raises(AppError, match=code) as e:
            tags.check_tree(tree, catalogue)
        assert e.value.field == field, tree


def test_harmful_words_never_become_tags():
    assert tags.banned("慢病复购") is None and tags.banned("价格敏感") is None
    assert tags.banned("可杀熟客户") == ("杀熟", "exploitation")
    assert tags.banned("ＳＵＣＫＥＲ list")[1] == "exploitation"  # full-width and case do not hide it
    with pytest.raises(AppError, match="TAG_WORD_BANNED") as e:
        tags.check_words("name_zh", "高价值", "疑似吸毒人员")
    assert e.value.field == "name_zh" and e.value.params["group"] == "illegal"
    assert e.value.params["version"] == tags.banned_words().version


def test_every_builtin_tag_has_values_or_is_health(lake_dir):
    produced = {r["tag"] for r in rows(lake_dir, "tags")}
    for b in tags.BUILTIN:
        if b.column not in ("p_alive", "expected_orders_90d", "expected_value_12m_fen"):
            assert b.code in produced, b.code  # (too few repeat customers to fit the CLV models here)
    assert not {d["code"] for d in tags.health_definitions()} & produced  # health values live in the health table
    assert all(math.isfinite(r["score"]) for r in rows(lake_dir, "tags") if r["score"] is not None)


def test_lifetime_value_from_bgnbd_and_gamma_gamma_on_the_paid_orders(tmp_path):
    """300 customers with a year of seeded purchases: the store's CLV columns are clv.py's fit on the same paid
    orders (Shanghai days, fen), and the CLV tags band them."""
    import random

    import pandas as pd

    from medreach.profiles import clv

    rng = random.Random(7)
    w, purchases = World(), []
    for i in range(300):
        day = rng.randrange(0, 200)
        for k in range(1 + int(rng.expovariate(0.6))):
            at = later(ts("2025-07-01T04:00"), days=day)
            if at > AS_OF:
                break
            total = rng.randrange(2000, 30000)
            w.sim_order(f"u{i}", f"L{i}-{k}", at, [(5, 1)], total_fen=total)
            purchases.append((f"u{i}", at.date(), total))
            day += rng.randrange(5, 90)
    lake_dir = build(w, tmp_path)
    c = by_user(lake_dir)
    assert all(0 < c[u]["p_alive"] <= 1 and c[u]["expected_orders_90d"] >= 0 for u in c)
    assert all(c[u]["expected_value_12m_fen"] >= 0 for u in c)
    recent = max(c.values(), key=lambda r: (r["orders"], -r["recency_days"]))
    stale = max((r for r in c.values() if r["orders"] == recent["orders"]), key=lambda r: r["recency_days"])
    assert recent["p_alive"] >= stale["p_alive"]  # the same orders longer ago: less likely still a customer
    meta = profile_build.store.manifest(lake_dir)
    assert meta["clv"].startswith("BG/NBD r=") and "300 customers" in meta["clv"]
    # The same fit by hand: one period a day, fen, observed up to the as-of day (30 June in Shanghai).
    orders = pd.DataFrame(purchases, columns=["customer_id", "date", "amount"]).assign(
        date=lambda f: pd.to_datetime(f["date"]), amount=lambda f: f["amount"].astype(float)
    ).sort_values(["customer_id", "date", "amount"], kind="stable", ignore_index=True)
    summary = clv.summarise(orders, "D", observation_end=pd.Timestamp("2026-06-30"))
    bgnbd = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    direct = clv.predict(bgnbd, clv.fit_gamma_gamma(summary["frequency"], summary["monetary_value"]), summary, "D")
    for u in ("u0", "u1", "u2"):
        assert c[u]["p_alive"] == pytest.approx(direct.loc[u, "probability_alive"], rel=1e-9)
        assert c[u]["expected_orders_90d"] == pytest.approx(direct.loc[u, "expected_orders_90d"], rel=1e-9)
        assert c[u]["expected_value_12m_fen"] == round(direct.loc[u, "expected_value_12m"])
    produced = {r["tag"] for r in rows(lake_dir, "tags")}
    assert {"p_alive", "expected_orders_90d", "expected_value_12m"} <= produced
