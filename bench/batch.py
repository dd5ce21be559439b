"""Batch benchmark: spool segments -> queryable DuckDB, against bare DuckDB and dlt.

    .venv/bin/python bench/batch.py                 # 1 million events, dlt at 100k
    .venv/bin/python bench/batch.py --events 200000 --dlt-events 20000
    .venv/bin/python bench/batch.py --baseline /tmp/old --baseline-python /tmp/old-venv/bin/python

Each contender runs in its own child process (ours: the `genius-wh batch` command itself);
we report events/s and the peak memory of that child and all its own children together (our
transform workers), sampled every 20 ms from the bench's own process. With `--baseline`,
ours runs against an earlier commit's code (a checkout, with its own environment when its
dependencies differ), paired round by round.

Three DuckDB ceilings run on the same lines: `read_json` into one table as DuckDB infers it
(with more than 200 distinct recorddata keys it makes recorddata one MAP column), and the
same with every nested field flattened into its own column, the shape our warehouse has
(one column per recorddata field), into a table and into one Parquet file.
dlt needs the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

REPO = Path(__file__).resolve().parent.parent
SEGMENT_EVENTS = 50_000
CAMPAIGNS = 12


def _campaign_fields(rng: random.Random) -> list[list[tuple[str, str]]]:
    """Per campaign: 30-50 recorddata fields, each with a value kind."""
    kinds = ("str", "int", "float", "bool", "null", "phone")
    return [[(f"C{c}_Field_{i}", rng.choice(kinds)) for i in range(rng.randint(30, 50))]
            for c in range(CAMPAIGNS)]


def _value(kind: str, rng: random.Random) -> Any:
    if kind == "int":
        return rng.randint(0, 100_000)
    if kind == "float":
        return round(rng.random() * 1000, 2)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "phone":
        return f"07{rng.randint(0, 999_999_999):09d}"
    return rng.choice(("Glasgow", "Leeds", "London", "Cardiff", "")) + str(rng.randint(1, 99))


def _body(n: int, rng: random.Random, fields: list[list[tuple[str, str]]],
          stamp: str = "2026-11-24T10:09:07.2924254+00:00") -> dict[str, Any]:
    """One realistic event: 35% SessionEnded, the rest AgentActivity/QueueInfo/CardPayment."""
    c = n % CAMPAIGNS
    roll = rng.random()
    if roll < 0.35:
        return {"action": "SessionEnded", "timestamp": stamp, "session": {
            "campaign": f"campaign{c}", "agent": f"agent{n % 300}", "urn": f"urn-{n}",
            "telnumber": f"07{n:09d}", "diallerresult": rng.choice((1, 2, 7, 10, 10, 25)),
            "agentresult": 205, "calltype": rng.choice((0, 3, 5)),
            "timestamplaunched": stamp, "timestampconnected": stamp,
            "timestampdisconnected": stamp, "timestampsessionended": stamp,
            "talktime": rng.random() * 300, "wrapptime": rng.random() * 60, "holdtime": 0,
            "ringtime": rng.random() * 20, "queuetime": 0, "queuenumber": 0,
            "CLI": "01412800275", "ID": n,
            "recorddata": {name: _value(kind, rng) for name, kind in fields[c]}}}
    if roll < 0.80:
        return {"action": "AgentActivity", "timestamp": stamp, "agentactivity": {
            "campaign": f"campaign{c}", "agent": f"agent{n % 300}", "extension": "7002",
            "queue": 67182, "agentstate": rng.randint(0, 12), "previousstate": 3,
            "timestampcurrentstate": stamp, "timestamppreviousstate": stamp,
            "breakreason": 0, "n": n}}
    if roll < 0.95:
        return {"action": "QueueInfo", "timestamp": stamp, "queueinfo": {
            "campaign": f"campaign{c}", "queuenumber": c, "queuename": f"Queue {c}",
            "callsinqueue": rng.randint(0, 9), "oldestcall": stamp, "averageanswer": 12.5,
            "averageanswer5mins": 10.0, "totalcalls": n, "totalabandoned": n // 20}}
    return {"action": "CardPayment", "timestamp": stamp, "CardPayment": {
        "campaign": f"campaign{c}", "agent": f"agent{n % 300}", "timestamp": stamp,
        "urn": f"urn-{n}", "cardtype": "Visa Debit", "cardholder": "J Bloggs",
        "last4digits": 9030, "amount": 1000 + n % 5000, "currency": "GBP",
        "result": "Success"}}


#: When event number 0 happens, unless a bench asks for another start.
START: Final = datetime(2026, 11, 24, 10, tzinfo=UTC)


def generate(spool_ready: Path, events: int, seed: int = 1, *, first_event: int = 0,
             per_day: int | None = None, fields_seed: int | None = None,
             start: datetime = START) -> None:
    """Write `events` spool lines as segments of SEGMENT_EVENTS lines (events numbered from
    `first_event`, number 0 at `start`); with `per_day`, event and receive times advance at
    that daily rate, as real traffic does, instead of one fixed time."""
    from genius_wh.records import encode_record, make_record

    rng = random.Random(seed)
    fields = _campaign_fields(rng if fields_seed is None else random.Random(fields_seed))
    spool_ready.mkdir(parents=True, exist_ok=True)
    step = timedelta(days=1) / per_day if per_day else None
    last = first_event + events
    for first in range(first_event, last, SEGMENT_EVENTS):
        moment = start + (step * first if step else timedelta(seconds=first))
        lines = [encode_record(make_record(
            _body(n, rng, fields, *([(start + step * n).isoformat()] if step else [])),
            source="84.22.187.53",
            received_at=(start + step * n) if step else moment + timedelta(microseconds=n)))
            for n in range(first, min(last, first + SEGMENT_EVENTS))]
        name = f"{moment.strftime('%Y%m%dT%H%M%S%f')}-bench-{seed}-{first:09d}.jsonl"
        (spool_ready / name).write_bytes(b"".join(lines))


def count_rows(data_dir: Path) -> int:
    """Rows in the event tables of the warehouse in data_dir."""
    from warehouse import connect

    with connect(data_dir) as con:
        row = con.execute("SELECT (SELECT count(*) FROM session_ended) + (SELECT count(*) "
                          "FROM agent_activity) + (SELECT count(*) FROM queue_info) + "
                          "(SELECT count(*) FROM card_payment)").fetchone()
    return int(row[0]) if row else 0


#: The bare DuckDB ceilings: CREATE TABLE from read_json as inferred, or flattened (every
#: nested field its own column, as in our warehouse) into a table or into one Parquet file.
_READ = "read_json(?, format = 'newline_delimited')"
_FLAT = ("SELECT * EXCLUDE (body), unnest(body, recursive := true) FROM read_json(?, "
         "format = 'newline_delimited', map_inference_threshold = -1)")
CEILINGS = {
    "duckdb": f"CREATE TABLE events AS SELECT * FROM {_READ}",
    "duckdb:flat": f"CREATE TABLE events AS {_FLAT}",
    "duckdb:flat-parquet": f"COPY ({_FLAT}) TO '{{out}}' (FORMAT parquet)",
}


def child_duckdb(spool: Path, db: Path, kind: str) -> int:
    """Bare DuckDB: one of CEILINGS over the same lines; returns the rows written."""
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("SET enable_progress_bar = false")
        out = db.with_suffix(".parquet")
        con.execute(CEILINGS[kind].replace("{out}", str(out)), [str(spool / "*.jsonl")])
        source = f"read_parquet('{out}')" if "parquet" in kind else "events"
        row = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    return int(row[0]) if row else 0


def child_dlt(spool: Path, db: Path, file_format: str, events: int) -> int:
    """dlt's DuckDB pipeline over the parsed spool lines (default settings or parquet)."""
    import dlt

    def records() -> Any:
        seen = 0
        for path in sorted(spool.glob("*.jsonl")):
            with path.open("rb") as handle:
                for line in handle:
                    if seen >= events:
                        return
                    seen += 1
                    yield orjson.loads(line)

    pipeline = dlt.pipeline(pipeline_name=f"bench_{file_format}", pipelines_dir=str(db.parent),
                            destination=dlt.destinations.duckdb(str(db)), dataset_name="raw")
    kwargs: dict[str, Any] = {} if file_format == "default" else {"loader_file_format": file_format}
    pipeline.run(records(), table_name="events", **kwargs)
    return events


