"""`genius-wh forget` (issue #13, UK GDPR erasure): a person's data planted in every place
is gone afterwards from every file under the data dir, byte for byte, Parquet read too."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from warehouse_support import (
    BASE_TIME,
    card_payment,
    make_settings,
    query,
    run_cli,
    session_ended,
    write_segment,
)

from genius_wh.layout import DataLayout
from ingest import quarantine
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from warehouse.exportfiles import read_manifest
from warehouse.forgetmatch import make_target, normalise_phone

DAY = BASE_TIME.date()
# how the person appears: each must be found nowhere afterwards
TRACES = [b"7976916443", b"7976 916443", b"jo.bloggs@example.com", b"Jo Forgotten",
          b"URN-P1", b"1 Erased Lane"]


def _person(n: int) -> dict[str, Any]:
    body = session_ended(n, urn="URN-P1", telnumber="07976916443", CLI="+447976916443",
                         recorddata={"Mobile": "+44 7976 916443", "E-mail":
                                     "Jo.Bloggs@Example.com", "Name": "Jo Forgotten",
                                     "Address": "1 Erased Lane"})
    return body


def _payment() -> dict[str, Any]:
    body = card_payment(90)
    body["CardPayment"].update(urn="URN-P1", cardholder="Jo Forgotten")
    return body


def _plant(data_dir: Path) -> None:
    """The person in two batches (two snapshots), exports, quarantine; others beside."""
    write_segment(data_dir, [_person(1), session_ended(2), card_payment(3)])
    run_batch(make_settings(data_dir))
    write_segment(data_dir, [_person(4), _payment(), session_ended(5)],
                  received_at=BASE_TIME + timedelta(hours=1))
    run_batch(make_settings(data_dir))
    export_date(make_settings(data_dir), DAY)
    layout = DataLayout(root=data_dir)
    leftover = layout.staging / "session_ended" / "date=2021-07-06"  # as a killed batch left
    leftover.mkdir(parents=True)
    for n, path in enumerate(sorted((data_dir / "lake").rglob("*.parquet"))):
        shutil.copy(path, leftover / f"chunk-{n}.parquet")
    quarantine.keep(layout, b'{"action": "SessionEnded", "session": {"cli": "07976-916443"',
                    reason="body is not valid JSON", source="127.0.0.1", origin="http")
    quarantine.keep(layout, b'{"action": "SessionEnded", "session": {"cli": "01412800275"',
                    reason="body is not valid JSON", source="127.0.0.1", origin="http")


def _found(data_dir: Path, traces: list[bytes]) -> list[str]:
    """Where any trace sits: raw bytes of every file, and the values of every Parquet file."""
    hits: list[str] = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        texts = [raw, raw.lower()]
        if path.suffix == ".parquet":
            texts.append(orjson.dumps(pq.read_table(path).to_pylist(), default=str).lower())
        hits += [f"{path.relative_to(data_dir)}: {t!r}" for t in traces
                 if any(t.lower() in text for text in texts[1:]) or t in raw]
    return hits


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    _plant(tmp_path)
    assert _found(tmp_path, TRACES), "the person was planted"
    return tmp_path


@pytest.mark.parametrize(("raw", "digits"), [
    pytest.param("07976 916443", "07976916443", id="spaces"),
    pytest.param("+44 (0)7976 916443", "07976916443", id="+44 (0)"),
    pytest.param("+447976916443", "07976916443", id="+44"),
    pytest.param("0044 7976-916443", "07976916443", id="0044 and a dash"),
    pytest.param("01412 800275", "01412800275", id="landline"),
])
def test_phone_numbers_are_compared_in_their_national_form(raw: str, digits: str) -> None:
    assert normalise_phone(raw) == digits == make_target("phone", raw).value


def test_dry_run_counts_every_place_and_erases_nothing(planted: Path) -> None:
    before = query(planted, "SELECT count(*) FROM session_ended")
    result = run_cli(planted, "forget", "--phone", "07976 916443", "--dry-run")
    assert result.returncode == 0, result.stderr
    counts = dict(line.split("\t") for line in result.stdout.splitlines())
    assert counts["session_ended"] == "2" and counts["session_recorddata"] == "2"
    assert counts["card_payment"] == "1" and counts["spool lines"] == "3"
    assert counts["quarantine files"] == "1"
    assert counts[f"exports {DAY}/session_ended"] == "2"
    assert query(planted, "SELECT count(*) FROM session_ended") == before


def test_forget_by_phone_leaves_no_trace_in_any_file_and_keeps_everyone_else(
        planted: Path) -> None:
    result = run_cli(planted, "forget", "--phone", "+44 (0)7976 916443")
    assert result.returncode == 0, result.stderr
    assert _found(planted, TRACES) == []
    assert sorted(query(planted, "SELECT urn FROM session_ended")) == [("urn-2",), ("urn-5",)]
    assert query(planted, "SELECT count(*) FROM card_payment") == [(1,)]
    assert query(planted, "SELECT count(*) FROM session_recorddata") == [(2,)]
    entry = read_manifest(DataLayout(root=planted))["dates"][DAY.isoformat()]
    assert entry["session_ended"]["rows"] == 2 and entry["card_payment"]["rows"] == 1
    assert len(list((planted / "quarantine").glob("*.body"))) == 1
    kind, counts = query(planted, "SELECT kind, counts FROM _erasures")[0]
    assert kind == "phone" and orjson.loads(counts)["session_ended"] == 2
    assert len(query(planted, "SELECT event_id FROM _erased_events")) == 3


def test_a_rebuild_after_forgetting_equals_the_warehouse_it_replaces(planted: Path) -> None:
    assert run_cli(planted, "forget", "--email", " JO.BLOGGS@example.com ").returncode == 0
    urns = sorted(query(planted, "SELECT urn FROM session_ended"))
    assert run_cli(planted, "rebuild", timeout=120).returncode == 0
    assert sorted(query(planted, "SELECT urn FROM session_ended")) == urns
    assert query(planted, "SELECT count(*) FROM session_recorddata") == [(2,)]


@pytest.mark.parametrize(("option", "value"), [
    pytest.param("--urn", "URN-P1", id="urn"),
    pytest.param("--field", "Address=1 Erased Lane", id="recorddata field"),
])
def test_forget_by_urn_or_field_removes_the_persons_sessions(planted: Path, option: str,
                                                               value: str) -> None:
    assert run_cli(planted, "forget", option, value).returncode == 0
    assert query(planted, "SELECT count(*) FROM session_ended WHERE urn = 'URN-P1'") == [(0,)]
    assert _found(planted, [b"1 Erased Lane", b"Jo Forgotten"]) == []


def test_a_bad_identifier_is_refused_with_its_flag(planted: Path) -> None:
    result = run_cli(planted, "forget", "--phone", "12-34")
    assert result.returncode != 0 and "--phone '12-34'" in result.stderr
    both = run_cli(planted, "forget", "--urn", "a", "--email", "b@c")
    assert both.returncode != 0 and "exactly one of" in both.stderr


def test_replaying_an_old_copy_of_the_archive_does_not_bring_the_person_back(
        planted: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    copy = tmp_path_factory.mktemp("old-archive")
    for path in (planted / "spool" / "archive").glob("*/*.jsonl"):
        shutil.copy(path, copy / path.name)
    assert run_cli(planted, "forget", "--phone", "07976916443").returncode == 0
    assert run_cli(planted, "replay", *map(str, sorted(copy.glob("*.jsonl")))).returncode == 0
    assert run_cli(planted, "batch").returncode == 0
    assert query(planted, "SELECT count(*) FROM session_ended WHERE urn = 'URN-P1'") == [(0,)]


def test_scrub_takes_replayed_lines_of_erased_events_out_of_the_archive(
        planted: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from ingest.replay import replay_files
    from warehouse.erasefiles import spool_segments
    from warehouse.forget import scrub_erased
    from warehouse.lakehouse import lake_config, open_lake
    from warehouse.locks import batch_lock

    copy = tmp_path_factory.mktemp("old-archive")
    for path in (planted / "spool" / "archive").glob("*/*.jsonl"):
        shutil.copy(path, copy / path.name)
    assert run_cli(planted, "forget", "--phone", "07976916443").returncode == 0
    settings = make_settings(planted)
    replay_files(settings, sorted(copy.glob("*.jsonl")), progress=False)
    run_batch(settings)
    layout = DataLayout(root=planted)
    assert _found(planted / "spool", TRACES)
    with batch_lock(layout, blocking=True), open_lake(lake_config(settings),
                                                      read_only=False) as con:
        assert scrub_erased(con, layout, spool_segments(layout)) == 3
    assert _found(planted / "spool", TRACES) == []
    assert query(planted, "SELECT count(*) FROM _erasures WHERE kind = 'scrub'") == [(1,)]
