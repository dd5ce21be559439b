"""Writer locks: one process writes a warehouse at a time.

- the batch lock, an exclusive flock on DATA_DIR/.batch.lock: one batch, rebuild or
  maintain per data dir (and so per embedded SQLite catalog, which must never have two
  writers);
- with a shared PostgreSQL catalog, also a PostgreSQL advisory lock held around the whole
  load, so the loaders of several machines commit one after the other and each one's
  event_id dedupe sees the other's rows (DuckLake's optimistic commits would let two
  appends of the same event both pass).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg

from genius_wh.layout import DataLayout
from warehouse.lakehouse import LakeConfig

#: The advisory lock key of the warehouse's writers ("genius-wh" as 64 bits).
ADVISORY_KEY: Final = 0x67656E6975732D77


@contextmanager
def batch_lock(layout: DataLayout, *, blocking: bool = False) -> Iterator[bool]:
    """Hold the batch lock; yields False (holding nothing) when another batch has it."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.batch_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def writer_lock(config: LakeConfig) -> Iterator[None]:
    """The catalog-wide writer lock: a PostgreSQL advisory lock for a shared catalog
    (released when its session ends, so a killed loader never leaves it held); nothing
    more for the embedded one, which only this data dir's batch lock writes."""
    if not config.shared:
        yield
        return
    with psycopg.connect(config.postgres_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
