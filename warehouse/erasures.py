"""The erasure ledger (issue #13): what `forget` erased, without personal data, and the
erased event ids the loader must never load again.

- `_erasures(id, erased_at, kind, identifier_hash, counts)`: one row per erasure; the
  identifier as a keyed HMAC, the counts per place;
- `_erased_events(event_id, erasure_id)`: every erased event id.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb

ERASURES: Final = "_erasures"
ERASED_EVENTS: Final = "_erased_events"
LEDGER_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {ERASURES} (id VARCHAR, erased_at TIMESTAMPTZ, "
    "kind VARCHAR, identifier_hash VARCHAR, counts JSON)",
    f"CREATE TABLE IF NOT EXISTS {ERASED_EVENTS} (event_id VARCHAR, erasure_id VARCHAR)",
)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                      "AND table_catalog = current_database()", [table]).fetchone()
    return bool(row and row[0])


#: For the loader, which runs after the fixed schema is applied (warehouse/schema.py creates
#: the ledger tables): the SELECT of every erased event_id.
ERASED_IDS: Final = f"SELECT event_id FROM {ERASED_EVENTS}"


def erased_ids_select(con: duckdb.DuckDBPyConnection) -> str | None:
    """ERASED_IDS where the ledger may not exist yet (a warehouse not written since before
    the ledger was part of its schema): None when it does not."""
    return ERASED_IDS if _exists(con, ERASED_EVENTS) else None


def erasure_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Both ledger tables' rows, for `rebuild` to carry into the new catalog."""
    return {table: con.execute(f"SELECT * FROM {table}").fetchall()
            for table in (ERASURES, ERASED_EVENTS) if _exists(con, table)}


def restore_erasures(con: duckdb.DuckDBPyConnection,
                     rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Create the ledger tables in a (new) catalog and put `erasure_rows` back."""
    for statement in LEDGER_DDL:
        con.execute(statement)
    for table, values in rows.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
