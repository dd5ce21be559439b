"""The health of the feed: when each action of each integration last arrived, and the alarm.

Two sources, merged by taking the latest: the warehouse (`max(received_at)` per event table
and integration, as loaded by the last batch) and the receivers' metric files
(`genius_wh_last_event_timestamp_seconds`, fresher by one batch interval; read only).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from genius_wh.layout import DataLayout
from genius_wh.metricfiles import read_rows
from genius_wh.settings import Settings
from genius_wh.silence import LastEvents, merge_last_events, silent_feeds
from genius_wh.tables import ACTION_TABLES
from ingest.metrics import LAST_EVENT
from warehouse import connect
from warehouse.errors import WarehouseError

#: Event table -> action label (`session_ended` -> `sessionended`).
TABLE_ACTIONS = {table: action for action, table in ACTION_TABLES.items()}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The column names of a table or view of the connection's default schema."""
    cursor = con.execute(f"SELECT * FROM {table} LIMIT 0")
    return {str(d[0]) for d in cursor.description or []}


def last_events_from_warehouse(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], datetime]:
    """max(received_at) per action and integration (`default` before tables had the column)."""
    selects = []
    for table, action in TABLE_ACTIONS.items():
        named = "integration" in table_columns(con, table)
        integration = "coalesce(integration, 'default')" if named else "'default'"
        selects.append(f"SELECT '{action}' AS action, {integration} AS integration, "
                       f"max(received_at) AS last FROM {table} GROUP BY ALL")
    rows = con.execute(" UNION ALL ".join(selects)).fetchall()
    return {(str(action), str(name)): _aware(last) for action, name, last in rows
            if last is not None}


def last_events_from_metric_files(data_dir: Path) -> dict[tuple[str, str], datetime]:
    """The receiver's last-event gauge from its metric files (every process, the latest)."""
    found: dict[tuple[str, str], datetime] = {}
    for path in sorted(DataLayout(root=data_dir).metrics.glob("ingest-*.json")):
        for name, labels, value in read_rows(path):
            if name != LAST_EVENT or len(labels) != 2 or value <= 0:
                continue
            moment = datetime.fromtimestamp(value, UTC)
            key = (labels[0], labels[1])
            if key not in found or moment > found[key]:
                found[key] = moment
    return found


def feed_rows(last_events: LastEvents, now: datetime, settings: Settings) -> list[dict[str, Any]]:
    """One row per feed: action, integration, last event, its age and whether it is silent."""
    silent = {(f.action, f.integration): f for f in silent_feeds(
        last_events, now, settings.silence_alarm_minutes, settings.business_hours)}
    rows = []
    for key, last in sorted(last_events.items()):
        alarm = silent.get(key)
        rows.append({"action": key[0], "integration": key[1], "last_event": last,
                     "age_seconds": round(max((now - last).total_seconds(), 0.0), 1),
                     "silent": alarm is not None,
                     "silent_minutes": alarm.silent_minutes if alarm else 0.0})
    return rows


def last_events(con: duckdb.DuckDBPyConnection,
                data_dir: Path) -> dict[tuple[str, str], datetime]:
    """Both sources merged: what the warehouse loaded and what the receivers accepted."""
    return merge_last_events(last_events_from_warehouse(con),
                             last_events_from_metric_files(data_dir))


def feed_status(settings: Settings, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """For `genius-wh status`: one row per feed, from the warehouse and the metric files
    (before the first batch, from the metric files alone)."""
    try:
        with connect(settings=settings) as con:
            found = last_events(con, settings.data_dir)
    except (duckdb.Error, WarehouseError):
        found = last_events_from_metric_files(settings.data_dir)
    return feed_rows(found, now or datetime.now(UTC), settings)


def silence_gauge(rows: Iterable[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(action, integration, 0 or 1) per feed, for a `genius_wh_feed_silent` gauge."""
    return [(r["action"], r["integration"], 1.0 if r["silent"] else 0.0) for r in rows]


def _aware(moment: datetime) -> datetime:
    """DuckDB hands TIMESTAMPTZ back aware; a naive value is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