def run_child(kind: str, *args: str, python: str = sys.executable,
              baseline: Path | None = None) -> dict[str, Any]:
    """Run one contender in a fresh process; returns seconds, rows and the peak memory of
    its process tree (MiB), sampled from here so the measuring costs the contender nothing.

    "ours" is `genius-wh --data-dir DIR batch`, the console script a user runs (its transform
    workers import that script again when they start, so it is what their memory is made
    of), timed from its start to its exit; its rows are counted afterwards. With `baseline`
    (a checkout of an earlier commit, run by its own `python` and that environment's
    `genius-wh`), "ours" is that checkout's code, measured by this same sampler.
    """
    env = dict(os.environ)
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline)  # ahead of the editable install's finder
    if kind == "ours":
        command = [str(Path(python).parent / "genius-wh"), "--data-dir", args[0], "batch"]
    else:
        command = [python, __file__, "--child", kind, *args]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=baseline or REPO, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeMemory(child.pid)
    sampler.start()
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if child.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else "failed"}
    if kind == "ours":
        counted = subprocess.run([python, __file__, "--child", "count", *args], cwd=baseline
                                 or REPO, env=env, text=True, capture_output=True, check=True)
        result = {"seconds": seconds, **json.loads(counted.stdout.strip().splitlines()[-1])}
    else:
        result = dict(json.loads(out.strip().splitlines()[-1]))
    result["peak_mib"] = max(sampler.peak, result.pop("self_peak", 0)) / 2**20
    result["pss_mib"] = sampler.peak_pss / 2**20
    return result


