"""Warehouse DDL: contract tables from genius_wh.tables, code dimensions from the vendor's
specification, bookkeeping tables (prefixed `_`) and the `session_flat` view."""

from __future__ import annotations

import logging
from typing import Final

import duckdb

from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.sql import quote

log = logging.getLogger(__name__)

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
    "recorddata_fields": "field VARCHAR PRIMARY KEY, column_name VARCHAR NOT NULL, "
    "column_type VARCHAR NOT NULL, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ",
    "_recorddata_columns": "column_name VARCHAR PRIMARY KEY, value_type VARCHAR NOT NULL",
    "_loaded_segments": "segment VARCHAR PRIMARY KEY, chunk_id VARCHAR NOT NULL, "
    "loaded_at TIMESTAMPTZ NOT NULL, events BIGINT NOT NULL",
    "_batches": "id BIGINT PRIMARY KEY, started TIMESTAMPTZ NOT NULL, finished TIMESTAMPTZ, "
    "outcome VARCHAR NOT NULL, message VARCHAR, chunks BIGINT, events BIGINT, "
    "quarantined BIGINT, issues BIGINT, "
    + ", ".join(f"{quote('rows_' + t)} BIGINT" for t in LOADED_TABLES),
    "_load_issues": "event_id VARCHAR, table_name VARCHAR, column_name VARCHAR, "
    "value VARCHAR, problem VARCHAR, segment VARCHAR, line BIGINT, chunk_id VARCHAR, "
    "loaded_at TIMESTAMPTZ",
    "_unknown_fields": "action VARCHAR, field VARCHAR, count BIGINT, first_seen TIMESTAMPTZ, "
    "last_seen TIMESTAMPTZ, PRIMARY KEY (action, field)",
    "_quarantine": "segment VARCHAR, line BIGINT, reason VARCHAR, path VARCHAR, "
    "chunk_id VARCHAR, loaded_at TIMESTAMPTZ",
}


def table_ddl(name: str) -> str:
    """CREATE TABLE IF NOT EXISTS for one contract event table (event_id primary key)."""
    columns = ", ".join(
        f"{quote(col)} {kind}{' PRIMARY KEY' if col == 'event_id' else ''}"
        for col, kind in EVENT_TABLES[name])
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({columns})"


def ensure_schema(con: duckdb.DuckDBPyConnection, *, tz: str) -> None:
    """Create every table, dimension and view that is missing (idempotent)."""
    for name in EVENT_TABLES:
        con.execute(table_ddl(name))
    con.execute(f"CREATE TABLE IF NOT EXISTS {quote(SESSION_RECORDDATA)} "
                "(event_id VARCHAR PRIMARY KEY)")
    for name, columns in BOOKKEEPING.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {quote(name)} ({columns})")
    for name, rows in DIMENSIONS.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {quote(name)} "
                    "(code INTEGER PRIMARY KEY, description VARCHAR NOT NULL)")
        con.executemany(f"INSERT OR REPLACE INTO {quote(name)} VALUES (?, ?)", list(rows))
    create_session_flat(con)
    create_analytics_views(con, tz=tz)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of one table, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
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


def create_analytics_views(con: duckdb.DuckDBPyConnection, *, tz: str) -> None:
    """The analytics engineer's contact-centre views (warehouse/views.py), when present."""
    try:
        from warehouse.views import create_views
    except ImportError:
        log.debug("warehouse.views not available yet; analytics views skipped")
        return
    create_views(con, tz=tz)
