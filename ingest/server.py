"""Run the receiver under waitress (production WSGI) until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from genius_wh.settings import Settings
from ingest.app import Receiver, create_app

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


def run_server(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT; then stop taking requests and seal the open segment.

    `port=0` binds a free port; the bound address is logged as `listening on http://H:P/`.
    """
    # one warning per queued request under a burst: noise that costs the loop thread time
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_app(settings)
    state: Receiver = app.extensions["genius_wh"]
    server: Any = create_server(app, host=host, port=port, **server_options(settings))
    log.info("listening on http://%s:%d/ (data in %s, %d threads)", server.effective_host,
             int(server.effective_port), settings.data_dir, settings.server_threads)
    asked: list[str] = []
    # the handler only records the signal: an exception raised inside waitress's loop would be
    # swallowed by the channel it interrupted, and logging from it can collide with a log
    # line the main thread is writing
    previous = {sig: signal.signal(sig, lambda signum, frame: _asked(asked, signum, frame))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        dispatcher = server.task_dispatcher
        while not asked:
            wasyncore.loop(timeout=LOOP_SECONDS, map=server._map, count=1)
            if dispatcher.active_count > 1:  # a racy read is fine here
                time.sleep(BUSY_PAUSE_SECONDS)
        log.info("stopping on %s", asked[0])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()
        state.close()
        log.info("receiver stopped; open spool segment sealed")


def server_options(settings: Settings) -> dict[str, Any]:
    """The waitress settings of the receiver (the benchmark's bare app gets the same)."""
    return {
        "threads": settings.server_threads, "ident": "genius-wh",
        "max_request_body_size": settings.max_body_bytes + WAITRESS_BODY_SLACK,
        "connection_limit": max(100, settings.server_threads * 4), "channel_timeout": 120,
        # X-Forwarded-* reach the app only when ProxyFix is there to judge them
        "clear_untrusted_proxy_headers": settings.trusted_proxies == 0,
    }


def _asked(asked: list[str], signum: int, frame: FrameType | None) -> None:
    """Signal handler: ask the serve loop to finish (nothing else is safe here)."""
    asked.append(signal.Signals(signum).name)
