"""transform_chunk on real segment files: quarantine, duplicates, dates, and the types the
loader reads its staging files with (converted to Parquet as the loader does)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from genius_wh.records import encode_record, make_record, parse_body
from genius_wh.segments import whole_segment
from genius_wh.tables import EVENT_TABLES
from transform import ChunkResult, lake, transform_chunk
from transform.errors import LakeWriteError
from warehouse.staging import staged

LONDON = ZoneInfo("Europe/London")
DATA = Path(__file__).parent / "data"
NOON = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
ARROW = {"VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32(),
         "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(),
         "TIMESTAMPTZ": pa.timestamp("us", tz="UTC")}


def corpus(name: str) -> dict[str, Any]:
    body, _repaired = parse_body((DATA / name).read_bytes())
    return body


def write_segment(path: Path, bodies: list[dict[str, Any]], start: datetime = NOON,
                  step: timedelta = timedelta(seconds=1)) -> Path:
    """A spool segment as the receiver writes it, one record per body."""
    with open(path, "wb") as handle:
        for n, body in enumerate(bodies):
            handle.write(encode_record(make_record(body, received_at=start + n * step,
                                                   source="127.0.0.1")))
    return path


def run(tmp_path: Path, segments: list[Path], chunk_id: str = "chunk-1") -> ChunkResult:
    return transform_chunk([whole_segment(s) for s in segments], chunk_id=chunk_id,
                           lake_dir=tmp_path / "lake", quarantine_dir=tmp_path / "quarantine",
                           tz=LONDON)


def parquet(result: ChunkResult) -> ChunkResult:
    """The result with its staging files converted to Parquet, as the loader converts them."""
    with duckdb.connect() as con:
        return staged(con, result)


def rows(result: ChunkResult, table: str) -> list[dict[str, Any]]:
    return [row for path in parquet(result).files[table]
            for row in pq.read_table(path).to_pylist()]


def four_examples() -> list[dict[str, Any]]:
    return [corpus(f"transform-{name}-example.json")
            for name in ("sessionended", "agentactivity", "queueinfo", "cardpayment")]


def test_the_four_examples_land_in_their_tables_with_contract_columns(tmp_path: Path) -> None:
    segment = write_segment(tmp_path / "seg-a.jsonl", four_examples())
    result = run(tmp_path, [segment])
    parquet(result)
    assert result.events == 4 and result.issues == [] and result.quarantined == []
    for table, columns in EVENT_TABLES.items():
        if table == "other_events":
            continue
        (path,) = result.files[table]
        assert path == tmp_path / "lake" / table / "date=2026-06-01" / "chunk-1.jsonl"
        schema = pq.read_schema(path.with_suffix(".parquet"))
        assert [(f.name, f.type) for f in schema] == [(n, ARROW[k]) for n, k in columns]
    assert result.files["other_events"] == [] and result.rows["other_events"] == 0
    (payment,) = rows(result, "card_payment")
    assert payment["received_at"] == NOON + timedelta(seconds=3)
    assert (payment["card_brand"], payment["succeeded"], payment["last4digits"]) == (
        "VISA", True, "9030")


def test_torn_last_line_is_quarantined_and_its_neighbours_load(tmp_path: Path) -> None:
    segment = write_segment(tmp_path / "seg-b.jsonl", four_examples())
    torn = b'{"v": 1, "event_id": "abc", "body": {"acti'
    with open(segment, "ab") as handle:
        handle.write(b"this is not json\n" + torn)
    result = run(tmp_path, [segment])
    assert sum(result.rows.values()) - result.rows["session_recorddata"] == 4
    assert [q.line for q in result.quarantined] == [5, 6]
    assert result.quarantined[0].reason.startswith("line is not JSON: ")
    assert result.quarantined[1].reason == "line is torn (no newline at its end)"
    bad = tmp_path / "quarantine" / "spool" / "seg-b.line6.bad"
    assert result.quarantined[1].path == bad
    assert bad.read_bytes() == torn
    assert (tmp_path / "quarantine" / "spool" / "seg-b.line6.reason").read_text() == (
        "segment seg-b.jsonl line 6: line is torn (no newline at its end)\n")


def test_a_line_that_is_not_a_v1_record_is_quarantined(tmp_path: Path) -> None:
    segment = tmp_path / "seg-c.jsonl"
    segment.write_bytes(b'{"action": "SessionEnded"}\n')
    result = run(tmp_path, [segment])
    assert [q.reason for q in result.quarantined] == ["line is not a spool record of version 1"]
    assert sum(result.rows.values()) == 0
    assert all(files == [] for files in result.files.values())


def test_duplicate_event_ids_keep_the_first_and_are_counted(tmp_path: Path) -> None:
    example = corpus("transform-agentactivity-example.json")
    redelivered = dict(example, timestamp="2021-07-06T10:05:00.0000000+01:00")
    first = write_segment(tmp_path / "seg-1.jsonl", [example, redelivered])
    second = write_segment(tmp_path / "seg-2.jsonl", [example], start=NOON + timedelta(hours=1))
    result = run(tmp_path, [first, second])
    assert (result.events, result.duplicates, result.rows["agent_activity"]) == (3, 2, 1)
    (row,) = rows(result, "agent_activity")
    assert row["received_at"] == NOON
    assert row["event_timestamp"] == datetime(2021, 7, 6, 9, 0, 16, 95864, tzinfo=UTC)


def test_a_chunk_spanning_midnight_writes_one_file_per_local_date(tmp_path: Path) -> None:
    bodies = [dict(corpus("transform-queueinfo-example.json"), n=n) for n in range(4)]
    # 22:30 UTC in June is 23:30 in London; the next three are after local midnight
    segment = write_segment(tmp_path / "seg-d.jsonl", bodies,
                            start=datetime(2026, 6, 1, 22, 30, tzinfo=UTC),
                            step=timedelta(minutes=20))
    result = run(tmp_path, [segment])
    assert [p.parent.name for p in result.files["queue_info"]] == [
        "date=2026-06-01", "date=2026-06-02"]
    assert [pq.read_metadata(p).num_rows for p in parquet(result).files["queue_info"]] == [2, 2]
    assert result.rows["queue_info"] == 4


def test_rerunning_a_chunk_overwrites_the_same_files(tmp_path: Path) -> None:
    segment = write_segment(tmp_path / "seg-e.jsonl", four_examples())
    first = run(tmp_path, [segment])
    second = run(tmp_path, [segment])
    assert first.files == second.files
    lake_files = sorted(p.relative_to(tmp_path) for p in (tmp_path / "lake").rglob("*")
                        if p.is_file())
    assert len(lake_files) == 5  # four tables and session_recorddata, no temporary leftovers
    assert rows(first, "session_ended") == rows(second, "session_ended")


def test_unconvertible_values_are_load_issues_with_segment_and_line(tmp_path: Path) -> None:
    bad = corpus("transform-agentactivity-example.json")
    bad["agentactivity"]["agentstate"] = "busy"
    segment = write_segment(tmp_path / "seg-f.jsonl", [four_examples()[2], bad])
    result = run(tmp_path, [segment])
    (issue,) = result.issues
    assert (issue.table, issue.column, issue.value, issue.problem) == (
        "agent_activity", "agentstate", "busy", "not a number")
    assert (issue.segment, issue.line) == ("seg-f.jsonl", 2)
    (row,) = rows(result, "agent_activity")
    assert row["agentstate"] is None and row["agent"] == "agent1001"


def test_unknown_fields_are_counted_with_first_and_last_seen(tmp_path: Path) -> None:
    bodies = []
    for n in range(3):
        body = corpus("transform-agentactivity-example.json")
        body["agentactivity"]["SkillLevel"] = n
        bodies.append(body)
    result = run(tmp_path, [write_segment(tmp_path / "seg-g.jsonl", bodies)])
    (unknown,) = result.unknown_fields
    assert (unknown.action, unknown.field, unknown.count) == ("AgentActivity", "SkillLevel", 3)
    assert (unknown.first_seen, unknown.last_seen) == (NOON, NOON + timedelta(seconds=2))


def test_unknown_action_lands_in_other_events(tmp_path: Path) -> None:
    body = {"action": "CallbackBooked", "timestamp": "2026-06-01T12:00:00", "when": "soon"}
    result = run(tmp_path, [write_segment(tmp_path / "seg-h.jsonl", [body])])
    (row,) = rows(result, "other_events")
    assert (row["action"], row["payload"]) == (
        "CallbackBooked", '{"action":"CallbackBooked","timestamp":"2026-06-01T12:00:00",'
                          '"when":"soon"}')
    assert row["event_timestamp"] == NOON


@pytest.mark.parametrize("count", [0, 1])
def test_empty_or_single_segment_chunks_write_only_tables_with_rows(tmp_path: Path,
                                                                    count: int) -> None:
    segment = write_segment(tmp_path / "seg-i.jsonl", four_examples()[1:1 + count])
    result = run(tmp_path, [segment])
    assert {t for t, files in result.files.items() if files} == (
        {"agent_activity"} if count else set())


def test_an_unwritable_lake_raises_a_retriable_error_naming_the_file(tmp_path: Path) -> None:
    segment = write_segment(tmp_path / "seg-j.jsonl", four_examples()[1:2])
    (tmp_path / "lake").write_text("a file where the lake folder should be")
    with pytest.raises(LakeWriteError, match=r"cannot write .*/lake/agent_activity/"
                       r"date=2026-06-01/chunk-1.jsonl: .*then run the batch again"):
        run(tmp_path, [segment])


def test_rows_are_written_out_as_they_arrive(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # a chunk holds at most ROWS_PER_GROUP rows of a file in memory: the rest is on disk
    monkeypatch.setattr(lake, "ROWS_PER_GROUP", 2)
    writer = lake.RowsWriter(tmp_path / "t.jsonl", EVENT_TABLES["queue_info"])
    row: list[Any] = [None] * len(EVENT_TABLES["queue_info"])
    for n in range(5):
        writer.append([f"e{n}", *row[1:]])
    assert len(writer.pending) == 1 and writer.written == 4 and len(writer) == 5
    writer.commit()
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == [f"e{n}" for n in range(5)]
    assert not list(tmp_path.glob(".*.tmp"))


def test_strings_survive_staging_exactly(tmp_path: Path) -> None:
    # NUL, newlines, quotes, an empty string (not NULL) and non-ASCII text come back as sent
    texts = ["a\x00b", "line\nbreak\r", 'say "hi", \\o/', "", "Łódź 東京 🙂"]
    example = corpus("transform-queueinfo-example.json")
    bodies = [dict(example, queueinfo=dict(example["queueinfo"], queuename=text))
              for text in texts]
    result = run(tmp_path, [write_segment(tmp_path / "seg-s.jsonl", bodies)])
    assert [row["queuename"] for row in rows(result, "queue_info")] == texts
