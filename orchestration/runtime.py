"""The one place that wires the parts together: receiver + scheduler in one process.

The scheduler runs every job in a child process (orchestration.scheduler), so the receiver's
process only serves HTTP and starts children.
"""

from __future__ import annotations

import errno
import logging
import socket

from genius_wh.errors import GeniusWhError
from genius_wh.logs import configure as configure_logging
from genius_wh.settings import Settings
from ingest.server import run_server
from orchestration.scheduler import build_scheduler
from wallboard import wallboard_blueprint

log = logging.getLogger("genius_wh")

#: errno values of a bind that cannot succeed as asked: the user must change host or port.
BIND_ERRORS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


class ServeFailed(GeniusWhError):
    """Fatal: the receiver cannot start (port taken, address not ours)."""


def check_port_free(host: str, port: int) -> None:
    """Raise ServeFailed with the way out when `host:port` cannot be bound."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
        try:
            probe.bind((host, port))
        except OSError as exc:  # the probe only binds: every error here is about the address
            raise ServeFailed(_bind_problem(host, port, exc)) from None


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    """A one-line message naming the address and the way out."""
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another genius-wh serve?); "
                f"stop it or pick another port: --port N (make run PORT=N)")
    if exc.errno == errno.EACCES:
        return f"no permission to listen on {host}:{port}; use a port above 1023"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def serve(settings: Settings, *, host: str, port: int, with_scheduler: bool) -> None:
    """Run the receiver under the WSGI server; with the scheduled jobs in the background."""
    configure_logging(settings)
    check_port_free(host, port)
    scheduler = build_scheduler(settings, blocking=False) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    try:
        run_server(settings, host=host, port=port,
                   blueprints=[wallboard_blueprint(settings)])
    except OSError as exc:  # lost the race for the port since check_port_free
        if exc.errno not in BIND_ERRORS:
            raise
        raise ServeFailed(_bind_problem(host, port, exc)) from None
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)


def run_scheduler(settings: Settings) -> None:
    """Run the scheduled jobs alone, in the foreground, until interrupted."""
    configure_logging(settings)
    build_scheduler(settings, blocking=True).start()
