"""When every row a chunk staged for a table is new, the lake adopts the staging Parquet
files as its data files instead of copying the rows (warehouse/adopt.py); otherwise it
copies only the new rows, as before. Either way the warehouse holds each event once, with
the values sent, across kills."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from warehouse_support import (
    BASE_TIME,
    make_settings,
    mixed_bodies,
    query,
    run_cli,
    session_ended,
    write_segment,
)

from orchestration.batch import run_batch
from warehouse.adopt import delete_orphans
from warehouse.lakehouse import lake_config, open_lake


def _files(data_dir: Path, table: str) -> list[Path]:
    rows = query(data_dir, f"SELECT data_file FROM ducklake_list_files('wh', '{table}')")
    return sorted(Path(name) for (name,) in rows)


def _adopted(paths: list[Path]) -> list[Path]:
    """Files named as the loader names the staging files it hands over (not ducklake-*)."""
    return [path for path in paths if not path.name.startswith("ducklake-")]


def test_new_rows_are_adopted_as_they_were_staged(tmp_path: Path) -> None:
    bodies = [*mixed_bodies(40), session_ended(
        500, recorddata={"Score": 7, "Notes": None, "Basket": {"items": [1, 2]}})]
    write_segment(tmp_path, bodies)
    run_batch(make_settings(tmp_path))

    lake = tmp_path / "lake" / "main"
    for table in ("session_ended", "agent_activity", "queue_info", "card_payment",
                  "session_recorddata"):
        files = _files(tmp_path, table)
        assert files and _adopted(files) == files, table  # no copy was written
        for path in files:
            assert path.parent == lake / table  # beside the table's own files
            assert os.stat(path).st_nlink == 1  # the staging name is gone
    assert not [p for p in (tmp_path / "staging").rglob("*") if p.is_file()]

    assert query(tmp_path, "SELECT count(*), count(DISTINCT event_id) FROM session_ended"
                 ) == [(11, 11)]
    score, notes, basket = query(
        tmp_path, "SELECT score, notes, basket FROM session_recorddata r "
        "JOIN session_ended s USING (event_id) WHERE s.urn = 'urn-500'")[0]
    assert (score, notes) == (7, None)
    assert basket == '{"items":[1,2]}'
    types = dict(query(tmp_path, "SELECT column_name, data_type FROM information_schema."
                       "columns WHERE table_name = 'session_recorddata' AND column_name IN "
                       "('score', 'notes', 'basket')"))
    assert types == {"score": "BIGINT", "notes": "BOOLEAN", "basket": "JSON"}
    recorddata = query(tmp_path, "SELECT recorddata->>'$.Score' FROM session_ended "
                       "WHERE urn = 'urn-500'")
    assert recorddata == [("7",)]


def test_a_redelivery_is_copied_without_its_known_rows(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(20))
    run_batch(make_settings(tmp_path))
    first = _files(tmp_path, "session_ended")

    # ten events sent again, ten new: the chunk's session_ended file is not all new
    write_segment(tmp_path, mixed_bodies(20, start=10),
                  received_at=BASE_TIME + timedelta(minutes=5))
    run_batch(make_settings(tmp_path))
    later = [path for path in _files(tmp_path, "session_ended") if path not in first]
    assert later and not _adopted(later)  # copied: only the new rows were written
    assert query(tmp_path, "SELECT count(*), count(DISTINCT urn) FROM session_ended"
                 ) == [(8, 8)]


def test_recorddata_narrower_than_the_lake_is_copied_as_the_lake_types_it(
        tmp_path: Path) -> None:
    write_segment(tmp_path, [session_ended(1, recorddata={"Score": "high"})])
    run_batch(make_settings(tmp_path))
    write_segment(tmp_path, [session_ended(2, recorddata={"Score": 5})],
                  received_at=BASE_TIME + timedelta(minutes=5))
    run_batch(make_settings(tmp_path))

    sessions = _files(tmp_path, "session_ended")
    assert len(_adopted(sessions)) == 2  # both batches' sessions were all new
    recorddata = _files(tmp_path, "session_recorddata")
    assert len(_adopted(recorddata)) == 1  # the BIGINT chunk went into the VARCHAR column
    assert query(tmp_path, "SELECT s.urn, r.score FROM session_recorddata r JOIN "
                 "session_ended s USING (event_id) ORDER BY 1") == [
                     ("urn-1", "high"), ("urn-2", "5")]


def test_recorddata_without_some_of_the_lake_fields_is_copied(tmp_path: Path) -> None:
    write_segment(tmp_path, [session_ended(1, recorddata={"Tel1": "07976916443"})])
    run_batch(make_settings(tmp_path))
    write_segment(tmp_path, [session_ended(2, recorddata={"Postcode": "G1 1AA"})],
                  received_at=BASE_TIME + timedelta(minutes=5))
    run_batch(make_settings(tmp_path))

    assert len(_adopted(_files(tmp_path, "session_recorddata"))) == 1  # the first only
    assert query(tmp_path, "SELECT count(tel1), count(postcode), count(*) FILTER "
                 "(WHERE tel1 IS NOT NULL) FROM session_recorddata") == [(1, 1, 1)]


def test_a_kill_before_the_commit_leaves_links_no_snapshot_sees(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(40))
    killed = run_cli(tmp_path, "batch", env={"GENIUS_WH_CRASH_AT": "before-commit"})
    assert killed.returncode == -9
    lake = tmp_path / "lake" / "main" / "session_ended"
    left = sorted(lake.glob("*.parquet"))
    assert left  # the killed batch had linked its staging file

    assert run_cli(tmp_path, "batch").returncode == 0
    assert query(tmp_path, "SELECT count(*), count(DISTINCT event_id) FROM session_ended"
                 ) == [(10, 10)]
    live = _files(tmp_path, "session_ended")
    assert not set(left) & set(live)

    settings = make_settings(tmp_path)
    with open_lake(lake_config(settings), read_only=False) as con:
        assert delete_orphans(con, timedelta(0)) >= len(left)
    assert not [path for path in left if path.exists()]
    assert all(path.exists() for path in live)
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(10,)]
