"""A batch of many chunks loads them in one transaction, in claim order: a column added or
widened by a later chunk and an event redelivered in a later chunk come out exactly as when
every chunk is loaded by a batch of its own."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from warehouse_support import (
    BASE_TIME,
    make_settings,
    mixed_bodies,
    query,
    session_ended,
    table_rows,
    write_segment,
)

from genius_wh.layout import DataLayout
from orchestration import pipeline
from orchestration.batch import run_batch

SEGMENTS = 6
PER_SEGMENT = 41  # 40 mixed events and one SessionEnded with recorddata
TABLES = ("session_ended", "session_recorddata", "agent_activity", "queue_info",
          "card_payment", "other_events")


def _segment(n: int) -> list[dict[str, object]]:
    """Each segment redelivers the previous one's last 10 events; `Score` widens from
    BOOLEAN to BIGINT to DOUBLE to VARCHAR and a new field arrives with every segment."""
    bodies = mixed_bodies(40, start=n * 30)
    score = [True, 7, 2.5, "x", 3, False][n]
    bodies.append(session_ended(1000 + n, recorddata={"Score": score, f"Extra {n}": n}))
    return bodies


def test_one_transaction_for_many_chunks_equals_one_batch_per_chunk(tmp_path: Path) -> None:
    grouped, single = tmp_path / "grouped", tmp_path / "single"
    for n in range(SEGMENTS):
        segment = write_segment(grouped, _segment(n),
                                received_at=BASE_TIME + timedelta(minutes=n))
        DataLayout(root=single).ensure()
        shutil.copyfile(segment, single / "spool" / "ready" / (segment.name + ".later"))

    report = run_batch(make_settings(grouped, batch_max_events=PER_SEGMENT))
    assert report.chunks == SEGMENTS
    loads = query(grouped, "SELECT count(DISTINCT chunk_id), count(DISTINCT loaded_at) "
                           "FROM _spool_ledger")
    assert loads == [(SEGMENTS, 1)]  # six chunks, one transaction

    ready = single / "spool" / "ready"
    for waiting in sorted(ready.glob("*.later")):  # one segment per batch
        waiting.rename(waiting.with_suffix(""))
        assert run_batch(make_settings(single, batch_max_events=PER_SEGMENT)).chunks == 1
    assert len(query(single, "SELECT DISTINCT loaded_at FROM _spool_ledger")) == SEGMENTS

    for table in TABLES:
        assert table_rows(grouped, table) == table_rows(single, table), table
    assert query(grouped, "SELECT column_name, column_type FROM recorddata_fields "
                          "ORDER BY 1") == query(
        single, "SELECT column_name, column_type FROM recorddata_fields ORDER BY 1")
    assert query(grouped, "SELECT column_type FROM recorddata_fields "
                          "WHERE field = 'Score'") == [("VARCHAR",)]
    # every event once: 30 new mixed events per segment, the last segment's 10 overlapping
    # ones, and one SessionEnded with recorddata per segment
    assert report.events == SEGMENTS * PER_SEGMENT
    rows = sum(query(grouped, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES
               if table != "session_recorddata")
    assert rows == SEGMENTS * 31 + 10


def test_a_transaction_commits_once_it_holds_load_group_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole, split = tmp_path / "whole", tmp_path / "split"
    for n in range(SEGMENTS):
        segment = write_segment(whole, _segment(n), received_at=BASE_TIME + timedelta(minutes=n))
        DataLayout(root=split).ensure()
        shutil.copyfile(segment, split / "spool" / "ready" / segment.name)
    run_batch(make_settings(whole, batch_max_events=PER_SEGMENT))

    monkeypatch.setattr(pipeline, "LOAD_GROUP_ROWS", 1)  # every chunk reaches it
    report = run_batch(make_settings(split, batch_max_events=PER_SEGMENT))

    assert report.chunks == SEGMENTS
    assert query(split, "SELECT count(DISTINCT loaded_at) FROM _spool_ledger") == [(SEGMENTS,)]
    assert query(whole, "SELECT count(DISTINCT loaded_at) FROM _spool_ledger") == [(1,)]
    assert not list(DataLayout(root=split).spool_working.iterdir())
    for table in TABLES:
        assert table_rows(split, table) == table_rows(whole, table), table
