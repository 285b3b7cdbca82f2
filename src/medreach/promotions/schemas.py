"""API shapes for promotions, coupons, flash sales, membership and price breakdowns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from medreach.core.params import Moment, RowId
from medreach.core.schemas import InputModel

Fen = Annotated[int, Field(ge=0, le=100_000_000)]
Percent = Annotated[int, Field(ge=1, le=99)]
LifecycleState = Literal["draft", "in_review", "scheduled", "running", "paused", "ended"]
Kind = Literal["catalog_discount", "spend_tier", "spend_percent", "free_shipping", "gift", "member_price", "flash_sale"]


class ScopeIn(InputModel):
    product_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(max_length=500)] = []
    category_codes: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=100)] = []
    brands: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] = []


class Tier(InputModel):
    threshold_fen: Annotated[int, Field(ge=1, le=100_000_000)]
    off_fen: Annotated[int, Field(ge=1, le=100_000_000)]


class CatalogDiscountRules(InputModel):
    percent_off: Percent | None = None
    amount_off_fen: Annotated[int, Field(ge=1, le=100_000_000)] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.percent_off is None) == (self.amount_off_fen is None):
            raise ValueError("give exactly one of percent_off or amount_off_fen")
        return self


class SpendTierRules(InputModel):
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=10)]

    @model_validator(mode="after")
    def _sane(self):
        if any(t.off_fen >= t.threshold_fen for t in self.tiers):
            raise ValueError("each tier must take off less than its threshold")
        return self


class SpendPercentRules(InputModel):
    threshold_fen: Fen
    percent_off: Percent


class FreeShippingRules(InputModel):
    threshold_fen: Fen


class GiftRules(InputModel):
    threshold_fen: Fen
    gift_product_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    quantity: Annotated[int, Field(ge=1, le=10)] = 1


class MemberPriceRules(InputModel):
    level_percent: dict[Literal["1", "2", "3"], Annotated[int, Field(ge=50, le=99)]]


class FlashSaleRules(InputModel):
    product_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    sale_price_fen: Annotated[int, Field(ge=1, le=100_000_000)]
    sale_stock: Annotated[int, Field(ge=1, le=1_000_000)]
    per_user_limit: Annotated[int, Field(ge=1, le=99)] = 1


RULES_FOR: dict[str, type[BaseModel]] = {
    "catalog_discount": CatalogDiscountRules,
    "spend_tier": SpendTierRules,
    "spend_percent": SpendPercentRules,
    "free_shipping": FreeShippingRules,
    "gift": GiftRules,
    "member_price": MemberPriceRules,
    "flash_sale": FlashSaleRules,
}


class PromotionIn(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Kind
    starts_at: Moment
    ends_at: Moment
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    exclusive: bool = False
    scope: ScopeIn = ScopeIn()
    rules: dict

    @model_validator(mode="after")
    def _window(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class PromotionPatch(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    priority: Annotated[int, Field(ge=0, le=100)] | None = None
    exclusive: bool | None = None
    scope: ScopeIn | None = None
    rules: dict | None = None


class ReviewIn(InputModel):
    decision: Literal["approve", "reject"]
    note: Annotated[str, Field(max_length=255)] = ""


class ActionIn(InputModel):
    action: Literal["submit", "pause", "resume", "end"]


class PromotionOut(BaseModel):
    id: int
    name: str
    kind: str
    status: str
    state: LifecycleState
    starts_at: datetime
    ends_at: datetime
    priority: int
    exclusive: bool
    scope: dict
    rules: dict
    review_note: str
    created_by: int | None
    reviewed_by: int | None
    flash: dict | None = None  # for flash sales: product, price, stock, remaining, per-user limit


class PromotionResults(BaseModel):
    promotion_id: int
    orders: int
    gmv_fen: int
    discount_fen: int
    units: int


class CouponIn(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["amount_off", "percent_off"]
    amount_off_fen: Fen = 0
    percent_off: Annotated[int, Field(ge=0, le=99)] = 0
    max_off_fen: Fen = 0
    min_spend_fen: Fen = 0
    scope: ScopeIn = ScopeIn()
    valid_from: Moment
    valid_to: Moment
    per_user_limit: Annotated[int, Field(ge=1, le=100)] = 1
    total_limit: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    claimable: bool = True
    public_code: Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Z0-9-]+$")] | None = None
    min_member_level: Annotated[int, Field(ge=0, le=3)] = 0

    @model_validator(mode="after")
    def _valid(self):
        if self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.kind == "amount_off" and self.amount_off_fen <= 0:
            raise ValueError("amount_off_fen must be positive for an amount_off coupon")
        if self.kind == "percent_off" and not 1 <= self.percent_off <= 99:
            raise ValueError("percent_off must be 1-99 for a percent_off coupon")
        if self.kind == "amount_off" and self.min_spend_fen and self.amount_off_fen >= self.min_spend_fen:
            raise ValueError("a coupon must take off less than its minimum spend")
        return self


class CouponOut(BaseModel):
    id: int
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_off_fen: int
    min_spend_fen: int
    scope: dict
    valid_from: datetime
    valid_to: datetime
    per_user_limit: int
    total_limit: int
    issued: int
    claimable: bool
    public_code: str | None
    min_member_level: int
    status: str
    review_note: str


class GrantOut(BaseModel):
    id: int
    coupon: CouponOut
    status: str
    code: str | None
    granted_at: datetime
    usable_now: bool


class RedeemIn(InputModel):
    code: Annotated[str, Field(min_length=4, max_length=32)]


class BulkCodesIn(InputModel):
    count: Annotated[int, Field(ge=1, le=10_000)]


class IssueIn(InputModel):
    user_ids: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]], Field(min_length=1, max_length=1000)]


class AdjustmentOut(BaseModel):
    source: str
    source_id: int | None
    kind: str
    label: str
    amount_fen: int
    product_id: int | None


class PricedLineOut(BaseModel):
    product_id: int
    quantity: int
    list_price_fen: int
    list_total_fen: int
    flash_units: int
    discount_fen: int
    final_fen: int
    adjustments: list[AdjustmentOut]


class BreakdownOut(BaseModel):
    lines: list[PricedLineOut]
    applied: list[AdjustmentOut]
    subtotal_fen: int
    discount_fen: int
    goods_fen: int
    points_redeemed: int
    points_fen: int
    shipping_fen: int
    total_fen: int
    points_earned: int
    gifts: list[dict]
    coupon_problem: str | None
    free_shipping_from_fen: int  # the free-shipping threshold in force for this cart (goods after discounts)
    free_shipping_gap_fen: int  # what the goods still lack for free shipping; 0 when it is free


class ShippingTermsOut(BaseModel):
    """The shipping the storefront advertises, from the settings and the running free-shipping promotions."""

    shipping_fen: int  # the flat fee below the threshold
    free_shipping_from_fen: int  # goods after discounts from which shipping is free
    promotion_name: str | None  # the running promotion that sets the threshold, when one does


class PreviewItem(BaseModel):
    product_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    quantity: Annotated[int, Field(ge=1, le=999)]


class PreviewIn(InputModel):
    """A sample cart for the console's price preview (no buyer: level and points are given)."""

    items: Annotated[list[PreviewItem], Field(min_length=1, max_length=50)]
    member_level: Annotated[int, Field(ge=0, le=3)] = 0
    coupon_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    at: Moment | None = None
    include_promotion_ids: Annotated[list[RowId], Field(max_length=50)] = []  # drafts to try out as if running


class MembershipOut(BaseModel):
    level: int
    level_name: str
    spend_12m_fen: int
    next_level_name: str | None
    next_level_at_fen: int | None
    points: int
    levels: list[dict]


class PointsEntryOut(BaseModel):
    id: int
    delta: int
    balance: int
    reason: str
    order_id: int | None
    at: datetime
