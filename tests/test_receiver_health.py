"""/healthz is cheap and says 503 for any unwritable spool; /metrics only for
metrics_allowed_ips (issue #9)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from receiver_support import RunningReceiver, assert_error, start_receiver, wait_until

AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1"}}'


def spool_state(data: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(data)), p.stat().st_size)
                  for p in (data / "spool").rglob("*") if p.is_file())


def test_healthz_writes_nothing(tmp_path: Path) -> None:
    # issue #9: each /healthz wrote and fsynced 4 KiB (4,000 GETs wrote 16 MB)
    running = start_receiver(tmp_path / "data")
    try:
        assert running.post(AGENT)[0] == 200
        before = spool_state(running.data_dir)
        for _ in range(200):
            assert running.get("/healthz") == (200, b'{"status":"ok"}\n')
        assert spool_state(running.data_dir) == before
    finally:
        running.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of its own, so that it can be remounted read-only (needs root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def remount(mount_point: Path, how: str) -> None:
    """Remount; read-only waits until no file is open for writing (the segment is sealed)."""
    wait_until(lambda: subprocess.run(["mount", "-o", f"remount,{how}", str(mount_point)],
                                      capture_output=True).returncode == 0,
               timeout=10, what=f"remount {how}")


def test_read_only_spool_gets_503_from_healthz_and_posts_then_recovers(
        small_disk: Path) -> None:
    # issue #9: a read-only spool made /healthz answer 500
    running = start_receiver(small_disk, spool_segment_seconds="0.2")  # log off the mount
    try:
        assert running.post(AGENT)[0] == 200
        remount(small_disk, "ro")
        status, body = running.get("/healthz")
        assert status == 503 and "not writable" in orjson.loads(body)["error"]
        assert running.post(AGENT.replace(b"a1", b"a2"))[0] == 503
        remount(small_disk, "rw")
        assert running.post(AGENT.replace(b"a1", b"a3"))[0] == 200
        assert running.get("/healthz")[0] == 200  # a commit that worked clears the alarm
    finally:
        remount(small_disk, "rw")
        running.stop()


def test_full_spool_disk_gets_503_from_healthz(small_disk: Path) -> None:
    running = start_receiver(small_disk)
    try:
        filler = small_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        assert running.get("/healthz")[0] == 503
        filler.unlink()
        assert running.get("/healthz")[0] == 200
    finally:
        running.stop()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    running = start_receiver(tmp_path_factory.mktemp("metrics") / "data",
                             metrics_allowed_ips="10.1.0.0/16", trusted_proxies="1")
    yield running
    running.stop()


def test_metrics_refuse_addresses_outside_metrics_allowed_ips(guarded: RunningReceiver) -> None:
    status, body = guarded.get("/metrics")
    message = assert_error(status, orjson.loads(body), 403)
    assert message == "source address 127.0.0.1 may not read /metrics (metrics_allowed_ips)"


def test_metrics_allowed_for_an_address_a_known_proxy_forwards(
        guarded: RunningReceiver) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        answer = conn.getresponse()
        assert answer.status == 200 and b"genius_wh_events_received_total" in answer.read()
    finally:
        conn.close()


def test_healthz_answers_any_address(guarded: RunningReceiver) -> None:
    assert guarded.get("/healthz")[0] == 200
