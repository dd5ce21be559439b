"""Warehouse DDL: contract tables from genius_wh.tables, code dimensions from the vendor's
specification, bookkeeping tables (prefixed `_`), the analytics views and `session_flat`.

The whole fixed schema is a list of statements with a version digest kept in
`_schema_version`: a batch applies it only when it changed, so an ordinary batch adds no
catalog changes of its own."""

from __future__ import annotations

import hashlib
from typing import Any, Final, cast

import duckdb

from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.erasures import LEDGER_DDL
from warehouse.lakehouse import ALIAS
from warehouse.sql import quote
from warehouse.views import create_views
from warehouse.views_reports import DISPOSITION_COLUMNS, DISPOSITIONS

#: Dialler result codes (spec, SessionEnded field table).
DIALLERRESULT: Final[tuple[tuple[int, str], ...]] = (
    (1, "Busy"), (2, "No Answer"), (7, "Abandoned"), (10, "Connected to agent"),
    *((code, "Bad or unobtainable number") for code in range(20, 31)),
)
#: Call types (spec, SessionEnded field table).
CALLTYPE: Final[tuple[tuple[int, str], ...]] = (
    (0, "Predictive outbound voice call"), (3, "Preview outbound voice call"),
    (4, "Progressive outbound voice call"), (5, "Inbound voice call"),
    (9, "Manually-dialled voice call"), (10, "Follow-on voice call"),
    (40, "Outbound Email"), (41, "Inbound Email"), (50, "Outbound SMS"),
    (51, "Inbound SMS"), (70, "Live chat"),
)
#: Agent states (spec, AgentActivity field table).
AGENTSTATE: Final[tuple[tuple[int, str], ...]] = (
    (0, "Not Logged In"), (1, "Connecting"), (2, "Logged in and unavailable"),
    (3, "Waiting for a call"), (4, "Previewing a call"), (5, "Breather between calls"),
    (6, "Talking"), (7, "In Wrap"), (8, "Waiting for a specific call (e.g. a callback)"),
    (9, "Dialling manual call"), (10, "Offering transfer"), (11, "Waiting to transfer"),
    (12, "Being offered transfer"), (15, "Dialling Preview"),
    (16, "Previewing offline message"), (17, "Processing offline message"),
)
DIMENSIONS: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    "dim_diallerresult": DIALLERRESULT, "dim_calltype": CALLTYPE, "dim_agentstate": AGENTSTATE,
}

#: Row counts reported per batch: every event table plus session_recorddata.
LOADED_TABLES: Final[tuple[str, ...]] = (*EVENT_TABLES, SESSION_RECORDDATA)

BOOKKEEPING: Final[dict[str, str]] = {
    "recorddata_fields": "field VARCHAR NOT NULL, column_name VARCHAR NOT NULL, "
    "column_type VARCHAR NOT NULL, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ",
    "_recorddata_columns": "column_name VARCHAR NOT NULL, value_type VARCHAR NOT NULL",
    "_spool_ledger": "segment VARCHAR NOT NULL, end_offset BIGINT NOT NULL, "
    "end_line BIGINT NOT NULL, sealed BOOLEAN NOT NULL, chunk_id VARCHAR NOT NULL, "
    "loaded_at TIMESTAMPTZ NOT NULL",
    "_batches": "id VARCHAR NOT NULL, started TIMESTAMPTZ NOT NULL, finished TIMESTAMPTZ, "
    "outcome VARCHAR NOT NULL, message VARCHAR, chunks BIGINT, events BIGINT, "
    "quarantined BIGINT, issues BIGINT, "
    + ", ".join(f"{quote('rows_' + t)} BIGINT" for t in LOADED_TABLES),
    "_load_issues": "event_id VARCHAR, table_name VARCHAR, column_name VARCHAR, "
    "value VARCHAR, problem VARCHAR, segment VARCHAR, line BIGINT, chunk_id VARCHAR, "
    "loaded_at TIMESTAMPTZ",
    "_unknown_fields": "action VARCHAR, field VARCHAR, count BIGINT, first_seen TIMESTAMPTZ, "
    "last_seen TIMESTAMPTZ",
    "_quarantine": "segment VARCHAR, line BIGINT, reason VARCHAR, path VARCHAR, "
    "chunk_id VARCHAR, loaded_at TIMESTAMPTZ",
    "_schema_version": "version VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL",
    DISPOSITIONS: DISPOSITION_COLUMNS,  # the user's list: genius-wh dispositions load
}


def table_ddl(name: str) -> str:
    """CREATE TABLE IF NOT EXISTS for one contract event table (DuckLake has no keys: the
    loader keeps event_id unique)."""
    columns = ", ".join(f"{quote(col)} {kind}" for col, kind in EVENT_TABLES[name])
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({columns})"


