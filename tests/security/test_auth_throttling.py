"""Issue 11.2: the login lockout was counted per login string as typed, so every spelling of a phone number got
five fresh tries and the right password in another spelling logged in while the account was "locked".
Now failures count per account and per client IP, with growing delays instead of a hard lock."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from medreach.core.settings import get_settings
from tests.conftest import PASSWORD, problem_code

PHONE = "13800138000"
SPELLINGS = ["+86 138-0013-8000", "138 0013 8000", "+8613800138000", "138-0013-8000", "13800138000 "]


@pytest.fixture
def tuned(monkeypatch, settings):
    """Throttling settings for one test (the service reads them from the environment, like the server does)."""

    def tune(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"MEDREACH_{name.upper()}", str(value))
        get_settings.cache_clear()
        return get_settings()

    yield tune
    monkeypatch.undo()
    get_settings.cache_clear()


def login(client, login: str, password: str):
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


def test_each_spelling_of_a_phone_counts_against_the_same_account(client, register):
    register(PHONE)
    free = get_settings().login_free_failures
    for spelling in (SPELLINGS * 2)[:free]:  # the attack: a new spelling for every wrong guess
        assert login(client, spelling, "wrong-pass").status_code == 401
    r = login(client, "+86 13800138000", PASSWORD)  # the right password in yet another spelling
    assert r.status_code == 429 and problem_code(r) == "LOGIN_LOCKED"
    assert int(r.headers["Retry-After"]) == r.json()["retry_after"] > 0


def test_the_right_password_is_refused_during_the_delay_and_works_after_it(client, register, tuned):
    s = tuned(login_delay_base_seconds=1)
    register(PHONE)
    for spelling in (SPELLINGS * 2)[: s.login_free_failures]:
        login(client, spelling, "wrong-pass")
    for spelling in (PHONE, *SPELLINGS):
        r = login(client, spelling, PASSWORD)
        assert r.status_code == 429 and problem_code(r) == "LOGIN_LOCKED", spelling
    time.sleep(1.1)  # a delay, not a lock: it ends by itself
    assert login(client, SPELLINGS[0], PASSWORD).status_code == 200


def test_delays_grow_with_every_failure_up_to_the_cap(client, register, tuned):
    s = tuned(login_delay_base_seconds=1, login_delay_max_seconds=2)
    register(PHONE)
    for _ in range(s.login_free_failures):
        login(client, PHONE, "wrong-pass")
    assert login(client, PHONE, "wrong-pass").json()["retry_after"] == 1
    time.sleep(1.1)
    assert login(client, PHONE, "wrong-pass").status_code == 401  # the one try after the delay, wrong again
    assert login(client, PHONE, PASSWORD).json()["retry_after"] == 2  # twice as long
    time.sleep(2.1)
    assert login(client, PHONE, "wrong-pass").status_code == 401
    assert login(client, PHONE, PASSWORD).json()["retry_after"] == 2  # capped


def test_unknown_logins_are_throttled_by_their_normalised_form_like_known_ones(client, register):
    register(PHONE)
    free = get_settings().login_free_failures
    answers = {}
    for phone in (PHONE, "13900139000"):  # one registered, one not
        spellings = [f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}", f"{phone[:3]} {phone[3:7]} {phone[7:]}", phone]
        for i in range(free):
            login(client, spellings[i % len(spellings)], "wrong-pass")
        r = login(client, "+86" + phone, "wrong-pass")
        answers[phone] = (r.status_code, problem_code(r), r.json()["retry_after"])
    assert answers[PHONE] == answers["13900139000"] == (429, "LOGIN_LOCKED", get_settings().login_delay_base_seconds)


def test_one_ip_trying_many_accounts_is_slowed_down_and_others_are_not(app, client, register, tuned):
    s = tuned(login_ip_free_failures=6)
    victim, _, _ = register()
    sprayer = TestClient(app, client=("203.0.113.7", 40000))
    for i in range(s.login_ip_free_failures):  # one wrong guess at each of many accounts: no account's count fills
        assert login(sprayer, f"1390000{i:04d}", "wrong-pass").status_code == 401
    r = login(sprayer, victim["phone"], PASSWORD)
    assert r.status_code == 429 and problem_code(r) == "LOGIN_LOCKED" and int(r.headers["Retry-After"]) > 0
    other_ip = TestClient(app, client=("198.51.100.20", 40000))
    assert login(other_ip, victim["phone"], PASSWORD).status_code == 200


def test_parallel_guesses_get_no_extra_tries(app, register):
    register(PHONE)
    free = get_settings().login_free_failures

    def guess(i: int) -> int:
        with TestClient(app) as c:
            return login(c, SPELLINGS[i % len(SPELLINGS)], f"wrong-pass-{i}").status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(guess, range(24)))
    assert codes.count(401) <= free + 1  # the free tries and the one after the (not yet started) delay
    assert codes.count(429) >= 24 - free - 1
