"""Segment HTTP tracking API semantics: what a call must carry, and how it is normalized for the log.

Pure functions over parsed JSON; the router does I/O. Compatible with the Segment (and RudderStack)
HTTP API and their official SDKs: identify, track, page, screen, group, alias and batch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
_FIELDS = ("type", "userId", "anonymousId", "event", "name", "properties", "traits", "context", "integrations",
           "messageId", "timestamp", "originalTimestamp", "sentAt", "previousId", "groupId", "category")
_OBJECTS = ("properties", "traits", "context", "integrations")
_STRINGS = ("event", "name", "messageId", "previousId", "groupId", "category")


@dataclass
class Rejected:
    index: int | None
    field: str
    reason: str
    message_id: str | None = None


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check(event, kind: str | None, index: int | None) -> Rejected | None:
    """Why this call must be refused, or None. `kind` is the endpoint's type (None inside a batch)."""
    if not isinstance(event, dict):
        return Rejected(index, "body", "not_an_object")
    if len(orjson.dumps(event)) > MAX_EVENT_BYTES:
        return Rejected(index, "body", "event_too_large", _id(event))
    t = kind or event.get("type")
    if t not in TYPES:
        return Rejected(index, "type", "unknown_type", _id(event))
    for key in ("userId", "anonymousId"):
        v = event.get(key)
        if v is not None and not isinstance(v, (str, int)) or isinstance(v, bool):
            return Rejected(index, key, "must_be_a_string", _id(event))
    if not event.get("userId") and not event.get("anonymousId"):
        return Rejected(index, "userId", "missing_user_id_and_anonymous_id", _id(event))
    for key in _OBJECTS:
        if event.get(key) is not None and not isinstance(event[key], dict):
            return Rejected(index, key, "must_be_an_object", _id(event))
    for key in _STRINGS:
        if event.get(key) is not None and not isinstance(event[key], str):
            return Rejected(index, key, "must_be_a_string", _id(event))
    if t == "track" and not event.get("event"):
        return Rejected(index, "event", "missing_event", _id(event))
    if t == "alias" and not event.get("previousId"):
        return Rejected(index, "previousId", "missing_previous_id", _id(event))
    if t == "group" and not event.get("groupId"):
        return Rejected(index, "groupId", "missing_group_id", _id(event))
    for key in ("timestamp", "originalTimestamp", "sentAt"):
        if event.get(key) is not None and parse_time(event[key]) is None:
            return Rejected(index, key, "bad_timestamp", _id(event))
    return None


def _id(event) -> str | None:
    v = event.get("messageId") if isinstance(event, dict) else None
    return v if isinstance(v, str) else None


def normalize(event: dict, kind: str | None, source_id: int, received: datetime, batch_sent_at=None,
              received_iso: str | None = None) -> dict:
    """The record the log keeps. The server sets receivedAt; with no timestamp from the client it corrects
    the client's clock: timestamp = receivedAt - (sentAt - originalTimestamp). (A batch passes its parsed
    sentAt and receivedAt text once, rather than per event.)"""
    out = {k: event[k] for k in _FIELDS if event.get(k) is not None}
    out["type"] = kind or event["type"]
    for key in ("userId", "anonymousId"):
        if key in out and not isinstance(out[key], str):
            out[key] = str(out[key])
    if "messageId" not in out:
        out["messageId"] = f"server-{uuid.uuid4()}"
    out["receivedAt"] = received_iso or iso(received)
    given = event.get("timestamp")
    if given is not None:
        out["timestamp"] = iso(parse_time(given))
    else:
        original = parse_time(event.get("originalTimestamp"))
        sent = parse_time(event.get("sentAt")) if event.get("sentAt") else (
            batch_sent_at if isinstance(batch_sent_at, datetime) else parse_time(batch_sent_at))
        if sent is not None and original is not None:
            out["timestamp"] = iso(received - (sent - original))
        else:
            out["timestamp"] = iso(original) if original else out["receivedAt"]
    out["sourceId"] = source_id
    return out
