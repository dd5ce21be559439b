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

import resource
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import islice
from pathlib import Path

import duckdb
import psutil
import pyarrow as pa

from genius_wh.durable import crash_point
from genius_wh.segments import SegmentSlice
from genius_wh.settings import Settings
from transform import ChunkResult
from transform.chunk import Bounds
from transform.worker import transform_and_trim, transform_pool
from warehouse.loader import WRITER_MEMORY_MB, loading, writer_memory
from warehouse.schema import LOADED_TABLES

#: New rows after which a load transaction commits (and the next chunk starts a new one).
LOAD_GROUP_ROWS = 1_000_000
#: Transform worker processes when there is more than one chunk to do.
TRANSFORM_WORKERS = 2
_MIB = 1024 * 1024


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


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, megabytes: int) -> Iterator[None]:
    """Hold the transform and load to `megabytes` MiB (setting batch_memory_mb; 0: no limit).

    - the OS limit is RLIMIT_DATA (private writable memory, which is what malloc, Arrow and
      DuckDB's allocator take; RLIMIT_AS would also count the mapped code and reservations)
      set to what this process holds now plus `megabytes`: past it an allocation fails in
      this process alone (MemoryError, DuckDB's OutOfMemoryException), instead of the kernel's
      OOM killer ending some process, the receiver perhaps;
    - transform workers started inside inherit the limit (each is a process of its own);
    - DuckDB's memory_limit is half of it, so DuckDB spills before the OS limit is reached;
    - Arrow's default mimalloc pool maps a 1 GiB arena at its first use (a 200-event batch
      hit a 1 GiB limit by it alone), so it is used once before the limit is measured;
    - on leaving, the limits are put back, so the batch can still record how it failed.
    """
    if megabytes <= 0:
        yield
        return
    pa.allocate_buffer(1)  # Arrow's mimalloc maps its arena at first use: before the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = psutil.Process().memory_info().data + megabytes * _MIB
    limit = min(x for x in (limit, soft, hard) if x != resource.RLIM_INFINITY)
    writer_memory(con, max(1, megabytes // 2))
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
        writer_memory(con, WRITER_MEMORY_MB)


def out_of_memory(exc: BaseException) -> bool:
    """True when the error (or one it came from) is an allocation that failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (MemoryError, duckdb.OutOfMemoryException)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def failure_line(exc: BaseException, memory_mb: int) -> str:
    """Why a batch failed, in one line; running out of memory names the setting to raise."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"
    if out_of_memory(exc):
        return (f"out of memory: the batch needed more than batch_memory_mb = {memory_mb} MiB "
                f"({text}); raise batch_memory_mb or lower batch_max_events")
    return text


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
