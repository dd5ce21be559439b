"""The scheduled jobs: a batch every batch_interval_seconds and the nightly export.

Both call the same library functions as `genius-wh batch` and `genius-wh export`.
Overlapping batch runs are skipped (max_instances=1, coalesce=True); a batch that finds
warehouse.duckdb held by someone else just tries again next time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from genius_wh.errors import GeniusWhError
from genius_wh.settings import Settings

log = logging.getLogger(__name__)

#: How long a scheduled batch waits for a DuckDB client holding warehouse.duckdb.
SCHEDULED_LOCK_WAIT_SECONDS = 2.0


def batch_job(settings: Settings) -> None:
    """One scheduled batch; failures are logged (and recorded in _batches), never raised."""
    from warehouse.batch import run_batch

    try:
        report = run_batch(settings, lock_wait_seconds=SCHEDULED_LOCK_WAIT_SECONDS)
    except GeniusWhError as exc:
        log.warning("scheduled batch did not finish: %s", exc)
        return
    if report.chunks:
        log.info("batch loaded %d events in %d chunks: %s", report.events, report.chunks,
                 report.rows_loaded)


def export_job(settings: Settings) -> None:
    """The nightly export of yesterday (local date)."""
    from warehouse.export import export_date

    try:
        export_date(settings, None)
    except GeniusWhError as exc:
        log.error("nightly export failed: %s", exc)


def catch_up_export_job(settings: Settings) -> None:
    """At start: export yesterday if the process was down when the export was due."""
    from genius_wh.layout import DataLayout
    from warehouse.export import export_date, local_yesterday, read_manifest

    manifest = read_manifest(DataLayout(root=settings.data_dir))
    if local_yesterday(settings.tz).isoformat() in manifest.get("dates", {}):
        return
    log.info("yesterday has no export yet: exporting it now")
    try:
        export_date(settings, None)
    except GeniusWhError as exc:
        log.error("catch-up export failed: %s", exc)


def build_scheduler(settings: Settings, *, blocking: bool
                    ) -> BlockingScheduler | BackgroundScheduler:
    """A scheduler with the batch job and the nightly export job (not started).

    - the first batch runs at once (it finishes what a killed run left), then every interval;
    - a late export (machine busy or asleep) still runs within 12 hours of its time;
    - at start, yesterday is exported if the manifest does not have it yet.
    """
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler: BlockingScheduler | BackgroundScheduler = (
        BlockingScheduler(timezone=settings.tz) if blocking
        else BackgroundScheduler(timezone=settings.tz))
    now = datetime.now(settings.tz)
    scheduler.add_job(batch_job, IntervalTrigger(seconds=settings.batch_interval_seconds),
                      args=[settings], id="batch", name="batch", max_instances=1,
                      coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_job(export_job, CronTrigger.from_crontab(settings.export_cron,
                                                           timezone=settings.tz),
                      args=[settings], id="export", name="nightly export", max_instances=1,
                      coalesce=True, replace_existing=True,
                      misfire_grace_time=int(timedelta(hours=12).total_seconds()))
    scheduler.add_job(catch_up_export_job, "date", run_date=now + timedelta(seconds=1),
                      args=[settings], id="export-catch-up", name="catch-up export")
    return scheduler
