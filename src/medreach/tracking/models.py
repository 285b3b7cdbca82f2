"""Tracking sources (write keys) and the record of rejected calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medreach.core.db import Base, utcnow
from medreach.core.security import EncryptedString


class Source(Base):
    """Where events come from (web, server, app, import). Only a hash of the write key is stored.

    web and app keys ship to browsers and apps: they are public, so their userIds must be proven (an identity
    token). server and import keys are secrets an admin hands to a backend: their userIds are believed."""

    __tablename__ = "tracking_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # web | server | app | import
    write_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell keys apart
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked
    # The storefront's own source: its key is public by nature (it ships to every browser), so it is kept
    # (encrypted) to hand to the web app; every other key exists only as its hash.
    embedded_key: Mapped[str | None] = mapped_column("embedded_key_enc", EncryptedString())
    # Written by MedReach itself (domain events, the simulator): it has no key, and none can be made for it.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column()

    @property
    def trusted(self) -> bool:
        """A secret key (server/import, never embedded): its userIds are believed, as with Segment's server sources."""
        return self.kind in ("server", "import") and self.embedded_key is None


class Rejection(Base):
    """A call the collector refused, with the reason (kept for the sources page)."""

    __tablename__ = "tracking_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("tracking_sources.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(48))
    field: Mapped[str] = mapped_column(String(48), default="")
    message_id: Mapped[str] = mapped_column(String(64), default="")
    sample: Mapped[str] = mapped_column(String(512), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IdentityLink(Base):
    """An anonymous id (or an earlier user id) stitched to a user id by identify or alias. Undoing one
    (an admin's correction) keeps the row, so every merge and its reversal stay on record."""

    __tablename__ = "identity_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anonymous_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    via: Mapped[str] = mapped_column(String(16))  # identify | alias
    message_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()
    undone_by: Mapped[int | None] = mapped_column(Integer)
