"""API shapes for operations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_login: str
    action: str
    subject_type: str
    subject_id: str
    ip: str
    outcome: str
    request_id: str
    detail: dict
