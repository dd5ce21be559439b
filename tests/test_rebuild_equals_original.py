"""`genius-wh rebuild` builds the same warehouse again from the spool archive."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from warehouse_support import (
    BASE_TIME,
    make_settings,
    mixed_bodies,
    query,
    run_cli,
    session_ended,
    table_rows,
    write_segment,
)

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from orchestration.rebuild import chunked, rebuild

CONTRACT_TABLES = ("session_ended", "session_recorddata", "agent_activity", "queue_info",
                   "card_payment", "other_events", "dim_diallerresult", "dim_calltype",
                   "dim_agentstate", "recorddata_fields")
UNKNOWN = ("SELECT action, field, sum(count), min(first_seen), max(last_seen) FROM "
           "_unknown_fields GROUP BY ALL ORDER BY ALL")


def _load_in_several_batches(data_dir: Path) -> None:
    settings = make_settings(data_dir, batch_max_events=20)
    recorddata = [{"Balance": True, "Postcode": None}, {"Balance": 12, "Extra": {"a": 1}},
                  {"Balance": "n/a", "Extra": 3, "post code": "G1"}]
    for n, rd in enumerate(recorddata):
        later = BASE_TIME + timedelta(days=n)
        write_segment(data_dir, mixed_bodies(30, start=n * 30), received_at=later)
        write_segment(data_dir, [session_ended(n, recorddata=rd),
                                 {"action": "NewThing", "x": n}], received_at=later)
        run_batch(settings)


def test_rebuild_gives_the_same_rows_and_columns(tmp_path: Path) -> None:
    _load_in_several_batches(tmp_path)
    before = {table: table_rows(tmp_path, table, _key(table)) for table in CONTRACT_TABLES}
    unknown_before = query(tmp_path, UNKNOWN)
    fields_before = query(tmp_path, "SELECT field, column_name, column_type FROM "
                                    "recorddata_fields ORDER BY field")
    report = rebuild(make_settings(tmp_path), progress=False)
    assert report.events == 96
    for table in CONTRACT_TABLES:
        assert table_rows(tmp_path, table, _key(table)) == before[table], table
    assert query(tmp_path, UNKNOWN) == unknown_before
    assert query(tmp_path, "SELECT field, column_name, column_type FROM recorddata_fields "
                           "ORDER BY field") == fields_before
    assert query(tmp_path, "SELECT count(*) FROM session_flat") == [(26,)]


def test_rebuild_command_shows_rows_per_table(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(make_settings(tmp_path))
    result = run_cli(tmp_path, "rebuild")
    assert result.returncode == 0, result.stderr
    assert "session_ended\t2" in result.stdout


def test_rebuild_after_a_lost_catalog_and_lake_loads_the_archive(tmp_path: Path) -> None:
    _load_in_several_batches(tmp_path)
    layout = DataLayout(root=tmp_path)
    layout.catalog.unlink()  # a lost catalog ...
    shutil.rmtree(layout.lake)  # ... and lake
    assert "rebuild" in run_cli(tmp_path, "sql", "SELECT 1").stderr
    write_segment(tmp_path, mixed_bodies(4, start=500))
    refused = run_cli(tmp_path, "batch")  # never an empty warehouse over loaded data (#9)
    assert refused.returncode == 1 and "genius-wh rebuild" in refused.stderr
    assert not layout.catalog.exists()
    report = rebuild(make_settings(tmp_path), progress=False)
    assert report.rows_loaded["session_ended"] == 26
    assert query(tmp_path, "SELECT count(*) FROM other_events") == [(3,)]
    assert run_batch(make_settings(tmp_path)).events == 4  # and batches go on from there


def test_rebuild_migrates_a_data_dir_of_the_layout_before_ducklake(tmp_path: Path) -> None:
    _load_in_several_batches(tmp_path)
    layout = DataLayout(root=tmp_path)
    layout.catalog.unlink()
    shutil.rmtree(layout.lake)
    layout.legacy_warehouse.write_bytes(b"old")  # what the earlier layout left
    (tmp_path / "snapshots").mkdir()
    (layout.lake / "session_ended" / "date=2026-11-24").mkdir(parents=True)
    rebuild(make_settings(tmp_path), progress=False)
    assert not layout.legacy_warehouse.exists() and not (tmp_path / "snapshots").exists()
    assert not (layout.lake / "session_ended").exists()
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(26,)]


def _key(table: str) -> str:
    return "code" if table.startswith("dim_") else (
        "field" if table in ("_unknown_fields", "recorddata_fields") else "event_id")


def test_chunked_groups_segments_in_order() -> None:
    paths = [Path(f"s{n}") for n in range(4)]
    assert chunked(list(zip(paths, [5, 5, 20, 1], strict=True)), 10) == [
        [paths[0], paths[1]], [paths[2]], [paths[3]]]
