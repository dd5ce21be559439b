"""Shared fixtures: real data directories and a real receiver subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from receiver_support import RunningReceiver, start_receiver


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., RunningReceiver]]:
    """Start `genius-wh serve --no-scheduler` on a free port: factory(**settings)."""
    started: list[RunningReceiver] = []

    def start(data_dir: Path | None = None, **settings: str) -> RunningReceiver:
        running = start_receiver(data_dir or tmp_path / f"data{len(started)}", **settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
