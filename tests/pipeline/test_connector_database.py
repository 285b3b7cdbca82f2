"""The database connector against the real MariaDB and PostgreSQL servers: keyset batches by (watermark, key),
incremental syncs, the lag window, resume, exact values and errors that keep the password out."""

from __future__ import annotations

import json
import traceback
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from medreach.pipeline.connectors import Batch, ConnectorError
from medreach.pipeline.connectors.database import DatabaseTableSource, resolve_url
from tests.conftest import SERVER_URLS, unavailable

T0 = datetime(2026, 3, 1, 9, 0, 0)
MINUTE = timedelta(minutes=1)


class External:
    """A throwaway `ext_orders_<hex>` table in database `test` of one server."""

    def __init__(self, name: str, url: str, engine: sa.Engine, table: sa.Table):
        self.name, self.url, self.engine, self.table = name, url, engine, table

    def add(self, id: int, at: datetime | None, amount: str = "9.99", order_no: str | None = None,
            payload: bytes | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.insert().values(id=id, order_no=order_no or f"NO{id:04d}",
                                                    amount=Decimal(amount), updated_at=at, payload=payload))

    def update(self, id: int, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.id == id).values(**values))

    def source(self, **cfg) -> DatabaseTableSource:
        base = {"url": self.url, "table": self.table.name, "watermark": "updated_at", "batch_size": 3,
                "lag_seconds": 0}
        return DatabaseTableSource.from_config(base | cfg)


@pytest.fixture(params=["mariadb", "postgresql"])
def ext(request):
    name = request.param
    url = f"{SERVER_URLS[name]}/test"
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as e:
        engine.dispose()
        unavailable(name, str(e.orig))
    table = sa.Table(f"ext_orders_{uuid.uuid4().hex[:10]}", sa.MetaData(),
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                     sa.Column("order_no", sa.String(32), nullable=False),
                     sa.Column("amount", sa.Numeric(10, 2), nullable=False),
                     sa.Column("updated_at", sa.DateTime, nullable=True),
                     sa.Column("payload", sa.LargeBinary, nullable=True))
    table.create(engine)
    try:
        yield External(name, url, engine, table)
    finally:
        table.drop(engine)
        engine.dispose()


def read(source: DatabaseTableSource, checkpoint=None) -> list[Batch]:
    return list(source.batches(checkpoint))


def ids(batches: list[Batch]) -> list[int]:
    return [r["id"] for b in batches for r in b.records]


def position(checkpoint: dict) -> tuple:
    return datetime.fromisoformat(checkpoint["watermark"]), checkpoint["key"]


def test_first_sync_reads_everything_in_batches_with_advancing_checkpoints(ext):
    for i in range(1, 9):
        ext.add(i, T0 + i * MINUTE)
    batches = read(ext.source())
    assert [len(b.records) for b in batches] == [3, 3, 2]
    assert [b.done for b in batches] == [3, 6, 8]
    assert {b.total for b in batches} == {8} and {b.unit for b in batches} == {"rows"}
    assert ids(batches) == list(range(1, 9))
    positions = [position(b.checkpoint) for b in batches]
    assert positions == sorted(positions) and len(set(map(str, positions))) == 3
    assert batches[-1].checkpoint == {"watermark": (T0 + 8 * MINUTE).isoformat(), "key": [8]}
    json.dumps([b.checkpoint for b in batches])
    assert batches[0].records[0]["updated_at"] == (T0 + MINUTE).isoformat()


def test_second_sync_reads_only_rows_inserted_or_updated_since(ext):
    for i in range(1, 7):
        ext.add(i, T0 + i * MINUTE)
    last = read(ext.source())[-1].checkpoint
    ext.update(2, amount=Decimal("42.50"), updated_at=T0 + 10 * MINUTE)
    ext.add(7, T0 + 11 * MINUTE)
    ext.add(8, T0 + 11 * MINUTE)
    second = read(ext.source(), last)
    assert ids(second) == [2, 7, 8]
    assert second[0].total == 3 and second[-1].done == 3
    assert second[0].records[0]["amount"] == "42.50"
    assert second[-1].checkpoint == {"watermark": (T0 + 11 * MINUTE).isoformat(), "key": [8]}
    assert read(ext.source(), second[-1].checkpoint) == []  # nothing new: no batch at all


