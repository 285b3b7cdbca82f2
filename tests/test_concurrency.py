"""Races on every database: many clients at once, one correct outcome, nothing half-written."""

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from medreach.accounts.models import RefreshToken, User
from tests.conftest import AGREEMENTS, PASSWORD


def test_concurrent_registration_of_one_phone(client, db):
    def attempt(_):
        body = {"phone": "13700000001", "password": PASSWORD, "agreements": AGREEMENTS}
        return client.post("/api/v1/auth/register", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert codes.count(201) == 1 and codes.count(409) == 15, codes
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_concurrent_refresh_of_one_token(client, register, db):
    _, _, tokens = register()

    def attempt(_):
        return client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(8)))
    # One rotation wins; the rest present a spent token, which revokes the family (theft response).
    assert codes.count(200) <= 1 and codes.count(401) >= 7, codes
    with db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).where(RefreshToken.revoked_at.is_(None))) == 0
