"""The receiver: an application factory and one `webhook` blueprint."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn, Protocol

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from genius_wh.cards import CARD_NUMBERS_MASKED, mask_body, mask_bytes
from genius_wh.durable import private_dir
from genius_wh.layout import DataLayout
from genius_wh.records import (
    BadBody,
    SpoolRecord,
    check_bounds,
    encode_record,
    make_record,
    parse_body,
)
from genius_wh.settings import Settings
from ingest import quarantine
from ingest.errors import Rejected, SpoolUnavailable, cut
from ingest.guard import Admitted, address_allowed, check_request
from ingest.metrics import (
    BYTES,
    EVENTS,
    LAST_EVENT,
    REJECTED,
    REPAIRS,
    IngestMetrics,
    action_label,
)
from ingest.proxy import ForwardedFor
from ingest.spool import SpoolWriter

log = logging.getLogger("genius_wh.ingest")

webhook = Blueprint("webhook", __name__)
GUARDED = {"webhook.receive"}


class EventListener(Protocol):
    """Something served beside the webhook that wants each event once it is durable (the
    wallboard's "now" figures); it must be quick and must not raise."""

    def observe(self, record: SpoolRecord) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Receiver:
    """What the views share: settings, folders, the spool writer and the counters."""

    settings: Settings
    layout: DataLayout
    writer: SpoolWriter
    metrics: IngestMetrics
    listeners: list[EventListener] = field(default_factory=list)

    def close(self) -> None:
        """Seal the open segment, stop the writer and write the final counts."""
        self.writer.close()
        self.metrics.stop()
        for listener in self.listeners:
            listener.close()

    def tell(self, record: SpoolRecord) -> None:
        """Hand a durable event to every listener; a listener's failure is only logged."""
        for listener in self.listeners:
            try:
                listener.observe(record)
            except Exception:  # the event is stored and answered 200 whatever a reader does
                log.exception("a listener failed on event %s", record["event_id"])


def create_app(settings: Settings) -> Flask:
    """Build the receiver for `settings` and start its spool writer."""
    app = Flask(__name__)
    layout = private_layout(DataLayout(root=settings.data_dir))
    writer = SpoolWriter(layout, segment_bytes=settings.spool_segment_bytes,
                         segment_seconds=settings.spool_segment_seconds).start()
    app.extensions["genius_wh"] = Receiver(settings=settings, layout=layout, writer=writer,
                                           metrics=IngestMetrics(layout, settings).start())
    if settings.trusted_proxies > 0:
        app.wsgi_app = ForwardedFor(app.wsgi_app, settings)  # type: ignore[method-assign]
    app.register_blueprint(webhook)
    app.register_error_handler(Rejected, _error_answer)
    app.register_error_handler(HTTPException, _http_error_answer)
    if not settings.tokens:
        log.warning("no tokens set: every request is accepted without a %s check",
                    "Genius-Webhook-Token")
    return app


def private_layout(layout: DataLayout) -> DataLayout:
    """The data folders, created 0700 whatever the umask (then the rest of the layout)."""
    for folder in (layout.root, layout.spool_open, layout.spool_ready, layout.spool_working,
                   layout.spool_archive, layout.quarantine, layout.metrics):
        private_dir(folder)
    return layout.ensure()


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
        g.admitted = check_request(request, state.settings, state.metrics)


@webhook.post("/", endpoint="receive")
@webhook.post("/webhook", endpoint="receive")
def receive() -> Response:
    """Make one webhook event durable, then answer 200 with its event id.

    Nothing read off the wire is answered without being kept: a body that cannot be taken in
    (bad, too deep, too wide, or any unexpected failure) is quarantined byte for byte.
    """
    state, admitted = receiver(), g.admitted
    source = request.remote_addr or "unknown"
    state.metrics.inc(BYTES, amount=len(admitted.raw))
    try:
        line, record = _spool_line(state, admitted, source)
    except BadBody as exc:
        _quarantine(state, admitted, str(exc), source, status=400)
    except Exception as exc:  # a bug must not lose the sender's bytes (issue #9)
        log.exception("cannot take in a body from %s", source)
        _quarantine(state, admitted, f"internal error: {type(exc).__name__}: {cut(str(exc))}",
                    source, status=500)
    label = action_label(record["action"])
    try:
        state.writer.append(line)
    except SpoolUnavailable as exc:
        state.metrics.inc(EVENTS, label, "failed", admitted.integration)
        state.metrics.inc(REJECTED, "unavailable")
        raise Rejected(503, f"event not stored, send it again: {exc}") from exc
    state.metrics.inc(EVENTS, label, "accepted", admitted.integration)
    state.metrics.set_latest(LAST_EVENT, label, admitted.integration, value=time.time())
    state.tell(record)
    answer = {"status": "accepted", "event_id": record["event_id"]}
    return Response(orjson.dumps(answer), mimetype="application/json")


def _spool_line(state: Receiver, admitted: Admitted,
                source: str) -> tuple[bytes, SpoolRecord]:
    """The encoded spool line of a body and its record; raises BadBody."""
    body, repaired = parse_body(admitted.raw)
    settings = state.settings
    check_bounds(body, max_json_depth=settings.max_json_depth,
                 max_recorddata_fields=settings.max_recorddata_fields)
    if repaired:
        state.metrics.inc(REPAIRS)
    body, masked = mask_body(body, admitted.raw)  # no card number is stored (PCI DSS, #13)
    if masked:
        state.metrics.inc(CARD_NUMBERS_MASKED, amount=masked)
    record = make_record(body, received_at=datetime.now(UTC), source=source,
                         original=mask_bytes(admitted.raw)[0] if repaired else None,
                         integration=admitted.integration)
    return encode_record(record), record


def _quarantine(state: Receiver, admitted: Admitted, reason: str, source: str, *,
                status: int) -> NoReturn:
    """Keep a body byte for byte and refuse it with `status` (503 if it cannot be kept)."""
    try:
        path = quarantine.keep(state.layout, admitted.raw, reason=reason, source=source,
                               origin="http")
    except OSError as exc:
        state.metrics.inc(REJECTED, "unavailable")
        raise Rejected(503, f"{cut(reason)}; and it could not be quarantined: {exc}") from exc
    state.metrics.inc(EVENTS, "none", "quarantined", admitted.integration)
    state.metrics.inc(REJECTED, "bad_body" if status == 400 else "internal")
    raise Rejected(status, f"{cut(reason)} (kept in quarantine/{path.name})")


@webhook.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """200 while the spool can take events, 503 otherwise (cheap: no write, no fsync)."""
    if not receiver().writer.writable():
        raise Rejected(503, "the spool is not writable (disk full or read-only?)")
    return {"status": "ok"}, 200


@webhook.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: every receiver process plus the last batch's figures."""
    state = receiver()
    address = request.remote_addr
    if not address_allowed(address, state.settings.metrics_allowed_ips):
        state.metrics.inc(REJECTED, "metrics_address")
        raise Rejected(403, f"source address {cut(address or 'unknown', 64)} may not read "
                       "/metrics (metrics_allowed_ips)")
    body = state.metrics.render()
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
