"""The one writer: opens warehouse.duckdb (waiting while someone else holds it) and loads
each chunk in ONE transaction, keyed by event_id and the `_loaded_segments` ledger."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
import psutil
import pyarrow as pa

from genius_wh.segments import count_lines
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from transform.result import ChunkResult
from warehouse.errors import WarehouseBusy
from warehouse.evolve import apply_plan, current_value_types, plan_columns
from warehouse.schema import LOADED_TABLES, create_session_flat
from warehouse.sql import quote, quote_all

log = logging.getLogger(__name__)

_PID = re.compile(r"PID (\d+)")
FIRST_WAIT = 0.05
MAX_WAIT = 2.0
#: DuckDB's memory for a load transaction: this much for the chunks being appended (it
#: spills beyond it; 256 MiB kept the loads as fast as 512 MiB and the batch with its
#: transform workers under 1 GiB) ...
WRITER_BASE_MEMORY = 256 * 2**20
#: ... plus this much per row already loaded: the event_id primary-key indexes must stay in
#: memory (about 75 bytes per key measured); a fixed limit would fail once the warehouse grows.
WRITER_MEMORY_PER_ROW = 128
#: ... plus this much per row the transaction may add: its own primary-key entries (~73 bytes
#: a row measured) on top of the row groups being built.
WRITER_MEMORY_PER_NEW_ROW = 64
#: WAL size that makes DuckDB checkpoint on commit. The default (16 MiB) checkpointed after
#: nearly every chunk, rewriting the growing event_id indexes each time (chunk loads grew from
#: 1.5 s to 8 s over 1M events); committed chunks are durable in the WAL, and the batch
#: CHECKPOINTs once at its end before publishing a snapshot.
WRITER_CHECKPOINT_THRESHOLD = "1GiB"


def lock_holder(message: str) -> str:
    """'PID n (command line)' of the process named in DuckDB's lock error, or 'unknown'."""
    match = _PID.search(message)
    if match is None:
        return "an unknown process"
    pid = int(match.group(1))
    try:
        command = " ".join(psutil.Process(pid).cmdline()) or "?"
    except psutil.Error:
        command = "gone"
    return f"PID {pid} ({command})"


def _try_open(path: Path) -> duckdb.DuckDBPyConnection | str:
    """A writable connection, or the holder's description when the file is locked."""
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        return lock_holder(str(exc))


def open_writer(path: Path, *, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open warehouse.duckdb for writing; retry with backoff while another process holds it.

    Raises WarehouseBusy naming the holder once `wait_seconds` have passed.
    """
    deadline = time.monotonic() + wait_seconds
    pause = FIRST_WAIT
    while True:
        opened = _try_open(path)
        if isinstance(opened, duckdb.DuckDBPyConnection):
            opened.execute(f"SET checkpoint_threshold = '{WRITER_CHECKPOINT_THRESHOLD}'")
            # the transform workers use the other core; a second DuckDB thread gained nothing
            # for these inserts (measured) and only took CPU from them
            opened.execute("SET threads = 1")
            # tables are sets keyed by event_id: no buffers to keep the files' row order
            opened.execute("SET preserve_insertion_order = false")
            return opened
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"{path} is held by {opened} (waited {wait_seconds:g} s); close that "
                "DuckDB client, or read through warehouse.connect() instead; nothing is lost, "
                "the spool keeps every event until the next batch")
        log.warning("%s is held by %s; retrying in %.2f s", path, opened, pause)
        time.sleep(pause)
        pause = min(MAX_WAIT, pause * 2)


def bound_memory(con: duckdb.DuckDBPyConnection, new_rows: int = 0) -> int:
    """Set DuckDB's memory limit from the rows loaded so far plus the `new_rows` a
    transaction may add; returns it in bytes."""
    unions = " + ".join(f"(SELECT count(*) FROM {quote(table)})" for table in LOADED_TABLES)
    row = con.execute(f"SELECT {unions}").fetchone()
    loaded = int(row[0] if row else 0)
    limit = (WRITER_BASE_MEMORY + WRITER_MEMORY_PER_ROW * loaded
             + WRITER_MEMORY_PER_NEW_ROW * new_rows)
    con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")
    return limit


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def loaded_segments(con: duckdb.DuckDBPyConnection, names: list[str]) -> set[str]:
    """Which of these segment names the ledger already holds."""
    if not names:
        return set()
    rows = con.execute("SELECT segment FROM _loaded_segments WHERE list_contains(?, segment)",
                       [names]).fetchall()
    return {str(row[0]) for row in rows}


class ChunkLoad:
    """Chunks added to one open load transaction, in order, and the new rows per table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> None:
        self.con = con
        self.loaded_at = loaded_at
        self.rows = dict.fromkeys(LOADED_TABLES, 0)

    def add(self, result: ChunkResult, segments: list[Path]) -> None:
        """Insert a chunk's new rows, its bookkeeping and its segments into the ledger."""
        con = self.con
        changes = plan_columns(current_value_types(con), result.recorddata_types)
        if changes:
            apply_plan(con, changes)
            create_session_flat(con)
        for table in LOADED_TABLES:
            self.rows[table] += _insert(con, table, result)
        _record_fields(con, result)
        _record_extras(con, result, self.loaded_at)
        _record_segments(con, result, segments, self.loaded_at)


@contextmanager
def loading(con: duckdb.DuckDBPyConnection, *, loaded_at: datetime,
            new_rows: int = 0) -> Iterator[ChunkLoad]:
    """ONE transaction for the chunks added to the ChunkLoad; committed on leaving.

    Several chunks per transaction let DuckDB write a table's new rows straight into the
    database file once they fill a row group (122,880 rows); smaller appends go to the WAL
    and are written a second time by the next checkpoint.
    """
    bound_memory(con, new_rows)
    with transaction(con):
        yield ChunkLoad(con, loaded_at)


def _insert(con: duckdb.DuckDBPyConnection, table: str, result: ChunkResult) -> int:
    """Insert the chunk's rows whose event_id is not present yet (first received wins)."""
    files = [str(path) for path in result.files.get(table, [])]
    if not files:
        return 0
    if table == SESSION_RECORDDATA:
        columns = ["event_id", *result.recorddata_types]
    else:
        columns = [name for name, _ in EVENT_TABLES[table]]
    names = quote_all(columns)
    row = con.execute(
        f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM "
        f"read_parquet(?, union_by_name = true) AS p WHERE NOT EXISTS "
        f"(SELECT 1 FROM {quote(table)} AS t WHERE t.event_id = p.event_id)", [files]
    ).fetchone()
    return int(row[0]) if row else 0


def _register(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict[str, object]]) -> bool:
    """Register rows as a temporary relation; False when there are none."""
    if not rows:
        return False
    con.register(name, pa.Table.from_pylist(rows))
    return True


