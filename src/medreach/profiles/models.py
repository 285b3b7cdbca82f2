"""The profiles domain's tables. The values themselves live in the lake (`profiles/store.py`); the database keeps
what people edit and what must be consistent: the tag catalogue, the segments and their members and history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medreach.core.db import Base, Timestamped, utcnow

FAMILIES = ("demographic", "consumption", "interest", "health", "model", "imported", "custom")
KINDS = ("builtin", "rule", "model", "import")


class TagDefinition(Timestamped, Base):
    """One tag of the catalogue: what it means, how it is computed (`kind` + `definition`), when, by whom, and how
    many customers have a value. Built-in definitions are seeded from `profiles.tags.BUILTIN`."""

    __tablename__ = "tag_definitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    family: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # builtin: {"column", "evidence", "bands"|"levels"}; rule: {"when": condition tree, "value"}; model:
    # {"task"}; import: {"file", "rows", "unknown"}.
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(64))  # cron in Beijing time; None: with every profile build
    owner_id: Mapped[int | None] = mapped_column(Integer)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # health data: always
    coverage: Mapped[float | None] = mapped_column(Float)  # share of customers with a value, at the last computation
    customers: Mapped[int | None] = mapped_column(Integer)  # how many have a value
    computed_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)  # raised by every change of the definition


SEGMENT_KINDS = ("static", "dynamic")
SEGMENT_PURPOSES = ("marketing", "analysis")


class Segment(Timestamped, Base):
    """A segment (用户分群): the customers a condition tree selects (the rule tags' language, `tags.check_tree`),
    less the members of the segments it excludes, less minors when it is for marketing. A static segment is a
    snapshot taken when it is computed; a dynamic one is recomputed on its schedule and whenever the store
    changes. Its members are `segment_members`, every entry and exit `segment_changes`."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(16))  # SEGMENT_KINDS
    purpose: Mapped[str] = mapped_column(String(16))  # SEGMENT_PURPOSES: marketing segments never hold minors
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the condition tree
    exclusions: Mapped[list[int]] = mapped_column(JSON, default=list)  # ids of segments whose members are left out
    owner_id: Mapped[int | None] = mapped_column(Integer)
    schedule: Mapped[str | None] = mapped_column(String(64))  # cron, Beijing time (dynamic); None: on changes only
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)  # the tree reads health data
    impact_assessment_id: Mapped[str | None] = mapped_column(String(64))  # required when sensitive (PIPL Art 55)
    version: Mapped[int] = mapped_column(Integer, default=1)  # raised by every change of what it selects
    size: Mapped[int | None] = mapped_column(Integer)  # members at the last computation
    entered: Mapped[int | None] = mapped_column(Integer)  # who entered and left at the last computation
    left: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime | None] = mapped_column()
    computed_build: Mapped[str | None] = mapped_column(String(64))  # the store version it was computed on
    computed_version: Mapped[int | None] = mapped_column(Integer)  # the segment's version it was computed at


class SegmentMember(Base):
    """A customer in a segment now, since when."""

    __tablename__ = "segment_members"

    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column()


class SegmentChange(Base):
    """One customer entering or leaving a segment: the membership history."""

    __tablename__ = "segment_changes"
    __table_args__ = (Index("ix_segment_changes_segment_at", "segment_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(8))  # entered | left
    reason: Mapped[str] = mapped_column(String(16), default="compute")  # compute | consent
    at: Mapped[datetime] = mapped_column()


MODEL_TASKS = ("propensity_30d", "churn_90d")


class ModelVersion(Base):
    """One trained predictive model (`profiles.propensity`): its task, algorithm, the data it saw (the lake's state
    and the cut-off its features stop at), features, parameters, cross-validated metrics and where its fitted
    estimator is kept. The algorithms of one training share a `run`; at most one version per task is promoted."""

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_task_created", "task", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(32))  # MODEL_TASKS
    algorithm: Mapped[str] = mapped_column(String(32))  # majority | recency | decision_tree | mlp
    run: Mapped[str] = mapped_column(String(32), index=True)  # the training that made it
    snapshot: Mapped[str] = mapped_column(String(64))  # the lake's data the training read (its last event)
    as_of: Mapped[datetime] = mapped_column()  # the cut-off: features before it, labels after it
    horizon_days: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact: Mapped[str] = mapped_column(String(255))  # the fitted estimator, relative to the lake
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    promoted_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
