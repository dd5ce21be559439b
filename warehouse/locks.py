"""The batch lock: an exclusive flock on DATA_DIR/.batch.lock (one batch at a time)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from genius_wh.layout import DataLayout


@contextmanager
def batch_lock(layout: DataLayout, *, blocking: bool = False) -> Iterator[bool]:
    """Hold the batch lock; yields False (holding nothing) when another batch has it."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.batch_lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
