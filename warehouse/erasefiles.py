"""Erasing lines and rows from the files around the warehouse (issue #13): spool segments,
quarantine files and export dates. Used by `forget` and by retention.

- a segment is rewritten without some lines under a temporary name first; the names, new
  sizes and how the ledger's offsets move are kept in a journal (`DATA_DIR/.erase-journal.json`)
  until the warehouse transaction that records the erasure has committed, then the
  temporaries replace the segments (`os.replace`, fsynced); a crash in between is finished
  (or undone, when the transaction did not commit) by the next erasure;
- an export file is rewritten atomically without the rows, and the manifest's row count
  follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from genius_wh.durable import atomic_write, replace_durably
from genius_wh.layout import ERASE_JOURNAL, SEGMENT_SUFFIX, DataLayout
from warehouse.exportfiles import read_manifest, write_parquet

#: Whether a spool line (its bytes and the object parsed from it, `{}` when torn) goes.
LineTest = Callable[[bytes, dict[str, Any]], bool]


@dataclass(kw_only=True)
class SegmentEdit:
    """One segment to rewrite without some of its lines."""

    path: Path
    kept: bytes
    removed_ids: set[str] = field(default_factory=set)
    #: (end of a removed line in the old file, its length, its line number), in order
    removed: list[tuple[int, int, int]] = field(default_factory=list)

    def moved(self, offset: int, line: int) -> tuple[int, int]:
        """Where an old (byte offset, line count) lands in the rewritten segment."""
        gone = [(length, number) for end, length, number in self.removed if end <= offset]
        return offset - sum(length for length, _ in gone), line - len(gone)


def spool_segments(layout: DataLayout) -> list[Path]:
    """Sealed segments a line may sit in: archive, ready and working (never open ones)."""
    found = sorted(layout.spool_archive.glob(f"*/*{SEGMENT_SUFFIX}"))
    found += sorted(layout.spool_ready.glob(f"*{SEGMENT_SUFFIX}"))
    return found + sorted(layout.spool_working.glob(f"*/*{SEGMENT_SUFFIX}"))


def scan_segment(path: Path, goes: LineTest, prefilter: Callable[[bytes], bool],
                 ) -> SegmentEdit | None:
    """The edit that removes every line `goes` accepts, or None when none does."""
    data = path.read_bytes()
    kept: list[bytes] = []
    edit = SegmentEdit(path=path, kept=b"")
    offset = 0
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        offset += len(line)
        obj = _parsed(line) if prefilter(line) else None
        if obj is not None and goes(line, obj):
            edit.removed.append((offset, len(line), number))
            edit.removed_ids.add(str(obj.get("event_id", "")))
        else:
            kept.append(line)
    if not edit.removed:
        return None
    edit.kept = b"".join(kept)
    return edit


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {}  # a torn line: only a text match can take it
    return obj if isinstance(obj, dict) else {}


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.erase.tmp")


def stage_edits(layout: DataLayout, edits: list[SegmentEdit], erasure_id: str) -> None:
    """Write each rewritten segment under a temporary name, then the journal naming them."""
    for edit in edits:
        atomic_write(_temporary(edit.path), edit.kept)
    entries = [{"path": str(edit.path), "size": len(edit.kept)} for edit in edits]
    atomic_write(layout.root / ERASE_JOURNAL, orjson.dumps({"erasure": erasure_id,
                                                      "segments": entries}))


def finish_edits(layout: DataLayout, committed: Callable[[str], bool]) -> int:
    """Put staged segments in place if their erasure committed, else drop them; how many."""
    journal = layout.root / ERASE_JOURNAL
    try:
        document = orjson.loads(journal.read_bytes())
    except FileNotFoundError:
        return 0
    done = committed(str(document["erasure"]))
    moved = 0
    for entry in document["segments"]:
        path = Path(entry["path"])
        tmp = _temporary(path)
        if done and tmp.exists():
            replace_durably(tmp, path)
            moved += 1
        else:
            tmp.unlink(missing_ok=True)
    journal.unlink()
    return moved


def quarantine_files(layout: DataLayout, matches: Callable[[bytes], bool]) -> list[Path]:
    """Quarantined bodies and spool lines whose bytes match, each with its sidecar."""
    found: list[Path] = []
    for pattern in ("*.body", "spool/*.bad"):
        for path in sorted(layout.quarantine.glob(pattern)):
            if matches(path.read_bytes()):
                sidecar = ".json" if path.suffix == ".body" else ".reason"
                found += [path, path.with_suffix(sidecar)]
    return found


def export_files(layout: DataLayout) -> Iterator[tuple[date, str, Path]]:
    """(date, table, path) of every export file the manifest lists."""
    for day, tables in read_manifest(layout).get("dates", {}).items():
        for table, entry in tables.items():
            yield date.fromisoformat(day), table, layout.exports / entry["path"]


def rows_with_ids(path: Path, ids: set[str]) -> int:
    """Rows of one export file whose event_id is in `ids`."""
    if not ids or not path.exists():
        return 0
    import pyarrow as pa  # noqa: PLC0415 - a start-up cost (76 MiB) only erasures need
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    column = pq.read_table(path, columns=["event_id"]).column("event_id")
    return int(pc.sum(pc.is_in(column, value_set=pa.array(sorted(ids)))).as_py() or 0)


def rewrite_export(path: Path, ids: set[str]) -> int:
    """Rewrite an export file without the rows of `ids` (atomically); the rows left."""
    import pyarrow as pa  # noqa: PLC0415 - a start-up cost (76 MiB) only erasures need
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    table = pq.read_table(path)
    keep = pc.invert(pc.is_in(table.column("event_id"), value_set=pa.array(sorted(ids))))
    return write_parquet(table.filter(keep), path)
