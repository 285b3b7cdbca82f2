"""Users, roles, refresh tokens, shipping addresses, consents and accepted legal documents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medreach.core.db import Base, Timestamped, utcnow
from medreach.core.security import EncryptedString

user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    grants: Mapped[list[RolePermission]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RolePermission.permission"
    )

    @property
    def permissions(self) -> list[str]:
        return [g.permission for g in self.grants]


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # The phone is stored encrypted; phone_index (a keyed hash) finds and de-duplicates it.
    phone: Mapped[str | None] = mapped_column("phone_enc", EncryptedString())
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(64), default="")
    gender: Mapped[str] = mapped_column(String(16), default="unknown")
    birth_date: Mapped[date | None] = mapped_column(Date)
    region: Mapped[str] = mapped_column(String(64), default="")
    city: Mapped[str] = mapped_column(String(64), default="")
    occupation: Mapped[str] = mapped_column(String(64), default="")
    real_name: Mapped[str | None] = mapped_column("real_name_enc", EncryptedString())
    id_number: Mapped[str | None] = mapped_column("id_number_enc", EncryptedString())
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    licence_no: Mapped[str] = mapped_column(String(64), default="")  # a pharmacist's practice licence (执业药师注册证)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A simulated shopper of the demo world (`medreach demo`): a real account, removed with its world.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column()
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.name)

    @property
    def role_names(self) -> list[str]:
        return [r.name for r in self.roles]

    @property
    def login(self) -> str:
        return self.email or self.phone or f"user:{self.id}"


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(64), index=True)  # one login's chain of rotated tokens
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Address(Timestamped, Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column("recipient_enc", EncryptedString())
    phone: Mapped[str] = mapped_column("phone_enc", EncryptedString())
    province: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column("detail_enc", EncryptedString())
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Consent(Base):
    """One decision of a user about one purpose of processing. A ledger: rows are only added (the evidence
    PIPL asks for); the newest row of a purpose is the one in force."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(16), default="account")  # where the decision was made
    ip: Mapped[str] = mapped_column(String(45), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AgreementAcceptance(Base):
    """A user accepting one version of a legal document (the user agreement or the privacy policy), with when and
    from where. A ledger like the consents: rows are only added; the newest per document is the one that counts."""

    __tablename__ = "agreement_acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16), default="registration")  # or "account": a later version
    ip: Mapped[str] = mapped_column(String(45), default="")
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
