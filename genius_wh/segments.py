"""Spool segments: names, the open/ready protocol, sealing abandoned segments, listing.

- a receiver process appends to `spool/open/<name>.jsonl` and holds an exclusive flock on it
  for the segment's whole life;
- `<name>` = `<UTC yyyymmddTHHMMSSffffff>-<hostname>-<pid>-<seq>`: sortable by creation time,
  unique across hosts, processes and the segments of one process;
- sealing is `os.replace` from `open/` to `ready/` (atomic on one filesystem);
- a segment in `open/` whose flock can be taken belongs to a dead process: `seal_abandoned`
  moves it to `ready/` while holding that flock, so a live writer is never robbed.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from genius_wh.durable import fsync_path, open_private
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout

_SEQUENCE = itertools.count(1)


def _host() -> str:
    """Host name made safe for a file name (no dots or dashes inside a field)."""
    raw = socket.gethostname().split(".")[0] or "host"
    return "".join(c if c.isalnum() else "_" for c in raw)


#: How a segment name starts: its UTC creation time.
NAME_STAMP = "%Y%m%dT%H%M%S%f"


def segment_created(path: Path) -> datetime | None:
    """The UTC creation time a segment's name starts with, or None for a foreign name."""
    try:
        return datetime.strptime(path.name.split("-", 1)[0], NAME_STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def segment_name(now: datetime | None = None) -> str:
    """A new segment file name, unique per host, process and call, sortable by time."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    stamp = moment.strftime(NAME_STAMP)
    return f"{stamp}-{_host()}-{os.getpid()}-{next(_SEQUENCE):06d}{SEGMENT_SUFFIX}"


def create_locked(layout: DataLayout, name: str) -> int:
    """Create open/<name> already flocked (made under a hidden name, then renamed)."""
    hidden = layout.spool_open / f".{name}.new"
    fd = open_private(hidden, os.O_WRONLY | os.O_EXCL | os.O_APPEND)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(hidden, layout.spool_open / name)
        fsync_path(layout.spool_open)
    except OSError:
        os.close(fd)
        hidden.unlink(missing_ok=True)
        raise
    return fd


def try_lock(fd: int) -> bool:
    """Take an exclusive non-blocking flock on fd; False when another holder has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def seal(path: Path, layout: DataLayout) -> Path:
    """Move one open segment to ready/ (atomic rename) and return its new path."""
    target = layout.spool_ready / path.name
    os.replace(path, target)
    fsync_path(layout.spool_ready)
    fsync_path(path.parent)
    return target


def seal_abandoned(layout: DataLayout) -> list[Path]:
    """Move to ready/ every open segment whose writer is gone (its flock can be taken)."""
    sealed: list[Path] = []
    layout.spool_ready.mkdir(parents=True, exist_ok=True)
    if not layout.spool_open.is_dir():
        return sealed
    for path in sorted(layout.spool_open.glob(f"*{SEGMENT_SUFFIX}")):
        moved = _seal_if_abandoned(path, layout)
        if moved is not None:
            sealed.append(moved)
    return sealed


def _seal_if_abandoned(path: Path, layout: DataLayout) -> Path | None:
    """Seal `path` when its flock can be taken; None when it is live or already gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None  # sealed by its writer or another batch meanwhile
    try:
        if not try_lock(fd):
            return None
        if not path.exists():
            return None  # the lock was taken on a file that was moved just before
        if os.fstat(fd).st_size == 0:
            path.unlink()
            return None
        return seal(path, layout)
    finally:
        os.close(fd)


def list_ready(layout: DataLayout) -> list[Path]:
    """Sealed segments waiting for a batch, oldest first (by name)."""
    if not layout.spool_ready.is_dir():
        return []
    return sorted(layout.spool_ready.glob(f"*{SEGMENT_SUFFIX}"), key=lambda p: p.name)


def count_lines(path: Path) -> int:
    """Newline-terminated lines of a segment."""
    return count_slice_lines(whole_segment(path))


@dataclass(frozen=True, kw_only=True)
class SegmentSlice:
    """The part of a segment a chunk takes: bytes [start, end), whose first line is number
    `first_line` (1-based) of the segment. `sealed`: the segment is in ready/, so its end is
    the end of the file (a tail without newline is a torn line); an open segment's slice ends
    at its last complete line."""

    path: Path
    start: int
    end: int
    first_line: int
    sealed: bool

    @property
    def name(self) -> str:
        return self.path.name


def complete_end(path: Path, start: int, *, sealed: bool) -> int:
    """Where a slice of `path` from `start` ends: the file's end when sealed, else just after
    its last newline (a line still being written by a live receiver is left for later)."""
    size = os.stat(path).st_size
    if sealed or size <= start:
        return max(size, start)
    with path.open("rb") as handle:
        position = size
        while position > start:
            step = min(1 << 16, position - start)
            handle.seek(position - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                return position - step + newline + 1
            position -= step
    return start


def _open_slice(piece: SegmentSlice) -> BinaryIO:
    """The slice's segment, opened at its start (one sealed meanwhile is read from ready/)."""
    try:
        handle = piece.path.open("rb")
    except FileNotFoundError:
        handle = (piece.path.parent.parent / "ready" / piece.path.name).open("rb")
    handle.seek(piece.start)
    return handle


def slice_lines(piece: SegmentSlice) -> Iterator[bytes]:
    """The lines of one slice, each with its newline (a torn last one without), streamed."""
    with _open_slice(piece) as handle:
        remaining = piece.end - piece.start
        while remaining > 0:
            line = handle.readline(remaining)
            if not line:
                return
            remaining -= len(line)
            yield line


def count_slice_lines(piece: SegmentSlice) -> int:
    """Newline-terminated lines of one slice, read in blocks."""
    count = 0
    with _open_slice(piece) as handle:
        remaining = piece.end - piece.start
        while remaining > 0 and (block := handle.read(min(1 << 20, remaining))):
            remaining -= len(block)
            count += block.count(b"\n")
    return count


def list_open(layout: DataLayout) -> list[Path]:
    """Segments receivers are appending to now, oldest first (by name)."""
    if not layout.spool_open.is_dir():
        return []
    return sorted(layout.spool_open.glob(f"*{SEGMENT_SUFFIX}"), key=lambda p: p.name)


def whole_segment(path: Path) -> SegmentSlice:
    """The slice of a whole sealed segment."""
    return SegmentSlice(path=path, start=0, end=os.stat(path).st_size, first_line=1,
                        sealed=True)


def new_chunk_id(now: datetime | None = None) -> str:
    """A sortable, unique id (of a chunk, or a batch): UTC timestamp plus a short random
    suffix, unique across loaders on several machines."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime(NAME_STAMP)}-{secrets.token_hex(3)}"
