"""The export folder's files: atomic Parquet writes and the manifest (`exports/_manifest.json`
under its lock). Shared by the nightly export, `forget` and retention; imports no stage
that drives a batch, so all three can use it."""

from __future__ import annotations

import fcntl
import grp
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from genius_wh.durable import DIR_MODE, FILE_MODE, atomic_file, atomic_write
from genius_wh.layout import DataLayout
from warehouse.errors import WarehouseError

if TYPE_CHECKING:  # pyarrow is loaded by the exports only, not by every command importing this
    import pyarrow as pa

MANIFEST: Final = "_manifest.json"
#: Modes of the exports when `export_group` shares them (else DIR_MODE and FILE_MODE).
SHARED_DIR_MODE: Final = 0o2750
SHARED_FILE_MODE: Final = 0o640


class ExportFilesError(WarehouseError):
    """The exports cannot be shared as the settings ask."""


def columns_of(schema: pa.Schema) -> list[dict[str, str]]:
    """A file's columns as the manifest lists them: name and Arrow type, in file order."""
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def share_exports(layout: DataLayout, group: str) -> None:
    """Let `group` (setting export_group) read the exports, or keep them private when empty:
    the data dir 0710 (passable, not listable) and exports/ 2750 in that group, so the folders
    made inside inherit it (`_made_folders`) and the files made there are 0640."""
    layout.exports.mkdir(parents=True, exist_ok=True)
    if not group:
        for folder in (layout.root, layout.exports):
            if folder.stat().st_mode & 0o077:  # shared before: private again
                os.chmod(folder, DIR_MODE)
        return
    gid = _group_id(group)
    for folder, mode in ((layout.root, 0o710), (layout.exports, SHARED_DIR_MODE)):
        os.chown(folder, -1, gid)
        os.chmod(folder, mode)


def _group_id(group: str) -> int:
    try:
        return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise ExportFilesError(f"export_group {group!r} is not a group on this machine "
                               "(getent group lists them)") from None


def _made_folders(folder: Path) -> bool:
    """Make `folder` and its missing parents as the nearest existing one is shared (2750) or
    private (0700); True when shared."""
    missing = [folder, *folder.parents]
    existing = next(p for p in missing if p.is_dir())
    shared = bool(existing.stat().st_mode & 0o040)
    for made in reversed(missing[:missing.index(existing)]):
        made.mkdir(exist_ok=True)
        os.chmod(made, SHARED_DIR_MODE if shared else DIR_MODE)
    return shared


def write_parquet(table: pa.Table, target: Path) -> int:
    """Write `table` to `target` atomically (temporary name, fsync, rename), private or, in
    shared exports, 0640; its rows."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - a start-up cost (76 MiB) only exports need
    mode = SHARED_FILE_MODE if _made_folders(target.parent) else FILE_MODE
    with atomic_file(target, mode) as handle:
        pq.write_table(table, handle, compression="zstd")
    return int(table.num_rows)


@contextmanager
def manifest_lock(layout: DataLayout) -> Iterator[None]:
    """The manifest's lock: one writer of the manifest at a time."""
    with open(layout.exports / ".manifest.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_manifest(layout: DataLayout) -> dict[str, Any]:
    """The manifest, or an empty one."""
    try:
        manifest = orjson.loads((layout.exports / MANIFEST).read_bytes())
    except FileNotFoundError:
        return {"dates": {}}
    return manifest if isinstance(manifest, dict) else {"dates": {}}


def update_manifest(layout: DataLayout, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply `change` to the manifest's dates under its lock, keep the dates in order and
    write it atomically."""
    with manifest_lock(layout):
        manifest = read_manifest(layout)
        dates = manifest.setdefault("dates", {})
        change(dates)
        manifest["dates"] = dict(sorted(dates.items()))
        manifest["updated_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
        mode = SHARED_FILE_MODE if _made_folders(layout.exports) else FILE_MODE
        atomic_write(layout.exports / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2),
                     mode)
