"""The one pricing engine: a pure function from a cart to a price breakdown.

Stacking rules, in the order they are applied (docs/promotions.md explains them for marketers):

1. Prescription (Rx) lines take no promotion, coupon or points of any kind: they are never marketed.
2. Flash sale: up to the buyer's allowance (sale stock left and the per-user limit), units are sold at
   the sale price. Flash units take no further discount and do not count towards spend thresholds.
3. Line level, one per line: the best of the running catalog discounts (percent or fixed per unit, by
   product, category or brand) and the member price for the buyer's level. Never below zero per unit.
4. Order level, one per order: the best of the running spend-X-save-Y tiers and spend-X-get-%-off rules,
   measured on the amount left after steps 2-3 of the lines in the rule's scope.
5. Coupon, one per order: its minimum spend is checked on the amount left after steps 3-4 of the lines in
   its scope. An `exclusive` promotion from step 4 excludes coupons.
6. Points: redeemed at `points_per_yuan` points to 1 yuan, at most `max_points_ratio` of the goods amount.
7. Shipping: free when a free-shipping rule's threshold or the default threshold is met by the goods
   amount after discounts; otherwise the flat fee.
8. Gifts: non-drug gifts (never Rx or OTC class A) whose threshold the eligible amount meets.

Order-level, coupon and points discounts are spread over the lines they applied to, in proportion, with
the largest-remainder method: fen are never lost or invented, and each line's share is known for refunds.
All amounts are integers in fen; the only rounding is `percent_of` (floor).

No personal profile feature is an input (PIPL Art 24; 算法推荐管理规定 Art 21): `PricingInput` carries the
member level (from the buyer's own past spend) and points, nothing about who the buyer is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

GIFT_FORBIDDEN_CLASSES = ("rx", "otc_a")  # 买药品赠药品 ban (Order 84 Art 42)


@dataclass(frozen=True)
class Scope:
    product_ids: frozenset[int] = frozenset()
    category_codes: frozenset[str] = frozenset()
    brands: frozenset[str] = frozenset()

    @classmethod
    def of(cls, raw: dict | None) -> Scope:
        raw = raw or {}
        return cls(
            frozenset(raw.get("product_ids", [])),
            frozenset(raw.get("category_codes", [])),
            frozenset(raw.get("brands", [])),
        )

    def covers(self, item: Item) -> bool:
        if not (self.product_ids or self.category_codes or self.brands):
            return True
        return (
            item.product_id in self.product_ids
            or bool(self.category_codes & set(item.category_path))
            or item.brand in self.brands
        )


@dataclass(frozen=True)
class Item:
    product_id: int
    name: str
    price_fen: int
    quantity: int
    category_path: tuple[str, ...]
    brand: str
    drug_class: str


@dataclass(frozen=True)
class Rule:
    """A running promotion, as the engine sees it."""

    id: int
    name: str
    kind: str
    rules: dict
    scope: Scope = Scope()
    priority: int = 0
    exclusive: bool = False


@dataclass(frozen=True)
class CouponOffer:
    grant_id: int
    coupon_id: int
    name: str
    kind: str  # amount_off | percent_off
    amount_off_fen: int = 0
    percent_off: int = 0
    max_off_fen: int = 0
    min_spend_fen: int = 0
    scope: Scope = Scope()


@dataclass(frozen=True)
class Policy:
    shipping_fen: int = 1000
    free_shipping_from_fen: int = 9900
    points_per_yuan: int = 100
    max_points_ratio_percent: int = 50
    earn_percent_by_level: tuple[int, ...] = (100, 120, 150, 200)  # points per yuan paid, x100


@dataclass(frozen=True)
class PricingInput:
    items: tuple[Item, ...]
    rules: tuple[Rule, ...] = ()
    coupon: CouponOffer | None = None
    member_level: int = 0
    points_balance: int = 0
    points_to_redeem: int = 0
    flash_allowance: tuple[tuple[int, int], ...] = ()  # (promotion id, units this buyer may still buy)
    at: datetime | None = None
    policy: Policy = Policy()


@dataclass
class Adjustment:
    source: str  # promotion | coupon | points
    source_id: int | None
    kind: str
    label: str
    amount_fen: int
    product_id: int | None = None


@dataclass
class PricedLine:
    product_id: int
    quantity: int
    list_price_fen: int
    list_total_fen: int
    flash_units: int = 0
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def discount_fen(self) -> int:
        return sum(a.amount_fen for a in self.adjustments)

    @property
    def final_fen(self) -> int:
        return self.list_total_fen - self.discount_fen


@dataclass
class Breakdown:
    lines: list[PricedLine]
    applied: list[Adjustment]  # every discount, order-level ones once (not per line)
    subtotal_fen: int  # list prices
    discount_fen: int
    goods_fen: int  # after every discount but points
    points_redeemed: int
    points_fen: int
    shipping_fen: int
    total_fen: int
    points_earned: int
    gifts: list[tuple[int, str, int]] = field(default_factory=list)  # (product id, name, quantity)
    coupon_problem: str | None = None  # why the chosen coupon did not apply
    free_shipping_from_fen: int = 0  # the lowest free-shipping threshold in force (a rule's or the default)
    free_shipping_gap_fen: int = 0  # what the goods still lack to reach it; 0 when shipping is free


def percent_of(amount_fen: int, percent: int) -> int:
    """The one rounding rule: a percentage of an amount, floored to the fen."""
    return amount_fen * percent // 100


def spread(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` in proportion, exactly (largest remainder)."""
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: total * weights[i] % whole, reverse=True)
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _line_discount(rule: Rule, item: Item, units: int, level: int) -> int:
    """Discount on `units` of a line from one line-level rule (0 if it does not apply)."""
    if not rule.scope.covers(item) or units <= 0:
        return 0
    r = rule.rules
    if rule.kind == "catalog_discount":
        per_unit = r.get("amount_off_fen", 0) or percent_of(item.price_fen, r.get("percent_off", 0))
    elif rule.kind == "member_price":
        prices = {int(k): v for k, v in r.get("level_percent", {}).items() if int(k) <= level}
        if not prices:
            return 0
        per_unit = item.price_fen - percent_of(item.price_fen, min(prices.values()))
    else:
        return 0
    return min(per_unit, item.price_fen) * units


