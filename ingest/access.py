"""The access log: one line per HTTP request, written when its answer has been sent.

- fields: `method`, `path` (without the query string), `status`, `bytes` (of the answer),
  `request_bytes` (declared), `duration_ms`, `peer` (the TCP peer), `client` (the address
  after `trusted_proxies`, when it differs) and `integration` (the name of the token sent);
- never a token, a header value or a body; every value is cut (`genius_wh.logs`);
- logger `genius_wh.access` at INFO; the setting `access_log = false` leaves it out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from genius_wh.settings import Settings
from ingest.guard import TOKEN_ENVIRON, integration_of

log = logging.getLogger("genius_wh.access")

MAX_PATH: Final = 200
MAX_ADDRESS: Final = 64
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class AccessLog:
    """WSGI middleware: log each request once its answer has gone out."""

    def __init__(self, app: WsgiApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.monotonic()
        peer = environ.get("REMOTE_ADDR")
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, *args: Any) -> Any:
            status[:] = [code]
            return start_response(code, headers, *args)

        answer = self.app(environ, recording_start_response)
        return _Logged(answer, lambda sent: self._log(environ, peer, status, sent, started))

    def _log(self, environ: dict[str, Any], peer: str | None, status: list[str], sent: int,
             started: float) -> None:
        """The one line of a request."""
        method = str(environ.get("REQUEST_METHOD", ""))[:16]
        path = str(environ.get("PATH_INFO", ""))[:MAX_PATH]
        code = int(status[0].split(" ", 1)[0]) if status else 0
        fields: dict[str, Any] = {
            "method": method, "path": path, "status": code, "bytes": sent,
            "request_bytes": _declared(environ),
            "duration_ms": round((time.monotonic() - started) * 1000, 2),
            "peer": str(peer or "unknown")[:MAX_ADDRESS]}
        client = environ.get("REMOTE_ADDR")
        if client and client != fields["peer"]:
            fields["client"] = str(client)[:MAX_ADDRESS]
        if method == "POST":
            fields["integration"] = integration_of(environ.get(TOKEN_ENVIRON),
                                                   self.settings.tokens) or "unknown"
        log.info("%s %s %d", method, path, code, extra=fields)


def _declared(environ: dict[str, Any]) -> int:
    """Content-Length as a number (0 when absent or not a number)."""
    text = str(environ.get("CONTENT_LENGTH") or "")
    return int(text) if text.isdigit() else 0


class _Logged:
    """The answer's body, counted as it is sent; `done(bytes)` runs once, on close."""

    def __init__(self, answer: Iterable[bytes], done: Callable[[int], None]) -> None:
        self.answer = answer
        self.done: Callable[[int], None] | None = done
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.answer:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the wrapped answer, then log the request (once)."""
        try:
            close = getattr(self.answer, "close", None)
            if close is not None:
                close()
        finally:
            done, self.done = self.done, None
            if done is not None:
                done(self.sent)
