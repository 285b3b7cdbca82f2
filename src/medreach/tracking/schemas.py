"""API shapes for tracking sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from medreach.core.schemas import InputModel


class SourceIn(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["web", "server", "app", "import"]


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    key_hint: str
    status: str
    internal: bool  # written by MedReach itself: no key, cannot be rotated or revoked
    trusted: bool  # a secret server/import key, whose userIds are believed
    created_at: datetime
    rotated_at: datetime | None


class SourceWithKey(SourceOut):
    write_key: str  # shown once, at creation or rotation


class IdentityTokenOut(BaseModel):
    user_id: str
    token: str  # send as context.identityToken with the user's events
    expires_at: datetime


class PersonOut(BaseModel):
    """A customer found for their timeline, masked as the viewer may see them."""

    user_id: str
    name: str | None
    phone: str | None
    email: str | None
