"""Issue 11.7: passwords such as 12345678, password or the phone number itself were accepted. Registration,
password changes and staff accounts now refuse them with a 422 naming the field and saying why, in both
languages."""

from __future__ import annotations

import pytest

from medreach.accounts import passwords
from medreach.core.errors import AppError
from medreach.demo import DEMO_PASSWORD
from tests.conftest import AGREEMENTS, PASSWORD, problem_code
from tests.e2e.ui import CUSTOMER_PASSWORD

PHONE = "13800138000"


def field_error(r) -> dict:
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    return error


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("12345678", "PASSWORD_TOO_COMMON"),
        ("password", "PASSWORD_TOO_COMMON"),
        (PHONE, "PASSWORD_LIKE_PERSONAL"),
        ("+86" + PHONE, "PASSWORD_LIKE_PERSONAL"),
        ("aaaaaaaaaaaa", "PASSWORD_TOO_WEAK"),
        ("short", "PASSWORD_TOO_SHORT"),
    ],
)
def test_registration_refuses_weak_passwords_with_the_reason(client, password, code):
    body = {"phone": PHONE, "password": password, "agreements": AGREEMENTS}
    r = client.post("/api/v1/auth/register", json=body)
    error = field_error(r)
    assert problem_code(r) == error["code"] == code and error["field"] == "password"
    english = client.post("/api/v1/auth/register", json=body, headers={"Accept-Language": "en"})
    assert field_error(english)["message"] != error["message"]  # zh-CN by default, English on request
    assert client.post("/api/v1/auth/login", json={"login": PHONE, "password": password}).status_code == 401


def test_an_email_or_name_is_no_password_either(client):
    email = "zhang.wei@example.com"
    r = client.post("/api/v1/auth/register", json={"email": email, "password": email, "agreements": AGREEMENTS})
    assert problem_code(r) == "PASSWORD_LIKE_PERSONAL"
    body = {"phone": PHONE, "name": "wangxiaoming", "password": "wangxiaoming", "agreements": AGREEMENTS}
    r = client.post("/api/v1/auth/register", json=body)
    assert problem_code(r) == "PASSWORD_LIKE_PERSONAL"


def test_a_password_change_to_the_phone_number_is_refused(client, register):
    _, headers, _ = register(PHONE)
    r = client.post("/api/v1/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": PHONE})
    error = field_error(r)
    assert error["field"] == "new_password" and error["code"] == "PASSWORD_LIKE_PERSONAL"
    assert client.post("/api/v1/auth/login", json={"login": PHONE, "password": PASSWORD}).status_code == 200


def test_staff_accounts_get_the_same_rule(client, admin):
    _, headers = admin
    body = {"email": "new-pharmacist@medreach.cn", "name": "药师", "roles": ["pharmacist"], "password": "password1"}
    r = client.post("/api/v1/admin/users", headers=headers, json=body)
    assert field_error(r)["field"] == "password" and problem_code(r) == "PASSWORD_TOO_COMMON"


@pytest.mark.parametrize("password", [PASSWORD, DEMO_PASSWORD, CUSTOMER_PASSWORD, "another-pass-1", "marketer-pass-1"])
def test_the_passwords_the_tests_and_the_demo_use_are_strong_enough(password):
    passwords.check(password, field="password", personal=[PHONE, "demo@medreach.cn", "测试顾客"])


def test_the_rule_reads_only_the_start_of_very_long_passwords():
    passwords.check("Tr0ub4dor&3-correct-horse-battery" + "x" * 90, field="password", personal=[])  # no error
    with pytest.raises(AppError, match="PASSWORD_TOO_WEAK"):
        passwords.check("a" * 128, field="password", personal=[])
