"""`genius-wh rebuild`: a new warehouse from spool/archive/, swapped in at the end.

Under the batch lock, the archive is replayed in the chunks the ledger recorded (then what
it does not know, in name order), so the first received copy of an event wins again and
columns widen along the same path, into
a new embedded catalog `DATA_DIR/.rebuild/catalog.sqlite` whose data files go to the same
data path (their names are unique); then the new catalog replaces the old one by rename and
the old catalog's data files are deleted as orphans. A failure leaves the current warehouse
untouched. A data dir of the layout before DuckLake (`warehouse.duckdb`, `snapshots/`) is
migrated this way: its leftovers are removed once the new warehouse is in place.

A shared PostgreSQL catalog is rebuilt only when it is empty (point `catalog` at a new
database): other loaders may be writing to the one in use.
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genius_wh.archive import clear_staging
from genius_wh.durable import replace_durably
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout
from genius_wh.segments import SegmentSlice, count_lines, new_chunk_id
from genius_wh.settings import Settings
from orchestration.ledger import record_batch_row
from orchestration.pipeline import (
    BatchReport,
    Tally,
    Transformer,
    bounds,
    converter,
    load_stream,
    memory_limit,
    transform_executor,
)
from transform import ChunkResult
from warehouse.dispositions import Disposition, current_dispositions, replace_dispositions
from warehouse.erasures import erasure_rows, restore_erasures
from warehouse.errors import RebuildFailed
from warehouse.lakehouse import (
    ALIAS,
    LakeConfig,
    WarehouseUnavailable,
    detach,
    lake_config,
    open_lake,
)
from warehouse.loader import transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.schema import ensure_schema, view_options

_WORK = ".rebuild"
T = TypeVar("T")


def archived_segments(layout: DataLayout) -> list[Path]:
    """Every archived segment, in name (creation time) order."""
    if not layout.spool_archive.is_dir():
        return []
    return sorted(layout.spool_archive.glob(f"*/*{SEGMENT_SUFFIX}"), key=lambda p: p.name)


def chunked(sizes: list[tuple[T, int]], max_events: int) -> list[list[T]]:
    """Group items (in order) into chunks of about max_events lines, at least one each."""
    chunks: list[list[T]] = []
    lines = 0
    for path, size in sizes:
        if not chunks or (lines + size > max_events and lines > 0):
            chunks.append([])
            lines = 0
        chunks[-1].append(path)
        lines += size
    return chunks


@dataclass(frozen=True, kw_only=True)
class Previous:
    """What a rebuild carries over from the warehouse it replaces."""

    chunks: list[tuple[str, str, int, int]]  # chunk id, segment, end offset, end line
    erasures: dict[str, list[tuple[Any, ...]]]  # the erasure ledger (#13)
    dispositions: list[Disposition] = field(default_factory=list)  # the user's own list


def previous_state(config: LakeConfig) -> Previous:
    """The current warehouse's ledger slices, in load order, and its erasure ledger; empty
    when there is no readable warehouse."""
    try:
        with open_lake(config, read_only=True) as con:
            rows = con.execute("SELECT chunk_id, segment, end_offset, end_line FROM "
                               "_spool_ledger ORDER BY chunk_id, segment").fetchall()
            erasures = erasure_rows(con)
            dispositions = current_dispositions(con)
    except (WarehouseUnavailable, duckdb.Error):
        return Previous(chunks=[], erasures={})
    return Previous(chunks=[(str(c), str(s), int(o), int(n)) for c, s, o, n in rows],
                    erasures=erasures, dispositions=dispositions)


def plan_rebuild(archived: list[Path], ledger: list[tuple[str, str, int, int]],
                 max_events: int) -> list[list[SegmentSlice]]:
    """Chunks to replay: the original chunks' slices first (so columns widen along the same
    path as they did), then what the ledger does not know, in chunks of max_events."""
    by_name = {path.name: path for path in archived}
    chunks: dict[str, list[SegmentSlice]] = {}
    reached: dict[str, tuple[int, int]] = {}
    for chunk_id, name, end, line in sorted(ledger, key=lambda r: (r[1], r[2])):
        path = by_name.get(name)
        start, first = reached.get(name, (0, 0))
        if path is None or end <= start:
            continue
        chunks.setdefault(chunk_id, []).append(SegmentSlice(
            path=path, start=start, end=end, first_line=first + 1, sealed=True))
        reached[name] = (end, line)
    planned = [chunks[key] for key in sorted(chunks)]
    rest: list[tuple[SegmentSlice, int]] = []
    for path in archived:
        start, first = reached.get(path.name, (0, 0))
        size = path.stat().st_size
        if size > start:
            piece = SegmentSlice(path=path, start=start, end=size, first_line=first + 1,
                                 sealed=True)
            rest.append((piece, count_lines(path)))
    return planned + chunked(rest, max_events)


def rebuild(settings: Settings, *, progress: bool) -> BatchReport:
    """Rebuild the warehouse from the spool archive, then swap it in."""
    layout = DataLayout(root=settings.data_dir).ensure()
    config = lake_config(settings)
    with batch_lock(layout, blocking=True), writer_lock(config):
        clear_staging(layout)
        target = _target(config, layout)
        try:
            tally = _build(settings, layout, target, progress=progress)
        except Exception as exc:
            shutil.rmtree(layout.root / _WORK, ignore_errors=True)
            raise RebuildFailed(f"rebuild failed, the current warehouse is untouched: "
                                f"{type(exc).__name__}: {exc}") from exc
        if not config.shared:
            _swap(layout, config, target)
    return tally.report()


def _target(config: LakeConfig, layout: DataLayout) -> LakeConfig:
    """Where the new warehouse is built: a fresh embedded catalog beside the data dir, or
    the shared catalog itself when it is empty."""
    if config.shared:
        with open_lake(config, read_only=False) as con:
            tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ?",
                                 [ALIAS]).fetchone()
        if tables and tables[0]:
            raise RebuildFailed("the shared catalog already holds a warehouse; create an empty "
                                "database, point `catalog` at it and run rebuild again")
        return config
    work = layout.root / _WORK
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700)
    return LakeConfig(catalog=f"sqlite:{work / 'catalog.sqlite'}", data_path=config.data_path,
                      spill_dir=config.spill_dir)


def _build(settings: Settings, layout: DataLayout, target: LakeConfig, *,
           progress: bool) -> Tally:
    """Load every archived segment into the target warehouse (orchestration/pipeline.py)."""
    previous = previous_state(lake_config(settings))
    plan = plan_rebuild(archived_segments(layout), previous.chunks, settings.batch_max_events)
    tally = Tally()
    with open_lake(target, read_only=False) as con:
        tune_writer(con)
        with transaction(con):
            ensure_schema(con, tz=settings.timezone, views=view_options(settings))
            restore_erasures(con, previous.erasures)  # so erased people stay out
            if previous.dispositions:  # not in the archive: loaded by the user
                replace_dispositions(con, previous.dispositions, source="kept by rebuild")
        executor, workers = transform_executor(many=len(plan) > 1)
        started = datetime.now(UTC)
        with _progress(progress) as bar, executor, converter(con, workers) as convert:
            task = bar.add_task("rebuild", total=len(plan)) if bar else None

            def advance(result: ChunkResult) -> None:
                if bar is not None and task is not None:
                    bar.advance(task, 1)

            transformer = Transformer(executor=executor, lake_dir=layout.staging,
                                      quarantine_dir=layout.quarantine, tz=settings.tz,
                                      bounds=bounds(settings), converter=convert)
            chunks = (transformer.start(group, new_chunk_id()) for group in plan)
            with memory_limit(con, settings.batch_memory_mb):
                load_stream(con, chunks, workers=workers, tally=tally, loaded=advance)
        with transaction(con):
            record_batch_row(con, started, tally, outcome="rebuild", message=None)
        detach(con)  # the new catalog closed and checkpointed before it is renamed
    return tally


def _progress(enabled: bool) -> Progress | nullcontext[None]:
    if not enabled:
        return nullcontext()
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("chunks"), TimeElapsedColumn(),
                    console=Console(stderr=True))


def _swap(layout: DataLayout, config: LakeConfig, target: LakeConfig) -> None:
    """Put the rebuilt catalog in place (rename), then delete the old catalog's data files
    and what the layout before DuckLake left."""
    current, built = config.sqlite_file, target.sqlite_file
    assert current is not None and built is not None
    for suffix in ("-wal", "-shm"):
        Path(f"{current}{suffix}").unlink(missing_ok=True)
    replace_durably(built, current)
    shutil.rmtree(layout.root / _WORK, ignore_errors=True)
    with open_lake(config, read_only=False) as con:
        con.execute(f"CALL ducklake_delete_orphaned_files({ALIAS!r}, cleanup_all => true)")
    for legacy in (layout.legacy_warehouse, Path(f"{layout.legacy_warehouse}.wal")):
        legacy.unlink(missing_ok=True)
    shutil.rmtree(layout.root / "snapshots", ignore_errors=True)
    _remove_legacy_lake(layout)


def _remove_legacy_lake(layout: DataLayout) -> None:
    """The lake/<table>/date=... staging files of the layout before DuckLake."""
    if not layout.lake.is_dir():
        return
    for entry in layout.lake.iterdir():
        if entry.is_dir() and entry.name != "main" and any(entry.glob("date=*")):
            shutil.rmtree(entry, ignore_errors=True)


__all__ = ["rebuild"]
