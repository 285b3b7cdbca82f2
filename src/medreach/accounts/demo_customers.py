"""The demo world's customers: the simulated shoppers of `medreach demo` who sign in are real customer accounts,
created here in bulk, with the same id in the database, the events, the lake and the profiles.

They are stored exactly as a registered customer is (phone, real name and ID number encrypted by the columns'
EncryptedString, the phone's blind index, the customer role, the accepted legal documents and the consent
ledger's rows of the registration form, at their sign-up time), and marked `is_demo` so that replacing the world
removes them. They cannot log in: every one shares one argon2 hash of a random password nobody knows (hashing a
password per person would cost the demo minutes). Their phone numbers and addresses are made up; the e-mail
addresses are under demo.medreach.cn.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from medreach.accounts import consents, legal
from medreach.accounts.models import AgreementAcceptance, Role, User, user_roles
from medreach.core.security import blind_index, hash_password

EMAIL_DOMAIN = "demo.medreach.cn"
ROWS_PER_STATEMENT = 2000


@dataclass(frozen=True)
class DemoCustomer:
    """One simulated customer as the registration form and the account page would have recorded them."""

    id: int
    signed_up_at: datetime  # UTC
    phone: str | None
    email: str | None
    name: str  # the display name (not personal data beyond a surname)
    gender: str
    birth_date: date
    city: str
    region: str
    occupation: str = ""
    real_name: str | None = None  # given for prescription orders: encrypted
    # The registration form's choices, then later changes on the account page: (purpose, granted, at).
    choices: dict[str, bool] = field(default_factory=dict)  # purposes of consents.PURPOSES
    changes: tuple[tuple[str, bool, datetime], ...] = ()


@cache
def unusable_password_hash() -> str:
    """One argon2 hash of a random password that is never kept: no demo customer can log in."""
    return hash_password(secrets.token_urlsafe(32))


def reserve_ids(session: Session, count: int, above: int = 0) -> int:
    """The first of `count` consecutive user ids that nobody holds or held (no id of a removed world, nor any
    id above `above`, is handed out again), kept from ordinary registrations while the demo writes them: the id
    sequence of PostgreSQL and MariaDB is moved past them (SQLite gives a new account max(id) + 1)."""
    first = max(session.scalar(select(func.max(User.id))) or 0, above) + 1
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        first = max(first, session.scalar(text("SELECT nextval(pg_get_serial_sequence('users', 'id'))")) or 0)
        session.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), :last)"), {"last": first + count})
    elif dialect in ("mysql", "mariadb"):
        counter = session.scalar(
            text(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"
            )
        )
        first = max(first, int(counter or 0))
        session.execute(text(f"ALTER TABLE users AUTO_INCREMENT = {int(first + count + 1)}"))
    session.commit()
    return first


def _chunks(rows: list[dict], size: int = ROWS_PER_STATEMENT) -> Iterator[list[dict]]:
    for k in range(0, len(rows), size):
        yield rows[k : k + size]


def create(session: Session, customers: Sequence[DemoCustomer]) -> int:
    """Insert these customers in bulk (Core executemany, a few thousand rows a statement) and commit. A phone or
    e-mail address a real account already uses is left out (the other login is used). Returns how many."""
    if not customers:
        return 0
    role_id = session.scalar(select(Role.id).where(Role.name == "customer"))
    if role_id is None:
        raise RuntimeError("the customer role is missing: load the demo (ensure_builtin_roles) first")
    taken_phones = set(session.scalars(select(User.phone_index).where(User.phone_index.is_not(None))))
    taken_emails = set(session.scalars(select(User.email).where(User.email.is_not(None))))
    password = unusable_password_hash()
    now = datetime.now(UTC)  # updated_at: the lake's sync picks rows up by when they were written
    versions = legal.current_versions()
    users, roles, agreements, decisions = [], [], [], []
    for c in customers:
        phone, email = c.phone, c.email
        index = blind_index(phone) if phone else None
        if index in taken_phones or email in taken_emails:  # a real account's login: sign in by e-mail instead
            phone, index, email = None, None, f"u{c.id}@{EMAIL_DOMAIN}"
            email = None if email in taken_emails else email
        users.append(
            {
                "id": c.id,
                "email": email,
                "phone_enc": phone,  # the column's EncryptedString encrypts it, as the ORM's would
                "phone_index": index,
                "password_hash": password,
                "name": c.name,
                "gender": c.gender,
                "birth_date": c.birth_date,
                "region": c.region,
                "city": c.city,
                "occupation": c.occupation,
                "real_name_enc": c.real_name,
                "id_number_enc": None,
                "is_staff": False,
                "licence_no": "",
                "is_active": True,
                "is_demo": True,
                "last_login_at": None,
                "created_at": c.signed_up_at,
                "updated_at": now,
            }
        )
        roles.append({"user_id": c.id, "role_id": role_id})
        agreements += [
            {
                "user_id": c.id,
                "document": doc,
                "version": version,
                "channel": "registration",
                "ip": "",
                "accepted_at": c.signed_up_at,
            }
            for doc, version in versions.items()
        ]
        decisions += [(c.id, p, granted, "registration", c.signed_up_at) for p, granted in c.choices.items()]
        decisions += [(c.id, p, granted, "account", at) for p, granted, at in c.changes]
    # Core inserts of the tables (one executemany a chunk; the ORM's bulk path would split rows by their NULLs).
    for rows in _chunks(users):
        session.execute(insert(User.metadata.tables["users"]), rows)
    for rows in _chunks(roles):
        session.execute(insert(user_roles), rows)
    for rows in _chunks(agreements):
        session.execute(insert(AgreementAcceptance.metadata.tables["agreement_acceptances"]), rows)
    consents.record_many(session, decisions)
    session.commit()
    return len(users)


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.is_demo.is_(True))) or 0


def remove(session: Session) -> int:
    """Delete every demo customer (their roles, consents and acceptances go with them) and commit."""
    ids = list(session.scalars(select(User.id).where(User.is_demo.is_(True)).order_by(User.id)))
    for k in range(0, len(ids), ROWS_PER_STATEMENT):
        part = ids[k : k + ROWS_PER_STATEMENT]
        session.execute(delete(User).where(User.id.in_(part)))
    session.commit()
    return len(ids)
