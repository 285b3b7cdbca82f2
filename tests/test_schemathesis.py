"""Property-based fuzzing of the API against its own OpenAPI document, with every check schemathesis has (not
only "no server error"): each answer's status, content type, headers and body are the ones the operation
declares, invalid input is refused, valid input accepted, authentication enforced. Over the public and the
customer's operations (x-access public or authenticated), as a signed-in customer; no input may give a 5xx on
any operation (as an admin, who reaches past every permission)."""

import base64
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
from medreach.tracking import service as tracking
from tests.conftest import PASSWORD, SHOP_CATEGORIES, SHOP_PRODUCTS

# Generated examples per operation, on top of the explicit ones (the document's examples and schemathesis's coverage
# cases: each boundary and each kind of invalid value, which cost most of the run's time and find most of its bugs).
# 15 keeps the file near 3 minutes of CPU on CI (40: 4.5); a deeper run: MEDREACH_FUZZ_EXAMPLES=200.
EXAMPLES_PER_OPERATION = int(os.environ.get("MEDREACH_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=os.environ.get("MEDREACH_FUZZ_RANDOM") != "1")  # CI: the same examples every run
load_all_checks()
ALL_CHECKS = CHECKS.get_all()

# The schema is read from the app when this module is collected, so the database exists from then on.
_var = Path(tempfile.mkdtemp(prefix="medreach-fuzz-"))
_db = Database(f"sqlite:///{_var / 'fuzz.db'}")
upgrade(_db.url)
# The fuzzer calls the collector without a key hundreds of times a minute from one address (to see that the key is
# required): that throttle's 429 would answer in place of the 401 (tests/security/test_tracking_throttle.py has it).
app = create_app(Settings(var_dir=_var, public_base_url="http://localhost", jobs_enabled=False,
                          collector_rate_bad_keys=0), db=_db, cache=MemoryCache(), search=SearchIndex(None))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
customer_operations = schema.include(
    func=lambda ctx: ctx.operation.definition.raw.get("x-access") in ("public", "authenticated")
).exclude(path="/api/v1/prescriptions/e-rx", method="POST")
# GET /api/v1/prescriptions/{rx_id} matches e-rx as well, so its Allow names GET (orders: an int path convertor).


@schema.auth().skip_for(path_regex="^/v1/")
class CustomerToken:
    """The customer's token on every case, except those that test leaving it out (schemathesis knows which)."""

    def get(self, case, context):
        return TOKENS["customer"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.auth().apply_to(path_regex="^/v1/")
class WriteKey:
    """The collector's calls carry a server source's write key (HTTP Basic), whose userIds are believed."""

    def get(self, case, context):
        return TOKENS["write_key"]

    def set(self, case, data, context):
        basic = base64.b64encode(f"{data}:".encode()).decode()
        case.headers = {**(case.headers or {}), "Authorization": f"Basic {basic}"}


# Gaps in the domains' own declarations, by operation: the checks it does not pass yet and why. Remove an entry
# when its domain declares what it does (`responses=problem_responses(...)`, patterns, 409 for a state conflict).
UNDECLARED = "status_code_conformance"  # a status the operation does not declare
VALID_REFUSED = "positive_data_acceptance"  # schema-valid input refused: a rule the schema does not say
KNOWN: dict[str, dict[str, str]] = {
    # accounts
    "POST /api/v1/auth/register": {VALID_REFUSED: "the password rule (zxcvbn's guess count, likeness to the phone, "
                                   "e-mail or name) is a 422 no pattern can say"},
    "PATCH /api/v1/me": {VALID_REFUSED: "id_number's check digit (GB 11643, MOD 11-2 over the 17 digits) and a "
                         "birth_date after today are 422s: JSON Schema has no arithmetic and no date bounds"},
    "POST /api/v1/me/password": {VALID_REFUSED: "WRONG_PASSWORD (the account's own password) and the password rule "
                                 "are 422s"},
    # orders
    "POST /api/v1/cart/items": {VALID_REFUSED: "QUANTITY_LIMIT is a 422 (a product's own limit)"},
    "PATCH /api/v1/cart/items/{product_id}": {VALID_REFUSED: "QUANTITY_LIMIT is a 422 (a product's own limit)"},
    "POST /api/v1/checkout/preview": {VALID_REFUSED: "COUPON_NOT_FOUND and points over the balance are 422s"},
    "POST /api/v1/orders": {VALID_REFUSED: "CART_EMPTY, limits and Rx rules are 422s"},
    "POST /api/v1/prescriptions": {VALID_REFUSED: "`items` and `patient` are JSON inside form fields (the schema "
                                                  "can say only string), and the patient's rules are 422s"},
    "POST /api/v1/payments/sandbox/notify": {VALID_REFUSED: "only a notification the gateway signed is accepted; "
                                                            "any other object is a 400 fail"},
    # tracking: a batch keeps its valid events and lists the others in `rejected` (Segment's semantics), so a batch
    # with one invalid event among valid ones is a 200, not the 4xx schema-invalid input gets elsewhere
    **{f"POST /v1/{kind}": {"negative_data_rejection": "a batch refuses only when every event is invalid"}
       for kind in ("batch", "import")},
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
        _, write_key = tracking.create_source(s, admin, "fuzz server", "server")
        return {"admin": service.issue_tokens(s, admin).access_token,
                "customer": service.issue_tokens(s, customer).access_token, "write_key": write_key}


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
