"""`make run` and `make install` do what a new user and an operator expect (issue #12)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(*args: str) -> str:
    """What `make -n -B ARGS` would run (nothing is run), in a throw-away venv path."""
    done = subprocess.run(["make", "-n", "-B", *args, "VENV=/nonexistent/venv"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_make_run_takes_port_and_host() -> None:
    out = _dry_run("run", "PORT=9123", "HOST=0.0.0.0")
    assert "genius-wh --data-dir ./data serve --host 0.0.0.0 --port 9123" in out


def test_make_run_defaults_to_loopback_8080() -> None:
    assert "serve --host 127.0.0.1 --port 8080" in _dry_run("run")


def test_make_install_installs_the_product_without_the_dev_tools() -> None:
    out = _dry_run("install")
    assert "pip install --quiet -e .\n" in out
    assert "[dev]" not in out


@pytest.mark.parametrize("target", ["dev", "test"])
def test_dev_and_test_targets_install_the_dev_extras(target: str) -> None:
    assert "pip install --quiet -e '.[dev]'" in _dry_run(target)
