"""The transform's atomic files (genius_wh/durable.py) with its own error: a failed write
says how to recover instead of a bare OSError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from genius_wh import durable
from transform.errors import LakeWriteError


class AtomicFile(durable.AtomicFile):
    """A staging file that becomes `path` only on commit; errors become LakeWriteError."""

    def __init__(self, path: Path) -> None:
        with _reported(path, None):
            path.parent.mkdir(parents=True, exist_ok=True)
            # a fixed temporary: a rerun of a killed chunk overwrites its leftover (one batch
            # at a time holds the batch lock)
            super().__init__(path, temp=path.with_name(f".{path.name}.tmp"))

    def commit(self) -> Path:
        """Flush, fsync and rename the temporary file to its final name."""
        with _reported(self.path, self):
            return super().commit()


@contextmanager
def _reported(path: Path, file: AtomicFile | None) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if file is not None:
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