def _record_fields(con: duckdb.DuckDBPyConnection, result: ChunkResult) -> None:
    """Upsert recorddata_fields: first_seen min, last_seen max, the column's current type."""
    rows = [{"field": f.field, "column_name": f.column_name, "first_seen": f.first_seen,
             "last_seen": f.last_seen} for f in result.fields]
    if not _register(con, "chunk_fields", rows):
        return
    con.execute(
        "INSERT INTO recorddata_fields "
        "SELECT c.field, c.column_name, 'BOOLEAN', c.first_seen, c.last_seen FROM chunk_fields c "
        "ON CONFLICT (field) DO UPDATE SET "
        "first_seen = least(recorddata_fields.first_seen, excluded.first_seen), "
        "last_seen = greatest(recorddata_fields.last_seen, excluded.last_seen)")
    con.unregister("chunk_fields")
    con.execute(
        "UPDATE recorddata_fields SET column_type = CASE r.value_type WHEN 'NULL' THEN "
        "'BOOLEAN' ELSE r.value_type END FROM _recorddata_columns r "
        "WHERE r.column_name = recorddata_fields.column_name "
        "AND recorddata_fields.column_type IS DISTINCT FROM "
        "(CASE r.value_type WHEN 'NULL' THEN 'BOOLEAN' ELSE r.value_type END)")


def _record_extras(con: duckdb.DuckDBPyConnection, result: ChunkResult,
                   loaded_at: datetime) -> None:
    """Insert the chunk's load issues, unknown fields and quarantined lines."""
    issues = [{"event_id": i.event_id, "table_name": i.table, "column_name": i.column,
               "value": i.value, "problem": i.problem, "segment": i.segment, "line": i.line,
               "chunk_id": result.chunk_id, "loaded_at": loaded_at} for i in result.issues]
    if _register(con, "chunk_issues", issues):
        # a redelivery of an already loaded event does not record its issues again
        con.execute(
            "INSERT INTO _load_issues SELECT * FROM chunk_issues c WHERE NOT EXISTS "
            "(SELECT 1 FROM _load_issues l WHERE l.event_id = c.event_id "
            "AND l.table_name = c.table_name AND l.column_name = c.column_name)")
        con.unregister("chunk_issues")
    unknown = [{"action": u.action, "field": u.field, "count": u.count,
                "first_seen": u.first_seen, "last_seen": u.last_seen}
               for u in result.unknown_fields]
    if _register(con, "chunk_unknown", unknown):
        con.execute(
            "INSERT INTO _unknown_fields SELECT * FROM chunk_unknown "
            "ON CONFLICT (action, field) DO UPDATE SET "
            "count = _unknown_fields.count + excluded.count, "
            "first_seen = least(_unknown_fields.first_seen, excluded.first_seen), "
            "last_seen = greatest(_unknown_fields.last_seen, excluded.last_seen)")
        con.unregister("chunk_unknown")
    quarantined = [{"segment": q.segment, "line": q.line, "reason": q.reason,
                    "path": str(q.path), "chunk_id": result.chunk_id, "loaded_at": loaded_at}
                   for q in result.quarantined]
    if _register(con, "chunk_quarantine", quarantined):
        con.execute("INSERT INTO _quarantine SELECT * FROM chunk_quarantine")
        con.unregister("chunk_quarantine")


def _record_segments(con: duckdb.DuckDBPyConnection, result: ChunkResult,
                     segments: list[Path], loaded_at: datetime) -> None:
    """Record the chunk's segments in the ledger (same transaction as the rows)."""
    lines = result.segment_lines
    rows = [[path.name, result.chunk_id, loaded_at,
             lines[path.name] if path.name in lines else count_lines(path)]
            for path in segments]
    if rows:
        con.executemany("INSERT OR REPLACE INTO _loaded_segments VALUES (?, ?, ?, ?)", rows)

