"""Passwords (argon2id), access tokens (JWT bound to their login), personal data at rest (AES-256-GCM) and masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from medreach.core.settings import get_settings

# argon2-cffi's defaults are the RFC 9106 "low memory" argon2id profile.
_hasher = PasswordHasher()
# Verified against when the login is unknown, so both paths cost the same (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# --- access tokens -------------------------------------------------------------------------------


class TokenError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session: str  # the login it belongs to (its refresh-token family): ending the login ends the token at once


def issue_access_token(user_id: int, session: str, minutes: int | None = None) -> tuple[str, int]:
    s = get_settings()
    ttl = minutes if minutes is not None else s.access_token_minutes
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "sid": session, "iat": now, "exp": now + timedelta(minutes=ttl), "typ": "access"}
    return jwt.encode(claims, s.signing_key, algorithm="HS256"), ttl * 60


def read_access_token(token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, get_settings().signing_key, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]}
        )
    except jwt.ExpiredSignatureError as e:
        raise TokenError("TOKEN_EXPIRED") from e
    except jwt.PyJWTError as e:
        raise TokenError("INVALID_TOKEN") from e
    if claims.get("typ") != "access" or not str(claims["sub"]).isdigit() or not isinstance(claims["sid"], str):
        raise TokenError("INVALID_TOKEN")
    return AccessClaims(int(claims["sub"]), claims["sid"])


def new_opaque_token() -> tuple[str, str]:
    """A random token and the SHA-256 we store (the token itself never touches the database)."""
    token = secrets.token_urlsafe(32)
    return token, sha256_hex(token)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- personal data at rest -------------------------------------------------------------------------


def _derive(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(get_settings().data_key)


_keys: dict[bytes, bytes] = {}


def _key(purpose: bytes) -> bytes:
    if purpose not in _keys:
        _keys[purpose] = _derive(purpose)
    return _keys[purpose]


def reset_keys() -> None:
    """Forget derived keys (after the settings change, e.g. in tests)."""
    _keys.clear()


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    ct = AESGCM(_key(b"medreach/pii/aes-gcm")).encrypt(nonce, plaintext.encode(), b"medreach-pii-v1")
    return "v1:" + base64.b64encode(nonce + ct).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith("v1:"):
        raise ValueError("unknown ciphertext version")
    raw = base64.b64decode(stored[3:])
    return AESGCM(_key(b"medreach/pii/aes-gcm")).decrypt(raw[:12], raw[12:], b"medreach-pii-v1").decode()


def blind_index(value: str) -> str:
    """A keyed hash for equality lookups and uniqueness on encrypted values."""
    return hmac.new(_key(b"medreach/pii/blind-index"), value.encode(), hashlib.sha256).hexdigest()


class EncryptedString(TypeDecorator):
    """A text column whose raw value is AES-GCM ciphertext; Python sees plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)


# --- masking: the one rule for personal data in staff views and exports -----------------------------------------
# Every staff view and export shows a person's identifiers masked, whoever the viewer is; the full values are read
# only through an explicit reveal with a purpose, which is audited (docs/api.md "Personal data and masking").


def mask_phone(phone: str | None) -> str | None:
    """138****8000: the network prefix and the last four digits."""
    if not phone:
        return phone
    digits = phone[-11:] if len(phone) >= 11 else phone
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "*" * len(digits)


def mask_id_number(value: str | None) -> str | None:
    """110***********002X: the region's first three and the last four characters."""
    if not value:
        return value
    return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_name(value: str | None) -> str | None:
    """王*明, 张*: the first character (and the last, for three or more)."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) <= 2 else value[0] + "*" * (len(value) - 2) + value[-1]


def mask_email(value: str | None) -> str | None:
    """z***@example.com: the first character and the domain."""
    if not value or "@" not in value:
        return value
    local, domain = value.split("@", 1)
    return local[:1] + "***@" + domain


def mask_street(value: str | None) -> str | None:
    """科技园****: the street address's first three characters (province, city and district are shown apart)."""
    if not value:
        return value
    return value[:3] + "****" if len(value) > 3 else "****"


PERSONAL_MASKS = {
    "name": mask_name,
    "phone": mask_phone,
    "email": mask_email,
    "id_number": mask_id_number,
    "street": mask_street,
}


def mask_fields(values: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """`values` with each field named in `kinds` masked by the rule for its kind of personal data."""
    return {k: PERSONAL_MASKS[kinds[k]](v) if k in kinds else v for k, v in values.items()}


# Keys under which free-form data sent by clients (tracking traits and properties) names a person's identifiers.
PERSONAL_KEYS = {
    **dict.fromkeys(("name", "firstname", "lastname", "first_name", "last_name", "realname", "real_name"), "name"),
    **dict.fromkeys(("username", "recipient", "patient_name", "contact"), "name"),
    **dict.fromkeys(("phone", "mobile", "phone_number", "phonenumber", "tel", "telephone"), "phone"),
    **dict.fromkeys(("email", "e_mail", "mail"), "email"),
    **dict.fromkeys(("id_number", "idnumber", "id_card", "idcard"), "id_number"),
    **dict.fromkeys(("street", "detail", "address", "address_line", "line1", "line2"), "street"),
}


# In an event's properties a "name" (a product's, a page's) or an "address" names no person.
UNAMBIGUOUS_PERSONAL_KEYS = {
    k: kind for k, kind in PERSONAL_KEYS.items() if k not in ("name", "username", "contact", "detail", "address")
}


def mask_personal(value: Any, keys: dict[str, str] = PERSONAL_KEYS) -> Any:
    """Data of unknown shape (a client's traits, say) with every value under a personal key masked by its rule,
    at any depth; a nested object under such a key (an address with its city) is walked, not masked whole."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kind = keys.get(str(k).lower())
            if kind and not isinstance(v, dict | list):
                out[k] = PERSONAL_MASKS[kind](v if isinstance(v, str) or v is None else str(v))
            else:
                out[k] = mask_personal(v, keys)
        return out
    if isinstance(value, list):
        return [mask_personal(v, keys) for v in value]
    return value
