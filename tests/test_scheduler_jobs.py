"""The scheduler runs the same batch as `genius-wh batch`, and the nightly export."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from warehouse_support import make_settings, mixed_bodies, query, write_segment

from genius_wh.errors import GeniusWhError
from orchestration.scheduler import build_scheduler


def test_scheduled_batch_loads_spool_lines(tmp_path: Path) -> None:
    scheduler = build_scheduler(make_settings(tmp_path, batch_interval_seconds=0.2),
                                blocking=False)
    scheduler.start()
    try:
        write_segment(tmp_path, mixed_bodies(8))
        deadline = time.monotonic() + 20
        rows: list[tuple[object, ...]] = []
        while time.monotonic() < deadline:
            try:
                rows = query(tmp_path, "SELECT count(*) FROM agent_activity")
            except (GeniusWhError, duckdb.Error):  # no warehouse, or no tables, yet
                rows = []
            if rows == [(2,)]:
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert rows == [(2,)]


def test_batch_job_skips_overlaps_and_export_follows_the_crontab(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, batch_interval_seconds=5, export_cron="15 3 * * *",
                             timezone="Europe/London")
    scheduler = build_scheduler(settings, blocking=False)
    batch, export = scheduler.get_job("batch"), scheduler.get_job("export")
    assert (batch.max_instances, batch.coalesce) == (1, True)
    assert isinstance(batch.trigger, IntervalTrigger)
    assert batch.trigger.interval.total_seconds() == 5
    assert isinstance(export.trigger, CronTrigger)
    assert str(export.trigger) == "cron[month='*', day='*', day_of_week='*', hour='3', minute='15']"
    assert str(export.trigger.timezone) == "Europe/London"


def test_scheduler_start_loads_at_once_and_catches_up_a_missed_export(tmp_path: Path) -> None:
    from warehouse.export import local_yesterday

    settings = make_settings(tmp_path, batch_interval_seconds=3600)
    write_segment(tmp_path, mixed_bodies(8))
    scheduler = build_scheduler(settings, blocking=False)
    scheduler.start()
    manifest = tmp_path / "exports" / "_manifest.json"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not manifest.exists():
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    # an hour-long interval: only the run at start can have loaded the segment
    assert query(tmp_path, "SELECT count(*) FROM agent_activity") == [(2,)]
    assert local_yesterday(settings.tz).isoformat() in manifest.read_text()
