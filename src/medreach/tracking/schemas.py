"""API shapes for tracking: sources, identity tokens, people, and the collector's bodies (for the document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from medreach.core.schemas import InputModel
from medreach.tracking.collector import TYPES


class SourceIn(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["web", "server", "app", "import"]


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    key_hint: str
    status: str
    internal: bool  # written by MedReach itself: no key, cannot be rotated or revoked
    trusted: bool  # a secret server/import key, whose userIds are believed
    created_at: datetime
    rotated_at: datetime | None


class SourceWithKey(SourceOut):
    write_key: str  # shown once, at creation or rotation


class IdentityTokenOut(BaseModel):
    user_id: str
    token: str  # send as context.identityToken with the user's events
    expires_at: datetime


class PersonOut(BaseModel):
    """A customer found for their timeline, masked as the viewer may see them."""

    user_id: str
    name: str | None
    phone: str | None
    email: str | None


# --- the collector's bodies, for the OpenAPI document ---------------------------------------------------------
# The collector parses its bodies itself (collector.check is the rule); these schemas say the same to clients and
# to the contract tests. Unknown fields are allowed (and dropped), as Segment's API allows them.

# What collector.parse_time accepts: extended ISO 8601 that is a real instant (a date that exists, hours below 24,
# an offset below 24 hours), ASCII digits.
_YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
_LEAP_DAY = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26]|0[48])00)-02-29"
TIME_PATTERN = (
    f"^({_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
    "([T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?)?"
    "(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$"
)
_ID = {"type": ["string", "integer", "null"], "description": "a string (a number is taken as its text)"}
_GIVEN_ID = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "not": {"const": 0}}]}
_TEXT = {"type": ["string", "null"]}
_NAMED = {"type": "string", "minLength": 1}
_OBJECT = {"type": ["object", "null"]}
_TIME = {"type": ["string", "null"], "pattern": TIME_PATTERN, "description": "ISO 8601, e.g. 2026-05-01T08:30:00.000Z"}
_EVENT_PROPERTIES = {
    "userId": _ID,
    "anonymousId": _ID,
    **dict.fromkeys(("event", "name", "messageId", "previousId", "groupId", "category"), _TEXT),
    **dict.fromkeys(("properties", "traits", "context", "integrations"), _OBJECT),
    **dict.fromkeys(("timestamp", "originalTimestamp", "sentAt"), _TIME),
}
_NEEDS = {"track": "event", "alias": "previousId", "group": "groupId"}  # what a type requires besides an id


def event_schema(kind: str | None) -> dict:
    """One call of `kind` (an event inside a batch, with its `type`, for None): a userId or anonymousId that is not
    empty, the fields of their JSON types, and what the type requires (track: event, alias: previousId,
    group: groupId)."""
    has_id = {"anyOf": [{"required": [key], "properties": {key: _GIVEN_ID}} for key in ("userId", "anonymousId")]}
    schema: dict = {"type": "object", "properties": dict(_EVENT_PROPERTIES), "additionalProperties": True}
    if kind is not None:
        schema["allOf"] = [has_id]
        if kind in _NEEDS:
            schema["required"] = [_NEEDS[kind]]
            schema["properties"][_NEEDS[kind]] = _NAMED
        return schema
    schema["required"] = ["type"]
    schema["properties"]["type"] = {"enum": list(TYPES)}
    needs = [
        {"if": {"properties": {"type": {"const": t}}}, "then": {"required": [f], "properties": {f: _NAMED}}}
        for t, f in _NEEDS.items()
    ]
    schema["allOf"] = [has_id, *needs]
    return schema


def collector_body(kind: str | None) -> dict:
    """`openapi_extra` of a collector route: its request body (`kind` None: a batch)."""
    if kind is None:
        schema: dict = {
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {"type": "array", "items": event_schema(None)},
                "sentAt": {"description": "when the batch was sent (ISO 8601; anything else is ignored)"},
            },
            "additionalProperties": True,
        }
    else:
        schema = event_schema(kind)
    return {
        "requestBody": {
            "required": True,
            "description": "Segment's HTTP tracking API (JSON, gzip allowed); the write key may also come as "
            "`writeKey` in the body",
            "content": {"application/json": {"schema": schema}},
        }
    }
