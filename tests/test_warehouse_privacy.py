"""Personal data stays private (#9): whatever the caller's umask, `genius-wh batch` and
`genius-wh export` leave the catalog, the lake's data files, staging, the archive and the
exports readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from warehouse_support import BASE_TIME, make_settings, mixed_bodies, run_cli, write_segment


def test_warehouse_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(8)).chmod(0o600)  # as the receiver creates it
    old = os.umask(0o022)  # a permissive caller
    try:
        assert run_cli(tmp_path, "batch").returncode == 0
        day = BASE_TIME.astimezone(make_settings(tmp_path).tz).date().isoformat()
        assert run_cli(tmp_path, "export", "--date", day).returncode == 0
    finally:
        os.umask(old)
    paths = [p for p in tmp_path.rglob("*") if "spool" not in p.relative_to(tmp_path).parts[:1]
             or "archive" in p.parts]
    assert any(p.suffix == ".parquet" and "lake" in p.parts for p in paths)
    assert any(p.suffix == ".parquet" and "exports" in p.parts for p in paths)
    loose = [f"{p.relative_to(tmp_path)} {stat.filemode(p.stat().st_mode)}" for p in paths
             if p.stat().st_mode & 0o077]
    assert loose == []
