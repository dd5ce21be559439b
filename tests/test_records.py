"""Body parsing and event ids: the rules every stage relies on."""

from __future__ import annotations

import pytest

from genius_wh.records import BadBody, event_id, parse_body


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
