"""Simulated traffic sent to the real receiver arrives, every event, in the warehouse."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from receiver_support import RunningReceiver
from warehouse_support import make_settings, query

from genius_wh.tables import ACTION_TABLES
from orchestration.batch import run_batch
from orchestration.simulator import model_events, simulate


def test_simulated_events_posted_to_the_receiver_all_load(
        tmp_path: Path, receiver_factory: Callable[..., RunningReceiver]) -> None:
    data_dir = tmp_path / "data"
    receiver = receiver_factory(data_dir, tokens="ASampleToken")
    settings = make_settings(data_dir)
    sent = simulate(url=receiver.url + "/", out=None, token="ASampleToken", rate=0, count=400,
                    seed=11, tz=settings.tz)
    receiver.stop()  # seals its open spool segment
    run_batch(settings)
    expected = Counter(ACTION_TABLES[e["action"].lower()]
                       for e in model_events(count=400, seed=11, tz=settings.tz))
    assert sent == 400
    for table, n in expected.items():
        assert query(data_dir, f"SELECT count(*) FROM {table}") == [(n,)], table
    connected = query(data_dir, "SELECT count(*) FROM v_sessions WHERE is_connect")[0][0]
    assert connected > 0
