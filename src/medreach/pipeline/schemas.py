"""API shapes of the pipeline: jobs and their runs, lake tables, datasets, quality reports, features."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from medreach.core.schemas import InputModel
from medreach.pipeline.tables import TABLES

TableName = Annotated[str, Field(pattern="^(" + "|".join(TABLES) + ")$")]


class SyncIn(InputModel):
    model_config = ConfigDict(extra="forbid")
    tables: list[TableName] = Field(default_factory=list, max_length=len(TABLES))


class SyncResultOut(BaseModel):
    table: str
    snapshot_date: str
    upserts: int
    deletes: int
    rows: int
    watermark: Any = None


class ColumnTypeOut(BaseModel):
    name: str
    type: str


class LakeTableOut(BaseModel):
    name: str
    watermark_column: str
    key: str
    columns: list[ColumnTypeOut]
    state: dict[str, Any] | None  # None until the first sync
    snapshots: list[str]  # snapshot days (YYYY-MM-DD), oldest first


class LogLineOut(BaseModel):
    at: str
    level: str
    message: str


class JobRunOut(BaseModel):
    id: int
    job: str
    trigger: str
    status: str
    attempt: int
    max_attempts: int
    progress_done: int
    progress_total: int | None
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    requested_by: int | None
    params: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None


class JobRunDetailOut(JobRunOut):
    log: list[LogLineOut]


class JobOut(BaseModel):
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    schedule: str | None  # cron in `timezone`; None: by hand only
    timezone: str
    next_run_at: datetime | None
    max_attempts: int
    params: list[str]
    last_run: JobRunOut | None


class ReportSummaryOut(BaseModel):
    id: int
    subject: str
    run_id: int | None
    status: str
    engine: str
    rows_in: int
    rows_out: int
    created_at: datetime
    drifted: bool
    broken: int  # expectations that failed


class ReportOut(ReportSummaryOut):
    report: dict[str, Any]


class DatasetColumnOut(BaseModel):
    name: str
    source: str
    aliases: list[str]
    type: str
    normalize: list[str]
    unit: str | None
    pii: bool
    missing: dict[str, Any]
    outliers: dict[str, Any] | None
    expect: dict[str, Any]


class DatasetOut(BaseModel):
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    key: list[str]
    latest_by: str | None
    dedupe_exact: bool
    min_rows: int
    columns: list[DatasetColumnOut]
    raw_rows: int
    raw_files: int
    clean_rows: int | None  # None until the first clean run whose expectations hold
    sources: dict[str, Any]
    last_report: ReportSummaryOut | None


class FeaturesOut(BaseModel):
    name: str
    rows: int
    columns: list[ColumnTypeOut]
    scaling: dict[str, Any] | None
    sample: list[dict[str, Any]]
