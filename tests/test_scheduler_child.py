"""A batch never shares a process with the receiver: killing it never stops intake (#9)."""

from __future__ import annotations

import os
import pickle
import resource
import signal
import threading
import time
from pathlib import Path

import duckdb
import orjson
import psutil
import pytest
from receiver_support import RunningReceiver, start_receiver, wait_until
from warehouse_support import make_settings, query, session_ended

from genius_wh.errors import GeniusWhError
from genius_wh.settings import Settings
from orchestration.scheduler import Job, run_in_child


def _job_children(server: RunningReceiver) -> list[psutil.Process]:
    """The scheduler's job processes: the children of the server's forkserver."""
    jobs: list[psutil.Process] = []
    for child in psutil.Process(server.proc.pid).children():
        try:
            if any("forkserver" in part for part in child.cmdline()):
                jobs.extend(child.children())
        except psutil.NoSuchProcess:
            continue
    return jobs


def _send(server: RunningReceiver, count: int, accepted: list[int], errors: list[str]) -> None:
    """POST `count` distinct SessionEnded bodies one after the other, noting every 200."""
    for n in range(count):
        status, answer = server.post(orjson.dumps(session_ended(n)))
        if status == 200:
            accepted.append(n)
        else:
            errors.append(f"{n}: {status} {answer}")
        time.sleep(0.01)


def _kill_batches_while(sender: threading.Thread, server: RunningReceiver) -> int:
    """SIGKILL every batch child seen while the sender runs; returns how many were killed."""
    killed = 0
    while sender.is_alive():
        for job in _job_children(server):
            try:
                job.send_signal(signal.SIGKILL)
                killed += 1
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.05)
    return killed


def _loaded(data_dir: Path) -> int:
    """Rows in session_ended; 0 until the first batch has created the warehouse."""
    try:
        rows = query(data_dir, "SELECT count(*) FROM session_ended")
    except (GeniusWhError, duckdb.Error):  # no warehouse, or no tables in it, yet
        return 0
    return int(rows[0][0])


def test_batch_killed_while_traffic_flows_loses_no_200_and_intake_stays_up(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_receiver(data_dir, scheduler=True, batch_interval_seconds="0.2",
                            spool_segment_seconds="0.2")
    try:
        accepted: list[int] = []
        errors: list[str] = []
        sender = threading.Thread(target=_send, args=(server, 300, accepted, errors))
        sender.start()
        killed = _kill_batches_while(sender, server)
        sender.join()
        assert errors == [], "the receiver must answer 200 while its batches are killed"
        assert killed >= 2, "the test must have killed batches while traffic flowed"
        assert server.proc.poll() is None, "killing a batch must not stop the receiver"
        wait_until(lambda: _loaded(data_dir) == len(accepted), timeout=60,
                   what="every accepted event to be loaded by a later batch")
        assert server.get("/healthz")[0] == 200
    finally:
        server.stop()
    assert "was killed by SIGKILL" in server.log.read_text()


def _killed_by_the_kernel(settings: Settings) -> bool:
    """A job that dies as the out-of-memory killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)
    return True


def _exceeds_its_memory_limit(settings: Settings) -> bool:
    """A job that hits an address-space limit 256 MiB above what it has."""
    limit = psutil.Process().memory_info().vms + 256 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return len(bytearray(1024 * 1024 * 1024)) > 0


def _failing(settings: Settings) -> bool:
    raise RuntimeError("a bug in the batch")


def _succeeding(settings: Settings) -> bool:
    return settings.data_dir.is_dir()


@pytest.mark.parametrize(("job", "code"), [
    pytest.param(_succeeding, 0, id="success exits 0"),
    pytest.param(_failing, 1, id="an exception in the job is the child's, exit 1"),
    pytest.param(_exceeds_its_memory_limit, 1, id="over its memory limit: exit 1"),
    pytest.param(_killed_by_the_kernel, -signal.SIGKILL, id="killed: negative signal"),
])
def test_a_job_child_reports_its_end_without_raising_in_the_parent(
        tmp_path: Path, job: Job, code: int, caplog: pytest.LogCaptureFixture) -> None:
    assert run_in_child("test job", job, make_settings(tmp_path)) == code
    if code < 0:
        assert "test job process" in caplog.text and "killed by SIGKILL" in caplog.text


def _writes_a_file(settings: Settings) -> bool:
    (settings.data_dir / "probe").write_text("personal data")
    return True


def test_a_job_child_creates_private_files_whatever_the_umask(tmp_path: Path) -> None:
    # issue #9: everything under the data dir 0600, the batch's files included
    previous = os.umask(0o022)
    try:
        assert run_in_child("probe", _writes_a_file, make_settings(tmp_path)) == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "probe").stat().st_mode & 0o777 == 0o600


def test_settings_cross_to_the_child_intact(tmp_path: Path) -> None:
    """The child gets the parent's Settings by pickle, --config and --data-dir included."""
    settings = make_settings(tmp_path, tokens="uk-site=a,b", allowed_ips="genius,10.0.0.0/8",
                             timezone="America/New_York", batch_interval_seconds=2)
    assert pickle.loads(pickle.dumps(settings)) == settings
