"""Freshness: how long after its 200 an event is visible in a new `connect()`.

Starts the real product (`genius-wh serve`, receiver plus scheduler, each batch in its child
process) with `batch_interval_seconds` set, posts events at a steady rate for a while from
keep-alive clients, and polls the warehouse through `warehouse.connect()` every 0.2 s for the
posted events' ids. Prints p50/p95/max of (visible - answered) per batch interval, side by
side, so the cost of a short interval is seen against a longer one in the same run.

    .venv/bin/python bench/freshness.py --rate 1000 --seconds 20 --intervals 1,5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from genius_wh.settings import load_settings  # noqa: E402
from warehouse import connect  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int, interval: float) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "--data-dir", str(data_dir), "serve",
         "--port", str(port)], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "GENIUS_WH_BATCH_INTERVAL_SECONDS": str(interval)})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the receiver did not start")


def body(n: int) -> bytes:
    return orjson.dumps({"action": "AgentActivity", "timestamp": "2026-12-01T10:00:00Z",
                         "agentactivity": {"campaign": "Bench", "agent": f"a{n % 50}",
                                           "agentstate": n % 8, "queue": 1, "seq": n,
                                           "timestampcurrentstate": "2026-12-01T10:00:00Z"}})


def post_loop(port: int, rate: float, seconds: float, answered: dict[str, float],
              clients: int = 8) -> None:
    """`clients` keep-alive senders sharing the rate; records each event id's answer time."""
    import http.client

    def sender(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start = time.monotonic()
        n = offset
        while time.monotonic() - start < seconds:
            due = start + (n // clients) / (rate / clients)
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            conn.request("POST", "/", body=body(n), headers={"Content-Type": "text/plain"})
            reply = conn.getresponse().read()
            answered[orjson.loads(reply)["event_id"]] = time.time()
            n += clients
        conn.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(interval: float, rate: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = load_settings(data_dir=data_dir)
        server = start_server(data_dir, port := free_port(), interval)
        answered: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set() and not (data_dir / "catalog.sqlite").exists():
                stop.wait(0.2)  # the first batch creates the warehouse
            with connect(settings=settings) as con:
                while not stop.is_set():
                    rows = con.execute("SELECT event_id FROM agent_activity").fetchall()
                    now = time.time()
                    for (event_id,) in rows:
                        seen.setdefault(event_id, now)
                    stop.wait(0.2)

        loader = threading.Thread(target=poll)
        loader.start()
        post_loop(port, rate, seconds, answered)
        time.sleep(interval + 3)
        stop.set()
        loader.join()
        server.terminate()
        server.wait()
    lags = sorted(seen[e] - answered[e] for e in answered if e in seen)
    missing = len(answered) - len(lags)
    return {"events": len(answered), "missing": missing,
            "p50": statistics.median(lags), "p95": lags[int(0.95 * (len(lags) - 1))],
            "max": lags[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--intervals", default="1,5",
                        help="batch_interval_seconds values to compare")
    args = parser.parse_args()
    print(f"{'interval s':>10} {'events':>7} {'missing':>7} {'p50 s':>7} {'p95 s':>7} "
          f"{'max s':>7}")
    for interval in (float(x) for x in args.intervals.split(",")):
        r = measure(interval, args.rate, args.seconds)
        print(f"{interval:>10g} {r['events']:>7.0f} {r['missing']:>7.0f} {r['p50']:>7.2f} "
              f"{r['p95']:>7.2f} {r['max']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