def child_main(kind: str, args: list[str]) -> None:
    """Entry point inside the child: time one contender (or count ours's rows), print JSON."""
    started = time.perf_counter()
    if kind == "count":
        print(json.dumps({"rows": count_rows(Path(args[0]))}))
        return
    if kind.startswith("duckdb"):
        rows = child_duckdb(Path(args[0]), Path(args[1]), kind)
    else:
        rows = child_dlt(Path(args[0]), Path(args[1]), kind.split(":", 1)[1], int(args[2]))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "self_peak":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


class TreeMemory(threading.Thread):
    """Samples the RSS of a process plus all its children, summed, and keeps the peak; and,
    every 10th sample (reading smaps is slow), the summed PSS: the memory the tree takes
    from the machine, each shared page (the libraries every process maps) counted once,
    where the RSS sum counts it in every process. It runs in the bench's own process, so
    the measured one pays nothing for it (sampled from inside, the 1M-event batch ran
    slower: the sampler took the loader's interpreter lock every 20 ms)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.peak_pss = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        sample = 0
        while not self.done.wait(0.02):
            sample += 1
            try:
                tree = [root, *root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
                if sample % 10 == 0:
                    self.peak_pss = max(self.peak_pss,
                                        sum(p.memory_full_info().pss for p in tree))
            except psutil.Error:
                continue  # a process ended while being read

    def stop(self) -> int:
        """Stop sampling; the peak in bytes."""
        self.done.set()
        self.join()
        return self.peak


def _row(name: str, events: int, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{name:<28} {events:>10,} {'error: ' + str(result['error'])}"
    rate = events / result["seconds"]
    return (f"{name:<28} {events:>10,} {result['seconds']:>9.1f} {rate:>12,.0f} "
            f"{result['peak_mib']:>10,.0f} {result.get('pss_mib', 0):>10,.0f}")


def main() -> None:
    """Generate the corpus, run every contender, print the side-by-side table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dlt-events", type=int, default=100_000)
    parser.add_argument("--dlt-formats", default="default,parquet",
                        help="dlt loader file formats to run, comma-separated ('' for none)")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also run ours from this checkout of an earlier commit, paired "
                        "round by round with the current code (no ceilings then)")
    parser.add_argument("--baseline-python", default=sys.executable,
                        help="the interpreter of the baseline's own environment")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (--baseline)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child_main(options.child[0], options.child[1:])
        return
    work = Path(tempfile.mkdtemp(prefix="genius-bench-"))
    try:
        if options.baseline is not None:
            _paired(work, options.events, options.baseline.resolve(), options.baseline_python,
                    options.rounds)
        else:
            formats = [f for f in options.dlt_formats.split(",") if f]
            _bench(work, options.events, options.dlt_events, formats)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _corpus(work: Path, events: int) -> Path:
    started = time.perf_counter()
    corpus = work / "corpus"
    generate(corpus, events)
    print(f"generated {events:,} events in {time.perf_counter() - started:.1f} s "
          f"({sum(p.stat().st_size for p in corpus.iterdir()) / 2**20:,.0f} MiB of spool)")
    return corpus


