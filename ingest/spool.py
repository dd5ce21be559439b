"""The per-process spool writer: group commit into flocked segments, sealed by size or age.

- request threads hand their encoded line to `append`, which waits;
- one writer thread takes every queued line, writes them with one `write`, `fsync`s, then wakes
  the waiting threads: only then do they answer 200;
- an OSError fails exactly the lines of that commit (their segment is truncated back, so no
  half line stays behind) and the writer keeps serving later commits once the disk recovers;
- the open segment is sealed to `spool/ready/` when it reaches `segment_bytes`, when it is
  older than `segment_seconds` and not empty (also while idle), and on `close`.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from genius_wh import segments
from genius_wh.durable import FILE_MODE, private_dir, write_all
from genius_wh.layout import DataLayout
from ingest.errors import SpoolUnavailable

log = logging.getLogger("genius_wh.ingest.spool")

COMMIT_TIMEOUT_SECONDS = 30.0
MAX_IDLE_SECONDS = 3600.0
#: /healthz says 503 below this much free space, or this long after a failed commit.
MIN_FREE_BYTES = 1024 * 1024
FAILED_COMMIT_SECONDS = 5.0


@dataclass(kw_only=True)
class _Waiter:
    """Lines of one caller waiting for their commit."""

    data: bytes
    done: threading.Lock = field(default_factory=threading.Lock)
    error: OSError | None = None

    def __post_init__(self) -> None:
        self.done.acquire()  # released by the writer thread once the commit is over


@dataclass(kw_only=True)
class _Segment:
    """The open segment: its flocked descriptor, committed size and birth time."""

    path: Path
    fd: int
    size: int = 0
    born: float = field(default_factory=time.monotonic)


class SpoolWriter:
    """Durable appends for one process; `append` returns only once the line is fsynced."""

    def __init__(self, layout: DataLayout, *, segment_bytes: int,
                 segment_seconds: float) -> None:
        self.layout = layout
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._stopping = False
        self._segment: _Segment | None = None
        self._failed_at = float("-inf")  # monotonic time of the last failed commit
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)

    def start(self) -> SpoolWriter:
        """Create the spool folders and start the writer thread."""
        private_dir(self.layout.spool_open)
        private_dir(self.layout.spool_ready)
        self._thread.start()
        return self

    def append(self, data: bytes) -> None:
        """Make `data` (whole lines) durable; raises SpoolUnavailable when it cannot."""
        if self._stopping or not self._thread.is_alive():
            raise SpoolUnavailable("the spool writer is not running")
        waiter = _Waiter(data=data)
        self._queue.put(waiter)
        if not waiter.done.acquire(timeout=COMMIT_TIMEOUT_SECONDS):
            raise SpoolUnavailable(f"spool commit took over {COMMIT_TIMEOUT_SECONDS:.0f} s")
        if waiter.error is not None:
            raise SpoolUnavailable(f"spool write failed: {waiter.error}") from waiter.error

    def close(self) -> None:
        """Commit what is queued, seal the open segment and stop the thread."""
        self._stopping = True
        self._queue.put(None)  # wakes the writer; what was queued before it is committed
        if self._thread.is_alive():
            self._thread.join()
        else:
            self._seal()

    def writable(self) -> bool:
        """True when the writer runs and the spool can take a line: cheap, no write.

        - the spool folder must be writable (`os.access`: a read-only mount included);
        - at least MIN_FREE_BYTES must be free;
        - the last commit must not have failed, unless FAILED_COMMIT_SECONDS have passed
          since (with no traffic, a freed disk then says 200 again).
        """
        if not self._thread.is_alive():
            return False
        if time.monotonic() - self._failed_at < FAILED_COMMIT_SECONDS:
            return False
        folder = self.layout.spool_open
        try:
            if not os.access(folder, os.W_OK):
                return False
            stats = os.statvfs(folder)
        except OSError:
            return False
        return stats.f_bavail * stats.f_frsize >= MIN_FREE_BYTES

    def _run(self) -> None:
        """Writer thread: commit queued lines in groups; seal by size and age."""
        stopping = False
        while not stopping:
            try:
                queued = [self._queue.get(timeout=self._idle_timeout())]
            except queue.Empty:
                queued = []
            stopping = self._drain(queued)
            self._seal_if_due()
        self._drain([])  # a line queued while stopping is still committed, not left waiting
        self._seal()

    def _drain(self, queued: list[_Waiter | None]) -> bool:
        """Commit `queued` plus everything waiting behind it; True when a stop was asked."""
        while True:
            try:
                queued.append(self._queue.get_nowait())
            except queue.Empty:
                break
        batch = [waiter for waiter in queued if waiter is not None]
        if batch:
            self._commit(batch)
        return len(batch) < len(queued)

    def _idle_timeout(self) -> float | None:
        """How long the idle writer may sleep before the open segment is due for sealing."""
        if self._segment is None or self._segment.size == 0:
            return None
        due = self._segment.born + self.segment_seconds - time.monotonic()
        return min(max(0.0, due), MAX_IDLE_SECONDS)

    def _commit(self, batch: list[_Waiter]) -> None:
        """Write and fsync one group of lines, then wake every waiter."""
        try:
            self._write_durably(b"".join(w.data for w in batch))
            self._failed_at = float("-inf")  # a commit that worked clears the alarm
        except OSError as exc:
            log.error("spool write of %d lines failed: %s", len(batch), exc)
            self._failed_at = time.monotonic()
            for waiter in batch:
                waiter.error = exc
        finally:
            for waiter in batch:
                waiter.done.release()

    def _write_durably(self, data: bytes) -> None:
        """Append data to the open segment and fsync; on failure truncate back and raise."""
        segment = self._segment or self._open_segment()
        try:
            write_all(segment.fd, data)
            os.fsync(segment.fd)
        except OSError:
            self._roll_back(segment)
            raise
        segment.size += len(data)

    def _open_segment(self) -> _Segment:
        """Create a new flocked segment in spool/open/."""
        name = segments.segment_name()
        fd = segments.create_locked(self.layout, name)
        os.fchmod(fd, FILE_MODE)  # private whatever the umask (issue #9)
        self._segment = _Segment(path=self.layout.spool_open / name, fd=fd)
        return self._segment

    def _roll_back(self, segment: _Segment) -> None:
        """Cut a failed commit off the segment; give the segment up if even that fails."""
        try:
            os.ftruncate(segment.fd, segment.size)
            os.fsync(segment.fd)
        except OSError as exc:
            log.error("cannot truncate %s after a failed write (%s); leaving it to the batch",
                      segment.path.name, exc)
            os.close(segment.fd)
            self._segment = None

    def _seal_if_due(self) -> None:
        """Seal the open segment when it is big enough or old enough."""
        segment = self._segment
        if segment is None or segment.size == 0:
            return
        old = time.monotonic() - segment.born >= self.segment_seconds
        if old or segment.size >= self.segment_bytes:
            self._seal()

    def _seal(self) -> None:
        """Move the open segment to ready/ (or drop it when empty) and release its flock."""
        segment, self._segment = self._segment, None
        if segment is None:
            return
        try:
            if segment.size == 0:
                segment.path.unlink(missing_ok=True)
            else:
                segments.seal(segment.path, self.layout)
        except OSError as exc:
            log.error("cannot seal %s (%s); the next batch will", segment.path.name, exc)
        finally:
            os.close(segment.fd)

