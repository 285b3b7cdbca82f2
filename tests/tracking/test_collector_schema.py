"""The collector's bodies in the OpenAPI document say what collector.check accepts: the time pattern is exactly
parse_time, documented events are taken, and each rule of the schema is one the collector applies."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medreach.tracking import collector, schemas

TIME = re.compile(schemas.TIME_PATTERN)  # matched whole, as JSON Schema reads a pattern


@settings(max_examples=500, deadline=None)
@given(st.from_regex(collector._ISO_TIME, fullmatch=True) | st.from_regex(TIME, fullmatch=True))
def test_the_time_pattern_is_parse_time(text):
    assert (TIME.fullmatch(text) is not None) == (collector.parse_time(text) is not None), repr(text)


@pytest.mark.parametrize("text,ok", [
    ("2026-05-01T08:30:00.000Z", True), ("2024-02-29", True), ("2000-02-29T00:00:00+08:00", True),
    ("0400-02-29", True), ("2023-02-29", False), ("1900-02-29", False), ("0000-01-01", False),
    ("2026-04-31", False), ("2026-05-01T24:00:00Z", False), ("2026-05-01T08:30:00+24:00", False),
    ("2026-05-01 08:30:00+0530", True), ("2026-05-01T08:30:00.Z", False),
])
def test_times(text, ok):
    assert (TIME.fullmatch(text) is not None) is ok is (collector.parse_time(text) is not None)


def check(body, kind):
    return collector.check(body, kind, None)


@pytest.mark.parametrize("kind", [*collector.TYPES, None])
def test_each_documented_rule_is_the_collectors(kind):
    schema = schemas.event_schema(kind)
    base = {"type": kind or "track", "anonymousId": "a-1", "event": "x", "previousId": "p", "groupId": "g"}
    assert check(base, kind) is None
    for key in ("userId", "anonymousId"):  # ids: a non-empty string, or a non-zero number (7.0 counts as 7)
        assert schema["properties"][key]["type"] == ["string", "integer", "null"]
        other = "anonymousId" if key == "userId" else "userId"
        for value, ok in [("u", True), (7, True), (7.0, True), ("", False), (0, False), (True, False), (1.5, False)]:
            verdict = check({**base, other: None, key: value}, kind)
            assert (verdict is None) is ok, (key, value)
    needed = {"track": "event", "alias": "previousId", "group": "groupId"}.get(kind or "track")
    if kind is None:
        assert schema["required"] == ["type"] and check({**base, "type": "click"}, None).reason == "unknown_type"
    elif needed:
        assert schema["required"] == [needed]
    if needed:
        assert check({**base, needed: ""}, kind) is not None and check({**base, needed: None}, kind) is not None
    for key in ("properties", "traits", "context", "integrations"):
        assert check({**base, key: None}, kind) is None and check({**base, key: []}, kind).reason == "must_be_an_object"
    for key in ("event", "name", "messageId", "previousId", "groupId", "category"):
        assert check({**base, key: 5}, kind).reason == "must_be_a_string"


def test_a_whole_number_id_is_logged_as_its_text():
    record, _ = collector.accept({"userId": 42.0, "anonymousId": 7, "event": "x"}, "track", None, 1, "t")
    assert (record["userId"], record["anonymousId"]) == ("42", "7")


def test_the_collector_routes_are_documented(client):
    doc = client.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["writeKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    for path in [*(f"/v1/{t}" for t in collector.TYPES), "/v1/batch", "/v1/import"]:
        operation = doc["paths"][path]["post"]
        assert operation["security"] == [{"writeKey": []}]
        assert {"400", "401", "413", "429"} <= operation["responses"].keys()
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == schemas.collector_body(None if path in ("/v1/batch", "/v1/import") else path[4:])[
            "requestBody"]["content"]["application/json"]["schema"]
    assert "x-security-schemes" not in doc["paths"]["/v1/track"]["post"]


@pytest.mark.parametrize("times", [
    {"originalTimestamp": "0001-01-01", "sentAt": "9999-12-31T23:59:59Z"},  # the correction leaves the calendar
    {"timestamp": "0001-01-01T00:00:00+05:00"},  # in UTC, the year before year 1
    {"originalTimestamp": "9999-12-31T23:59:59-05:00"},
])
def test_a_time_at_the_calendars_edge_reads_as_when_it_was_received(times):
    """Such times are ISO 8601 the collector takes; reading the event (the live view) must not fail on them."""
    record, _ = collector.accept({"userId": "1", "event": "x", **times}, "track", None, 1, "2026-05-01T08:30:00.000Z")
    assert collector.event_time(record) == "2026-05-01T08:30:00.000Z"
