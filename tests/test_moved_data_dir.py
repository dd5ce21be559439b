"""A data dir moved (or restored from a backup) to another path: its catalog keeps the data
path it was created with as an absolute path, but the warehouse reads and writes the lake
beside the catalog, where `lake_path` (empty: DATA_DIR/lake) says it is."""

from __future__ import annotations

import shutil
from pathlib import Path

from warehouse_support import make_settings, mixed_bodies, query, write_segment

from orchestration.batch import run_batch
from warehouse.maintain import maintain


def _lake_files(data_dir: Path) -> set[str]:
    return {str(p.relative_to(data_dir)) for p in (data_dir / "lake").rglob("*.parquet")}


def test_a_moved_data_dir_loads_and_reads_its_own_lake(tmp_path: Path) -> None:
    first = tmp_path / "first"
    write_segment(first, mixed_bodies(20))
    run_batch(make_settings(first))
    loaded = query(first, "SELECT count(*) FROM session_ended")
    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    shutil.rmtree(first / "lake")  # the old place no longer has the files
    assert query(moved, "SELECT count(*) FROM session_ended") == loaded
    before = _lake_files(moved)
    write_segment(moved, mixed_bodies(20, start=100))
    run_batch(make_settings(moved))
    maintain(make_settings(moved))
    assert query(moved, "SELECT count(*) FROM session_ended")[0][0] > loaded[0][0]
    assert _lake_files(moved) - before  # the new batch's files are in the moved lake
    assert not (first / "lake").exists()  # and nothing was written in the old one
