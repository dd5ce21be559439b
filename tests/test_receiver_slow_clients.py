"""Slow and idle clients cannot starve real senders (issue #9), with real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from receiver_support import (
    RunningReceiver,
    assert_error,
    read_http_answer,
    request,
    spool_records,
    start_receiver,
    wait_until,
)

TOKEN = {"Genius-Webhook-Token": "real-token"}
AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a%d", "agentstate": 0}}'
DRIBBLERS = 500
SENT = 100  # requests per sender


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    running = start_receiver(tmp_path_factory.mktemp("slow") / "data", tokens="real-token",
                             header_timeout_seconds="2")
    yield running
    running.stop()


def connect(server: RunningReceiver) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def closed_within(sock: socket.socket, seconds: float, dribble: bytes = b"") -> float | None:
    """Seconds until the server closes `sock` (sending `dribble` every 0.2 s), or None."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if dribble:
            try:
                sock.sendall(dribble)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
    return None


@pytest.mark.parametrize("start", [
    pytest.param(b"", id="connection that sends nothing"),
    pytest.param(b"POST / HTTP/1.1\r\nX-Pad: ", id="headers dribbled a byte at a time"),
])
def test_connection_without_whole_headers_is_closed_after_header_timeout(
        server: RunningReceiver, start: bytes) -> None:
    sock = connect(server)
    try:
        sock.sendall(start)
        took = closed_within(sock, 6.0, dribble=b"a" if start else b"")
    finally:
        sock.close()
    assert took is not None and 1.5 < took < 4.5, took


def test_idle_keep_alive_connection_is_closed_after_header_timeout(
        server: RunningReceiver) -> None:
    sock = connect(server)
    try:
        body = AGENT % 1
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nGenius-Webhook-Token: real-token\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        status, _, _ = read_http_answer(sock)
        assert status == 200
        took = closed_within(sock, 6.0)
    finally:
        sock.close()
    assert took is not None and 1.5 < took < 4.5, took


@pytest.mark.parametrize("token, expected", [
    pytest.param(b"real-token", 100, id="right token gets 100 Continue"),
    pytest.param(b"wrong", 401, id="wrong token gets 401 and no 100 Continue"),
])
def test_100_continue_only_after_the_token_check(server: RunningReceiver, token: bytes,
                                                 expected: int) -> None:
    sock = connect(server)
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nGenius-Webhook-Token: " + token +
                     b"\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n")
        status, body, _ = read_http_answer(sock)
        assert status == expected
        if expected == 401:
            assert b"wrong Genius-Webhook-Token header" in body
            assert closed_within(sock, 3.0) is not None  # the body is never read
    finally:
        sock.close()


def test_refused_request_body_is_never_read(server: RunningReceiver) -> None:
    # without Expect: a sender without a token cannot hold a connection by dribbling a body
    sock = connect(server)
    try:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{")
        status, _, _ = read_http_answer(sock)
        assert status == 401 and closed_within(sock, 3.0) is not None
    finally:
        sock.close()


class Dribblers:
    """Many connections from one address, each sending a header byte now and then and
    reconnecting when the server closes it."""

    def __init__(self, server: RunningReceiver, count: int) -> None:
        self.server = server
        self.socks = [self._open() for _ in range(count)]
        self.reconnects = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        sock.setblocking(False)
        sock.send(b"POST / HTTP/1.1\r\nX-Pad: ")
        return sock

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for n, sock in enumerate(self.socks):
                try:
                    sock.send(b"a")
                except OSError:
                    sock.close()
                    self.socks[n] = self._open()
                    self.reconnects += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.socks:
            sock.close()


def test_500_dribbling_connections_do_not_starve_authenticated_senders(
        server: RunningReceiver) -> None:
    # issue #9: 126 dribbling sockets filled waitress's 128 connections for as long as wanted
    dribblers = Dribblers(server, DRIBBLERS)
    dribblers.thread.start()
    latencies: list[float] = []
    failures: list[str] = []

    def send(first: int) -> None:
        for n in range(first, first + SENT):
            time.sleep(0.02)  # spread over the dribblers' disconnections and reconnections
            started = time.monotonic()
            try:
                status, answer = request(server.port, "POST", "/", AGENT % n, TOKEN)
            except OSError as exc:
                failures.append(repr(exc))
                continue
            latencies.append(time.monotonic() - started)
            if status != 200:
                failures.append(f"{status} {answer}")

    try:
        time.sleep(1.0)  # every dribbler connected and dribbling
        senders = [threading.Thread(target=send, args=(1000 + 1000 * k,)) for k in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(timeout=60)
        # the server closes every dribbler at least once (header_timeout_seconds = 2)
        wait_until(lambda: dribblers.reconnects >= DRIBBLERS, timeout=20,
                   what="every dribbler to be disconnected")
    finally:
        dribblers.close()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"\n{len(latencies)} requests from 4 senders beside {DRIBBLERS} dribblers "
          f"({dribblers.reconnects} reconnects): p50 {latencies[len(latencies) // 2]:.3f} s, "
          f"p99 {p99:.3f} s")
    assert failures == [] and len(latencies) == 4 * SENT
    assert p99 < 1.0
    accepted = {r["body"]["agentactivity"]["agent"] for r in spool_records(server.data_dir)}
    assert {f"a{n}" for k in range(4) for n in range(1000 + 1000 * k,
                                                     1000 + 1000 * k + SENT)} <= accepted


def test_header_timeouts_are_counted(server: RunningReceiver) -> None:
    sock = connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    try:
        assert closed_within(sock, 6.0) is not None
    finally:
        sock.close()
    status, text = server.get("/metrics")
    assert status == 200
    wait_until(lambda: b'genius_wh_rejected_requests_total{reason="header_timeout"}'
               in server.get("/metrics")[1], timeout=5, what="the header_timeout count")


def test_a_plain_error_shape_is_kept_for_refused_requests(server: RunningReceiver) -> None:
    assert_error(*request(server.port, "POST", "/", b"{}", {}), 401)




def test_a_body_sent_to_another_path_is_never_read(server: RunningReceiver) -> None:
    sock = connect(server)
    try:
        sock.sendall(b"POST /elsewhere HTTP/1.1\r\nHost: x\r\nGenius-Webhook-Token: real-token"
                     b"\r\nContent-Length: 1000000\r\n\r\n")
        status, _, _ = read_http_answer(sock)
        assert status == 404 and closed_within(sock, 3.0) is not None
    finally:
        sock.close()
