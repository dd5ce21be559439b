"""Atomic file writes: temporary name in the same folder, fsync, os.replace (STYLE 2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from transform.errors import LakeWriteError


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on success it is fsynced and renamed to `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        _discard(temp)
        raise LakeWriteError(f"cannot write {path}: {exc.strerror or exc} "
                             "(free space or fix permissions, then run the batch again)") from exc
    except BaseException:
        _discard(temp)
        raise
    fsync_dir(path.parent)


def _discard(temp: Path) -> None:
    with suppress(OSError):
        temp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to `path` atomically."""
    with atomic_file(path) as handle:
        handle.write(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

