"""The `_batches` table: one row per batch with its outcome and rows per table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from warehouse.schema import LOADED_TABLES
from warehouse.sql import quote

if TYPE_CHECKING:
    from warehouse.pipeline import Tally


def start_batch(con: duckdb.DuckDBPyConnection) -> int:
    """Insert a 'running' row and return the batch id.

    Runs under the batch lock, so an earlier row still 'running' was killed: it is marked
    'interrupted' (its chunks were loaded or are recovered by this batch).
    """
    con.execute("UPDATE _batches SET outcome = 'interrupted', message = 'the batch process "
                "ended without finishing (killed?); recovered by the next batch' "
                "WHERE outcome = 'running'")
    row = con.execute("SELECT coalesce(max(id), 0) + 1 FROM _batches").fetchone()
    batch_id = int(row[0]) if row else 1
    con.execute("INSERT INTO _batches (id, started, outcome) VALUES (?, ?, 'running')",
                [batch_id, datetime.now(UTC)])
    return batch_id


def finish_batch(con: duckdb.DuckDBPyConnection, batch_id: int, tally: Tally, *,
                 outcome: str, message: str | None) -> None:
    """Record a batch's end, outcome, message and totals."""
    sets = ", ".join(f"{quote('rows_' + table)} = ?" for table in LOADED_TABLES)
    con.execute(
        f"UPDATE _batches SET finished = ?, outcome = ?, message = ?, chunks = ?, events = ?, "
        f"quarantined = ?, issues = ?, {sets} WHERE id = ?",
        [datetime.now(UTC), outcome, message, tally.chunks, tally.events, tally.quarantined,
         tally.issues, *(tally.rows[table] for table in LOADED_TABLES), batch_id])
