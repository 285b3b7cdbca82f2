"""A table (or view) of another MySQL/MariaDB or PostgreSQL database, synced incrementally.

Rows are read in keyset pages ordered by (watermark, key): a page starts after the last (watermark, key)
read, so rows sharing a watermark across a page boundary are neither lost nor read twice. A run that
resumes from a timestamp watermark first steps back `lag_seconds`, because transactions commit out of
order: a row committed late with an earlier updated_at is still caught (rows read twice merge to the same
result downstream, as in `pipeline/snapshots.py`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from medreach.pipeline.connectors import Batch, ConnectorError, Record, Rejection

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONNECT_TIMEOUT = 10  # seconds; libpq waits forever by default
_TIMEOUT_DRIVERS = {"pymysql", "mysqldb", "psycopg", "psycopg2"}


def resolve_url(template: str) -> str:
    """Replace `${NAME}` with os.environ[NAME]; values in the user:password part are URL-quoted."""
    missing = [n for n in _PLACEHOLDER.findall(template) if n not in os.environ]
    if missing:
        raise ConnectorError(f"database url needs environment variable(s) {', '.join(sorted(set(missing)))}")
    whole = _PLACEHOLDER.fullmatch(template)
    if whole:  # the whole URL from one variable
        return os.environ[whole.group(1)]
    # user:password@ is everything between :// and the last @ of the authority
    start = template.find("://") + 3 if "://" in template else 0
    authority_end = min(
        (i for i in (template.find("/", start), template.find("?", start)) if i >= 0), default=len(template)
    )
    at = template.rfind("@", start, authority_end)
    userinfo_end = at if at >= 0 else start

    def sub(match: re.Match) -> str:
        value = os.environ[match.group(1)]
        return quote(value, safe="") if start <= match.start() < userinfo_end else value

    return _PLACEHOLDER.sub(sub, template)


def to_json_value(value: Any) -> Any:
    """Datetimes as ISO-8601, Decimals as exact strings, bytes as hex; anything else as is."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation: 1E+2 -> "100"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _python_type(column: sa.Column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _from_json_value(column: sa.Column, value: Any) -> Any:
    """Undo `to_json_value` for a checkpoint value, so it binds with the column's own type."""
    if not isinstance(value, str):
        return value
    kind = _python_type(column)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is time:
        return time.fromisoformat(value)
    if kind is Decimal:
        return Decimal(value)
    if kind is bytes:
        return bytes.fromhex(value)
    return value


def _after(columns: list[sa.Column], values: list[Any]) -> sa.ColumnElement[bool]:
    """(c0, c1, …) > (v0, v1, …), spelled out so that MySQL and PostgreSQL both use the index."""
    terms = []
    for i, (column, value) in enumerate(zip(columns, values, strict=False)):
        equal = [c == v for c, v in zip(columns[:i], values[:i], strict=False)]
        terms.append(sa.and_(*equal, column > value))
    return sa.or_(*terms)


