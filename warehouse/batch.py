"""One batch: recovery first, seal abandoned segments, claim chunks, transform, load exactly
once, archive, publish a snapshot for readers (docs/DESIGN.md, "Chunks, exactly once")."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path

import duckdb

from genius_wh.layout import DataLayout
from genius_wh.segments import list_ready, seal_abandoned
from genius_wh.settings import Settings
from transform import ChunkResult
from transform.worker import transform_and_trim, transform_pool
from warehouse.chunks import (
    apply_retention,
    archive,
    chunk_segments,
    claim,
    iter_chunks,
    new_chunk_id,
    working_chunks,
)
from warehouse.errors import BatchFailed, WarehouseBusy
from warehouse.ledger import finish_batch, start_batch
from warehouse.loader import ChunkLoad, loaded_segments, loading, open_writer
from warehouse.schema import LOADED_TABLES, ensure_schema
from warehouse.snapshots import publish_snapshot

log = logging.getLogger(__name__)

@dataclass(frozen=True, kw_only=True)
class BatchReport:
    """What one batch (or rebuild) did."""

    rows_loaded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOADED_TABLES, 0))
    skipped: str | None = None
    chunks: int = 0
    events: int = 0
    quarantined: int = 0
    issues: int = 0


@dataclass(kw_only=True)
class Tally:
    """Running totals of a batch."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOADED_TABLES, 0))
    chunks: int = 0
    events: int = 0
    quarantined: int = 0
    issues: int = 0
    oldest: float | None = None

    def report(self) -> BatchReport:
        """The frozen report of these totals."""
        return BatchReport(rows_loaded=dict(self.rows), chunks=self.chunks, events=self.events,
                           quarantined=self.quarantined, issues=self.issues)


def run_batch(settings: Settings, *, lock_wait_seconds: float | None = None) -> BatchReport:
    """Run one batch now (what `genius-wh batch` and the scheduled job call).

    lock_wait_seconds: how long to wait for a DuckDB client holding warehouse.duckdb
    (default: setting warehouse_lock_wait_seconds).
    """
    from warehouse.locks import batch_lock

    layout = DataLayout(root=settings.data_dir).ensure()
    with batch_lock(layout) as held:
        if not held:
            return BatchReport(skipped="another batch is running")
        seal_abandoned(layout)
        if not working_chunks(layout) and not list_ready(layout):
            _record_metrics(layout, Tally(), ok=True)
            return BatchReport()
        wait = (settings.warehouse_lock_wait_seconds if lock_wait_seconds is None
                else lock_wait_seconds)
        return _run_locked(settings, layout, wait)


def _run_locked(settings: Settings, layout: DataLayout, lock_wait: float) -> BatchReport:
    """The batch proper, under the batch lock, with the warehouse open for writing."""
    tally = Tally()
    con = open_writer(layout.warehouse, wait_seconds=lock_wait)
    try:
        ensure_schema(con, tz=settings.timezone)
        batch_id = start_batch(con)
        try:
            load_pending(settings, layout, con, tally)
        except Exception as exc:
            message = f"batch {batch_id} failed: {type(exc).__name__}: {exc}"
            _record_failure(con, layout, batch_id, tally, message)
            raise BatchFailed(f"{message} (its segments stay in spool/working/ and the next "
                              "batch retries them)") from exc
        finish_batch(con, batch_id, tally, outcome="ok", message=None)
    except BaseException:
        con.close()
        raise
    _close_and_publish(con, layout)
    apply_retention(layout, datetime.now(settings.tz).date(), settings.archive_retention_days)
    _record_metrics(layout, tally, ok=True)
    return tally.report()


def _record_failure(con: duckdb.DuckDBPyConnection, layout: DataLayout, batch_id: int,
                    tally: Tally, message: str) -> None:
    """Record a failed batch in _batches and /metrics (best effort: the warehouse itself
    may be what failed, and the original error must reach the caller)."""
    _record_metrics(layout, tally, ok=False)
    try:
        finish_batch(con, batch_id, tally, outcome="failed", message=message)
        _close_and_publish(con, layout)
    except (duckdb.Error, OSError) as exc:
        log.error("could not record the failed batch %d: %s", batch_id, exc)


def claimed_folders(settings: Settings, layout: DataLayout, tally: Tally) -> Iterator[Path]:
    """Chunk folders in load order: those left in working/ first, then fresh claims (made
    lazily, one chunk at a time, so a large backlog is never claimed at once)."""
    yield from working_chunks(layout)
    for segments in iter_chunks(list_ready(layout), settings.batch_max_events):
        tally.oldest = min(filter(None, [tally.oldest, _segment_time(segments[0])]),
                           default=None)
        yield claim(layout, segments, new_chunk_id())


