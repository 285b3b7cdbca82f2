"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import ClassVar, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from medreach.core.errors import not_found

# Stable constraint names so Alembic migrations are identical on SQLite, MariaDB and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns aware datetimes (SQLite and MariaDB drop the zone)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":  # MySQL/MariaDB DATETIME drops microseconds unless told otherwise
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict] = {datetime: UTCDateTime()}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# MySQL/MariaDB: 1213 deadlock, 1205 lock wait timeout; PostgreSQL: 40P01 deadlock, 40001 serialization.
_RETRYABLE = ("1213", "1205", "40P01", "40001", "database is locked")


M = TypeVar("M")


def get_or_404(session: Session, model: type[M], row_id: object, what: str, *, owner_id: int | None = None) -> M:
    """The row of `model` with this primary key, or a 404 problem naming `what`. With `owner_id`, a row owned
    by someone else (its `user_id`) is a 404 as well: existence is never revealed to another customer."""
    row = session.get(model, row_id)
    if row is None or (owner_id is not None and getattr(row, "user_id", None) != owner_id):
        raise not_found(what)
    return row


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError | DBAPIError):
        return False
    orig = getattr(exc, "orig", None)
    codes = {str(getattr(orig, "pgcode", "") or ""), str((getattr(orig, "args", None) or [""])[0])}
    return any(c in codes for c in _RETRYABLE) or "database is locked" in str(orig)


T = TypeVar("T")


def retrying(session: Session, fn: Callable[[], T], attempts: int = 4) -> T:
    """Run a unit of work again when the database chose it as a deadlock victim (a normal event under
    contention on MariaDB and PostgreSQL); anything else propagates."""
    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, DBAPIError) as e:
            session.rollback()
            if not is_retryable(e) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("mysql"):
        kw.setdefault("isolation_level", "READ COMMITTED")
        if "charset=" not in url:
            url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kw)


class Database:
    """One engine and its session factory. The app holds one; tests make one per backend."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed if the block succeeds, rolled back if it raises."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
