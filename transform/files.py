"""Atomic file writes: temporary name in the same folder, fsync, os.replace (STYLE 2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from genius_wh.durable import fsync_path
from transform.errors import LakeWriteError


class AtomicFile:
    """A temporary file beside `path` that becomes `path` only on commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # deterministic: a rerun of a killed chunk overwrites its leftovers (one batch at a time)
        self.temp = path.with_name(f".{path.name}.tmp")
        with _reported(path, self):
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle: BinaryIO = open(self.temp, "wb")  # noqa: SIM115 - closed by commit

    def commit(self) -> None:
        """Flush, fsync and rename the temporary file to its final name."""
        with _reported(self.path, self):
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.temp, self.path)
            fsync_path(self.path.parent)

    def discard(self) -> None:
        """Close and remove the temporary file (after a failure); never raises OSError."""
        with suppress(OSError):
            if hasattr(self, "handle"):
                self.handle.close()
            self.temp.unlink(missing_ok=True)


@contextmanager
def _reported(path: Path, file: AtomicFile) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        file.discard()
        raise LakeWriteError(f"cannot write {path}: {exc.strerror or exc} "
                             "(free space or fix permissions, then run the batch again)") from exc


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on success it is fsynced and renamed to `path`."""
    file = AtomicFile(path)
    try:
        with _reported(path, file):
            yield file.handle
    except BaseException:
        file.discard()
        raise
    file.commit()


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically."""
    with atomic_file(path) as handle:
        handle.write(data)
