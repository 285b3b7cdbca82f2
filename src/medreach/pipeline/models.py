"""Job runs (every run of a pipeline job, scheduled, manual or from the CLI, with progress, log and outcome) and
the quality reports that runs produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from medreach.core.db import Base, utcnow


class JobRun(Base):
    __tablename__ = "job_runs"
    # A scheduled fire time is claimed by one process only (several API processes run the scheduler).
    __table_args__ = (UniqueConstraint("job", "scheduled_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual | cli
    scheduled_for: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | succeeded | failed
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255), default="")
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what to run on (a dataset, an uploaded file)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class QualityReport(Base):
    """What one run did to one table: rows in and out per step, drops by reason, values filled and outliers,
    a profile of every column, drift against the subject's previous report, and its expectations."""

    __tablename__ = "quality_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)  # events | dataset:<name>
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the job run that produced it
    status: Mapped[str] = mapped_column(String(16))  # passed | failed (an expectation was broken)
    engine: Mapped[str] = mapped_column(String(16))
    rows_in: Mapped[int] = mapped_column(Integer, default=0)
    rows_out: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
