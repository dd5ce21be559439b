"""Helpers for receiver tests: a real `genius-wh serve` subprocess, raw HTTP, spool reading."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
LISTENING = re.compile(r"listening on http://([0-9.]+):(\d+)/")
#: What `genius-wh --data-dir D serve --port 0 [--no-scheduler]` runs, without the click layer
#: (so these tests do not depend on every other command importing).
SERVE = """
import sys
from orchestration.runtime import serve
from genius_wh.settings import load_settings
serve(load_settings(data_dir=sys.argv[1]), host="127.0.0.1", port=0,
      with_scheduler=bool(sys.argv[2]))
"""


def wait_until(predicate: Callable[[], Any], *, timeout: float = 15.0,
               what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class RunningReceiver:
    """The real receiver (`orchestration.runtime.serve`, as `genius-wh serve` runs it) in a
    subprocess on a free port (scheduler off unless asked)."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, body: bytes, headers: dict[str, str] | None = None,
             path: str = "/") -> tuple[int, dict[str, Any]]:
        """POST `body` and return (status, parsed JSON answer)."""
        return request(self.port, "POST", path, body, headers or {})

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`; returns (status, raw body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGTERM and wait (the receiver seals its open segment)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()  # never leave a server behind
                raise AssertionError(
                    f"server ignored SIGTERM: {self.log.read_text()[-2000:]}") from None

    def kill(self) -> None:
        """SIGKILL: no chance to seal or flush anything."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)


def start_receiver(data_dir: Path, *, scheduler: bool = False,
                   **settings: str) -> RunningReceiver:
    """Start the real server on port 0 and wait until it answers /healthz (any status)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENIUS_WH_")}
    env.update({f"GENIUS_WH_{k.upper()}": v for k, v in settings.items()})
    log = data_dir.parent / f"{data_dir.name}-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(data_dir), "1" if scheduler else ""],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    running = RunningReceiver(proc=proc, data_dir=data_dir, log=log)
    running.port = int(wait_until(lambda: _bound_port(running), what="the server to listen"))
    wait_until(lambda: _responds(running.port), what="the server to answer")
    return running


def _bound_port(running: RunningReceiver) -> int | None:
    """The port the server logged, or None while it is starting."""
    if running.proc.poll() is not None:
        raise AssertionError(f"server exited: {running.log.read_text()}")
    match = LISTENING.search(running.log.read_text())
    return int(match.group(2)) if match else None


def _responds(port: int) -> bool:
    """True once /healthz gets any HTTP answer."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        conn.close()
    except OSError:
        return False
    return True


def request(port: int, method: str, path: str, body: bytes,
            headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """One HTTP request on a new connection; returns (status, parsed JSON answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, orjson.loads(answer.read())
    finally:
        conn.close()


def assert_error(status: int, answer: dict[str, Any], expected: int) -> str:
    """Check the one error shape and return its message."""
    assert status == expected, f"expected {expected}, got {status}: {answer}"
    assert answer["status"] == "error" and set(answer) == {"status", "error"}
    assert isinstance(answer["error"], str) and answer["error"]
    return str(answer["error"])


def spool_lines(data_dir: Path) -> list[bytes]:
    """Every line (newline kept) of every segment in spool/open and spool/ready."""
    lines: list[bytes] = []
    for folder in ("open", "ready"):
        for path in sorted((data_dir / "spool" / folder).glob("*.jsonl")):
            lines.extend(path.read_bytes().splitlines(keepends=True))
    return lines


def spool_records(data_dir: Path) -> list[dict[str, Any]]:
    """The spool lines parsed (each must be whole)."""
    return [orjson.loads(line) for line in spool_lines(data_dir)]


def quarantined(data_dir: Path) -> list[Path]:
    """Raw bodies kept in quarantine/."""
    return sorted((data_dir / "quarantine").glob("*.body"))


def read_http_answer(sock: socket.socket, buffer: bytes = b"") -> tuple[int, bytes, bytes]:
    """Read one HTTP answer with Content-Length; returns (status, body, bytes left over)."""
    while b"\r\n\r\n" not in buffer:
        buffer += _recv(sock)
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1)) if (
        re.search(rb"(?im)^content-length:", head)) else 0
    while len(rest) < length:
        rest += _recv(sock)
    return status, rest[:length], rest[length:]


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise AssertionError("connection closed before a whole answer")
    return chunk


def send_capture(sock: socket.socket, capture: bytes) -> tuple[int, bytes]:
    """Send a raw HTTP capture like the vendor: headers, wait for 100 Continue, then body."""
    head, _, body = capture.partition(b"\r\n\r\n")
    sock.sendall(head + b"\r\n\r\n")
    status, _, left = read_http_answer(sock)
    assert status == 100, f"expected 100 Continue, got {status}"
    sock.sendall(body)
    status, answer, _ = read_http_answer(sock, left)
    return status, answer
