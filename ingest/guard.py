"""The one before_request guard: source address, token and body size, in that order."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from flask import Request

from genius_wh.settings import IPNetwork, Settings
from ingest.errors import Rejected
from ingest.metrics import REJECTED, IngestMetrics

log = logging.getLogger("genius_wh.ingest")

TOKEN_HEADER = "Genius-Webhook-Token"
TOKEN_ENVIRON = "HTTP_GENIUS_WEBHOOK_TOKEN"
READ_CHUNK = 65536


def address_allowed(address: str | None, allowed: list[IPNetwork]) -> bool:
    """True when `allowed` is empty or the address lies in one of its networks."""
    if not allowed:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in allowed)


def token_accepted(sent: str | None, tokens: list[str]) -> bool:
    """True when no tokens are set or `sent` equals one (constant time, all compared)."""
    if not tokens:
        return True
    given = (sent or "").encode()
    matches = [hmac.compare_digest(given, token.encode()) for token in tokens]
    return sent is not None and any(matches)


def check_request(request: Request, settings: Settings, metrics: IngestMetrics) -> bytes:
    """Refuse the request (Rejected) or return its bounded raw body.

    Reads the WSGI environ directly: each `request.x` goes through a context-local proxy, and
    this runs for every event.
    """
    environ = request.environ
    address: str | None = environ.get("REMOTE_ADDR")
    source = address or "unknown"
    if settings.allowed_ips and not address_allowed(address, settings.allowed_ips):
        _refuse(metrics, "address", 403, f"source address {source} is not allowed", source)
    sent: str | None = environ.get(TOKEN_ENVIRON)
    if settings.tokens and not token_accepted(sent, settings.tokens):
        what = "missing" if sent is None else "wrong"
        _refuse(metrics, "token", 401, f"{what} {TOKEN_HEADER} header", source)
    return read_bounded(request, settings.max_body_bytes, metrics, source)


def read_bounded(request: Request, limit: int, metrics: IngestMetrics, source: str) -> bytes:
    """The body, read while counting: over `limit` bytes (declared or sent) is a 413."""
    too_large = f"body is larger than max_body_bytes ({limit})"
    environ = request.environ
    declared = _declared_length(environ)
    if declared is not None:
        if declared > limit:
            _refuse(metrics, "too_large", 413, too_large, source)
        # waitress hands the app the whole body, buffered: one read, no LimitedStream wrapper
        body: bytes = environ["wsgi.input"].read(declared)
        return body
    parts: list[bytes] = []
    size = 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            _refuse(metrics, "too_large", 413, too_large, source)
    return b"".join(parts)


def _declared_length(environ: dict[str, Any]) -> int | None:
    """Content-Length as a number, None when absent or not a plain number (chunked)."""
    text = environ.get("CONTENT_LENGTH")
    if not text or not text.isdigit():
        return None
    return int(text)


def _refuse(metrics: IngestMetrics, reason: str, status: int, message: str,
            source: str) -> None:
    """Log, count and raise one refusal."""
    log.warning("refused request from %s: %s (%d)", source, message, status)
    metrics.inc(REJECTED, reason)
    raise Rejected(status, message)
