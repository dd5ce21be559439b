"""Named tokens (issue #11): the token's name is each event's integration, in the spool line
and the metrics; two tokens of one name rotate; a token is never logged or echoed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from receiver_support import RunningReceiver, assert_error, spool_records, start_receiver

TOKENS = "uk-site=uk-secret-1,ie-site=ie-secret-old,ie-site=ie-secret-new,plain-secret"
AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "%s", "agentstate": 0}}'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    running = start_receiver(tmp_path_factory.mktemp("named") / "data", tokens=TOKENS)
    yield running
    running.stop()


def integration_of(server: RunningReceiver, event_id: str) -> str:
    [record] = [r for r in spool_records(server.data_dir) if r["event_id"] == event_id]
    return str(record.get("integration", "default"))


@pytest.mark.parametrize("token, integration", [
    pytest.param("uk-secret-1", "uk-site", id="named token"),
    pytest.param("ie-secret-old", "ie-site", id="old token of a rotation"),
    pytest.param("ie-secret-new", "ie-site", id="new token of a rotation"),
    pytest.param("plain-secret", "default", id="plain token"),
])
def test_each_event_carries_the_integration_its_token_names(
        server: RunningReceiver, token: str, integration: str) -> None:
    agent = token.replace("secret", "agent").encode()  # one event per case
    status, answer = server.post(AGENT % agent, {"Genius-Webhook-Token": token})
    assert status == 200
    assert integration_of(server, str(answer["event_id"])) == integration


def test_metrics_count_events_and_last_event_time_per_integration(
        server: RunningReceiver) -> None:
    before = time.time()
    server.post(AGENT % b"m1", {"Genius-Webhook-Token": "uk-secret-1"})
    text = server.get("/metrics")[1].decode()
    assert re.search(r'genius_wh_events_received_total\{action="agentactivity",'
                     r'integration="uk-site",outcome="accepted"\} [1-9]', text)
    found = re.search(r'genius_wh_last_event_timestamp_seconds\{action="agentactivity",'
                      r'integration="uk-site"\} ([0-9.e+]+)', text)
    assert found and float(found.group(1)) >= before - 1


def test_a_token_is_never_in_a_log_a_spool_line_an_answer_or_the_metrics(
        server: RunningReceiver) -> None:
    message = assert_error(*server.post(AGENT % b"x", {"Genius-Webhook-Token": "uk-secret-2"}),
                           401)
    assert "secret" not in message
    metrics = server.get("/metrics")[1]
    lines = b"".join(line for path in (server.data_dir / "spool").rglob("*.jsonl")
                     for line in path.read_bytes().splitlines())
    for where in (server.log.read_bytes(), metrics, lines):
        assert b"secret-1" not in where and b"secret-old" not in where
        assert b"secret-2" not in where
