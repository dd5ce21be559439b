"""Every HTTP answer of the receiver, over real HTTP against `genius-wh serve`."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from receiver_support import (
    RunningReceiver,
    assert_error,
    quarantined,
    spool_records,
    start_receiver,
    wait_until,
)

AGENT = b'{"action": "AgentActivity", "timestamp": "2021-07-06T10:00:16.0958645+01:00", ' \
        b'"agentactivity": {"agent": "agent1001", "agentstate": 0}}'
LIMIT = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    """One receiver with two tokens and a 4 KiB body limit."""
    running = start_receiver(tmp_path_factory.mktemp("http") / "data",
                             tokens="first-token,second-token", max_body_bytes=str(LIMIT))
    yield running
    running.stop()


def token(value: str = "second-token") -> dict[str, str]:
    return {"Genius-Webhook-Token": value}


def records_of(server: RunningReceiver, event_id: str) -> list[dict[str, object]]:
    return [r for r in spool_records(server.data_dir) if r["event_id"] == event_id]


@pytest.mark.parametrize("path", ["/", "/webhook"])
def test_accepted_event_gets_200_with_its_id_and_is_in_the_spool(
        server: RunningReceiver, path: str) -> None:
    body = AGENT.replace(b"agent1001", path.encode())
    status, answer = server.post(body, token(), path=path)
    assert status == 200 and answer["status"] == "accepted"
    [record] = records_of(server, str(answer["event_id"]))
    assert record["body"] == orjson.loads(body) and record["source"] == "127.0.0.1"
    assert record["action"] == "AgentActivity" and "original" not in record


def test_redelivery_gets_200_and_the_same_event_id(server: RunningReceiver) -> None:
    first = AGENT.replace(b"agent1001", b"redelivered")
    again = first.replace(b"10:00:16.0958645", b"10:05:00.0000000")
    _, one = server.post(first, token())
    status, two = server.post(again, token())
    assert status == 200 and one["event_id"] == two["event_id"]
    assert len(records_of(server, str(one["event_id"]))) == 2  # dedup is the warehouse's job


def test_unknown_action_is_accepted(server: RunningReceiver) -> None:
    status, answer = server.post(b'{"action": "SomethingNew", "x": 1}', token())
    assert status == 200 and records_of(server, str(answer["event_id"]))


@pytest.mark.parametrize("body, reason", [
    pytest.param(b"[1, 2]", "body is not a JSON object but list", id="array"),
    pytest.param(b'"text"', "body is not a JSON object but str", id="string"),
    pytest.param(b"{not json", "body is not valid JSON", id="not json"),
    pytest.param(b"", "body is not valid JSON", id="empty"),
    pytest.param(b'{"timestamp": "x"}', "body has no `action`", id="no action"),
    pytest.param(b'{"action": ""}', "body has no `action`", id="empty action"),
    pytest.param(b"\xff\xfe{", "body is not valid JSON", id="not utf-8"),
])
def test_bad_body_gets_400_and_is_quarantined_byte_for_byte(
        server: RunningReceiver, body: bytes, reason: str) -> None:
    before = set(quarantined(server.data_dir))
    message = assert_error(*server.post(body, token()), 400)
    assert message.startswith(reason) and "kept in quarantine/" in message
    [kept] = set(quarantined(server.data_dir)) - before
    assert kept.read_bytes() == body and kept.name in message
    sidecar = orjson.loads(kept.with_suffix(".json").read_bytes())
    assert sidecar["reason"].startswith(reason) and sidecar["source"] == "127.0.0.1"
    assert sidecar["received_at"]


@pytest.mark.parametrize("headers, message", [
    pytest.param({}, "missing Genius-Webhook-Token header", id="missing"),
    pytest.param(token("nope"), "wrong Genius-Webhook-Token header", id="wrong"),
    pytest.param(token(""), "wrong Genius-Webhook-Token header", id="empty"),
    pytest.param(token("first-token-and-more"), "wrong Genius-Webhook-Token header",
                 id="longer"),
])
def test_bad_token_gets_401_and_writes_nothing(
        server: RunningReceiver, headers: dict[str, str], message: str) -> None:
    before = (len(spool_records(server.data_dir)), quarantined(server.data_dir))
    assert assert_error(*server.post(b"[not even json", headers), 401) == message
    assert (len(spool_records(server.data_dir)), quarantined(server.data_dir)) == before


def test_each_configured_token_is_accepted(server: RunningReceiver) -> None:
    assert server.post(AGENT, token("first-token"))[0] == 200
    assert server.post(AGENT, token("second-token"))[0] == 200


def test_body_over_limit_gets_413_and_writes_nothing(server: RunningReceiver) -> None:
    before = (len(spool_records(server.data_dir)), quarantined(server.data_dir))
    big = b'{"action": "X", "pad": "' + b"a" * LIMIT + b'"}'
    message = assert_error(*server.post(big, token()), 413)
    assert message == f"body is larger than max_body_bytes ({LIMIT})"
    assert (len(spool_records(server.data_dir)), quarantined(server.data_dir)) == before


def test_chunked_body_over_limit_gets_413(server: RunningReceiver) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    chunks = (b'{"action": "X", "pad": "' + b"a" * 1000 + b'"}' for _ in range(6))
    conn.request("POST", "/", body=chunks, headers=token(), encode_chunked=True)
    answer = conn.getresponse()
    status, text = answer.status, answer.read()
    conn.close()
    assert status == 413 and b"max_body_bytes" in text


def test_chunked_body_within_limit_is_accepted(server: RunningReceiver) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/", body=iter([AGENT[:20], AGENT[20:]]), headers=token(),
                 encode_chunked=True)
    answer = conn.getresponse()
    status, text = answer.status, answer.read()
    conn.close()
    assert status == 200
    assert records_of(server, orjson.loads(text)["event_id"])


def test_healthz_is_ok_while_the_spool_is_writable(server: RunningReceiver) -> None:
    status, body = server.get("/healthz")
    assert (status, orjson.loads(body)) == (200, {"status": "ok"})


def test_metrics_count_events_bytes_rejections_and_repairs(server: RunningReceiver) -> None:
    server.post(b'{"action": "QueueInfo", "queueinfo": {"a": 1,},}', token())
    server.post(AGENT, token("wrong"))
    status, text = server.get("/metrics")
    lines = text.decode()
    assert status == 200
    assert ('genius_wh_events_received_total{action="queueinfo",integration="default",'
            'outcome="accepted"}') in lines
    assert 'genius_wh_rejected_requests_total{reason="token"}' in lines
    assert "genius_wh_trailing_comma_repairs_total 1.0" in lines
    assert "genius_wh_received_bytes_total" in lines


def test_start_without_tokens_logs_a_warning(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data")
    try:
        assert running.post(AGENT)[0] == 200
        wait_until(lambda: "no tokens set" in running.log.read_text(), what="the warning")
    finally:
        running.stop()


@pytest.mark.parametrize("method, path, status", [
    pytest.param("GET", "/", 405, id="GET on the webhook"),
    pytest.param("POST", "/elsewhere", 404, id="unknown path"),
])
def test_other_http_errors_have_the_same_json_shape(
        server: RunningReceiver, method: str, path: str, status: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=b"{}" if method == "POST" else None)
    answer = conn.getresponse()
    code, text = answer.status, answer.read()
    conn.close()
    message = assert_error(code, orjson.loads(text), status)
    assert message.startswith(("Method Not Allowed", "Not Found"))
