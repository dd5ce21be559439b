"""Chunks transformed ahead in worker processes and streamed, in order, into load
transactions: what a batch and a rebuild share.

- with more than one chunk to do, TRANSFORM_WORKERS processes transform the next chunks
  while DuckDB loads the current one (the transform and the load share both cores, and the
  transforms' memory is not added to DuckDB's); a single chunk is transformed in a thread
  (no process start-up for the usual small batch); while worker processes run, DuckDB
  keeps to the cores they leave (`cores_left`);
- chunks load in order, each as soon as it is transformed, into one DuckLake transaction
  until it holds LOAD_GROUP_ROWS new rows: fewer, larger Parquet files and commits;
- a chunk whose load fails for its events (not for the warehouse, the disk or memory) is
  loaded again in halves, down to the one line that cannot be loaded, which is quarantined
  (#9): one event never stops the batch, and the ledger moves past it with the rest;
- `memory_limit` holds a batch to batch_memory_mb.
"""

from __future__ import annotations

import logging
import resource
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from itertools import islice
from pathlib import Path

import duckdb
import psutil

from genius_wh.chunkresult import QuarantinedLine
from genius_wh.durable import crash_point
from genius_wh.errors import GeniusWhError
from genius_wh.segments import SegmentSlice, new_chunk_id, slice_lines
from genius_wh.settings import Settings
from transform import ChunkResult
from transform.chunk import Bounds, transform_chunk
from transform.reader import quarantine_line
from transform.worker import transform_and_trim, transform_pool
from warehouse.loader import WRITER_MEMORY_MB, ChunkLoad, loading, writer_memory
from warehouse.schema import LOADED_TABLES
from warehouse.staging import Converter, staging_files

#: New rows after which a load transaction commits (and the next chunk starts a new one).
LOAD_GROUP_ROWS = 1_000_000
#: Transform worker processes when there is more than one chunk to do.
TRANSFORM_WORKERS = 2
_MIB = 1024 * 1024
#: Errors of the warehouse, the machine or the batch itself, never of one event: a load that
#: raises one is not split (the batch fails and the next one tries again).
NOT_THE_EVENT = (OSError, MemoryError, GeniusWhError, duckdb.IOException,
                 duckdb.OutOfMemoryException, duckdb.TransactionException,
                 duckdb.InterruptException, duckdb.FatalException, duckdb.InternalException,
                 duckdb.ConnectionException, duckdb.HTTPException,
                 duckdb.PermissionException)

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

    def add(self, result: ChunkResult) -> None:
        """Count one loaded chunk (its rows are counted per transaction)."""
        self.chunks += 1
        self.events += result.events
        self.quarantined += len(result.quarantined)
        self.issues += len(result.issues)

    def add_committed(self, results: Iterable[ChunkResult], rows: dict[str, int]) -> None:
        """Count the chunks of one committed transaction and the new rows it holds."""
        for result in results:
            self.add(result)
        for table, count in rows.items():
            self.rows[table] += count


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A chunk's segment slices, its transform, and where to transform its parts again
    should its load fail (None: a failed load fails the batch)."""

    slices: list[SegmentSlice]
    transform: Future[ChunkResult] | None
    transformer: Transformer | None = None


@dataclass(frozen=True, kw_only=True)
class Transformer:
    """Where chunks are transformed to: starts a chunk's transform on the executor."""

    executor: Executor
    lake_dir: Path
    quarantine_dir: Path
    tz: tzinfo
    bounds: Bounds = field(default_factory=Bounds)
    converter: Converter | None = None  # converts each chunk's staging files when done

    def start(self, slices: list[SegmentSlice], chunk_id: str) -> Prepared:
        """Submit one chunk's transform (and its staging files' conversion)."""
        future = self.executor.submit(
            transform_and_trim, slices, chunk_id=chunk_id, lake_dir=self.lake_dir,
            quarantine_dir=self.quarantine_dir, tz=self.tz, bounds=self.bounds)
        if self.converter is not None:
            future = self.converter.after(future)
        return Prepared(slices=slices, transform=future, transformer=self)

    def run(self, slices: list[SegmentSlice]) -> ChunkResult:
        """Transform slices here and now (the parts of a chunk whose load failed)."""
        return transform_chunk(slices, chunk_id=new_chunk_id(), lake_dir=self.lake_dir,
                               quarantine_dir=self.quarantine_dir, tz=self.tz,
                               bounds=self.bounds)


def bounds(settings: Settings) -> Bounds:
    """The transform's bounds from the receiver's settings."""
    return Bounds(max_json_depth=settings.max_json_depth,
                  max_recorddata_fields=settings.max_recorddata_fields)


def transform_executor(*, many: bool) -> tuple[Executor, int]:
    """Worker processes for many chunks, a thread for one; and how many run at once."""
    if many:
        return transform_pool(TRANSFORM_WORKERS), TRANSFORM_WORKERS
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform"), 1


