"""The pricing engine: worked examples and invariants on random carts (Hypothesis)."""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from medreach.promotions.engine import (
    CouponOffer, Item, Policy, PricingInput, Rule, Scope, percent_of, price, spread,
)

A = Item(1, "板蓝根颗粒", 1500, 4, ("cold_flu",), "白云山", "otc_b")
B = Item(2, "布洛芬缓释胶囊", 2980, 2, ("pain_fever",), "芬必得", "otc_a")
RX = Item(3, "苯磺酸氨氯地平片", 3380, 1, ("hypertension",), "络活喜", "rx")
TIERS = Rule(10, "满100减10 满200减30", "spend_tier",
             {"tiers": [{"threshold_fen": 10000, "off_fen": 1000}, {"threshold_fen": 20000, "off_fen": 3000}]})


def test_spend_tiers_pick_the_highest_reached():
    # 4 x 15.00 + 2 x 29.80 = 119.60: the 100 tier applies, the 200 tier does not.
    b = price(PricingInput(items=(A, B), rules=(TIERS,)))
    assert b.subtotal_fen == 11960 and b.discount_fen == 1000 and b.total_fen == 10960
    assert sum(a.amount_fen for line in b.lines for a in line.adjustments) == 1000
    assert [line.final_fen for line in b.lines] == [6000 - 502, 5960 - 498]  # spread in proportion


def test_rx_lines_take_no_promotion_and_do_not_count_towards_thresholds():
    b = price(PricingInput(items=(RX, A), rules=(TIERS, Rule(11, "全场9折", "catalog_discount", {"percent_off": 10}))))
    rx_line = b.lines[0]
    assert rx_line.adjustments == [] and rx_line.final_fen == 3380
    assert b.discount_fen == percent_of(1500, 10) * 4  # 60.00 - 10% on 板蓝根 only; 54.00 is below 100


def test_coupon_minimum_spend_is_checked_after_discounts():
    coupon = CouponOffer(grant_id=7, coupon_id=1, name="满100减15", kind="amount_off", amount_off_fen=1500,
                         min_spend_fen=10000)
    # 119.60 - 10.00 (tier) = 109.60 >= 100: the coupon applies.
    ok = price(PricingInput(items=(A, B), rules=(TIERS,), coupon=coupon))
    assert ok.coupon_problem is None and ok.total_fen == 11960 - 1000 - 1500 + 1000  # 94.60 < 99: shipping
    # With a 10% catalog discount first, 107.64 - 10 = 97.64 < 100: the coupon does not apply.
    discounted = price(PricingInput(items=(A, B), rules=(TIERS, Rule(11, "9折", "catalog_discount",
                                                                          {"percent_off": 10})), coupon=coupon))
    assert discounted.coupon_problem == "COUPON_MIN_SPEND"


def test_flash_sale_units_within_allowance_only():
    flash = Rule(20, "秒杀", "flash_sale", {"product_id": 1, "sale_price_fen": 990})
    b = price(PricingInput(items=(A,), rules=(flash, TIERS), flash_allowance=((20, 1),)))
    line = b.lines[0]
    assert line.flash_units == 1 and line.adjustments[0].amount_fen == 1500 - 990
    assert b.goods_fen == 990 + 3 * 1500  # 3 units at list price; 45.00 reaches no tier


def test_member_price_and_catalog_discount_do_not_stack():
    member = Rule(30, "会员价", "member_price", {"level_percent": {"1": 95, "2": 90}})
    catalog = Rule(31, "品牌日", "catalog_discount", {"percent_off": 8, })
    gold = price(PricingInput(items=(A,), rules=(member, catalog), member_level=2))
    assert [a.label for a in gold.lines[0].adjustments] == ["会员价"] and gold.discount_fen == 600
    silver = price(PricingInput(items=(A,), rules=(member, catalog), member_level=1))
    assert [a.label for a in silver.lines[0].adjustments] == ["品牌日"] and silver.discount_fen == 480


def test_points_and_shipping():
    small = Item(1, "创可贴", 500, 1, ("device_firstaid",), "邦迪", "device")
    b = price(PricingInput(items=(small,), points_balance=1000, points_to_redeem=1000))
    assert b.points_redeemed == 250 and b.points_fen == 250  # at most 50% of the goods
    assert b.shipping_fen == 1000 and b.total_fen == 500 - 250 + 1000
    free = price(PricingInput(items=(small,), rules=(Rule(40, "满5包邮", "free_shipping", {"threshold_fen": 500}),)))
    assert free.shipping_fen == 0


def test_gifts_are_never_prescription_or_otc_a_drugs():
    good = Rule(50, "满50赠口罩", "gift", {"threshold_fen": 5000, "gift_product_id": 99, "gift_name": "口罩",
                                        "gift_drug_class": "device"})
    bad = Rule(51, "满50赠药", "gift", {"threshold_fen": 5000, "gift_product_id": 98, "gift_drug_class": "otc_a"})
    b = price(PricingInput(items=(A,), rules=(good, bad)))
    assert b.gifts == [(99, "口罩", 1)]


def test_no_personal_features_go_into_pricing():
    allowed = {"items", "rules", "coupon", "member_level", "points_balance", "points_to_redeem",
               "flash_allowance", "at", "policy"}
    assert {f.name for f in dataclasses.fields(PricingInput)} == allowed
    assert {f.name for f in dataclasses.fields(Item)} == {"product_id", "name", "price_fen", "quantity",
                                                          "category_path", "brand", "drug_class"}


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_spread_is_exact(total, weights):
    shares = spread(total, weights)
    if sum(weights) and total:
        assert sum(shares) == total and all(s >= 0 for s in shares)
        assert all(s == 0 for s, w in zip(shares, weights) if w == 0)
    else:
        assert shares == [0] * len(weights)


