"""The simulator delivers over real HTTP with the vendor's headers, or writes JSON lines."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from genius_wh.records import parse_body
from orchestration.cli import cli
from orchestration.simulator import DeliveryFailed, model_events, simulate

LONDON = ZoneInfo("Europe/London")


class Recorder(BaseHTTPRequestHandler):
    """Keeps every request's headers, body and client port; answers with `status`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    seen: list[tuple[list[tuple[str, str]], bytes, int]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((list(self.headers.items()), body, self.client_address[1]))
        answer = json.dumps({"status": "accepted"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"seen": [], "status": 200})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


def test_sends_every_event_with_the_vendors_headers_on_one_connection(
        server: tuple[str, type[Recorder]]) -> None:
    url, handler = server
    sent = simulate(url=url, out=None, token="ASampleToken", rate=0, count=40, seed=5, tz=LONDON)
    assert sent == 40 == len(handler.seen)
    headers, body, _ = handler.seen[0]
    content_types = [v for k, v in headers if k.lower() == "content-type"]
    assert content_types == ["application/json", "text/plain; charset=utf-8"]
    assert ("Genius-Webhook-Token", "ASampleToken") in headers
    assert len({port for _, _, port in handler.seen}) == 1, "keep-alive: one connection"
    received = [parse_body(b) for _, b, _ in handler.seen]
    assert [body for body, _ in received] == model_events(count=40, seed=5, tz=LONDON)
    assert any(repaired for _, repaired in received), "some bodies carry a trailing comma"


def test_rate_spaces_the_events_out(server: tuple[str, type[Recorder]]) -> None:
    import time

    url, _ = server
    began = time.monotonic()
    simulate(url=url, out=None, token=None, rate=50, count=11, seed=5, tz=LONDON)
    assert time.monotonic() - began >= 10 / 50


def test_an_error_answer_stops_with_the_status_in_the_message(
        server: tuple[str, type[Recorder]]) -> None:
    url, handler = server
    handler.status = 503
    with pytest.raises(DeliveryFailed, match="receiver answered 503 to the event"):
        simulate(url=url, out=None, token=None, rate=0, count=3, seed=5, tz=LONDON)


def test_cli_writes_one_body_per_line_reproducibly(tmp_path: Path) -> None:
    runner = CliRunner()
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for out in files:
        result = runner.invoke(cli, ["--data-dir", str(tmp_path), "simulate", "--out", str(out),
                                     "--count", "300", "--seed", "9"])
        assert result.exit_code == 0, result.output
        assert f"300 events written to {out}" in result.output
    lines = files[0].read_text().splitlines()
    assert len(lines) == 300 and files[0].read_bytes() == files[1].read_bytes()
    assert all(json.loads(line)["action"] for line in lines)


def test_cli_needs_exactly_one_of_url_and_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "simulate", "--count", "1"])
    assert result.exit_code == 2
    assert "give exactly one of --url and --out" in result.output
