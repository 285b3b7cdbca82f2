"""Lake snapshots of the transactional tables: incremental by watermark, deletes included, dated, with no
personal identifiers; on demand through the API and the CLI."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import sqlalchemy as sa

from medreach.accounts.models import User
from medreach.catalog.models import Product
from medreach.orders.models import Order, OrderLine
from medreach.ops.models import AuditEntry
from medreach.pipeline import snapshots
from medreach.pipeline.tables import TABLES
from tests.conftest import AGREEMENTS, problem_code
from tests.orders.test_orders import place

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def rows(lake_dir, name, day) -> dict[int, dict]:
    path = snapshots.table_dir(lake_dir, name) / "snapshot" / f"date={day}" / "data.parquet"
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}', hive_partitioning=false)")
    return {r[0]: dict(zip(rel.columns, r)) for r in rel.fetchall()}


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_snapshots_follow_changes_and_deletes_day_by_day(client, db, shop, customer, tmp_path):
    lake_dir = tmp_path / "lake"
    user, headers, address_id = customer
    order = place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 2}]).json()
    with db.session() as s:
        first = {r.table: r for r in snapshots.sync_all(s, lake_dir, today=D1)}
    for name, model in (("users", User), ("products", Product), ("orders", Order), ("order_lines", OrderLine)):
        assert first[name].rows == count(db, model) == len(rows(lake_dir, name, D1)) > 0
    users = rows(lake_dir, "users", D1)
    assert set(next(iter(users.values()))) == set(TABLES["users"].schema.names)
    assert not {"phone", "email", "name", "real_name", "id_number"} & set(TABLES["users"].schema.names)
    assert rows(lake_dir, "orders", D1)[order["id"]]["total_fen"] == order["total_fen"]
    assert rows(lake_dir, "products", D1)[shop["otc"]]["category"] == "cold_flu"

    # A day later: a price change, a product withdrawn for good, a new customer.
    unsold = next(pid for key, pid in shop.items() if key not in ("otc",))
    with db.session() as s:
        s.get(Product, shop["otc"]).price_fen = 1234
        s.execute(sa.delete(Product).where(Product.id == unsold))
    client.post("/api/v1/auth/register",
                json={"phone": "13700001111", "password": "a-good-password", "agreements": AGREEMENTS})
    with db.session() as s:
        second = {r.table: r for r in snapshots.sync_all(s, lake_dir, today=D2)}
    assert second["products"].upserts == 1 and second["products"].deletes == 1
    assert second["users"].upserts == 1 and second["orders"].upserts == 0 and second["order_lines"].upserts == 0
    products = rows(lake_dir, "products", D2)
    assert products[shop["otc"]]["price_fen"] == 1234 and unsold not in products
    before = rows(lake_dir, "products", D1)  # the earlier day is as it was
    assert before[shop["otc"]]["price_fen"] != 1234 and unsold in before
    assert len(rows(lake_dir, "users", D2)) == len(users) + 1
    changes = duckdb.sql(f"SELECT id, _op FROM read_parquet('{snapshots.table_dir(lake_dir, 'products')}"
                         f"/changes/date={D2}/*.parquet')").fetchall()
    assert sorted(changes) == sorted([(shop["otc"], "upsert"), (unsold, "delete")])

    # Nothing new: nothing changed, the day's snapshot stays whole.
    with db.session() as s:
        again = {r.table: r for r in snapshots.sync_all(s, lake_dir, today=D2)}
    assert all(r.upserts == r.deletes == 0 for r in again.values())
    assert again["products"].rows == len(products)
    assert [p.parent.name for p in snapshots.snapshots(lake_dir, "products")] == [f"date={D1}", f"date={D2}"]


def test_a_late_commit_behind_the_watermark_is_still_caught(db, shop, tmp_path):
    lake_dir = tmp_path / "lake"
    with db.session() as s:
        snapshots.sync_all(s, lake_dir, ["products"], today=D1)
    mark = datetime.fromisoformat(snapshots.state(lake_dir)["products"]["watermark"])
    # A transaction that started earlier commits now: its updated_at is older than the watermark.
    with db.session() as s:
        s.execute(sa.update(Product).where(Product.id == shop["otc"])
                  .values(stock=7, updated_at=mark - timedelta(minutes=1)))
    with db.session() as s:
        [result] = snapshots.sync_all(s, lake_dir, ["products"], today=D1)
    assert result.upserts == 1 and rows(lake_dir, "products", D1)[shop["otc"]]["stock"] == 7


def test_tables_and_sync_through_the_api(client, staff, shop, register):
    _, analyst = staff("analyst")
    listed = client.get("/api/v1/admin/pipeline/tables", headers=analyst).json()
    assert [t["name"] for t in listed] == list(TABLES) and all(t["state"] is None for t in listed)
    r = client.post("/api/v1/admin/pipeline/sync", headers=analyst, json={"tables": ["products"]})
    assert r.status_code == 200 and [x["table"] for x in r.json()] == ["products"] and r.json()[0]["rows"] == len(shop)
    listed = {t["name"]: t for t in client.get("/api/v1/admin/pipeline/tables", headers=analyst).json()}
    assert listed["products"]["state"]["rows"] == len(shop) and listed["products"]["snapshots"]
    assert {"name": "price_fen", "type": "int64"} in listed["products"]["columns"]
    bad = client.post("/api/v1/admin/pipeline/sync", headers=analyst, json={"tables": ["passwords"]})
    assert bad.status_code == 422 and problem_code(bad) == "VALIDATION_ERROR"
    assert any("tables" in e["field"] for e in bad.json()["errors"])
    _, customer, _ = register()
    assert client.post("/api/v1/admin/pipeline/sync", headers=customer, json={}).status_code == 403


def test_the_sync_is_audited(client, staff, db, shop):
    actor, analyst = staff("analyst")
    client.post("/api/v1/admin/pipeline/sync", headers=analyst, json={})
    with db.session() as s:
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "pipeline.sync"))
    assert entry is not None and entry.actor_id == actor["id"] and entry.subject_id == "all"


def test_a_running_sync_makes_the_scheduled_one_skip(db, tmp_path):
    import fcntl

    lake_dir = tmp_path / "lake"
    (lake_dir / "tables").mkdir(parents=True)
    with open(lake_dir / "tables" / ".sync.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with db.session() as s:
            assert snapshots.sync_all(s, lake_dir, wait=False) is None
    with db.session() as s:
        assert len(snapshots.sync_all(s, lake_dir, wait=False)) == len(TABLES)
    assert datetime.now(UTC).date().isoformat() == snapshots.state(lake_dir)["users"]["snapshot_date"]
