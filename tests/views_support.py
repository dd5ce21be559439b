"""An in-memory DuckDB with the contract tables, hand-made rows and the analytics views."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import duckdb

from genius_wh.tables import EVENT_TABLES
from warehouse.views import create_views

_IDS = itertools.count()

#: Just the codes the hand-built cases use (the real dimensions come with the schema).
DIMENSIONS: dict[str, list[tuple[int, str]]] = {
    "dim_diallerresult": [(1, "Busy"), (2, "No Answer"), (7, "Abandoned"),
                          (10, "Connected to agent")],
    "dim_calltype": [(0, "Predictive outbound voice call"), (3, "Preview outbound voice call"),
                     (4, "Progressive outbound voice call"), (5, "Inbound voice call"),
                     (50, "Outbound SMS")],
    "dim_agentstate": [(0, "Not Logged In"), (2, "Logged in and unavailable"),
                       (3, "Waiting for a call"), (6, "Talking"), (7, "In Wrap")],
}


def contract_tables() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database holding empty contract tables and the dimensions."""
    con = duckdb.connect()
    for table, columns in EVENT_TABLES.items():
        con.execute(f"CREATE TABLE {table} ("
                    + ", ".join(f"{name} {kind}" for name, kind in columns) + ")")
    for table, rows in DIMENSIONS.items():
        con.execute(f"CREATE TABLE {table} (code INTEGER, description VARCHAR)")
        con.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)
    return con


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows given as column -> value; event_id and the envelope times are filled in."""
    for row in rows:
        full = {"event_id": f"{table}-{next(_IDS)}",
                "event_timestamp": row.get("event_timestamp", "2026-07-06 12:00:00+01"),
                "received_at": "2026-07-06 12:00:01+01", **row}
        marks = ", ".join("?" for _ in full)
        con.execute(f"INSERT INTO {table} ({', '.join(full)}) VALUES ({marks})",
                    list(full.values()))


def with_views(con: duckdb.DuckDBPyConnection, **settings: Any) -> duckdb.DuckDBPyConnection:
    """Create the views (Europe/London unless `tz=` says otherwise) and read in UTC."""
    create_views(con, **{"tz": "Europe/London", **settings})
    con.execute("SET TimeZone = 'UTC'")  # the views must not depend on the reader's zone
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """All rows of a query."""
    return con.execute(sql).fetchall()
