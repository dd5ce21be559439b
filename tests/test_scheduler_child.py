"""A batch never shares a process with the receiver: killing it, or starving it of memory,
never stops intake (#9)."""

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
from orchestration.pipeline import memory_limit, transform_executor
from orchestration.scheduler import Job, run_in_child
from warehouse.lakehouse import lake_config, open_lake


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


#: A limit no batch fits in: DuckDB gets 8 MiB of it, the process 16 MiB above what it held.
STARVED_MB = 16


def _failed_batches(data_dir: Path) -> list[str]:
    """The messages of the failed batches in _batches; empty until the warehouse exists."""
    try:
        rows = query(data_dir, "SELECT message FROM _batches WHERE outcome = 'failed'")
    except (GeniusWhError, duckdb.Error):
        return []
    return [str(message) for (message,) in rows]


def _distinct_loaded(data_dir: Path) -> int:
    return int(query(data_dir, "SELECT count(DISTINCT event_id) FROM session_ended")[0][0])


def test_batch_over_its_memory_limit_fails_in_one_line_and_intake_keeps_answering(
        tmp_path: Path) -> None:
    # issue #9: batch_memory_mb is the kernel's limit on the batch process, never the receiver
    data_dir = tmp_path / "data"
    server = start_receiver(data_dir, scheduler=True, batch_interval_seconds="0.2",
                            spool_segment_seconds="0.2", batch_memory_mb=str(STARVED_MB))
    accepted: list[int] = []
    errors: list[str] = []
    try:
        sender = threading.Thread(target=_send, args=(server, 150, accepted, errors))
        sender.start()
        wait_until(lambda: len(_failed_batches(data_dir)) >= 2, timeout=60,
                   what="starved batches to fail")
        sender.join()
        assert errors == [], "the receiver must answer 200 while its batches starve"
        assert server.proc.poll() is None and server.get("/healthz")[0] == 200
        assert _loaded(data_dir) == 0, "a starved batch commits nothing"
        assert b"genius_wh_last_batch_ok 0.0" in server.get("/metrics")[1]
    finally:
        server.stop()
    for message in _failed_batches(data_dir):
        assert message.startswith("batch failed: out of memory: the batch needed more than "
                                  f"batch_memory_mb = {STARVED_MB} MiB ("), message
        assert message.endswith("raise batch_memory_mb or lower batch_max_events")
        assert "\n" not in message
    assert "scheduled batch did not finish: batch failed: out of memory" in server.log.read_text()
    server = start_receiver(data_dir, scheduler=True, batch_interval_seconds="0.2")
    try:  # the default limit: everything answered 200 loads, once
        wait_until(lambda: _loaded(data_dir) == len(accepted), timeout=60,
                   what="every accepted event to load once the limit is raised")
        assert _distinct_loaded(data_dir) == len(accepted) == 150
    finally:
        server.stop()


def test_memory_limit_is_the_kernels_for_the_process_and_its_workers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    executor, _ = transform_executor(many=True)
    with open_lake(lake_config(settings), read_only=False) as con, executor:
        # (256 MiB, not less: this process's DuckDB may hold earlier tests' data, and it
        # cannot lower its limit below what it holds)
        with memory_limit(con, 256):
            limit = resource.getrlimit(resource.RLIMIT_DATA)[0]
            with pytest.raises(MemoryError):
                bytearray(512 * 1024 * 1024)
            assert executor.submit(resource.getrlimit, resource.RLIMIT_DATA).result()[0] == limit
            assert con.execute("SELECT current_setting('memory_limit')").fetchone() == (
                "128.0 MiB",)
        assert resource.getrlimit(resource.RLIMIT_DATA)[0] != limit  # lifted on leaving
        assert len(bytearray(512 * 1024 * 1024)) > 0
