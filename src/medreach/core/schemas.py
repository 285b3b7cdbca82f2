"""The base of every request body: text that arrives from a client carries no control characters, and every
value has the JSON type its field declares.

NUL bytes, escape sequences and other C0/C1 controls have no place in a name, an address or a review; they
break exports, terminals and other systems downstream. Newlines and tabs are allowed only in fields declared
`MultiLine`; everything else is one line. A refusal is a 422 naming the field (`control_character`). The OpenAPI
document says so too: each such text field carries the pattern of the characters it accepts.

A boolean field takes `true` or `false`, an integer field an integer, a number field a number: `"granted": 0`,
`"quantity": "2"` or `"quantity": true` are refused (422), not coerced into something the client did not say.
Rows read from text (a CSV import's cells) are validated with `context=FROM_TEXT`, where numbers are text.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# C0 controls, DEL and C1 controls, plus the bidirectional overrides that disguise text (U+202A-202E, 2066-2069).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The same rules for the OpenAPI document: a text without any of them.
ONE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"
MULTILINE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"


class _MultiLineMarker:
    """Metadata: newlines and tabs are allowed in this text field (descriptions, reviews, notes)."""


MultiLine = Annotated[str, _MultiLineMarker()]


def has_control_characters(text: str, multiline: bool = False) -> bool:
    return (_CONTROL_MULTILINE if multiline else _CONTROL).search(text) is not None


def _check(value: Any, multiline: bool) -> None:
    if isinstance(value, str):
        if has_control_characters(value, multiline):
            raise PydanticCustomError(
                "control_character", "must not contain control characters (NUL, escapes, line breaks)"
            )
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check(item, multiline)
    elif isinstance(value, dict):
        for k, item in value.items():
            _check(k, False)
            _check(item, multiline)


def _marked(annotation: Any) -> bool:
    """Whether a `MultiLine` marker sits anywhere in a type (`MultiLine | None` included)."""
    if any(isinstance(m, _MultiLineMarker) for m in getattr(annotation, "__metadata__", ())):
        return True
    return any(_marked(arg) for arg in get_args(annotation))


def _scalar_kind(annotation: Any) -> type | None:
    """bool, int or float when the field holds that one JSON scalar (or null), else None."""
    if get_origin(annotation) in (Union, UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else None
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation if annotation in (bool, int, float) else None


FROM_TEXT = {"from_text": True}  # validation context of values read from text: "12" is an integer there
_JSON_TYPE_ERRORS = {
    bool: ("bool_type", "a boolean"),
    int: ("int_type", "an integer"),
    float: ("float_type", "a number"),
}


def _is_json(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is int:  # JSON Schema counts 2.0 as an integer
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float)


def _document_text(schema: dict[str, Any], multiline: bool) -> None:
    """Give every plain text schema in `schema` (nullable, in lists and maps too) the pattern of what it accepts."""
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = MULTILINE_PATTERN if multiline else ONE_LINE_PATTERN
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, []):
            _document_text(sub, multiline)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _document_text(schema[key], multiline and key == "items")


def _document(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        multiline = any(isinstance(m, _MultiLineMarker) for m in field.metadata) or _marked(field.annotation)
        prop = schema.get("properties", {}).get(field.alias or name)
        if prop is not None:
            _document_text(prop, multiline)


class InputModel(BaseModel):
    """Every API request body derives from this."""

    model_config = ConfigDict(json_schema_extra=_document)

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        kind = _scalar_kind(field.annotation) if field is not None else None
        if (info.context or {}).get("from_text"):
            return value
        if kind is not None and value is not None and not _is_json(kind, value):
            code, what = _JSON_TYPE_ERRORS[kind]
            raise PydanticCustomError(code, f"must be {what}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        multiline = field is not None and (
            any(isinstance(m, _MultiLineMarker) for m in field.metadata) or _marked(field.annotation)
        )
        _check(value, multiline)
        return value
