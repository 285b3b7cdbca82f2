"""Property-based fuzzing of every operation in /openapi.json: no input may produce a 5xx."""

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from medreach.accounts import service
from medreach.api import create_app
from medreach.core.cache import MemoryCache
from medreach.core.db import Database
from medreach.core.migrate import upgrade
from medreach.core.settings import Settings
from medreach.catalog.search import SearchIndex
from medreach.catalog import service as catalog
from tests.conftest import SHOP_CATEGORIES, SHOP_PRODUCTS
from tests.conftest import PASSWORD

EXAMPLES_PER_OPERATION = 40

# The schema is read from the app when this module is collected, so the database exists from then on.
_var = Path(tempfile.mkdtemp(prefix="medreach-fuzz-"))
_db = Database(f"sqlite:///{_var / 'fuzz.db'}")
upgrade(_db.url)
app = create_app(Settings(var_dir=_var, public_base_url="http://localhost", jobs_enabled=False), db=_db,
                 cache=MemoryCache(), search=SearchIndex(None))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def load_demo_catalog(s) -> None:
    """A few products, so generated ids and queries meet real rows."""
    catalog.upsert_categories(s, SHOP_CATEGORIES)
    catalog.import_products(s, None, list(SHOP_PRODUCTS.values()), index=app.state.search)


@pytest.fixture(scope="module")
def admin_headers():
    """An admin token, so generated requests reach past authentication into validation and logic."""
    with _db.session() as s:
        load_demo_catalog(s)
        admin = service.create_admin(s, email="fuzz-admin@medreach.cn", phone=None, password=PASSWORD)
        token = service.issue_tokens(s, admin).access_token
    yield {"Authorization": f"Bearer {token}"}
    _db.dispose()


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=os.environ.get("MEDREACH_FUZZ_RANDOM") != "1")  # CI: the same examples every run
def test_no_server_errors(case, admin_headers):
    case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])