@dataclass(frozen=True)
class DatabaseTableSource:
    """One table or view of another database, read incrementally by a watermark column."""

    url: str = field(repr=False)  # SQLAlchemy URL, `${ENV}` placeholders resolved at run time
    table: str  # "table" or "schema.table"
    watermark: str  # a column that only grows when a row changes: updated_at, or an auto-increment id
    key: tuple[str, ...] = ("id",)
    columns: tuple[str, ...] | None = None  # None: all, as reflected
    batch_size: int = 5000
    lag_seconds: float = 300  # for timestamp watermarks only
    timezone: str = "Asia/Shanghai"  # of naive timestamps in the source; cleaning converts them

    kind: ClassVar[str] = "database"
    incremental: ClassVar[bool] = True

    KEYS: ClassVar[set[str]] = {"url", "table", "watermark", "key", "columns", "batch_size", "lag_seconds", "timezone"}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> DatabaseTableSource:
        unknown = sorted(set(cfg) - cls.KEYS - {"kind"})  # a misspelt setting is an error, not ignored
        if unknown:
            raise ConnectorError(f"unknown database settings: {', '.join(unknown)}")
        for name in ("url", "table", "watermark"):
            if not cfg.get(name) or not isinstance(cfg[name], str):
                raise ConnectorError(f"database source needs '{name}'")
        key = cfg.get("key", ["id"])
        key = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, list | tuple) else ()
        columns = cfg.get("columns")
        columns = [columns] if isinstance(columns, str) else columns
        if columns is not None and not (
            isinstance(columns, list | tuple) and all(isinstance(c, str) and c for c in columns)
        ):
            raise ConnectorError("database source 'columns' must be a list of column names")
        batch_size, lag = cfg.get("batch_size", 5000), cfg.get("lag_seconds", 300)
        if not key or not all(isinstance(k, str) and k for k in key):
            raise ConnectorError("database source 'key' must be a list of column names")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConnectorError("database source 'batch_size' must be a positive integer")
        if isinstance(lag, bool) or not isinstance(lag, int | float) or lag < 0:
            raise ConnectorError("database source 'lag_seconds' must be zero or more")
        tz = cfg.get("timezone", "Asia/Shanghai")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConnectorError(f"database source: unknown timezone {tz!r}") from None
        return cls(
            url=cfg["url"],
            table=cfg["table"],
            watermark=cfg["watermark"],
            key=key,
            columns=tuple(columns) if columns else None,
            batch_size=batch_size,
            lag_seconds=lag,
            timezone=tz,
        )

    # -- reading -----------------------------------------------------------------------------------

    def batches(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """The rows after `checkpoint` (None: all), `batch_size` at a time, in (watermark, key) order."""
        url = self._url()
        engine = self._engine(url)
        try:
            yield from self._read(engine, url, checkpoint)
        finally:
            engine.dispose()

    def _url(self) -> URL:
        try:
            return make_url(resolve_url(self.url))
        except sa.exc.ArgumentError:
            raise ConnectorError("database url is not a valid SQLAlchemy URL") from None

    def _engine(self, url: URL) -> Engine:
        connect_args = {}
        if url.get_driver_name() in _TIMEOUT_DRIVERS and "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = _CONNECT_TIMEOUT
        try:
            return sa.create_engine(url, connect_args=connect_args)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            raise ConnectorError(f"cannot use {_masked(url)}: {e}") from None

    @contextmanager
    def _errors(self, url: URL) -> Iterator[None]:
        """Database errors as ConnectorError, with the password masked everywhere in the message."""
        try:
            yield
        except sa.exc.NoSuchTableError:
            raise ConnectorError(f"table {self.table} not found in {_masked(url)}") from None
        except sa.exc.SQLAlchemyError as e:
            detail = str(e.orig) if isinstance(e, sa.exc.DBAPIError) else str(e)
            if url.password:
                detail = detail.replace(str(url.password), "***")
            raise ConnectorError(f"cannot read {self.table} from {_masked(url)}: {detail.strip()}") from None

    def _reflect(self, engine: Engine, url: URL) -> sa.Table:
        schema, _, name = self.table.rpartition(".")
        with self._errors(url), engine.connect() as conn:
            table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)
        wanted = [*(self.columns or []), *self.key, self.watermark]
        unknown = [c for c in wanted if c not in table.c]
        if unknown:
            raise ConnectorError(f"table {self.table} has no column(s) {', '.join(dict.fromkeys(unknown))}")
        if _python_type(table.c[self.watermark]) not in (datetime, date, int):
            raise ConnectorError(f"watermark {self.watermark} must be a timestamp or an integer column")
        return table

    def _read(self, engine: Engine, url: URL, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        table = self._reflect(engine, url)
        mark, keys = table.c[self.watermark], [table.c[k] for k in self.key]
        names = list(self.columns) if self.columns else [c.name for c in table.c]
        names += [n for n in (*self.key, self.watermark) if n not in names]  # needed for the checkpoint
        is_timestamp = _python_type(mark) is not int

        start = self._start(checkpoint, mark, keys)  # position of the last row read, as Python values
        where: sa.ColumnElement[bool]
        if start is None:
            where = mark.is_not(None)
        elif start[1] is None:  # a checkpoint with a watermark only
            where = mark >= start[0]
        elif is_timestamp and self.lag_seconds:
            where = mark >= start[0] - timedelta(seconds=self.lag_seconds)
        else:
            where = _after([mark, *keys], [start[0], *start[1]])

        with self._errors(url), engine.connect() as conn:
            total = conn.scalar(sa.select(sa.func.count()).select_from(table).where(where))
            nulls = conn.scalar(sa.select(sa.func.count()).select_from(table).where(mark.is_(None)))
        rejected = (
            [Rejection("null_watermark", f"{nulls} row(s) of {self.table} have no {self.watermark} and are not read")]
            if nulls
            else []
        )

        query = sa.select(*(table.c[n] for n in names)).order_by(mark, *keys).limit(self.batch_size)
        done = 0
        position = start
        while True:
            with self._errors(url), engine.connect() as conn:  # no transaction stays open between batches
                rows = conn.execute(query.where(where)).all()
            if not rows:
                break
            done += len(rows)
            last = rows[-1]._mapping
            row_position = (last[self.watermark], [last[k] for k in self.key])
            # Re-reading the lag window must not move the checkpoint back behind where the last run got to.
            if position is None or row_position[0] >= position[0]:
                position = row_position
            where = _after([mark, *keys], [row_position[0], *row_position[1]])
            records: list[Record] = [{n: to_json_value(v) for n, v in zip(names, row, strict=False)} for row in rows]
            saved = (
                checkpoint
                if position[1] is None
                else {"watermark": to_json_value(position[0]), "key": [to_json_value(v) for v in position[1]]}
            )
            yield Batch(
                records, checkpoint=saved, rejected=rejected, done=done, total=max(total or 0, done), unit="rows"
            )
            rejected = []
            if len(rows) < self.batch_size:
                break
        if done == 0 and rejected:  # nothing to read, but the run should still hear about the skipped rows
            yield Batch([], checkpoint=checkpoint, rejected=rejected, done=0, total=0, unit="rows")

    def _start(
        self, checkpoint: dict[str, Any] | None, mark: sa.Column, keys: list[sa.Column]
    ) -> tuple[Any, list[Any] | None] | None:
        if not checkpoint or checkpoint.get("watermark") is None:
            return None
        try:
            watermark = _from_json_value(mark, checkpoint["watermark"])
            expected = _python_type(mark)
            if expected is not None and not isinstance(watermark, expected):
                raise ValueError(f"watermark {watermark!r} is not a {expected.__name__}")
            key = checkpoint.get("key")
            if key is None:
                return watermark, None
            if len(key) != len(keys):
                raise ValueError(f"{len(key)} key value(s) for key {list(self.key)}")
            return watermark, [_from_json_value(c, v) for c, v in zip(keys, key, strict=False)]
        except (ValueError, TypeError) as e:
            raise ConnectorError(f"checkpoint {checkpoint!r} does not fit {self.table}: {e}") from None


def _masked(url: URL) -> str:
    return url.render_as_string(hide_password=True)
