"""503 on a really full filesystem (a small tmpfs), and recovery once space is freed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver_support import assert_error, spool_lines, start_receiver

from genius_wh.records import decode_record

AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1", "n": %d}}'
#: bigger than the free tail of the segment's last page, so it really needs a new block
BIG = b'{"action": "AgentActivity", "agentactivity": {"pad": "%s", "n": %d}}'


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test (needs root or CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem reports it is full."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    try:
        with filler.open("ab", buffering=0) as handle:
            while True:
                handle.write(b"\0" * 512)
    except OSError:
        return filler


def test_full_disk_gets_503_then_200_once_space_is_freed(small_disk: Path) -> None:
    running = start_receiver(small_disk / "data")
    try:
        assert running.post(AGENT % 1)[0] == 200
        filler = fill(small_disk)
        message = assert_error(*running.post(BIG % (b"x" * 20000, 2)), 503)
        assert message.startswith("event not stored, send it again: spool write failed")
        assert "No space left on device" in message
        status, health = running.get("/healthz")
        assert status == 503 and b"not writable" in health
        filler.unlink()
        assert running.post(AGENT % 3)[0] == 200
        assert running.get("/healthz")[0] == 200
    finally:
        running.stop()
    numbers = [decode_record(line)["body"]["agentactivity"]["n"]
               for line in spool_lines(small_disk / "data")]
    assert numbers == [1, 3]  # the refused event left no line, not even half of one
