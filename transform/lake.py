"""Writing a chunk's rows to the lake as Parquet, one file per table and date."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from genius_wh.tables import Columns
from transform.files import atomic_file
from transform.recordcolumns import RecorddataColumns
from transform.widening import NULL

#: Arrow type of each DuckDB type name used in genius_wh.tables and for recorddata.
ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    NULL: pa.null(),
}
#: Cells per record batch of session_recorddata: bounds memory for very wide chunks.
_CELLS_PER_BATCH: Final = 2_000_000
#: Rows per row group of the fixed tables: bounds the Arrow copy held while writing.
_ROWS_PER_GROUP: Final = 50_000
_COMPRESSION: Final = "zstd"


def lake_path(lake_dir: Path, table: str, day: date, chunk_id: str) -> Path:
    """Where a chunk's rows of one table and date live."""
    return lake_dir / table / f"date={day.isoformat()}" / f"{chunk_id}.parquet"


def write_rows(path: Path, columns: Columns, rows: list[list[Any]]) -> None:
    """Write rows (one value per column, in order) of a fixed-column table, atomically."""
    schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns])
    with atomic_file(path) as handle, pq.ParquetWriter(
            handle, schema, compression=_COMPRESSION) as writer:
        for start in range(0, len(rows), _ROWS_PER_GROUP):
            values = zip(*rows[start:start + _ROWS_PER_GROUP], strict=True)
            arrays = [pa.array(column, type=field.type)
                      for column, field in zip(values, schema, strict=True)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))


def write_recorddata(path: Path, columns: RecorddataColumns, day: date) -> None:
    """Write one date's session_recorddata with every chunk column, in slices, atomically."""
    types = columns.types
    schema = pa.schema([("event_id", pa.string())]
                       + [(name, ARROW_TYPES[kind]) for name, kind in types.items()])
    with atomic_file(path) as handle, pq.ParquetWriter(
            handle, schema, compression=_COMPRESSION) as writer:
        for piece in columns.slices(day, _CELLS_PER_BATCH):
            size = len(piece.event_ids)
            arrays = [pa.array(piece.event_ids, type=pa.string())]
            for name, kind in types.items():
                values = piece.columns.get(name)
                arrays.append(pa.nulls(size, ARROW_TYPES[kind]) if values is None
                              else pa.array(values, type=ARROW_TYPES[kind]))
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
