"""No event can stop loading (#9): spool lines the rules cannot take are quarantined on their
own, with the reason, and the rest of their chunk loads; bounds hold for old spool lines too;
thousands of new recorddata columns in one chunk load."""

from __future__ import annotations

from pathlib import Path

from warehouse_support import make_settings, mixed_bodies, query, session_ended, write_segment

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from warehouse.status import collect_status


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


def test_poison_lines_are_quarantined_alone_and_the_rest_loads(tmp_path: Path) -> None:
    poison = [
        session_ended(1, recorddata="[" * 300 + "]" * 300),  # recorddata as deep JSON text
        session_ended(2, recorddata={"a": _deep(200)}),  # a deep object
        session_ended(3, recorddata={f"f{n}": n for n in range(2_500)}),  # too many fields
    ]
    write_segment(tmp_path, [*mixed_bodies(8), *poison, *mixed_bodies(8, start=100)])
    report = run_batch(make_settings(tmp_path))
    assert (report.events, report.quarantined) == (16, 3)
    assert query(tmp_path, "SELECT count(*) FROM session_ended") == [(4,)]
    reasons = [r for (r,) in query(tmp_path, "SELECT reason FROM _quarantine ORDER BY line")]
    assert [r.split(":")[0] for r in reasons] == ["BadBody"] * 3
    assert "max_json_depth" in reasons[0] and "max_json_depth" in reasons[1]
    assert "max_recorddata_fields" in reasons[2]
    kept = sorted((DataLayout(root=tmp_path).quarantine / "spool").glob("*.bad"))
    assert len(kept) == 3
    assert collect_status(make_settings(tmp_path))["quarantined_lines"] == 3
    write_segment(tmp_path, mixed_bodies(4, start=200))  # and later batches go on
    assert run_batch(make_settings(tmp_path)).events == 4


def test_two_thousand_new_recorddata_fields_in_one_chunk_load(tmp_path: Path) -> None:
    bodies = [session_ended(n, recorddata={f"field {n} {k}": k for k in range(400)})
              for n in range(5)]
    write_segment(tmp_path, bodies)
    report = run_batch(make_settings(tmp_path))
    assert report.rows_loaded["session_recorddata"] == 5
    assert query(tmp_path, "SELECT count(*) FROM recorddata_fields") == [(2_000,)]
    assert query(tmp_path, "SELECT count(field_4_399) FROM session_recorddata") == [(1,)]


def test_hundreds_of_new_fields_load_beside_rows_already_there(tmp_path: Path) -> None:
    # a first chunk creates the columns at once; later, with rows in the table, hundreds of
    # new ones go through ADD COLUMN in commits ahead of the chunk's rows
    write_segment(tmp_path, [session_ended(1, recorddata={"postcode": "G1 1AA"})])
    run_batch(make_settings(tmp_path))
    write_segment(tmp_path, [session_ended(n, recorddata={f"extra {n} {k}": k for k in range(150)})
                             for n in (2, 3)])
    report = run_batch(make_settings(tmp_path))
    assert report.rows_loaded["session_recorddata"] == 2
    assert query(tmp_path, "SELECT count(*) FROM recorddata_fields") == [(301,)]
    assert query(tmp_path, "SELECT postcode, extra_3_149 FROM session_recorddata "
                 "ORDER BY postcode NULLS LAST, extra_3_149 NULLS LAST") == [
        ("G1 1AA", None), (None, 149), (None, None)]
