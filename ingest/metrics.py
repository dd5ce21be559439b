"""Receiver metrics that stay right with several processes on one data directory.

Each process counts in memory and writes its totals to `metrics/ingest-<host>-<pid>.json`
(atomic replace, 0600, by a thread once a second when counts changed, and at shutdown).
/metrics sums every process's file (its own counts taken live), adds the batch figures of
`metrics/batch.json` and renders the Prometheus text format with prometheus-client. Files of
processes that have stopped are folded into one totals file (`genius_wh.metricfiles`), so
counters never go backwards when a worker restarts and files never accumulate.
(prometheus-client's own multiprocess mode needs an environment variable set before import,
one per interpreter: that does not fit a data directory given as a setting.)
Beside them: the `process_*` figures of the process that answers the scrape
(prometheus-client's ProcessCollector: CPU, memory, open files, start time) and
`genius_wh_build_info{version, duckdb, python} 1`.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from importlib import metadata

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from genius_wh.cards import CARD_NUMBERS_MASKED
from genius_wh.gauges import read_batch, write_json_atomic
from genius_wh.layout import DataLayout
from genius_wh.metricfiles import Key, Rows, combine, fold_dead, read_rows
from genius_wh.records import DEFAULT_INTEGRATION
from genius_wh.settings import Settings
from genius_wh.silence import silent_feeds
from genius_wh.tables import ACTION_TABLES

log = logging.getLogger("genius_wh.ingest.metrics")

FLUSH_SECONDS = 1.0
#: How often a process folds the files of dead processes into the totals file.
FOLD_SECONDS = 60.0
EVENTS = "genius_wh_events_received"
BYTES = "genius_wh_received_bytes"
REJECTED = "genius_wh_rejected_requests"
REPAIRS = "genius_wh_trailing_comma_repairs"
LAST_EVENT = "genius_wh_last_event_timestamp_seconds"
HELP = {
    EVENTS: "Webhook events received, by action, outcome (accepted, quarantined, failed) "
    "and integration.",
    BYTES: "Bytes of webhook bodies received.",
    REJECTED: "Requests refused, by reason.",
    REPAIRS: "Bodies whose trailing commas were repaired.",
    CARD_NUMBERS_MASKED: "Card numbers masked to their last four digits before an event was "
    "stored (PCI DSS).",
}
LABELS = {EVENTS: ("action", "outcome", "integration"), BYTES: (), REJECTED: ("reason",),
          REPAIRS: (), LAST_EVENT: ("action", "integration"), CARD_NUMBERS_MASKED: ()}
#: Gauges: the largest value over processes wins (the others' are summed counters).
MAX_NAMES = frozenset({LAST_EVENT})
GAUGE_HELP = {LAST_EVENT: "When the last event of this action and integration was accepted "
              "(Unix time)."}


def action_label(action: str) -> str:
    """The action as a bounded metric label: a known action or `other`."""
    lowered = action.strip().lower()
    return lowered if lowered in ACTION_TABLES else "other"


class IngestMetrics:
    """Counters of one receiver process, shared through files under the data directory."""

    def __init__(self, layout: DataLayout, settings: Settings | None = None) -> None:
        self.layout = layout
        self.settings = settings
        self.host = socket.gethostname().split(".")[0]
        self.path = layout.metrics / f"ingest-{self.host}-{os.getpid()}.json"
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

    def set_latest(self, name: str, *labels: str, value: float) -> None:
        """Raise a timestamp gauge to `value` (never lowers it)."""
        counts: dict[Key, float] | None = getattr(self._local, "counts", None)
        if counts is None:
            counts = self._thread_counts()
        key = (name, labels)
        if value > counts.get(key, 0.0):
            counts[key] = value
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
        next_fold = 0.0
        while not self._stopped.wait(FLUSH_SECONDS):
            if self._dirty:
                self.flush()
            if time.monotonic() >= next_fold:
                next_fold = time.monotonic() + FOLD_SECONDS
                self.fold()

    def fold(self) -> None:
        """Fold the files of this host's dead receiver processes (a full disk only delays it)."""
        try:
            fold_dead(self.layout.metrics, self.host, MAX_NAMES)
        except OSError as exc:
            log.warning("cannot fold the metric files of stopped processes: %s", exc)

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
        ProcessCollector(registry=registry)  # this process: CPU, memory, files, start time
        return generate_latest(registry)

    def _snapshot(self) -> dict[Key, float]:
        """This process's counts: the sum of every thread's (dict copies are atomic)."""
        total: dict[Key, float] = {}
        for counts in list(self._per_thread):
            combine(total, [(n, list(labels), v) for (n, labels), v in counts.copy().items()],
                    MAX_NAMES)
        return total

    def totals(self) -> dict[Key, float]:
        """Sum of every process file under the data directory."""
        totals: dict[Key, float] = {}
        own: Rows = [(n, list(labels), v) for (n, labels), v in self._snapshot().items()]
        for path in sorted(self.layout.metrics.glob("ingest-*.json")):
            rows = own if path == self.path else read_rows(path)
            combine(totals, [_padded(row) for row in rows], MAX_NAMES)
        return totals


