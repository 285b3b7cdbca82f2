"""API shapes of segments (`profiles/segments.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medreach.core.params import RowId
from medreach.core.schemas import InputModel
from medreach.profiles.schemas import Cron

Name = Annotated[str, Field(min_length=1, max_length=64)]
Tree = Annotated[
    dict[str, Any],
    Field(description="condition tree: all/any/not over field, tag, event and health conditions (tags.check_tree)"),
]
Exclusions = Annotated[list[RowId], Field(max_length=20, description="ids of segments whose members are left out")]
Impact = Annotated[str | None, Field(max_length=64, description="the impact assessment's id (sensitive trees)")]


class SegmentIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: Annotated[str, Field(max_length=500)] = ""
    kind: Literal["static", "dynamic"]
    purpose: Literal["marketing", "analysis"] = "marketing"
    definition: Tree
    exclusions: Exclusions = Field(default_factory=list)
    schedule: Cron = None
    impact_assessment_id: Impact = None


class SegmentPatch(InputModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    purpose: Literal["marketing", "analysis"] | None = None
    definition: Tree | None = None
    exclusions: Exclusions | None = None
    schedule: Cron = None
    impact_assessment_id: Impact = None


class PreviewIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    definition: Tree
    purpose: Literal["marketing", "analysis"] = "marketing"
    exclusions: Exclusions = Field(default_factory=list)


class MemberOut(BaseModel):
    """A member as staff see them: the phone and e-mail masked as accounts masks customers."""

    user_id: str
    phone: str | None = None
    email: str | None = None
    since: datetime | None = None
    age_band: str | None = None
    city_tier: int | None = None
    rfm_group: str | None = None


class PreviewOut(BaseModel):
    size: int
    sample: list[MemberOut]
    sensitive: bool  # the tree reads health data: an impact assessment id is required, the sample needs permission


class SegmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    kind: str
    purpose: str
    definition: dict[str, Any]
    exclusions: list[int]
    owner_id: int | None
    owner_name: str | None = None
    schedule: str | None
    sensitive: bool
    impact_assessment_id: str | None
    version: int
    size: int | None
    entered: int | None
    left: int | None
    computed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class HistoryDay(BaseModel):
    day: str  # Shanghai day
    entered: int
    left: int
    size: int  # at the day's end


class ChangeOut(BaseModel):
    user_id: str
    change: Literal["entered", "left"]
    reason: str
    at: datetime


class HistoryOut(BaseModel):
    segment_id: int
    days: list[HistoryDay]
    changes: list[ChangeOut]  # the latest (none listed for a sensitive segment)


class OverlapIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    segments: Annotated[list[RowId], Field(min_length=2, max_length=6)]


class OverlapSegment(BaseModel):
    id: int
    name: str
    size: int


class OverlapPair(BaseModel):
    a: int
    b: int
    both: int


class OverlapOut(BaseModel):
    segments: list[OverlapSegment]
    pairs: list[OverlapPair]
    all: int  # in every one of them
