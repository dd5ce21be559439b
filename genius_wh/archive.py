"""The spool archive's retention and the staging folder's clean-up: plain file operations on
the data dir that the batch, rebuild, forget and retention all perform."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

from genius_wh.layout import DataLayout


def clear_staging(layout: DataLayout) -> None:
    """Remove staging files a killed batch left behind (under the batch lock)."""
    if layout.staging.is_dir():
        for entry in layout.staging.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

def expired_archive_days(days: list[str], today: date, retention_days: int) -> list[str]:
    """Archive folder names (YYYY-MM-DD) older than the retention; none when it is 0."""
    if retention_days <= 0:
        return []
    cutoff = today - timedelta(days=retention_days)
    expired = []
    for name in days:
        try:
            day = date.fromisoformat(name)
        except ValueError:
            continue
        if day < cutoff:
            expired.append(name)
    return expired

def apply_retention(layout: DataLayout, today: date, retention_days: int) -> list[str]:
    """Delete archive folders past the retention; returns their names."""
    if retention_days <= 0 or not layout.spool_archive.is_dir():
        return []
    names = [p.name for p in layout.spool_archive.iterdir() if p.is_dir()]
    expired = expired_archive_days(names, today, retention_days)
    for name in expired:
        shutil.rmtree(layout.spool_archive / name)
    return expired
