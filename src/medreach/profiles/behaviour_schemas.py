"""API shapes of the behaviour analysis (`profiles.behaviour`): money in fen, days as Shanghai dates, rates as
shares of 1 (None where there is nothing to divide by)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

Step = Literal["view", "cart", "checkout", "paid"]


class BoundsOut(BaseModel):
    first_day: date | None
    last_day: date | None
    channels: list[str]
    devices: list[str]


class RangeOut(BaseModel):
    start: date
    end: date
    channel: str | None
    device: str | None


class OverviewOut(BaseModel):
    sessions: int
    people: int
    signed_in: int
    events: int
    product_views: int
    searches: int
    cart_adds: int
    orders: int
    buyers: int
    revenue_fen: int
    aov_fen: int | None
    session_conversion: float | None
    search_to_purchase: float | None
    zero_result_share: float | None
    reviews: int
    average_rating: float | None


class OverviewPage(BaseModel):
    range: RangeOut
    bounds: BoundsOut
    built_at: datetime
    overview: OverviewOut


class StepOut(BaseModel):
    step: Step
    people: int
    sessions: int
    people_rate: float | None  # of the people who viewed
    sessions_rate: float | None
    people_from_previous: float | None
    sessions_from_previous: float | None


class BreakdownOut(BaseModel):
    key: str
    steps: list[StepOut]


class FunnelOut(BaseModel):
    range: RangeOut
    window_days: int
    steps: list[StepOut]
    by: Literal["day", "channel", "device"] | None
    breakdown: list[BreakdownOut]


class TermOut(BaseModel):
    term: str
    searches: int
    people: int
    zero_results: int
    average_results: float | None
    purchase_rate: float | None


class SearchesOut(BaseModel):
    searches: int
    people: int
    zero_results: int
    zero_result_share: float | None
    search_to_purchase: float | None
    top: list[TermOut]
    zero_result_terms: list[TermOut]


class SearchesPage(SearchesOut):
    range: RangeOut


class ViewedOut(BaseModel):
    key: str
    views: int
    people: int


class BrowsingOut(BaseModel):
    views: int
    categories: list[ViewedOut]
    brands: list[ViewedOut]
    price_bands: list[ViewedOut]  # keys in yuan: '0-20', '20-50', … '500+'


class BrowsingPage(BrowsingOut):
    range: RangeOut


class SeriesOut(BaseModel):
    key: str  # a category code, or 'other'
    views: list[int]
    people: list[int]


class InterestOut(BaseModel):
    range: RangeOut
    interval: Literal["day", "week"]
    periods: list[date]  # a day, or the Monday of a week
    series: list[SeriesOut]


class DailyOrdersOut(BaseModel):
    day: date
    orders: int
    buyers: int
    revenue_fen: int
    aov_fen: int


class BuyersBandOut(BaseModel):
    key: str
    buyers: int


class OrdersBandOut(BaseModel):
    key: str
    orders: int


class CategorySalesOut(BaseModel):
    key: str
    revenue_fen: int
    quantity: int
    orders: int
    buyers: int


class PurchasesOut(BaseModel):
    orders: int
    buyers: int
    revenue_fen: int
    discount_fen: int
    aov_fen: int | None
    orders_per_buyer: float | None
    items_per_order: float | None
    discounted_share: float | None
    daily: list[DailyOrdersOut]
    frequency: list[BuyersBandOut]  # orders per buyer: '1' … '5+'
    order_values: list[OrdersBandOut]  # order totals in yuan: '0-50' … '500+'
    basket_sizes: list[OrdersBandOut]  # items per order: '1' … '5+'
    categories: list[CategorySalesOut]


class PurchasesPage(PurchasesOut):
    range: RangeOut


class RatingOut(BaseModel):
    rating: int
    reviews: int


class DailyReviewsOut(BaseModel):
    day: date
    reviews: int
    average_rating: float


class CategoryReviewsOut(BaseModel):
    key: str
    reviews: int
    average_rating: float


class InteractionsOut(BaseModel):
    reviews: int
    people: int
    average_rating: float | None
    ratings: list[RatingOut]
    daily: list[DailyReviewsOut]
    categories: list[CategoryReviewsOut]


class InteractionsPage(InteractionsOut):
    range: RangeOut


class StepSessionsOut(BaseModel):
    step: Step
    sessions: int


class WeekOut(BaseModel):
    week: date
    sessions: int
    events: int
    paid: int


class KeySessionsOut(BaseModel):
    key: str
    sessions: int


class CustomerBehaviourOut(BaseModel):
    user_id: str
    range: RangeOut
    first_seen: datetime | None
    last_seen: datetime | None
    summary: OverviewOut
    funnel: list[StepSessionsOut]
    weekly: list[WeekOut]
    channels: list[KeySessionsOut]
    devices: list[KeySessionsOut]
    browsing: BrowsingOut
    searches: SearchesOut
    purchases: PurchasesOut
    interactions: InteractionsOut
