"""/metrics also says what runs and how the process fares (issue #12): `process_*` figures and
`genius_wh_build_info`; and the metric files of killed receivers are folded, so their number
stays bounded however often a receiver dies."""

from __future__ import annotations

import platform
import socket
import time
from importlib import metadata
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from receiver_support import RunningReceiver, start_receiver, wait_until

AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a%d"}}'
ACCEPTED = ("genius_wh_events_received_total",
            {"action": "agentactivity", "outcome": "accepted", "integration": "default"})
HOST = socket.gethostname().split(".")[0]


def samples(running: RunningReceiver) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a real /metrics scrape over HTTP, by name."""
    status, body = running.get("/metrics")
    assert status == 200
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(running: RunningReceiver, name: str, labels: dict[str, str]) -> float | None:
    return next((v for got, v in samples(running).get(name, []) if got == labels), None)


def files(data: Path) -> set[str]:
    return {path.name for path in (data / "metrics").glob("ingest-*.json")}


def test_metrics_show_the_process_figures_and_the_build(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data")
    try:
        found = samples(running)
    finally:
        running.stop()
    [(_, resident)] = found["process_resident_memory_bytes"]
    [(_, started)] = found["process_start_time_seconds"]
    [(_, files)] = found["process_open_fds"]
    assert resident > 10 * 1024 * 1024 and files > 3
    assert time.time() - 120 < started <= time.time()
    assert found["process_cpu_seconds_total"][0][1] > 0
    assert found["genius_wh_build_info"] == [({
        "version": metadata.version("genius-wh"), "duckdb": metadata.version("duckdb"),
        "python": platform.python_version()}, 1.0)]


def test_files_of_killed_receivers_are_folded_and_their_counts_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for n in range(3):  # three receivers in turn, each killed without a chance to clean up
        running = start_receiver(data)
        assert running.post(AGENT % n)[0] == 200
        assert value(running, *ACCEPTED) == n + 1  # a scrape writes this process's file
        running.kill()
    last = start_receiver(data)
    try:
        wanted = {f"ingest-{HOST}-{last.proc.pid}.json", f"ingest-{HOST}-totals.json"}
        wait_until(lambda: files(data) == {f"ingest-{HOST}-totals.json"},
                   what="the killed receivers' files to be folded")
        assert value(last, *ACCEPTED) == 3.0
        assert files(data) == wanted, "the scrape wrote this process's own file beside it"
    finally:
        last.stop()
