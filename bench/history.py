"""History benchmark: does a batch cost what it loads, whatever the warehouse holds?

Loads N million events (default 5) of the batch bench's mixed traffic in 1M steps, at the
rate of a large contact centre (600,000 events a day, so event and receive times advance
as they would), then runs `genius-wh maintain` as the scheduler does every 15 minutes. After
each step it times a 2,000-event batch in a fresh process (wall time,
peak RSS of it and its workers, sampled, bytes it wrote), measures the data dir without the
raw archive against the archive, counts the warehouse's data files, and times the README's
example queries over the views. The first row (0 history) is the baseline of the same run.

The event clock ends when the bench starts: the last step's events run up to now, so the
last row's views compute today's rows live, as they would late in a busy day. Each small
batch's events happen at the same times as the newest events loaded, so its dedupe compares
them with a full day (and a week of receipts for queue_info), as a batch during the day does.

    .venv/bin/python bench/history.py                  # 5 million events
    .venv/bin/python bench/history.py --millions 2 --step 500000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from batch import TreeMemory, generate  # noqa: E402

PER_DAY = 600_000
SMALL = 2_000
#: The README's example queries (docs/parts/analytics.md), each timed on the warehouse.
QUERIES = {
    "campaign_daily": "SELECT * FROM v_campaign_daily ORDER BY local_day DESC LIMIT 20",
    "ofcom_compliance": "SELECT * FROM v_ofcom_compliance WHERE over_limit",
    "agent_daily": "SELECT * FROM v_agent_daily ORDER BY local_day DESC LIMIT 20",
    "queue_service": "SELECT * FROM v_queue_service ORDER BY local_day DESC LIMIT 20",
    "recorddata": "SELECT c0_field_0, count(*) FROM session_recorddata GROUP BY 1 LIMIT 20",
}


def run_batch_child(data_dir: Path) -> dict[str, float]:
    """`genius-wh batch` in a child: wall seconds, peak RSS (MiB) of it and its workers,
    summed, and bytes written (MiB).

    The RSS is sampled (bench/batch.py's TreeMemory), not `wait4`'s maximum: a child's
    maximum RSS includes the copy of this process it was forked from before it ran the
    command (`/bin/true` started from a 300 MiB process reports 311 MiB), and this process
    grows as it queries the views, so the small batch seemed to grow with history."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "orchestration", "--data-dir", str(data_dir),
                              "batch"], cwd=REPO, stdout=subprocess.DEVNULL)
    sampler = TreeMemory(child.pid)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    peak = sampler.stop()
    if status != 0:
        raise SystemExit(f"batch failed with status {status}")
    return {"seconds": time.perf_counter() - started, "rss": peak / 2**20,
            "written": usage.ru_oublock * 512 / 2**20}


def disk(path: Path, *, exclude: Path | None = None) -> int:
    """Bytes of the files under path (not under exclude)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        if exclude is not None and Path(root).is_relative_to(exclude):
            continue
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total


def query_times(data_dir: Path) -> dict[str, float]:
    from warehouse import connect

    times = {}
    with connect(data_dir) as con:
        for name, sql in QUERIES.items():
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times[name] = time.perf_counter() - started
    return times


def file_count(data_dir: Path) -> int:
    from warehouse import connect

    with connect(data_dir) as con:
        row = con.execute("SELECT sum(file_count) FROM ducklake_table_info('wh')").fetchone()
    return int(row[0] or 0) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--millions", type=float, default=5)
    parser.add_argument("--step", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="data dir to keep")
    args = parser.parse_args()
    total = int(args.millions * 1_000_000)
    start = datetime.now(UTC) - timedelta(days=total / PER_DAY)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        ready = data_dir / "spool" / "ready"
        print(f"{'history':>9} {'small s':>8} {'small MiB':>9} {'written MiB':>11} "
              f"{'big s':>7} {'big MiB':>8} {'lake+cat MiB':>12} {'archive MiB':>11} "
              f"{'ratio':>6} {'files':>6} {'slowest view s':>15}", flush=True)
        loaded, big = 0, {"seconds": 0.0, "rss": 0.0}
        view_rows: list[tuple[int, dict[str, float]]] = []
        generate(ready, SMALL, seed=3, per_day=PER_DAY, fields_seed=1, start=start)
        run_batch_child(data_dir)  # creates the warehouse: not part of the baseline
        while True:
            # other events (another seed) at the times of the newest ones loaded
            generate(ready, SMALL, seed=loaded + 7, first_event=max(loaded - SMALL, 0),
                     per_day=PER_DAY, fields_seed=1, start=start)
            small = run_batch_child(data_dir)
            archive = disk(data_dir / "spool" / "archive")
            rest = disk(data_dir, exclude=data_dir / "spool")
            views = query_times(data_dir)
            view_rows.append((loaded, views))
            print(f"{loaded:>9,} {small['seconds']:>8.2f} {small['rss']:>9.0f} "
                  f"{small['written']:>11.1f} {big['seconds']:>7.1f} {big['rss']:>8.0f} "
                  f"{rest / 2**20:>12.0f} {archive / 2**20:>11.0f} "
                  f"{rest / max(archive, 1):>6.2f} {file_count(data_dir):>6} "
                  f"{max(views.values()):>15.2f}", flush=True)
            if loaded >= total:
                break
            generate(ready, args.step, seed=loaded + 1, first_event=loaded, per_day=PER_DAY,
                     fields_seed=1, start=start)
            big = run_batch_child(data_dir)
            subprocess.run([sys.executable, "-m", "orchestration", "--data-dir", str(data_dir),
                            "maintain"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
            loaded += args.step
        print(f"\n{'history':>9} " + " ".join(f"{name:>17}" for name in QUERIES))
        for history, views in view_rows:
            print(f"{history:>9,} " + " ".join(f"{views[name]:>16.2f}s" for name in QUERIES))


if __name__ == "__main__":
    main()
