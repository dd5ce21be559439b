"""Property-based fuzz of the receiver and the batch (issue #9): at least 10,000 generated
bodies over real HTTP to the real receiver (four connections at once; its data dir on a tmpfs
when there is one), then a batch of everything it accepted.

Every answer is 200 or 400 (never a 5xx); every 200 is in the spool exactly once and then in
the warehouse exactly once; every 400 is in the quarantine byte for byte. The figures are
printed (run with -s to see them).
"""

from __future__ import annotations

import http.client
import itertools
import random
import re
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from receiver_support import RunningReceiver, spool_records, start_receiver
from warehouse_support import make_settings, query

from genius_wh.tables import EVENT_TABLES
from orchestration.batch import run_batch

EXAMPLES = 10_000
SENDERS = 4  # connections posting at once
CLOSERS = re.compile(rb"[}\]]")
ACTIONS = ["SessionEnded", "AgentActivity", "QueueInfo", "CardPayment", "sessionended", ""]

SCALARS: list[Any] = [None, True, False, 0, -1, 2**63 - 1, -(2**63), 1.5, -0.0, 1e300, "",
                      "a", "é", "😀", "\u0000", ",}", '",]', "\\", "2021-07-06T10:00:16+01:00"]


def random_value(rng: random.Random, budget: int) -> Any:
    """A JSON value of at most about `budget` leaves (hypothesis draws the seed)."""
    roll = rng.random()
    if budget <= 1 or roll < 0.5:
        return rng.choice(SCALARS) if rng.random() < 0.8 else rng.randint(-(10**6), 10**6)
    size = rng.randint(0, min(4, budget))
    if roll < 0.75:
        return [random_value(rng, budget // 2) for _ in range(size)]
    return {rng.choice(["a", "B", "", "urn", "recorddata", "ü"]) + str(n):
            random_value(rng, budget // 2) for n in range(size)}


def recorddata(rng: random.Random, count: int, shape: str) -> Any:
    """Recorddata as an object, key/value pairs or JSON text, sometimes near the field bound."""
    fields: dict[str, Any] = {f"f{n}": n for n in range(count)}
    fields.update((f"f{n}", rng.choice(SCALARS)) for n in range(min(count, 3)))
    if shape == "pairs":
        return [{"key": k, "value": v} for k, v in fields.items()]
    return orjson.dumps(fields).decode() if shape == "text" else fields


#: What hypothesis chooses (few draws keep 10,000 examples cheap; a seeded Random does the
#: rest): nesting depth, recorddata field count and shape, damage.
PLANS = list(itertools.product(
    [0, 0, 0, 10, 62, 63, 64, 65, 300, 1100],
    [None, 0, 1, 5, 1999, 2000, 2001],
    ["object", "pairs", "text"],
    ["none", "none", "commas", "commas", "bom", "truncate", "flip", "space", "binary"],
))


def event(rng: random.Random, action: str, depth: int, fields: int | None,
          shape: str) -> dict[str, Any]:
    """A body shaped like the vendor's, with any extra members and nesting."""
    body: dict[str, Any] = {f"k{n}": random_value(rng, 12) for n in range(rng.randint(0, 4))}
    body["action"] = action
    if fields is not None:
        body["sessionended"] = {"urn": rng.choice(SCALARS),
                                "recorddata": recorddata(rng, fields, shape)}
    if depth:
        body["deep"] = orjson.Fragment(b"[" * depth + b"]" * depth)
    return body


def damaged(rng: random.Random, raw: bytearray, how: str) -> bytes:
    """`raw` with trailing commas added, a BOM, cut short, one byte changed or spaces."""
    if how == "commas":
        closers = [m.start() for m in CLOSERS.finditer(raw)]
        for at in sorted(rng.sample(closers, min(len(closers), rng.randint(1, 3))),
                         reverse=True):
            raw[at:at] = rng.choice([b",", b", ", b",\n"])
    elif how == "bom":
        raw[0:0] = b"\xef\xbb\xbf"
    elif how == "truncate":
        del raw[rng.randrange(len(raw)):]
    elif how == "flip":
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif how == "space":
        raw[:0] = b" \r\n\t"
    elif how == "binary":
        return rng.randbytes(rng.randint(0, 64))
    return bytes(raw)


@st.composite
def raw_body(draw: st.DrawFn) -> bytes:
    """A serialised event, maybe damaged."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    depth, fields, shape, how = draw(st.sampled_from(PLANS))
    action = draw(st.sampled_from([*ACTIONS, "Other", "\u0000", " ", "é"]))
    return damaged(rng, bytearray(orjson.dumps(event(rng, action, depth, fields, shape))), how)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    # on a tmpfs when there is one: this test is about answers, not the disk's fsync speed
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("fuzz")
    running = start_receiver(base / "data", tokens="fuzz-token", spool_segment_seconds="3600")
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


class Senders:
    """A few keep-alive connections posting bodies side by side (the receiver answers one
    while the next is generated and sent), each answer kept with its body."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.pool = port, ThreadPoolExecutor(count, thread_name_prefix="fuzz")
        self.local, self.connections = threading.local(), Queue[http.client.HTTPConnection]()
        self.answers: list[Future[tuple[bytes, int, dict[str, Any]]]] = []

    def submit(self, raw: bytes) -> None:
        self.answers.append(self.pool.submit(self._post, raw))

    def _post(self, raw: bytes) -> tuple[bytes, int, dict[str, Any]]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                timeout=60)
            self.connections.put(conn)
        conn.request("POST", "/", body=raw, headers={"Genius-Webhook-Token": "fuzz-token"})
        answer = conn.getresponse()
        return raw, answer.status, orjson.loads(answer.read())

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        while not self.connections.empty():
            self.connections.get().close()


@pytest.mark.timeout(900)  # minutes of CPU work: on a busy machine it outlasts 300 s
def test_no_body_gets_a_5xx_or_is_kept_nowhere(server: RunningReceiver) -> None:
    data = server.data_dir
    accepted: Counter[str] = Counter()
    figures = Counter[str]()
    senders = Senders(server.port, SENDERS)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(raw_body())
    def post(raw: bytes) -> None:
        senders.submit(raw)

    try:
        post()
        answers = [answer.result() for answer in senders.answers]
    finally:
        senders.close()
    for raw, status, message in answers:
        figures["tried"] += 1
        assert status in (200, 400), (status, message, raw[:200])
        if status == 200:
            figures["accepted"] += 1
            accepted[message["event_id"]] += 1
            continue
        figures["quarantined"] += 1
        name = message["error"].rsplit("kept in quarantine/", 1)[1].rstrip(")")
        assert (data / "quarantine" / name).read_bytes() == raw
    spooled = Counter(record["event_id"] for record in spool_records(data))
    print(f"\nfuzz over HTTP: {figures['tried']} bodies tried, {figures['accepted']} accepted "
          f"(in the spool once each), {figures['quarantined']} quarantined (byte for byte), "
          f"0 answered 5xx")
    assert figures["tried"] >= EXAMPLES
    assert spooled == accepted and sum(spooled.values()) == figures["accepted"]

    # the batch takes every accepted body, exactly once, and is never stuck
    report = run_batch(make_settings(data))
    loaded = Counter(event_id for table in EVENT_TABLES for (event_id,) in query(
        data, f"SELECT event_id FROM {table}"))
    quarantined = query(data, "SELECT count(*) FROM _quarantine")[0][0]
    print(f"fuzz batch: {len(accepted)} distinct events accepted, {sum(loaded.values())} "
          f"loaded, {quarantined} quarantined by the batch, "
          f"{len(set(accepted) - set(loaded))} lost")
    assert not report.skipped and set(loaded) == set(accepted)
    assert max(loaded.values()) == 1 and quarantined == 0
    assert sum(run_batch(make_settings(data)).rows_loaded.values()) == 0  # nothing twice