def _padded(row: tuple[str, list[str], float]) -> tuple[str, list[str], float]:
    """A row written before a label was added gets `default` for it (older files)."""
    name, labels, value = row
    wanted = len(LABELS.get(name, labels))
    return name, labels + [DEFAULT_INTEGRATION] * (wanted - len(labels)), value


class _FileCollector(Collector):
    """Builds metric families from the summed files and batch.json at scrape time."""

    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        totals = self.metrics.totals()
        for name, help_text in HELP.items():
            family = CounterMetricFamily(name, help_text, labels=LABELS[name])
            yield _filled(family, name, totals)
        for name, help_text in GAUGE_HELP.items():
            yield _filled(GaugeMetricFamily(name, help_text, labels=LABELS[name]), name, totals)
        yield from _batch_families(self.metrics.layout)
        yield _backlog_family(self.metrics.layout)
        yield _build_family()
        if self.metrics.settings is not None:
            yield _silence_family(totals, self.metrics.settings)


def _filled(family: Metric, name: str, totals: dict[Key, float]) -> Metric:
    """`family` with every sample of `name` (labels of the wrong count are dropped)."""
    width = len(LABELS[name])
    for (key_name, labels), value in sorted(totals.items()):
        if key_name == name and len(labels) == width:
            family.add_metric(list(labels), value)  # type: ignore[attr-defined]
    return family


@cache
def build_labels() -> tuple[str, str, str]:
    """This build's version, the pinned DuckDB's and Python's (read from package metadata:
    the receiver never imports duckdb)."""
    return (_version("genius-wh"), _version("duckdb"), platform.python_version())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _build_family() -> Metric:
    """`genius_wh_build_info{version, duckdb, python} 1`: what is running."""
    family = GaugeMetricFamily("genius_wh_build_info", "The running build: genius-wh, "
                               "DuckDB and Python versions (always 1).",
                               labels=["version", "duckdb", "python"])
    family.add_metric(list(build_labels()), 1.0)
    return family


def _backlog_family(layout: DataLayout) -> Metric:
    """Bytes of spool segments per folder: a growing `ready` means batches fall behind."""
    family = GaugeMetricFamily("genius_wh_spool_backlog_bytes",
                               "Bytes of spool segments waiting, per folder.", labels=["folder"])
    for folder, path in (("open", layout.spool_open), ("ready", layout.spool_ready)):
        size = 0
        for segment in path.glob("*.jsonl") if path.is_dir() else []:
            try:
                size += segment.stat().st_size
            except FileNotFoundError:
                continue  # sealed or archived meanwhile
        family.add_metric([folder], float(size))
    return family


def _silence_family(totals: dict[Key, float], settings: Settings) -> Metric:
    """1 for each action an integration sends that has been silent too long (CONTRACT 9)."""
    family = GaugeMetricFamily(
        "genius_wh_feed_silent", "1 while an action an integration sends has sent nothing "
        "for silence_alarm_minutes inside business_hours.", labels=["action", "integration"])
    last = {(labels[0], labels[1]): datetime.fromtimestamp(value, UTC)
            for (name, labels), value in totals.items()
            if name == LAST_EVENT and len(labels) == 2}
    silent = {(f.action, f.integration) for f in silent_feeds(
        last, datetime.now(UTC), settings.silence_alarm_minutes, settings.business_hours)}
    for key in sorted(last):
        family.add_metric(list(key), 1.0 if key in silent else 0.0)
    return family


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
    over = GaugeMetricFamily("genius_wh_ofcom_over_limit", "1 for a campaign whose rolling "
                             "24-hour abandoned-call rate is over ofcom_limit (CONTRACT 8).",
                             labels=["campaign"])
    flags: dict[str, bool] = figures.get("ofcom_over_limit", {}) if figures else {}
    for campaign, flag in sorted(flags.items()):
        over.add_metric([campaign], 1.0 if flag else 0.0)
    return [lag, last, ok, rows, over]

