"""The scheduled jobs: a batch every batch_interval_seconds, the nightly export, maintain.

- each job runs in a child process (issue #9): a batch that crashes, runs out of memory or is
  killed never takes the receiver (or the scheduler) down with it; the next batch finishes
  what the killed one left. Batches run in one long-lived child (`Loader`) that the batch
  job starts again whenever it is gone; exports and `maintain` get a child each;
- the child calls the same library functions as `genius-wh batch`, `genius-wh export` and
  `genius-wh maintain`;
- children are forked from a forkserver that has this module (and so the warehouse) imported
  already: a child costs ~12 ms to start instead of ~0.4 s for a fresh interpreter, which
  keeps a 5-second batch interval cheap;
- overlapping batch runs are skipped (max_instances=1, coalesce=True); a batch that finds
  the warehouse held by someone else just tries again next time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from genius_wh.errors import GeniusWhError
from genius_wh.layout import DataLayout
from genius_wh.logs import configure as configure_logging
from genius_wh.settings import Settings
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from transform.worker import die_with_parent
from warehouse.export import local_yesterday
from warehouse.exportfiles import read_manifest
from warehouse.maintain import maintain

log = logging.getLogger(__name__)

#: Log lines of the parent and of every job child.

Job = Callable[[Settings], bool]


#: How often the scheduler merges small files and expires old snapshots: a 5-second batch
#: interval writes up to ~7 files a batch, so at most ~1,300 wait for a merge.
MAINTAIN_INTERVAL_SECONDS = 15 * 60


def _job_context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, with this module preloaded in the server.

    The server, and so every job child and its transform workers, allocates Arrow memory
    with the system malloc: Arrow reads ARROW_DEFAULT_MEMORY_POOL once, when it is loaded,
    and its default mimalloc maps a 1 GiB arena at its first use, which batch_memory_mb
    (RLIMIT_DATA) would count (orchestration/pipeline.py, memory_limit).
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def run_in_child(name: str, job: Job, settings: Settings) -> int | None:
    """Run `job(settings)` in a child process and wait for it; returns its exit code.

    0: the job succeeded; 1: it failed (the child logged why); negative: killed by that
    signal (out of memory, kill -9). Nothing the child does can raise in this process.
    """
    child = _job_context().Process(target=_child_main, args=(job, settings),
                                   name=f"genius-wh {name}")
    child.start()
    child.join()
    return _report_end(name, child)


def _report_end(name: str, child: multiprocessing.process.BaseProcess) -> int | None:
    """Log how a job child ended; returns its exit code."""
    code = child.exitcode
    if code is not None and code < 0:
        cause = " (out of memory, or kill -9)" if -code == signal.SIGKILL else ""
        log.error("%s process %d was killed by %s%s; the next batch finishes its work",
                  name, child.pid, signal.Signals(-code).name, cause)
    elif code:
        log.error("%s process %d failed with exit code %d", name, child.pid, code)
    return code


def _child_main(job: Job, settings: Settings) -> None:
    """In the child: private files, log like the parent, leave Ctrl-C to the parent."""
    # whatever the umask the forkserver started with: lake, warehouse and exports hold
    # personal data (issue #9)
    os.umask(0o077)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent waits for the job to finish
    configure_logging(settings)
    sys.exit(0 if job(settings) else 1)


def batch_once(settings: Settings) -> bool:
    """One scheduled batch (in the child); failures are logged (and recorded in _batches)."""
    try:
        report = run_batch(settings)
    except GeniusWhError as exc:
        log.warning("scheduled batch did not finish: %s", exc)
        return False
    if report.chunks:
        log.info("batch loaded %d events in %d chunks: %s", report.events, report.chunks,
                 report.rows_loaded)
    return True


def export_once(settings: Settings) -> bool:
    """The nightly export of yesterday (local date), in the child."""
    try:
        export_date(settings, None)
    except GeniusWhError as exc:
        log.error("nightly export failed: %s", exc)
        return False
    return True


def maintain_once(settings: Settings) -> bool:
    """Warehouse housekeeping (merge small files, expire old snapshots), in the child; it
    steps aside while a batch runs and comes back at its next time."""
    try:
        report = maintain(settings, blocking=False)
    except GeniusWhError as exc:
        log.error("maintain failed: %s", exc)
        return False
    if report.skipped is None:
        log.info("maintain: data files %d -> %d, %d snapshots expired", report.files_before,
                 report.files_after, report.snapshots_expired)
    return True


def maintain_job(settings: Settings) -> None:
    """The scheduled housekeeping: `maintain_once` in a child process."""
    run_in_child("maintain", maintain_once, settings)


class Loader:
    """The batch child: ONE long-lived process that runs `batch_once` every interval.

    - a batch never shares the receiver's process (#9): a crash, kill or out-of-memory ends
      only this child, and the next tick of the scheduler starts a new one, which finishes
      what the killed one left;
    - living on, it loads the warehouse's extensions once: a fresh child per batch paid
      0.6 s for that, which a 1-second interval (freshness, #8) cannot afford;
    - a batch that failed (out of its batch_memory_mb, say) ends the child: the next tick
      starts a fresh one, whose memory and DuckDB instance hold nothing of the failure.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: multiprocessing.process.BaseProcess | None = None

    def tick(self) -> None:
        """Start the batch child unless it is running (what the batch job does)."""
        if self.process is not None:
            if self.process.is_alive():
                return
            _report_end("batch", self.process)
        self.process = _job_context().Process(target=_loader_main, args=(self.settings,),
                                              name="genius-wh batch")
        self.process.start()

    def stop(self, *_: object) -> None:
        """Ask the child to finish its batch and end; kill it after a minute."""
        process, self.process = self.process, None
        if process is None or not process.is_alive() or process.pid is None:
            return
        os.kill(process.pid, signal.SIGTERM)
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join()


def _loader_main(settings: Settings) -> None:
    """In the batch child: a batch every interval until SIGTERM, the parent's death or a
    failed batch (exit 1: the next tick starts a fresh child)."""
    os.umask(0o077)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    die_with_parent(os.getppid())
    configure_logging(settings)
    while not stop.is_set():
        started = time.monotonic()
        if not batch_once(settings):
            sys.exit(1)
        stop.wait(max(0.0, settings.batch_interval_seconds - (time.monotonic() - started)))
    sys.exit(0)


def export_job(settings: Settings) -> None:
    """The scheduled nightly export: `export_once` in a child process."""
    run_in_child("export", export_once, settings)


def catch_up_export_job(settings: Settings) -> None:
    """At start: export yesterday if the process was down when the export was due."""
    manifest = read_manifest(DataLayout(root=settings.data_dir))
    if local_yesterday(settings.tz).isoformat() in manifest.get("dates", {}):
        return
    log.info("yesterday has no export yet: exporting it now")
    export_job(settings)


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
    loader = Loader(settings)
    scheduler.add_job(loader.tick, IntervalTrigger(seconds=settings.batch_interval_seconds),
                      id="batch", name="batch", max_instances=1,
                      coalesce=True, replace_existing=True, next_run_time=now)
    scheduler.add_listener(loader.stop, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.add_job(export_job, CronTrigger.from_crontab(settings.export_cron,
                                                           timezone=settings.tz),
                      args=[settings], id="export", name="nightly export", max_instances=1,
                      coalesce=True, replace_existing=True,
                      misfire_grace_time=int(timedelta(hours=12).total_seconds()))
    scheduler.add_job(maintain_job, IntervalTrigger(seconds=MAINTAIN_INTERVAL_SECONDS),
                      args=[settings], id="maintain", name="maintain", max_instances=1,
                      coalesce=True, replace_existing=True)
    scheduler.add_job(catch_up_export_job, "date", run_date=now + timedelta(seconds=1),
                      args=[settings], id="export-catch-up", name="catch-up export")
    return scheduler
