"""Errors of the warehouse stage, grouped by what the caller should do."""

from __future__ import annotations

from genius_wh.errors import GeniusWhError


class WarehouseError(GeniusWhError):
    """Base of the warehouse's errors."""


class WarehouseBusy(WarehouseError):
    """Retriable: another process holds the warehouse's batch lock (or DuckDB's own)."""


class BatchFailed(WarehouseError):
    """A batch stopped; its segments stay in spool/working/ and the next batch retries them."""


class RebuildFailed(WarehouseError):
    """A rebuild stopped; the warehouse it was to replace is left untouched."""
