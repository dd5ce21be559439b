"""Body parsing and event ids: the rules every stage relies on."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from genius_wh.records import (
    BadBody,
    body_depth,
    check_bounds,
    event_id,
    json_depth,
    make_record,
    parse_body,
    recorddata_field_count,
)


@pytest.mark.parametrize(
    ("raw", "expected", "repaired"),
    [
        pytest.param(b'{"action": "X"}', {"action": "X"}, False, id="plain object"),
        pytest.param(b'{"action": "X", "s": {"a": 1,},}', {"action": "X", "s": {"a": 1}}, True,
                     id="trailing commas before braces"),
        pytest.param(b'{"action": "X", "l": [1, 2,\n ]}', {"action": "X", "l": [1, 2]}, True,
                     id="trailing comma before bracket across lines"),
        pytest.param(b'{"action": "X", "t": "a,}",}', {"action": "X", "t": "a,}"}, True,
                     id="comma inside a string is kept"),
        pytest.param('{"action": "X", "n": "Séan",}'.encode(), {"action": "X", "n": "Séan"},
                     True, id="non-ascii text before the comma"),
        pytest.param(b'{"action": "X", "t": "q\\",]",}', {"action": "X", "t": 'q",]'}, True,
                     id="escaped quote then comma inside a string"),
        pytest.param(b'\xef\xbb\xbf{"action": "X"}', {"action": "X"}, True,
                     id="byte-order mark dropped"),
    ],
)
def test_bodies_parse_and_trailing_commas_are_repaired(
    raw: bytes, expected: dict[str, object], repaired: bool
) -> None:
    assert parse_body(raw) == (expected, repaired)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"[1, 2]", "body is not a JSON object but list", id="array"),
        pytest.param(b'"text"', "body is not a JSON object but str", id="string"),
        pytest.param(b'{"timestamp": "x"}', "body has no `action`", id="no action"),
        pytest.param(b'{"action": ""}', "body has no `action`", id="empty action"),
        pytest.param(b'{"action": "X",,}', "body is not valid JSON", id="double comma"),
        pytest.param(b"\xff\xfe{", "body is not valid JSON", id="not utf-8"),
        pytest.param(b"", "body is not valid JSON", id="empty body"),
    ],
)
def test_bad_bodies_are_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(BadBody, match=message):
        parse_body(raw)


def test_event_id_ignores_envelope_timestamp_key_order_and_action_case() -> None:
    first = {"action": "AgentActivity", "timestamp": "2021-07-06T10:00:16+01:00",
             "agentactivity": {"agent": "a1", "agentstate": 0}}
    again = {"agentactivity": {"agentstate": 0, "agent": "a1"}, "action": "agentactivity",
             "timestamp": "2021-07-06T10:05:00+01:00"}
    assert event_id(first) == event_id(again)


def test_event_id_differs_when_the_event_object_differs() -> None:
    one = {"action": "AgentActivity", "agentactivity": {"agent": "a1", "agentstate": 0}}
    two = {"action": "AgentActivity", "agentactivity": {"agent": "a1", "agentstate": 3}}
    other_action = {"action": "QueueInfo", "agentactivity": {"agent": "a1", "agentstate": 0}}
    assert len({event_id(one), event_id(two), event_id(other_action)}) == 3


def test_trailing_comma_repair_is_linear_in_the_number_of_commas() -> None:
    # issue #9: 10,000 trailing commas in 1 MiB cost 2.9 s when each one meant a new parse
    body = (b'{"action": "X", "l": [' + b"[1,]," * 10_000 + b'1], "pad": "'
            + b"a" * 1_000_000 + b'"}')
    started = time.perf_counter()
    parsed, repaired = parse_body(body)
    assert repaired and parsed["l"][:2] == [[1], [1]]
    assert time.perf_counter() - started < 0.5


def nested(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize(("value", "depth"), [
    pytest.param(1, 0, id="scalar"),
    pytest.param({}, 1, id="empty object"),
    pytest.param({"a": [1]}, 2, id="array in object"),
    pytest.param([[], {"a": {"b": None}}], 3, id="deepest branch wins"),
    pytest.param(nested(5000), 5000, id="deeper than the recursion limit"),
])
def test_json_depth_counts_levels_of_objects_and_arrays(value: Any, depth: int) -> None:
    assert json_depth(value) == depth


def test_recorddata_sent_as_json_text_counts_as_what_it_holds() -> None:
    # issue #9: a 255-deep recorddata string was accepted and stopped every batch
    body = {"action": "SessionEnded",
            "sessionended": {"recorddata": "[" * 255 + "]" * 255}}
    assert json_depth(body) == 2 and body_depth(body) == 257


@pytest.mark.parametrize(("recorddata", "count"), [
    pytest.param({"a": 1, "b": 2}, 2, id="object members"),
    pytest.param([{"key": "a", "value": 1}, {"Name": "b", "Value": 2}], 2, id="key/value"),
    pytest.param([["a", 1], ["b", 2], ["c", 3]], 3, id="pairs"),
    pytest.param([{"a": 1, "b": 2}], 2, id="objects of fields"),
    pytest.param('{"a": 1, "b": 2, "c": 3}', 3, id="json text"),
    pytest.param("not json", 0, id="plain text"),
    pytest.param(None, 0, id="null"),
])
def test_recorddata_fields_are_counted_however_they_are_sent(recorddata: Any,
                                                             count: int) -> None:
    assert recorddata_field_count({"action": "SessionEnded",
                                   "sessionended": {"RecordData": recorddata}}) == count


@pytest.mark.parametrize(("body", "message"), [
    pytest.param({"action": "X", "d": nested(65)},
                 "body is nested 66 levels deep, more than max_json_depth (64)", id="deep"),
    pytest.param({"action": "SessionEnded",
                  "sessionended": {"recorddata": {f"f{n}": n for n in range(2001)}}},
                 "recorddata has 2001 fields, more than max_recorddata_fields (2000)",
                 id="wide"),
])
def test_bounds_refuse_deep_and_wide_bodies_with_the_reason(body: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(BadBody) as caught:
        check_bounds(body, max_json_depth=64, max_recorddata_fields=2000)
    assert str(caught.value) == message


def test_bodies_within_bounds_pass() -> None:
    body = {"action": "X", "d": nested(63),
            "sessionended": {"recorddata": {f"f{n}": n for n in range(2000)}}}
    check_bounds(body, max_json_depth=64, max_recorddata_fields=2000)


def test_spool_record_names_its_integration_unless_default() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    named = make_record({"action": "X"}, received_at=now, source="s", integration="uk-site")
    plain = make_record({"action": "X"}, received_at=now, source="s")
    assert named["integration"] == "uk-site" and "integration" not in plain
    assert named["event_id"] == plain["event_id"]


def test_repair_of_a_string_left_open_stays_linear() -> None:
    # a string left open before many escaped quotes once made the scan quadratic (found by
    # tests/test_hostile_fuzz.py)
    body = b'{"action": "X", "l": [1,], "t": "' + b'\\" ,] ' * 100_000
    started = time.perf_counter()
    with pytest.raises(BadBody, match="body is not valid JSON"):
        parse_body(body)
    assert time.perf_counter() - started < 0.5
