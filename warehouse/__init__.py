"""warehouse: loads the lake into DuckDB exactly once; readers go through `connect()`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from genius_wh.layout import DataLayout


def connect(data_dir: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the newest published snapshot of the warehouse.

    Holding it for hours never blocks a batch; reconnect to see newer data.
    """
    from warehouse.snapshots import newest_snapshot

    layout = DataLayout(root=Path(data_dir) if data_dir is not None else _default_data_dir())
    snapshot = newest_snapshot(layout)
    if snapshot is None:
        snapshot = initialise(layout)
    try:
        return duckdb.connect(str(snapshot), read_only=True)
    except duckdb.IOException:
        # pruned between listing and opening: a newer one exists now
        newest = newest_snapshot(layout) or initialise(layout)
        return duckdb.connect(str(newest), read_only=True)


def initialise(layout: DataLayout, *, tz: str | None = None) -> Path:
    """Create the empty warehouse (if missing) and publish its first snapshot."""
    from genius_wh.settings import load_settings
    from warehouse.loader import open_writer
    from warehouse.locks import batch_lock
    from warehouse.schema import ensure_schema
    from warehouse.snapshots import newest_snapshot, publish_snapshot

    layout.ensure()
    with batch_lock(layout, blocking=True):
        existing = newest_snapshot(layout)
        if existing is not None:
            return existing
        con = open_writer(layout.warehouse, wait_seconds=30)
        try:
            ensure_schema(con, tz=tz or load_settings().timezone)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        return publish_snapshot(layout)


def _default_data_dir() -> Path:
    from genius_wh.settings import load_settings

    return load_settings().data_dir


__all__ = ["connect"]
