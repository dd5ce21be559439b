"""Deliver simulated bodies: HTTP POSTs the way Genius sends them, or JSON lines to a file."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from genius_wh.durable import atomic_file
from genius_wh.errors import GeniusWhError

#: Every this many SessionEnded bodies one is sent with a trailing comma, as in the vendor's
#: capture (`"Agreement": null,` right before `}`).
TRAILING_COMMA_EVERY = 20


class DeliveryFailed(GeniusWhError):
    """The receiver did not answer 200: the vendor would raise an alert."""


def write_lines(bodies: Iterable[dict[str, Any]], out: Path) -> int:
    """Write one webhook body per line (temp file, then rename); returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with atomic_file(out) as handle:
        for body in bodies:
            handle.write(orjson.dumps(body) + b"\n")
            n += 1
    return n


def vendor_text(body: dict[str, Any], sessions_before: int) -> bytes:
    """The body as Genius sends it: indented JSON, now and then with a trailing comma."""
    text = json.dumps(body, indent=2)
    if body.get("action") == "SessionEnded" and sessions_before % TRAILING_COMMA_EVERY == 0:
        cut = text.rindex("\n  }")
        text = text[:cut] + "," + text[cut:]
    return text.encode()


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f"--url {url!r} is not an http(s) URL; give e.g. "
                             "http://127.0.0.1:8080/")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname, parts.port, timeout=30), parts.path or "/"


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, token: str | None) -> None:
    """One POST with the vendor's headers: Content-Type twice, token, Expect, keep-alive."""
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/json")
    if token:
        conn.putheader("Genius-Webhook-Token", token)
    conn.putheader("Content-Type", "text/plain; charset=utf-8")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("Expect", "100-continue")
    conn.putheader("Connection", "Keep-Alive")
    conn.endheaders(body)
    response = conn.getresponse()
    answer = response.read()
    if response.status != 200:
        raise DeliveryFailed(f"receiver answered {response.status} to the event "
                             f"{body[:60]!r}...: {answer[:200]!r}")


def post_all(bodies: Iterable[dict[str, Any]], url: str, token: str | None,
             rate: float) -> int:
    """POST every body over one kept-alive connection at `rate` per second (0: no pause)."""
    conn, path = _connection(url)
    began, n, sessions = time.monotonic(), 0, 0
    try:
        for body in bodies:
            if rate > 0:
                time.sleep(max(0.0, began + n / rate - time.monotonic()))
            data = vendor_text(body, sessions)
            sessions += body.get("action") == "SessionEnded"
            try:
                _post(conn, path, data, token)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()  # the server closed the kept-alive connection: once more
                _post(conn, path, data, token)
            n += 1
    except OSError as exc:
        raise DeliveryFailed(f"cannot deliver to {url}: {exc}") from exc
    finally:
        conn.close()
    return n
