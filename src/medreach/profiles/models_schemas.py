"""Request and response bodies of the personas, the predictive models and the truth report."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from medreach.core.schemas import InputModel

TaskName = Literal["propensity_30d", "churn_90d"]


class PersonasIn(InputModel):
    k: int | None = Field(default=None, ge=2, le=10, description="a fixed number of clusters; else the silhouette's")
    impact_assessment_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="adds the chronic-care share (consenting customers only): the recorded assessment's id",
    )


class TrainIn(InputModel):
    task: TaskName


class JobStarted(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    job: str
    status: str


class ModelCard(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    task: str
    algorithm: str
    baseline: bool
    run: str
    snapshot: str
    as_of: datetime
    horizon_days: int
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    promoted: bool
    promoted_at: datetime | None
    created_by: int | None
    created_at: datetime


class ScoreOut(BaseModel):
    task: str
    version: int
    algorithm: str
    user_id: str
    score: float
    label: int
    features: dict[str, float]
    computed_at: datetime | None = None


class PersonasOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    computed_at: datetime
    customers: int
    k: int
    features: list[str]
    selection: dict[str, Any]
    clusters: list[dict[str, Any]]
    tree: dict[str, Any]
    impact_assessment_id: str | None = None


class TruthOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    customers: int
    shoppers: int
    consenting: int
    conditions: list[dict[str, Any]]
