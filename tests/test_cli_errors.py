"""Every bad input a new user tries is one clear line and a non-zero exit, never a traceback.

Issue #12: `-h`, `sql ""`, broken TOML, a taken port, a skipped batch, progress bars mixed
into a command's output.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result
from warehouse_support import REPO, session_ended, write_segment

from genius_wh.layout import DataLayout
from orchestration.cli import cli
from warehouse.errors import WarehouseBusy
from warehouse.locks import batch_lock


def _invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def _one_clear_line(result: Result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.exc_info is not None
    assert isinstance(result.exc_info[1], SystemExit), "a clean exit, not an exception"
    assert message in result.stderr


@pytest.mark.parametrize("command", ["", *sorted(cli.commands)])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_short_and_long_help(command: str, flag: str) -> None:
    result = _invoke(*([command] if command else []), flag)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and "Example: " in result.stdout


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_an_empty_query_is_a_usage_error(tmp_path: Path, query: str) -> None:
    result = _invoke("--data-dir", str(tmp_path), "sql", query)
    _one_clear_line(result, 2, "Invalid value for QUERY: the query is empty")


def test_sql_reads_the_query_from_stdin_and_takes_parameters(tmp_path: Path) -> None:
    write_segment(tmp_path, [session_ended(1)])
    assert _invoke("--data-dir", str(tmp_path), "batch").exit_code == 0
    result = _invoke("--data-dir", str(tmp_path), "sql", "-", "-p", "7", "--format", "csv",
                     stdin="SELECT ?::INTEGER * count(*) * 6 AS answer FROM session_ended")
    assert result.exit_code == 0, result.output
    assert result.stdout == "answer\n42\n"


def test_broken_toml_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "genius.toml"
    config.write_text('tokens = "abc\nallowed_ips = [\n')
    result = _invoke("--config", str(config), "status")
    _one_clear_line(result, 1, f"config file {config} is not valid TOML")


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = _invoke("--config", str(tmp_path / "nope.toml"), "status")
    _one_clear_line(result, 1, "nope.toml does not exist")


def test_a_bad_setting_value_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "genius.toml"
    config.write_text('timezone = "Mars/Olympus"\n')
    result = _invoke("--config", str(config), "status")
    _one_clear_line(result, 1, "unknown time zone 'Mars/Olympus'")


_HELD: dict[Path, int] = {}


@pytest.fixture
def batch_running(tmp_path: Path) -> Iterator[Path]:
    """Hold the batch lock as a running batch does."""
    lock = DataLayout(root=tmp_path).batch_lock
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    _HELD[tmp_path] = fd
    try:
        yield tmp_path
    finally:
        _release(tmp_path)


def _release(data_dir: Path) -> None:
    """Let go of the lock `batch_running` holds (once)."""
    fd = _HELD.pop(data_dir, None)
    if fd is not None:
        os.close(fd)


def test_batch_skipped_because_another_runs_exits_1_and_prints_no_rows(
        batch_running: Path) -> None:
    result = _invoke("--data-dir", str(batch_running), "batch")
    _one_clear_line(result, 1, "batch skipped: another batch is running")
    assert result.stdout == "", "no rows-loaded lines for a batch that did not run"


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "orchestration", "--data-dir", str(tmp_path), "serve",
             "--port", str(port)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr == (f"Error: port {port} on 127.0.0.1 is already in use (another "
                           "genius-wh serve?); stop it or pick another port: --port N "
                           "(make run PORT=N)\n")


@pytest.fixture
def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend stderr is a terminal, so progress bars are drawn."""
    monkeypatch.setattr("orchestration.cli.show_progress", lambda: True)
    monkeypatch.setattr("orchestration.output.show_progress", lambda: True)


def test_simulate_to_a_file_shows_progress_on_stderr_only(tmp_path: Path,
                                                          on_a_terminal: None) -> None:
    out = tmp_path / "events.jsonl"
    result = _invoke("simulate", "--out", str(out), "--count", "50")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"50 events written to {out}\n"
    assert "simulating" in result.stderr and "100%" in result.stderr
    assert len(out.read_bytes().splitlines()) == 50


def test_replay_progress_never_mixes_into_its_output(tmp_path: Path,
                                                     on_a_terminal: None) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_bytes(b"".join(orjson.dumps(session_ended(n)) + b"\n" for n in range(5)))
    result = _invoke("--data-dir", str(tmp_path / "data"), "replay", str(bodies))
    assert result.exit_code == 0, result.output
    assert result.stdout == "5 events spooled, 0 quarantined\n"
    assert "replaying" in result.stderr


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    result = _invoke("simulate", "--out", str(tmp_path / "e.jsonl"), "--count", "5")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_rebuild_output_is_only_its_rows_whatever_the_progress_bar_draws(
        tmp_path: Path, on_a_terminal: None) -> None:
    write_segment(tmp_path, [session_ended(n) for n in range(3)])
    assert _invoke("--data-dir", str(tmp_path), "batch").exit_code == 0
    result = _invoke("--data-dir", str(tmp_path), "rebuild")
    assert result.exit_code == 0, result.output
    rows = dict(line.split("\t") for line in result.stdout.splitlines())
    assert rows["session_ended"] == "3", result.stdout
    assert "chunks" in result.stderr, "the progress bar is drawn on stderr"


def test_rebuild_says_what_it_waits_for_and_goes_on_once_the_lock_is_free(
        batch_running: Path) -> None:
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "--data-dir", str(batch_running), "rebuild"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert rebuild.stderr is not None
    line = rebuild.stderr.readline()  # said before it waits, while the lock is still held
    assert f"waiting for {batch_running / '.batch.lock'}" in line
    assert "giving up after 600 s" in line and rebuild.poll() is None
    _release(batch_running)
    out, err = rebuild.communicate(timeout=120)
    assert rebuild.returncode == 0, err


def test_a_lock_wait_gives_up_with_a_clear_error(batch_running: Path) -> None:
    with pytest.raises(WarehouseBusy, match="held by another process for over 1 s"), \
            batch_lock(DataLayout(root=batch_running), blocking=True, wait_seconds=1):
        pass
