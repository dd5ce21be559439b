"""A chunk's staging files as the loader reads them: the JSON lines a transform worker
wrote, converted by DuckDB to Parquet next to them, with each file's own column types.

The worker writes no Parquet (it would need pyarrow, 65 MiB of every worker's memory); the
loader reads a chunk's rows several times (its receipts and days, the dedupe, the insert,
the summaries' marks), so it parses the JSON once, here, and reads Parquet after that. The
Parquet is uncompressed: it lives only until the chunk commits, and a 50,000-event chunk's
conversion took 0.52 s with zstd, 0.32 s without.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb
import orjson

from genius_wh.chunkresult import ChunkResult
from genius_wh.layout import STAGING_SUFFIX
from warehouse.sql import literal

#: The type a staging column is read as, where it differs from the column's own: JSON
#: values are JSON text (the table's JSON column takes it), and a column with only nulls
#: (NULL) reads as INTEGER, the type DuckDB gives a Parquet column of nulls.
_READ_AS: Final = {"JSON": "VARCHAR", "NULL": "INTEGER"}
#: DuckDB's default for the longest JSON line it reads (it allocates twice that to read): more
#: only for a chunk with a longer line.
_OBJECT_SIZE: Final = 16 * 1024 * 1024
#: Suffix of a converted file.
PARQUET: Final = ".parquet"


def staged(con: duckdb.DuckDBPyConnection, result: ChunkResult) -> ChunkResult:
    """The result with each of its staging files converted to Parquet (a result converted
    already, by the Converter, comes back as it is)."""
    files: dict[str, list[Path]] = {}
    for table, paths in result.files.items():
        files[table] = [path if path.suffix == PARQUET else
                        _converted(con, path, result.columns[str(path)], result.longest_line)
                        for path in paths]
    return replace(result, files=files)


def _converted(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str],
               longest: int) -> Path:
    target = path.with_suffix(PARQUET)
    if target.exists() and not path.exists():  # converted already (a load tried again)
        return target
    con.execute(f"COPY (SELECT * FROM {_read_json(path, columns, longest)}) "
                f"TO {literal(str(target))} (FORMAT parquet, COMPRESSION uncompressed)")
    path.unlink()  # a load tried again reads the Parquet; a chunk split is transformed again
    return target


def _read_json(path: Path, columns: dict[str, str], longest: int) -> str:
    """`read_json` of a JSON lines file with these columns and types."""
    spec = ", ".join(f"{literal(name)}: {literal(_READ_AS.get(kind, kind))}"
                     for name, kind in columns.items())
    return (f"read_json({literal(str(path))}, format = 'newline_delimited', "
            f"columns = {{{spec}}}, maximum_object_size = {max(_OBJECT_SIZE, longest + 1)}, "
            "hive_partitioning = false)")


class Converter:
    """Converts each chunk's staging files as soon as its transform is done, on a thread and
    a connection of its own to the writer's DuckDB, while the writer loads the chunk before
    it (the loader itself would wait for it: 0.5 s a 50,000-event chunk)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging")
        self._con = con.cursor()  # the writer's DuckDB (its memory limit), not its transaction

    def after(self, transform: Future[ChunkResult]) -> Future[ChunkResult]:
        """The chunk's result with its files converted, once `transform` is done."""
        return self._pool.submit(self._convert, transform)

    def _convert(self, transform: Future[ChunkResult]) -> ChunkResult:
        return staged(self._con, transform.result())

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._con.close()


@contextmanager
def json_rows(rows: list[dict[str, Any]], columns: dict[str, str]) -> Iterator[str]:
    """A relation of these rows for one statement (`read_json` of a temporary file): the
    loader's bookkeeping rows reach DuckDB without pyarrow (executemany took 1 ms a row)."""
    lines = [orjson.dumps(row) + b"\n" for row in rows]
    with tempfile.NamedTemporaryFile(prefix="genius-wh-rows-", suffix=STAGING_SUFFIX) as handle:
        handle.write(b"".join(lines))
        handle.flush()
        yield _read_json(Path(handle.name), columns, longest=max(map(len, lines), default=0))


def staging_files(path: Path) -> list[Path]:
    """A staging file (as written or as converted) and its other form."""
    return [path.with_suffix(STAGING_SUFFIX), path.with_suffix(PARQUET)]
