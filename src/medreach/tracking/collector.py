"""Segment HTTP tracking API semantics: what a call must carry, and how it is normalized for the log.

Pure functions over parsed JSON; the router does I/O. Compatible with the Segment (and RudderStack)
HTTP API and their official SDKs: identify, track, page, screen, group, alias and batch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import orjson

TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
SERVER_FIELDS_BYTES = 256  # receivedAt, sentAt, sourceId and a messageId, added to what the client sent
_FIELDS = (
    "type",
    "userId",
    "anonymousId",
    "event",
    "name",
    "properties",
    "traits",
    "context",
    "integrations",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "previousId",
    "groupId",
    "category",
)
_FIELD_SET = frozenset(_FIELDS)
_OBJECTS = ("properties", "traits", "context", "integrations")
_STRINGS = ("event", "name", "messageId", "previousId", "groupId", "category")
IDENTITY_TOKEN = "identityToken"  # context.identityToken: the server's proof of the userId (never logged)
CLAIMED_USER_ID = "claimedUserId"  # context.claimedUserId: a userId a client-side source could not prove


@dataclass
class Rejected:
    index: int | None
    field: str
    reason: str
    message_id: str | None = None


# Extended ISO 8601 only (what Segment's clients send, and what the lake's engines read the same way).
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?")


def parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


EPOCH, DAY_MS = datetime(1970, 1, 1, tzinfo=UTC), 86_400_000


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return (EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")


def stamp(ms: int) -> str:
    """Epoch milliseconds as the collector's ISO text (UTC, milliseconds, Z) without making a datetime: the
    day part is cached, the rest is arithmetic (the simulator stamps millions of events with it)."""
    day, rest = divmod(ms, DAY_MS)
    s, milli = divmod(rest, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{_day_prefix(day)}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check(event, kind: str | None, index: int | None) -> Rejected | None:
    """Why this call must be refused, or None (its size is checked in `accept`). `kind` is the endpoint's
    type (None inside a batch)."""
    if not isinstance(event, dict):
        return Rejected(index, "body", "not_an_object")
    t = kind or event.get("type")
    if t not in TYPES:
        return Rejected(index, "type", "unknown_type", _id(event))
    for key in ("userId", "anonymousId"):
        v = event.get(key)
        if v is not None and (isinstance(v, bool) or (not isinstance(v, (str, int)) and not _whole(v))):
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


def _whole(v) -> bool:
    """A whole number written as a float (`7.0`): JSON, and JSON Schema, count it as the integer 7."""
    return isinstance(v, float) and v.is_integer()


def _id(event) -> str | None:
    v = event.get("messageId") if isinstance(event, dict) else None
    return v if isinstance(v, str) else None


def normalize(
    event: dict, kind: str | None, source_id: int, received_iso: str, batch_sent_at: str | None = None
) -> dict:
    """The record the log keeps: what the client sent (known fields only), plus receivedAt, the source and a
    batch's sentAt. No time is parsed or re-written here, which keeps the collector fast; the lake's
    `timestamp` column applies Segment's clock-skew correction (see `event_time`)."""
    out = {k: v for k, v in event.items() if k in _FIELD_SET and v is not None}
    out["type"] = kind or event["type"]
    for key in ("userId", "anonymousId"):
        if key in out and not isinstance(out[key], str):
            out[key] = str(int(out[key]))  # 7 and 7.0 alike: "7"
    if "messageId" not in out:
        out["messageId"] = f"server-{uuid.uuid4()}"
    out["receivedAt"] = received_iso
    if batch_sent_at and "sentAt" not in out:
        out["sentAt"] = batch_sent_at
    out["sourceId"] = source_id
    return out


Verifier = Callable[[object], str | None]  # an identity token -> the user it proves, or None


def settle_identity(record: dict, verified_user: Verifier | None, index: int | None) -> Rejected | None:
    """Take the identity token out of the record (it is never logged) and, for a client-side source
    (`verified_user` given), keep the userId only if the token proves that very user. An unproven claim moves
    to context.claimedUserId and the event stays anonymous; with no anonymousId to keep, it is refused."""
    context = record.get("context")  # the parsed request's own dict: changed in place
    token = context.pop(IDENTITY_TOKEN, None) if context is not None else None
    if verified_user is None or "userId" not in record:
        return None
    if token is not None and verified_user(token) == record["userId"]:
        return None
    if "anonymousId" not in record:
        return Rejected(index, "userId", "unverified_user_id", record.get("messageId"))
    if context is None:
        context = record["context"] = {}
    context[CLAIMED_USER_ID] = record.pop("userId")
    return None


def accept(
    event,
    kind: str | None,
    index: int | None,
    source_id: int,
    received_iso: str,
    batch_sent_at: str | None = None,
    verified_user: Verifier | None = None,
) -> tuple[dict, bytes] | Rejected:
    """Check, normalize and serialize one call: (record, log line), or why it is refused. The size limit
    is applied to the line, which has room for what the server adds. `verified_user` is given for a client-side
    source: its userIds need an identity token (`settle_identity`)."""
    problem = check(event, kind, index)
    if problem is not None:
        return problem
    record = normalize(event, kind, source_id, received_iso, batch_sent_at)
    problem = settle_identity(record, verified_user, index)
    if problem is not None:
        return problem
    line = orjson.dumps(record)
    if len(line) > MAX_EVENT_BYTES + SERVER_FIELDS_BYTES:
        return Rejected(index, "body", "event_too_large", _id(event))
    return record, line


def event_time(record: dict) -> str:
    """When the event happened: the client's timestamp if it gave one, else receivedAt - (sentAt -
    originalTimestamp) (its clock corrected), else originalTimestamp, else receivedAt. The same rule as
    the lake's `timestamp` column (lake.EVENT_SCHEMA), for records read straight from the log."""
    received = parse_time(record.get("receivedAt"))
    given, original, sent = (parse_time(record.get(k)) for k in ("timestamp", "originalTimestamp", "sentAt"))
    t: datetime | None
    try:
        if given is not None:
            t = given
        elif original is not None and sent is not None and received is not None:
            t = received - (sent - original)
        else:
            t = original or received
        return iso(t) if t is not None else ""
    except OverflowError:  # the correction, or UTC, takes a time of year 1 or 9999 off the calendar
        return iso(received) if received is not None else ""
