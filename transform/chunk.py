"""transform_chunk: spool segments in, staging files and a ChunkResult out."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

from genius_wh.chunkresult import ChunkResult, LoadIssue, QuarantinedLine, UnknownField
from genius_wh.records import check_bounds, encode_record
from genius_wh.segments import SegmentSlice
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from transform.lake import RowsWriter, lake_path, write_recorddata
from transform.normalise import ACTION_NAMES, normalise_event
from transform.reader import SpoolLine, quarantine_line, read_segment
from transform.recordcolumns import RecorddataColumns


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """The receiver's limits, applied again to spool lines (old ones predate them)."""

    max_json_depth: int = 64
    max_recorddata_fields: int = 2000


#: A group of events sending the same recorddata fields (typically a campaign) gets a
#: session_recorddata file of its own, with only its columns, from this many rows; smaller
#: groups share one. The loader reads them as one table (union by name), and neither side
#: handles the other campaigns' columns as nulls: on the batch bench's 12 campaigns (463
#: columns, ~40 each) a 50,000-event chunk's CPU fell ~7% (best of 6: 2.24 -> 2.09 s) and
#: the loader's recorddata inserts of 1M events 14.0 -> 11.8 s (measured 2026-12-02).
RECORDDATA_ROWS_ALONE: Final = 500
#: Every table a chunk can write, in a stable order.
TABLES = (*EVENT_TABLES, SESSION_RECORDDATA)


