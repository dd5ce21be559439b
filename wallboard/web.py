"""The `wallboard` blueprint: GET /wallboard (page), /wallboard.js (its script), /wallboard.json.

Access (CONTRACT section 9): HTTP Basic against `wallboard_users`; while that is empty, only
loopback clients (request.remote_addr, as the receiver's ProxyFix leaves it). The page holds
no token: the browser resends the Basic credentials it was asked for.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import duckdb
import orjson
from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState

from genius_wh.gauges import read_batch
from genius_wh.settings import Settings
from genius_wh.silence import merge_last_events
from wallboard.feeds import (
    feed_rows,
    last_events_from_metric_files,
    last_events_from_warehouse,
)
from wallboard.figures import read_figures
from wallboard.live import LiveState
from warehouse import connect
from warehouse.errors import WarehouseError

log = logging.getLogger("genius_wh.wallboard")

#: Figures are read at most this often, however many screens poll.
CACHE_SECONDS = 1.5
#: A held warehouse connection is replaced this often (new views, a rebuilt catalog).
RECONNECT_SECONDS = 300.0
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
}
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class Board:
    """Reads the figures and keeps them briefly.

    It holds one read-only warehouse connection (a new query on it sees every committed
    batch; opening one costs far more than the queries) and opens a new one every
    RECONNECT_SECONDS and after any failure.
    """

    def __init__(self, settings: Settings, clock: Clock, live: LiveState | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.live = live
        self._lock = threading.Lock()
        self._cached: tuple[float, bytes, int] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opened = 0.0

    def answer(self) -> tuple[bytes, int]:
        """The JSON body and status, recomputed when older than CACHE_SECONDS."""
        with self._lock:  # one refresh at a time; the others then get its result
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                body, status = self._read()
                self._cached = (time.monotonic(), body, status)
            return self._cached[1], self._cached[2]

    def figures(self) -> dict[str, Any]:
        """Every figure now, with the feed health and the last batch."""
        now = self.clock()
        con = self._connection()
        figures = read_figures(con, self.settings, now, self.live)
        loaded = last_events_from_warehouse(con)
        feeds = feed_rows(merge_last_events(
            loaded, last_events_from_metric_files(self.settings.data_dir)), now, self.settings)
        batch = read_batch(self.settings.data_dir)
        finished = datetime.fromtimestamp(batch["finished_at"], UTC) if batch else None
        figures.update(newest_event_at=max(loaded.values(), default=None), feeds=feeds,
                       silent=[f for f in feeds if f["silent"]],
                       last_batch_at=finished, last_batch_ok=batch["ok"] if batch else None,
                       silence_alarm_minutes=self.settings.silence_alarm_minutes,
                       business_hours=str(self.settings.business_hours))
        return figures

    def _read(self) -> tuple[bytes, int]:
        try:
            figures, status = self.figures(), 200
        except (duckdb.Error, OSError, WarehouseError) as exc:
            log.warning("wallboard: cannot read the warehouse: %s", exc)
            self._close()
            figures = {"status": "error", "error": f"cannot read the warehouse: {exc}",
                       "generated_at": self.clock()}
            status = 503
        return orjson.dumps(figures, default=_jsonable, option=orjson.OPT_NON_STR_KEYS), status

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The held connection, opened anew when missing or older than RECONNECT_SECONDS."""
        if self._con is None or time.monotonic() - self._opened > RECONNECT_SECONDS:
            self._close()
            self._con = connect(settings=self.settings)
            self._opened = time.monotonic()
        return self._con

    def _close(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except duckdb.Error:
                pass
            self._con = None


def _jsonable(value: Any) -> Any:
    """Decimals (DuckDB DECIMAL) as floats; anything else as text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def user_allowed(name: str | None, password: str | None, settings: Settings) -> bool:
    """True when the pair is one of `wallboard_users` (constant time, every user compared)."""
    given_name, given_password = (name or "").encode(), (password or "").encode()
    matches = [hmac.compare_digest(given_name, user.encode())
               & hmac.compare_digest(given_password, secret.get_secret_value().encode())
               for user, secret in settings.wallboard_users]
    return any(matches)


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _refusal(status: int, message: str, *, challenge: bool = False) -> Response:
    """The project's one error shape; a 401 asks the browser for Basic credentials."""
    answer = Response(orjson.dumps({"status": "error", "error": message}), status=status,
                      mimetype="application/json")
    if challenge:
        answer.headers["WWW-Authenticate"] = 'Basic realm="genius-wh wallboard", charset="UTF-8"'
    answer.headers.update(HEADERS)
    return answer


def _asset(name: str, mimetype: str) -> Response:
    answer = Response(files("wallboard").joinpath(name).read_bytes(), mimetype=mimetype)
    answer.headers.update(HEADERS)
    return answer


def wallboard_blueprint(settings: Settings, *, clock: Clock | None = None) -> Blueprint:
    """The wallboard for `settings` (the clock is replaceable for tests and demos)."""
    live = LiveState(settings)
    board = Board(settings, clock or _now, live)
    blueprint = Blueprint("wallboard", __name__)

    @blueprint.record_once
    def listen(state: BlueprintSetupState) -> None:  # the receiver's events, as they come
        receiver = state.app.extensions.get("genius_wh")
        if receiver is not None:
            receiver.listeners.append(live.start())

    @blueprint.before_request
    def guard() -> Response | None:
        if settings.wallboard_users:
            auth = request.authorization
            if auth is None or auth.type != "basic" or not user_allowed(
                    auth.username, auth.password, settings):
                return _refusal(401, "sign in with a name and password of wallboard_users",
                                challenge=True)
        elif not is_loopback(request.remote_addr):
            return _refusal(403, "the wallboard answers only this machine while "
                            "wallboard_users is empty")
        return None

    @blueprint.get("/wallboard")
    def page() -> Response:
        return _asset("page.html", "text/html")

    @blueprint.get("/wallboard.js")
    def script() -> Response:
        return _asset("wallboard.js", "text/javascript")

    @blueprint.get("/wallboard.json")
    def data() -> Response:
        body, status = board.answer()
        answer = Response(body, status=status, mimetype="application/json")
        answer.headers.update(HEADERS)
        return answer

    return blueprint
