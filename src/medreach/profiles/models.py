"""The profiles domain's tables. The values themselves live in the lake (`profiles/store.py`); the database keeps
what people edit and what must be consistent: the tag catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medreach.core.db import Base, Timestamped

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
