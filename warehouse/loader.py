"""The one writer: loads transformed chunks into the DuckLake warehouse exactly once.

- a chunk's rows, its bookkeeping and the spool position it reached (`_spool_ledger`:
  segment, byte offset, line) commit in ONE DuckLake transaction, so a kill at any instant
  leaves either all of it or none, and the next batch starts where the ledger says;
- `event_id` is unique for all time, kept by the loader (DuckLake has no key constraints):
  a new row is compared only with the rows of the same event time (DEDUPE_TIME; a
  redelivery carries the same event object, hence the same time), so the cost follows the
  chunk, not the history; tables whose events have no time of their own are compared with
  the rows received in the DEDUPE_WINDOW_DAYS before the chunk's events;
- session_recorddata rows load only for the session_ended rows that were new.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import duckdb

from genius_wh.chunkresult import ChunkResult
from genius_wh.segments import SegmentSlice
from genius_wh.tables import DEDUPE_TIME, EVENT_TABLES, SESSION_RECORDDATA
from warehouse.erasures import ERASED_IDS
from warehouse.evolve import (
    ColumnChange,
    apply_plan,
    current_value_types,
    holds_rows,
    plan_columns,
)
from warehouse.schema import BOOKKEEPING, LOADED_TABLES, create_session_flat
from warehouse.sql import quote, quote_all
from warehouse.staging import json_rows, staged
from warehouse.summaries import mark_loaded

#: Rows without an event time of their own are compared with those received up to this long
#: before the chunk's earliest event.
DEDUPE_WINDOW_DAYS: Final = 7
#: Above this many distinct event days in a chunk, one range covers them all.
MAX_DEDUPE_DAYS: Final = 8
#: New recorddata columns above which a chunk's columns are committed ahead of its rows, in
#: commits of this many.
COLUMNS_PER_COMMIT: Final = 100
#: DuckDB's memory for the writer, in MiB (it spills beyond it), unless a batch sets its own.
WRITER_MEMORY_MB: Final = 512


def tune_writer(con: duckdb.DuckDBPyConnection) -> None:
    """Writer settings: bounded memory (a writer keeps no insertion order: lakehouse._bare)."""
    writer_memory(con, WRITER_MEMORY_MB)
    con.execute("SET enable_external_file_cache = false")  # staging files are read once


def writer_memory(con: duckdb.DuckDBPyConnection, megabytes: int) -> None:
    """Set DuckDB's memory limit for this writer (it spills, then fails, beyond it)."""
    con.execute(f"SET memory_limit = '{int(megabytes)}MiB'")


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


@dataclass(frozen=True, kw_only=True)
class Position:
    """How far the ledger says a segment has been loaded."""

    offset: int
    line: int  # lines loaded (the next slice's first line is line + 1)
    sealed: bool


def ledger_positions(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, Position]:
    """The loaded position of each of these segments that the ledger knows."""
    if not names:
        return {}
    rows = con.execute(
        "SELECT segment, max(end_offset), max(end_line), bool_or(sealed) FROM _spool_ledger "
        "WHERE segment >= ? AND segment <= ? AND list_contains(?, segment) GROUP BY segment",
        [min(names), max(names), names]).fetchall()
    return {str(name): Position(offset=int(offset), line=int(line), sealed=bool(sealed))
            for name, offset, line, sealed in rows}


class ChunkLoad:
    """Chunks added to one open load transaction, in order, and the new rows per table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, loaded_at: datetime) -> None:
        self.con = con
        self.loaded_at = loaded_at
        self.rows = dict.fromkeys(LOADED_TABLES, 0)
        self.chunks = 0  # chunks added
        # the first `committed` chunks, with `committed_rows`, were committed ahead of the
        # transaction's end (_add_columns_first): a later failure does not roll them back
        self.committed = 0
        self.committed_rows = dict(self.rows)

    def add(self, result: ChunkResult, slices: list[SegmentSlice]) -> None:
        """Insert a chunk's new rows, its bookkeeping and its spool positions."""
        con = self.con
        result = staged(con, result)
        changes = plan_columns(current_value_types(con), result.recorddata_types)
        adds = [change for change in changes if change.is_add]
        if len(adds) > COLUMNS_PER_COMMIT and holds_rows(con):  # (an empty table: at once)
            self._add_columns_first(adds)
            changes = [change for change in changes if not change.is_add]
        if changes:
            apply_plan(con, changes)
            create_session_flat(con)
        con.execute("CREATE OR REPLACE TEMP TABLE chunk_new_ids (event_id VARCHAR)")
        for table in EVENT_TABLES:
            self.rows[table] += insert_new(con, table, result, self.loaded_at)
        self.rows[SESSION_RECORDDATA] += _insert_recorddata(con, result)
        mark_loaded(con, result)  # the summarised days these rows change (views_summaries)
        record_fields(con, result)
        _record_extras(con, result, self.loaded_at)
        record_slices(con, result, slices, self.loaded_at)
        con.execute("DROP TABLE temp.chunk_new_ids")
        self.chunks += 1

    def _add_columns_first(self, adds: list[ColumnChange]) -> None:
        """Commit many new columns ahead of the chunk's rows, COLUMNS_PER_COMMIT at a time.

        Each ADD COLUMN costs DuckLake time and memory in the table's width, so thousands in
        one transaction grow quadratically (2,000 took 1.3 GiB); in commits of 100 they took
        340 MiB. The open transaction holds only whole chunks, so committing it first keeps
        every chunk's rows and ledger together; a column added without rows yet is harmless.
        """
        con = self.con
        con.execute("COMMIT")
        self.committed, self.committed_rows = self.chunks, dict(self.rows)
        for start in range(0, len(adds), COLUMNS_PER_COMMIT):
            with transaction(con):
                apply_plan(con, adds[start:start + COLUMNS_PER_COMMIT])
        con.execute("BEGIN TRANSACTION")
        create_session_flat(con)


