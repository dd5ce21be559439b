"""kill -9 under concurrent load: every event that got 200 is in the spool exactly once."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from pathlib import Path

import orjson
from receiver_support import RunningReceiver, start_receiver, wait_until

from genius_wh import segments
from genius_wh.layout import DataLayout
from genius_wh.records import decode_record

CLIENTS = 16


def post_until_refused(running: RunningReceiver, client: int, acked: list[str]) -> None:
    """Post unique events on one keep-alive connection until the server is gone."""
    conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        for n in range(1_000_000):
            body = orjson.dumps({"action": "SessionEnded", "session": {"client": client, "n": n}})
            conn.request("POST", "/", body=body)
            answer = conn.getresponse()
            payload = answer.read()
            if answer.status == 200:
                acked.append(orjson.loads(payload)["event_id"])
    except (OSError, http.client.HTTPException):
        return
    finally:
        conn.close()


def test_kill_9_under_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", spool_segment_bytes="200000")
    acked: list[str] = []
    threads = [threading.Thread(target=post_until_refused, args=(running, c, acked))
               for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acked) >= 1500, timeout=60, what="1500 acknowledged events")
    running.kill()
    for thread in threads:
        thread.join(timeout=30)
    layout = DataLayout(root=running.data_dir)
    segments.seal_abandoned(layout)
    assert list(layout.spool_open.glob("*.jsonl")) == []
    spooled, torn = read_segments(segments.list_ready(layout))
    counts = Counter(spooled)
    assert len(segments.list_ready(layout)) > 1  # sealed by size while under load
    assert [i for i in acked if counts[i] != 1] == []
    assert sum(counts.values()) == len(spooled) and max(counts.values()) == 1
    assert torn <= 1


def read_segments(paths: list[Path]) -> tuple[list[str], int]:
    """Event ids of every whole line; torn lines may only be the last line of a segment."""
    ids: list[str] = []
    torn = 0
    for path in paths:
        lines = path.read_bytes().splitlines(keepends=True)
        for number, line in enumerate(lines, start=1):
            try:
                ids.append(decode_record(line)["event_id"])
            except ValueError:
                assert number == len(lines), f"{path.name} line {number} is torn mid-segment"
                torn += 1
    return ids, torn


def test_sigterm_seals_the_open_segment(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", spool_segment_seconds="3600")
    status, answer = running.post(b'{"action": "QueueInfo", "queueinfo": {}}')
    layout = DataLayout(root=running.data_dir)
    assert status == 200 and len(list(layout.spool_open.glob("*.jsonl"))) == 1
    running.stop()
    assert running.proc.returncode == 0
    assert list(layout.spool_open.glob("*.jsonl")) == []
    [segment] = segments.list_ready(layout)
    assert decode_record(segment.read_bytes())["event_id"] == answer["event_id"]
