"""session_recorddata from real chunks: one column per field, typed, widened within a chunk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genius_wh.records import encode_record, make_record
from genius_wh.segments import whole_segment
from transform import ChunkResult, transform_chunk
from transform.chunk import RECORDDATA_ROWS_ALONE
from transform.recordcolumns import RecorddataColumns
from warehouse.staging import staged

NOON = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


def session(recorddata: Any, urn: str = "u1") -> dict[str, Any]:
    return {"action": "SessionEnded", "timestamp": "2026-06-01T12:00:00.1234567+01:00",
            "session": {"campaign": "C", "URN": urn, "recorddata": recorddata}}


def transform(tmp_path: Path, recorddatas: list[Any],
              step: timedelta = timedelta(seconds=1)) -> ChunkResult:
    """Write one segment of SessionEnded events (one per recorddata) and transform it."""
    segment = tmp_path / "seg.jsonl"
    with open(segment, "wb") as handle:
        for n, data in enumerate(recorddatas):
            record = make_record(session(data, urn=f"u{n}"), received_at=NOON + n * step,
                                 source="127.0.0.1")
            handle.write(encode_record(record))
    result = transform_chunk([whole_segment(segment)], chunk_id="c", lake_dir=tmp_path / "lake",
                             quarantine_dir=tmp_path / "q", tz=ZoneInfo("Europe/London"))
    with duckdb.connect() as con:  # the staging files converted as the loader converts them
        return staged(con, result)


def table(result: ChunkResult) -> pa.Table:
    """The chunk's session_recorddata files as one table, as the loader reads them (union by
    name: a file has the columns its events send)."""
    return pa.concat_tables((pq.read_table(p) for p in result.files["session_recorddata"]),
                            promote_options="default")


def by_event(result: ChunkResult) -> list[dict[str, Any]]:
    """Rows in the order the events were sent (the file groups rows by field set)."""
    ended = [r["event_id"] for p in result.files["session_ended"]
             for r in pq.read_table(p, columns=["event_id"]).to_pylist()]
    found = {row["event_id"]: row for row in table(result).to_pylist()}
    return [found[event_id] for event_id in ended if event_id in found]


def test_object_and_key_value_array_give_the_same_row(tmp_path: Path) -> None:
    as_object = {"Postcode": "AB1 2CD", "Balance": 12.5, "Tel1": "07976916443"}
    as_pairs = [{"key": "Postcode", "value": "AB1 2CD"}, {"key": "Balance", "value": 12.5},
                {"key": "Tel1", "value": "07976916443"}]
    result = transform(tmp_path, [as_object, as_pairs])
    first, second = by_event(result)
    assert first | {"event_id": ""} == second | {"event_id": ""} == {
        "event_id": "", "postcode": "AB1 2CD", "balance": 12.5, "tel1": "07976916443"}
    assert result.recorddata_types == {"postcode": "VARCHAR", "balance": "DOUBLE",
                                       "tel1": "VARCHAR"}


@pytest.mark.parametrize(
    ("values", "kind", "stored"),
    [
        pytest.param([True, 5], "BIGINT", [1, 5], id="boolean then integer"),
        pytest.param([1, 2.5], "DOUBLE", [1.0, 2.5], id="integer then fraction"),
        pytest.param([2.5, 1], "DOUBLE", [2.5, 1.0], id="never narrows back"),
        pytest.param([1, 2.5, "x", True], "VARCHAR", ["1", "2.5", "x", "true"],
                     id="up to text"),
        pytest.param(["07976916443", 7976916443], "VARCHAR", ["07976916443", "7976916443"],
                     id="strings keep their zero"),
        pytest.param([{"a": 1}, [1, 2]], "JSON", ['{"a":1}', "[1,2]"], id="objects stay JSON"),
        pytest.param([{"a": 1}, "x"], "VARCHAR", ['{"a":1}', "x"],
                     id="object and text is text"),
        pytest.param([None, 3], "BIGINT", [None, 3], id="null then a value"),
        pytest.param([None, None], "NULL", [None, None], id="only nulls"),
        pytest.param([2**63, 1], "DOUBLE", [float(2**63), 1.0], id="beyond int64"),
    ],
)
def test_a_column_takes_the_widest_type_of_the_chunk(tmp_path: Path, values: list[Any],
                                                     kind: str, stored: list[Any]) -> None:
    result = transform(tmp_path, [{"Score": value} for value in values])
    assert result.recorddata_types == {"score": kind}
    assert [row["score"] for row in by_event(result)] == stored
    (seen,) = result.fields
    assert (seen.field, seen.column_name, seen.column_type) == ("Score", "score", kind)


def test_fields_meeting_in_one_column_keep_the_first_non_null(tmp_path: Path) -> None:
    result = transform(tmp_path, [{"Post Code": None, "post_code": "AB1", "POST-CODE": "XX"},
                                  {"post_code": "CD2"}])
    assert [row["post_code"] for row in by_event(result)] == ["AB1", "CD2"]
    assert sorted((f.field, f.column_name) for f in result.fields) == [
        ("POST-CODE", "post_code"), ("Post Code", "post_code"), ("post_code", "post_code")]


def test_a_field_named_event_id_does_not_clash_with_the_key(tmp_path: Path) -> None:
    result = transform(tmp_path, [{"Event ID": "theirs"}])
    (row,) = by_event(result)
    assert row["rd_event_id"] == "theirs" and len(row["event_id"]) == 32


def test_fields_seen_carry_first_and_last_received_at(tmp_path: Path) -> None:
    result = transform(tmp_path, [{"A": 1}, {"A": 2, "B": 1}, {"A": 3}])
    spans = {f.field: (f.first_seen, f.last_seen) for f in result.fields}
    assert spans == {"A": (NOON, NOON + timedelta(seconds=2)),
                     "B": (NOON + timedelta(seconds=1),) * 2}


def test_a_campaign_with_300_fields_gives_300_columns(tmp_path: Path) -> None:
    recorddata = {f"Field {n}": n for n in range(300)}
    result = transform(tmp_path, [recorddata] * 3)
    assert table(result).num_columns == 301
    assert result.rows["session_recorddata"] == 3
    assert by_event(result)[2]["field_299"] == 299


def test_3000_distinct_fields_across_records_each_row_keeps_its_own(tmp_path: Path) -> None:
    recorddatas = [{f"C{n} F{k}": f"{n}-{k}" for k in range(10)} for n in range(300)]
    result = transform(tmp_path, recorddatas)
    assert len(result.recorddata_types) == 3000 and len(result.fields) == 3000
    data = table(result)
    assert data.num_columns == 3001 and data.num_rows == 300
    rows = by_event(result)
    assert rows[123]["c123_f9"] == "123-9" and rows[123]["c124_f0"] is None
    assert sum(v is not None for v in rows[7].values()) == 11


def test_each_date_has_its_files_with_the_columns_their_events_send(tmp_path: Path) -> None:
    result = transform(tmp_path, [{"A": 1}, {"B": "x"}], step=timedelta(hours=14))
    assert [pq.read_schema(p).names for p in result.files["session_recorddata"]] == [
        ["event_id", "a"], ["event_id", "b"]]
    assert [p.parent.name for p in result.files["session_recorddata"]] == [
        "date=2026-06-01", "date=2026-06-02"]


def test_a_large_group_has_a_file_of_its_own_and_small_ones_share_one(tmp_path: Path) -> None:
    recorddatas = ([{"Postcode": f"G{n}", "Balance": n} for n in range(RECORDDATA_ROWS_ALONE)]
                   + [{"Tariff": "A"}, {"Tariff": "B", "Region": "North"}])
    result = transform(tmp_path, recorddatas)
    assert [pq.read_schema(p).names for p in result.files["session_recorddata"]] == [
        ["event_id", "postcode", "balance"], ["event_id", "tariff", "region"]]
    rows = by_event(result)
    assert rows[RECORDDATA_ROWS_ALONE + 1]["region"] == "North"
    assert rows[RECORDDATA_ROWS_ALONE]["region"] is None and rows[0]["balance"] == 0
    assert table(result).num_rows == RECORDDATA_ROWS_ALONE + 2


def test_bad_recorddata_elements_are_load_issues_and_good_ones_load(tmp_path: Path) -> None:
    result = transform(tmp_path, [[["A", 1], "stray"]])
    (issue,) = result.issues
    assert (issue.table, issue.column, issue.problem) == (
        "session_recorddata", "recorddata",
        'recorddata element 1 is not a key/value pair: "stray"')
    assert (issue.segment, issue.line) == ("seg.jsonl", 1)
    assert by_event(result)[0]["a"] == 1


def test_session_without_recorddata_has_no_recorddata_row(tmp_path: Path) -> None:
    result = transform(tmp_path, [None, {}, {"A": None}])
    assert result.rows["session_recorddata"] == 1
    assert result.recorddata_types == {"a": "NULL"}
    # a column of nulls only: as DuckDB reads a Parquet column of nulls, INTEGER
    assert table(result).schema.field("a").type == pa.int32()
    assert table(result).column("a").to_pylist() == [None]


@pytest.mark.parametrize("max_cells", [1, 7, 12, 1000])
def test_rows_written_in_slices_keep_every_value_in_its_row(max_cells: int) -> None:
    columns = RecorddataColumns()
    day = NOON.date()
    expected = {}
    for n in range(23):
        data = {"A": n} if n % 3 == 0 else {"B": f"b{n}"} if n % 3 == 1 else {"A": n, "C": True}
        columns.add(f"e{n}", data, day, NOON)
        expected[f"e{n}"] = {"a": data.get("A"), "b": data.get("B"), "c": data.get("C")}
    found = {}
    step = max(1, max_cells // 3)
    (groups,) = columns.files(day, min_rows_alone=100)
    for piece in columns.slices(groups, max_cells):
        assert len(piece.event_ids) <= step
        for index, event_id in enumerate(piece.event_ids):
            assert all(len(values) == len(piece.event_ids) for values in piece.columns.values())
            found[event_id] = {name: piece.columns[name][index] if name in piece.columns
                               else None for name in ("a", "b", "c")}
    assert found == expected
