"""The chunk protocol of a batch: exactly once, recovery first, archive, retention, locks."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from warehouse_support import (
    BASE_TIME,
    event_rows,
    make_settings,
    mixed_bodies,
    query,
    run_cli,
    session_ended,
    write_segment,
)

from genius_wh.archive import expired_archive_days
from genius_wh.layout import DataLayout
from genius_wh.segments import new_chunk_id
from orchestration.batch import run_batch
from warehouse.errors import BatchFailed
from warehouse.locks import batch_lock


def test_batch_loads_every_table_and_reports_zeros_for_untouched_ones(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(40))
    report = run_batch(make_settings(tmp_path))
    assert report.rows_loaded == {"session_ended": 10, "agent_activity": 10, "queue_info": 10,
                                  "card_payment": 10, "other_events": 0,
                                  "session_recorddata": 10}
    assert (report.chunks, report.events, report.skipped) == (1, 40, None)
    layout = DataLayout(root=tmp_path)
    assert list(layout.spool_ready.iterdir()) == []
    assert list(layout.spool_working.iterdir()) == []
    assert len(list(layout.spool_archive.glob("*/*.jsonl"))) == 1


def test_redeliveries_within_and_across_batches_are_one_row(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = session_ended(1)
    write_segment(tmp_path, [first, first, session_ended(2)])
    run_batch(settings)
    later = BASE_TIME + timedelta(hours=1)
    redelivered = dict(first, timestamp="2021-07-06T11:00:00+01:00")
    write_segment(tmp_path, [redelivered, session_ended(3)], received_at=later)
    report = run_batch(settings)
    assert report.rows_loaded["session_ended"] == 1
    assert query(tmp_path, "SELECT urn, event_timestamp = TIMESTAMPTZ '2021-07-06 "
                           "10:09:20+01:00' FROM session_ended ORDER BY urn") == [
        ("urn-1", True), ("urn-2", True), ("urn-3", True)]


def test_second_concurrent_batch_is_skipped(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(4))
    layout = DataLayout(root=tmp_path).ensure()
    with batch_lock(layout) as held:
        assert held
        report = run_batch(make_settings(tmp_path))
    assert report.skipped == "another batch is running"
    assert len(list(layout.spool_ready.iterdir())) == 1


def test_batch_with_nothing_to_do_takes_well_under_a_second(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(4))
    run_batch(settings)
    started = time.perf_counter()
    for _ in range(10):
        assert run_batch(settings).chunks == 0
    assert (time.perf_counter() - started) / 10 < 0.1


def test_backlog_is_loaded_chunk_by_chunk(tmp_path: Path) -> None:
    for n in range(5):
        write_segment(tmp_path, mixed_bodies(30, start=n * 30))
    report = run_batch(make_settings(tmp_path, batch_max_events=60))
    assert report.chunks == 3
    assert sum(report.rows_loaded[t] for t in ("session_ended", "agent_activity",
                                               "queue_info", "card_payment")) == 150


def test_recovery_loads_a_claimed_chunk_left_by_a_killed_batch(tmp_path: Path) -> None:
    segment = write_segment(tmp_path, mixed_bodies(8))
    layout = DataLayout(root=tmp_path)
    folder = layout.spool_working / new_chunk_id()
    folder.mkdir(parents=True)
    os.replace(segment, folder / segment.name)
    report = run_batch(make_settings(tmp_path))
    assert report.events == 8
    assert not folder.exists()
    assert query(tmp_path, "SELECT count(*) FROM agent_activity") == [(2,)]


def test_recovery_only_archives_a_chunk_already_in_the_ledger(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    layout = DataLayout(root=tmp_path)
    archived = next(layout.spool_archive.glob("*/*.jsonl"))
    folder = layout.spool_working / new_chunk_id()
    folder.mkdir()
    os.replace(archived, folder / archived.name)  # as if killed between commit and archive
    report = run_batch(settings)
    assert (report.chunks, report.events) == (0, 0)
    assert not folder.exists() and archived.exists()
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(2,)]


def test_abandoned_open_segment_is_sealed_and_loaded(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(4), folder="open")
    report = run_batch(make_settings(tmp_path))
    assert report.events == 4


def test_torn_line_is_quarantined_and_its_neighbours_load(tmp_path: Path) -> None:
    segment = write_segment(tmp_path, mixed_bodies(4))
    with segment.open("ab") as handle:
        handle.write(b'{"v": 1, "event_id": "torn')
    report = run_batch(make_settings(tmp_path))
    assert (report.events, report.quarantined) == (4, 1)
    assert query(tmp_path, "SELECT line, reason LIKE '%torn%' FROM _quarantine") == [(5, True)]


def test_values_that_do_not_convert_are_visible_as_load_issues(tmp_path: Path) -> None:
    write_segment(tmp_path, [session_ended(1, diallerresult="ten")])
    report = run_batch(make_settings(tmp_path))
    assert report.issues == 1
    assert query(tmp_path, "SELECT table_name, column_name, value FROM _load_issues") == [
        ("session_ended", "diallerresult", "ten")]
    assert query(tmp_path, "SELECT diallerresult FROM session_ended") == [(None,)]


def test_a_redelivered_event_records_its_load_issue_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, diallerresult="ten")])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(1, diallerresult="ten")])
    run_batch(settings)
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(1,)]
    assert query(tmp_path, "SELECT count(*) FROM _load_issues") == [(1,)]


def test_batches_table_records_each_batch_and_its_rows(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    assert query(tmp_path, "SELECT outcome, chunks, events, rows_session_ended, "
                           "rows_other_events FROM _batches") == [("ok", 1, 8, 2, 0)]
    run_batch(settings)  # nothing new: no row, no commit
    assert query(tmp_path, "SELECT count(*) FROM _batches") == [(1,)]


@pytest.mark.parametrize(("days", "retention", "expired"), [
    pytest.param(["2026-11-01", "2026-11-20"], 0, [], id="0 keeps for ever"),
    pytest.param(["2026-11-01", "2026-11-20", "junk"], 7, ["2026-11-01"], id="older than 7"),
    pytest.param(["2026-11-17"], 7, [], id="exactly 7 days is kept"),
])
def test_archive_retention(days: list[str], retention: int, expired: list[str]) -> None:
    assert expired_archive_days(days, date(2026, 11, 24), retention) == expired


def test_retention_deletes_old_archive_folders_after_a_batch(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(4))
    run_batch(make_settings(tmp_path))  # the warehouse exists: the archive is its history
    old = DataLayout(root=tmp_path).spool_archive / "2000-01-01"
    old.mkdir(parents=True)
    (old / "x.jsonl").write_bytes(b"")
    write_segment(tmp_path, mixed_bodies(4, start=10))
    run_batch(make_settings(tmp_path, archive_retention_days=30))
    assert not old.exists()


def test_batch_command_prints_rows_per_table(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(8))
    result = run_cli(tmp_path, "batch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "session_ended\t2", "agent_activity\t2", "queue_info\t2", "card_payment\t2",
        "other_events\t0", "session_recorddata\t2"]


def test_failed_batch_is_recorded_and_its_events_load_with_the_next(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(4))
    layout = DataLayout(root=tmp_path).ensure()
    blocker = layout.lake / "main" / "session_ended"  # where DuckLake writes that table
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"not a folder")
    with pytest.raises(BatchFailed, match=r"batch failed: .*the next batch loads it again"):
        run_batch(settings)
    assert query(tmp_path, "SELECT outcome, message LIKE 'batch failed: %' FROM _batches"
                 ) == [("failed", True)]
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(0,)]
    assert len(list(layout.spool_ready.glob("*.jsonl"))) == 1
    blocker.unlink()
    assert run_batch(settings).events == 4


@pytest.mark.parametrize("events", [25, 60], ids=["shorter", "longer"])
def test_a_new_segment_under_a_loaded_segments_name_loads_whole(tmp_path: Path,
                                                                  events: int) -> None:
    # a segment copied or restored into ready/ under the name of one loaded earlier (another
    # file): its lines are read from its own start, not from the other file's end offset, and
    # the archive keeps both files
    first = write_segment(tmp_path, mixed_bodies(40))
    run_batch(make_settings(tmp_path))
    second = write_segment(tmp_path, mixed_bodies(events, start=1000),
                           received_at=BASE_TIME + timedelta(minutes=5))
    os.replace(second, first)
    report = run_batch(make_settings(tmp_path))
    assert report.events == events
    assert event_rows(tmp_path) == 40 + events
    assert query(tmp_path, "SELECT count(*) FROM _quarantine")[0][0] == 0
    archived = sorted(len(p.read_bytes().splitlines())
                      for p in DataLayout(root=tmp_path).spool_archive.glob("*/*.jsonl"))
    assert archived == sorted([40, events])
    assert list(DataLayout(root=tmp_path).spool_ready.iterdir()) == []
