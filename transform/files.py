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
        with _reported(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            super().__init__(path, temp=_fixed_temp(path))

    def commit(self, *, sync: bool = True) -> Path:
        """Flush, fsync and rename the temporary file to its final name."""
        try:
            with _reported(self.path):
                return super().commit(sync=sync)
        except LakeWriteError:
            self.discard()
            raise


def _fixed_temp(path: Path) -> Path:
    """A fixed temporary: a rerun of a killed chunk overwrites its leftover (one batch at a
    time holds the batch lock)."""
    return path.with_name(f".{path.name}.tmp")


@contextmanager
def _reported(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise LakeWriteError(f"cannot write {path}: {exc.strerror or exc} "
                             "(free space or fix permissions, then run the batch again)") from exc


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on success it is fsynced and renamed to `path`."""
    with _reported(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with durable.atomic_file(path, temp=_fixed_temp(path)) as handle:
            yield handle


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically."""
    with atomic_file(path) as handle:
        handle.write(data)
