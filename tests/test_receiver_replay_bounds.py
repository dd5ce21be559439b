"""`genius-wh replay` keeps the receiver's bounds (issue #9): a line too deep or too wide is
quarantined with its file and line number, and the rest is spooled."""

from __future__ import annotations

from pathlib import Path

import orjson
from receiver_support import quarantined, spool_records

from genius_wh.settings import Settings
from ingest.replay import replay_files

DEEP_OBJECT = b'{"action": "QueueInfo", "q": ' + b'{"a": ' * 600 + b"1" + b"}" * 600 + b"}"


def test_replay_quarantines_deep_and_wide_lines_and_spools_the_rest(tmp_path: Path) -> None:
    archived = (b'{"v": 1, "event_id": "e1", "received_at": "2026-01-01T00:00:00+00:00", '
                b'"source": "x", "action": "QueueInfo", "body": ' + DEEP_OBJECT + b"}")
    wide = orjson.dumps({"action": "SessionEnded",
                         "sessionended": {"recorddata": {f"f{n}": n for n in range(3)}}})
    good = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1"}}'
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join([DEEP_OBJECT, archived, wide, good]) + b"\n")
    data = tmp_path / "data"
    report = replay_files(Settings(data_dir=data, max_recorddata_fields=2), [source],
                          progress=False)
    assert (report.accepted, report.quarantined) == (1, 3)
    assert [r["body"] for r in spool_records(data)] == [orjson.loads(good)]
    reasons = sorted(orjson.loads(p.with_suffix(".json").read_bytes())["reason"]
                     for p in quarantined(data))
    assert reasons == [
        "events.jsonl line 1: body is nested 601 levels deep, more than max_json_depth (64)",
        "events.jsonl line 2: body is nested 601 levels deep, more than max_json_depth (64)",
        "events.jsonl line 3: recorddata has 3 fields, more than max_recorddata_fields (2)",
    ]
