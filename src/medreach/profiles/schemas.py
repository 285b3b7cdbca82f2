"""API shapes of the profiles domain: the tag catalogue and the customer 360 view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from medreach.accounts.schemas import UserDetailOut, UserOut
from medreach.core.schemas import InputModel

TAG_CODE = r"^[a-z][a-z0-9_]{1,63}$"
TagCode = Annotated[str, Field(pattern=TAG_CODE, description="lower-case letters, digits and _")]


def _cron(value: str | None) -> str | None:
    if value is not None and not croniter.is_valid(value):
        raise ValueError("not a cron expression (minute hour day month weekday, Beijing time)")
    return value


Cron = Annotated[str | None, Field(max_length=64), AfterValidator(_cron)]


class RuleDefinition(InputModel):
    """A rule tag: customers matching `when` (a condition tree, as segments use) get `value`."""

    model_config = ConfigDict(extra="forbid")
    when: dict[str, Any] = Field(description="condition tree: all/any/not over field, tag and event conditions")
    value: Annotated[str, Field(min_length=1, max_length=32)] = "yes"


class TagIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    code: TagCode
    name_zh: Annotated[str, Field(min_length=1, max_length=64)]
    name_en: Annotated[str, Field(max_length=64)] = ""
    description: Annotated[str, Field(max_length=500)] = ""
    kind: Literal["rule", "import"]
    definition: RuleDefinition | None = Field(default=None, description="required for rule tags")
    schedule: Cron = None


class TagPatch(InputModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    name_en: Annotated[str, Field(max_length=64)] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    definition: RuleDefinition | None = None
    schedule: Cron = None


class TagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    description: str
    family: str
    kind: str
    definition: dict[str, Any]
    schedule: str | None
    owner_id: int | None
    owner_name: str | None = None  # the owner's display name (in the catalogue's list)
    sensitive: bool
    coverage: float | None
    customers: int | None
    computed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ValueCount(BaseModel):
    value: str | None
    customers: int
    mean_score: float | None


class Bin(BaseModel):
    lo: float
    hi: float
    customers: int


class TagDetailOut(TagOut):
    distribution: list[ValueCount]
    histogram: list[Bin]
    total_customers: int


class ImportReport(BaseModel):
    rows: int
    imported: int
    unknown: int
    unknown_ids: list[str] = Field(description="the first 20 ids that are not customers in the profile store")
    duplicates: int


class RunOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    job: str
    status: str


class CustomerSummary(BaseModel):
    orders: int | None = None
    monetary_fen: int | None = None
    rfm_group: str | None = None
    last_order_at: datetime | None = None
    last_seen_at: datetime | None = None
    age_band: str | None = None
    city_tier: int | None = None


RFM_GROUP_NAMES = (
    "重要价值客户",
    "重要发展客户",
    "重要保持客户",
    "重要挽留客户",
    "一般价值客户",
    "一般发展客户",
    "一般保持客户",
    "一般挽留客户",
)
AGE_BAND_NAMES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


class CustomerFilters(BaseModel):
    """Filters of the customer list over the profile store (all must hold)."""

    rfm_group: str | None = None
    city_tier: int | None = None
    age_band: str | None = None
    min_orders: int | None = None


class CustomerRow(UserOut):
    profile: CustomerSummary | None


class TagValueOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    family: str
    kind: str
    value: str | None
    score: float | None
    evidence: dict[str, Any]
    computed_at: datetime | None


class InterestOut(BaseModel):
    kind: str
    key: str
    score: float


class ActivityOut(BaseModel):
    day: str
    event: str
    count: int


class MembershipOut(BaseModel):
    """A segment the customer is in now, and since when (the customer 360's segments)."""

    id: int
    name: str
    since: datetime
    sensitive: bool = Field(False, description="the segment reads health data (shown with profiles:read_health)")


class CustomerProfileOut(BaseModel):
    user: UserDetailOut
    built: bool = Field(description="whether a profile build has been published")
    as_of: datetime | None
    profile: dict[str, Any] | None = Field(description="the customer's row of the wide table (None: no activity)")
    tags: list[TagValueOut]
    interests: list[InterestOut]
    activity: list[ActivityOut]
    segments: list[MembershipOut] = Field(
        description="the segments the customer is in now, those that read health data apart (with the health tags)"
    )
    timeline_user_id: str
    can_read_health: bool


class HealthRowOut(BaseModel):
    condition: str
    name_zh: str
    name_en: str
    confidence: float
    evidence: dict[str, Any]
    medicine_product_id: int | None
    next_refill_date: str | None


class CustomerHealthOut(BaseModel):
    user_id: int
    consent: bool = Field(description="health_profile consent in force now (the ledger, not the build)")
    conditions: list[HealthRowOut]
    segments: list[MembershipOut] = Field(
        description="the segments that read health data the customer is in (none without the consent)"
    )


class MyTagOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    family: str
    value: str | None
    computed_at: datetime | None


class ProfilesStatusOut(BaseModel):
    built: bool
    manifest: dict[str, Any] | None
