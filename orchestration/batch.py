"""One batch: seal abandoned segments, find what is left to load of every ready and open
segment from the ledger, transform, load exactly once, archive (docs/DESIGN.md, "Chunks,
exactly once"). Readers see each commit at once: there is nothing to publish."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path

import duckdb

from genius_wh.archive import apply_retention, clear_staging
from genius_wh.durable import crash_point, fsync_path
from genius_wh.gauges import record_batch
from genius_wh.layout import ERASE_JOURNAL, DataLayout
from genius_wh.segments import (
    SegmentSlice,
    list_open,
    list_ready,
    new_chunk_id,
    seal_abandoned,
    segment_created,
)
from genius_wh.settings import Settings
from orchestration.chunks import (
    archive,
    iter_chunks,
    nothing_new,
    plan_slices,
    recover_working,
    remember_loaded,
    sort_ready,
)
from orchestration.ledger import record_batch_row
from orchestration.pipeline import (
    BatchReport,
    Prepared,
    Tally,
    Transformer,
    bounds,
    converter,
    failure_line,
    load_stream,
    memory_limit,
    one_line,
    transform_executor,
)
from warehouse.errors import BatchFailed, WarehouseBusy
from warehouse.forget import finish_erasure
from warehouse.lakehouse import LakeConfig, detach, lake_config, open_lake
from warehouse.loader import ledger_positions, transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.maintain import refresh_summaries
from warehouse.schema import ensure_schema, view_options

log = logging.getLogger(__name__)

def run_batch(settings: Settings) -> BatchReport:
    """Run one batch now (what `genius-wh batch` and the scheduled job call): every event
    answered 200 before it started is loaded, open segments of live receivers included."""
    layout = DataLayout(root=settings.data_dir).ensure()
    with batch_lock(layout) as held:
        if not held:
            return BatchReport(skipped="another batch is running")
        seal_abandoned(layout)
        recover_working(layout)
        if nothing_new(layout) and not (layout.root / ERASE_JOURNAL).exists():
            _record_metrics(layout, Tally(), ok=True)
            return BatchReport()
        clear_staging(layout)
        config = lake_config(settings)
        create_embedded(config, settings)
        with writer_lock(config):
            con = open_lake(config, read_only=False)
            try:
                return _run_open(settings, layout, con)
            finally:
                con.close()


def _run_open(settings: Settings, layout: DataLayout,
              con: duckdb.DuckDBPyConnection) -> BatchReport:
    """The batch proper, under the writer locks, with the warehouse attached for writing."""
    tune_writer(con)
    apply_schema(con, settings)
    finish_erasure(con, layout)  # an erasure killed between its commit and its renames
    ready, live = list_ready(layout), list_open(layout)
    positions = ledger_positions(con, [p.name for p in ready + live])
    to_load, loaded = sort_ready(ready, positions)
    archive(layout, loaded, datetime.now(settings.tz).date())
    slices = plan_slices(to_load, live, positions)
    tally = Tally()
    if not slices:
        remember_loaded(layout, live, positions, slices)
        _record_metrics(layout, tally, ok=True)
        return tally.report()
    started = datetime.now(UTC)
    recorded: list[str] = []

    def record_ok(ending: Tally) -> None:  # in the last load transaction, before its commit
        recorded.append(record_batch_row(con, started, ending, outcome="ok", message=None))

    try:
        with memory_limit(con, settings.batch_memory_mb):
            load_pending(settings, layout, con, slices, tally, closing=record_ok)
    except Exception as exc:
        message = f"batch failed: {failure_line(exc, settings.batch_memory_mb)}"
        _record_failure(con, layout, started, tally, message)
        raise BatchFailed(f"{message} (nothing of the failed chunk was committed; the next "
                          "batch loads it again)") from exc
    if not recorded:  # the last transaction ended in recovering a failing chunk
        with transaction(con):
            record_batch_row(con, started, tally, outcome="ok", message=None)
    crash_point("after-batch-row")
    remember_loaded(layout, live, positions, slices)
    _record_metrics(layout, tally, ok=True)
    apply_retention(layout, datetime.now(settings.tz).date(), settings.archive_retention_days)
    summarise_dirty(con, settings)
    return tally.report()


def summarise_dirty(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Summarise again, now, the days whose summaries late rows made dirty (and any day
    settled since the last `maintain`), in a transaction of their own after the load's.

    Until then the views compute a dirty day live as well as today: at 5M events
    `v_ofcom_compliance` 1.05 s and `v_agent_daily` 1.11 s with one dirty day, against
    0.6-0.8 s. Late rows are rare (a replay, a receiver back from an outage), so most
    batches only look. A failure leaves the days to the next `maintain`, the views exact."""
    row = con.execute("SELECT count(*) FROM _summary_dirty").fetchone()
    if not row or not row[0]:
        return
    try:
        refresh_summaries(con, settings)
    except duckdb.Error as exc:
        log.warning("the days late rows changed are summarised at the next maintain (%s)",
                    one_line(exc))


