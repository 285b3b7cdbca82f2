"""Issue 11.7: nothing limited coupon-code guesses, so a script signed in as one customer (or as many, from one
address) could try a dictionary of words until a public code such as WELCOME10 answered. Now tries count per
customer and per client IP in a window: over the limit, 429 COUPON_CODE_RATE_LIMITED with Retry-After, and the
right code waits too; a redeemed code gives its try back."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from medreach.core.settings import get_settings
from tests.conftest import problem_code
from tests.promotions.conftest import coupon, promo_staff  # noqa: F401  (fixtures)

WORDS = ["WELCOME", "WELCOME1", "WELCOME5", "HELLO10", "NEW10", "VIP10", "SALE10", "FREE10", "SUMMER10", "GIFT10"]


@pytest.fixture
def tuned(monkeypatch, settings):
    """Throttle settings for one test (the service reads them from the environment, like the server does)."""

    def tune(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"MEDREACH_{name.upper()}", str(value))
        get_settings.cache_clear()
        return get_settings()

    yield tune
    monkeypatch.undo()
    get_settings.cache_clear()


def redeem(client, headers, code: str, **extra):
    return client.post("/api/v1/coupons/redeem", headers={**headers, **extra}, json={"code": code})


def test_a_customer_guessing_codes_is_stopped_and_the_right_code_waits_out_the_window(
    client, register, coupon, tuned  # noqa: F811
):
    s = tuned(coupon_code_tries_per_customer=5, coupon_code_tries_per_ip=0, coupon_code_window_seconds=2)
    coupon(name="公开码", public_code="WELCOME10", min_spend_fen=0)
    _, guesser, _ = register()
    for word in WORDS[: s.coupon_code_tries_per_customer]:  # the attack: one dictionary word after another
        r = redeem(client, guesser, word)
        assert r.status_code == 404 and problem_code(r) == "COUPON_CODE_UNKNOWN", word
    r = redeem(client, guesser, "WELCOME10", **{"Accept-Language": "en"})  # the next guess is the right one
    assert r.status_code == 429 and problem_code(r) == "COUPON_CODE_RATE_LIMITED"
    wait = int(r.headers["Retry-After"])
    assert wait == r.json()["retry_after"] and 0 < wait <= s.coupon_code_window_seconds
    assert r.json()["detail"] == f"Too many coupon codes tried; try again in {wait} s"
    for word in WORDS[5:8]:  # refused tries do not stretch the window
        assert redeem(client, guesser, word).status_code == 429
    _, other, _ = register()  # another customer (at this address: the IP limit is off here) is not held up
    assert redeem(client, other, "WELCOME10").status_code == 201
    time.sleep(wait + 0.2)  # a window, not a lock
    assert redeem(client, guesser, "WELCOME10").status_code == 201


def test_one_address_guessing_with_many_accounts_is_stopped_and_other_addresses_are_not(
    app, client, register, coupon, tuned  # noqa: F811
):
    s = tuned(coupon_code_tries_per_customer=3, coupon_code_tries_per_ip=6)
    coupon(name="公开码", public_code="WELCOME10", min_spend_fen=0)
    sprayer = TestClient(app, client=("203.0.113.7", 40000))
    accounts = [register()[1] for _ in range(3)]
    for i in range(s.coupon_code_tries_per_ip):  # two guesses per account: no customer's count fills
        assert redeem(sprayer, accounts[i % 3], WORDS[i]).status_code == 404
    fresh = register()[1]
    for headers in (*accounts, fresh):  # every account at that address, a new one too
        r = redeem(sprayer, headers, "WELCOME10")
        assert r.status_code == 429 and problem_code(r) == "COUPON_CODE_RATE_LIMITED"
        assert int(r.headers["Retry-After"]) > 0
    elsewhere = TestClient(app, client=("198.51.100.20", 40000))
    assert redeem(elsewhere, accounts[0], "WELCOME10").status_code == 201  # its own count: 2 of 3


def test_redeemed_codes_give_their_try_back(client, register, coupon, tuned):  # noqa: F811
    s = tuned(coupon_code_tries_per_customer=2, coupon_code_tries_per_ip=0)
    codes = [f"GOOD{i}" for i in range(4)]
    for code in codes:
        coupon(name=f"码{code}", public_code=code, min_spend_fen=0)
    _, headers, _ = register()
    for code in codes:  # more good codes than the limit: none of them counts
        assert redeem(client, headers, code).status_code == 201
    for word in WORDS[: s.coupon_code_tries_per_customer]:
        assert redeem(client, headers, word).status_code == 404
    assert redeem(client, headers, WORDS[-1]).status_code == 429


def test_a_limit_of_zero_turns_the_throttle_off(client, register, tuned):
    tuned(coupon_code_tries_per_customer=0, coupon_code_tries_per_ip=0)
    _, headers, _ = register()
    assert {redeem(client, headers, f"NOPE{i:04d}").status_code for i in range(15)} == {404}
