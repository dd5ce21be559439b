"""Personal data stays private (issue #9): the receiver's files are 0600 and its folders
0700 whatever the umask, and the metric files of dead processes do not pile up."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from genius_wh.durable import atomic_write, private_dir
from genius_wh.metricfiles import fold_dead, read_rows
from genius_wh.settings import load_settings
from ingest.app import Receiver, create_app

HOST = socket.gethostname().split(".")[0]
GOOD = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1"}}'


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_receiver_files_are_0600_and_folders_0700_under_umask_0(
        tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    app = create_app(load_settings(data_dir=data, spool_segment_seconds=3600))
    receiver: Receiver = app.extensions["genius_wh"]
    client = app.test_client()
    try:
        assert client.post("/", data=GOOD).status_code == 200
        assert client.post("/", data=b"[not json").status_code == 400
        receiver.metrics.flush()
    finally:
        receiver.close()
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.parent.name for p in files} >= {"ready", "quarantine", "metrics"}
    assert {str(p.relative_to(data)): oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    receiver_folders = [data, data / "spool", data / "spool" / "open", data / "spool" / "ready",
                        data / "quarantine", data / "metrics"]
    assert [oct(mode(p)) for p in receiver_folders] == ["0o700"] * len(receiver_folders)


def test_atomic_write_and_private_dir_ignore_the_umask(tmp_path: Path,
                                                       open_umask: None) -> None:
    folder = private_dir(tmp_path / "a" / "b")
    written = atomic_write(folder / "f.json", b"{}")
    assert (mode(tmp_path / "a"), mode(folder), mode(written)) == (0o700, 0o700, 0o600)
    assert written.read_bytes() == b"{}" and list(folder.iterdir()) == [written]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_rows(path: Path, rows: list[list[object]]) -> None:
    path.write_bytes(orjson.dumps(rows))


def test_metric_files_of_dead_processes_are_folded_into_totals(tmp_path: Path) -> None:
    events = "genius_wh_events_received"
    last = "genius_wh_last_event_timestamp_seconds"
    gone = tmp_path / f"ingest-{HOST}-{dead_pid()}.json"
    alive = tmp_path / f"ingest-{HOST}-{os.getpid()}.json"
    other_host = tmp_path / "ingest-otherhost-1.json"
    write_rows(gone, [[events, ["x", "accepted", "default"], 3.0], [last, ["x", "d"], 50.0]])
    write_rows(alive, [[events, ["x", "accepted", "default"], 1.0]])
    write_rows(other_host, [[events, ["x", "accepted", "default"], 7.0]])
    totals = tmp_path / f"ingest-{HOST}-totals.json"
    write_rows(totals, [[events, ["x", "accepted", "default"], 10.0], [last, ["x", "d"], 90.0]])
    assert fold_dead(tmp_path, HOST, frozenset({last})) == 1
    assert not gone.exists() and alive.exists() and other_host.exists()
    assert sorted(read_rows(totals)) == [(events, ["x", "accepted", "default"], 13.0),
                                         (last, ["x", "d"], 90.0)]
    assert fold_dead(tmp_path, HOST, frozenset({last})) == 0


def test_a_fold_interrupted_before_the_unlink_does_not_count_twice(tmp_path: Path) -> None:
    events = "genius_wh_events_received"
    gone = tmp_path / f"ingest-{HOST}-{dead_pid()}.json"
    write_rows(gone, [[events, ["x", "accepted", "default"], 3.0]])
    totals = tmp_path / f"ingest-{HOST}-totals.json"
    # the state a crash leaves: the totals already hold the file, which is still there
    totals.write_bytes(orjson.dumps({"rows": [[events, ["x", "accepted", "default"], 3.0]],
                                     "folded": [gone.name]}))
    assert fold_dead(tmp_path, HOST, frozenset()) == 1
    assert read_rows(totals) == [(events, ["x", "accepted", "default"], 3.0)]
    assert not gone.exists()
