"""The password rule, for registration, password changes and staff accounts (docs/api.md "Passwords").

At least 8 characters, and hard to guess as judged by zxcvbn (Dropbox's estimator: common-password lists,
dictionaries, keyboard patterns, dates, repeats, and the account's own phone, email and name). A refusal is a 422
naming the field, with the reason: too short, a common password, like the person's own data, or too guessable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from zxcvbn import zxcvbn

from medreach.core.errors import AppError
from medreach.core.settings import get_settings

MIN_LENGTH = 8
_ANALYSED = 72  # zxcvbn's limit; a longer password is at least as strong as its beginning
_zxcvbn_lock = threading.Lock()  # zxcvbn keeps the user inputs in a module-level dictionary while it works


def check(password: str, *, field: str, personal: Iterable[str | None]) -> None:
    """Refuse a weak password with a 422 naming `field`. `personal`: the account's phone, email, name…"""
    if len(password) < MIN_LENGTH:
        raise AppError(422, "PASSWORD_TOO_SHORT", field=field, min_length=MIN_LENGTH)
    with _zxcvbn_lock:
        result = zxcvbn(password[:_ANALYSED], user_inputs=personal_words(personal))
    if result["score"] >= get_settings().password_min_score:
        return
    found_in = {m.get("dictionary_name") for m in result["sequence"] if m["pattern"] == "dictionary"}
    if "user_inputs" in found_in:
        code = "PASSWORD_LIKE_PERSONAL"
    elif "passwords" in found_in:
        code = "PASSWORD_TOO_COMMON"
    else:
        code = "PASSWORD_TOO_WEAK"
    raise AppError(422, code, field=field)


def personal_words(values: Iterable[str | None]) -> list[str]:
    """The words of a person's data a password must not be built from: each value, an email's local part, a
    name's parts, a phone number without its carrier prefix."""
    words: set[str] = set()
    for value in values:
        value = (value or "").strip().lower()
        if not value:
            continue
        words.add(value)
        words.update(value.split())
        if "@" in value:
            words.add(value.split("@", 1)[0])
        if value.isdigit() and len(value) == 11:
            words.add(value[3:])
    return sorted(w for w in words if len(w) >= 2)
