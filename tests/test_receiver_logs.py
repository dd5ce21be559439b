"""The receiver's logs (issue #12): one JSON object per line on stderr, an access line per
request that names the integration but never carries a token or a body, values cut."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from receiver_support import RunningReceiver, start_receiver

from genius_wh.logs import MAX_FIELD, JsonFormatter, TextFormatter, configure
from genius_wh.settings import load_settings

TOKEN = "s3cret-token-value-1234"
MARKER = "body-marker-that-must-not-be-logged"
BODY = orjson.dumps({"action": "AgentActivity", "agentactivity": {"agent": MARKER}})


def log_lines(running: RunningReceiver) -> list[str]:
    return [line for line in running.log.read_text().splitlines() if line.strip()]


def json_lines(running: RunningReceiver) -> list[dict[str, Any]]:
    """Every line of the server's stderr, each of which must be one JSON object."""
    entries = [orjson.loads(line) for line in log_lines(running)]
    assert all(isinstance(entry, dict) for entry in entries)
    return entries


def access(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["logger"] == "genius_wh.access"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The log of a real receiver after an accepted event, a health check, a wrong token,
    a token in the query string and a very long path."""
    data = tmp_path_factory.mktemp("logs") / "data"
    running = start_receiver(data, tokens=f"uk-site={TOKEN}")
    try:
        assert running.post(BODY, {"Genius-Webhook-Token": TOKEN})[0] == 200
        assert running.get("/healthz")[0] == 200
        assert running.post(BODY, {"Genius-Webhook-Token": "wrong" + TOKEN})[0] == 401
        assert running.post(BODY, {"Genius-Webhook-Token": TOKEN},
                            path=f"/webhook?token={TOKEN}")[0] == 200
        assert running.get("/" + "x" * 5000)[0] == 404
    finally:
        running.stop()
    return json_lines(running)


def test_every_line_is_a_json_object_with_time_level_logger_and_message(
        served: list[dict[str, Any]]) -> None:
    for entry in served:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert entry["time"].endswith("Z") and entry["level"] in {"INFO", "WARNING"}
    assert any(e["message"].startswith("listening on http://127.0.0.1:") for e in served)


def one(lines: list[dict[str, Any]], method: str, path: str, status: int) -> dict[str, Any]:
    """The one access line of a request (lines are written as answers finish: any order)."""
    [found] = [e for e in lines if (e["method"], e["path"][:len(path)], e["status"]) ==
               (method, path, status)]
    return found


def test_each_request_gets_one_access_line_with_its_fields(
        served: list[dict[str, Any]]) -> None:
    lines = access(served)  # start_receiver polls /healthz until the server answers
    assert sorted({(e["method"], e["path"][:20], e["status"]) for e in lines}) == [
        ("GET", "/healthz", 200), ("GET", "/" + "x" * 19, 404), ("POST", "/", 200),
        ("POST", "/", 401), ("POST", "/webhook", 200)]
    accepted = one(lines, "POST", "/webhook", 200)
    assert accepted["integration"] == "uk-site" and accepted["peer"] == "127.0.0.1"
    assert accepted["request_bytes"] == len(BODY) and accepted["bytes"] > 0
    assert 0 <= accepted["duration_ms"] < 10_000
    assert accepted["message"] == "POST /webhook 200"
    assert one(lines, "POST", "/", 401)["integration"] == "unknown"
    health = [e for e in lines if e["path"] == "/healthz"]
    assert health and not any("integration" in e for e in health), "a GET names none"


def test_no_line_carries_the_token_or_the_body(served: list[dict[str, Any]]) -> None:
    text = "\n".join(orjson.dumps(e).decode() for e in served)
    assert TOKEN not in text and MARKER not in text
    assert "token=" not in text, "the query string is left out"


def test_a_long_path_is_cut_in_the_access_line(served: list[dict[str, Any]]) -> None:
    long = one(access(served), "GET", "/xxx", 404)
    assert len(long["path"]) <= 200 and len(orjson.dumps(long)) < 1000


def test_behind_a_proxy_the_line_has_the_peer_and_the_client(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", trusted_proxies="1")
    try:
        assert running.post(BODY, {"X-Forwarded-For": "203.0.113.9"})[0] == 200
    finally:
        running.stop()
    line = one(access(json_lines(running)), "POST", "/", 200)
    assert (line["peer"], line["client"]) == ("127.0.0.1", "203.0.113.9")


def test_text_format_writes_plain_lines(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", tokens=TOKEN, log_format="text")
    try:
        assert running.post(BODY)[0] == 401
    finally:
        running.stop()
    lines = log_lines(running)
    assert not any(line.startswith("{") for line in lines)
    [refused] = [line for line in lines if "refused request from" in line]
    assert " WARNING genius_wh.ingest: refused request from 127.0.0.1" in refused
    [line] = [line for line in lines if " genius_wh.access: POST" in line]
    assert line.endswith("POST / 401 method=POST path=/ status=401 bytes=65 request_bytes=0 "
                         f"duration_ms={line.split('duration_ms=')[1].split()[0]} "
                         "peer=127.0.0.1 integration=unknown")


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_log_level_sets_the_least_severe_line_written(root_logger: logging.Logger) -> None:
    configure(load_settings(log_level="WARNING"))
    configure(load_settings(log_level="warning"))
    ours = [h for h in root_logger.handlers if getattr(h, "genius_wh", False)]
    assert len(ours) == 1, "configuring again replaces our handler"
    assert root_logger.level == logging.WARNING
    assert not logging.getLogger("genius_wh.access").isEnabledFor(logging.INFO)


def test_access_log_off_writes_no_access_lines(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", access_log="false")
    try:
        assert running.post(BODY)[0] == 200
    finally:
        running.stop()
    assert access(json_lines(running)) == []


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("genius_wh.test", logging.INFO, __file__, 1, "said %s",
                               ("hello",), None)
    record.__dict__.update(extra)
    return record


def test_fields_are_kept_in_json_and_cut_when_long() -> None:
    entry = orjson.loads(JsonFormatter().format(_record(path="p" * 5000, status=200)))
    assert entry["message"] == "said hello" and entry["status"] == 200
    assert entry["path"] == "p" * MAX_FIELD + "…"


def test_text_lines_show_fields_as_key_value() -> None:
    line = TextFormatter().format(_record(status=200, peer="127.0.0.1"))
    assert line.endswith(" INFO genius_wh.test: said hello status=200 peer=127.0.0.1")


def test_the_scheduler_s_job_children_log_json_too(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", tokens=TOKEN, scheduler=True,
                             batch_interval_seconds="1")
    try:
        assert running.post(BODY, {"Genius-Webhook-Token": TOKEN})[0] == 200
        deadline = time.monotonic() + 60
        while "batch loaded" not in running.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        running.stop()
    lines = json_lines(running)  # every line, the batch child's included, is JSON
    assert any(e["message"].startswith("batch loaded") for e in lines)
