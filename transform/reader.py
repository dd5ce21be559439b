"""Reading spool segments: good lines as records, unreadable lines to quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from genius_wh.chunkresult import QuarantinedLine
from genius_wh.records import SpoolRecord, decode_record
from genius_wh.segments import SegmentSlice, slice_lines
from transform.files import write_atomic


@dataclass(frozen=True, slots=True)
class SpoolLine:
    """A readable spool line and where it came from."""

    segment: str
    line: int
    record: SpoolRecord
    received_at: datetime


def read_segment(piece: SegmentSlice, quarantine_dir: Path,
                 ) -> Iterator[SpoolLine | QuarantinedLine]:
    """Each line of a segment slice, in order; unreadable ones are quarantined byte for byte."""
    number = piece.first_line
    for raw in slice_lines(piece):
        try:
            record = decode_record(raw)
            received = _received_at(record)
        except ValueError as exc:
            yield quarantine_line(piece.path, number, raw, str(exc), quarantine_dir)
        else:
            yield SpoolLine(piece.name, number, record, received)
        number += 1


def _received_at(record: SpoolRecord) -> datetime:
    try:
        moment = datetime.fromisoformat(record["received_at"])
    except (TypeError, ValueError):
        raise ValueError(f"received_at is not a timestamp: {record['received_at']!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def quarantine_line(segment: Path, number: int, raw: bytes, reason: str,
                    quarantine_dir: Path) -> QuarantinedLine:
    """Keep an unreadable line as <dir>/spool/<segment stem>.line<N>.bad plus a .reason file."""
    folder = quarantine_dir / "spool"
    bad = folder / f"{segment.stem}.line{number}.bad"
    write_atomic(bad, raw)
    message = f"segment {segment.name} line {number}: {reason}"
    write_atomic(bad.with_suffix(".reason"), (message + "\n").encode())
    return QuarantinedLine(segment=segment.name, line=number, reason=reason, path=bad)
