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

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg

from genius_wh.layout import DataLayout
from genius_wh.segments import try_lock
from warehouse.errors import WarehouseBusy
from warehouse.lakehouse import LakeConfig

log = logging.getLogger("genius_wh.locks")

#: The advisory lock key of the warehouse's writers ("genius-wh" as 64 bits).
ADVISORY_KEY: Final = 0x67656E6975732D77
#: How long a command that must have the batch lock (rebuild, forget, dispositions load, a
#: maintain or retention that was asked for) waits for it before giving up (docs/cli.md).
LOCK_WAIT_SECONDS: Final = 600.0
_POLL_SECONDS: Final = 0.2


@contextmanager
def batch_lock(layout: DataLayout, *, blocking: bool = False,
               wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[bool]:
    """Hold the batch lock. Not blocking: yields False (holding nothing) when another process
    has it. Blocking: says once what it waits for, and raises WarehouseBusy after
    `wait_seconds`."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.batch_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        held = try_lock(fd)
        if not held and blocking:
            log.warning("waiting for %s: another batch, rebuild, maintain, forget or "
                        "dispositions load holds it (giving up after %.0f s)",
                        layout.batch_lock, wait_seconds)
            deadline = time.monotonic() + wait_seconds
            while not held and time.monotonic() < deadline:
                time.sleep(_POLL_SECONDS)
                held = try_lock(fd)
            if not held:
                raise WarehouseBusy(f"{layout.batch_lock} was held by another process for over "
                                    f"{wait_seconds:.0f} s; run the command again once it "
                                    "has finished")
        yield held
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
