"""What a transformed chunk hands to the warehouse loader (plain, frozen records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class FieldSeen:
    """A recorddata field as sent, the column it lands in and the type this chunk needs."""

    field: str
    column_name: str
    column_type: str  # one of genius_wh.tables.RECORDDATA_TYPES, or "NULL" (only nulls seen)
    first_seen: datetime  # received_at of the first event carrying it in this chunk
    last_seen: datetime


@dataclass(frozen=True, kw_only=True)
class LoadIssue:
    """A value that could not be converted for its column: the row loads with NULL there."""

    event_id: str
    table: str
    column: str
    value: str
    problem: str
    segment: str
    line: int


@dataclass(frozen=True, kw_only=True)
class UnknownField:
    """A field of a known action the product does not know (kept in the spool archive)."""

    action: str
    field: str
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, kw_only=True)
class QuarantinedLine:
    """A spool line that could not be read at all, kept byte for byte."""

    segment: str
    line: int
    reason: str
    path: Path


@dataclass(frozen=True, kw_only=True)
class ChunkResult:
    """Staging files written for one chunk and what the loader must record with them."""

    chunk_id: str
    files: dict[str, list[Path]]  # table name -> staging files written (may be empty)
    rows: dict[str, int]  # table name -> rows written (after de-duplication in the chunk)
    recorddata_types: dict[str, str]  # column_name -> type needed by this chunk's values
    fields: list[FieldSeen] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    unknown_fields: list[UnknownField] = field(default_factory=list)
    quarantined: list[QuarantinedLine] = field(default_factory=list)
    events: int = 0  # spool lines read successfully
    duplicates: int = 0  # lines whose event_id appeared earlier in the same chunk
    segment_lines: dict[str, int] = field(default_factory=dict)  # newline-ended lines
    #: staging file -> its columns and their types (DuckDB type names; "NULL": only nulls)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    longest_line: int = 0  # bytes of the longest line of its staging files
