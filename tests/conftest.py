"""Test fixtures: every database-backed test runs on SQLite, MariaDB and PostgreSQL.

Each backend gets a database of its own for the run (dropped at the end) and every test starts from
empty tables. SQLite runs with the in-process cache, the server databases with Redis, so the whole
suite also exercises Redis. A backend whose server cannot be reached is skipped and named in the
summary, unless MEDREACH_REQUIRE_BACKENDS=1 (CI), where it is an error. So are the browser tests (tests/e2e
and the other e2e-marked ones) on a machine without Chromium.
"""

from __future__ import annotations

import base64
import itertools
import os
import uuid
from pathlib import Path

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
from medreach.accounts.legal import current_versions  # noqa: E402
from medreach.api import create_app  # noqa: E402
from medreach.catalog.search import SearchIndex  # noqa: E402
from medreach.catalog.synonyms import load_synonyms  # noqa: E402
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
CHROMIUM = os.environ.get("MEDREACH_CHROMIUM", "/usr/bin/chromium")  # the browser the e2e tests drive
PASSWORD = "correct-horse-9"
AGREEMENTS = current_versions()  # the legal documents' versions registration accepts
_skipped: dict[str, str] = {}


def pytest_addoption(parser):
    parser.addoption("--backends", default=",".join(BACKENDS),
                     help="comma-separated databases to run on: sqlite,mariadb,postgresql")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("backends").split(",") if b]
        metafunc.parametrize("backend", chosen, indirect=True, scope="session")


@pytest.hookimpl(trylast=True)  # after tests/e2e/conftest.py has marked its tests e2e
def pytest_collection_modifyitems(items):
    """The browser tests share one worker when the suite runs in several (pytest -n, --dist loadgroup): two
    browsers and their servers at once starve a small machine. No Chromium: the browser tests are not run, and
    the summary says so (CI installs it and requires it)."""
    for item in items:  # the others go a file to a worker, so a module's fixtures are built once
        group = "browser" if item.get_closest_marker("e2e") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
    if REQUIRE or Path(CHROMIUM).exists():
        return
    browser = [item for item in items if item.get_closest_marker("e2e")]
    if browser:
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium, as .ci/run does; or set MEDREACH_CHROMIUM)"
        _skipped["browser tests"] = f"{len(browser)} not run: {why}"
        for item in browser:
            item.add_marker(pytest.mark.skip(reason=why))


def pytest_terminal_summary(terminalreporter):
    # What this process skipped, and (run in workers, pytest -n) what the workers' skip reports name.
    skipped = dict(_skipped)
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr or "")
        reason = reason.removeprefix("Skipped: ")
        name, sep, why = reason.partition(" unavailable: ")
        if sep:
            skipped.setdefault(f"backend {name}", why)
        elif reason.startswith("no Chromium at"):
            skipped.setdefault("browser tests", f"not run: {reason}")
    if skipped:
        terminalreporter.section("not tested")
        for name, why in sorted(skipped.items()):
            terminalreporter.write_line(f"SKIPPED {name}: {why}")
    elif not REQUIRE:
        terminalreporter.write_line("all selected backends were tested")


def unavailable(name: str, why: str):
    if REQUIRE:
        pytest.fail(f"backend {name} is required (MEDREACH_REQUIRE_BACKENDS=1) but unavailable: {why}")
    _skipped[f"backend {name}"] = why
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
                for fk in table.foreign_keys:  # a tree (categories) lets go of itself first
                    if fk.column.table is table:
                        conn.execute(table.update().values({fk.parent.name: None}))
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
    # The sandbox gateway is reached at the TestClient's host; jobs are driven by the tests themselves.
    return Settings(var_dir=tmp_path / "var", public_base_url="http://testserver", jobs_enabled=False)


@pytest.fixture
def app(settings, db, cache):
    return create_app(settings, db=db, cache=cache, search=SearchIndex(None, synonyms=load_synonyms()))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        # Wire the payment provider and the gateway's notifications through this client, synchronously.
        app.state.payments.http = c
        app.state.gateway.deliver = lambda url, payload: c.post(url, json=payload).text == "success"
        yield c


_phones = itertools.count(13900000000)


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def register(client):
    """Register a customer; returns (user json, auth headers, tokens)."""

    def make(phone: str | None = None, **extra):
        body = {"phone": phone or str(next(_phones)), "password": PASSWORD, "agreements": AGREEMENTS, **extra}
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


