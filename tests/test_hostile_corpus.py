"""Hostile bodies (issue #9) over real HTTP: 200 and in the spool once, or 400 and in the
quarantine byte for byte; never a 5xx, never a body kept nowhere.

The corpus is `tests/data/hostile/`: a file named `accept-*` must get 200, `refuse-*` 400.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from receiver_support import DATA, RunningReceiver, quarantined, spool_records, start_receiver

CORPUS = sorted((DATA / "hostile").glob("*.json"))
TOKEN = {"Genius-Webhook-Token": "hostile-token"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    running = start_receiver(tmp_path_factory.mktemp("hostile") / "data",
                             tokens="hostile-token")
    yield running
    running.stop()


def test_the_corpus_holds_the_bodies_of_the_issue() -> None:
    names = {path.name for path in CORPUS}
    assert {"refuse-recorddata-string-255-deep.json", "refuse-object-1023-deep.json",
            "accept-10000-trailing-commas-in-1mb.json", "refuse-recorddata-10000-fields.json",
            "accept-byte-order-mark.json"} <= names
    assert all(name.startswith(("accept-", "refuse-")) for name in names)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_body_is_kept_in_the_spool_or_the_quarantine(server: RunningReceiver,
                                                              path: Path) -> None:
    raw = path.read_bytes()
    before = set(quarantined(server.data_dir))
    started = time.monotonic()
    status, answer = server.post(raw, TOKEN)
    took = time.monotonic() - started
    expected = 200 if path.name.startswith("accept-") else 400
    assert status == expected, answer
    assert took < 2.0
    if status == 200:
        lines = [r for r in spool_records(server.data_dir)
                 if r["event_id"] == answer["event_id"]]
        assert len(lines) == 1
        record = lines[0]
        if "original" in record:  # repaired (trailing commas, byte-order mark)
            assert record["original"].encode() == raw
        else:
            assert record["body"] == orjson.loads(raw)
    else:
        [kept] = set(quarantined(server.data_dir)) - before
        assert kept.read_bytes() == raw and kept.name in answer["error"]
        assert len(answer["error"]) < 600


def test_deep_and_wide_bodies_say_which_bound(server: RunningReceiver) -> None:
    deep = (DATA / "hostile" / "refuse-object-1023-deep.json").read_bytes()
    wide = (DATA / "hostile" / "refuse-recorddata-10000-fields.json").read_bytes()
    text = (DATA / "hostile" / "refuse-recorddata-string-255-deep.json").read_bytes()
    assert server.post(deep, TOKEN)[1]["error"].startswith(
        "body is nested 1023 levels deep, more than max_json_depth (64)")
    assert server.post(wide, TOKEN)[1]["error"].startswith(
        "recorddata has 10000 fields, more than max_recorddata_fields (2000)")
    assert server.post(text, TOKEN)[1]["error"].startswith(
        "body is nested 257 levels deep, more than max_json_depth (64)")


def test_bounds_are_settings(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", max_json_depth="3",
                             max_recorddata_fields="1")
    try:
        assert running.post(b'{"action": "X", "a": {"b": 1}}')[0] == 200
        assert running.post(b'{"action": "X", "a": {"b": [[]]}}')[0] == 400
        one = b'{"action": "SessionEnded", "sessionended": {"recorddata": {"a": 1}}}'
        two = b'{"action": "SessionEnded", "sessionended": {"recorddata": {"a": 1, "b": 2}}}'
        assert running.post(one)[0] == 200 and running.post(two)[0] == 400
    finally:
        running.stop()