def test_rows_sharing_a_watermark_across_batch_boundaries_are_read_once(ext):
    for i in range(1, 8):
        ext.add(i, T0)
    batches = read(ext.source())
    assert ids(batches) == [1, 2, 3, 4, 5, 6, 7]
    assert [b.checkpoint for b in batches] == [{"watermark": T0.isoformat(), "key": [k]} for k in (3, 6, 7)]
    # Resuming in the middle of the tie continues after the key, not after the watermark.
    assert ids(read(ext.source(), batches[0].checkpoint)) == [4, 5, 6, 7]


def test_composite_key_orders_ties_by_every_key_column(ext):
    for id_, no in zip(range(1, 7), "BABAAB"):
        ext.add(id_, T0, order_no=no)
    batches = read(ext.source(key=["order_no", "id"], batch_size=2))
    assert ids(batches) == [2, 4, 5, 1, 3, 6]
    assert [b.checkpoint["key"] for b in batches] == [["A", 4], ["B", 1], ["B", 6]]


def test_an_auto_increment_id_works_as_watermark_without_a_lag(ext):
    for i in range(1, 6):
        ext.add(i, None)
    source = ext.source(watermark="id", batch_size=2, lag_seconds=300)  # the lag is for timestamps only
    first = read(source)
    assert [[r["id"] for r in b.records] for b in first] == [[1, 2], [3, 4], [5]]
    assert first[-1].checkpoint == {"watermark": 5, "key": [5]} and isinstance(first[-1].checkpoint["watermark"], int)
    assert all(b.rejected == [] for b in first)
    ext.add(6, None)
    ext.add(7, None)
    assert ids(read(source, first[-1].checkpoint)) == [6, 7]


