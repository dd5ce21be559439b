"""The one place that wires the parts together: receiver + scheduler in one process."""

from __future__ import annotations

import logging

from genius_wh.settings import Settings

log = logging.getLogger("genius_wh")


def configure_logging() -> None:
    """Plain one-line logs on stderr."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve(settings: Settings, *, host: str, port: int, with_scheduler: bool) -> None:
    """Run the receiver under the WSGI server; with the scheduled jobs in the background."""
    from ingest.server import run_server

    configure_logging()
    scheduler = None
    if with_scheduler:
        from genius_wh.scheduler import build_scheduler

        scheduler = build_scheduler(settings, blocking=False)
        scheduler.start()
    try:
        run_server(settings, host=host, port=port)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)


def run_scheduler(settings: Settings) -> None:
    """Run the scheduled jobs alone, in the foreground, until interrupted."""
    from genius_wh.scheduler import build_scheduler

    configure_logging()
    build_scheduler(settings, blocking=True).start()
