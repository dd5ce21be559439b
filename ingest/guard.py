"""The one before_request guard: source address, token and body size, in that order."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from flask import Request, g

from genius_wh.settings import IPNetwork, Settings
from ingest.errors import Rejected
from ingest.metrics import REJECTED, IngestMetrics

log = logging.getLogger("genius_wh.ingest")

TOKEN_HEADER = "Genius-Webhook-Token"
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


def check_request(request: Request, settings: Settings, metrics: IngestMetrics) -> None:
    """Refuse the request (Rejected) or leave its bounded raw body in `g.raw_body`."""
    source = request.remote_addr or "unknown"
    if not address_allowed(request.remote_addr, settings.allowed_ips):
        _refuse(metrics, "address", 403, f"source address {source} is not allowed", source)
    if not token_accepted(request.headers.get(TOKEN_HEADER), settings.tokens):
        what = "wrong" if TOKEN_HEADER in request.headers else "missing"
        _refuse(metrics, "token", 401, f"{what} {TOKEN_HEADER} header", source)
    g.raw_body = read_bounded(request, settings.max_body_bytes, metrics, source)


def read_bounded(request: Request, limit: int, metrics: IngestMetrics, source: str) -> bytes:
    """The body, read while counting: over `limit` bytes (declared or sent) is a 413."""
    too_large = f"body is larger than max_body_bytes ({limit})"
    if request.content_length is not None:
        if request.content_length > limit:
            _refuse(metrics, "too_large", 413, too_large, source)
        return request.stream.read()  # the stream stops at Content-Length
    parts: list[bytes] = []
    size = 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            _refuse(metrics, "too_large", 413, too_large, source)
    return b"".join(parts)


def _refuse(metrics: IngestMetrics, reason: str, status: int, message: str,
            source: str) -> None:
    """Log, count and raise one refusal."""
    log.warning("refused request from %s: %s (%d)", source, message, status)
    metrics.inc(REJECTED, reason)
    raise Rejected(status, message)
