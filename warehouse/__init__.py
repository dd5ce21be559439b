"""warehouse: loads the staged chunks into the DuckLake warehouse exactly once; readers go
through `connect()`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from genius_wh.settings import Settings, load_settings
from warehouse.lakehouse import lake_config, open_lake


def connect(data_dir: str | Path | None = None, *, as_of: datetime | None = None,
            settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse, with every table and view.

    It reads the newest committed snapshot (or the one current at `as_of`, within
    `snapshot_retention_hours`); holding it for hours never blocks a batch, and a new query
    on it after a batch's commit sees that commit.
    """
    if settings is None:
        settings = load_settings(data_dir=data_dir) if data_dir is not None else load_settings()
    elif data_dir is not None:
        settings = settings.model_copy(update={"data_dir": Path(data_dir)})
    return open_lake(lake_config(settings), read_only=True, as_of=as_of)


__all__ = ["connect"]
