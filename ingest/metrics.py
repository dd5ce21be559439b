"""Receiver metrics that stay right with several processes on one data directory.

Each process counts in memory and writes its totals to `metrics/ingest-<host>-<pid>.json`
(atomic replace, by a thread once a second when counts changed, and at shutdown). /metrics
sums every process's file (its own counts taken live), adds the batch figures of
`metrics/batch.json` and renders the Prometheus text format with prometheus-client. Files of
stopped processes are kept, so counters never go backwards when a worker restarts.
(prometheus-client's own multiprocess mode needs an environment variable set before import,
one per interpreter: that does not fit a data directory given as a setting.)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Iterator

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from genius_wh.layout import DataLayout
from genius_wh.tables import ACTION_TABLES
from ingest.gauges import read_batch, write_json_atomic

log = logging.getLogger("genius_wh.ingest.metrics")

FLUSH_SECONDS = 1.0
EVENTS = "genius_wh_events_received"
BYTES = "genius_wh_received_bytes"
REJECTED = "genius_wh_rejected_requests"
REPAIRS = "genius_wh_trailing_comma_repairs"
HELP = {
    EVENTS: "Webhook events received, by action and outcome (accepted, quarantined, failed).",
    BYTES: "Bytes of webhook bodies received.",
    REJECTED: "Requests refused, by reason.",
    REPAIRS: "Bodies whose trailing commas were repaired.",
}
LABELS = {EVENTS: ("action", "outcome"), BYTES: (), REJECTED: ("reason",), REPAIRS: ()}

Key = tuple[str, tuple[str, ...]]
Rows = list[tuple[str, list[str], float]]


def action_label(action: str) -> str:
    """The action as a bounded metric label: a known action or `other`."""
    lowered = action.strip().lower()
    return lowered if lowered in ACTION_TABLES else "other"


class IngestMetrics:
    """Counters of one receiver process, shared through files under the data directory."""

    def __init__(self, layout: DataLayout) -> None:
        self.layout = layout
        host = socket.gethostname().split(".")[0]
        self.path = layout.metrics / f"ingest-{host}-{os.getpid()}.json"
        # one dict per request thread, written only by that thread: counting an event takes
        # no lock shared by every request thread (a flush sums copies of the dicts)
        self._local = threading.local()
        self._per_thread: list[dict[Key, float]] = []
        self._lock = threading.Lock()  # guards _per_thread and the flush, not the counts
        self._dirty = False
        self._stopped = threading.Event()

    def inc(self, name: str, *labels: str, amount: float = 1.0) -> None:
        """Add to one counter (written to the process file within a second)."""
        counts: dict[Key, float] | None = getattr(self._local, "counts", None)
        if counts is None:
            counts = self._thread_counts()
        key = (name, labels)
        counts[key] = counts.get(key, 0.0) + amount
        self._dirty = True

    def _thread_counts(self) -> dict[Key, float]:
        """This thread's own counts, registered once for the flush to sum."""
        counts: dict[Key, float] = {}
        with self._lock:
            self._per_thread.append(counts)
        self._local.counts = counts
        return counts

    def start(self) -> IngestMetrics:
        """Start the thread that writes the process file once a second when counts changed."""
        threading.Thread(target=self._flush_loop, name="metrics-flush", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop the flush thread and write the final counts."""
        self._stopped.set()
        self.flush()

    def _flush_loop(self) -> None:
        while not self._stopped.wait(FLUSH_SECONDS):
            if self._dirty:
                self.flush()

    def flush(self) -> None:
        """Write this process's totals to its file (a full disk only delays it)."""
        with self._lock:
            self._dirty = False
            rows = [[name, list(labels), value]
                    for (name, labels), value in self._snapshot().items()]
            try:
                write_json_atomic(self.path, rows)
            except OSError as exc:
                log.warning("cannot write metrics file %s: %s", self.path, exc)

    def render(self) -> bytes:
        """All processes' counters plus the batch gauges, in Prometheus text format."""
        self.flush()
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_FileCollector(self))
        return generate_latest(registry)

    def _snapshot(self) -> dict[Key, float]:
        """This process's counts: the sum of every thread's (dict copies are atomic)."""
        total: dict[Key, float] = {}
        for counts in list(self._per_thread):
            for key, value in counts.copy().items():
                total[key] = total.get(key, 0.0) + value
        return total

    def totals(self) -> dict[Key, float]:
        """Sum of every process file under the data directory."""
        totals: dict[Key, float] = {}
        own: Rows = [(n, list(labels), v) for (n, labels), v in self._snapshot().items()]
        for path in sorted(self.layout.metrics.glob("ingest-*.json")):
            rows = own if path == self.path else _read_rows(path)
            for name, labels, value in rows:
                key = (name, tuple(labels))
                totals[key] = totals.get(key, 0.0) + value
        return totals


class _FileCollector(Collector):
    """Builds metric families from the summed files and batch.json at scrape time."""

    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        totals = self.metrics.totals()
        for name, help_text in HELP.items():
            family = CounterMetricFamily(name, help_text, labels=LABELS[name])
            for (key_name, labels), value in sorted(totals.items()):
                if key_name == name:
                    family.add_metric(list(labels), value)
            yield family
        yield from _batch_families(self.metrics.layout)


def _batch_families(layout: DataLayout) -> Iterable[Metric]:
    """Gauges from the batch's figures file (nothing until a batch has reported)."""
    figures = read_batch(layout.root)
    lag = GaugeMetricFamily("genius_wh_batch_lag_seconds",
                            "Age of the oldest event the last batch loaded, at its end.")
    last = GaugeMetricFamily("genius_wh_last_batch_timestamp_seconds",
                             "When the last batch finished (Unix time).")
    ok = GaugeMetricFamily("genius_wh_last_batch_ok", "1 when the last batch succeeded.")
    rows = CounterMetricFamily("genius_wh_rows_loaded", "Rows loaded into the warehouse.",
                               labels=["table"])
    if figures is not None:
        lag.add_metric([], figures["lag_seconds"])
        last.add_metric([], figures["finished_at"])
        ok.add_metric([], 1.0 if figures["ok"] else 0.0)
        for table, count in sorted(figures["rows_loaded_total"].items()):
            rows.add_metric([table], count)
    return [lag, last, ok, rows]


def _read_rows(path: os.PathLike[str]) -> Rows:
    """Rows of one process file; a file being replaced or damaged counts as empty."""
    try:
        with open(path, "rb") as handle:
            rows = orjson.loads(handle.read())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return []
    return [(str(r[0]), [str(x) for x in r[1]], float(r[2])) for r in rows]
