"""Keep what could not be taken in, byte for byte, with a small sidecar saying why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from genius_wh.durable import atomic_write, private_dir
from genius_wh.layout import DataLayout
from ingest.errors import cut

#: Reasons and sources in a sidecar are cut to this many characters.
MAX_TEXT = 500


def keep(layout: DataLayout, raw: bytes, *, reason: str, source: str, origin: str) -> Path:
    """Write `raw` to quarantine/<stamp>-<id>.body plus a .json sidecar (0600, fsynced)."""
    private_dir(layout.quarantine)
    now = datetime.now(UTC)
    stem = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}"
    body_path = layout.quarantine / f"{stem}.body"
    sidecar = {"reason": cut(reason, MAX_TEXT), "source": cut(source, MAX_TEXT),
               "received_at": now.isoformat(timespec="microseconds"), "origin": origin,
               "bytes": len(raw)}
    atomic_write(body_path, raw)
    atomic_write(layout.quarantine / f"{stem}.json", orjson.dumps(sidecar) + b"\n")
    return body_path

