"""The health of the feed: when each action of each integration last arrived, and the alarm.

Two sources, merged by taking the latest: the warehouse (`max(received_at)` per event table
and integration, as loaded by the last batch) and, inside `genius-wh serve`, the receiver's
own `genius_wh_last_event_timestamp_seconds` gauge (fresher by one batch interval).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import duckdb
from prometheus_client.parser import text_string_to_metric_families

from genius_wh.settings import Settings
from genius_wh.tables import ACTION_TABLES
from wallboard.silence import LastEvents, merge_last_events, silent_feeds
from warehouse import connect

#: Event table -> action label (`session_ended` -> `sessionended`).
TABLE_ACTIONS = {table: action for action, table in ACTION_TABLES.items()}
LAST_EVENT_METRIC = "genius_wh_last_event_timestamp_seconds"
DEFAULT_INTEGRATION = "default"


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The column names of a table or view of the connection's default schema."""
    cursor = con.execute(f"SELECT * FROM {table} LIMIT 0")
    return {str(d[0]) for d in cursor.description or []}


def last_events_from_warehouse(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], datetime]:
    """max(received_at) per action and integration (`default` before tables had the column)."""
    found: dict[tuple[str, str], datetime] = {}
    for table, action in TABLE_ACTIONS.items():
        named = "integration" in table_columns(con, table)
        integration = "coalesce(integration, 'default')" if named else "'default'"
        rows = con.execute(f"SELECT {integration}, max(received_at) FROM {table} "
                           "WHERE received_at IS NOT NULL GROUP BY 1").fetchall()
        for name, last in rows:
            found[(action, str(name))] = _aware(last)
    return found


def last_events_from_metrics(text: str) -> dict[tuple[str, str], datetime]:
    """The receiver's last-event gauge out of Prometheus text (empty while it has none)."""
    found: dict[tuple[str, str], datetime] = {}
    for family in text_string_to_metric_families(text):
        if family.name != LAST_EVENT_METRIC:
            continue
        for sample in family.samples:
            action = sample.labels.get("action", "")
            integration = sample.labels.get("integration", DEFAULT_INTEGRATION)
            if action and sample.value > 0:
                found[(action, integration)] = datetime.fromtimestamp(sample.value, UTC)
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


def feed_status(settings: Settings, *, now: datetime | None = None,
                metrics_text: str | None = None) -> list[dict[str, Any]]:
    """For `genius-wh status`: the feed rows from the newest warehouse snapshot."""
    with connect(settings.data_dir) as con:
        loaded = last_events_from_warehouse(con)
    received = last_events_from_metrics(metrics_text) if metrics_text else {}
    return feed_rows(merge_last_events(loaded, received), now or datetime.now(UTC), settings)


def silence_gauge(rows: Iterable[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(action, integration, 0 or 1) per feed, for a `genius_wh_feed_silent` gauge."""
    return [(r["action"], r["integration"], 1.0 if r["silent"] else 0.0) for r in rows]


def _aware(moment: datetime) -> datetime:
    """DuckDB hands TIMESTAMPTZ back aware; a naive value is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