def create_embedded(config: LakeConfig, settings: Settings) -> None:
    """Create a missing embedded catalog whole: built under a temporary name with every
    table and view, then renamed, so a reader never finds a catalog without its tables."""
    final = config.sqlite_file
    if final is None or (final.is_file() and final.stat().st_size > 0):
        return
    layout = DataLayout(root=settings.data_dir)
    loaded = next(layout.spool_archive.glob("*/*.jsonl"), None)
    if loaded is not None or layout.legacy_warehouse.exists():
        # an empty warehouse over a spool that says data was loaded would silently hold
        # only what comes next (#9)
        raise BatchFailed(f"the warehouse catalog {final} is missing, but this data dir has "
                          "loaded data (spool/archive/ or the earlier warehouse.duckdb); run "
                          "`genius-wh rebuild` to build the warehouse again from the archive")
    building = final.with_name(final.name + ".new")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    with open_lake(replace(config, catalog=f"sqlite:{building}"), read_only=False) as con:
        apply_schema(con, settings)
        detach(con)
    os.replace(building, final)
    fsync_path(final.parent)


def apply_schema(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create or update the fixed schema (its own small transaction, only when it changed)."""
    with transaction(con):
        ensure_schema(con, tz=settings.timezone, views=view_options(settings))


def _record_failure(con: duckdb.DuckDBPyConnection, layout: DataLayout, started: datetime,
                    tally: Tally, message: str) -> None:
    """Record a failed batch in _batches and /metrics (best effort: the warehouse itself
    may be what failed, and the original error must reach the caller)."""
    _record_metrics(layout, tally, ok=False)
    try:
        with transaction(con):
            record_batch_row(con, started, tally, outcome="failed", message=message)
    except (duckdb.Error, OSError) as exc:
        log.error("could not record the failed batch: %s", exc)


def load_pending(settings: Settings, layout: DataLayout, con: duckdb.DuckDBPyConnection,
                 slices: list[SegmentSlice], tally: Tally,
                 closing: Callable[[Tally], None] | None = None) -> None:
    """Transform and load the slices chunk by chunk (orchestration/pipeline.py); once a group
    commits, its sealed segments that are loaded to their end move to the archive; `closing`
    runs in the last transaction (load_stream)."""
    chunks = iter_chunks(slices, settings.batch_max_events)
    ahead = list(islice(chunks, 2))
    executor, workers = transform_executor(many=len(ahead) > 1)
    with executor, converter(con, workers) as convert:
        transformer = Transformer(executor=executor, lake_dir=layout.staging,
                                  quarantine_dir=layout.quarantine, tz=settings.tz,
                                  bounds=bounds(settings), converter=convert)
        prepared = (transformer.start(group, new_chunk_id()) for group in chain(ahead, chunks))

        def archive_group(done: list[Prepared]) -> None:
            for chunk in done:
                tally.oldest = min(filter(None, [tally.oldest, *map(_slice_time, chunk.slices)]),
                                   default=None)
            finished = [p.path for chunk in done for p in chunk.slices if p.sealed]
            archive(layout, finished, datetime.now(settings.tz).date())

        load_stream(con, prepared, workers=workers, tally=tally, committed=archive_group,
                    closing=closing)


def _slice_time(piece: SegmentSlice) -> float | None:
    created = segment_created(piece.path)
    return created.timestamp() if created is not None else None


def _record_metrics(layout: DataLayout, tally: Tally, *, ok: bool) -> None:
    """Hand batch lag and rows loaded to /metrics (genius_wh/gauges.py)."""
    lag = max(0.0, time.time() - tally.oldest) if tally.oldest else 0.0
    record_batch(layout.root, lag_seconds=lag, rows_loaded=tally.rows, ok=ok)


__all__ = ["BatchReport", "WarehouseBusy", "run_batch"]