def _fresh_data_dir(work: Path, corpus: Path, name: str) -> Path:
    data = work / name
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(corpus, data / "spool" / "ready")
    return data


def _paired(work: Path, events: int, baseline: Path, python: str, rounds: int) -> None:
    """Ours against the baseline checkout on the same corpus, alternating which goes first,
    each on a fresh data dir; every run's row, then the medians and their ratio."""
    corpus = _corpus(work, events)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    for round_number in range(rounds):
        order = ["ours", "baseline"] if round_number % 2 == 0 else ["baseline", "ours"]
        for side in order:
            data = _fresh_data_dir(work, corpus, side)
            result = (run_child("ours", str(data)) if side == "ours" else
                      run_child("ours", str(data), python=python, baseline=baseline))
            runs[side].append(result)
            print(_row(f"{side}, round {round_number + 1}", events, result), flush=True)
    medians = {side: {key: statistics.median(r[key] for r in results)
                      for key in ("seconds", "peak_mib", "pss_mib")}
               for side, results in runs.items() if all("error" not in r for r in results)}
    for side, median in medians.items():
        print(_row(f"{side}, median", events, median))
    if len(medians) == 2:
        ours, base = medians["ours"], medians["baseline"]
        print(f"ours / baseline: time {ours['seconds'] / base['seconds']:.2f}x, "
              f"peak RSS {ours['peak_mib'] / base['peak_mib']:.2f}x, "
              f"PSS {ours['pss_mib'] / base['pss_mib']:.2f}x")


def _bench(work: Path, events: int, dlt_events: int, formats: list[str]) -> None:
    corpus = _corpus(work, events)
    data = _fresh_data_dir(work, corpus, "data")
    results = [("ours (spool -> DuckDB)", events, run_child("ours", str(data))),
               ("bare DuckDB read_json", events,
                run_child("duckdb", str(corpus), str(work / "bare.duckdb"))),
               ("bare DuckDB, flattened", events,
                run_child("duckdb:flat", str(corpus), str(work / "flat.duckdb"))),
               ("bare DuckDB, flat to Parquet", events,
                run_child("duckdb:flat-parquet", str(corpus), str(work / "flatpq.duckdb")))]
    for fmt in formats:
        results.append((f"dlt duckdb ({fmt})", dlt_events, run_child(
            f"dlt:{fmt}", str(corpus), str(work / f"dlt-{fmt}.duckdb"), str(dlt_events))))
    print(f"{'contender':<28} {'events':>10} {'seconds':>9} {'events/s':>12} "
          f"{'peak MiB':>10} {'PSS MiB':>10}")
    for name, count, result in results:
        print(_row(name, count, result))
    ours = results[0][2]
    for name, _count, result in results[1:4]:
        if "error" not in ours and "error" not in result:
            print(f"ours / {name}: {result['seconds'] / ours['seconds']:.0%}")


if __name__ == "__main__":
    main()
