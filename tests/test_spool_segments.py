"""The spool writer and segment protocol, in-process on a real data directory."""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from receiver_support import wait_until

from genius_wh import segments
from genius_wh.layout import DataLayout
from genius_wh.records import decode_record, encode_record, make_record
from ingest.spool import SpoolWriter


def line(n: int, pad: int = 0) -> bytes:
    body = {"action": "QueueInfo", "queueinfo": {"n": n, "pad": "x" * pad}}
    return encode_record(make_record(body, received_at=datetime.now(UTC), source="test"))


@pytest.fixture
def layout(tmp_path: Path) -> DataLayout:
    return DataLayout(root=tmp_path / "data").ensure()


def numbers(paths: list[Path]) -> list[int]:
    return [decode_record(raw)["body"]["queueinfo"]["n"]
            for path in paths for raw in path.read_bytes().splitlines(keepends=True)]


def test_segment_names_are_unique_and_sort_by_creation(layout: DataLayout) -> None:
    names = [segments.segment_name() for _ in range(200)]
    assert len(set(names)) == 200 and names == sorted(names)
    stamp, host, pid, seq = names[0].removesuffix(".jsonl").split("-")
    assert len(stamp) == 21 and stamp[8] == "T" and pid == str(os.getpid()) and seq.isdigit()


def test_concurrent_appends_are_whole_lines_in_one_segment(layout: DataLayout) -> None:
    writer = SpoolWriter(layout, segment_bytes=10**9, segment_seconds=3600).start()
    threads = [threading.Thread(target=lambda k=k: [writer.append(line(k * 100 + i, pad=k))
                                                    for i in range(100)]) for k in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [open_segment] = list(layout.spool_open.glob("*.jsonl"))
    assert sorted(numbers([open_segment])) == list(range(2000))
    writer.close()
    assert list(layout.spool_open.iterdir()) == []
    assert [p.name for p in segments.list_ready(layout)] == [open_segment.name]


def test_segment_is_sealed_when_it_reaches_its_size(layout: DataLayout) -> None:
    writer = SpoolWriter(layout, segment_bytes=1000, segment_seconds=3600).start()
    for n in range(10):
        writer.append(line(n, pad=400))
    writer.close()
    ready = segments.list_ready(layout)
    assert 500 < len(line(0, pad=400)) < 1000
    assert [len(numbers([path])) for path in ready] == [2, 2, 2, 2, 2]
    assert numbers(ready) == list(range(10))


def test_idle_segment_is_sealed_once_older_than_its_age(layout: DataLayout) -> None:
    writer = SpoolWriter(layout, segment_bytes=10**9, segment_seconds=0.2).start()
    writer.append(line(1))
    started = time.monotonic()
    wait_until(lambda: segments.list_ready(layout), timeout=5, what="the age seal")
    assert time.monotonic() - started < 2
    assert list(layout.spool_open.glob("*.jsonl")) == []
    writer.close()
    assert numbers(segments.list_ready(layout)) == [1]


def test_closing_an_unused_writer_leaves_no_segment(layout: DataLayout) -> None:
    SpoolWriter(layout, segment_bytes=1000, segment_seconds=1).start().close()
    assert list(layout.spool_open.iterdir()) == [] and segments.list_ready(layout) == []


def test_seal_abandoned_moves_dead_segments_but_not_live_ones(layout: DataLayout) -> None:
    dead = layout.spool_open / segments.segment_name()
    dead.write_bytes(line(1))
    empty = layout.spool_open / segments.segment_name()
    empty.write_bytes(b"")
    live_fd = segments.create_locked(layout, live := segments.segment_name())
    try:
        sealed = segments.seal_abandoned(layout)
        assert sealed == [layout.spool_ready / dead.name]
        assert sorted(p.name for p in layout.spool_open.iterdir()) == [live]
    finally:
        os.close(live_fd)
    assert not empty.exists()


def test_seal_abandoned_skips_a_segment_locked_by_another_open(layout: DataLayout) -> None:
    held = layout.spool_open / segments.segment_name()
    held.write_bytes(line(1))
    with held.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert segments.seal_abandoned(layout) == []
    assert segments.seal_abandoned(layout) == [layout.spool_ready / held.name]


def test_list_ready_sorts_by_name_and_ignores_other_files(layout: DataLayout) -> None:
    for name in ["20260102T000000000000-h-1-000002.jsonl", "20260101T000000000000-h-9-000001.jsonl",
                 ".20260101T000000000000-h-1-000003.jsonl.new", "notes.txt"]:
        (layout.spool_ready / name).write_bytes(b"")
    assert [p.name for p in segments.list_ready(layout)] == [
        "20260101T000000000000-h-9-000001.jsonl", "20260102T000000000000-h-1-000002.jsonl"]


@pytest.mark.parametrize("raw, message", [
    pytest.param(b'{"v": 1, "event_id": "a"', "line is torn (no newline at its end)",
                 id="torn: no newline"),
    pytest.param(b'{"v": 1, "event_id": "a"\n', "line is not JSON", id="torn: cut JSON"),
    pytest.param(b'{"v": 1, "event_id": "a"}{"v": 1}\n', "line is not JSON",
                 id="two lines interleaved"),
])
def test_torn_or_interleaved_line_is_detected(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        decode_record(raw)


def test_append_after_close_is_refused(layout: DataLayout) -> None:
    from ingest.errors import SpoolUnavailable

    writer = SpoolWriter(layout, segment_bytes=1000, segment_seconds=1).start()
    writer.close()
    with pytest.raises(SpoolUnavailable, match="the spool writer is not running"):
        writer.append(line(1))
