"""`genius-wh rebuild`: a new warehouse and lake from spool/archive/, swapped in at the end.

Under the batch lock, segments of the archive are replayed in their original chunks (from
the ledger of the newest snapshot; oldest first, so the first received copy of an event wins
again and columns widen along the same path) into DATA_DIR/.rebuild/; then
the new lake and warehouse.duckdb replace the old ones by rename and a snapshot is published.
"""

from __future__ import annotations

import os
import shutil
from contextlib import nullcontext
from pathlib import Path

import duckdb
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from genius_wh.durable import fsync_path
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout
from genius_wh.segments import count_lines
from genius_wh.settings import Settings
from transform import ChunkResult
from warehouse.chunks import new_chunk_id
from warehouse.errors import RebuildFailed
from warehouse.ledger import finish_batch, start_batch
from warehouse.loader import open_writer
from warehouse.locks import batch_lock
from warehouse.pipeline import (
    BatchReport,
    Tally,
    Transformer,
    load_stream,
    transform_executor,
)
from warehouse.schema import ensure_schema
from warehouse.snapshots import newest_snapshot, publish_snapshot


def archived_segments(layout: DataLayout) -> list[Path]:
    """Every archived segment, in name (creation time) order."""
    if not layout.spool_archive.is_dir():
        return []
    return sorted(layout.spool_archive.glob(f"*/*{SEGMENT_SUFFIX}"), key=lambda p: p.name)


def previous_chunks(layout: DataLayout) -> dict[str, str]:
    """Segment name -> chunk id from the ledger of the newest snapshot (empty if none)."""
    snapshot = newest_snapshot(layout)
    if snapshot is None:
        return {}
    try:
        with duckdb.connect(str(snapshot), read_only=True) as con:
            rows = con.execute("SELECT segment, chunk_id FROM _loaded_segments").fetchall()
    except duckdb.Error:
        return {}
    return {str(segment): str(chunk) for segment, chunk in rows}


def plan_rebuild(sizes: list[tuple[Path, int]], known: dict[str, str],
                 max_events: int) -> list[tuple[str | None, list[Path]]]:
    """Chunks to replay: the original chunks (by chunk id, so columns widen along the same
    path and lake files keep their names), then unknown segments in chunks of max_events."""
    by_chunk: dict[str, list[Path]] = {}
    unknown: list[tuple[Path, int]] = []
    for path, count in sizes:
        chunk = known.get(path.name)
        if chunk is None:
            unknown.append((path, count))
        else:
            by_chunk.setdefault(chunk, []).append(path)
    planned: list[tuple[str | None, list[Path]]] = sorted(by_chunk.items())
    return planned + [(None, group) for group in chunked(unknown, max_events)]


def chunked(sizes: list[tuple[Path, int]], max_events: int) -> list[list[Path]]:
    """Group segments (in order) into chunks of about max_events lines, at least one each."""
    chunks: list[list[Path]] = []
    lines = 0
    for path, count in sizes:
        if not chunks or (lines + count > max_events and lines > 0):
            chunks.append([])
            lines = 0
        chunks[-1].append(path)
        lines += count
    return chunks


def rebuild(settings: Settings, *, progress: bool) -> BatchReport:
    """Rebuild lake and warehouse from the spool archive, then swap them in."""
    layout = DataLayout(root=settings.data_dir).ensure()
    with batch_lock(layout, blocking=True):
        work = DataLayout(root=layout.root / ".rebuild")
        shutil.rmtree(work.root, ignore_errors=True)
        work.lake.mkdir(parents=True)
        try:
            tally = _build(settings, layout, work, progress=progress)
        except Exception as exc:
            shutil.rmtree(work.root, ignore_errors=True)
            raise RebuildFailed(f"rebuild failed, the current warehouse is untouched: "
                                f"{type(exc).__name__}: {exc}") from exc
        _swap(layout, work)
    return tally.report()


def _build(settings: Settings, layout: DataLayout, work: DataLayout, *,
           progress: bool) -> Tally:
    """Load every archived segment into the warehouse under `work` (warehouse/pipeline.py)."""
    sizes = [(path, count_lines(path)) for path in archived_segments(layout)]
    plan = plan_rebuild(sizes, previous_chunks(layout), settings.batch_max_events)
    tally = Tally()
    con = open_writer(work.warehouse, wait_seconds=0)
    try:
        ensure_schema(con, tz=settings.timezone)
        batch_id = start_batch(con)
        executor, workers = transform_executor(many=len(plan) > 1)
        with _progress(progress) as bar, executor:
            task = bar.add_task("rebuild", total=sum(c for _, c in sizes)) if bar else None

            def advance(result: ChunkResult) -> None:
                if bar is not None and task is not None:
                    bar.advance(task, result.events + len(result.quarantined))

            transformer = Transformer(executor=executor, lake_dir=work.lake,
                                      quarantine_dir=layout.quarantine, tz=settings.tz)
            chunks = (transformer.start(segments, chunk_id or new_chunk_id())
                      for chunk_id, segments in plan)
            load_stream(con, chunks, workers=workers, tally=tally, loaded=advance)
        finish_batch(con, batch_id, tally, outcome="rebuild", message=None)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return tally


def _progress(enabled: bool) -> Progress | nullcontext[None]:
    if not enabled:
        return nullcontext()
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("events"), TimeElapsedColumn())


def _swap(layout: DataLayout, work: DataLayout) -> None:
    """Replace lake and warehouse with the rebuilt ones (renames), publish a snapshot."""
    old_lake = work.root / "lake.old"
    if layout.lake.exists():
        os.replace(layout.lake, old_lake)
    os.replace(work.lake, layout.lake)
    layout.warehouse.with_name(layout.warehouse.name + ".wal").unlink(missing_ok=True)
    os.replace(work.warehouse, layout.warehouse)
    fsync_path(layout.root)
    shutil.rmtree(work.root, ignore_errors=True)
    publish_snapshot(layout)
