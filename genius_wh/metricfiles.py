"""The per-process metric files under `metrics/`: reading, summing, and folding dead ones.

- each receiver process writes `ingest-<host>-<pid>.json`: rows of [name, labels, value];
- counters are summed over files; a name in `MAX_NAMES` (a timestamp gauge) takes the largest;
- the file of a process of this host that no longer runs is folded into
  `ingest-<host>-totals.json` and removed, so files never accumulate and counters never go
  back; the totals file lists the files it folded, so a crash between writing it and
  removing a folded file never counts that file twice.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import orjson

from genius_wh.durable import atomic_write, open_private

Key = tuple[str, tuple[str, ...]]
Rows = list[tuple[str, list[str], float]]
TOTALS = "totals"


def combine(totals: dict[Key, float], rows: Rows, max_names: frozenset[str]) -> None:
    """Add `rows` into `totals` (the largest value for a name in `max_names`)."""
    for name, labels, value in rows:
        key = (name, tuple(labels))
        if name in max_names:
            totals[key] = max(totals.get(key, value), value)
        else:
            totals[key] = totals.get(key, 0.0) + value


def read_rows(path: Path) -> Rows:
    """Rows of one process file; a file being replaced or damaged counts as empty."""
    document = _read(path)
    rows = document.get("rows", []) if isinstance(document, dict) else document
    try:
        return [(str(r[0]), [str(x) for x in r[1]], float(r[2])) for r in rows]
    except (TypeError, ValueError, IndexError):
        return []


def _read(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return []


def pid_alive(pid: int) -> bool:
    """True when a process with this id runs (or is not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_files(folder: Path, host: str) -> list[Path]:
    """Process files of this host whose process has gone."""
    found: list[Path] = []
    for path in folder.glob(f"ingest-{host}-*.json"):
        pid = path.stem.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            found.append(path)
    return sorted(found)


def fold_dead(folder: Path, host: str, max_names: frozenset[str]) -> int:
    """Fold the files of dead processes of this host into the totals file; how many."""
    lock = open_private(folder / ".fold.lock", os.O_WRONLY)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another process is folding right now
        return _fold_locked(folder, host, max_names)
    finally:
        os.close(lock)


def _fold_locked(folder: Path, host: str, max_names: frozenset[str]) -> int:
    dead = dead_files(folder, host)
    if not dead:
        return 0
    totals_path = folder / f"ingest-{host}-{TOTALS}.json"
    document = _read(totals_path)
    folded = set(document.get("folded", [])) if isinstance(document, dict) else set()
    totals: dict[Key, float] = {}
    combine(totals, read_rows(totals_path), max_names)
    for path in dead:
        if path.name not in folded:
            combine(totals, read_rows(path), max_names)
    rows = [[name, list(labels), value] for (name, labels), value in sorted(totals.items())]
    names = sorted(p.name for p in dead)
    atomic_write(totals_path, orjson.dumps({"rows": rows, "folded": names}))
    for path in dead:
        path.unlink(missing_ok=True)
    return len(dead)