class ChunkBuilder:
    """One chunk's rows per table and local date, and what the loader must record."""

    def __init__(self, tz: tzinfo, lake_dir: Path, chunk_id: str,
                 bounds: Bounds | None = None, quarantine_dir: Path | None = None) -> None:
        self.tz = tz
        self.bounds = bounds or Bounds()
        self.quarantine_dir = quarantine_dir or lake_dir / "quarantine"
        self.lake_dir = lake_dir
        self.chunk_id = chunk_id
        self.tables: dict[tuple[str, date], RowsWriter] = {}
        self.recorddata = RecorddataColumns()
        self.issues: list[LoadIssue] = []
        self.unknown: dict[tuple[str, str], list[Any]] = {}
        self.quarantined: list[QuarantinedLine] = []
        self.seen_ids: set[str] = set()
        self.events = 0
        self.duplicates = 0
        self.longest_line = 0  # bytes of the longest staging line written

    def add(self, line: SpoolLine) -> None:
        """Normalise one spool line into its table (a repeated event_id is counted, not kept)."""
        self.events += 1
        record = line.record
        event_id = record["event_id"]
        if event_id in self.seen_ids:
            self.duplicates += 1
            return
        self.seen_ids.add(event_id)
        try:
            check_bounds(record["body"], max_json_depth=self.bounds.max_json_depth,
                         max_recorddata_fields=self.bounds.max_recorddata_fields)
            event = normalise_event(record["body"], tz=self.tz)
        except Exception as exc:  # noqa: BLE001 - any event the rules cannot take (#9)
            self._quarantine(line, f"{type(exc).__name__}: {exc}")
            return
        event.row[0] = event_id
        event.row[2] = line.received_at
        event.row[3] = record.get("integration") or "default"
        day = line.received_at.astimezone(self.tz).date()
        rows = self.tables.get((event.table, day))
        if rows is None:
            path = lake_path(self.lake_dir, event.table, day, self.chunk_id)
            rows = self.tables[(event.table, day)] = RowsWriter(path, EVENT_TABLES[event.table])
        rows.append(event.row)
        for problem in event.problems:
            self.issues.append(LoadIssue(
                event_id=event_id, table=event.table, column=problem.column,
                value=problem.value, problem=problem.problem, segment=line.segment,
                line=line.line))
        if event.unknown:
            self._unknown(record["action"], event.unknown, line.received_at)
        if event.recorddata is not None:
            for problem_text in self.recorddata.add(event_id, event.recorddata, day,
                                                    line.received_at):
                self.issues.append(LoadIssue(
                    event_id=event_id, table=SESSION_RECORDDATA, column="recorddata",
                    value="", problem=problem_text, segment=line.segment, line=line.line))

    def _quarantine(self, line: SpoolLine, reason: str) -> None:
        """Keep an event the transform cannot take on its own; the rest of the chunk loads."""
        self.events -= 1
        self.quarantined.append(quarantine_line(
            Path(line.segment), line.line, encode_record(line.record), reason[:500],
            self.quarantine_dir))

    def _unknown(self, action: str, fields: list[str], received: datetime) -> None:
        name = ACTION_NAMES.get(action.strip().lower(), action)
        for field in fields:
            entry = self.unknown.get((name, field))
            if entry is None:
                self.unknown[(name, field)] = [1, received, received]
                continue
            entry[0] += 1
            entry[1] = min(entry[1], received)
            entry[2] = max(entry[2], received)

    def write(self) -> tuple[dict[str, list[Path]], dict[str, dict[str, str]]]:
        """Finish every (table, date) file that has rows; returns the files by table, and
        each file's columns with their types.

        One file after the other: a second thread for session_recorddata saved nothing once
        two workers share the two cores, and held both files' buffers at once (~20 MiB).
        """
        files: dict[str, list[Path]] = {table: [] for table in TABLES}
        columns: dict[str, dict[str, str]] = {}
        for day in sorted(self.recorddata.groups):
            pieces = self.recorddata.files(day, RECORDDATA_ROWS_ALONE)
            for number, groups in enumerate(pieces):
                path = lake_path(self.lake_dir, SESSION_RECORDDATA, day,
                                 f"{self.chunk_id}-{number}")
                columns[str(path)], longest = write_recorddata(path, self.recorddata, groups)
                self.longest_line = max(self.longest_line, longest)
                files[SESSION_RECORDDATA].append(path)
        for (table, _day), rows in sorted(self.tables.items()):
            rows.commit()
            files[table].append(rows.path)
            columns[str(rows.path)] = rows.columns
            self.longest_line = max(self.longest_line, rows.longest)
        return files, columns

    def discard(self) -> None:
        """Drop the temporary files of a chunk that failed."""
        for rows in self.tables.values():
            rows.discard()

    def result(self, chunk_id: str, files: dict[str, list[Path]],
               columns: dict[str, dict[str, str]], segment_lines: dict[str, int]) -> ChunkResult:
        """The hand-over record for the loader."""
        rows = {table: 0 for table in TABLES}
        for (table, _day), writer in self.tables.items():
            rows[table] += len(writer)
        rows[SESSION_RECORDDATA] = sum(map(self.recorddata.rows, self.recorddata.groups))
        unknown = [UnknownField(action=action, field=field, count=count, first_seen=first,
                                last_seen=last)
                   for (action, field), (count, first, last) in self.unknown.items()]
        return ChunkResult(
            chunk_id=chunk_id, files=files, columns=columns, longest_line=self.longest_line,
            rows=rows,
            recorddata_types=dict(self.recorddata.types), fields=self.recorddata.fields_seen(),
            issues=self.issues, unknown_fields=unknown, quarantined=self.quarantined,
            events=self.events, duplicates=self.duplicates, segment_lines=segment_lines)


def transform_chunk(segments: list[SegmentSlice], *, chunk_id: str, lake_dir: Path,
                    quarantine_dir: Path, tz: tzinfo,
                    bounds: Bounds | None = None) -> ChunkResult:
    """Normalise the spool segment slices of one chunk into staging files (JSON lines)."""
    builder = ChunkBuilder(tz, lake_dir, chunk_id, bounds, quarantine_dir)
    lines: dict[str, int] = {}
    try:
        with _no_cyclic_gc():
            for piece in segments:
                count = 0
                for item in read_segment(piece, quarantine_dir):
                    count += 1
                    if isinstance(item, SpoolLine):
                        builder.add(item)
                    else:
                        builder.quarantined.append(item)
                lines[piece.name] = count
            files, columns = builder.write()
    except BaseException:
        builder.discard()
        raise
    return builder.result(chunk_id, files, columns, lines)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector: a chunk builds millions of acyclic objects, and the
    collector would rescan them again and again (it doubled the chunk's CPU time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
