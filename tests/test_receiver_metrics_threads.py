"""Counters are kept per request thread without a lock, and still add up exactly."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson

from genius_wh.layout import DataLayout
from ingest.metrics import BYTES, EVENTS, IngestMetrics

THREADS = 16
PER_THREAD = 2000


def test_counts_from_many_threads_flushed_while_counting_add_up_exactly(tmp_path: Path) -> None:
    metrics = IngestMetrics(DataLayout(root=tmp_path).ensure())
    go = threading.Event()

    def count() -> None:
        go.wait()
        for _ in range(PER_THREAD):
            metrics.inc(EVENTS, "agentactivity", "accepted")
            metrics.inc(BYTES, amount=10)

    workers = [threading.Thread(target=count) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    go.set()
    while any(worker.is_alive() for worker in workers):
        metrics.flush()  # a flush racing the counting threads loses nothing
    metrics.flush()
    rows = {(name, tuple(labels)): value
            for name, labels, value in orjson.loads(metrics.path.read_bytes())}
    assert rows == {(EVENTS, ("agentactivity", "accepted")): THREADS * PER_THREAD,
                    (BYTES, ()): THREADS * PER_THREAD * 10}
