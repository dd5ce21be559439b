"""The receiver: an application factory and one `webhook` blueprint."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from genius_wh.layout import DataLayout
from genius_wh.records import BadBody, encode_record, make_record, parse_body
from genius_wh.settings import Settings
from ingest import quarantine
from ingest.errors import Rejected, SpoolUnavailable
from ingest.guard import check_request
from ingest.metrics import BYTES, EVENTS, REJECTED, REPAIRS, IngestMetrics, action_label
from ingest.spool import SpoolWriter

log = logging.getLogger("genius_wh.ingest")

webhook = Blueprint("webhook", __name__)
GUARDED = {"webhook.receive"}


@dataclass(frozen=True, kw_only=True)
class Receiver:
    """What the views share: settings, folders, the spool writer and the counters."""

    settings: Settings
    layout: DataLayout
    writer: SpoolWriter
    metrics: IngestMetrics

    def close(self) -> None:
        """Seal the open segment, stop the writer and write the final counts."""
        self.writer.close()
        self.metrics.stop()


def create_app(settings: Settings) -> Flask:
    """Build the receiver for `settings` and start its spool writer."""
    app = Flask(__name__)
    layout = DataLayout(root=settings.data_dir).ensure()
    writer = SpoolWriter(layout, segment_bytes=settings.spool_segment_bytes,
                         segment_seconds=settings.spool_segment_seconds).start()
    app.extensions["genius_wh"] = Receiver(settings=settings, layout=layout, writer=writer,
                                           metrics=IngestMetrics(layout).start())
    if settings.trusted_proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app,  # type: ignore[method-assign]
                                x_for=settings.trusted_proxies)
    app.register_blueprint(webhook)
    app.register_error_handler(Rejected, _error_answer)
    app.register_error_handler(HTTPException, _http_error_answer)
    if not settings.tokens:
        log.warning("no tokens set: every request is accepted without a %s check",
                    "Genius-Webhook-Token")
    return app


def receiver() -> Receiver:
    """The Receiver of the current app."""
    found: Receiver = current_app.extensions["genius_wh"]
    return found


def _error_answer(exc: Rejected) -> tuple[dict[str, str], int]:
    """The one JSON shape of every refusal."""
    return {"status": "error", "error": exc.message}, exc.status


def _http_error_answer(exc: HTTPException) -> tuple[dict[str, str], int]:
    """404, 405 and unexpected errors in the same JSON shape."""
    return {"status": "error", "error": f"{exc.name}: {exc.description}"}, exc.code or 500


@webhook.before_request
def guard() -> None:
    """Source address, token and body size: refuse before any view runs."""
    if request.endpoint in GUARDED:
        state = receiver()
        g.raw_body = check_request(request, state.settings, state.metrics)


@webhook.post("/", endpoint="receive")
@webhook.post("/webhook", endpoint="receive")
def receive() -> Response:
    """Make one webhook event durable, then answer 200 with its event id."""
    state, raw = receiver(), g.raw_body
    source = request.remote_addr or "unknown"
    state.metrics.inc(BYTES, amount=len(raw))
    try:
        body, repaired = parse_body(raw)
    except BadBody as exc:
        _quarantine(state, raw, str(exc), source)
    if repaired:
        state.metrics.inc(REPAIRS)
    record = make_record(body, received_at=datetime.now(UTC), source=source,
                         original=raw if repaired else None)
    label = action_label(record["action"])
    try:
        state.writer.append(encode_record(record))
    except SpoolUnavailable as exc:
        state.metrics.inc(EVENTS, label, "failed")
        state.metrics.inc(REJECTED, "unavailable")
        raise Rejected(503, f"event not stored, send it again: {exc}") from exc
    state.metrics.inc(EVENTS, label, "accepted")
    answer = {"status": "accepted", "event_id": record["event_id"]}
    return Response(orjson.dumps(answer), mimetype="application/json")


def _quarantine(state: Receiver, raw: bytes, reason: str, source: str) -> None:
    """Keep a bad body byte for byte and refuse it with 400 (503 if it cannot be kept)."""
    try:
        path = quarantine.keep(state.layout, raw, reason=reason, source=source, origin="http")
    except OSError as exc:
        state.metrics.inc(REJECTED, "unavailable")
        raise Rejected(503, f"{reason}; and it could not be quarantined: {exc}") from exc
    state.metrics.inc(EVENTS, "none", "quarantined")
    state.metrics.inc(REJECTED, "bad_body")
    raise Rejected(400, f"{reason} (kept in quarantine/{path.name})")


@webhook.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """200 while the spool can be written and fsynced, 503 otherwise."""
    if not receiver().writer.writable():
        raise Rejected(503, "the spool is not writable (disk full or read-only?)")
    return {"status": "ok"}, 200


@webhook.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: every receiver process plus the last batch's figures."""
    body = receiver().metrics.render()
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
