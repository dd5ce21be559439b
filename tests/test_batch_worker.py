"""The transform worker process of a batch of several chunks: shut down after it, killed with it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from importlib import metadata
from pathlib import Path

import psutil
from warehouse_support import (
    BASE_TIME,
    REPO,
    event_rows,
    make_settings,
    mixed_bodies,
    query,
    write_segment,
)

from orchestration.batch import run_batch

CHUNK = 400
BIG_CHUNK = 60_000


def _wait_until(check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _write_chunks(data_dir: Path, chunks: int) -> None:
    for n in range(chunks):
        write_segment(data_dir, mixed_bodies(CHUNK, start=n * CHUNK),
                      received_at=BASE_TIME + timedelta(minutes=n))


def test_a_batch_of_many_chunks_loads_them_all_and_leaves_no_worker_behind(tmp_path: Path) -> None:
    # (children from before the batch, such as a pytest-xdist worker's session servers, are
    # not the batch's workers)
    before = {child.pid for child in _workers(psutil.Process())}
    _write_chunks(tmp_path, 4)
    report = run_batch(make_settings(tmp_path, batch_max_events=CHUNK))
    assert report.chunks == 4 and report.events == 4 * CHUNK
    loaded = query(tmp_path, "SELECT count(*) FROM session_ended")[0][0] + query(
        tmp_path, "SELECT count(*) FROM agent_activity")[0][0]
    assert loaded > 0
    assert loaded == sum(report.rows_loaded[t] for t in ("session_ended", "agent_activity"))
    assert [w for w in _workers(psutil.Process()) if w.pid not in before] == []  # shut down


def _workers(process: psutil.Process) -> list[psutil.Process]:
    """Child processes, leaving out multiprocessing's resource tracker (it lives as long as
    its parent and exits when the parent does)."""
    found = []
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
    return found


def test_kill_9_of_the_batch_kills_its_busy_transform_worker_at_once(tmp_path: Path) -> None:
    write_segment(tmp_path, mixed_bodies(CHUNK), received_at=BASE_TIME)
    write_segment(tmp_path, mixed_bodies(BIG_CHUNK, start=CHUNK),  # the worker's: seconds
                  received_at=BASE_TIME + timedelta(minutes=1))
    env = {**os.environ, "GENIUS_WH_BATCH_MAX_EVENTS": str(CHUNK)}
    batch = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "--data-dir", str(tmp_path), "batch"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(batch.pid)
    assert _wait_until(lambda: _busy_worker(parent) is not None), "no worker process started"
    workers = parent.children(recursive=True)  # the resource tracker must go too
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    # without PR_SET_PDEATHSIG the worker would finish its chunk first (seconds)
    assert _wait_until(lambda: not any(_alive(w) for w in workers), timeout=1.0), "orphan"


def _busy_worker(parent: psutil.Process) -> psutil.Process | None:
    """The worker once it is past its imports and transforming (CPU time used)."""
    for worker in _workers(parent):
        with contextlib.suppress(psutil.Error):
            if sum(worker.cpu_times()[:2]) > 0.8:
                return worker
    return None


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_workers_of_the_console_script_load_no_more_than_their_transform(
        tmp_path: Path) -> None:
    # a spawned worker imports its parent's main script again: `genius-wh` itself, whose
    # import must not bring the command line (the receiver, the scheduler, DuckDB) along
    write_segment(tmp_path, mixed_bodies(CHUNK), received_at=BASE_TIME)
    write_segment(tmp_path, mixed_bodies(BIG_CHUNK, start=CHUNK),
                  received_at=BASE_TIME + timedelta(minutes=1))
    env = {**os.environ, "GENIUS_WH_BATCH_MAX_EVENTS": str(CHUNK)}
    batch = subprocess.Popen(
        [str(Path(sys.executable).parent / "genius-wh"), "--data-dir", str(tmp_path), "batch"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(batch.pid)
    assert _wait_until(lambda: _busy_worker(parent) is not None), "no worker process started"
    worker = _busy_worker(parent)
    assert worker is not None
    libraries = _libraries(worker)
    assert libraries and not [name for name in libraries if "duckdb" in name], libraries
    # nor a Parquet library, in the worker (it writes JSON lines) or in the batch process
    # (DuckDB converts them): pyarrow was 65-76 MiB of each
    assert not [name for name in libraries | _libraries(parent) if "arrow" in name], libraries
    _, errors = batch.communicate(timeout=120)
    assert batch.returncode == 0, errors
    assert event_rows(tmp_path) == CHUNK + BIG_CHUNK


def _libraries(process: psutil.Process) -> set[str]:
    """Paths of the shared libraries a process maps."""
    return {m.path for m in process.memory_maps() if ".so" in Path(m.path).name}


def test_the_console_script_imports_nothing_before_its_command_runs() -> None:
    script = metadata.entry_points(group="console_scripts")["genius-wh"]
    code = (f"import sys, {script.module}; "
            "print(','.join(m for m in ('duckdb', 'pyarrow', 'flask', 'click') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""
