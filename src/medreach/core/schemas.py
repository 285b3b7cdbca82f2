"""The base of every request body: text that arrives from a client carries no control characters.

NUL bytes, escape sequences and other C0/C1 controls have no place in a name, an address or a review; they
break exports, terminals and other systems downstream. Newlines and tabs are allowed only in fields declared
`MultiLine`; everything else is one line. A refusal is a 422 naming the field (`control_character`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# C0 controls, DEL and C1 controls, plus the bidirectional overrides that disguise text (U+202A-202E, 2066-2069).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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


class InputModel(BaseModel):
    """Every API request body derives from this."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        multiline = field is not None and (
            any(isinstance(m, _MultiLineMarker) for m in field.metadata) or _marked(field.annotation)
        )
        _check(value, multiline)
        return value
