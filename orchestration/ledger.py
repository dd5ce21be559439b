"""The `_batches` table: one row per batch that loaded something or failed, with its
outcome and rows per table (an empty batch writes nothing, so a short interval is cheap)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from genius_wh.segments import new_chunk_id
from warehouse.schema import LOADED_TABLES
from warehouse.sql import quote_all

if TYPE_CHECKING:
    from orchestration.pipeline import Tally


def record_batch_row(con: duckdb.DuckDBPyConnection, started: datetime, tally: Tally, *,
                     outcome: str, message: str | None) -> str:
    """Insert a batch's row (in the caller's transaction); returns its id, sortable by time
    and unique across loaders on several machines."""
    batch_id = new_chunk_id(started)
    columns = ["id", "started", "finished", "outcome", "message", "chunks", "events",
               "quarantined", "issues", *(f"rows_{table}" for table in LOADED_TABLES)]
    values = [batch_id, started, datetime.now(UTC), outcome, message, tally.chunks,
              tally.events, tally.quarantined, tally.issues,
              *(tally.rows[table] for table in LOADED_TABLES)]
    con.execute(f"INSERT INTO _batches ({quote_all(columns)}) VALUES "
                f"({', '.join('?' * len(values))})", values)
    return batch_id
