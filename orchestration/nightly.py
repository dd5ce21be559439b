"""The nightly export as the scheduler and `genius-wh export` run it: a batch first, so the
date is complete, then the warehouse's export of that date (warehouse/export.py)."""

from __future__ import annotations

import time as clock
from datetime import date
from typing import Final

from genius_wh.settings import Settings
from orchestration.batch import run_batch
from warehouse.export import ExportFailed, ExportReport, local_yesterday, write_date

#: How long the export waits for a batch that another process is running.
BATCH_WAIT_SECONDS: Final = 120.0


def export_date(settings: Settings, day: date | None = None) -> ExportReport:
    """Load what was received, then export every row received on `day` (default yesterday)."""
    _load_everything(settings)
    return write_date(settings, day or local_yesterday(settings.tz))


def _load_everything(settings: Settings) -> None:
    """Run a batch; if another one is running, wait for it and run one more."""
    deadline = clock.monotonic() + BATCH_WAIT_SECONDS
    while run_batch(settings).skipped:
        if clock.monotonic() > deadline:
            raise ExportFailed(f"another batch held {settings.data_dir}/.batch.lock for over "
                               f"{BATCH_WAIT_SECONDS:.0f} s; run `genius-wh export` again")
        clock.sleep(0.5)
