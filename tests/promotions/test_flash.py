"""Flash sales under contention, on both stock paths: Redis (Lua) and the database (conditional updates)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from medreach.orders.models import Order
from medreach.promotions.flash import DbFlashStock
from tests.conftest import REDIS_URL, problem_code, redis_cache
from tests.orders.test_orders import key

SALE_STOCK = 5


@pytest.fixture(params=["redis", "database"])
def flash_path(request, app):
    """Run the test with the app's flash stock in Redis, then in the database."""
    if request.param == "database":
        app.state.flash = DbFlashStock()
        yield "database"
        return
    from medreach.promotions.flash import RedisFlashStock

    prefix = redis_cache().prefix  # a fresh namespace; skips (or fails in CI) when Redis is absent
    stock = RedisFlashStock(REDIS_URL, prefix)
    app.state.flash = stock
    yield "redis"
    for k in stock.client.scan_iter(prefix + "*"):
        stock.client.delete(k)


def buyer(client, register):
    _, headers, _ = register()
    address = client.post("/api/v1/addresses", headers=headers, json={
        "recipient": "抢购", "phone": "13800138000", "province": "上海市", "city": "上海市", "detail": "1号"}).json()
    return headers, address["id"]


def test_many_buyers_one_small_sale(client, db, shop, publish, register, flash_path):
    sale = publish("flash_sale", {"product_id": shop["otc"], "sale_price_fen": 990, "sale_stock": SALE_STOCK,
                                  "per_user_limit": 1})
    buyers = [buyer(client, register) for _ in range(12)]

    def attempt(b):
        headers, address_id = b
        r = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**headers, **key()},
                        json={"address_id": address_id, "quantity": 1})
        return r.status_code, r.json().get("code"), r.json().get("total_fen")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, buyers * 2))  # each buyer tries twice
    won = [r for r in results if r[0] == 201]
    assert len(won) == SALE_STOCK, results
    assert all(r[2] == 990 + 1000 for r in won)  # sale price plus shipping
    assert {r[1] for r in results if r[0] != 201} <= {"FLASH_SOLD_OUT", "FLASH_LIMIT_REACHED"}
    with db.session() as s:
        orders = list(s.scalars(sa.select(Order)))
    assert len(orders) == SALE_STOCK and len({o.user_id for o in orders}) == SALE_STOCK  # one each
    listed = client.get("/api/v1/flash-sales").json()[0]
    assert listed["flash"]["remaining"] == 0


def test_unpaid_flash_orders_give_their_units_back(client, db, shop, publish, register, flash_path):
    sale = publish("flash_sale", {"product_id": shop["otc"], "sale_price_fen": 990, "sale_stock": 1,
                                  "per_user_limit": 1})
    (h1, a1), (h2, a2) = buyer(client, register), buyer(client, register)
    first = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**h1, **key()},
                        json={"address_id": a1}).json()
    r = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**h2, **key()}, json={"address_id": a2})
    assert r.status_code == 409 and problem_code(r) == "FLASH_SOLD_OUT"
    from datetime import UTC, datetime, timedelta

    from medreach.orders import service

    with db.session() as s:
        assert service.expire_overdue(s, client.app.state.flash, now=datetime.now(UTC) + timedelta(hours=1)) == 1
    assert client.get("/api/v1/flash-sales").json()[0]["flash"]["remaining"] == 1
    r = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**h2, **key()}, json={"address_id": a2})
    assert r.status_code == 201 and r.json()["id"] != first["id"]


def test_per_user_limit_and_not_running(client, shop, publish, register, flash_path):
    sale = publish("flash_sale", {"product_id": shop["otc"], "sale_price_fen": 990, "sale_stock": 10,
                                  "per_user_limit": 2})
    headers, address_id = buyer(client, register)
    r = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**headers, **key()},
                    json={"address_id": address_id, "quantity": 2})
    assert r.status_code == 201
    r = client.post(f"/api/v1/flash-sales/{sale['id']}/orders", headers={**headers, **key()},
                    json={"address_id": address_id, "quantity": 1})
    assert r.status_code == 409 and problem_code(r) == "FLASH_LIMIT_REACHED"
    r = client.post("/api/v1/flash-sales/999999/orders", headers={**headers, **key()}, json={"address_id": address_id})
    assert r.status_code == 404
