"""Chunks transformed ahead in worker processes and streamed, in order, into load
transactions: what a batch and a rebuild share.

- with more than one chunk to do, TRANSFORM_WORKERS processes transform the next chunks
  while DuckDB loads the current one (the transform and the load share both cores, and the
  transforms' memory is not added to DuckDB's); a single chunk is transformed in a thread
  (no process start-up for the usual small batch);
- chunks load in order, each as soon as it is transformed, into one DuckLake transaction
  until it holds LOAD_GROUP_ROWS new rows: fewer, larger Parquet files and commits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import islice
from pathlib import Path

import duckdb

from genius_wh.durable import crash_point
from genius_wh.segments import SegmentSlice
from genius_wh.settings import Settings
from transform import ChunkResult
from transform.chunk import Bounds
from transform.worker import transform_and_trim, transform_pool
from warehouse.loader import loading
from warehouse.schema import LOADED_TABLES

#: New rows after which a load transaction commits (and the next chunk starts a new one).
LOAD_GROUP_ROWS = 1_000_000
#: Transform worker processes when there is more than one chunk to do.
TRANSFORM_WORKERS = 2


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

    def add(self, result: ChunkResult) -> None:
        """Count one loaded chunk (its rows are counted per transaction)."""
        self.chunks += 1
        self.events += result.events
        self.quarantined += len(result.quarantined)
        self.issues += len(result.issues)


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A chunk's segment slices and its transform."""

    slices: list[SegmentSlice]
    transform: Future[ChunkResult] | None


@dataclass(frozen=True, kw_only=True)
class Transformer:
    """Where chunks are transformed to: starts a chunk's transform on the executor."""

    executor: Executor
    lake_dir: Path
    quarantine_dir: Path
    tz: tzinfo
    bounds: Bounds = field(default_factory=Bounds)

    def start(self, slices: list[SegmentSlice], chunk_id: str) -> Prepared:
        """Submit one chunk's transform."""
        future = self.executor.submit(
            transform_and_trim, slices, chunk_id=chunk_id, lake_dir=self.lake_dir,
            quarantine_dir=self.quarantine_dir, tz=self.tz, bounds=self.bounds)
        return Prepared(slices=slices, transform=future)


def bounds(settings: Settings) -> Bounds:
    """The transform's bounds from the receiver's settings."""
    return Bounds(max_json_depth=settings.max_json_depth,
                  max_recorddata_fields=settings.max_recorddata_fields)


def transform_executor(*, many: bool) -> tuple[Executor, int]:
    """Worker processes for many chunks, a thread for one; and how many run at once."""
    if many:
        return transform_pool(TRANSFORM_WORKERS), TRANSFORM_WORKERS
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform"), 1


def load_stream(con: duckdb.DuckDBPyConnection, chunks: Iterable[Prepared], *, workers: int,
                tally: Tally,
                loaded: Callable[[ChunkResult], None] = lambda result: None,
                committed: Callable[[list[Prepared]], None] = lambda done: None) -> None:
    """Load chunks in order, keeping `workers` transforms ahead; a transaction commits once
    it holds LOAD_GROUP_ROWS new rows (or the chunks run out).

    `chunks` is consumed lazily (a batch claims a chunk only when it is submitted);
    `loaded` is called for each chunk added to the open transaction, `committed` with the
    chunks of each committed transaction.
    """
    group_rows = LOAD_GROUP_ROWS
    upcoming = iter(chunks)
    window = deque(islice(upcoming, workers + 1))
    while window:
        done: list[Prepared] = []
        results: list[ChunkResult] = []
        with loading(con, loaded_at=datetime.now(UTC)) as load:
            while window and sum(load.rows.values()) < group_rows:
                chunk = window.popleft()
                window.extend(islice(upcoming, 1))  # keep the workers busy
                if chunk.transform is not None:
                    result = chunk.transform.result()
                    load.add(result, chunk.slices)
                    crash_point("before-commit")
                    results.append(result)
                    loaded(result)
                done.append(chunk)
        for result in results:  # counted once committed
            tally.add(result)
        for table, count in load.rows.items():
            tally.rows[table] += count
        crash_point("after-commit")
        committed(done)
        for result in results:
            discard_files(result)


def discard_files(result: ChunkResult) -> None:
    """Remove a loaded chunk's staging files (its rows are in the warehouse now)."""
    for paths in result.files.values():
        for path in paths:
            path.unlink(missing_ok=True)
