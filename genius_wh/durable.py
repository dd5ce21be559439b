"""Making files durable and private: the one module for fsync, atomic writes and file modes.

- every file we create is 0600 and every folder 0700, whatever the caller's umask (the data
  holds card-holder names, e-mails and phone numbers);
- `atomic_write` writes a temporary name in the same folder, fsyncs it, `os.replace`s it over
  the target and fsyncs the folder, so a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

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
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC, mode)
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_path(path.parent)
    return path


#: Environment variable naming a step at which the process kills itself (crash tests).
CRASH_AT = "GENIUS_WH_CRASH_AT"


def crash_point(step: str) -> None:
    """Die at once with SIGKILL when GENIUS_WH_CRASH_AT names this step: the crash tests use
    it to kill a batch at exactly each step; unset (always, in production) it does nothing."""
    if os.environ.get(CRASH_AT) == step:
        os.kill(os.getpid(), signal.SIGKILL)
