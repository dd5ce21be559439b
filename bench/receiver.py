"""Receiver benchmark: durable events/s and latency against a bare Flask app, same server.

Starts `genius-wh serve --no-scheduler` (group commit, fsync before every 200) and a bare Flask
app that only answers 200, both under waitress with the same threads, then drives each with
keep-alive clients posting ~1.2 KB SessionEnded bodies from a few load processes.

Run: .venv/bin/python bench/receiver.py [--clients 48] [--seconds 8] [--procs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC_SESSION = (ROOT / "tests" / "data" / "capture-sessionended-trailing-comma.http")


def session_body() -> bytes:
    """The spec's SessionEnded example (~1.2 KB), with its trailing comma."""
    return SPEC_SESSION.read_bytes().partition(b"\r\n\r\n")[2]


def request_bytes(body: bytes) -> bytes:
    """A keep-alive POST like the vendor's (repeated Content-Type)."""
    head = (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nConnection: keep-alive\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    return head + body


async def _client(port: int, payload: bytes, until: float, warm: float,
                  latencies: list[float], errors: list[int]) -> None:
    """One keep-alive connection posting back to back until `until`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (start := time.perf_counter()) < until:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if start >= warm:
                latencies.append(time.perf_counter() - start)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors.append(1)
    finally:
        writer.close()


def _load_process(port: int, clients: int, seconds: float, warmup: float,
                  out: multiprocessing.Queue[tuple[list[float], int]]) -> None:
    """Run `clients` connections in one process; report latencies of the measured window."""
    latencies: list[float] = []
    errors: list[int] = []
    payload = request_bytes(session_body())

    async def main() -> None:
        now = time.perf_counter()
        await asyncio.gather(*(_client(port, payload, now + warmup + seconds, now + warmup,
                                       latencies, errors) for _ in range(clients)))

    asyncio.run(main())
    out.put((latencies, len(errors)))


@dataclass(frozen=True)
class Result:
    """Figures of one run."""

    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float


def drive(name: str, port: int, pid: int, *, clients: int, procs: int,
          seconds: float) -> Result:
    """Load one server from `procs` processes and measure it (and its CPU per event)."""
    import psutil

    server = psutil.Process(pid)
    queue: multiprocessing.Queue[tuple[list[float], int]] = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_load_process,
                                       args=(port, clients // procs, seconds, 1.0, queue))
               for _ in range(procs)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # the warm-up second
    cpu_before = sum(server.cpu_times()[:2])
    parts = [queue.get() for _ in workers]
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    for worker in workers:
        worker.join()
    latencies = sorted(x for part, _ in parts for x in part)
    quantiles = statistics.quantiles(latencies, n=100)
    return Result(name, len(latencies) / seconds, quantiles[49] * 1000, quantiles[98] * 1000,
                  sum(e for _, e in parts), cpu / len(latencies) * 1e6)


def start(command: list[str], log: Path,
          env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server that logs `listening on http://H:P/`; return it and its port."""
    handle = log.open("wb")
    proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"listening on http://[0-9.]+:(\d+)/", log.read_text())
        if match:
            time.sleep(0.3)
            return proc, int(match.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"server did not start: {log.read_text()}")


def serve_bare(threads: int) -> None:
    """The ceiling: a Flask app under waitress that answers 200 and does nothing else."""
    import logging

    from flask import Flask, request
    from waitress.server import create_server

    from genius_wh.settings import load_settings
    from ingest.server import server_options

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # as the receiver does

    app = Flask("bare")

    @app.post("/")
    def receive() -> dict[str, str]:
        request.get_data()
        return {"status": "accepted", "event_id": "0" * 32}

    # exactly the receiver's waitress settings (threads, limits, timeouts)
    options = server_options(load_settings(server_threads=threads))
    server = create_server(app, host="127.0.0.1", port=0, **options)
    print(f"listening on http://127.0.0.1:{server.effective_port}/", flush=True)  # type: ignore[union-attr]
    server.run()


def main() -> None:
    """Run both servers one after the other, `--rounds` times, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1,
                        help="bare then receiver, this many times (the cores are shared)")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.threads)
        return
    load_before = os.getloadavg()[0]
    rounds = [run_round(args) for _ in range(args.rounds)]
    print_table(rounds, args, (load_before, os.getloadavg()[0]))


def run_round(args: argparse.Namespace) -> tuple[Result, Result]:
    """The bare ceiling, then the receiver, under the same load and server settings."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        env = {**os.environ, "GENIUS_WH_SERVER_THREADS": str(args.threads)}
        servers = {
            "bare Flask (200 only)": [sys.executable, __file__, "--serve-bare",
                                      "--threads", str(args.threads)],
            "genius-wh receiver (fsync)": [sys.executable, "-m", "orchestration", "--data-dir",
                                           f"{tmp}/data", "serve", "--no-scheduler",
                                           "--port", "0"],
        }
        for name, command in servers.items():
            proc, port = start(command, Path(tmp) / f"{len(results)}.log", env)
            try:
                results.append(drive(name, port, proc.pid, clients=args.clients, procs=args.procs,
                                     seconds=args.seconds))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    bare, real = results
    return bare, real


def print_table(rounds: list[tuple[Result, Result]], args: argparse.Namespace,
                load: tuple[float, float]) -> None:
    """The figures of every round side by side, the ratio to the bare ceiling, the median."""
    print(f"\n{args.clients} keep-alive clients in {args.procs} processes, "
          f"{args.seconds:.0f} s, waitress threads={args.threads}, cores={os.cpu_count()}, "
          f"load average {load[0]:.1f} -> {load[1]:.1f}")
    print(f"{'server':<28} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} "
          f"{'server CPU us/event':>20}")
    for bare, real in rounds:
        for r in (bare, real):
            print(f"{r.name:<28} {r.rate:>9.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
                  f"{r.errors:>8} {r.cpu_us:>20.0f}")
        print(f"receiver / bare ceiling: {real.rate / bare.rate:.0%}")
    if len(rounds) > 1:
        print_median(rounds)


def print_median(rounds: list[tuple[Result, Result]]) -> None:
    """The median round figures: the neighbours on the shared cores move single rounds."""
    ratios = [real.rate / bare.rate for bare, real in rounds]
    print(f"median of {len(rounds)} rounds: receiver "
          f"{statistics.median(real.rate for _, real in rounds):.0f} events/s, "
          f"{statistics.median(real.cpu_us for _, real in rounds):.0f} us/event "
          f"(bare {statistics.median(bare.cpu_us for bare, _ in rounds):.0f}), "
          f"ratio {statistics.median(ratios):.0%} (range {min(ratios):.0%}-{max(ratios):.0%})")


if __name__ == "__main__":
    main()
