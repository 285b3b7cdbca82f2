"""Request bodies (core.schemas.InputModel): no control characters in text, JSON types as declared (no coercion),
and the OpenAPI document says both."""

import re
from typing import Annotated

import pytest
from pydantic import Field, ValidationError

from medreach.core.schemas import FROM_TEXT, MULTILINE_PATTERN, ONE_LINE_PATTERN, InputModel, MultiLine


class Body(InputModel):
    name: Annotated[str, Field(max_length=20)]
    note: MultiLine | None = None
    tags: list[str] = []
    code: Annotated[str, Field(pattern="^[A-Z]+$")] = "A"
    agreed: bool = False
    quantity: int | None = None
    price: float = 0


def codes(error: ValidationError) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["type"] for e in error.errors()}


@pytest.mark.parametrize("given, field, code", [
    ({"agreed": 0}, "agreed", "bool_type"),
    ({"agreed": "false"}, "agreed", "bool_type"),
    ({"quantity": "2"}, "quantity", "int_type"),
    ({"quantity": True}, "quantity", "int_type"),
    ({"quantity": 2.5}, "quantity", "int_type"),
    ({"price": "9.9"}, "price", "float_type"),
    ({"price": False}, "price", "float_type"),
    ({"name": "a\x00b"}, "name", "control_character"),
    ({"name": "two\nlines"}, "name", "control_character"),
    ({"tags": ["ok", "bad\x1b[31m"]}, "tags", "control_character"),
])
def test_refused_not_coerced(given, field, code):
    with pytest.raises(ValidationError, match=code) as e:
        Body.model_validate({"name": "x", **given})
    assert codes(e.value) == {field: code}


def test_what_json_means_is_accepted():
    body = Body.model_validate({"name": "张三", "note": "line one\nline two\ttab", "agreed": True, "quantity": 2.0,
                                "price": 3, "tags": ["a"]})
    assert (body.quantity, body.price, body.note) == (2, 3.0, "line one\nline two\ttab")
    assert Body.model_validate({"name": "x", "quantity": None}).quantity is None


def test_rows_read_from_text_keep_their_numbers_as_text():
    body = Body.model_validate({"name": "x", "quantity": "2", "price": "9.9", "agreed": "true"}, context=FROM_TEXT)
    assert (body.quantity, body.price, body.agreed) == (2, 9.9, True)


def test_the_schema_gives_text_fields_their_pattern():
    props = Body.model_json_schema()["properties"]
    assert props["name"]["pattern"] == ONE_LINE_PATTERN and props["name"]["maxLength"] == 20
    assert props["note"]["anyOf"][0]["pattern"] == MULTILINE_PATTERN
    assert props["tags"]["items"]["pattern"] == ONE_LINE_PATTERN
    assert props["code"]["pattern"] == "^[A-Z]+$"  # a field's own pattern is kept
    one_line, multiline = re.compile(ONE_LINE_PATTERN), re.compile(MULTILINE_PATTERN)
    assert one_line.fullmatch("药房 A-1") and not one_line.fullmatch("a\x00") and not one_line.fullmatch("a\nb")
    assert multiline.fullmatch("a\nb\tc") and not multiline.fullmatch("a\x07") and not multiline.fullmatch("\u202e")