#: Events loaded per transaction when a batch has many chunks: the big tables' new rows then
#: fill DuckDB row groups, which go straight into the database file instead of to the WAL
#: and again into the file at the checkpoint. Chunks still stream in one by one.
LOAD_GROUP_EVENTS = 1_000_000
#: Transform worker processes for a batch with many chunks.
TRANSFORM_WORKERS = 2


def load_pending(settings: Settings, layout: DataLayout, con: duckdb.DuckDBPyConnection,
                 tally: Tally) -> None:
    """Recover working/ chunks first, then claim and load the ready segments chunk by chunk.

    Chunks are transformed ahead while DuckDB loads earlier ones: with more than one chunk
    to do, in worker processes (the transform and the load then share both cores, and the
    transforms' memory is not added to DuckDB's); a single chunk, in a thread (no process
    start-up for the usual small batch). Chunks load in claim order, each one as soon as it
    is transformed, up to LOAD_GROUP_EVENTS per transaction; a group's segments are
    archived once its transaction has committed.
    """
    folders = claimed_folders(settings, layout, tally)
    ahead = list(islice(folders, 2))
    many = len(ahead) > 1
    size = max(1, LOAD_GROUP_EVENTS // settings.batch_max_events)
    with transform_executor(many=many) as executor:
        prepared = (prepare_chunk(executor, settings, layout, con, folder)
                    for folder in chain(ahead, folders))
        window = deque(islice(prepared, TRANSFORM_WORKERS + 1 if many else 1))
        while window:
            group: list[Prepared] = []
            with loading(con, loaded_at=datetime.now(UTC)) as load:
                while window and len(group) < size:
                    chunk = window.popleft()
                    window.extend(islice(prepared, 1))  # keep the workers busy
                    add_chunk(load, chunk, tally)
                    group.append(chunk)
            for table, count in load.rows.items():
                tally.rows[table] += count
            for chunk in group:
                archive(layout, chunk.folder, datetime.now(settings.tz).date())


def add_chunk(load: ChunkLoad, chunk: Prepared, tally: Tally) -> None:
    """Wait for a chunk's transform and add it to the open load (nothing if in the ledger)."""
    if chunk.transform is None:
        return
    result = chunk.transform.result()
    load.add(result, chunk.segments)
    tally.chunks += 1
    tally.events += result.events
    tally.quarantined += len(result.quarantined)
    tally.issues += len(result.issues)


def transform_executor(*, many: bool) -> Executor:
    """Worker processes for many chunks (memory and CPU apart from DuckDB), a thread for one."""
    if many:
        return transform_pool(TRANSFORM_WORKERS)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform")


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A chunk folder, its segments and its transform (None: already in the ledger)."""

    folder: Path
    segments: list[Path]
    transform: Future[ChunkResult] | None


def prepare_chunk(executor: Executor, settings: Settings, layout: DataLayout,
                  con: duckdb.DuckDBPyConnection, folder: Path) -> Prepared:
    """Start transforming a chunk unless the ledger already has its segments."""
    segments = chunk_segments(folder)
    if not segments or loaded_segments(con, [p.name for p in segments]):
        return Prepared(folder=folder, segments=segments, transform=None)
    future = executor.submit(
        transform_and_trim, segments, chunk_id=folder.name, lake_dir=layout.lake,
        quarantine_dir=layout.quarantine, tz=settings.tz)
    return Prepared(folder=folder, segments=segments, transform=future)


def _close_and_publish(con: duckdb.DuckDBPyConnection, layout: DataLayout) -> None:
    """CHECKPOINT, close the writer and publish a snapshot for readers."""
    con.execute("CHECKPOINT")
    con.close()
    publish_snapshot(layout)


def _segment_time(path: Path) -> float | None:
    """Creation time encoded in a segment name (`yyyymmddTHHMMSSffffff-...`), or None."""
    try:
        stamp = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%f")
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC).timestamp()


def _record_metrics(layout: DataLayout, tally: Tally, *, ok: bool) -> None:
    """Hand batch lag and rows loaded to /metrics (ingest/gauges.py), when present."""
    try:
        from ingest.gauges import record_batch
    except ImportError:
        return
    lag = max(0.0, time.time() - tally.oldest) if tally.oldest else 0.0
    record_batch(layout.root, lag_seconds=lag, rows_loaded=tally.rows, ok=ok)


__all__ = ["BatchReport", "WarehouseBusy", "run_batch"]