@contextmanager
def loading(con: duckdb.DuckDBPyConnection, *, loaded_at: datetime) -> Iterator[ChunkLoad]:
    """ONE transaction for the chunks added to the ChunkLoad; committed on leaving."""
    with transaction(con):
        yield ChunkLoad(con, loaded_at)


def _files(result: ChunkResult, table: str) -> list[str]:
    return [str(path) for path in result.files.get(table, [])]


#: A chunk's staging files of one table, as the loader reads them (the files are the
#: parameter): read where needed, not copied into a temporary table, because a temporary
#: table dropped inside the load transaction keeps its memory until the commit (a 1M-event
#: transaction held 100 MiB per 50,000-event chunk that way).
_CHUNK: Final = "read_parquet(?, union_by_name = true)"


def insert_new(con: duckdb.DuckDBPyConnection, table: str, result: ChunkResult,
               loaded_at: datetime) -> int:
    """Insert the chunk's rows of one event table whose event_id is not loaded yet (first
    received wins) nor erased (#13: an erased person never comes back); add their ids to
    temp.chunk_new_ids and return how many there were.

    The loaded ids a chunk may repeat (`_existing_ids`: the same event days, or a week of
    receipts) are streamed past a hash of the chunk's own ids (the build side of the SEMI
    JOIN), so the memory follows the chunk, not the days it touches. A chunk's event_ids
    are unique within it (the transform keeps the first), so the new ids of the chunk's
    other tables select none of this table's rows.
    """
    files = _files(result, table)
    if not files:
        return 0
    existing = " UNION ALL ".join([*_existing_ids(con, table, files, loaded_at), ERASED_IDS])
    row = con.execute(
        f"INSERT INTO temp.chunk_new_ids SELECT event_id FROM {_CHUNK} ANTI JOIN (SELECT "
        f"DISTINCT e.event_id FROM ({existing}) e SEMI JOIN {_CHUNK} c USING (event_id)) "
        "seen USING (event_id)", [files, files]).fetchone()
    names = quote_all([name for name, _ in EVENT_TABLES[table]])
    con.execute(f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {_CHUNK} "
                "SEMI JOIN temp.chunk_new_ids USING (event_id)", [files])
    return int(row[0]) if row else 0


def _existing_ids(con: duckdb.DuckDBPyConnection, table: str, files: list[str],
                  loaded_at: datetime) -> list[str]:
    """SELECTs of the loaded event_ids a chunk's rows (in `files`) may repeat, each bounded
    so that the scan prunes every data file outside it (by the catalog's min/max
    statistics). The chunk's earliest receipt and its UTC event days come from one read of
    its files."""
    column = DEDUPE_TIME[table]
    col = quote(column) if column is not None else None
    days = ("NULL" if col is None else
            f"list_sort(list_distinct(list(CAST(timezone('UTC', {col}) AS DATE))))")
    row = con.execute(f"SELECT min(received_at), {days} FROM {_CHUNK}", [files]).fetchone()
    earliest = row[0] if row and row[0] is not None else loaded_at
    window = _literal_ts(earliest - timedelta(days=DEDUPE_WINDOW_DAYS))
    base = f"SELECT event_id FROM {quote(table)}"
    if col is None:
        return [f"{base} WHERE received_at >= {window}"]
    selects = [f"{base} WHERE {col} IS NULL AND received_at >= {window}"]
    for start, end in _day_ranges(row[1] if row and row[1] else []):
        selects.append(f"{base} WHERE {col} >= {_literal_ts(start)} "
                       f"AND {col} < {_literal_ts(end)}")
    return selects