def test_resume_after_two_batches_reads_exactly_the_rest(ext):
    for i in range(1, 11):
        ext.add(i, T0 + (i // 2) * MINUTE)  # pairs share a watermark, some across batch boundaries
    source = ext.source()
    stream = source.batches(None)
    first, second = next(stream), next(stream)
    stream.close()  # the run was interrupted after writing two batches
    assert ids([first, second]) == [1, 2, 3, 4, 5, 6]
    rest = read(source, second.checkpoint)
    assert ids(rest) == [7, 8, 9, 10]
    assert [b.done for b in rest] == [3, 4] and rest[0].total == 4


def test_a_row_committed_late_within_the_lag_is_picked_up(ext):
    for i in range(1, 6):
        ext.add(i, T0 + (i - 1) * MINUTE)  # T0 … T0+4m
    first = read(ext.source(lag_seconds=300))
    last = first[-1].checkpoint
    assert last == {"watermark": (T0 + 4 * MINUTE).isoformat(), "key": [5]}
    ext.add(6, T0 + 3 * MINUTE)  # its transaction started earlier but committed after the first sync
    ext.add(7, T0 - 10 * MINUTE)  # far older than the lag: not re-read

    assert read(ext.source(lag_seconds=0), last) == []  # without the lag the late row is lost
    second = read(ext.source(lag_seconds=300), last)
    got = ids(second)
    assert 6 in got and 7 not in got
    assert got == [1, 2, 3, 4, 6, 5] and len(got) == len(set(got))  # lag applied once, then keyset
    # Re-reading the window does not move the checkpoint back.
    assert [b.checkpoint for b in second] == [last, last]


def test_values_arrive_exact_and_json_ready(ext):
    amounts = ["12345678.91", "0.10", "-0.01", "100.00"]
    for i, amount in enumerate(amounts, 1):
        ext.add(i, T0, amount=amount, payload=b"\x00\xffmr" if i == 1 else None)
    records = [r for b in read(ext.source(batch_size=10)) for r in b.records]
    assert [r["amount"] for r in records] == amounts
    assert records[0] == {"id": 1, "order_no": "NO0001", "amount": "12345678.91", "updated_at": T0.isoformat(),
                          "payload": "00ff6d72"}
    json.dumps(records)


def test_columns_and_schema_qualified_table(ext):
    schema = "test" if ext.name == "mariadb" else "public"
    ext.add(1, T0, amount="3.30")
    source = ext.source(table=f"{schema}.{ext.table.name}", columns=["order_no"])
    [batch] = read(source)
    assert batch.records == [{"order_no": "NO0001", "id": 1, "updated_at": T0.isoformat()}]  # key, watermark kept


def test_rows_without_a_watermark_are_reported(ext):
    for i in range(1, 4):
        ext.add(i, T0)
    ext.add(4, None)
    batches = read(ext.source())
    assert ids(batches) == [1, 2, 3]
    assert [r.reason for r in batches[0].rejected] == ["null_watermark"] and "1 row" in batches[0].rejected[0].detail


def test_refused_login_is_a_connector_error_without_the_password(ext):
    secret = f"Secr3t-{uuid.uuid4().hex[:8]}"
    url = make_url(ext.url).set(username=f"mr_nobody_{uuid.uuid4().hex[:6]}", password=secret)
    source = ext.source(url=url.render_as_string(hide_password=False))
    with pytest.raises(ConnectorError, match=r"\*\*\*") as info:
        read(source)
    assert "***" in str(info.value) and "mr_nobody_" in str(info.value)
    assert secret not in "".join(traceback.format_exception(info.value))
    assert secret not in repr(source)


def test_unknown_table_or_column_is_a_connector_error(ext):
    with pytest.raises(ConnectorError, match="no_such_table_"):
        read(ext.source(table=f"no_such_table_{uuid.uuid4().hex[:6]}"))
    with pytest.raises(ConnectorError, match="changed_at"):
        read(ext.source(watermark="changed_at"))
    with pytest.raises(ConnectorError, match="timestamp or an integer"):
        read(ext.source(watermark="order_no"))


def test_env_placeholders_are_resolved_at_run_time(ext, monkeypatch):
    ext.add(1, T0)
    server = SERVER_URLS[ext.name]
    user = make_url(server).username
    template = server.replace(f"://{quote(user, safe='')}", "://${MR_EXT_USER}", 1) + "/${MR_EXT_DB}"
    source = ext.source(url=template)  # configured before the variables exist
    with pytest.raises(ConnectorError, match="MR_EXT_USER"):
        read(source)
    monkeypatch.setenv("MR_EXT_USER", user)
    monkeypatch.setenv("MR_EXT_DB", "test")
    assert ids(read(source)) == [1]
    monkeypatch.setenv("MR_EXT_URL", ext.url)
    assert ids(read(ext.source(url="${MR_EXT_URL}"))) == [1]


def test_env_values_in_the_password_are_url_quoted(monkeypatch):
    monkeypatch.setenv("MR_PW", "p@ss/w:rd%")
    monkeypatch.setenv("MR_DB", "shop")
    url = make_url(resolve_url("postgresql+psycopg://reader:${MR_PW}@db.example.cn:5432/${MR_DB}"))
    assert (url.username, url.password, url.host, url.database) == ("reader", "p@ss/w:rd%", "db.example.cn", "shop")


def test_from_config_defaults_and_validation():
    source = DatabaseTableSource.from_config({"url": "mysql+pymysql://u:hunter2@h/db", "table": "orders",
                                              "watermark": "updated_at"})
    assert (source.key, source.columns, source.batch_size, source.lag_seconds, source.timezone) == \
        (("id",), None, 5000, 300, "Asia/Shanghai")
    assert source.kind == "database" and source.incremental is True
    assert "hunter2" not in repr(source)
    with pytest.raises(ConnectorError, match="watermark"):
        DatabaseTableSource.from_config({"url": "mysql+pymysql://h/db", "table": "orders"})
    with pytest.raises(ConnectorError, match="watermak"):
        DatabaseTableSource.from_config({"url": "mysql+pymysql://h/db", "table": "orders", "watermark": "id",
                                         "watermak": "updated_at"})
    with pytest.raises(ConnectorError, match="batch_size"):
        DatabaseTableSource.from_config({"url": "mysql+pymysql://h/db", "table": "orders", "watermark": "id",
                                         "batch_size": 0})
    with pytest.raises(ConnectorError, match="timezone"):
        DatabaseTableSource.from_config({"url": "mysql+pymysql://h/db", "table": "orders", "watermark": "id",
                                         "timezone": "Mars/Olympus"})


def test_a_checkpoint_that_does_not_fit_the_table_is_a_connector_error(ext):
    ext.add(1, T0)
    with pytest.raises(ConnectorError, match="checkpoint"):
        read(ext.source(), {"watermark": 5, "key": [1]})  # an id, for a timestamp watermark
    with pytest.raises(ConnectorError, match="checkpoint"):
        read(ext.source(), {"watermark": T0.isoformat(), "key": [1, 2]})
