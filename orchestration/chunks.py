"""The chunk protocol on the spool: what is left to load of each ready and open segment
(from the ledger's positions), chunks of it, archiving once a sealed segment is loaded to
its end, the archive retention. The folder a segment sits in is its state; how far it was
loaded is in the warehouse's `_spool_ledger`, committed with the rows."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson

from genius_wh.durable import atomic_write, crash_point, fsync_path
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout
from genius_wh.segments import (
    SegmentSlice,
    complete_end,
    count_slice_lines,
    list_open,
    list_ready,
)
from warehouse.loader import Position


def plan_slices(ready: list[Path], live: list[Path],
                positions: dict[str, Position]) -> list[SegmentSlice]:
    """What is left to load of each ready (sealed) and open (live) segment, from where the
    ledger says it was loaded up to; empty slices are left out."""
    slices: list[SegmentSlice] = []
    for paths, sealed in ((ready, True), (live, False)):
        for path in paths:
            known = positions.get(path.name)
            start = known.offset if known else 0
            try:
                end = complete_end(path, start, sealed=sealed)
            except FileNotFoundError:
                continue  # sealed or archived meanwhile: the next batch sees it
            if end > start:
                slices.append(SegmentSlice(path=path, start=start, end=end, sealed=sealed,
                                           first_line=(known.line if known else 0) + 1))
    return sorted(slices, key=lambda piece: piece.name)


def sort_ready(ready: list[Path],
               positions: dict[str, Position]) -> tuple[list[Path], list[Path]]:
    """The ready segments split by what the ledger says of their names: those left to load,
    and those loaded to their end (to archive).

    A segment that cannot be the file the ledger knows by its name gets a fresh name first
    (its stamp kept): one copied or restored into ready/ under the name of another loaded
    earlier. A segment loaded sealed never changes size, and one loaded while open only
    grows, so another size (smaller than the loaded part, or not equal to a sealed one) is
    another file. Under the old name it would be read from the other file's end offset (the
    lines before it never loaded) and archived over it; under a new one it loads from its
    first line, and events already loaded are dropped by event_id like any redelivery."""
    to_load, loaded = [], []
    for path in ready:
        known = positions.get(path.name)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue  # archived by a batch that was killed after the move
        if known is not None and size == known.offset:
            loaded.append(path)
        elif known is None or (size > known.offset and not known.sealed):
            to_load.append(path)
        else:
            fresh = path.with_name(f"{path.stem}-{secrets.token_hex(3)}{SEGMENT_SUFFIX}")
            os.replace(path, fresh)
            fsync_path(path.parent)
            to_load.append(fresh)
    return to_load, loaded


def iter_chunks(slices: list[SegmentSlice], max_events: int) -> Iterator[list[SegmentSlice]]:
    """Chunks of about max_events lines (a slice is never split), counted lazily."""
    current: list[SegmentSlice] = []
    lines = 0
    for piece in slices:
        try:
            count = count_slice_lines(piece)
        except FileNotFoundError:
            continue
        if current and lines + count > max_events:
            yield current
            current, lines = [], 0
        current.append(piece)
        lines += count
    if current:
        yield current


def recover_working(layout: DataLayout) -> None:
    """Put segments a batch of the earlier layout left in spool/working/ back in ready/."""
    if not layout.spool_working.is_dir():
        return
    for folder in sorted(p for p in layout.spool_working.iterdir() if p.is_dir()):
        for path in sorted(folder.glob(f"*{SEGMENT_SUFFIX}")):
            os.replace(path, layout.spool_ready / path.name)
        fsync_path(layout.spool_ready)
        shutil.rmtree(folder, ignore_errors=True)


def archive(layout: DataLayout, paths: list[Path], day: date) -> None:
    """Move fully loaded ready segments to spool/archive/<day>/."""
    if not paths:
        return
    target = layout.spool_archive / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            os.replace(path, target / path.name)
        except FileNotFoundError:
            continue  # archived by a batch that was killed after the move
        crash_point("during-archive")
    fsync_path(target)
    fsync_path(layout.spool_ready)


#: Open segments' sizes as of the last committed batch: a hint (never ahead of the ledger)
#: that lets a batch with nothing new return without opening the warehouse.
_HINT = ".loaded-sizes.json"


def nothing_new(layout: DataLayout) -> bool:
    """True when no ready segment waits and no open one grew since the last batch."""
    if list_ready(layout):
        return False
    try:
        hint = orjson.loads((layout.spool / _HINT).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        hint = {}
    for path in list_open(layout):
        try:
            if path.stat().st_size != hint.get(path.name):
                return False
        except FileNotFoundError:
            return False
    return True


def remember_loaded(layout: DataLayout, live: list[Path], positions: dict[str, Position],
                    slices: list[SegmentSlice]) -> None:
    """Record how far each open segment is loaded once the batch committed (nothing_new)."""
    loaded = {name: position.offset for name, position in positions.items()}
    loaded.update({piece.name: piece.end for piece in slices})
    sizes = {path.name: loaded[path.name] for path in live if path.name in loaded}
    atomic_write(layout.spool / _HINT, orjson.dumps(sizes))





