"""Test fixtures: every database-backed test runs on SQLite, MariaDB and PostgreSQL.

Each backend gets a database of its own for the run (dropped at the end) and every test starts from
empty tables. SQLite runs with the in-process cache, the server databases with Redis, so the whole
suite also exercises Redis. A backend whose server cannot be reached is skipped and named in the
summary, unless MEDREACH_REQUIRE_BACKENDS=1 (CI), where it is an error.
"""

from __future__ import annotations

import base64
import itertools
import os
import uuid

# Keys and folders for the code under test; set before any medreach module reads the settings.
os.environ.setdefault("MEDREACH_SECRET_KEY", "test-signing-key-" + "x" * 32)
os.environ.setdefault("MEDREACH_ENCRYPTION_KEY", base64.b64encode(b"k" * 32).decode())
os.environ["MEDREACH_LOG_JSON"] = "false"
os.environ["MEDREACH_LOG_LEVEL"] = "WARNING"

import pytest  # noqa: E402
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from medreach.accounts import schemas, service  # noqa: E402
from medreach.api import create_app  # noqa: E402
from medreach.core.cache import MemoryCache, RedisCache  # noqa: E402
from medreach.core.db import Database  # noqa: E402
from medreach.core.migrate import upgrade  # noqa: E402
from medreach.core.settings import Settings, get_settings  # noqa: E402
from medreach.models import metadata  # noqa: E402

BACKENDS = ("sqlite", "mariadb", "postgresql")
SERVER_URLS = {
    "mariadb": os.environ.get("MEDREACH_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306"),
    "postgresql": os.environ.get("MEDREACH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"),
}
REDIS_URL = os.environ.get("MEDREACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE = os.environ.get("MEDREACH_REQUIRE_BACKENDS") == "1"
PASSWORD = "correct-horse-9"
_skipped: dict[str, str] = {}


def pytest_addoption(parser):
    parser.addoption("--backends", default=",".join(BACKENDS),
                     help="comma-separated databases to run on: sqlite,mariadb,postgresql")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("backends").split(",") if b]
        metafunc.parametrize("backend", chosen, indirect=True, scope="session")


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.section("backends not tested")
        for name, why in sorted(_skipped.items()):
            terminalreporter.write_line(f"SKIPPED backend {name}: {why}")
    elif not REQUIRE:
        terminalreporter.write_line("all selected backends were tested")


def unavailable(name: str, why: str):
    if REQUIRE:
        pytest.fail(f"backend {name} is required (MEDREACH_REQUIRE_BACKENDS=1) but unavailable: {why}")
    _skipped[name] = why
    pytest.skip(f"{name} unavailable: {why}")


def redis_cache() -> RedisCache:
    cache = RedisCache(REDIS_URL, prefix=f"medreach-test-{uuid.uuid4().hex[:8]}:")
    try:
        cache.ping()
    except redis.RedisError as e:
        unavailable("redis", str(e))
    return cache


class Backend:
    """One database for the whole run, plus the cache that goes with it."""

    def __init__(self, name: str, db: Database, cache_factory):
        self.name, self.db, self.cache_factory = name, db, cache_factory

    def reset(self) -> None:
        with self.db.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        with self.db.session() as s:
            service.ensure_builtin_roles(s)


@pytest.fixture(scope="session")
def backend(request, tmp_path_factory):
    name = request.param
    dbname = f"mr_test_{uuid.uuid4().hex[:10]}"
    if name == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        cache_factory = MemoryCache
        server = None
    else:
        cache_factory = redis_cache
        server = sa.create_engine(SERVER_URLS[name], isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {dbname}")
        except sa.exc.OperationalError as e:
            unavailable(name, str(e.orig))
        url = f"{SERVER_URLS[name]}/{dbname}"
    upgrade(url)
    db = Database(url)
    yield Backend(name, db, cache_factory)
    db.dispose()
    if server is not None:
        with server.connect() as conn:
            if name == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE {dbname} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE {dbname}")
        server.dispose()


@pytest.fixture
def db(backend) -> Database:
    backend.reset()
    return backend.db


@pytest.fixture
def cache(backend):
    c = backend.cache_factory()
    yield c
    if isinstance(c, RedisCache):
        c.clear_prefix()


@pytest.fixture
def settings(tmp_path) -> Settings:
    get_settings.cache_clear()
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def app(settings, db, cache):
    return create_app(settings, db=db, cache=cache)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


_phones = itertools.count(13900000000)


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def register(client):
    """Register a customer; returns (user json, auth headers, tokens)."""

    def make(phone: str | None = None, **extra):
        body = {"phone": phone or str(next(_phones)), "password": PASSWORD, **extra}
        r = client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 201, r.text
        data = r.json()
        return data["user"], bearer(data["tokens"]), data["tokens"]

    return make


@pytest.fixture
def staff(client, db):
    """Create a staff member with the given roles and log them in; returns (user json, auth headers)."""

    def make(*roles: str, email: str | None = None):
        email = email or f"{'-'.join(roles) or 'norole'}-{uuid.uuid4().hex[:6]}@staff.medreach.cn"
        with db.session() as s:
            admin_roles = service._roles_by_name(s, list(roles)) if roles else []
            user = service._new_user(s, email=email, phone=None, password=PASSWORD, name="员工",
                                     roles=admin_roles, is_staff=True)
            s.commit()
        r = client.post("/api/v1/auth/login", json={"login": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["user"], bearer(r.json()["tokens"])

    return make


@pytest.fixture
def admin(staff):
    return staff("admin")


def problem_code(response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["code"]


__all__ = ["PASSWORD", "bearer", "problem_code", "schemas"]
