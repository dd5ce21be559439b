"""Keep what could not be taken in, byte for byte, with a small sidecar saying why."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from genius_wh.layout import DataLayout


def keep(layout: DataLayout, raw: bytes, *, reason: str, source: str, origin: str) -> Path:
    """Write `raw` to quarantine/<stamp>-<id>.body plus a .json sidecar; fsync both."""
    layout.quarantine.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stem = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}"
    body_path = layout.quarantine / f"{stem}.body"
    sidecar = {"reason": reason, "received_at": now.isoformat(timespec="microseconds"),
               "source": source, "origin": origin, "bytes": len(raw)}
    _write_synced(body_path, raw)
    _write_synced(layout.quarantine / f"{stem}.json", orjson.dumps(sidecar) + b"\n")
    return body_path


def _write_synced(path: Path, data: bytes) -> None:
    """Write a whole file and fsync it (a temporary name first, then os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
