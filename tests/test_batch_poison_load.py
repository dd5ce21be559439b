"""An event that passes the transform but cannot be loaded never stops a batch (#9): the
loader splits its chunk in halves down to that one line, quarantines it byte for byte with
the reason, and the ledger moves past it, so the rest loads exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warehouse_support import make_settings, mixed_bodies, query, session_ended, write_segment

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from orchestration.rebuild import rebuild

#: A real poison: a valid timestamp the transform takes, whose UTC day has no next day, so
#: the loader's dedupe range for it cannot be built (OverflowError in the load).
POISON_TIME = "9999-12-31T12:00:00Z"
REASON = "load failed: OverflowError: date value out of range"


def _poison(n: int) -> dict[str, Any]:
    return session_ended(n, timestampsessionended=POISON_TIME)


def _events(data_dir: Path) -> tuple[int, int]:
    """Rows of every event table, and distinct event ids among them."""
    union = " UNION ALL ".join(f"SELECT event_id FROM {table}" for table in
                               ("session_ended", "agent_activity", "queue_info", "card_payment"))
    row = query(data_dir, f"SELECT count(*), count(DISTINCT event_id) FROM ({union})")[0]
    return int(row[0]), int(row[1])


def _line(segment: Path, number: int) -> bytes:
    return segment.read_bytes().splitlines(keepends=True)[number - 1]


def _archived(data_dir: Path, name: str) -> Path:
    return next(DataLayout(root=data_dir).spool_archive.glob(f"*/{name}"))


def test_a_poison_event_is_quarantined_alone_and_the_rest_loads_exactly_once(
        tmp_path: Path) -> None:
    segment = write_segment(tmp_path, [*mixed_bodies(40), _poison(900),
                                       *mixed_bodies(39, start=100)])
    report = run_batch(make_settings(tmp_path))
    assert (report.events, report.quarantined) == (79, 1)
    assert _events(tmp_path) == (79, 79)
    assert query(tmp_path, "SELECT segment, line, reason FROM _quarantine") == [
        (segment.name, 41, REASON)]
    kept = DataLayout(root=tmp_path).quarantine / "spool" / f"{segment.stem}.line41.bad"
    archived = _archived(tmp_path, segment.name)
    assert kept.read_bytes() == _line(archived, 41)  # byte for byte, newline included
    assert kept.with_suffix(".reason").read_text() == (
        f"segment {segment.name} line 41: {REASON}\n")
    assert query(tmp_path, "SELECT max(end_offset), max(end_line) FROM _spool_ledger") == [
        (archived.stat().st_size, 80)]
    assert run_batch(make_settings(tmp_path)).events == 0  # a rerun loads nothing twice
    assert _events(tmp_path) == (79, 79)
    write_segment(tmp_path, mixed_bodies(8, start=300))  # and later batches are not stuck
    assert run_batch(make_settings(tmp_path)).events == 8
    assert _events(tmp_path) == (87, 87)
    assert query(tmp_path, "SELECT count(*) FROM _quarantine") == [(1,)]


def test_a_poison_event_among_chunks_of_one_transaction_loses_none_of_the_others(
        tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(10))
    poisoned = write_segment(tmp_path, [*mixed_bodies(6, start=100), _poison(901),
                                        *mixed_bodies(3, start=110)])
    write_segment(tmp_path, mixed_bodies(10, start=200))
    settings = make_settings(tmp_path, batch_max_events=10)  # 3 chunks, one transaction
    report = run_batch(settings)
    assert (report.events, report.quarantined) == (29, 1)
    assert _events(tmp_path) == (29, 29)
    assert query(tmp_path, "SELECT segment, line FROM _quarantine") == [(poisoned.name, 7)]
    assert not list(DataLayout(root=tmp_path).spool_ready.iterdir())  # all archived
    assert rebuild(settings, progress=False).quarantined == 1  # the archive replays too
    assert _events(tmp_path) == (29, 29)
