"""Traffic simulator: a seeded model of a contact centre that sends Genius webhooks."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from orchestration.simulator.centre import model_events
from orchestration.simulator.send import DeliveryFailed, post_all, write_lines

__all__ = ["DeliveryFailed", "model_events", "simulate"]


def simulate(*, url: str | None, out: Path | None, token: str | None, rate: float,
             count: int, seed: int, tz: ZoneInfo) -> int:
    """Send (`url`) or write (`out`, one body per line) `count` events; returns how many."""
    bodies = model_events(count=count, seed=seed, tz=tz)
    if out is not None:
        return write_lines(bodies, out)
    if url is None:
        raise DeliveryFailed("give a URL to send to or a file to write")
    return post_all(bodies, url, token, rate)