SHOP_CATEGORIES = [
    {"code": "cold_flu", "name_zh": "感冒发烧"}, {"code": "pain", "name_zh": "解热镇痛"},
    {"code": "hypertension", "name_zh": "高血压"}, {"code": "cough", "name_zh": "止咳化痰"},
    {"code": "device", "name_zh": "医疗器械"}, {"code": "device_bp", "parent_code": "device", "name_zh": "血压计"},
]
SHOP_PRODUCTS = {
    "otc": dict(sku="T-BLG", generic_name="板蓝根颗粒", brand_name="白云山", specification="10g*20袋",
                dosage_form="颗粒剂", manufacturer="广州白云山和记黄埔中药有限公司", drug_class="otc_b",
                active_ingredients="tcm_banlangen",
                category_code="cold_flu", indications="清热解毒，凉血利咽。用于肺胃热盛所致的咽喉肿痛。",
                usage_dosage="开水冲服，一次1袋，一日3次", pack_size=20, pack_unit="袋", daily_dose="3",
                price_fen=1500, stock=100, tags="感冒;咽喉肿痛"),
    "otc_a": dict(sku="T-IBU", generic_name="布洛芬缓释胶囊", brand_name="芬必得", specification="0.3g*24粒",
                  dosage_form="胶囊剂", manufacturer="中美天津史克制药有限公司", drug_class="otc_a",
                  active_ingredients="ibuprofen:300mg",
                  category_code="pain", indications="用于缓解轻至中度疼痛，也用于普通感冒或流行性感冒引起的发热。",
                  pack_size=24, pack_unit="粒", daily_dose="2", price_fen=2980, stock=50, max_per_order=5),
    "rx": dict(sku="T-AML", generic_name="苯磺酸氨氯地平片", brand_name="络活喜", specification="5mg*7片",
               dosage_form="片剂", manufacturer="辉瑞制药有限公司", drug_class="rx", atc_code="C08CA01",
               active_ingredients="amlodipine:5mg",
               category_code="hypertension", indications="高血压、冠心病。", usage_dosage="口服，一次1片，一日1次",
               contraindications="对二氢吡啶类钙拮抗剂过敏者禁用。", pack_size=7, pack_unit="片", daily_dose="1",
               price_fen=3380, stock=20, max_per_order=4),
    "banned": dict(sku="T-FFGC", generic_name="复方甘草片", specification="100片", dosage_form="片剂",
                   manufacturer="某制药厂", drug_class="otc_a", special_flags="opioid_compound_oral",
                   active_ingredients="licorice_extract:112.5mg;opium_powder:4mg;camphor:2mg",
                   category_code="cough", indications="镇咳祛痰。", price_fen=500, stock=100),
    "device": dict(sku="T-BPM", generic_name="电子血压计", brand_name="欧姆龙", specification="HEM-7124",
                   manufacturer="欧姆龙健康医疗", drug_class="device", category_code="device_bp", price_fen=25900,
                   stock=3),
}


@pytest.fixture
def shop(client, db) -> dict[str, int]:
    """A small catalog through the real import path (negative list applied, search index fed)."""
    from medreach.catalog import service as catalog

    with db.session() as s:
        catalog.upsert_categories(s, SHOP_CATEGORIES)
        report = catalog.import_products(s, None, list(SHOP_PRODUCTS.values()), index=client.app.state.search)
        assert report.errors == [], report.errors
        skus = {p.sku: p.id for p in s.scalars(sa.select(catalog.Product))}
    return {key: skus[row["sku"]] for key, row in SHOP_PRODUCTS.items()}


@pytest.fixture
def customer(register, client):
    """A registered customer with a default address: (user, headers, address id)."""
    user, headers, _ = register()
    address = client.post("/api/v1/addresses", headers=headers, json={
        "recipient": "张三", "phone": "13800138000", "province": "广东省", "city": "深圳市",
        "district": "南山区", "detail": "科技园 1 号"}).json()
    return user, headers, address["id"]


@pytest.fixture
def pharmacist(staff, db):
    """A pharmacist with a practice licence on file."""
    from medreach.accounts.models import User

    user, headers = staff("pharmacist")
    with db.session() as s:
        s.get(User, user["id"]).licence_no = "执业药师 TEST-0001"
    return user, headers
