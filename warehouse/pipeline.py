"""Chunks transformed ahead in worker processes and streamed, in order, into load
transactions: what a batch and a rebuild share.

- with more than one chunk to do, TRANSFORM_WORKERS processes transform the next chunks
  while DuckDB loads the current one (the transform and the load share both cores, and the
  transforms' memory is not added to DuckDB's); a single chunk is transformed in a thread
  (no process start-up for the usual small batch);
- chunks load in order, each as soon as it is transformed, into one transaction until it
  holds LOAD_GROUP_ROWS new rows: the big tables' new rows then fill DuckDB row groups,
  which DuckDB writes straight into the database file, instead of into the WAL and again at
  the checkpoint.
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

from transform import ChunkResult
from transform.worker import transform_and_trim, transform_pool
from warehouse.loader import loading
from warehouse.schema import LOADED_TABLES

#: New rows after which a load transaction commits (and the next chunk starts a new one).
#: Loading 1M mixed events took 25 s with one transaction per 100,000-event chunk, 15 s in
#: one. The bound is memory: DuckDB keeps the transaction's primary-key entries in memory,
#: and 1.2M new rows (600,000 SessionEnded events) filled the writer's 256 MiB.
LOAD_GROUP_ROWS = 1_500_000
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
    """A chunk's segments and its transform (None: nothing to load, already in the ledger)."""

    segments: list[Path]
    transform: Future[ChunkResult] | None
    folder: Path | None = None  # a batch's spool/working/<chunk_id>/ folder


@dataclass(frozen=True, kw_only=True)
class Transformer:
    """Where chunks are transformed to: starts a chunk's transform on the executor."""

    executor: Executor
    lake_dir: Path
    quarantine_dir: Path
    tz: tzinfo

    def start(self, segments: list[Path], chunk_id: str, folder: Path | None = None) -> Prepared:
        """Submit one chunk's transform."""
        future = self.executor.submit(
            transform_and_trim, segments, chunk_id=chunk_id, lake_dir=self.lake_dir,
            quarantine_dir=self.quarantine_dir, tz=self.tz)
        return Prepared(segments=segments, transform=future, folder=folder)


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
        with loading(con, loaded_at=datetime.now(UTC), new_rows=group_rows) as load:
            while window and sum(load.rows.values()) < group_rows:
                chunk = window.popleft()
                window.extend(islice(upcoming, 1))  # keep the workers busy
                if chunk.transform is not None:
                    result = chunk.transform.result()
                    load.add(result, chunk.segments)
                    results.append(result)
                    loaded(result)
                done.append(chunk)
        for result in results:  # counted once committed
            tally.add(result)
        for table, count in load.rows.items():
            tally.rows[table] += count
        committed(done)