def converter(con: duckdb.DuckDBPyConnection, workers: int) -> Converter | nullcontext[None]:
    """Staging files converted ahead of the load beside worker processes; with one chunk
    transformed in a thread, the loader converts its files itself."""
    return Converter(con) if workers > 1 else nullcontext()


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
    - Arrow, if this process has loaded it (a batch does not), allocates with the system
      malloc: its default mimalloc pool (the scheduler's children do without it:
      scheduler._job_context) maps a 1 GiB arena at its first use (a 200-event batch hit a
      1 GiB limit by that alone), and what it hands out inside that arena is never counted;
    - on leaving, the limits are put back, so the batch can still record how it failed.
    """
    if megabytes <= 0:
        yield
        return
    _arrow_system_pool()
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


def _arrow_system_pool() -> None:
    """Arrow's allocations on the system malloc, when this process has loaded Arrow."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.allocate_buffer(1)  # a mimalloc arena is mapped at first use: before the limit
        arrow.set_memory_pool(arrow.system_memory_pool())  # counted by the limit


def out_of_memory(exc: BaseException) -> bool:
    """True when the error (or one it came from) is an allocation that failed."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (MemoryError, duckdb.OutOfMemoryException)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def one_line(exc: BaseException) -> str:
    """An error's type and the first line of its message (DuckDB's run to many lines)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"


def failure_line(exc: BaseException, memory_mb: int) -> str:
    """Why a batch failed, in one line; running out of memory names the setting to raise."""
    text = one_line(exc)
    if out_of_memory(exc):
        return (f"out of memory: the batch needed more than batch_memory_mb = {memory_mb} MiB "
                f"({text}); raise batch_memory_mb or lower batch_max_events")
    return text


def load_stream(con: duckdb.DuckDBPyConnection, chunks: Iterable[Prepared], *, workers: int,
                tally: Tally,
                loaded: Callable[[ChunkResult], None] = lambda result: None,
                committed: Callable[[list[Prepared]], None] = lambda done: None,
                closing: Callable[[Tally], None] | None = None) -> None:
    """Load chunks in order, keeping `workers` transforms ahead; a transaction commits once
    it holds LOAD_GROUP_ROWS new rows (or the chunks run out).

    `chunks` is consumed lazily (a batch claims a chunk only when it is submitted);
    `loaded` is called for each chunk added to the open transaction, `committed` with the
    chunks of each committed transaction; `closing`, inside the last transaction before its
    commit, with the totals the stream ends with once it commits (a batch records its
    `_batches` row there: one commit fewer). A chunk whose load raises an error of its events
    (not NOT_THE_EVENT) is loaded again in halves (`_load_split`).
    """
    with cores_left(con, workers):
        _stream(con, chunks, workers=workers, tally=tally, loaded=loaded, committed=committed,
                closing=closing)


