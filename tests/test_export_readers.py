"""Every date of an export read at once without losing a column (issue #12 point 6).

A recorddata field first seen on the second date is a column of that date's
`session_recorddata` file only, and a field widened from a number to text keeps its older type
in the older file. The readers' defaults take the first file's schema and drop the new column
(pyarrow), or refuse the read (polars); the ways the manual shows keep every column, with NULL
on the older date. The dates go through the real pipeline: `genius-wh replay`, then the
nightly export (a batch, then the files), one date after the other as the nights pass.
"""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from warehouse_support import make_settings, session_ended

from genius_wh.layout import DataLayout
from genius_wh.records import encode_record, make_record
from orchestration.cli import cli
from orchestration.nightly import export_date
from warehouse.exportfiles import read_manifest

FIRST, SECOND = date(2026, 7, 6), date(2026, 7, 7)
#: recorddata per date: `Callback Date` appears on the second; `Score` turns from 5 to text
RECORDDATA = {
    FIRST: [{"Postcode": f"G{n} 1AA", "Score": n} for n in range(3)],
    SECOND: [{"Postcode": f"EH{n} 2BB", "Score": f"grade {n}", "Callback Date": f"2026-07-{n + 10}"}
             for n in range(2)],
}


def replay_file(folder: Path, day: date, first_id: int) -> Path:
    """A JSON-lines file of spool records received at noon UTC of `day`."""
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    lines = [encode_record(make_record(session_ended(first_id + n, recorddata=fields),
                                       received_at=moment + timedelta(seconds=n),
                                       source="127.0.0.1"))
             for n, fields in enumerate(RECORDDATA[day])]
    path = folder / f"{day.isoformat()}.jsonl"
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export folder after two nights, the second with a new recorddata field."""
    data = tmp_path_factory.mktemp("readers") / "data"
    settings = make_settings(data)
    for first_id, day in ((0, FIRST), (100, SECOND)):  # night after night
        source = replay_file(data.parent, day, first_id)
        done = CliRunner().invoke(cli, ["--data-dir", str(data), "replay", str(source)])
        assert done.exit_code == 0, done.output
        export_date(settings, day)
    return DataLayout(root=data).exports


def files(exports: Path, table: str = "session_recorddata") -> list[str]:
    """The table's files of every date, oldest first, as the manifest lists them."""
    manifest = read_manifest(DataLayout(root=exports.parent))
    return [str(exports / entry[table]["path"]) for entry in manifest["dates"].values()]


def by_postcode(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    return {row["postcode"]: (row["callback_date"], row["score"]) for row in rows}


EXPECTED = {"G0 1AA": (None, "0"), "G1 1AA": (None, "1"), "G2 1AA": (None, "2"),
            "EH0 2BB": ("2026-07-10", "grade 0"), "EH1 2BB": ("2026-07-11", "grade 1")}


def test_the_manifest_lists_each_files_columns_with_types(exports: Path) -> None:
    dates = read_manifest(DataLayout(root=exports.parent))["dates"]
    first = {c["name"]: c["type"] for c in dates["2026-07-06"]["session_recorddata"]["columns"]}
    second = {c["name"]: c["type"] for c in dates["2026-07-07"]["session_recorddata"]["columns"]}
    assert first["score"] == "int64" and "callback_date" not in first
    assert second["score"] == "string" and second["callback_date"] == "string"
    assert set(second) - set(first) == {"callback_date"}
    session = dates["2026-07-06"]["session_ended"]
    assert [c["name"] for c in session["columns"]][:4] == [
        "event_id", "event_timestamp", "received_at", "integration"]
    for entry in (dates["2026-07-06"]["session_recorddata"], session):
        schema = pq.read_schema(exports / entry["path"])
        assert entry["columns"] == [{"name": f.name, "type": str(f.type)} for f in schema]


def test_the_readers_defaults_lose_the_new_column(exports: Path) -> None:
    """Why the manual's ways are needed: what a reader gets without them."""
    naive = ds.dataset(files(exports), format="parquet")
    assert "callback_date" not in naive.schema.names  # pyarrow: the first file's schema
    with pytest.raises(pa.ArrowInvalid, match="grade"):
        naive.to_table()  # ... and the first file's type for the widened column
    with pytest.raises(pl.exceptions.PolarsError):
        pl.scan_parquet(files(exports)).collect()  # polars: refuses the second file


def test_duckdb_reads_every_date_with_union_by_name(exports: Path) -> None:
    pattern = f"{exports}/session_recorddata/*/*.parquet"
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}', union_by_name = true, "
                          "hive_partitioning = true)")
    rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    assert by_postcode(rows) == EXPECTED
    assert {row["date"] for row in rows} == {FIRST, SECOND}


def test_polars_reads_every_date_with_a_diagonal_relaxed_concat(exports: Path) -> None:
    frame = pl.concat([pl.scan_parquet(path) for path in files(exports)],
                      how="diagonal_relaxed").collect()
    assert by_postcode(frame.to_dicts()) == EXPECTED
    globbed = sorted(glob.glob(f"{exports}/session_recorddata/date=*/*.parquet"))
    assert globbed == files(exports), "a glob finds the same files, oldest first"


def test_pyarrow_reads_every_date_with_the_newest_schema_of_each_column(exports: Path) -> None:
    paths = files(exports)
    fields = {f.name: f for path in paths for f in pq.read_schema(path)}  # newer dates win
    table = ds.dataset(paths, format="parquet", schema=pa.schema(fields.values())).to_table()
    assert by_postcode(table.to_pylist()) == EXPECTED
    assert table.schema.field("score").type == pa.string()


def test_the_manifest_itself_tells_what_changed_between_dates(exports: Path) -> None:
    manifest = orjson.loads((exports / "_manifest.json").read_bytes())
    seen: dict[str, str] = {}
    changes = []
    for day, entry in manifest["dates"].items():
        for column in entry["session_recorddata"]["columns"]:
            if seen.get(column["name"]) != column["type"]:
                changes.append((day, column["name"], seen.get(column["name"]), column["type"]))
                seen[column["name"]] = column["type"]
    assert sorted(c for c in changes if c[0] == "2026-07-07") == [
        ("2026-07-07", "callback_date", None, "string"),
        ("2026-07-07", "score", "int64", "string")]