def _order_discount(rule: Rule, eligible_fen: int) -> int:
    r = rule.rules
    if rule.kind == "spend_tier":
        reached = [t["off_fen"] for t in r.get("tiers", []) if eligible_fen >= t["threshold_fen"]]
        return min(max(reached, default=0), eligible_fen)
    if rule.kind == "spend_percent" and eligible_fen >= r.get("threshold_fen", 0):
        return percent_of(eligible_fen, r.get("percent_off", 0))
    return 0


def price(inp: PricingInput) -> Breakdown:
    policy = inp.policy
    allowance = dict(inp.flash_allowance)
    lines = [PricedLine(i.product_id, i.quantity, i.price_fen, i.price_fen * i.quantity) for i in inp.items]
    applied: list[Adjustment] = []
    # The part of each line still open to order-level discounts (not Rx, not flash units).
    open_fen = [0] * len(lines)

    for n, (item, line) in enumerate(zip(inp.items, lines, strict=False)):
        if item.drug_class == "rx":
            continue
        units = item.quantity
        for rule in inp.rules:  # 2. flash sale
            if rule.kind == "flash_sale" and rule.rules.get("product_id") == item.product_id:
                take = min(units, max(allowance.get(rule.id, 0), 0))
                if take:
                    off = (item.price_fen - min(rule.rules["sale_price_fen"], item.price_fen)) * take
                    allowance[rule.id] -= take
                    line.flash_units, units = take, units - take
                    line.adjustments.append(
                        Adjustment("promotion", rule.id, "flash_sale", rule.name, off, item.product_id)
                    )
                break
        best = max(
            (
                (_line_discount(r, item, units, inp.member_level), r.priority, r)
                for r in inp.rules
                if r.kind in ("catalog_discount", "member_price")
            ),
            key=lambda t: (t[0], t[1]),
            default=None,
        )
        if best and best[0] > 0:
            line.adjustments.append(
                Adjustment("promotion", best[2].id, best[2].kind, best[2].name, best[0], item.product_id)
            )
        open_fen[n] = item.price_fen * units - (best[0] if best else 0)

    def eligible(scope: Scope) -> list[int]:
        return [open_fen[n] if scope.covers(item) else 0 for n, item in enumerate(inp.items)]

    def allocate(adj: Adjustment, weights: list[int]) -> None:
        applied.append(adj)
        for n, share in enumerate(spread(adj.amount_fen, weights)):
            if share:
                lines[n].adjustments.append(
                    Adjustment(adj.source, adj.source_id, adj.kind, adj.label, share, lines[n].product_id)
                )
                open_fen[n] -= share

    # 4. one order-level promotion: the largest discount (priority breaks ties)
    candidates = [
        (_order_discount(r, sum(eligible(r.scope))), r.priority, r)
        for r in inp.rules
        if r.kind in ("spend_tier", "spend_percent")
    ]
    best_order = max(candidates, key=lambda t: (t[0], t[1]), default=None)
    exclusive = False
    if best_order and best_order[0] > 0:
        rule = best_order[2]
        allocate(Adjustment("promotion", rule.id, rule.kind, rule.name, best_order[0]), eligible(rule.scope))
        exclusive = rule.exclusive

    # 5. one coupon
    coupon_problem = None
    c = inp.coupon
    if c is not None:
        weights = eligible(c.scope)
        base = sum(weights)
        if exclusive:
            coupon_problem = "COUPON_NOT_COMBINABLE"
        elif base <= 0:
            coupon_problem = "COUPON_NOT_APPLICABLE"
        elif base < c.min_spend_fen:
            coupon_problem = "COUPON_MIN_SPEND"
        else:
            off = c.amount_off_fen if c.kind == "amount_off" else percent_of(base, c.percent_off)
            if c.kind == "percent_off" and c.max_off_fen:
                off = min(off, c.max_off_fen)
            allocate(Adjustment("coupon", c.grant_id, c.kind, c.name, min(off, base)), weights)

    goods = sum(line.final_fen for line in lines)
    # 6. points
    redeem_cap_fen = percent_of(sum(open_fen), policy.max_points_ratio_percent)
    fen_per_point = 100 / policy.points_per_yuan
    points = min(inp.points_to_redeem, inp.points_balance, int(redeem_cap_fen / fen_per_point))
    points = max(points, 0)
    points_fen = int(points * fen_per_point)
    if points_fen:
        allocate(Adjustment("points", None, "points", f"积分抵扣 {points}", points_fen), list(open_fen))
    # 7. shipping
    paid_goods = goods - points_fen
    free_from = free_shipping_from(policy, inp.rules)
    shipping = 0 if subtotal_is_zero(lines) or goods >= free_from else policy.shipping_fen
    # 8. gifts
    gifts = []
    for r in inp.rules:
        if (
            r.kind == "gift"
            and r.rules.get("gift_drug_class") not in GIFT_FORBIDDEN_CLASSES
            and sum(eligible_before_points(inp, r.scope, lines)) >= r.rules.get("threshold_fen", 0)
        ):
            gifts.append((r.rules["gift_product_id"], r.rules.get("gift_name", r.name), r.rules.get("quantity", 1)))
    level = min(inp.member_level, len(policy.earn_percent_by_level) - 1)
    earned = percent_of(paid_goods // 100, policy.earn_percent_by_level[level]) if paid_goods > 0 else 0
    subtotal = sum(line.list_total_fen for line in lines)
    line_level = [
        a
        for line in lines
        for a in line.adjustments
        if a.source == "promotion" and a.kind in ("flash_sale", "catalog_discount", "member_price")
    ]
    return Breakdown(
        lines=lines,
        applied=line_level + applied,
        subtotal_fen=subtotal,
        discount_fen=subtotal - goods,
        goods_fen=goods,
        points_redeemed=points,
        points_fen=points_fen,
        shipping_fen=shipping,
        total_fen=paid_goods + shipping,
        points_earned=earned,
        gifts=gifts,
        coupon_problem=coupon_problem,
        free_shipping_from_fen=free_from,
        free_shipping_gap_fen=free_from - goods if shipping else 0,
    )


def free_shipping_from(policy: Policy, rules: Sequence[Rule]) -> int:
    """The goods amount (after discounts, before points) from which shipping is free: the lowest threshold of
    the running free-shipping rules and the default."""
    return min(
        [policy.free_shipping_from_fen] + [r.rules.get("threshold_fen", 0) for r in rules if r.kind == "free_shipping"]
    )


def subtotal_is_zero(lines: list[PricedLine]) -> bool:
    return sum(line.list_total_fen for line in lines) == 0


def eligible_before_points(inp: PricingInput, scope: Scope, lines: list[PricedLine]) -> list[int]:
    """Line amounts after promotions and coupons (points excluded), for gift thresholds."""
    return [
        line.list_total_fen - sum(a.amount_fen for a in line.adjustments if a.source != "points")
        if scope.covers(item) and item.drug_class != "rx"
        else 0
        for item, line in zip(inp.items, lines, strict=False)
    ]
