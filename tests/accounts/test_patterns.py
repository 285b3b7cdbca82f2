"""The OpenAPI document's patterns for phone and ID numbers say what the validators accept: every spelling the
phone normaliser takes (spaces, hyphens, +86, surrounding whitespace) matches the pattern, and nothing else does;
an ID number that matches can be refused only for its check digit. Patterns are matched whole, as JSON Schema
reads them."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from medreach.accounts import schemas

PHONE = re.compile(schemas.PHONE_PATTERN)
ID_NUMBER = re.compile(schemas.ID_NUMBER_PATTERN)
# What a phone is spelled with, and what it must not be: other whitespace, other scripts' digits, letters.
NOISE = st.sampled_from([*"0123456789+86 -", "\t", "\n", "\x1c", "\u3000", "\u00a0", "\u0663", "\uff11", "x", "(", "."])


def accepts(validate, text: str) -> bool:
    try:
        validate(text)
    except ValueError:
        return False
    return True


def documented_phone(text: str) -> bool:
    return len(text) <= 20 and PHONE.fullmatch(text) is not None


@st.composite
def phone_spellings(draw) -> str:
    """A spelling the pattern allows, often with one character added, removed or replaced."""
    text = draw(st.from_regex(PHONE, fullmatch=True))
    i = draw(st.integers(0, len(text)))
    change = draw(st.sampled_from(["keep", "insert", "delete", "replace"]))
    c = draw(NOISE)
    if change == "insert":
        text = text[:i] + c + text[i:]
    elif change == "delete":
        text = text[:i] + text[i + 1 :]
    elif change == "replace":
        text = text[:i] + c + text[i + 1 :]
    return text


@settings(max_examples=400, deadline=None)
@given(phone_spellings() | st.lists(NOISE, max_size=22).map("".join))
def test_the_phone_pattern_is_what_the_normaliser_accepts(text):
    assert documented_phone(text) == (len(text) <= 20 and accepts(schemas._phone, text)), repr(text)


def test_spellings_of_one_phone():
    for text in ["13900000001", "+8613900000001", " +86 139-0000-0001 ", "139 0000 0001\t", "\u3000139-0000-0001"]:
        assert documented_phone(text) and schemas._phone(text) == "13900000001", repr(text)
    arabic_indic = "139" + "\u0660" * 7 + "\u0661"  # digits of another script are not the number's spelling
    for text in ["8613900000001", "+86\t13900000001", "1390000000", "12900000001", arabic_indic]:
        assert not documented_phone(text) and not accepts(schemas._phone, text), repr(text)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(ID_NUMBER, fullmatch=True))
def test_an_id_number_of_the_pattern_is_refused_only_for_its_check_digit(text):
    try:
        assert schemas._id_number(text) == text.upper()
    except ValueError as e:
        assert "check digit" in str(e)


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from([*"0123456789Xx ", "\u0663", "\t"]), max_size=18))
def test_an_id_number_outside_the_pattern_is_refused(text):
    if ID_NUMBER.fullmatch(text) is None:
        assert not accepts(schemas._id_number, text), repr(text)


def test_the_document_carries_the_patterns():
    address = schemas.AddressIn.model_json_schema()["properties"]["phone"]
    profile = schemas.ProfileIn.model_json_schema()["properties"]["id_number"]["anyOf"][0]
    assert address["pattern"] == schemas.PHONE_PATTERN and address["maxLength"] == 20
    assert profile["pattern"] == schemas.ID_NUMBER_PATTERN and profile["maxLength"] == 18
    assert accepts(schemas._id_number, "11010519491231002x")