class _Recorder:
    """Collects the SQL that view builders would run, so it can be versioned first."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sql: str, parameters: object = None) -> _Recorder:
        assert parameters is None, "schema statements take no parameters"
        self.statements.append(sql)
        return self


#: DuckLake options of the warehouse (kept in its catalog, so every writer uses them).
#: A row group closes at 16 MB of buffered data rather than at 122,880 rows: a writer holds
#: one row group per file it writes, and a wide session_recorddata chunk's was ~60 MiB (the
#: 1M-event batch's loader: 430 -> 358 MiB peak RSS, same speed; measured 2026-12-02).
LAKE_OPTIONS: Final = (("parquet_row_group_size_bytes", "16MB"),)


def schema_statements(*, tz: str, views: dict[str, Any] | None = None) -> list[str]:
    """Every CREATE of the fixed schema: tables, dimensions and analytics views (pure)."""
    statements = [f"CALL {ALIAS}.set_option('{name}', '{value}')" for name, value in LAKE_OPTIONS]
    statements += [table_ddl(name) for name in EVENT_TABLES]
    statements.append(f"CREATE TABLE IF NOT EXISTS {quote(SESSION_RECORDDATA)} "
                      "(event_id VARCHAR)")
    statements += [f"CREATE TABLE IF NOT EXISTS {quote(name)} ({columns})"
                   for name, columns in BOOKKEEPING.items()]
    statements += LEDGER_DDL  # empty until a forget: the loader reads it without asking
    for name, rows in DIMENSIONS.items():
        statements.append(f"CREATE TABLE IF NOT EXISTS {quote(name)} "
                          "(code INTEGER NOT NULL, description VARCHAR NOT NULL)")
        statements.append(f"DELETE FROM {quote(name)}")
        values = ", ".join(f"({code}, '{text.replace(chr(39), chr(39) * 2)}')"
                           for code, text in rows)
        statements.append(f"INSERT INTO {quote(name)} VALUES {values}")
    recorder = _Recorder()
    create_views(cast(duckdb.DuckDBPyConnection, recorder), tz=tz, **(views or {}))
    return statements + recorder.statements


def schema_version(statements: list[str]) -> str:
    """A digest of the schema statements: a new one means the schema must be applied."""
    return hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]


def ensure_schema(con: duckdb.DuckDBPyConnection, *, tz: str,
                  views: dict[str, Any] | None = None) -> bool:
    """Create or update every table, dimension and view when the schema changed, in the
    caller's transaction; True when it did (nothing is written when it is current)."""
    statements = schema_statements(tz=tz, views=views)
    version = schema_version(statements)
    if _current_version(con) == version:
        return False
    for statement in statements:
        con.execute(statement)
    create_session_flat(con)
    con.execute("DELETE FROM _schema_version")
    con.execute("INSERT INTO _schema_version VALUES (?, now())", [version])
    return True


def _current_version(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("SELECT max(version) FROM _schema_version").fetchone()
    except duckdb.CatalogException:
        return None
    return str(row[0]) if row and row[0] is not None else None


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of one table, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = current_schema() "
        "AND table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def session_flat_sql(ended: list[str], recorddata: list[str]) -> str:
    """The session_flat view: session_ended LEFT JOIN session_recorddata, clashes as rd_*."""
    taken = set(ended)
    picks = [f"s.{quote(col)}" for col in ended]
    for col in recorddata:
        if col == "event_id":
            continue
        alias = f"rd_{col}" if col in taken else col
        picks.append(f"r.{quote(col)} AS {quote(alias)}")
    return (f"CREATE OR REPLACE VIEW session_flat AS SELECT {', '.join(picks)} "
            f"FROM session_ended s LEFT JOIN {quote(SESSION_RECORDDATA)} r "
            "ON r.event_id = s.event_id")


def create_session_flat(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create session_flat from the current columns of both tables."""
    ended = list(table_columns(con, "session_ended"))
    recorddata = list(table_columns(con, SESSION_RECORDDATA))
    con.execute(session_flat_sql(ended, recorddata))



def view_options(settings: Settings) -> dict[str, Any]:
    """The settings the analytics views are built with (besides the time zone)."""
    return {"ofcom_limit": settings.ofcom_limit, "ofcom_calltypes": settings.ofcom_calltypes,
            "amd_false_positive_rate": settings.amd_false_positive_rate,
            "agent_state_cap_minutes": settings.agent_state_cap_minutes,
            "short_abandon_seconds": settings.short_abandon_seconds}
