"""`genius-wh status`: spool backlog, last batch, rows per table, last export, problems.

Reads files and the warehouse read-only, so it never blocks (or waits for) the loader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import orjson

from genius_wh.cardcount import card_numbers_masked
from genius_wh.layout import SEGMENT_SUFFIX, DataLayout
from genius_wh.settings import Settings
from warehouse.lakehouse import (
    ALIAS,
    WarehouseUnavailable,
    display_catalog,
    lake_config,
    open_lake,
)
from warehouse.schema import LOADED_TABLES
from warehouse.sql import quote

#: Bytes of segments read to count lines; beyond it the line count is extrapolated.
COUNT_BYTES = 64 * 2**20


def folder_backlog(folder: Path, *, recursive: bool = False) -> dict[str, int | bool]:
    """Segments, lines and bytes of the spool segments in one folder (lines are counted in
    the first COUNT_BYTES and extrapolated beyond, so a huge backlog stays quick to show)."""
    pattern = f"**/*{SEGMENT_SUFFIX}" if recursive else f"*{SEGMENT_SUFFIX}"
    segments = lines = size = counted_bytes = 0
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
        try:
            length = path.stat().st_size
            if counted_bytes < COUNT_BYTES:
                lines += path.read_bytes().count(b"\n")
                counted_bytes += length
        except FileNotFoundError:
            continue  # moved on by a batch meanwhile
        segments += 1
        size += length
    estimated = counted_bytes < size
    if estimated and counted_bytes:
        lines = round(lines * size / counted_bytes)
    return {"segments": segments, "lines": lines, "bytes": size, "lines_estimated": estimated}


def spool_backlog(layout: DataLayout) -> dict[str, dict[str, int | bool]]:
    """Backlog of open, ready and working segments."""
    return {"open": folder_backlog(layout.spool_open),
            "ready": folder_backlog(layout.spool_ready),
            "working": folder_backlog(layout.spool_working, recursive=True)}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def warehouse_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Last batch, rows per table, problem counts, data files and snapshots."""
    last = _rows(con, "SELECT id, started, finished, outcome, message, chunks, events "
                      "FROM _batches ORDER BY started DESC LIMIT 1")
    rows = {table: _rows(con, f"SELECT count(*) AS n FROM {quote(table)}")[0]["n"]
            for table in LOADED_TABLES}
    unknown = _rows(con, "SELECT action, field, sum(count) AS count, max(last_seen) AS "
                         "last_seen FROM _unknown_fields GROUP BY ALL ORDER BY action, field")
    issues = _rows(con, "SELECT count(*) AS total, count(*) FILTER (WHERE loaded_at > "
                        "now() - INTERVAL 1 DAY) AS last_24h FROM _load_issues")[0]
    quarantined = _rows(con, "SELECT count(*) AS n FROM _quarantine")[0]["n"]
    files = _rows(con, f"SELECT sum(file_count) AS files, sum(file_size_bytes) AS bytes, "
                       f"sum(delete_file_count) AS delete_files FROM ducklake_table_info("
                       f"'{ALIAS}')")[0]
    snapshots = _rows(con, f"SELECT min(snapshot_id) AS oldest_id, max(snapshot_id) AS "
                           f"newest_id, min(snapshot_time) AS oldest, max(snapshot_time) AS "
                           f"newest, count(*) AS count FROM {ALIAS}.snapshots()")[0]
    return {"last_batch": _jsonable(last[0]) if last else None, "rows": rows,
            "load_issues": issues, "unknown_fields": [_jsonable(u) for u in unknown],
            "quarantined_lines": quarantined,
            "data_files": {k: int(v or 0) for k, v in files.items()},
            "snapshots": _jsonable(snapshots)}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def last_export(layout: DataLayout) -> Any:
    """The newest entry of exports/_manifest.json, or None."""
    try:
        manifest = orjson.loads((layout.exports / "_manifest.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    if isinstance(manifest, dict):
        dates = manifest.get("dates", manifest)
        if isinstance(dates, dict) and dates:
            newest = max(dates)
            return {"date": newest, "files": dates[newest]}
    return manifest


def collect_status(settings: Settings) -> dict[str, Any]:
    """Everything `genius-wh status` shows, JSON-serialisable."""
    layout = DataLayout(root=settings.data_dir)
    config = lake_config(settings)
    status: dict[str, Any] = {"data_dir": str(layout.root), "spool": spool_backlog(layout),
                              "quarantine_files": _count_files(layout.quarantine),
                              "last_export": last_export(layout),
                              "catalog": display_catalog(config), "lake": config.data_path,
                              "card_numbers_masked": card_numbers_masked(layout),
                              "warehouse": None}
    try:
        with open_lake(config, read_only=True) as con:
            status.update(warehouse_status(con), warehouse="ok")
    except WarehouseUnavailable as exc:
        status["warehouse"] = str(exc)
        status.update({"last_batch": None, "rows": dict.fromkeys(LOADED_TABLES, 0),
                       "load_issues": {"total": 0, "last_24h": 0}, "unknown_fields": [],
                       "quarantined_lines": 0})
    return status


def _count_files(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(len(files) for _, _, files in os.walk(folder))
