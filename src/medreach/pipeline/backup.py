"""Backups of the transactional database and the lake, to a local folder or any fsspec URL.

A backup is a folder `<id>/` (id = UTC time) holding every table as gzipped JSON lines, read in one
transaction (a consistent snapshot: REPEATABLE READ on MariaDB/PostgreSQL, one read transaction on SQLite),
the lake's files, and `manifest.json` with row counts, sizes and SHA-256 checksums, the schema revision and
a fingerprint of the encryption key. Encrypted columns are copied as ciphertext: a backup holds no personal
data in the clear, and restoring needs the same `MEDREACH_ENCRYPTION_KEY`.

The format is logical, not the engine's own: a backup restores into any of the three databases at the
same schema revision. Restore checks every checksum first and writes nothing if one is off.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import fsspec
import orjson
import sqlalchemy as sa
from alembic.migration import MigrationContext

from medreach.core.db import Database
from medreach.core.errors import AppError
from medreach.core.security import EncryptedString
from medreach.core.sql import sql_identifier, sql_literal
from medreach.models import metadata

MANIFEST = "manifest.json"
FORMAT = 1


def _raw(column: sa.Column):
    """Select a column as stored: ciphertext stays ciphertext."""
    return sa.type_coerce(column, sa.Text()).label(column.name) if isinstance(column.type, EncryptedString) else column


def _encode(value):
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    raise TypeError(type(value))


def _decode(value):
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        if tag == "$dt":
            return datetime.fromisoformat(text)
        if tag == "$d":
            return date.fromisoformat(text)
        if tag == "$dec":
            return Decimal(text)
        if tag == "$b64":
            return base64.b64decode(text)
    return value


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _revision(conn) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def key_fingerprint(data_key: bytes) -> str:
    return _sha256(b"medreach-backup:" + data_key)[:16]


def create(
    db: Database,
    lake_dir: Path,
    target: str,
    data_key: bytes,
    keep: int = 7,
    advance: Callable[[str], None] = lambda step: None,
) -> dict:
    """Write a backup under `target` (a path or fsspec URL); keep the newest `keep` there. Returns the manifest."""
    fs, root = fsspec.core.url_to_fs(target)
    backup_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = f"{root.rstrip('/')}/{backup_id}"
    fs.makedirs(f"{folder}/db", exist_ok=True)
    tables: dict[str, dict] = {}
    with db.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "sqlite":  # the driver opens no transaction for reads: one snapshot (WAL)
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1")
            revision = _revision(conn)
            for table in metadata.sorted_tables:
                buffer, n = io.BytesIO(), 0
                with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
                    key = list(table.primary_key.columns) or list(table.columns)
                    names = [str(c.name) for c in table.columns]  # plain str keys for orjson
                    for row in conn.execute(sa.select(*[_raw(c) for c in table.columns]).order_by(*key)):
                        record = dict(zip(names, row, strict=True))
                        gz.write(orjson.dumps(record, default=_encode, option=orjson.OPT_PASSTHROUGH_DATETIME) + b"\n")
                        n += 1
                data = buffer.getvalue()
                dump = f"db/{table.name}.jsonl.gz"
                fs.pipe_file(f"{folder}/{dump}", data)
                tables[str(table.name)] = {"file": dump, "rows": n, "bytes": len(data), "sha256": _sha256(data)}
                advance(table.name)
    files: dict[str, dict] = {}
    for path in sorted(p for p in lake_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        rel = path.relative_to(lake_dir).as_posix()
        fs.makedirs(f"{folder}/lake/{Path(rel).parent.as_posix()}", exist_ok=True)
        fs.pipe_file(f"{folder}/lake/{rel}", data)
        files[rel] = {"bytes": len(data), "sha256": _sha256(data)}
    advance("lake")
    manifest = {
        "format": FORMAT,
        "id": backup_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": db.engine.dialect.name,
        "revision": revision,
        "key_fingerprint": key_fingerprint(data_key),
        "tables": tables,
        "lake": files,
    }
    fs.pipe_file(f"{folder}/{MANIFEST}", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))  # last: complete
    prune(target, keep)
    return manifest


def row_count(manifest: dict) -> int:
    return sum(t["rows"] for t in manifest["tables"].values())


def list_backups(target: str) -> list[dict]:
    """Complete backups (those with a manifest) under `target`, newest first."""
    fs, root = fsspec.core.url_to_fs(target)
    if not fs.exists(root):
        return []
    out = []
    for entry in fs.ls(root, detail=False):
        if fs.exists(f"{entry}/{MANIFEST}"):
            out.append(orjson.loads(fs.cat_file(f"{entry}/{MANIFEST}")))
    return sorted(out, key=lambda m: m["id"], reverse=True)


def prune(target: str, keep: int) -> list[str]:
    """Delete all but the newest `keep` backups; returns the ids deleted."""
    fs, root = fsspec.core.url_to_fs(target)
    gone = [m["id"] for m in list_backups(target)[max(keep, 1) :]]
    for backup_id in gone:
        fs.rm(f"{root.rstrip('/')}/{backup_id}", recursive=True)
    return gone


def _read_checked(fs, folder: str, path: str, expected: dict) -> bytes:
    data = fs.cat_file(f"{folder}/{path}")
    if len(data) != expected["bytes"] or _sha256(data) != expected["sha256"]:
        raise AppError(422, "BACKUP_CORRUPT", file=path)
    return data


def verify(target: str, backup_id: str) -> dict:
    """Every file against the manifest; raises BACKUP_CORRUPT (naming the file) if one differs."""
    fs, root = fsspec.core.url_to_fs(target)
    folder = f"{root.rstrip('/')}/{backup_id}"
    if not fs.exists(f"{folder}/{MANIFEST}"):
        raise AppError(404, "NOT_FOUND", what="backup")
    manifest = orjson.loads(fs.cat_file(f"{folder}/{MANIFEST}"))
    for entry in manifest["tables"].values():
        _read_checked(fs, folder, entry["file"], entry)
    for rel, entry in manifest["lake"].items():
        _read_checked(fs, folder, f"lake/{rel}", entry)
    return manifest


def restore(
    db: Database,
    lake_dir: Path,
    target: str,
    backup_id: str,
    data_key: bytes,
    advance: Callable[[str], None] = lambda step: None,
) -> dict:
    """Replace the database's rows and the lake with the backup's. Checks come first (checksums, schema
    revision, encryption key); the database part is one transaction."""
    manifest = verify(target, backup_id)
    fs, root = fsspec.core.url_to_fs(target)
    folder = f"{root.rstrip('/')}/{backup_id}"
    if manifest["key_fingerprint"] != key_fingerprint(data_key):
        raise AppError(409, "BACKUP_KEY_MISMATCH")
    with db.engine.begin() as conn:
        if _revision(conn) != manifest["revision"]:
            raise AppError(409, "BACKUP_REVISION_MISMATCH", backup=manifest["revision"], database=_revision(conn))
        tables = metadata.sorted_tables
        for table in reversed(tables):
            for fk in table.foreign_keys:  # a tree (categories) lets go of itself first
                if fk.column.table is table:
                    conn.execute(table.update().values({fk.parent.name: None}))
            conn.execute(table.delete())
        for table in tables:
            entry = manifest["tables"].get(table.name)
            if entry is None or not entry["rows"]:
                continue
            data = gzip.decompress(_read_checked(fs, folder, entry["file"], entry))
            raw = sa.Table(
                table.name,
                sa.MetaData(),
                *[
                    sa.Column(c.name, sa.Text() if isinstance(c.type, EncryptedString) else c.type)
                    for c in table.columns
                ],
            )
            rows = [{k: _decode(v) for k, v in orjson.loads(line).items()} for line in data.splitlines()]
            # A tree (categories) goes in without its links to itself, which are set once every row exists.
            own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
            links = [{"_id": r["id"], **{c: r[c] for c in own}} for r in rows if any(r[c] is not None for c in own)]
            for k in range(0, len(rows), 1000):
                conn.execute(raw.insert(), [{**r, **dict.fromkeys(own)} for r in rows[k : k + 1000]])
            if links:
                conn.execute(
                    raw.update().where(raw.c.id == sa.bindparam("_id")),
                    [{c: link[c] for c in own} | {"_id": link["_id"]} for link in links],
                )
            if conn.dialect.name == "postgresql" and "id" in table.columns and table.columns["id"].autoincrement:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence({sql_literal(table.name)}, 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {sql_identifier(table.name)}))"
                )
            advance(table.name)
    staging = lake_dir.with_name(lake_dir.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    for rel, entry in manifest["lake"].items():
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(_read_checked(fs, folder, f"lake/{rel}", entry))
    staging.mkdir(parents=True, exist_ok=True)
    if lake_dir.exists():
        shutil.rmtree(lake_dir)
    staging.rename(lake_dir)
    advance("lake")
    return manifest
