"""`genius-wh serve` serves the wallboard beside the webhook (#11)."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from receiver_support import RunningReceiver


def test_serve_answers_the_wallboard_page_and_its_figures(
        receiver_factory: Callable[..., RunningReceiver]) -> None:
    running = receiver_factory()
    status, page = running.get("/wallboard")
    assert status == 200 and b'<script src="wallboard.js" defer></script>' in page
    status, body = running.get("/wallboard.json")
    # before the first batch the figures say there is no warehouse yet, in the error shape
    assert status in (200, 503)
    figures = orjson.loads(body)
    assert "generated_at" in figures
    assert running.get("/wallboard.js")[0] == 200
