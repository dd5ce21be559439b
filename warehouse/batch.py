"""One batch: recovery first, seal abandoned segments, claim chunks, transform, load exactly
once, archive, publish a snapshot for readers (docs/DESIGN.md, "Chunks, exactly once")."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path

import duckdb

from genius_wh.layout import DataLayout
from genius_wh.segments import list_ready, seal_abandoned
from genius_wh.settings import Settings
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
from warehouse.loader import loaded_segments, open_writer
from warehouse.pipeline import (
    BatchReport,
    Prepared,
    Tally,
    Transformer,
    load_stream,
    transform_executor,
)
from warehouse.schema import ensure_schema
from warehouse.snapshots import publish_snapshot

log = logging.getLogger(__name__)

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


def load_pending(settings: Settings, layout: DataLayout, con: duckdb.DuckDBPyConnection,
                 tally: Tally) -> None:
    """Recover working/ chunks first, then claim and load the ready segments chunk by chunk
    (warehouse/pipeline.py); a group's segments are archived once its transaction commits."""
    folders = claimed_folders(settings, layout, tally)
    ahead = list(islice(folders, 2))
    executor, workers = transform_executor(many=len(ahead) > 1)
    with executor:
        transformer = Transformer(executor=executor, lake_dir=layout.lake,
                                  quarantine_dir=layout.quarantine, tz=settings.tz)
        chunks = (prepare_chunk(transformer, con, folder) for folder in chain(ahead, folders))

        def archive_group(done: list[Prepared]) -> None:
            for chunk in done:
                assert chunk.folder is not None
                archive(layout, chunk.folder, datetime.now(settings.tz).date())

        load_stream(con, chunks, workers=workers, tally=tally, committed=archive_group)


def prepare_chunk(transformer: Transformer, con: duckdb.DuckDBPyConnection,
                  folder: Path) -> Prepared:
    """Start transforming a chunk folder unless the ledger already has its segments."""
    segments = chunk_segments(folder)
    if not segments or loaded_segments(con, [p.name for p in segments]):
        return Prepared(segments=segments, transform=None, folder=folder)
    return transformer.start(segments, folder.name, folder)


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
