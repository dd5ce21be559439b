"""Read-only snapshot copies of warehouse.duckdb for readers (notebooks, `sql`, `status`).

After a batch that changed something the loader publishes `snapshots/warehouse-<n>.duckdb`
(copy to a temporary name, fsync, rename). Readers open the newest one read-only, so they
never hold DuckDB's lock on warehouse.duckdb. The newest KEEP stay; older ones are unlinked,
and a reader that still has one open keeps reading it (the inode lives until it is closed).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Final

from genius_wh.durable import fsync_path
from genius_wh.layout import DataLayout

KEEP: Final = 3
_NAME = re.compile(r"^warehouse-(\d+)\.duckdb$")


def snapshot_numbers(layout: DataLayout) -> list[int]:
    """Numbers of the published snapshots, oldest first."""
    if not layout.snapshots.is_dir():
        return []
    found = (_NAME.match(entry.name) for entry in os.scandir(layout.snapshots))
    return sorted(int(match.group(1)) for match in found if match)


def snapshot_path(layout: DataLayout, number: int) -> Path:
    """Path of snapshot number n."""
    return layout.snapshots / f"warehouse-{number:09d}.duckdb"


def newest_snapshot(layout: DataLayout) -> Path | None:
    """The newest published snapshot, or None."""
    numbers = snapshot_numbers(layout)
    return snapshot_path(layout, numbers[-1]) if numbers else None


def publish_snapshot(layout: DataLayout) -> Path:
    """Copy the (checkpointed, closed) warehouse to the next snapshot; prune old ones."""
    numbers = snapshot_numbers(layout)
    target = snapshot_path(layout, (numbers[-1] + 1) if numbers else 1)
    layout.snapshots.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(layout.warehouse, tmp)
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    fsync_path(layout.snapshots)
    for number in numbers[: max(0, len(numbers) + 1 - KEEP)]:
        snapshot_path(layout, number).unlink(missing_ok=True)
    return target
