import pytest
from cryptography.exceptions import InvalidTag

from medreach.core import security


def test_password_hash_is_argon2id_and_verifies():
    h = security.hash_password("s3cret-password")
    assert h.startswith("$argon2id$")
    assert security.verify_password(h, "s3cret-password")
    assert not security.verify_password(h, "wrong-password")
    assert not security.verify_password(None, "anything")  # unknown user: never true
    assert not security.verify_password("not-a-hash", "anything")


def test_encryption_round_trip_is_randomized_and_authenticated():
    a, b = security.encrypt("13812345678"), security.encrypt("13812345678")
    assert a != b and "13812345678" not in a
    assert security.decrypt(a) == "13812345678"
    raw = bytearray(__import__("base64").b64decode(a[3:]))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag) as tampered:  # the GCM tag check itself: it carries no message to match
        security.decrypt("v1:" + __import__("base64").b64encode(bytes(raw)).decode())
    assert type(tampered.value) is InvalidTag


def test_blind_index_is_keyed_and_stable():
    assert security.blind_index("13812345678") == security.blind_index("13812345678")
    assert security.blind_index("13812345678") != security.hashlib.sha256(b"13812345678").hexdigest()


@pytest.mark.parametrize("fn,value,masked", [
    (security.mask_phone, "13812345678", "138****5678"),
    (security.mask_id_number, "11010519491231002X", "110***********002X"),
    (security.mask_name, "张三", "张*"),
    (security.mask_name, "欧阳娜娜", "欧**娜"),
    (security.mask_email, "alice@example.com", "a***@example.com"),
    (security.mask_phone, None, None),
])
def test_masking(fn, value, masked):
    assert fn(value) == masked


def test_access_token_expiry_and_tampering():
    token, ttl = security.issue_access_token(42, "login-1")
    assert ttl > 0 and security.read_access_token(token) == security.AccessClaims(42, "login-1")
    expired, _ = security.issue_access_token(42, "login-1", minutes=-1)
    with pytest.raises(security.TokenError, match=r"^TOKEN_EXPIRED$") as e:
        security.read_access_token(expired)
    assert e.value.code == "TOKEN_EXPIRED"
    head, body, sig = token.split(".")
    with pytest.raises(security.TokenError, match=r"^INVALID_TOKEN$") as e:
        security.read_access_token(f"{head}.{body}.{sig[::-1]}")
    assert e.value.code == "INVALID_TOKEN"
