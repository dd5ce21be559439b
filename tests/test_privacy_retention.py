"""Retention (issue #13): with retention_days set, rows, archive folders, export dates and
quarantined files older than that go; 0 keeps everything. Tested with a given clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warehouse_support import card_payment, make_settings, query, session_ended, write_segment

from genius_wh.layout import DataLayout
from ingest import quarantine
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from warehouse.exportfiles import read_manifest
from warehouse.retention import apply_retention

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=2)


@pytest.fixture
def aged(tmp_path: Path) -> Path:
    write_segment(tmp_path, [session_ended(1), card_payment(2)], received_at=OLD)
    write_segment(tmp_path, [session_ended(3), card_payment(4)], received_at=RECENT)
    settings = make_settings(tmp_path)
    run_batch(settings)
    for moment in (OLD, RECENT):
        export_date(settings, moment.astimezone(settings.tz).date())
    layout = DataLayout(root=tmp_path)
    old_folder = layout.spool_archive / (NOW - timedelta(days=35)).date().isoformat()
    old_folder.mkdir()
    (old_folder / "20260101T000000000000-old-1-000001.jsonl").write_bytes(b"")
    for age in (OLD, RECENT):
        kept = quarantine.keep(layout, b"{bad", reason="x", source="y", origin="http")
        os.utime(kept, (age.timestamp(), age.timestamp()))
    return tmp_path


def test_rows_archive_exports_and_quarantine_older_than_the_retention_go(aged: Path) -> None:
    settings = make_settings(aged, retention_days=30)
    report = apply_retention(settings, now=NOW)
    assert report.rows["session_ended"] == 1 and report.rows["card_payment"] == 1
    assert report.rows["session_recorddata"] == 1
    assert query(aged, "SELECT urn FROM session_ended") == [("urn-3",)]
    assert query(aged, "SELECT count(*) FROM session_recorddata") == [(1,)]
    assert report.archive_days == [(NOW - timedelta(days=35)).date().isoformat()]
    old_day = OLD.astimezone(settings.tz).date().isoformat()
    recent_day = RECENT.astimezone(settings.tz).date().isoformat()
    assert report.export_days == [old_day]
    assert list(read_manifest(DataLayout(root=aged))["dates"]) == [recent_day]
    assert not list((aged / "exports").glob(f"*/date={old_day}"))
    assert len(list((aged / "exports").glob(f"*/date={recent_day}"))) == 6
    assert report.quarantine_files == 1
    assert len(list((aged / "quarantine").glob("*.body"))) == 1


def test_zero_retention_keeps_everything(aged: Path) -> None:
    report = apply_retention(make_settings(aged), now=NOW + timedelta(days=3650))
    assert report.skipped and not report.rows
    assert query(aged, "SELECT count(*) FROM session_ended") == [(2,)]


def test_nothing_within_the_retention_goes(aged: Path) -> None:
    report = apply_retention(make_settings(aged, retention_days=60), now=NOW)
    assert not any(report.rows.values()) and report.export_days == []
    assert query(aged, "SELECT count(*) FROM card_payment") == [(2,)]
