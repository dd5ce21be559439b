"""Masked exports (issue #13): export_mask hashes (keyed, so joins still work) or drops
columns and recorddata fields in the exports only, never in the warehouse."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from warehouse_support import (
    BASE_TIME,
    card_payment,
    make_settings,
    query,
    session_ended,
    write_segment,
)

from genius_wh.layout import DataLayout
from orchestration.nightly import export_date
from warehouse.export import export_path
from warehouse.exportfiles import ExportFilesError
from warehouse.privacy import keyed_hash, mask_recorddata_json

DAY = BASE_TIME.date()
EMAIL = "jo.bloggs@example.com"


def _plant(data_dir: Path) -> None:
    write_segment(data_dir, [
        session_ended(1, recorddata={"Tel": "07976000001", "E-mail": EMAIL, "Postcode": "G1"}),
        session_ended(2, recorddata=[{"key": "Tel", "value": "07976000002"},
                                     {"key": "E-mail", "value": EMAIL}]),
        card_payment(3)])


def _column(data_dir: Path, table: str, name: str) -> list[object]:
    path = export_path(DataLayout(root=data_dir), table, DAY)
    return pq.read_table(path).column(name).to_pylist()


def test_default_mask_hashes_cardholder_and_phone_numbers_with_a_private_key(
        tmp_path: Path) -> None:
    _plant(tmp_path)
    export_date(make_settings(tmp_path), DAY)
    key_file = tmp_path / ".export-mask-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes().strip()
    assert _column(tmp_path, "card_payment", "cardholder") == [keyed_hash(key, "J Bloggs")]
    assert _column(tmp_path, "session_ended", "telnumber") == [
        keyed_hash(key, "07970000001"), keyed_hash(key, "07970000002")]
    assert set(_column(tmp_path, "session_ended", "cli")) == {keyed_hash(key, "01412800275")}
    assert query(tmp_path, "SELECT cardholder FROM card_payment") == [("J Bloggs",)]
    assert sorted(query(tmp_path, "SELECT telnumber FROM session_ended")) == [
        ("07970000001",), ("07970000002",)]


def test_a_given_key_and_recorddata_rules_hash_and_drop_fields_everywhere_in_the_export(
        tmp_path: Path) -> None:
    _plant(tmp_path)
    settings = make_settings(tmp_path, export_mask_key="s3cret", export_mask=(
        "recorddata.tel:hash,recorddata.e_mail:drop,card_payment.cardholder:drop"))
    export_date(settings, DAY)
    assert not (tmp_path / ".export-mask-key").exists()
    assert _column(tmp_path, "session_recorddata", "tel") == [
        keyed_hash(b"s3cret", "07976000001"), keyed_hash(b"s3cret", "07976000002")]
    assert _column(tmp_path, "session_ended", "telnumber")[0] == "07970000001"  # not listed
    recorddata = [orjson.loads(t) for t in _column(tmp_path, "session_ended", "recorddata")]
    assert recorddata == [
        {"Tel": keyed_hash(b"s3cret", "07976000001"), "Postcode": "G1"},
        [{"key": "Tel", "value": keyed_hash(b"s3cret", "07976000002")}]]
    folder = tmp_path / "exports"
    for path in folder.rglob("*.parquet"):
        assert "e_mail" not in pq.read_schema(path).names and "cardholder" not in \
            pq.read_schema(path).names
        assert EMAIL.encode() not in path.read_bytes()
    assert query(tmp_path, "SELECT count(e_mail) FROM session_recorddata") == [(2,)]


def test_an_empty_mask_exports_everything_as_it_is(tmp_path: Path) -> None:
    _plant(tmp_path)
    export_date(make_settings(tmp_path, export_mask=""), DAY)
    assert _column(tmp_path, "card_payment", "cardholder") == ["J Bloggs"]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('{"Tel": "1", "x": 2}', '{"Tel":"H(1)","x":2}', id="object"),
    pytest.param('[["Tel", 5]]', '[["Tel","H(5)"]]', id="pairs as arrays"),
    pytest.param('[{"Field": "TEL", "Value": null}]', '[{"Field":"TEL","Value":null}]',
                 id="null stays null"),
    pytest.param('"{\\"Tel\\": \\"1\\"}"', '{"Tel":"H(1)"}', id="json text"),
    pytest.param('not json', 'null', id="unreadable is dropped"),
])
def test_recorddata_json_masking(text: str, expected: str) -> None:
    key = b"k"
    masked = mask_recorddata_json(text, key, {"tel": "hash"})
    for value in ("1", "5"):
        masked = masked.replace(keyed_hash(key, value), f"H({value})")
    assert masked == expected


def _another_group() -> grp.struct_group | None:
    """A group this process may give files to other than its own (any, as root)."""
    allowed = None if os.geteuid() == 0 else set(os.getgroups())
    return next((g for g in grp.getgrall() if g.gr_gid != os.getegid()
                 and (allowed is None or g.gr_gid in allowed)), None)


def test_export_group_lets_one_group_read_the_exports_and_nothing_else(tmp_path: Path) -> None:
    group = _another_group()
    if group is None:
        pytest.skip("no second group this user may give files to")
    _plant(tmp_path)
    export_date(make_settings(tmp_path, export_group=group.gr_name), DAY)
    layout = DataLayout(root=tmp_path)

    def mode_and_group(path: Path) -> tuple[int, int]:
        found = path.stat()
        return stat.S_IMODE(found.st_mode), found.st_gid

    assert mode_and_group(tmp_path) == (0o710, group.gr_gid)  # passable, not listable
    assert mode_and_group(layout.exports) == (0o2750, group.gr_gid)
    for path in layout.exports.rglob("*"):
        if path.name.startswith("."):
            continue  # the manifest's lock: only the writers use it
        expected = 0o2750 if path.is_dir() else 0o640
        assert mode_and_group(path) == (expected, group.gr_gid), path
    assert stat.S_IMODE(layout.spool_archive.stat().st_mode) == 0o700  # the rest stays private

    export_date(make_settings(tmp_path), DAY)  # the setting emptied: private again
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert stat.S_IMODE(layout.exports.stat().st_mode) == 0o700


def test_an_unknown_export_group_is_a_clear_error(tmp_path: Path) -> None:
    _plant(tmp_path)
    with pytest.raises(ExportFilesError, match="'no-such-group' is not a group"):
        export_date(make_settings(tmp_path, export_group="no-such-group"), DAY)
