"""The nightly export: every row RECEIVED on one local date, one Parquet file per table.

Layout: `exports/<table>/date=YYYY-MM-DD/<table>.parquet`, plus `exports/_manifest.json`:
`{"dates": {"YYYY-MM-DD": {"<table>": {"path": "...", "rows": n, "columns": [{"name": "...",
"type": "<Arrow type>"}, ...]}}}, "updated_at": "..."}`. A date's files have the warehouse's
columns of the night it was exported: a recorddata field first seen later is missing from
older dates' `session_recorddata` files (and a widened column has its older, narrower type
there), so the manifest lists each file's columns and readers union them by name
(docs/parts/analytics.md, "Nightly export").
Files are written under a temporary name, fsynced and renamed; re-running rewrites the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb

from genius_wh.layout import DataLayout
from genius_wh.segments import list_ready, segment_created
from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.errors import WarehouseError
from warehouse.exportfiles import columns_of, share_exports, update_manifest, write_parquet
from warehouse.lakehouse import lake_config, open_lake
from warehouse.loader import Position, ledger_positions
from warehouse.privacy import masked_select, select_modifiers

_NONE: Final = Position(offset=-1, line=0, sealed=False)

_WINDOW = "received_at >= ? AND received_at < ?"
#: The SELECT of each exported table: rows received in [start, end), in a stable order.
EXPORT_QUERIES: Final[dict[str, str]] = {
    **{table: f"SELECT * FROM {table} WHERE {_WINDOW} ORDER BY received_at, event_id"
       for table in EVENT_TABLES},
    SESSION_RECORDDATA: f"SELECT r.* FROM {SESSION_RECORDDATA} r JOIN session_ended s "
    f"USING (event_id) WHERE s.{_WINDOW.replace(' AND ', ' AND s.')} "
    "ORDER BY s.received_at, r.event_id",
}


class ExportFailed(WarehouseError):
    """The export could not load or write a date; nothing already exported was damaged."""


@dataclass(frozen=True, kw_only=True)
class ExportReport:
    """Rows written per table for one date, the columns of each file, and where."""

    day: date
    rows: dict[str, int]
    folder: Path
    columns: dict[str, list[dict[str, str]]]


def local_window(day: date, tz: Any) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of a date: 23, 24 or 25 hours long."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def local_yesterday(tz: Any) -> date:
    """Yesterday's date in `tz`: the date a nightly export is for."""
    return datetime.now(tz).date() - timedelta(days=1)


def write_date(settings: Settings, day: date) -> ExportReport:
    """Export every row received on `day`, once the warehouse holds all of it (the caller
    runs a batch first: orchestration/nightly.py)."""
    layout = DataLayout(root=settings.data_dir).ensure()
    share_exports(layout, settings.export_group)
    start, end = local_window(day, settings.tz)
    rows: dict[str, int] = {}
    columns: dict[str, list[dict[str, str]]] = {}
    with open_lake(lake_config(settings), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        _check_complete(con, layout, end)
        con.execute("BEGIN TRANSACTION")  # every table from one snapshot
        masks = select_modifiers(con, settings, list(EXPORT_QUERIES))  # exports only (#13)
        for table, select in EXPORT_QUERIES.items():
            rows[table], columns[table] = _write_table(
                con, masked_select(select, masks.get(table, "")), [start, end],
                export_path(layout, table, day))
        con.execute("COMMIT")
    report = ExportReport(day=day, rows=rows, folder=layout.exports, columns=columns)
    _update_manifest(layout, report)
    return report


def export_path(layout: DataLayout, table: str, day: date) -> Path:
    """Where a table's export of one date lives."""
    return layout.exports / table / f"date={day.isoformat()}" / f"{table}.parquet"


def _check_complete(con: duckdb.DuckDBPyConnection, layout: DataLayout, end: datetime) -> None:
    """Refuse a date while the spool still holds anything the warehouse has not loaded:
    each ready segment must be in the ledger to its end (the batch just run loaded every
    open one up to then)."""
    ready = list_ready(layout)
    positions = ledger_positions(con, [path.name for path in ready])
    missing = [path.name for path in ready
               if path.exists() and positions.get(path.name, _NONE).offset < path.stat().st_size
               and (segment_created(path) or datetime.min.replace(tzinfo=UTC)) < end]
    if missing:
        raise ExportFailed(f"{len(missing)} spool segments of that date are not loaded yet "
                           f"(first: {missing[0]}); run `genius-wh batch`, then export again")


def _write_table(con: duckdb.DuckDBPyConnection, select: str, params: list[Any],
                 target: Path) -> tuple[int, list[dict[str, str]]]:
    """Write one query's rows to `target` atomically; returns the row count and columns."""
    try:
        table = con.sql(select, params=params).to_arrow_table()
    except duckdb.CatalogException as exc:
        raise ExportFailed(f"cannot export {target.name}: {exc}") from exc
    return write_parquet(table, target), columns_of(table.schema)


def _update_manifest(layout: DataLayout, report: ExportReport) -> None:
    """Record one date's files, their row counts and their columns."""
    day = report.day

    def change(dates: dict[str, Any]) -> None:
        dates[day.isoformat()] = {
            table: {"path": str(export_path(layout, table, day).relative_to(layout.exports)),
                    "rows": n, "columns": report.columns[table]}
            for table, n in report.rows.items()}

    update_manifest(layout, change)
