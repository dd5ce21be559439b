"""/metrics sums every receiver process on one data directory and shows the batch figures."""

from __future__ import annotations

import re
from pathlib import Path

from receiver_support import start_receiver, wait_until

from genius_wh.gauges import read_batch, record_batch

AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a%d"}}'


def metric(text: bytes, name: str) -> float | None:
    """The value of one sample line, or None when absent."""
    found = re.search(rb"^" + re.escape(name.encode()) + rb" ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_two_processes_on_one_data_dir_are_counted_together(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = start_receiver(data), start_receiver(data)
    try:
        for n in range(3):
            assert first.post(AGENT % n)[0] == 200
        for n in range(2):
            assert second.post(AGENT % (10 + n))[0] == 200
        name = ('genius_wh_events_received_total{action="agentactivity",integration="default",'
                'outcome="accepted"}')
        wait_until(lambda: metric(first.get("/metrics")[1], name) == 5.0, timeout=5,
                   what="the other process's counts")
        assert metric(second.get("/metrics")[1], name) == 5.0
    finally:
        first.stop()
        second.stop()


def test_batch_figures_appear_in_metrics_and_totals_accumulate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    record_batch(data, lag_seconds=4.5, rows_loaded={"session_ended": 7, "queue_info": 1})
    record_batch(data, lag_seconds=2.0, rows_loaded={"session_ended": 3}, ok=False)
    figures = read_batch(data)
    assert figures is not None and figures["rows_loaded"] == {"session_ended": 3}
    running = start_receiver(data)
    try:
        text = running.get("/metrics")[1]
    finally:
        running.stop()
    assert metric(text, "genius_wh_batch_lag_seconds") == 2.0
    assert metric(text, "genius_wh_last_batch_ok") == 0.0
    assert metric(text, 'genius_wh_rows_loaded_total{table="session_ended"}') == 10.0
    assert metric(text, 'genius_wh_rows_loaded_total{table="queue_info"}') == 1.0


def test_metrics_before_any_batch_have_no_batch_samples(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data")
    try:
        status, text = running.get("/metrics")
    finally:
        running.stop()
    assert status == 200 and b"# TYPE genius_wh_batch_lag_seconds gauge" in text
    assert metric(text, "genius_wh_batch_lag_seconds") is None
