"""The nightly export puts each event in the file of the local date it was received on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from warehouse_support import card_payment, make_settings, session_ended, write_segment

from genius_wh.layout import DataLayout
from orchestration.cli import cli
from orchestration.nightly import export_date
from warehouse.export import export_path
from warehouse.exportfiles import read_manifest

# (received at, in UTC) -> the local (Europe/London) date it belongs to, worked out by hand
RECEIVED = [
    (datetime(2026, 7, 5, 22, 59, 59, tzinfo=UTC), date(2026, 7, 5)),  # 23:59:59 BST
    (datetime(2026, 7, 5, 23, 0, 0, tzinfo=UTC), date(2026, 7, 6)),  # 00:00:00 BST
    (datetime(2026, 7, 6, 22, 59, 59, 500000, tzinfo=UTC), date(2026, 7, 6)),  # 23:59:59.5
    (datetime(2026, 7, 6, 23, 0, 0, tzinfo=UTC), date(2026, 7, 7)),  # 00:00 BST on the 7th
    (datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC), date(2026, 11, 23)),  # 23:59:59 GMT
    (datetime(2026, 11, 24, 0, 0, 0, tzinfo=UTC), date(2026, 11, 24)),  # 00:00 GMT
]
DAYS = sorted({d for _, d in RECEIVED})


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("export")
    for n, (moment, _) in enumerate(RECEIVED):
        write_segment(data_dir, [session_ended(n, recorddata={"Postcode": f"G{n} 1AA"}),
                                 card_payment(n)], received_at=moment)
    settings = make_settings(data_dir)
    for day in DAYS:
        export_date(settings, day)
    return data_dir


def _ids(data_dir: Path, table: str, day: date) -> list[str]:
    path = export_path(DataLayout(root=data_dir), table, day)
    return [str(i) for i in pq.read_table(path).column("event_id").to_pylist()]


@pytest.mark.parametrize("table", ["session_ended", "session_recorddata", "card_payment"])
def test_each_event_lands_in_exactly_the_date_it_was_received(exported: Path,
                                                              table: str) -> None:
    found = {day: _ids(exported, table, day) for day in DAYS}
    assert [len(found[d]) for d in DAYS] == [sum(1 for _, e in RECEIVED if e == d) for d in DAYS]
    everything = [i for ids in found.values() for i in ids]
    assert len(everything) == len(set(everything)) == len(RECEIVED)


def test_received_times_in_a_file_fall_within_its_local_day(exported: Path) -> None:
    path = export_path(DataLayout(root=exported), "session_ended", date(2026, 7, 6))
    times = pq.read_table(path).column("received_at").to_pylist()
    assert sorted(t.astimezone(UTC) for t in times) == [
        datetime(2026, 7, 5, 23, 0, 0, tzinfo=UTC),
        datetime(2026, 7, 6, 22, 59, 59, 500000, tzinfo=UTC)]


def test_empty_tables_still_get_a_file_with_zero_rows(exported: Path) -> None:
    path = export_path(DataLayout(root=exported), "agent_activity", date(2026, 7, 6))
    assert pq.read_table(path).num_rows == 0


def test_rerunning_a_date_rewrites_the_same_rows(exported: Path) -> None:
    layout = DataLayout(root=exported)
    paths = [export_path(layout, t, date(2026, 7, 6))
             for t in ("session_ended", "session_recorddata", "card_payment")]
    before = [pq.read_table(p) for p in paths]
    report = export_date(make_settings(exported), date(2026, 7, 6))
    assert report.rows["session_ended"] == 2
    assert [pq.read_table(p) for p in paths] == before
    assert not list(layout.exports.rglob("*.tmp")), "no temporary file left behind"


def test_manifest_lists_every_date_with_its_files_and_row_counts(exported: Path) -> None:
    manifest = read_manifest(DataLayout(root=exported))
    assert list(manifest["dates"]) == [d.isoformat() for d in DAYS]
    entry = manifest["dates"]["2026-07-06"]
    assert {k: v for k, v in entry["session_ended"].items() if k != "columns"} == {
        "path": "session_ended/date=2026-07-06/session_ended.parquet", "rows": 2}
    columns = {c["name"]: c["type"] for c in entry["session_ended"]["columns"]}
    assert columns["event_id"] == "string" and columns["talktime"] == "double"
    assert columns["received_at"] == "timestamp[us, tz=UTC]"
    assert entry["card_payment"]["rows"] == 2 and entry["queue_info"]["rows"] == 0
    assert set(entry) == {"session_ended", "agent_activity", "queue_info", "card_payment",
                          "other_events", "session_recorddata"}


def test_cli_export_prints_rows_per_table_and_status_shows_it(exported: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--data-dir", str(exported), "export", "--date", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert "session_ended\t1" in result.output.splitlines()
    status = runner.invoke(cli, ["--data-dir", str(exported), "status", "--format", "json"])
    assert orjson.loads(status.output)["last_export"]["date"] == "2026-11-24"
