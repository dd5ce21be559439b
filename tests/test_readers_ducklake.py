"""Readers attach the DuckLake read-only: a notebook holding connect() for hours never blocks
a batch and sees each commit; time travel with as_of; no copies of the warehouse anywhere;
an event is visible in a new connect() as soon as its batch returns, open segments included."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from warehouse_support import (
    REPO,
    PythonChild,
    make_settings,
    mixed_bodies,
    query,
    run_cli,
    session_ended,
    write_segment,
)

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from warehouse import connect


def test_a_reader_held_open_in_another_process_never_blocks_a_batch(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    reader = PythonChild(f"from warehouse import connect\ncon = connect({str(tmp_path)!r})",
                         "con.execute('SELECT count(*) FROM card_payment').fetchone()[0]")
    try:
        assert reader.ask() == "2"
        for n in range(3):
            write_segment(tmp_path, mixed_bodies(8, start=100 + 8 * n))
            assert run_batch(settings).events == 8
        assert reader.ask() == "8"  # the same connection sees the newer commits
    finally:
        reader.stop()


def test_time_travel_reads_the_warehouse_as_it_was(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    between = datetime.now(UTC)
    write_segment(tmp_path, mixed_bodies(8, start=100))
    run_batch(settings)
    with connect(tmp_path, as_of=between) as con:
        assert con.execute("SELECT count(*) FROM agent_activity").fetchone() == (2,)
    assert query(tmp_path, "SELECT count(*) FROM agent_activity") == [(4,)]


def test_events_in_an_open_segment_load_once_and_again_never_when_it_is_sealed(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    layout = DataLayout(root=tmp_path).ensure()
    segment = write_segment(tmp_path, mixed_bodies(8), folder="open")
    with segment.open("rb") as held:  # a live receiver holds its open segment's flock
        fcntl.flock(held, fcntl.LOCK_EX)
        assert run_batch(settings).events == 8
        assert query(tmp_path, "SELECT count(*) FROM queue_info") == [(2,)]
        with segment.open("ab") as more:  # the receiver appends, half a line at the end
            extra = write_segment(tmp_path / "x", mixed_bodies(4, start=50)).read_bytes()
            more.write(extra + b'{"v": 1, "event_id": "torn')
        assert run_batch(settings).events == 4  # the half line waits for its end
        with segment.open("ab") as more:
            more.write(b'"}\n')
        segment.rename(layout.spool_ready / segment.name)  # sealed by its receiver
    report = run_batch(settings)
    assert report.events == 0 and report.quarantined == 1  # only the broken line is left
    assert query(tmp_path, "SELECT count(*), count(DISTINCT event_id) FROM queue_info") == [
        (3, 3)]
    assert list(layout.spool_ready.iterdir()) == []
    assert len(list(layout.spool_archive.glob("*/*.jsonl"))) == 1


def test_no_copy_of_the_warehouse_is_kept_and_shell_attaches_read_only(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    for n in range(3):
        write_segment(tmp_path, mixed_bodies(8, start=8 * n))
        run_batch(settings)
    layout = DataLayout(root=tmp_path)
    assert not (tmp_path / "snapshots").exists() and not layout.legacy_warehouse.exists()
    assert list(layout.staging.rglob("*.parquet")) == []  # staging is emptied on commit
    result = run_cli(tmp_path, "shell", input_text="SELECT count(*) FROM session_ended;\n"
                     "CREATE TABLE nope (x INT);\n")
    assert "6" in result.stdout
    assert "read-only" in (result.stdout + result.stderr).lower()


SPILL_THEN_OPEN = """
import sys
from genius_wh.settings import load_settings
from warehouse.lakehouse import lake_config, open_lake
config = lake_config(load_settings(data_dir=sys.argv[1]))
with open_lake(config, read_only=False) as con:
    con.execute("SET memory_limit = '64MB'")  # a sort four times the limit: DuckDB spills
    con.execute("SELECT count(*) FROM (SELECT random() AS r FROM range(20000000) ORDER BY r)")
with open_lake(config, read_only=False) as con:  # the same process's next writer
    print(con.execute("SELECT count(*) FROM session_ended").fetchone()[0])
"""


def test_a_writer_opens_again_after_duckdb_spilled_in_its_process(tmp_path: Path) -> None:
    write_segment(tmp_path, [session_ended(1)])
    run_batch(make_settings(tmp_path))
    done = subprocess.run([sys.executable, "-c", SPILL_THEN_OPEN, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "1\n"
