"""A batch killed at each of its steps (#14): before and after the commit, during archiving,
after recording the batch, during housekeeping. After one more batch, readers (connect()),
`genius-wh sql` and a fresh nightly export agree row for row with an uninterrupted run."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
from warehouse_support import (
    BASE_TIME,
    make_settings,
    mixed_bodies,
    run_cli,
    session_ended,
    table_rows,
    write_segment,
)

from genius_wh.durable import CRASH_AT
from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from warehouse.maintain import maintain

TABLES = ("session_ended", "session_recorddata", "agent_activity", "queue_info",
          "card_payment", "other_events", "recorddata_fields")


def _spool(data_dir: Path) -> None:
    for n in range(4):
        write_segment(data_dir, [*mixed_bodies(40, start=30 * n),
                                 session_ended(900 + n, recorddata={"Score": [1, 2.5][n % 2]})],
                      received_at=BASE_TIME.replace(minute=n))


def _twin(tmp_path: Path) -> tuple[Path, Path]:
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    _spool(crashed)
    shutil.copytree(crashed, clean)
    return crashed, clean


@pytest.mark.parametrize("step", ["before-commit", "after-commit", "during-archive",
                                  "after-batch-row"])
def test_a_batch_killed_at_each_step_leaves_readers_and_export_whole(
        tmp_path: Path, step: str) -> None:
    crashed, clean = _twin(tmp_path)
    killed = run_cli(crashed, "batch", env={CRASH_AT: step, "GENIUS_WH_BATCH_MAX_EVENTS": "80"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert run_batch(make_settings(crashed, batch_max_events=80)).skipped is None
    run_batch(make_settings(clean, batch_max_events=80))
    for table in TABLES:
        key = "field" if table == "recorddata_fields" else "event_id"
        assert table_rows(crashed, table, key) == table_rows(clean, table, key), table
    answer = run_cli(crashed, "sql", "SELECT count(*) AS n FROM session_ended", "--format",
                     "json")
    assert json.loads(answer.stdout)[0]["n"] == len(table_rows(clean, "session_ended"))
    day = BASE_TIME.astimezone(make_settings(clean).tz).date()
    assert export_date(make_settings(crashed), day).rows == export_date(
        make_settings(clean), day).rows
    assert list(DataLayout(root=crashed).spool_ready.iterdir()) == []


def test_a_maintain_killed_midway_loses_nothing(tmp_path: Path) -> None:
    crashed, clean = _twin(tmp_path)
    for data_dir in (crashed, clean):
        run_batch(make_settings(data_dir, batch_max_events=80))
    killed = run_cli(crashed, "maintain", env={CRASH_AT: "during-maintain"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    maintain(make_settings(crashed))
    for table in TABLES:
        key = "field" if table == "recorddata_fields" else "event_id"
        assert table_rows(crashed, table, key) == table_rows(clean, table, key), table
