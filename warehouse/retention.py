"""Retention (issue #13, UK GDPR storage limitation): with `retention_days` set, what is
older goes; `genius-wh maintain` and the scheduler call `apply_retention`.

- warehouse rows received before now - retention_days, from every event table (a session's
  recorddata row with it), with their `_load_issues` and `_quarantine` rows; data files with
  deletes are rewritten, so only snapshots younger than `snapshot_retention_hours` still
  reach them, until `maintain` expires those;
- spool archive folders (named for the local date their segments were loaded) before the
  cutoff's local date;
- export dates before the cutoff's local date (their files and manifest entries);
- quarantined files last written before the cutoff.

`rebuild` replays only the archive that is left, so it builds the same retained window.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from genius_wh.archive import apply_retention as drop_archive_days
from genius_wh.layout import DataLayout
from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.exportfiles import read_manifest, update_manifest
from warehouse.forget import refresh_text_stats
from warehouse.lakehouse import ALIAS, lake_config, open_lake
from warehouse.loader import transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.sql import quote
from warehouse.summaries import mark_deleted


@dataclass(kw_only=True)
class RetentionReport:
    """What retention removed: rows per table, archive folders, export dates, files."""

    cutoff: datetime | None = None
    rows: dict[str, int] = field(default_factory=dict)
    archive_days: list[str] = field(default_factory=list)
    export_days: list[str] = field(default_factory=list)
    quarantine_files: int = 0
    skipped: str | None = None


def apply_retention(settings: Settings, *, now: datetime | None = None,
                    blocking: bool = True) -> RetentionReport:
    """Remove everything older than `retention_days` (nothing when it is 0), holding the
    writer locks (skipped when a batch runs and not `blocking`)."""
    if settings.retention_days <= 0:
        return RetentionReport(skipped="retention_days is 0: everything is kept")
    layout = DataLayout(root=settings.data_dir).ensure()
    config = lake_config(settings)
    with batch_lock(layout, blocking=blocking) as held:
        if not held:
            return RetentionReport(skipped="a batch is running")
        with writer_lock(config), open_lake(config, read_only=False) as con:
            tune_writer(con)
            return retain(con, settings, now=now)


def retain(con: duckdb.DuckDBPyConnection, settings: Settings, *,
           now: datetime | None = None) -> RetentionReport:
    """apply_retention on a writer connection whose caller holds the locks (`maintain`)."""
    if settings.retention_days <= 0:
        return RetentionReport(skipped="retention_days is 0: everything is kept")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
    local_day = cutoff.astimezone(settings.tz).date()
    layout = DataLayout(root=settings.data_dir)
    report = RetentionReport(cutoff=cutoff, rows=_delete_rows(con, cutoff))
    if any(report.rows.values()):
        con.execute(f"CALL ducklake_rewrite_data_files({ALIAS!r}, delete_threshold => 0)")
        refresh_text_stats(con)
    report.archive_days = drop_archive_days(layout, local_day + timedelta(days=1), 1)
    report.export_days = _drop_exports(layout, local_day)
    report.quarantine_files = _drop_quarantine(layout, cutoff)
    return report


def _delete_rows(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> dict[str, int]:
    """Delete every row received before `cutoff`; rows per table."""
    rows: dict[str, int] = {}
    with transaction(con):
        mark_deleted(con, "received_at < $cutoff", {"cutoff": cutoff})
        found = con.execute(f"DELETE FROM {SESSION_RECORDDATA} WHERE event_id IN (SELECT "
                            "event_id FROM session_ended WHERE received_at < ?)",
                            [cutoff]).fetchone()
        rows[SESSION_RECORDDATA] = int(found[0]) if found else 0
        for table in EVENT_TABLES:
            found = con.execute(f"DELETE FROM {quote(table)} WHERE received_at < ?",
                                [cutoff]).fetchone()
            rows[table] = int(found[0]) if found else 0
        for table in ("_load_issues", "_quarantine"):
            con.execute(f"DELETE FROM {table} WHERE loaded_at < ?", [cutoff])
    return rows


def _drop_exports(layout: DataLayout, before: date) -> list[str]:
    """Delete the export dates before `before` (files, folders, manifest entries)."""
    days = sorted(d for d in read_manifest(layout).get("dates", {})
                  if date.fromisoformat(d) < before)
    for folder in layout.exports.glob("*/date=*"):
        if folder.is_dir() and folder.name.removeprefix("date=") < before.isoformat():
            shutil.rmtree(folder)
    if days:
        def change(dates: dict[str, Any]) -> None:
            for day in days:
                dates.pop(day, None)

        update_manifest(layout, change)
    return days


def _drop_quarantine(layout: DataLayout, cutoff: datetime) -> int:
    """Delete quarantined files last written before `cutoff`; how many bodies or lines."""
    gone = 0
    for pattern in ("*.body", "spool/*.bad"):
        for path in layout.quarantine.glob(pattern):
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                sidecar = ".json" if path.suffix == ".body" else ".reason"
                path.unlink(missing_ok=True)
                path.with_suffix(sidecar).unlink(missing_ok=True)
                gone += 1
    return gone
