"""The one before_request guard: source address, token and body size, in that order.

The same address and token rules run twice: in the HTTP parser as soon as the headers are in
(`ingest.channel`: a refused request never gets `100 Continue` and its body is never read),
and here, where the JSON answer is made.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

from flask import Request

from genius_wh.records import DEFAULT_INTEGRATION
from genius_wh.settings import IntegrationToken, IPNetwork, Settings
from ingest.errors import Rejected, cut
from ingest.metrics import REJECTED, IngestMetrics
from ingest.proxy import FORWARDED_ENVIRON, PEER_ENVIRON, in_networks

log = logging.getLogger("genius_wh.ingest")

TOKEN_HEADER = "Genius-Webhook-Token"
TOKEN_ENVIRON = "HTTP_GENIUS_WEBHOOK_TOKEN"
READ_CHUNK = 65536


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """Why a request is refused: metric reason, HTTP status and the answer's message."""

    reason: str
    status: int
    message: str


@dataclass(frozen=True, kw_only=True)
class Admitted:
    """A request let in: its raw body and the integration its token names."""

    raw: bytes
    integration: str


def address_allowed(address: str | None, allowed: list[IPNetwork]) -> bool:
    """True when `allowed` is empty or the address lies in one of its networks."""
    return not allowed or in_networks(address, allowed)


def integration_of(sent: str | None, tokens: list[IntegrationToken]) -> str | None:
    """The integration whose token equals `sent` (constant time, every token compared);
    `default` when no tokens are set; None when none matches."""
    if not tokens:
        return DEFAULT_INTEGRATION
    given = (sent or "").encode()
    found = None
    for token in tokens:
        if hmac.compare_digest(given, token.value.encode()) and found is None:
            found = token.name
    return found if sent is not None else None


def refusal(address: str | None, sent: str | None, settings: Settings) -> Refusal | None:
    """The address and token rules: None when the request may go on."""
    if settings.allowed_ips and not address_allowed(address, settings.allowed_ips):
        return Refusal(reason="address", status=403,
                       message=f"source address {cut(address or 'unknown', 64)} is not allowed")
    if integration_of(sent, settings.tokens) is None:
        what = "missing" if sent is None else "wrong"
        return Refusal(reason="token", status=401, message=f"{what} {TOKEN_HEADER} header")
    return None


def log_refusal(found: Refusal, peer: str | None, forwarded: str | None) -> None:
    """One bounded log line per refusal: the TCP peer, the message, X-Forwarded-For cut."""
    extra = f"; X-Forwarded-For {cut(forwarded, 100)!r}" if forwarded else ""
    log.warning("refused request from %s: %s (%d)%s", peer or "unknown", found.message,
                found.status, extra)


def check_request(request: Request, settings: Settings, metrics: IngestMetrics) -> Admitted:
    """Refuse the request (Rejected) or return its bounded raw body and integration.

    Reads the WSGI environ directly: each `request.x` goes through a context-local proxy, and
    this runs for every event.
    """
    environ = request.environ
    address: str | None = environ.get("REMOTE_ADDR")
    sent: str | None = environ.get(TOKEN_ENVIRON)
    found = refusal(address, sent, settings)
    if found is not None:
        log_refusal(found, environ.get(PEER_ENVIRON, address), environ.get(FORWARDED_ENVIRON))
        metrics.inc(REJECTED, found.reason)
        raise Rejected(found.status, found.message)
    raw = read_bounded(request, settings.max_body_bytes, metrics, address or "unknown")
    return Admitted(raw=raw, integration=integration_of(sent, settings.tokens) or "default")


def read_bounded(request: Request, limit: int, metrics: IngestMetrics, source: str) -> bytes:
    """The body, read while counting: over `limit` bytes (declared or sent) is a 413."""
    too_large = f"body is larger than max_body_bytes ({limit})"
    environ = request.environ
    declared = _declared_length(environ)
    if declared is not None:
        if declared > limit:
            _refuse(metrics, Refusal(reason="too_large", status=413, message=too_large), source)
        # waitress hands the app the whole body, buffered: one read, no LimitedStream wrapper
        body: bytes = environ["wsgi.input"].read(declared)
        return body
    parts: list[bytes] = []
    size = 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            _refuse(metrics, Refusal(reason="too_large", status=413, message=too_large), source)
    return b"".join(parts)


def _declared_length(environ: dict[str, Any]) -> int | None:
    """Content-Length as a number, None when absent or not a plain number (chunked)."""
    text = environ.get("CONTENT_LENGTH")
    if not text or not text.isdigit():
        return None
    return int(text)


def _refuse(metrics: IngestMetrics, found: Refusal, source: str) -> None:
    """Log, count and raise one refusal."""
    log_refusal(found, source, None)
    metrics.inc(REJECTED, found.reason)
    raise Rejected(found.status, found.message)
