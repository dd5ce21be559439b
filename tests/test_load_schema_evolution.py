"""Recorddata columns evolve by explicit diff, only widening, across batches (CONTRACT 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_support import make_settings, query, session_ended, write_segment

from orchestration.batch import run_batch
from warehouse.evolve import ColumnChange, change_sql, plan_columns


@pytest.mark.parametrize(("current", "needed", "expected"), [
    pytest.param({}, {"postcode": "VARCHAR"}, [("postcode", None, "VARCHAR")], id="new column"),
    pytest.param({}, {"round": "NULL"}, [("round", None, "NULL")], id="only nulls seen"),
    pytest.param({"n": "BIGINT"}, {"n": "BIGINT"}, [], id="same type: nothing"),
    pytest.param({"n": "BIGINT"}, {"n": "BOOLEAN"}, [], id="never narrows"),
    pytest.param({"n": "BIGINT"}, {"n": "NULL"}, [], id="nulls never narrow"),
    pytest.param({"n": "BOOLEAN"}, {"n": "BIGINT"}, [("n", "BOOLEAN", "BIGINT")],
                 id="boolean to bigint"),
    pytest.param({"n": "BIGINT"}, {"n": "VARCHAR"}, [("n", "BIGINT", "VARCHAR")],
                 id="number then string"),
    pytest.param({"j": "JSON"}, {"j": "BIGINT"}, [("j", "JSON", "VARCHAR")],
                 id="json and scalar meet in varchar"),
    pytest.param({"j": "NULL"}, {"j": "JSON"}, [("j", "NULL", "JSON")],
                 id="null-only column becomes json"),
])
def test_plan_columns_only_adds_and_widens(current: dict[str, str], needed: dict[str, str],
                                            expected: list[tuple[str, str | None, str]]) -> None:
    changes = plan_columns(current, needed)
    assert [(c.column, c.old_value_type, c.new_value_type) for c in changes] == expected


_T = 'ALTER TABLE "session_recorddata"'


@pytest.mark.parametrize(("change", "sql"), [
    pytest.param(ColumnChange(column="Post Code", old_value_type=None, new_value_type="NULL"),
                 [f'{_T} ADD COLUMN "Post Code" BOOLEAN'],
                 id="null-only column is added as boolean"),
    pytest.param(ColumnChange(column="n", old_value_type="BOOLEAN", new_value_type="BIGINT"),
                 [f'{_T} ALTER COLUMN "n" TYPE BIGINT'], id="ducklake promotes in place"),
    pytest.param(ColumnChange(column="n", old_value_type="NULL", new_value_type="BOOLEAN"),
                 [], id="null to boolean needs no alter"),
    pytest.param(ColumnChange(column="n", old_value_type="NULL", new_value_type="VARCHAR"),
                 [f'{_T} DROP COLUMN "n"', f'{_T} ADD COLUMN "n" VARCHAR'],
                 id="a null-only column is simply replaced"),
    pytest.param(ColumnChange(column="n", old_value_type="DOUBLE", new_value_type="VARCHAR"),
                 [f'{_T} ADD COLUMN "n__widened" VARCHAR',
                  'UPDATE "session_recorddata" SET "n__widened" = CAST(CAST("n" AS VARCHAR) AS '
                  'VARCHAR)',
                  f'{_T} DROP COLUMN "n"', f'{_T} RENAME COLUMN "n__widened" TO "n"'],
                 id="to text through a new column, as ducklake refuses it in place"),
])
def test_change_sql_adds_and_widens_the_ducklake_way(change: ColumnChange,
                                                     sql: list[str]) -> None:
    assert change_sql(change) == sql


def test_type_widening_across_batches_keeps_earlier_rows(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"Balance": True, "Tel1": "0797"})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(2, recorddata={"Balance": 42})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(3, recorddata={"Balance": 2.5})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(4, recorddata={"Balance": "unknown"})])
    run_batch(settings)
    rows = query(tmp_path, "SELECT s.urn, r.balance, r.tel1 FROM session_ended s "
                           "JOIN session_recorddata r USING (event_id) ORDER BY s.urn")
    assert rows == [("urn-1", "1.0", "0797"), ("urn-2", "42.0", None),
                    ("urn-3", "2.5", None), ("urn-4", "unknown", None)]
    assert query(tmp_path, "SELECT column_type FROM recorddata_fields WHERE field = 'Balance'"
                 ) == [("VARCHAR",)]


def test_json_column_widened_to_varchar_keeps_the_text(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"Extra": {"a": [1, 2]}})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(2, recorddata={"Extra": 7})])
    run_batch(settings)
    assert query(tmp_path, "SELECT extra FROM session_recorddata ORDER BY extra") == [
        ('7',), ('{"a":[1,2]}',)]


def test_new_recorddata_field_adds_column_without_manual_step(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"Tel1": "07976916443"})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(2, recorddata={"Postcode": "G1 1AA"})])
    run_batch(settings)
    assert query(tmp_path, "SELECT postcode, count(*) FROM session_recorddata GROUP BY 1 "
                           "ORDER BY 1 NULLS LAST") == [("G1 1AA", 1), (None, 1)]
    assert query(tmp_path, "SELECT tel1 FROM session_recorddata WHERE tel1 IS NOT NULL"
                 ) == [("07976916443",)]


def test_null_only_field_is_boolean_then_takes_json(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"Agreement": None})])
    run_batch(settings)
    assert query(tmp_path, "SELECT data_type FROM information_schema.columns WHERE "
                           "table_name = 'session_recorddata' AND column_name = 'agreement'"
                 ) == [("BOOLEAN",)]
    write_segment(tmp_path, [session_ended(2, recorddata={"Agreement": {"id": 9}})])
    run_batch(settings)
    assert query(tmp_path, "SELECT data_type FROM information_schema.columns WHERE "
                           "table_name = 'session_recorddata' AND column_name = 'agreement'"
                 ) == [("JSON",)]


def test_case_colliding_field_names_share_one_column(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"Post Code": "A1"}),
                             session_ended(2, recorddata={"post_code": "B2"})])
    run_batch(settings)
    write_segment(tmp_path, [session_ended(3, recorddata={"POST-CODE": 5})])
    run_batch(settings)
    assert query(tmp_path, "SELECT post_code FROM session_recorddata ORDER BY 1") == [
        ("5",), ("A1",), ("B2",)]
    assert query(tmp_path, "SELECT field, column_name, column_type FROM recorddata_fields "
                           "ORDER BY field") == [
        ("POST-CODE", "post_code", "VARCHAR"), ("Post Code", "post_code", "VARCHAR"),
        ("post_code", "post_code", "VARCHAR")]


def test_session_flat_prefixes_clashing_recorddata_columns(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, [session_ended(1, recorddata={"URN": "rd-1", "Agent": "x",
                                                          "Postcode": "G1"})])
    run_batch(settings)
    assert query(tmp_path, "SELECT urn, rd_urn, agent, rd_agent, postcode FROM session_flat"
                 ) == [("urn-1", "rd-1", "agent1", "x", "G1")]


def test_hundreds_of_fields_per_campaign_and_thousands_overall(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    for campaign in range(4):
        bodies = [session_ended(campaign * 10 + n, campaign=f"c{campaign}", recorddata={
            f"c{campaign}_field_{i}": i + n for i in range(300)}) for n in range(3)]
        write_segment(tmp_path, bodies)
        run_batch(settings)
    assert query(tmp_path, "SELECT count(*) FROM recorddata_fields") == [(1200,)]
    assert query(tmp_path, "SELECT c3_field_299 FROM session_flat WHERE campaign = 'c3' "
                           "ORDER BY 1") == [(299,), (300,), (301,)]
