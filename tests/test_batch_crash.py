"""kill -9 at random points of `genius-wh batch`, many times: after one clean batch the
warehouse equals an uninterrupted run on a copy of the same spool (no loss, no duplicates)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from warehouse_support import (
    BASE_TIME,
    REPO,
    make_settings,
    mixed_bodies,
    session_ended,
    table_rows,
    write_segment,
)

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from orchestration.nightly import export_date

KILLS = 10
CHUNK = 150
TABLES = ("session_ended", "session_recorddata", "agent_activity", "queue_info",
          "card_payment", "other_events")


def _write_spool(crashed: Path, clean: Path, first: int, count: int) -> None:
    """The same new segments in both spools: all actions, redeliveries (each segment overlaps
    the previous one) and recorddata that widens along the way."""
    for n in range(first, first + count):
        moment = BASE_TIME + timedelta(minutes=n)
        bodies = mixed_bodies(60, start=n * 50)
        bodies.append(session_ended(10_000 + n, recorddata={"Score": [True, 7, 2.5, "x"][n % 4],
                                                            f"F{n}": n}))
        segment = write_segment(crashed, bodies, received_at=moment)
        target = DataLayout(root=clean).ensure().spool_ready / segment.name
        shutil.copyfile(segment, target)


def _start_batch(data_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GENIUS_WH_BATCH_MAX_EVENTS": str(CHUNK)}
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration", "--data-dir", str(data_dir), "batch"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_at_random_points_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    _write_spool(crashed, clean, 0, 20)
    rng = random.Random(20261124)
    kills = 0
    for n in range(KILLS):
        _write_spool(crashed, clean, 20 + n * 5, 5)
        process = _start_batch(crashed)
        time.sleep(rng.uniform(0.8, 2.5))  # start-up is ~0.7 s: kill inside the batch
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    report = run_batch(make_settings(crashed, batch_max_events=CHUNK))
    assert report.skipped is None
    run_batch(make_settings(clean, batch_max_events=CHUNK))
    left = DataLayout(root=crashed)
    assert kills >= KILLS // 2
    assert list(left.spool_ready.iterdir()) == []
    for table in TABLES:
        assert table_rows(crashed, table) == table_rows(clean, table), table
    assert table_rows(crashed, "recorddata_fields", "field") == table_rows(
        clean, "recorddata_fields", "field")
    # readers and the export read the committed warehouse itself (#14): same rows
    day = BASE_TIME.astimezone(make_settings(clean).tz).date()
    exported = export_date(make_settings(crashed), day).rows
    assert exported == export_date(make_settings(clean), day).rows
    assert exported["session_ended"] == len(table_rows(clean, "session_ended"))
