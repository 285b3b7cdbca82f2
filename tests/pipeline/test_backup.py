"""Backup and restore: a round trip gives back identical data (ciphertext included), a damaged or foreign
backup is refused before anything is written, retention keeps the newest, and a second local path stands in
for a remote fsspec target."""

import gzip

import pytest
import sqlalchemy as sa

from medreach.catalog.models import Category, Product
from medreach.core.errors import AppError
from medreach.models import metadata
from medreach.pipeline import backup
from tests.orders.test_orders import place


def dump(db) -> dict[str, list[tuple]]:
    """Every table's rows as stored (encrypted columns as ciphertext)."""
    out = {}
    with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(
                sa.select(*[backup._raw(c) for c in table.columns]).order_by(*key))]
    return out


@pytest.fixture
def world(client, db, shop, customer, settings, tmp_path):
    """Orders, an address (encrypted), consents, a category tree, and a lake with a file in it."""
    user, headers, address_id = customer
    place(client, headers, address_id, [{"product_id": shop["otc"], "quantity": 1}])
    client.put("/api/v1/me/consents/behaviour_analytics", headers=headers, json={"granted": False})
    with db.session() as s:  # a parent created after its child: the tree's links are restored last
        child = s.scalar(sa.select(Category).order_by(Category.id))
        parent = Category(code="zz_parent", name_zh="后建的父类")
        s.add(parent)
        s.flush()
        child.parent_id = parent.id
    lake = tmp_path / "lake"
    (lake / "events" / "day=2026-01-01").mkdir(parents=True)
    (lake / "events" / "day=2026-01-01" / "part-1.parquet").write_bytes(b"PAR1 not really")
    return lake


def test_round_trip_gives_back_identical_data_and_lake(db, settings, world, tmp_path):
    target = str(tmp_path / "remote")  # a second local path stands in for the remote target
    before = dump(db)
    steps = []
    manifest = backup.create(db, world, target, settings.data_key, advance=steps.append)
    assert manifest["tables"]["orders"]["rows"] == 1 and manifest["revision"] and "lake" in steps
    assert manifest["lake"]["events/day=2026-01-01/part-1.parquet"]["bytes"] == 15
    raw_users = gzip.decompress((tmp_path / "remote" / manifest["id"] / "db" / "users.jsonl.gz").read_bytes())
    assert b"13800138000" not in raw_users  # ciphertext only: no phone number in the clear

    # Things happen after the backup: data changes, rows go, the lake changes.
    with db.session() as s:
        s.execute(sa.update(Product).values(price_fen=1))
        s.execute(sa.text("DELETE FROM consents"))
    (world / "events" / "day=2026-01-01" / "part-1.parquet").write_bytes(b"changed")
    (world / "stray.txt").write_text("after")

    backup.restore(db, world, target, manifest["id"], settings.data_key)
    assert dump(db) == before
    assert (world / "events" / "day=2026-01-01" / "part-1.parquet").read_bytes() == b"PAR1 not really"
    assert not (world / "stray.txt").exists()
    with db.session() as s:  # the application still reads it (decrypts, sequences continue)
        s.add(Category(code="after_restore", name_zh="恢复后"))
        s.commit()
    assert backup.list_backups(target)[0]["id"] == manifest["id"]


def test_a_damaged_or_foreign_backup_is_refused_before_anything_is_written(db, settings, world, tmp_path):
    target = str(tmp_path / "remote")
    manifest = backup.create(db, world, target, settings.data_key)
    with db.session() as s:
        s.execute(sa.update(Product).values(price_fen=2))
    after = dump(db)
    with pytest.raises(AppError, match=r"^BACKUP_KEY_MISMATCH$"):
        backup.restore(db, world, target, manifest["id"], b"\x00" * 32)
    orders = tmp_path / "remote" / manifest["id"] / "db" / "orders.jsonl.gz"
    orders.write_bytes(orders.read_bytes()[:-3] + b"xyz")
    with pytest.raises(AppError, match=r"^BACKUP_CORRUPT$") as e:
        backup.restore(db, world, target, manifest["id"], settings.data_key)
    assert e.value.params["file"] == "db/orders.jsonl.gz"
    assert dump(db) == after
    with pytest.raises(AppError, match=r"^NOT_FOUND$") as e:
        backup.verify(target, "19990101T000000Z")
    assert e.value.status == 404 and e.value.params == {"what": "backup"}


def test_retention_keeps_the_newest(db, settings, tmp_path):
    target = str(tmp_path / "remote")
    made = [backup.create(db, tmp_path / "lake", target, settings.data_key, keep=2)["id"] for _ in range(3)]
    assert [m["id"] for m in backup.list_backups(target)] == made[::-1][:2]
    (tmp_path / "remote" / "incomplete").mkdir()  # no manifest: not a backup, never counted or listed
    assert len(backup.list_backups(target)) == 2
