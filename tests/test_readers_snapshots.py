"""Readers go through snapshots: a notebook holding connect() for hours never blocks a batch;
a person holding warehouse.duckdb itself makes the batch wait, and nothing is lost."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from warehouse_support import (
    PythonChild,
    hold_warehouse,
    make_settings,
    mixed_bodies,
    query,
    run_cli,
    write_segment,
)

from genius_wh.layout import DataLayout
from warehouse import connect
from warehouse.batch import BatchReport, run_batch
from warehouse.errors import WarehouseBusy
from warehouse.snapshots import KEEP, snapshot_numbers


def test_connect_on_a_fresh_data_dir_gives_every_contract_table(tmp_path: Path) -> None:
    with connect(tmp_path) as con:
        tables = {row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        assert con.execute("SELECT description FROM dim_diallerresult WHERE code = 25"
                           ).fetchall() == [("Bad or unobtainable number",)]
    assert {"session_ended", "session_recorddata", "recorddata_fields", "session_flat",
            "agent_activity", "queue_info", "card_payment", "other_events",
            "dim_diallerresult", "dim_calltype", "dim_agentstate"} <= tables


def test_connect_is_read_only(tmp_path: Path) -> None:
    with connect(tmp_path) as con, pytest.raises(Exception, match="read-only"):
        con.execute("DELETE FROM session_ended")


def test_reader_held_open_across_batches_never_blocks_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    reader = PythonChild(
        f"from warehouse import connect\ncon = connect({str(tmp_path)!r})",
        "con.execute('SELECT count(*) FROM session_ended').fetchone()[0]")
    try:
        for n in range(1, KEEP + 3):
            write_segment(tmp_path, mixed_bodies(8, start=n * 8))
            report = run_batch(settings, lock_wait_seconds=0)
            assert report.rows_loaded["session_ended"] == 2
            assert reader.ask() == "2"  # its snapshot, even after it was unlinked
    finally:
        reader.stop()
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(2 * (KEEP + 3),)]
    assert len(snapshot_numbers(DataLayout(root=tmp_path))) == KEEP


def test_cli_batch_gives_up_naming_the_holder_and_loses_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    run_batch(settings)
    write_segment(tmp_path, mixed_bodies(8))
    write_segment(tmp_path, mixed_bodies(1, start=100))
    holder = hold_warehouse(tmp_path)
    try:
        result = run_cli(tmp_path, "batch", env={"GENIUS_WH_WAREHOUSE_LOCK_WAIT_SECONDS": "0.5"})
    finally:
        holder.stop()
    assert result.returncode != 0
    assert f"is held by PID {holder.pid}" in result.stderr
    assert "nothing is lost" in result.stderr
    assert run_batch(settings).events == 9
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(3,)]


def test_batch_waits_for_the_holder_logs_its_pid_then_loads(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path)
    run_batch(settings)
    write_segment(tmp_path, mixed_bodies(8))
    holder = hold_warehouse(tmp_path)
    reports: list[BatchReport] = []
    caplog.set_level(logging.WARNING, logger="warehouse.loader")
    worker = threading.Thread(target=lambda: reports.append(
        run_batch(settings, lock_wait_seconds=30)))
    worker.start()
    deadline = time.monotonic() + 20
    while f"PID {holder.pid}" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    holder.stop()
    worker.join(timeout=30)
    assert f"is held by PID {holder.pid}" in caplog.text
    assert reports[0].rows_loaded["session_ended"] == 2


def test_warehouse_busy_is_retriable_and_names_the_way_out(tmp_path: Path) -> None:
    run_batch(make_settings(tmp_path))
    write_segment(tmp_path, mixed_bodies(4))
    holder = hold_warehouse(tmp_path)
    try:
        with pytest.raises(WarehouseBusy, match=r"close that DuckDB client"):
            run_batch(make_settings(tmp_path), lock_wait_seconds=0)
    finally:
        holder.stop()
    assert len(list(DataLayout(root=tmp_path).spool_ready.iterdir())) == 1