# --- random carts ---------------------------------------------------------------------------------------

CLASSES = ["rx", "otc_a", "otc_b", "device", "health_food", "other"]
CATS = ["cold_flu", "pain_fever", "device", "vitamins"]

items = st.builds(lambda pid, p, q, cat, cls, brand: Item(pid, f"p{pid}", p, q, (cat,), brand, cls),
                  st.integers(1, 6), st.integers(1, 200_000), st.integers(1, 9), st.sampled_from(CATS),
                  st.sampled_from(CLASSES), st.sampled_from(["A", "B", ""]))
scopes = st.builds(lambda pids, cats: Scope(frozenset(pids), frozenset(cats)),
                   st.sets(st.integers(1, 6), max_size=2), st.sets(st.sampled_from(CATS), max_size=2))
rules = st.one_of(
    st.builds(lambda i, pct, off, s, pr: Rule(i, "cat", "catalog_discount",
                                              {"percent_off": pct} if off == 0 else {"amount_off_fen": off}, s, pr),
              st.integers(100, 199), st.integers(0, 100), st.integers(0, 300_000), scopes, st.integers(0, 5)),
    st.builds(lambda i, t1, o1, t2, o2, s, ex: Rule(i, "tier", "spend_tier", {"tiers": [
        {"threshold_fen": t1, "off_fen": o1}, {"threshold_fen": t1 + t2, "off_fen": o1 + o2}]}, s, 0, ex),
              st.integers(200, 299), st.integers(0, 500_000), st.integers(0, 500_000), st.integers(0, 500_000),
              st.integers(0, 500_000), scopes, st.booleans()),
    st.builds(lambda i, th, pct, s: Rule(i, "pct", "spend_percent", {"threshold_fen": th, "percent_off": pct}, s),
              st.integers(300, 399), st.integers(0, 500_000), st.integers(0, 100), scopes),
    st.builds(lambda i, lv: Rule(i, "member", "member_price", {"level_percent": {"1": lv, "2": lv - 5}}),
              st.integers(400, 499), st.integers(50, 100)),
    st.builds(lambda i, pid, sp: Rule(i, "flash", "flash_sale", {"product_id": pid, "sale_price_fen": sp}),
              st.integers(500, 599), st.integers(1, 6), st.integers(1, 300_000)),
    st.builds(lambda i, th: Rule(i, "ship", "free_shipping", {"threshold_fen": th}), st.integers(600, 699),
              st.integers(0, 500_000)),
)
coupons = st.one_of(st.none(), st.builds(
    lambda kind, off, pct, cap, mins, s: CouponOffer(1, 1, "c", kind, off, pct, cap, mins, s),
    st.sampled_from(["amount_off", "percent_off"]), st.integers(0, 500_000), st.integers(0, 100),
    st.integers(0, 100_000), st.integers(0, 500_000), scopes))


@settings(max_examples=400, deadline=None)
@given(st.lists(items, min_size=1, max_size=6, unique_by=lambda i: i.product_id),
       st.lists(rules, max_size=6, unique_by=lambda r: r.id), coupons, st.integers(0, 3),
       st.integers(0, 100_000), st.integers(0, 100_000), st.lists(st.tuples(st.integers(500, 599), st.integers(0, 5))))
def test_invariants_on_random_carts(cart, rule_list, coupon, level, balance, redeem, allowance):
    inp = PricingInput(items=tuple(cart), rules=tuple(rule_list), coupon=coupon, member_level=level,
                       points_balance=balance, points_to_redeem=redeem, flash_allowance=tuple(allowance))
    b = price(inp)
    assert b == price(inp)  # deterministic
    for item, line in zip(cart, b.lines):
        assert all(a.amount_fen >= 0 for a in line.adjustments)
        assert 0 <= line.final_fen <= line.list_total_fen  # never a negative price
        if item.drug_class == "rx":
            assert line.adjustments == []
        flash_rules = [r.id for r in rule_list if r.kind == "flash_sale" and r.rules["product_id"] == item.product_id]
        assert line.flash_units <= max((dict(allowance).get(flash_rules[0], 0) if flash_rules else 0), 0)
    assert b.goods_fen == sum(line.final_fen for line in b.lines) + b.points_fen
    assert b.subtotal_fen - b.goods_fen == b.discount_fen >= 0
    assert b.total_fen == b.goods_fen - b.points_fen + b.shipping_fen >= 0
    assert sum(a.amount_fen for a in b.applied) == b.discount_fen + b.points_fen  # every fen accounted for once
    assert b.points_redeemed <= min(balance, redeem) and b.points_fen <= b.goods_fen
    if coupon is not None and b.coupon_problem is None:
        assert len([a for a in b.applied if a.source == "coupon"]) == 1
        # The minimum spend was met by what the covered lines cost after promotions (flash units excluded).
        base = 0
        for item, line in zip(cart, b.lines):
            if coupon.scope.covers(item) and item.drug_class != "rx":
                base += line.list_price_fen * (line.quantity - line.flash_units) - sum(
                    a.amount_fen for a in line.adjustments
                    if a.kind in ("catalog_discount", "member_price", "spend_tier", "spend_percent"))
        assert base >= coupon.min_spend_fen
    assert b.shipping_fen in (0, Policy().shipping_fen)
