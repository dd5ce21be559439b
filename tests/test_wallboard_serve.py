"""`genius-wh serve` serves the wallboard beside the webhook (#11)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from receiver_support import RunningReceiver
from warehouse_support import run_cli


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


def _agent(agent: str, state: int, at: datetime, campaign: str = "Sales") -> bytes:
    return orjson.dumps({"action": "AgentActivity", "timestamp": at.isoformat(),
                         "agentactivity": {"campaign": campaign, "agent": agent,
                                           "agentstate": state, "previousagentstate": 3,
                                           "timestampcurrentstate": at.isoformat(),
                                           "timestamppreviousstate": at.isoformat()}})


def _queue(waiting: int, oldest: datetime, at: datetime) -> bytes:
    return orjson.dumps({"action": "QueueInfo", "timestamp": at.isoformat(),
                         "queueinfo": {"campaign": "Service", "queuenumber": 101,
                                       "queuename": "Billing", "callsinqueue": waiting,
                                       "oldestcall": oldest.isoformat(), "totalcalls": 9,
                                       "totalabandoned": 0}})


def _now_figures(running: RunningReceiver) -> tuple[dict[str, int], dict[int, int]]:
    status, body = running.get("/wallboard.json")
    assert status == 200, body
    figures = orjson.loads(body)
    agents = {c["campaign"]: c["by_state"] for c in figures["agents"]["campaigns"]}
    waiting = {q["queuenumber"]: q["waiting"] for q in figures["queues"]}
    return agents.get("Sales", {}), waiting


def test_now_figures_follow_the_receiver_before_any_batch_and_survive_a_restart(
        receiver_factory: Callable[..., RunningReceiver], tmp_path: Path) -> None:
    data = tmp_path / "data"
    start = datetime.now(UTC) - timedelta(minutes=10)
    running = receiver_factory(data)
    assert running.post(_agent("a1", 3, start))[0] == 200
    run_cli(data, "batch")  # the warehouse now knows a1 waiting
    assert _now_figures(running)[0] == {"3": 1}

    # no batch runs: the receiver's own events give the "now" figures
    assert running.post(_agent("a1", 6, start + timedelta(minutes=1)))[0] == 200
    assert running.post(_agent("a2", 7, start + timedelta(minutes=1)))[0] == 200
    assert running.post(_queue(4, start, start + timedelta(minutes=2)))[0] == 200
    deadline = time.monotonic() + 10  # the figures are cached for 1.5 s
    while _now_figures(running) != ({"6": 1, "7": 1}, {101: 4}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _now_figures(running) == ({"6": 1, "7": 1}, {101: 4})
    # an older event that arrives late does not turn the clock back
    assert running.post(_agent("a2", 2, start + timedelta(seconds=30)))[0] == 200

    running.stop()  # a restart keeps them (wallboard-live.json), still before any batch
    again = receiver_factory(data)
    assert _now_figures(again) == ({"6": 1, "7": 1}, {101: 4})

    run_cli(data, "batch")  # and the warehouse, once loaded, says the same
    again.stop()
    (data / "wallboard-live.json").unlink()
    third = receiver_factory(data)
    assert _now_figures(third) == ({"6": 1, "7": 1}, {101: 4})
