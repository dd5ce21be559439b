"""`sql` and `status` print readable tables for people and exact CSV/JSON for programs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from warehouse_support import make_settings, session_ended, write_segment

from orchestration.batch import run_batch
from orchestration.cli import cli
from orchestration.output import print_result, print_status

QUERY = ("SELECT campaign, count(*) AS n, min(timestamplaunched) AS first FROM session_ended "
         "GROUP BY 1 ORDER BY 1")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("output")
    write_segment(path, [session_ended(1, campaign="Alpha"), session_ended(2, campaign="Alpha"),
                         session_ended(3, campaign="Beta, Ltd")])
    run_batch(make_settings(path))
    return path


def _run(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_sql_json_is_an_array_of_objects_with_iso_timestamps(data_dir: Path) -> None:
    rows = orjson.loads(_run(data_dir, "sql", QUERY, "--format", "json"))
    assert [r["campaign"] for r in rows] == ["Alpha", "Beta, Ltd"]
    assert rows[0]["n"] == 2
    assert datetime.fromisoformat(rows[0]["first"]) == datetime(2021, 7, 6, 9, 9, 7, 292425,
                                                                tzinfo=UTC)


def test_sql_csv_has_a_header_and_quotes_commas(data_dir: Path) -> None:
    lines = _run(data_dir, "sql", QUERY, "--format", "csv").splitlines()
    assert lines[0] == "campaign,n,first"
    assert lines[1].startswith("Alpha,2,2021-07-06")
    assert lines[2].startswith('"Beta, Ltd",1,')


def test_sql_table_shows_columns_values_and_row_count(data_dir: Path) -> None:
    out = _run(data_dir, "sql", QUERY)
    assert "campaign" in out and "Beta, Ltd" in out and "2 rows" in out


def test_sql_error_is_shown_and_exits_non_zero(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "sql", "SELECT * FROM nope"])
    assert result.exit_code == 1
    assert "nope" in result.output


def test_status_json_and_table(data_dir: Path) -> None:
    status = orjson.loads(_run(data_dir, "status", "--format", "json"))
    assert status["rows"]["session_ended"] == 3
    table = _run(data_dir, "status")
    assert "session_ended" in table and "rows" in table


@pytest.mark.parametrize(("value", "as_csv", "as_json"), [
    pytest.param(None, "", None, id="null is empty in csv, null in json"),
    pytest.param(date(2026, 11, 24), "2026-11-24", "2026-11-24", id="date is ISO"),
    pytest.param(datetime(2026, 7, 6, 9, 0, tzinfo=UTC), "2026-07-06T09:00:00+00:00",
                 "2026-07-06T09:00:00+00:00", id="timestamp is ISO with offset"),
    pytest.param(Decimal("1.50"), "1.5", 1.5, id="decimal is a number"),
    pytest.param(True, "True", True, id="boolean"),
    pytest.param([1, "a"], '"[1,""a""]"', [1, "a"], id="list is JSON, not Python repr"),
    pytest.param({"k": None}, '"{""k"":null}"', {"k": None},
                 id="struct or map is JSON, not Python repr"),
])
def test_values_are_written_plainly(capsys: pytest.CaptureFixture[str], value: Any,
                                    as_csv: str, as_json: Any) -> None:
    print_result(["k", "v"], [("x", value)], "csv")
    assert capsys.readouterr().out == f"k,v\nx,{as_csv}\n"
    print_result(["v"], [(value,)], "json")
    assert orjson.loads(capsys.readouterr().out) == [{"v": as_json}]


def test_unknown_format_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'; use one of table, csv"):
        print_result(["v"], [], "xml")


def test_status_sections_become_tables(capsys: pytest.CaptureFixture[str]) -> None:
    print_status({"data_dir": "/srv/x", "rows": {"session_ended": 5},
                  "spool": {"ready": {"segments": 3}},
                  "unknown_fields": [{"action": "QueueInfo", "field": "colour"}]}, "table")
    out = capsys.readouterr().out
    assert "/srv/x" in out and "session_ended" in out and "colour" in out
    assert "ready.segments" in out, "nested sections are flattened to dotted keys"


def test_json_columns_are_json_in_every_format(data_dir: Path) -> None:
    # issue #12: recorddata printed as Python repr in CSV
    query = ("SELECT recorddata, {'urn': urn} AS s, [urn] AS l FROM session_ended "
             "WHERE urn = 'urn-1'")
    csv_lines = _run(data_dir, "sql", query, "--format", "csv").splitlines()
    assert csv_lines[1] == '"{""URN"":""test-1""}","{""urn"":""urn-1""}","[""urn-1""]"'
    table = _run(data_dir, "sql", query)
    assert '{"URN":"test-1"}' in table and '{"urn":"urn-1"}' in table
    [row] = orjson.loads(_run(data_dir, "sql", query, "--format", "json"))
    assert row == {"recorddata": {"URN": "test-1"}, "s": {"urn": "urn-1"}, "l": ["urn-1"]}


def test_a_json_typed_text_is_embedded_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    print_result(["j", "v"], [('{"a": [1]}', '{"a": [1]}')], "json", ["JSON", "VARCHAR"])
    assert orjson.loads(capsys.readouterr().out) == [{"j": {"a": [1]}, "v": '{"a": [1]}'}]
