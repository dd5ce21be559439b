"""Making files durable and private: the one module for fsync, atomic writes and file modes.

- every file we create is 0600 and every folder 0700, whatever the caller's umask (the data
  holds card-holder names, e-mails and phone numbers);
- `atomic_write` (bytes) and `AtomicFile` / `atomic_file` (a stream, e.g. Parquet) write a
  temporary name in the same folder, fsync it, `os.replace` it over the target and fsync the
  folder (`replace_durably`), so a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700


def fsync_path(path: Path) -> None:
    """fsync a file's data, or a folder's entries (so that a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """Create `path` and its missing parents with `mode` (0700), whatever the umask.

    An existing folder keeps its mode: an operator may have opened one on purpose (a group
    that reads exports).
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(folder, mode)  # mkdir's mode is masked by the umask
    return path


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a short write is retried, an error raised)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def open_private(path: Path, flags: int, mode: int = FILE_MODE) -> int:
    """os.open with O_CREAT and `mode` enforced (fchmod: the umask cannot widen or narrow it)."""
    fd = os.open(path, flags | os.O_CREAT, mode)
    try:
        os.fchmod(fd, mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE, *, sync: bool = True) -> Path:
    """Replace `path` with `data` atomically, created with `mode` (0600); fsync unless asked.

    The temporary name is hidden and unique per thread, so writers never share one.
    """
    file = AtomicFile(path, mode)
    try:
        file.handle.write(data)
    except BaseException:
        file.discard()
        raise
    return file.commit(sync=sync)


def replace_durably(source: Path, target: Path) -> Path:
    """Rename `source` (already fsynced) over `target` and fsync the folder, so the rename
    survives a power cut; the one way a finished file is put in place."""
    os.replace(source, target)
    fsync_path(target.parent)
    return target


def _hidden_temp(path: Path) -> Path:
    """A temporary name beside `path`, hidden and unique per process and thread."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


class AtomicFile:
    """A private (`mode`) temporary file beside `path` that becomes `path` only on `commit`
    (flush, fsync, `replace_durably`); `discard` removes it. `temp` names the temporary when a
    caller wants a fixed one (a rerun then overwrites a killed run's leftover)."""

    def __init__(self, path: Path, mode: int = FILE_MODE, *, temp: Path | None = None) -> None:
        self.path = path
        self.temp = temp or _hidden_temp(path)
        self.handle: BinaryIO = os.fdopen(
            open_private(self.temp, os.O_WRONLY | os.O_TRUNC, mode), "wb")

    def commit(self, *, sync: bool = True) -> Path:
        """Make the written bytes `path`: durably, unless `sync` is False (then a crash may
        leave the old file, never half a new one)."""
        self.handle.flush()
        if sync:
            os.fsync(self.handle.fileno())
        self.handle.close()
        if sync:
            return replace_durably(self.temp, self.path)
        os.replace(self.temp, self.path)
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary (after a failure); never raises OSError."""
        with suppress(OSError):
            self.handle.close()
        with suppress(OSError):
            self.temp.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: Path, mode: int = FILE_MODE, *,
                temp: Path | None = None) -> Iterator[BinaryIO]:
    """A binary stream that becomes `path` atomically and durably when the block ends
    without an exception, and leaves nothing behind when it raises."""
    file = AtomicFile(path, mode, temp=temp)
    try:
        yield file.handle
    except BaseException:
        file.discard()
        raise
    file.commit()


#: Environment variable naming a step at which the process kills itself (crash tests).
CRASH_AT = "GENIUS_WH_CRASH_AT"


def crash_point(step: str) -> None:
    """Die at once with SIGKILL when GENIUS_WH_CRASH_AT names this step: the crash tests use
    it to kill a batch at exactly each step; unset (always, in production) it does nothing."""
    if os.environ.get(CRASH_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)
