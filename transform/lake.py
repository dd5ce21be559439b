"""Writing a chunk's rows to staging as JSON lines, one file per table and date.

A worker writes each row as one JSON object (orjson: exact floats, timestamps with their
offset, a NUL or a newline inside a string escaped) and no Parquet library: pyarrow alone
was 65 MiB of each worker's memory, the loader's DuckDB reads the lines with their types
(`warehouse.staging`) and keeps its Parquet for the reads that follow. The types of each
file's columns travel with the chunk's result (`ChunkResult.columns`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson

from genius_wh.layout import STAGING_SUFFIX
from genius_wh.tables import Columns
from transform.files import AtomicFile, atomic_file
from transform.recordcolumns import FieldGroup, RecorddataColumns

#: Cells per slice of session_recorddata converted at once: bounds memory for wide chunks.
_CELLS_PER_BATCH: Final = 2_000_000
#: Rows of a fixed-column table kept before they are written out: bounds the rows a chunk
#: holds in memory.
ROWS_PER_GROUP = 5_000


def lake_path(lake_dir: Path, table: str, day: date, chunk_id: str) -> Path:
    """Where a chunk's rows of one table and date live."""
    return lake_dir / table / f"date={day.isoformat()}" / f"{chunk_id}{STAGING_SUFFIX}"


class RowsWriter:
    """Rows of one fixed-column table and date, written out in blocks while they arrive (so a
    chunk holds at most ROWS_PER_GROUP rows per file in memory); atomic on commit."""

    def __init__(self, path: Path, columns: Columns) -> None:
        self.path = path
        self.columns = dict(columns)
        self.names = tuple(self.columns)
        self.pending: list[list[Any]] = []
        self.written = 0
        self.longest = 0  # bytes of the longest line written
        self._file: AtomicFile | None = None

    def __len__(self) -> int:
        return self.written + len(self.pending)

    def append(self, row: list[Any]) -> None:
        """Add one row (one value per column, in order)."""
        self.pending.append(row)
        if len(self.pending) >= ROWS_PER_GROUP:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows."""
        if not self.pending:
            return
        if self._file is None:
            self._file = AtomicFile(self.path)
        names = self.names
        self.longest = max(self.longest, _write_lines(
            self._file.handle, (dict(zip(names, row, strict=True)) for row in self.pending)))
        self.written += len(self.pending)
        self.pending = []

    def commit(self) -> None:
        """Write what is pending and give the file its final name."""
        self.flush()
        if self._file is not None:
            self._file.commit()

    def discard(self) -> None:
        """Drop the temporary file after a failure."""
        if self._file is not None:
            self._file.discard()


def write_recorddata(path: Path, columns: RecorddataColumns,
                     groups: list[FieldGroup]) -> tuple[dict[str, str], int]:
    """Write these groups' session_recorddata rows, converted to the chunk's column types, in
    slices, atomically; returns the file's columns with their types, and the bytes of its
    longest line."""
    types = {"event_id": "VARCHAR", **columns.columns_of(groups)}
    longest = 0
    with atomic_file(path) as handle:
        for piece in columns.slices(groups, _CELLS_PER_BATCH):
            names = list(piece.columns)
            values = [piece.columns[name] for name in names]
            longest = max(longest, _write_lines(handle, (
                {"event_id": event_id,
                 **{name: value for name, value in zip(names, row, strict=True)
                    if value is not None}}
                for event_id, *row in zip(piece.event_ids, *values, strict=True))))
    return types, longest


def _write_lines(handle: BinaryIO, rows: Iterable[dict[str, Any]]) -> int:
    """Write each row as one JSON object on its own line, ROWS_PER_GROUP lines at a time;
    the bytes of the longest."""
    dumps = orjson.dumps
    longest = 0
    rows = iter(rows)
    while lines := [dumps(row) + b"\n" for row in islice(rows, ROWS_PER_GROUP)]:
        handle.write(b"".join(lines))
        longest = max(longest, *map(len, lines))
    return longest
