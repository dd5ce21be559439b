"""The export folder's files: atomic Parquet writes and the manifest (`exports/_manifest.json`
under its lock). Shared by the nightly export, `forget` and retention; imports no stage
that drives a batch, so all three can use it."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from genius_wh.durable import atomic_file, atomic_write
from genius_wh.layout import DataLayout

MANIFEST: Final = "_manifest.json"


def columns_of(schema: pa.Schema) -> list[dict[str, str]]:
    """A file's columns as the manifest lists them: name and Arrow type, in file order."""
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def write_parquet(table: pa.Table, target: Path) -> int:
    """Write `table` to `target` atomically (temporary name, fsync, rename); its rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(target) as handle:
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
        atomic_write(layout.exports / MANIFEST, orjson.dumps(manifest,
                                                             option=orjson.OPT_INDENT_2))
