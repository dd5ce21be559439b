"""The chunk protocol on the spool: claim ready segments into working/<chunk_id>/, archive
them once loaded, apply the archive retention. The folder a segment sits in is its state."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from genius_wh.durable import fsync_path
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout
from genius_wh.segments import count_lines


def new_chunk_id(now: datetime | None = None) -> str:
    """A sortable, unique chunk id: UTC timestamp plus a short random suffix."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"


def iter_chunks(ready: list[Path], max_events: int) -> Iterator[list[Path]]:
    """Chunks of the ready segments, counted lazily (one chunk's lines at a time)."""
    current: list[Path] = []
    lines = 0
    for path in ready:
        try:
            count = count_lines(path)
        except FileNotFoundError:
            continue  # claimed by someone else meanwhile
        if current and lines + count > max_events:
            yield current
            current, lines = [], 0
        current.append(path)
        lines += count
    if current:
        yield current


def claim(layout: DataLayout, segments: list[Path], chunk_id: str) -> Path:
    """Move segments into spool/working/<chunk_id>/ (atomic renames) and return the folder."""
    folder = layout.spool_working / chunk_id
    folder.mkdir(parents=True)
    for path in segments:
        os.replace(path, folder / path.name)
    fsync_path(folder)
    fsync_path(layout.spool_ready)
    return folder


def working_chunks(layout: DataLayout) -> list[Path]:
    """Chunk folders left in spool/working/ by an earlier run, oldest first."""
    if not layout.spool_working.is_dir():
        return []
    return sorted((p for p in layout.spool_working.iterdir() if p.is_dir()),
                  key=lambda p: p.name)


def chunk_segments(folder: Path) -> list[Path]:
    """The segments of one chunk folder, by name."""
    return sorted(folder.glob(f"*{SEGMENT_SUFFIX}"), key=lambda p: p.name)


def archive(layout: DataLayout, folder: Path, day: date) -> None:
    """Move a loaded chunk's segments to spool/archive/<day>/ and remove its folder."""
    target = layout.spool_archive / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    for path in chunk_segments(folder):
        os.replace(path, target / path.name)
    fsync_path(target)
    shutil.rmtree(folder, ignore_errors=True)
    fsync_path(layout.spool_working)


def expired_archive_days(days: list[str], today: date, retention_days: int) -> list[str]:
    """Archive folder names (YYYY-MM-DD) older than the retention; none when it is 0."""
    if retention_days <= 0:
        return []
    cutoff = today - timedelta(days=retention_days)
    expired = []
    for name in days:
        try:
            day = date.fromisoformat(name)
        except ValueError:
            continue
        if day < cutoff:
            expired.append(name)
    return expired


def apply_retention(layout: DataLayout, today: date, retention_days: int) -> list[str]:
    """Delete archive folders past the retention; returns their names."""
    if retention_days <= 0 or not layout.spool_archive.is_dir():
        return []
    names = [p.name for p in layout.spool_archive.iterdir() if p.is_dir()]
    expired = expired_archive_days(names, today, retention_days)
    for name in expired:
        shutil.rmtree(layout.spool_archive / name)
    return expired
