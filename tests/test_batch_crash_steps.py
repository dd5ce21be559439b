"""A batch killed at each of its steps (#14): before and after the commit, during archiving,
after recording the batch, during housekeeping. After one more batch, readers (connect()),
`genius-wh sql` and a fresh nightly export agree row for row with an uninterrupted run."""

from __future__ import annotations

import json
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class Uninterrupted:
    """The spool every run starts from, and what an uninterrupted batch of it gives."""

    spool: Path  # a data dir with the spool only (copied, so every copy has its names)
    rows: dict[str, list[tuple[Any, ...]]]  # each table's rows, by _key(table)
    export_rows: int  # the nightly export of the day


def _key(table: str) -> str:
    return "field" if table == "recorddata_fields" else "event_id"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Uninterrupted:
    """Built once for the file: the killed runs below never touch it."""
    spooled, clean = tmp_path_factory.mktemp("spooled"), tmp_path_factory.mktemp("clean")
    _spool(spooled / "data")
    shutil.copytree(spooled / "data", clean / "data")
    run_batch(make_settings(clean / "data", batch_max_events=80))
    day = BASE_TIME.astimezone(make_settings(clean / "data").tz).date()
    return Uninterrupted(
        spool=spooled / "data",
        rows={table: table_rows(clean / "data", table, _key(table)) for table in TABLES},
        export_rows=export_date(make_settings(clean / "data"), day).rows)


def _crashed(tmp_path: Path, uninterrupted: Uninterrupted) -> Path:
    crashed = tmp_path / "crashed"
    shutil.copytree(uninterrupted.spool, crashed)
    return crashed


@pytest.mark.parametrize("step", ["before-commit", "after-commit", "during-archive",
                                  "after-batch-row"])
def test_a_batch_killed_at_each_step_leaves_readers_and_export_whole(
        tmp_path: Path, uninterrupted: Uninterrupted, step: str) -> None:
    crashed = _crashed(tmp_path, uninterrupted)
    killed = run_cli(crashed, "batch", env={CRASH_AT: step, "GENIUS_WH_BATCH_MAX_EVENTS": "80"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert run_batch(make_settings(crashed, batch_max_events=80)).skipped is None
    for table in TABLES:
        assert table_rows(crashed, table, _key(table)) == uninterrupted.rows[table], table
    answer = run_cli(crashed, "sql", "SELECT count(*) AS n FROM session_ended", "--format",
                     "json")
    assert json.loads(answer.stdout)[0]["n"] == len(uninterrupted.rows["session_ended"])
    day = BASE_TIME.astimezone(make_settings(crashed).tz).date()
    assert export_date(make_settings(crashed), day).rows == uninterrupted.export_rows
    assert list(DataLayout(root=crashed).spool_ready.iterdir()) == []


def test_a_maintain_killed_midway_loses_nothing(tmp_path: Path,
                                                uninterrupted: Uninterrupted) -> None:
    crashed = _crashed(tmp_path, uninterrupted)
    run_batch(make_settings(crashed, batch_max_events=80))
    killed = run_cli(crashed, "maintain", env={CRASH_AT: "during-maintain"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    maintain(make_settings(crashed))
    for table in TABLES:
        assert table_rows(crashed, table, _key(table)) == uninterrupted.rows[table], table
