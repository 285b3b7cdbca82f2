"""Property-based fuzzing of the API against its own OpenAPI document, with every check schemathesis has (not
only "no server error"): each answer's status, content type, headers and body are the ones the operation
declares, invalid input is refused, valid input accepted, authentication enforced. Over the public and the
customer's operations (x-access public or authenticated), as a signed-in customer; no input may give a 5xx on
any operation (as an admin, who reaches past every permission)."""

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks, not_a_server_error

from medreach.accounts import legal, schemas, service
from medreach.api import create_app
from medreach.catalog import service as catalog
from medreach.catalog.search import SearchIndex
from medreach.core.cache import MemoryCache
from medreach.core.db import Database
from medreach.core.migrate import upgrade
from medreach.core.settings import Settings
from tests.conftest import PASSWORD, SHOP_CATEGORIES, SHOP_PRODUCTS

EXAMPLES_PER_OPERATION = int(os.environ.get("MEDREACH_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=os.environ.get("MEDREACH_FUZZ_RANDOM") != "1")  # CI: the same examples every run
load_all_checks()
ALL_CHECKS = CHECKS.get_all()

# The schema is read from the app when this module is collected, so the database exists from then on.
_var = Path(tempfile.mkdtemp(prefix="medreach-fuzz-"))
_db = Database(f"sqlite:///{_var / 'fuzz.db'}")
upgrade(_db.url)
app = create_app(Settings(var_dir=_var, public_base_url="http://localhost", jobs_enabled=False), db=_db,
                 cache=MemoryCache(), search=SearchIndex(None))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
customer_operations = schema.include(
    func=lambda ctx: ctx.operation.definition.raw.get("x-access") in ("public", "authenticated")
).exclude(path="/api/v1/prescriptions/e-rx", method="POST")
# GET /api/v1/prescriptions/{rx_id} matches e-rx as well, so its Allow names GET (orders: an int path convertor).


@schema.auth()
class CustomerToken:
    """The customer's token on every case, except those that test leaving it out (schemathesis knows which)."""

    def get(self, case, context):
        return TOKENS["customer"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

# Gaps in the domains' own declarations, by operation: the checks it does not pass yet and why. Remove an entry
# when its domain declares what it does (`responses=problem_responses(...)`, patterns, 409 for a state conflict).
UNDECLARED = "status_code_conformance"  # a status the operation does not declare
VALID_REFUSED = "positive_data_acceptance"  # schema-valid input refused: a rule the schema does not say
KNOWN: dict[str, dict[str, str]] = {
    # accounts
    "POST /api/v1/auth/login": {UNDECLARED: "401 INVALID_CREDENTIALS, 429 LOGIN_LOCKED"},
    "POST /api/v1/auth/refresh": {UNDECLARED: "401 INVALID_TOKEN"},
    "POST /api/v1/auth/register": {VALID_REFUSED: "phone has no pattern; password strength (zxcvbn) and the "
                                   "agreements' versions are beyond a schema"},
    "PATCH /api/v1/me": {VALID_REFUSED: "id_number (18-character resident ID) has no pattern"},
    "POST /api/v1/me/password": {VALID_REFUSED: "WRONG_PASSWORD and the password rule are 422s"},
    "POST /api/v1/me/agreements": {VALID_REFUSED: "version is not an enum of the current versions"},
    "POST /api/v1/addresses": {VALID_REFUSED: "phone has no pattern"},
    "PATCH /api/v1/addresses/{address_id}": {VALID_REFUSED: "phone has no pattern"},
    # orders
    "POST /api/v1/cart/items": {VALID_REFUSED: "QUANTITY_LIMIT is a 422 (a product's own limit)",
                                UNDECLARED: "404 for an unknown product"},
    "PATCH /api/v1/cart/items/{product_id}": {VALID_REFUSED: "QUANTITY_LIMIT is a 422 (a product's own limit)"},
    "POST /api/v1/checkout/preview": {VALID_REFUSED: "COUPON_NOT_FOUND and points over the balance are 422s"},
    "POST /api/v1/orders": {UNDECLARED: "404 for an unknown product or address",
                            VALID_REFUSED: "CART_EMPTY, limits and Rx rules are 422s"},
    "POST /api/v1/products/{product_id}/reviews": {UNDECLARED: "403 REVIEW_NOT_A_BUYER"},
    "POST /api/v1/prescriptions": {VALID_REFUSED: "an empty `items` form field counts as missing"},
    "POST /api/v1/payments/sandbox/notify": {UNDECLARED: "400 fail (text/plain)",
                                              VALID_REFUSED: "no request body declared; unsigned is a 400"},
    # tracking: the collector declares no request body, write key (HTTP Basic) or its 400/401/413/429
    **{f"POST /v1/{kind}": {UNDECLARED: "400 MALFORMED_BODY/EVENT_REJECTED, 401, 413, 429",
                            VALID_REFUSED: "no request body declared"}
       for kind in ("identify", "track", "page", "screen", "group", "alias", "batch", "import")},
}


def load_demo_world() -> dict[str, str]:
    """A few products, so generated ids and queries meet real rows; an admin and a customer with their access
    tokens, so requests reach past authentication into validation and logic."""
    with _db.session() as s:
        catalog.upsert_categories(s, SHOP_CATEGORIES)
        catalog.import_products(s, None, list(SHOP_PRODUCTS.values()), index=app.state.search)
        admin = service.create_admin(s, email="fuzz-admin@medreach.cn", phone=None, password=PASSWORD)
        customer = service.register(s, schemas.RegisterIn(phone="13900000001", password=PASSWORD, name="模糊测试",
                                                           agreements=legal.current_versions()))
        return {"admin": service.issue_tokens(s, admin).access_token,
                "customer": service.issue_tokens(s, customer).access_token}


TOKENS = load_demo_world()  # generation asks for the customer's token already while the tests are collected


@pytest.fixture(scope="module")
def tokens():
    yield TOKENS
    _db.dispose()


@customer_operations.parametrize()
@FUZZ
def test_public_and_customer_operations_keep_their_contract(case, tokens):
    known = KNOWN.get(f"{case.method} {case.path}", {})
    checks = [check for check in ALL_CHECKS if check.__name__ not in known]
    case.call_and_validate(checks=checks)  # as the customer (CustomerToken)


@schema.parametrize()
@FUZZ
def test_no_server_errors(case, tokens):
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens['admin']}"}, checks=[not_a_server_error])
