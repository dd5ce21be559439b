"""`genius-wh replay`: spool records kept as they were, webhook bodies taken in, bad lines kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from genius_wh import segments
from genius_wh.layout import DataLayout
from genius_wh.records import decode_record, encode_record, make_record
from genius_wh.settings import Settings
from ingest.replay import ReplayReport, replay_files
from orchestration.cli import cli

ARCHIVED = make_record({"action": "QueueInfo", "queueinfo": {"queuenumber": 1}},
                       received_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
                       source="84.22.187.53")


def ready_records(data_dir: Path) -> list[dict[str, object]]:
    layout = DataLayout(root=data_dir)
    assert list(layout.spool_open.glob("*.jsonl")) == []  # replay sealed its segment
    return [dict(decode_record(raw)) for path in segments.list_ready(layout)
            for raw in path.read_bytes().splitlines(keepends=True)]


def test_spool_records_keep_their_id_time_and_source(tmp_path: Path) -> None:
    source = tmp_path / "archive.jsonl"
    source.write_bytes(encode_record(ARCHIVED))
    report = replay_files(Settings(data_dir=tmp_path / "data"), [source], progress=False)
    assert report == ReplayReport(accepted=1, quarantined=0)
    assert ready_records(tmp_path / "data") == [dict(ARCHIVED)]


def test_webhook_bodies_are_received_now_from_replay(tmp_path: Path) -> None:
    source = tmp_path / "bodies.jsonl"
    source.write_bytes(b'{"action": "AgentActivity", "agentactivity": {"agent": "a"}}\n'
                       b'\n'
                       b'{"action": "CardPayment", "CardPayment": {"amount": 1,},}\r\n')
    before = datetime.now(UTC)
    report = replay_files(Settings(data_dir=tmp_path / "data"), [source], progress=False)
    assert report == ReplayReport(accepted=2, quarantined=0)
    first, second = ready_records(tmp_path / "data")
    assert first["source"] == second["source"] == "replay"
    assert datetime.fromisoformat(str(first["received_at"])) >= before
    assert second["body"] == {"action": "CardPayment", "CardPayment": {"amount": 1}}
    assert second["original"] == '{"action": "CardPayment", "CardPayment": {"amount": 1,},}'


@pytest.mark.parametrize("bad, reason", [
    pytest.param(b"not json", "line 2: body is not valid JSON", id="not json"),
    pytest.param(b"[1]", "line 2: body is not a JSON object but list", id="array"),
    pytest.param(b'{"no": "action"}', "line 2: body has no `action`", id="no action"),
    pytest.param(b'{"v": 1, "action": "X", "body": {}}',
                 "line 2: damaged spool record: spool record has no 'event_id'",
                 id="damaged spool record"),
])
def test_bad_line_is_quarantined_with_file_line_and_reason(
        tmp_path: Path, bad: bytes, reason: str) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(encode_record(ARCHIVED) + bad + b"\n")
    report = replay_files(Settings(data_dir=tmp_path / "data"), [source], progress=False)
    assert report == ReplayReport(accepted=1, quarantined=1)
    [kept] = (tmp_path / "data" / "quarantine").glob("*.body")
    assert kept.read_bytes() == bad + b"\n"
    sidecar = orjson.loads(kept.with_suffix(".json").read_bytes())
    assert sidecar["reason"].startswith(f"mixed.jsonl {reason}")
    assert sidecar["origin"] == str(source)


def test_replay_command_prints_counts_and_spools_many_lines(tmp_path: Path) -> None:
    source = tmp_path / "many.jsonl"
    source.write_bytes(b"".join(orjson.dumps({"action": "QueueInfo", "n": n}) + b"\n"
                                for n in range(5000)))
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "replay",
                                      str(source)])
    assert result.exit_code == 0, result.output
    assert "5000 events spooled, 0 quarantined" in result.output
    spooled = ready_records(tmp_path / "data")
    assert [r["body"]["n"] for r in spooled] == list(range(5000))  # type: ignore[index]
