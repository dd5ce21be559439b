"""Run the receiver under waitress (production WSGI) until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import resource
import signal
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from flask import Blueprint
from waitress import wasyncore
from waitress.server import create_server

from genius_wh.settings import Settings
from ingest.access import AccessLog
from ingest.app import Receiver, create_app
from ingest.channel import channel_class, close_overdue, precheck_for
from ingest.metrics import REJECTED

log = logging.getLogger("genius_wh.ingest")

#: waitress itself refuses bodies above this with a plain 413 before the app sees them; bodies
#: between max_body_bytes and this get the receiver's JSON 413.
WAITRESS_BODY_SLACK = 1024 * 1024
#: How often the serve loop looks at the stop flag (a signal also interrupts its poll).
LOOP_SECONDS = 0.25
#: While more than one request is in service, the event loop pauses this long between
#: passes. Without it, the loop thread woke for nearly every single event while request
#: threads waited for their group commit: each pass polls every connection and takes the GIL
#: from the request threads. With it, one pass serves all connections that became ready
#: meanwhile (bench/receiver.py: 1,524 -> 2,366 durable events/s, the loop's CPU per event
#: 272 -> 56 us). An idle server, or one sender posting one request at a time, never waits.
BUSY_PAUSE_SECONDS = 0.001
#: Open connections waitress keeps (slow or idle clients must not fill them: issue #9) and the
#: file descriptors kept free beside them (spool, metrics, logs, the scheduler).
CONNECTION_LIMIT = 2000
SPARE_DESCRIPTORS = 256
#: How often the serve loop looks for connections whose request headers are overdue.
SWEEP_SECONDS = 0.5
#: On stopping, how long the request threads get to finish what they serve (a request's
#: access line is written once its answer has gone out, on the thread that served it).
FINISH_SECONDS = 5


def run_server(settings: Settings, *, host: str, port: int,
               blueprints: Sequence[Blueprint] = ()) -> None:
    """Serve until SIGTERM/SIGINT; then stop taking requests and seal the open segment.

    `port=0` binds a free port; the bound address is logged as `listening on http://H:P/`.
    `blueprints` are served beside the webhook (the wallboard: the top floor hands it in).
    """
    # one warning per queued request under a burst: noise that costs the loop thread time
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    os.umask(0o077)  # whatever this process creates is private (issue #9)
    app = create_app(settings)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    state: Receiver = app.extensions["genius_wh"]
    served = AccessLog(app, settings) if settings.access_log else app
    server: Any = create_server(served, host=host, port=port, **server_options(settings))
    server.channel_class = channel_class(precheck_for(settings))
    log.info("listening on http://%s:%d/ (data in %s, %d threads)", server.effective_host,
             int(server.effective_port), settings.data_dir, settings.server_threads)
    asked: list[str] = []
    # the handler only records the signal: an exception raised inside waitress's loop would be
    # swallowed by the channel it interrupted, and logging from it can collide with a log
    # line the main thread is writing
    previous = {sig: signal.signal(sig, lambda signum, frame: _asked(asked, signum, frame))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _serve(server, settings, state, asked)
        log.info("stopping on %s", asked[0])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # waitress's single-socket server does not wait for its (daemon) request threads on
        # close: without this a request answered just before the signal could lose its
        # access line; requests queued but not started are cancelled
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=FINISH_SECONDS)
        server.close()
        state.close()
        log.info("receiver stopped; open spool segment sealed")


def _serve(server: Any, settings: Settings, state: Receiver, asked: list[str]) -> None:
    """The event loop: one pass at a time, closing connections whose headers are overdue."""
    dispatcher = server.task_dispatcher
    next_sweep = time.monotonic() + SWEEP_SECONDS
    while not asked:
        wasyncore.loop(timeout=LOOP_SECONDS, map=server._map, count=1, use_poll=True)
        if dispatcher.active_count > 1:  # a racy read is fine here
            time.sleep(BUSY_PAUSE_SECONDS)
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + SWEEP_SECONDS
            closed = close_overdue(server.active_channels, settings.header_timeout_seconds)
            if closed:
                state.metrics.inc(REJECTED, "header_timeout", amount=closed)


def connection_limit() -> int:
    """CONNECTION_LIMIT, after raising the descriptor limit as far as it goes (or less)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + SPARE_DESCRIPTORS
    if soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            soft = ceiling
        except (ValueError, OSError):
            pass
    limit = min(CONNECTION_LIMIT, soft - SPARE_DESCRIPTORS)
    if limit < CONNECTION_LIMIT:
        log.warning("only %d open files allowed: at most %d connections (raise LimitNOFILE)",
                    soft, limit)
    return max(limit, 100)


def server_options(settings: Settings) -> dict[str, Any]:
    """The waitress settings of the receiver (the benchmark's bare app gets the same)."""
    return {
        "threads": settings.server_threads, "ident": "genius-wh",
        "max_request_body_size": settings.max_body_bytes + WAITRESS_BODY_SLACK,
        # poll, not select: select cannot watch descriptors above 1023
        "connection_limit": connection_limit(), "asyncore_use_poll": True,
        "channel_timeout": 120,
        # X-Forwarded-* reach the app only when ProxyFix is there to judge them
        "clear_untrusted_proxy_headers": settings.trusted_proxies == 0,
    }


def _asked(asked: list[str], signum: int, frame: FrameType | None) -> None:
    """Signal handler: ask the serve loop to finish (nothing else is safe here)."""
    asked.append(signal.Signals(signum).name)