def _day_ranges(days: list[date]) -> list[tuple[datetime, datetime]]:
    """UTC day ranges covering the chunk's event days, in order (one range when they are
    many)."""
    if not days:
        return []
    if len(days) > MAX_DEDUPE_DAYS:
        return [(_midnight(days[0]), _midnight(days[-1] + timedelta(days=1)))]
    return [(_midnight(day), _midnight(day + timedelta(days=1))) for day in days]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _literal_ts(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment.isoformat()}'"


def _insert_recorddata(con: duckdb.DuckDBPyConnection, result: ChunkResult) -> int:
    """Insert the recorddata rows of the session_ended rows that were new in this chunk."""
    files = _files(result, SESSION_RECORDDATA)
    if not files:
        return 0
    names = quote_all(["event_id", *result.recorddata_types])
    row = con.execute(
        f"INSERT INTO {quote(SESSION_RECORDDATA)} ({names}) SELECT {names} FROM "
        f"{_CHUNK} SEMI JOIN temp.chunk_new_ids USING (event_id)", [files]).fetchone()
    return int(row[0]) if row else 0


def record_fields(con: duckdb.DuckDBPyConnection, result: ChunkResult) -> None:
    """Upsert recorddata_fields (first_seen min, last_seen max, the column's current type)
    as delete + insert of the chunk's fields: DuckLake has no ON CONFLICT."""
    if not result.fields:
        return
    fields = [{"field": f.field, "column_name": f.column_name, "first_seen": f.first_seen,
               "last_seen": f.last_seen} for f in result.fields]
    with json_rows(fields, {"field": "VARCHAR", "column_name": "VARCHAR",
                            "first_seen": "TIMESTAMPTZ", "last_seen": "TIMESTAMPTZ"}) as rows:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE chunk_fields AS SELECT c.field, c.column_name, "
            "coalesce(CASE r.value_type WHEN 'NULL' THEN 'BOOLEAN' ELSE r.value_type END, "
            "'BOOLEAN') AS column_type, least(c.first_seen, f.first_seen) AS first_seen, "
            f"greatest(c.last_seen, f.last_seen) AS last_seen FROM {rows} c "
            "LEFT JOIN recorddata_fields f USING (field) "
            "LEFT JOIN _recorddata_columns r ON r.column_name = c.column_name")
    con.execute("DELETE FROM recorddata_fields WHERE field IN "
                "(SELECT field FROM temp.chunk_fields)")
    con.execute("INSERT INTO recorddata_fields SELECT * FROM temp.chunk_fields")
    con.execute("DROP TABLE temp.chunk_fields")


def _record_extras(con: duckdb.DuckDBPyConnection, result: ChunkResult,
                   loaded_at: datetime) -> None:
    """Append the chunk's load issues, unknown fields and quarantined lines."""
    issues = [{"event_id": i.event_id, "table_name": i.table, "column_name": i.column,
               "value": i.value, "problem": i.problem, "segment": i.segment, "line": i.line,
               "chunk_id": result.chunk_id, "loaded_at": loaded_at} for i in result.issues]
    if issues:
        # a redelivery of an already loaded event does not record its issues again
        with json_rows(issues, _columns("_load_issues")) as rows:
            con.execute(f"INSERT INTO _load_issues SELECT * FROM {rows} "
                        "SEMI JOIN temp.chunk_new_ids USING (event_id)")
    unknown = [{"action": u.action, "field": u.field, "count": u.count,
                "first_seen": u.first_seen, "last_seen": u.last_seen}
               for u in result.unknown_fields]
    if unknown:
        with json_rows(unknown, _columns("_unknown_fields")) as rows:
            con.execute(f"INSERT INTO _unknown_fields SELECT * FROM {rows}")
    quarantined = [{"segment": q.segment, "line": q.line, "reason": q.reason,
                    "path": str(q.path), "chunk_id": result.chunk_id, "loaded_at": loaded_at}
                   for q in result.quarantined]
    if quarantined:
        with json_rows(quarantined, _columns("_quarantine")) as rows:
            con.execute(f"INSERT INTO _quarantine SELECT * FROM {rows}")


def _columns(table: str) -> dict[str, str]:
    """A bookkeeping table's columns and their types, from its DDL."""
    return dict(part.split()[:2] for part in BOOKKEEPING[table].split(", "))


def record_slices(con: duckdb.DuckDBPyConnection, result: ChunkResult,
                  slices: list[SegmentSlice], loaded_at: datetime) -> None:
    """Record how far each segment is loaded (same transaction as the rows)."""
    lines = result.segment_lines
    rows = [[piece.name, piece.end, piece.first_line - 1 + lines.get(piece.name, 0),
             piece.sealed, result.chunk_id, loaded_at] for piece in slices]
    if rows:
        con.executemany("INSERT INTO _spool_ledger VALUES (?, ?, ?, ?, ?, ?)", rows)

