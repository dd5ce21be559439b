"""Batch figures for /metrics, handed over as a small JSON file (no flask, no duckdb here).

The batch (warehouse/) calls `record_batch` after each run; the receiver's /metrics reads the
file, so the figures are right whichever process ran the batch. Importing this module pulls in
nothing but the standard library and genius_wh.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import orjson

from genius_wh.durable import atomic_write, private_dir
from genius_wh.layout import DataLayout

BATCH_FILE = "batch.json"


class BatchFigures(TypedDict):
    """What the last batch reported: when, how far behind, rows loaded per table."""

    finished_at: float
    lag_seconds: float
    rows_loaded: dict[str, int]
    rows_loaded_total: dict[str, int]
    ok: bool
    ofcom_over_limit: NotRequired[dict[str, bool]]


def record_batch(data_dir: Path, *, lag_seconds: float, rows_loaded: Mapping[str, int],
                 ok: bool = True) -> None:
    """Store the figures of a finished batch (atomic replace; totals accumulate)."""
    layout = DataLayout(root=data_dir)
    previous = read_batch(data_dir)
    totals = dict(previous["rows_loaded_total"]) if previous else {}
    for table, rows in rows_loaded.items():
        totals[table] = totals.get(table, 0) + int(rows)
    figures: BatchFigures = {
        "finished_at": time.time(), "lag_seconds": float(lag_seconds),
        "rows_loaded": {t: int(r) for t, r in rows_loaded.items()},
        "rows_loaded_total": totals, "ok": ok,
    }
    if previous and "ofcom_over_limit" in previous:
        figures["ofcom_over_limit"] = previous["ofcom_over_limit"]
    write_json_atomic(layout.metrics / BATCH_FILE, figures)


def record_ofcom(data_dir: Path, over_limit: Mapping[str, bool]) -> None:
    """Store which campaigns are over the Ofcom limit now (maintain computes it)."""
    figures = read_batch(data_dir)
    if figures is None:
        return
    figures["ofcom_over_limit"] = dict(over_limit)
    write_json_atomic(DataLayout(root=data_dir).metrics / BATCH_FILE, figures)


def read_batch(data_dir: Path) -> BatchFigures | None:
    """The figures of the last batch, or None when no batch has reported yet."""
    path = DataLayout(root=data_dir).metrics / BATCH_FILE
    try:
        return orjson.loads(path.read_bytes())  # type: ignore[no-any-return]
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a private (0600) temporary name, then os.replace it over `path`."""
    private_dir(path.parent)
    atomic_write(path, orjson.dumps(obj), sync=False)