@contextmanager
def cores_left(con: duckdb.DuckDBPyConnection, workers: int) -> Iterator[None]:
    """DuckDB threads for a load beside `workers` transform processes (transform_executor: more
    than one means processes): the threads DuckDB would use less the workers, at least one;
    put back on leaving.

    The workers keep their cores busy, so DuckDB's own threads only contend with them: on the
    2-core machine the 1M-event bench's loader took 37 s of CPU with 2 DuckDB threads and
    26.5 s with 1, and the batch ran 10% faster (52 -> 47 s, measured 2026-12-02).
    """
    if workers <= 1:
        yield
        return
    row = con.execute("SELECT current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    con.execute(f"SET threads = {max(1, threads - workers)}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")


def _stream(con: duckdb.DuckDBPyConnection, chunks: Iterable[Prepared], *, workers: int,
            tally: Tally, loaded: Callable[[ChunkResult], None],
            committed: Callable[[list[Prepared]], None],
            closing: Callable[[Tally], None] | None) -> None:
    upcoming = iter(chunks)
    window = deque(islice(upcoming, workers + 1))
    while window:
        done: list[tuple[Prepared, ChunkResult]] = []
        failing: tuple[Prepared, ChunkResult] | None = None
        try:
            with loading(con, loaded_at=datetime.now(UTC)) as load:
                while window and sum(load.rows.values()) < LOAD_GROUP_ROWS:
                    chunk = window.popleft()
                    window.extend(islice(upcoming, 1))  # keep the workers busy
                    if chunk.transform is None:
                        continue
                    result = chunk.transform.result()
                    failing = (chunk, result)
                    load.add(result, chunk.slices)
                    failing = None
                    crash_point("before-commit")
                    loaded(result)
                    done.append((chunk, result))
                if closing is not None and not window:
                    closing(_ending(tally, done, load.rows))
        except Exception as exc:
            if failing is None or failing[0].transformer is None or not event_failure(exc):
                raise
            _recover(con, load, done, failing, exc, tally=tally, committed=committed)
            loaded(failing[1])
            continue
        _count(tally, done, load.rows, committed)


def _ending(tally: Tally, done: list[tuple[Prepared, ChunkResult]],
            rows: dict[str, int]) -> Tally:
    """The totals `tally` will hold once the open transaction (`done`, `rows`) commits."""
    ending = replace(tally, rows=dict(tally.rows))
    ending.add_committed((result for _, result in done), rows)
    return ending


def event_failure(exc: BaseException) -> bool:
    """True when a load error may come from the chunk's events (so splitting it may help)."""
    return not isinstance(exc, NOT_THE_EVENT) and not out_of_memory(exc)


def _count(tally: Tally, done: list[tuple[Prepared, ChunkResult]], rows: dict[str, int],
           committed: Callable[[list[Prepared]], None]) -> None:
    """Count committed chunks, hand them to `committed`, remove their staging files."""
    tally.add_committed((result for _, result in done), rows)
    crash_point("after-commit")
    committed([chunk for chunk, _ in done])
    for _, result in done:
        discard_files(result)


def _recover(con: duckdb.DuckDBPyConnection, load: ChunkLoad,
             done: list[tuple[Prepared, ChunkResult]], failing: tuple[Prepared, ChunkResult],
             exc: Exception, *, tally: Tally,
             committed: Callable[[list[Prepared]], None]) -> None:
    """After a chunk's load failed (its transaction rolled back): count the chunks committed
    ahead of it, load the others of its transaction again, then the failed one in halves."""
    _count(tally, done[:load.committed], load.committed_rows, committed)
    for pair in done[load.committed:]:
        with loading(con, loaded_at=datetime.now(UTC)) as again:
            again.add(pair[1], pair[0].slices)
        _count(tally, [pair], again.rows, committed)
    chunk, result = failing
    discard_files(result)
    assert chunk.transformer is not None
    _load_split(con, chunk.transformer, chunk.slices, exc, tally)
    committed([chunk])


def _load_split(con: duckdb.DuckDBPyConnection, transformer: Transformer,
                slices: list[SegmentSlice], exc: Exception, tally: Tally) -> None:
    """Load slices whose load failed with `exc` by halves, each transformed again and
    committed on its own (rows and ledger together, in order), down to one line, which is
    quarantined byte for byte with the reason; so one event can never stop a batch (#9)."""
    parts = halves(slices)
    if parts is None:
        _quarantine_alone(con, transformer, slices[0], exc, tally)
        return
    for part in parts:
        result = transformer.run(part)
        try:
            with loading(con, loaded_at=datetime.now(UTC)) as load:
                load.add(result, part)
        except Exception as again:
            discard_files(result)
            if not event_failure(again):
                raise
            _load_split(con, transformer, part, again, tally)
            continue
        tally.add_committed([result], load.rows)
        discard_files(result)


def halves(slices: list[SegmentSlice]) -> tuple[list[SegmentSlice], list[SegmentSlice]] | None:
    """A chunk's slices in two halves (by slice, else by line); None for one line."""
    if len(slices) > 1:
        middle = len(slices) // 2
        return slices[:middle], slices[middle:]
    piece = slices[0]
    ends = [piece.start]
    for line in slice_lines(piece):
        ends.append(ends[-1] + len(line))
    if len(ends) <= 2:
        return None
    middle = (len(ends) - 1) // 2
    first = SegmentSlice(path=piece.path, start=piece.start, end=ends[middle],
                         first_line=piece.first_line, sealed=piece.sealed)
    second = SegmentSlice(path=piece.path, start=ends[middle], end=piece.end,
                          first_line=piece.first_line + middle, sealed=piece.sealed)
    return [first], [second]


def _quarantine_alone(con: duckdb.DuckDBPyConnection, transformer: Transformer,
                      piece: SegmentSlice, exc: Exception, tally: Tally) -> None:
    """Keep the one spool line that cannot be loaded in the quarantine, byte for byte, and
    commit its _quarantine row with the ledger moved past it."""
    reason = f"load failed: {one_line(exc)}"[:500]
    kept: QuarantinedLine = quarantine_line(piece.path, piece.first_line,
                                            b"".join(slice_lines(piece)), reason,
                                            transformer.quarantine_dir)
    result = ChunkResult(chunk_id=new_chunk_id(), files={}, rows={}, recorddata_types={},
                         quarantined=[kept], segment_lines={piece.name: 1})
    with loading(con, loaded_at=datetime.now(UTC)) as load:
        load.add(result, [piece])
    tally.add(result)
    log.warning("segment %s line %d cannot be loaded (%s): kept in %s; the rest loads",
                piece.name, piece.first_line, reason, kept.path)


def discard_files(result: ChunkResult) -> None:
    """Remove a loaded chunk's staging files (its rows are in the warehouse now)."""
    for paths in result.files.values():
        for path in paths:
            for file in staging_files(path):
                file.unlink(missing_ok=True)
