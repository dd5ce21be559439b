"""Writing a chunk's rows to the lake as Parquet, one file per table and date."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from genius_wh.tables import Columns
from genius_wh.widening import NULL
from transform.files import AtomicFile, atomic_file
from transform.recordcolumns import FieldGroup, RecorddataColumns

#: Arrow type of each DuckDB type name used in genius_wh.tables and for recorddata.
ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    NULL: pa.null(),
}
#: Cells per record batch of session_recorddata: bounds memory for very wide chunks.
_CELLS_PER_BATCH: Final = 2_000_000
#: Rows per row group of the fixed tables: bounds the rows a chunk holds in memory (10,000
#: rather than 50,000 halved a 100,000-event chunk's peak memory, 421 -> 228 MiB, at no cost;
#: 5,000 rather than 10,000 took a 50,000-event chunk from 161 to 143 MiB, same speed).
ROWS_PER_GROUP = 5_000
#: How lake files are written: zstd without dictionary pages (zstd alone made a 100,000-event
#: chunk's files smaller, 16 -> 14 MiB, and the transform a little faster).
_PARQUET: Final[dict[str, object]] = {"compression": "zstd", "use_dictionary": False}


def lake_path(lake_dir: Path, table: str, day: date, chunk_id: str) -> Path:
    """Where a chunk's rows of one table and date live."""
    return lake_dir / table / f"date={day.isoformat()}" / f"{chunk_id}.parquet"


class RowsWriter:
    """Rows of one fixed-column table and date, written as Parquet row groups while they
    arrive (so a chunk holds at most one row group per file in memory); atomic on commit."""

    def __init__(self, path: Path, columns: Columns) -> None:
        self.path = path
        self.schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns])
        self.pending: list[list[Any]] = []
        self.written = 0
        self._file: AtomicFile | None = None
        self._writer: pq.ParquetWriter | None = None

    def __len__(self) -> int:
        return self.written + len(self.pending)

    def append(self, row: list[Any]) -> None:
        """Add one row (one value per column, in order)."""
        self.pending.append(row)
        if len(self.pending) >= ROWS_PER_GROUP:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows as one row group."""
        if not self.pending:
            return
        if self._writer is None:
            self._file = AtomicFile(self.path)
            self._writer = pq.ParquetWriter(self._file.handle, self.schema, **_PARQUET)
        values = zip(*self.pending, strict=True)
        arrays = [pa.array(column, type=field.type)
                  for column, field in zip(values, self.schema, strict=True)]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.written += len(self.pending)
        self.pending = []

    def commit(self) -> None:
        """Write what is pending, close the Parquet file and give it its final name."""
        self.flush()
        if self._writer is not None and self._file is not None:
            self._writer.close()
            self._file.commit()

    def discard(self) -> None:
        """Drop the temporary file after a failure."""
        if self._file is not None:
            self._file.discard()


def write_recorddata(path: Path, columns: RecorddataColumns, groups: list[FieldGroup]) -> None:
    """Write these groups' session_recorddata rows with the columns they send, in slices,
    atomically."""
    types = columns.columns_of(groups)
    schema = pa.schema([("event_id", pa.string())]
                       + [(name, ARROW_TYPES[kind]) for name, kind in types.items()])
    with atomic_file(path) as handle, pq.ParquetWriter(handle, schema, **_PARQUET) as writer:
        for piece in columns.slices(groups, _CELLS_PER_BATCH):
            size = len(piece.event_ids)
            arrays = [pa.array(piece.event_ids, type=pa.string())]
            for name, kind in types.items():
                values = piece.columns.get(name)
                arrays.append(pa.nulls(size, ARROW_TYPES[kind]) if values is None
                              else pa.array(values, type=ARROW_TYPES[kind]))
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
