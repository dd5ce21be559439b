"""`genius-wh maintain`: warehouse housekeeping, also run by the scheduler.

- merges the small Parquet files that frequent small batches write (DuckLake's
  merge_adjacent_files), so a day of 5-second batches does not leave tens of thousands;
- expires snapshots older than `snapshot_retention_hours` (time travel reaches back that
  far, no further) and deletes the data files no snapshot needs any more;
- summarises the settled and the dirty days of `v_agent_daily`, `v_campaign_daily` and
  `v_ofcom_compliance` (warehouse/summaries.py), after retention and before the merge.

It writes, so it holds the writer locks: a batch waits for it, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from genius_wh.durable import crash_point
from genius_wh.gauges import record_ofcom
from genius_wh.layout import DataLayout
from genius_wh.settings import Settings
from warehouse.lakehouse import ALIAS, lake_config, open_lake
from warehouse.loader import transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.retention import retain
from warehouse.schema import view_options
from warehouse.summaries import refresh
from warehouse.views import FigureSettings


@dataclass(frozen=True, kw_only=True)
class MaintainReport:
    """Data files and snapshots before and after housekeeping."""

    files_before: int
    files_after: int
    snapshots_expired: int
    files_deleted: int
    skipped: str | None = None


def maintain(settings: Settings, *, blocking: bool = True) -> MaintainReport:
    """Merge small files, expire old snapshots, delete unreferenced files."""
    layout = DataLayout(root=settings.data_dir).ensure()
    config = lake_config(settings)
    with batch_lock(layout, blocking=blocking) as held:
        if not held:
            return MaintainReport(files_before=0, files_after=0, snapshots_expired=0,
                                  files_deleted=0, skipped="a batch is running")
        with writer_lock(config), open_lake(config, read_only=False) as con:
            tune_writer(con)
            report = _housekeep(con, settings)
            _record_ofcom(con, layout)
            return report


def _record_ofcom(con: duckdb.DuckDBPyConnection, layout: DataLayout) -> None:
    """Hand the campaigns over the Ofcom limit in the last 24 hours to /metrics (a query over
    the day's calls: here, every 15 minutes, rather than in every batch)."""
    rows = con.execute("SELECT campaign, over_limit FROM v_ofcom_last_24h "
                       "WHERE scope = 'campaign'").fetchall()
    record_ofcom(layout.root, {str(campaign): bool(flag) for campaign, flag in rows})


def _housekeep(con: duckdb.DuckDBPyConnection, settings: Settings) -> MaintainReport:
    retain(con, settings)  # rows, archive days and exports past retention_days (#13)
    refresh_summaries(con, settings)
    before = data_file_count(con)
    merge_small_files(con)
    crash_point("during-maintain")
    cutoff = datetime.now(UTC) - timedelta(hours=settings.snapshot_retention_hours)
    expired = con.execute(f"CALL ducklake_expire_snapshots({ALIAS!r}, older_than => ?)",
                          [cutoff]).fetchall()
    deleted = con.execute(f"CALL ducklake_cleanup_old_files({ALIAS!r}, cleanup_all => true)"
                          ).fetchall()
    return MaintainReport(files_before=before, files_after=data_file_count(con),
                          snapshots_expired=len(expired), files_deleted=len(deleted))


def refresh_summaries(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Summarise the settled and dirty days with the views' settings, in one transaction."""
    with transaction(con):
        return refresh(con, FigureSettings(tz=settings.timezone, **view_options(settings)))


#: Files merged by one call, and the largest file merged: bound the memory a merge takes
#: (merging a 1M-event backlog's large files ran out of the writer's 512 MiB on the
#: 460-column session_recorddata). Small files are what frequent batches leave; large ones
#: come from backlogs (a 50,000-event chunk's session_recorddata file is ~3 MiB) and need
#: no merge.
MERGE_FILES_PER_CALL = 16
MERGE_MAX_FILE_BYTES = 2**20


def merge_small_files(con: duckdb.DuckDBPyConnection) -> None:
    """Merge adjacent small files table by table, a bounded number at a time."""
    tables = [str(name) for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [ALIAS]).fetchall()]
    for table in tables:
        before = -1
        while True:
            count = table_file_count(con, table)
            if count == before or count <= 1:
                break
            before = count
            con.execute(f"CALL ducklake_merge_adjacent_files({ALIAS!r}, ?, "
                        f"max_compacted_files => {MERGE_FILES_PER_CALL}, "
                        f"max_file_size => {MERGE_MAX_FILE_BYTES})", [table])


def table_file_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Data files of one table in the current snapshot."""
    row = con.execute(f"SELECT coalesce(sum(file_count), 0) FROM ducklake_table_info("
                      f"{ALIAS!r}) WHERE table_name = ?", [table]).fetchone()
    return int(row[0]) if row else 0


def data_file_count(con: duckdb.DuckDBPyConnection) -> int:
    """Data files of the current snapshot, all tables."""
    row = con.execute(f"SELECT coalesce(sum(file_count), 0) FROM ducklake_table_info({ALIAS!r})"
                      ).fetchone()
    return int(row[0]) if row else 0
