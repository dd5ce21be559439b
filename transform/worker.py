"""A worker process for transform_chunk, so the transform and a DuckDB load use both cores.

transform_chunk is a pure function of files to files, so running it in another process
changes nothing about crash safety: the lake files are still written atomically, and the
worker dies with the process that started it (a `kill -9` of the batch leaves no orphan
still writing into the lake while the next batch recovers the same chunk).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Final

from genius_wh.chunkresult import ChunkResult
from transform.chunk import transform_chunk

_PR_SET_PDEATHSIG: Final = 1


def transform_pool(workers: int = 1) -> ProcessPoolExecutor:
    """Spawned worker processes that are killed when their parent dies."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding DuckDB
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker,
                               initargs=(os.getpid(),))


def start_worker(parent_pid: int) -> None:
    """Set up a worker: die with the parent."""
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux), and exit at once
    if the parent is already gone (it may have died before the request was made)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def transform_and_trim(*args: Any, **kwargs: Any) -> ChunkResult:
    """transform_chunk in a worker, then give the chunk's freed memory back to the system
    (glibc keeps it otherwise, and a long-lived worker's RSS would keep the highest mark)."""
    try:
        return transform_chunk(*args, **kwargs)
    finally:
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None).malloc_trim(0)
