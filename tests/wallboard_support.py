"""Wallboard test helpers: a simulated day in a real warehouse, the wallboard served."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from waitress.server import create_server
from warehouse_support import make_settings

from genius_wh.layout import DataLayout
from genius_wh.records import encode_record, make_record
from genius_wh.settings import Settings
from ingest.app import Receiver, create_app
from orchestration.batch import run_batch
from orchestration.simulator.centre import model_events
from wallboard import wallboard_blueprint

TZ = ZoneInfo("Europe/London")
#: A Tuesday: inside the default business hours from 08:00 to 20:00.
DAY = date(2026, 11, 24)
_FRACTION = re.compile(r"(\.\d{6})\d+")


class Clock:
    """A settable clock for the wallboard (its "now" follows the simulated day)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A local moment of the simulated day."""
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def event_time(body: dict[str, Any]) -> datetime:
    """The envelope timestamp of a simulator body (seven fractional digits cut to six)."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", body["timestamp"]))


def day_bodies(*, count: int = 6000, seed: int = 7, day: date = DAY) -> list[dict[str, Any]]:
    """The simulator's contact centre from 08:00 of `day`, in time order."""
    return model_events(count=count, seed=seed, tz=TZ, first_day=day)


def spool(data_dir: Path, bodies: list[dict[str, Any]], *, name: str,
          integration: str | None = None) -> None:
    """Bodies as one sealed segment, received in list order at about their own time."""
    layout = DataLayout(root=data_dir).ensure()
    lines, received = [], datetime.min.replace(tzinfo=TZ)
    for body in bodies:
        received = max(received + timedelta(microseconds=1), event_time(body))
        record: Any = make_record(body, received_at=received, source="127.0.0.1")
        if integration is not None:
            record["integration"] = integration
        lines.append(encode_record(record))
    (layout.spool_ready / f"{name}.jsonl").write_bytes(b"".join(lines))


def load_until(data_dir: Path, bodies: list[dict[str, Any]], start: datetime, end: datetime,
               **settings: Any) -> int:
    """Spool and batch the bodies of [start, end); returns how many."""
    picked = [b for b in bodies if start <= event_time(b) < end]
    spool(data_dir, picked, name=f"{start:%Y%m%dT%H%M%S}000000-test-1-{len(picked):06d}")
    run_batch(make_settings(data_dir, **settings))
    return len(picked)


def wallboard_app(settings: Settings, clock: Clock | None = None) -> Flask:
    """The receiver's app with the wallboard registered, as `serve` builds it."""
    app = create_app(settings)
    app.register_blueprint(wallboard_blueprint(settings, clock=clock))
    return app


def close_app(app: Flask) -> None:
    """Stop the receiver's writer and counters."""
    state: Receiver = app.extensions["genius_wh"]
    state.close()


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve `app` with waitress on a free loopback port; yields its base URL."""
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def shifted(moment: datetime, **delta: float) -> datetime:
    """`moment` plus a timedelta."""
    return moment + timedelta(**delta)
