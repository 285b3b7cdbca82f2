"""Row-level normalisation and type conversion of imported values, with the libraries made for each job:
full-width forms by Unicode NFKC, Traditional to Simplified Chinese by OpenCC, phone numbers by
`phonenumbers` (E.164), units by `pint` (with the Chinese unit names shops use), timestamps by pandas in the
source's time zone, then UTC.

It runs in Python, once, before the set-level steps (duplicates, missing values, outliers) that the engine
runs, so DuckDB and Spark see the same converted values. A value that cannot be converted becomes missing and
is counted as invalid for its column, with examples for the report; nothing is changed silently.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import pandas as pd
import phonenumbers

NA_VALUES = frozenset({"", "null", "none", "nan", "n/a", "na", "-", "—", "无", "空", "#n/a"})
MAX_EXAMPLES = 5


@cache
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


@cache
def units():
    """pint's registry with the unit names Chinese shops and suppliers write."""
    import pint

    registry = pint.UnitRegistry()
    for line in (
        "克 = gram",
        "毫克 = milligram",
        "千克 = kilogram",
        "公斤 = kilogram",
        "斤 = 500 * gram",
        "两 = 50 * gram",
        "毫升 = milliliter",
        "升 = liter",
    ):
        registry.define(line)
    return registry


def fullwidth(s: str) -> str:
    """Full-width letters, digits and punctuation (ＡＢＣ１２３，) to their ASCII forms."""
    return unicodedata.normalize("NFKC", s)


def phone_e164(s: str, region: str = "CN") -> str | None:
    """A phone number in E.164 (+8613800138000), or None if it is not a valid number."""
    try:
        number = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def pseudonym(s: str, key: bytes) -> str:
    """A keyed hash that stands for a personal identifier: the same number always gives the same pseudonym, so
    rows still join, but the lake never holds the number (PIPL Art 51, COMPLIANCE 19)."""
    return hmac.new(key, s.encode(), hashlib.sha256).hexdigest()[:32]


STRING_STEPS: dict[str, Callable[[str], str]] = {
    "strip": lambda s: " ".join(s.split()),  # trims and folds runs of whitespace (incl. full-width spaces)
    "fullwidth": fullwidth,
    "t2s": lambda s: _opencc().convert(s),
    "lower": str.lower,
    "upper": str.upper,
}
VALUE_STEPS = ("phone", "pseudonymize")  # may turn a value into None (invalid) or need the key
TYPES = ("string", "int", "float", "money", "bool", "timestamp", "date", "quantity")


@dataclass
class Outcome:
    values: list[Any]
    invalid: int = 0
    examples: list[str] = field(default_factory=list)

    def bad(self, raw: Any) -> None:
        self.invalid += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(str(raw)[:60])


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MONEY_NOISE = re.compile(r"[¥￥,，\s]|RMB|CNY|元|人民币", re.IGNORECASE)
_TRUE = {"true", "t", "yes", "y", "1", "是", "有", "对"}
_FALSE = {"false", "f", "no", "n", "0", "否", "无", "错"}


def _decimal(s: str) -> Decimal | None:
    s = s.replace(",", "").replace("，", "")
    if not _NUMBER.match(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def _to_int(s: str) -> int | None:
    d = _decimal(s)
    return int(d) if d is not None and d == d.to_integral_value() else None


def _to_float(s: str) -> float | None:
    d = _decimal(s)
    return float(d) if d is not None else None


def _to_fen(s: str) -> int | None:
    """Money in yuan as shops write it (¥1,234.50, 12.5元, RMB 8) to integer fen."""
    d = _decimal(_MONEY_NOISE.sub("", s))
    return int((d * 100).quantize(Decimal(1))) if d is not None else None


def _to_bool(s: str) -> bool | None:
    low = s.lower()
    return True if low in _TRUE else False if low in _FALSE else None


@dataclass(frozen=True)
class ColumnRule:
    """How one imported column is read (see `datasets.toml` for the keys)."""

    type: str = "string"
    normalize: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"  # of timestamps written without a zone
    format: str | None = None  # strptime format of odd timestamps
    unit: str | None = None  # for type quantity: the unit the column is kept in (g, ml, …)
    region: str = "CN"  # for phone numbers written without a country code


def convert(raw: Sequence[Any], rule: ColumnRule, key: bytes = b"") -> Outcome:
    """Normalise and convert one column's raw values."""
    out = Outcome([None] * len(raw))
    strings: list[str | None] = []
    for value in raw:
        if value is None or (isinstance(value, float) and value != value):
            strings.append(None)
            continue
        s = value if isinstance(value, str) else str(value)
        for step in rule.normalize:
            if step in STRING_STEPS:
                s = STRING_STEPS[step](s)
        strings.append(None if s.strip().lower() in NA_VALUES else s.strip())
    if rule.type in ("timestamp", "date"):
        _convert_times(strings, raw, rule, out)
        return out
    parse = _PARSERS[rule.type](rule)
    for i, given in enumerate(strings):
        text: str | None = given
        if text is None:
            continue
        if "phone" in rule.normalize:
            text = phone_e164(text, rule.region)
            if text is None:
                out.bad(raw[i])
                continue
        if "pseudonymize" in rule.normalize:
            text = pseudonym(text, key)
        value = parse(text)
        if value is None:
            out.bad(raw[i])
        out.values[i] = value
    return out


def _quantity(rule: ColumnRule) -> Callable[[str], float | None]:
    def parse(s: str) -> float | None:
        number = _to_float(s)
        if number is not None:
            return number  # a bare number is already in the column's unit
        try:
            q = units().Quantity(s.replace(" ", ""))
            return float(q.to(rule.unit).magnitude)
        except Exception:  # noqa: BLE001  pint raises several error types for text it cannot read or convert
            return None

    return parse


_PARSERS: dict[str, Callable[[ColumnRule], Callable[[str], Any]]] = {
    "string": lambda r: lambda s: s,
    "int": lambda r: _to_int,
    "float": lambda r: _to_float,
    "money": lambda r: _to_fen,
    "bool": lambda r: _to_bool,
    "quantity": _quantity,
}


def _convert_times(strings: list[str | None], raw: Sequence[Any], rule: ColumnRule, out: Outcome) -> None:
    """Timestamps in any common layout (2026-11-25 10:30, 2026/11/25, ISO with a zone, 2026年11月25日) to UTC;
    a date column keeps the calendar date."""
    cleaned = [None if s is None else re.sub(r"[年月]", "-", s).replace("日", " ").strip() for s in strings]
    parsed = [pd.NaT] * len(cleaned)
    for i, s in enumerate(cleaned):
        if s is None:
            continue
        try:
            parsed[i] = pd.to_datetime(s, format=rule.format) if rule.format else pd.Timestamp(s)
        except (ValueError, TypeError, OverflowError):
            parsed[i] = pd.NaT
    for i, ts in enumerate(parsed):
        if cleaned[i] is None:
            continue
        if ts is pd.NaT or pd.isna(ts):
            out.bad(raw[i])
            continue
        if rule.type == "date":
            out.values[i] = ts.date()
            continue
        ts = ts.tz_localize(rule.timezone) if ts.tzinfo is None else ts
        out.values[i] = ts.tz_convert("UTC").to_pydatetime()
