"""The spec's four HTTP captures, byte for byte over a raw keep-alive socket, and intake cases."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from receiver_support import DATA, RunningReceiver, send_capture, spool_records, start_receiver

from genius_wh.records import parse_body

CAPTURES = ["capture-sessionended-trailing-comma.http", "capture-agentactivity.http",
            "capture-queueinfo.http", "capture-cardpayment.http"]
INTAKE = sorted(p.name for p in DATA.glob("intake-*.json"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    """A receiver accepting the spec's sample token."""
    running = start_receiver(tmp_path_factory.mktemp("captures") / "data",
                             tokens="ASampleToken")
    yield running
    running.stop()


def test_spec_captures_on_one_keep_alive_connection_are_all_accepted(
        server: RunningReceiver) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        answers = [send_capture(sock, (DATA / name).read_bytes()) for name in CAPTURES]
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    ids = [orjson.loads(answer)["event_id"] for _, answer in answers]
    spooled = {r["event_id"]: r for r in spool_records(server.data_dir)}
    assert [spooled[i]["action"] for i in ids] == [
        "SessionEnded", "AgentActivity", "QueueInfo", "CardPayment"]


def test_sessionended_capture_trailing_comma_is_repaired_and_original_kept(
        server: RunningReceiver) -> None:
    capture = (DATA / CAPTURES[0]).read_bytes()
    raw = capture.partition(b"\r\n\r\n")[2]
    assert b'"Agreement": null,\n    }' in raw  # the capture really has the comma
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        status, answer = send_capture(sock, capture)
    [record] = [r for r in spool_records(server.data_dir)
                if r["event_id"] == orjson.loads(answer)["event_id"]][:1]
    assert status == 200 and record["original"] == raw.decode()
    assert record["body"]["session"]["recorddata"]["Agreement"] is None
    assert record["body"]["session"]["wrapptime"] == 2.1841454


@pytest.mark.parametrize("name", INTAKE)
def test_intake_tolerance_case_is_accepted_and_spooled_as_sent(
        server: RunningReceiver, name: str) -> None:
    raw = (DATA / name).read_bytes()
    status, answer = server.post(raw, {"Genius-Webhook-Token": "ASampleToken",
                                       "Content-Type": "text/plain; charset=utf-8"})
    assert status == 200, answer
    [record] = [r for r in spool_records(server.data_dir)
                if r["event_id"] == answer["event_id"]][-1:]
    body, repaired = parse_body(raw)
    assert record["body"] == body
    assert record.get("original") == (raw.decode() if repaired else None)


def test_intake_corpus_covers_a_repaired_array(tmp_path: Path) -> None:
    assert "intake-trailing-comma-in-array.json" in INTAKE
    assert parse_body((DATA / "intake-trailing-comma-in-array.json").read_bytes())[1]
