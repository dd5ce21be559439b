"""The user's disposition list: loaded from CSV in one transaction under the batch lock,
joined by the views, refused with one clear line when the file is wrong (issue #10 point 4)."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from warehouse_support import make_settings, query, session_ended, write_segment

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from orchestration.cli import cli
from warehouse.dispositions import (
    Disposition,
    DispositionsInvalid,
    load_dispositions,
    parse_dispositions,
)
from warehouse.locks import batch_lock

LIST = """code,name,outcome_group,is_positive
1,Sale,sale,true
2,No interest,no_sale,false
3,Callback,callback,
"""
DAY = date(2021, 7, 6)


def _invoke(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), "dispositions", *args])


def _calls(start: int, calls: list[tuple[str, str, str, int]]) -> list[dict[str, object]]:
    """SessionEnded of connected preview calls: (agent, urn, launch hh:mm, agentresult)."""
    return [session_ended(start + n, agent=agent, urn=urn, agentresult=result,
                          timestamplaunched=f"2021-07-06T{hhmm}:00+01:00",
                          timestampconnected=f"2021-07-06T{hhmm}:05+01:00")
            for n, (agent, urn, hhmm, result) in enumerate(calls)]


@pytest.fixture
def centre(tmp_path: Path) -> Path:
    """A warehouse with six calls of two agents, the list loaded after the first batch and
    one more call loaded after it."""
    write_segment(tmp_path, _calls(0, [("A", "U1", "10:00", 2), ("A", "U2", "10:30", 1),
                                       ("A", "U3", "11:30", 99), ("B", "U4", "10:00", 2),
                                       ("B", "U5", "12:00", 3)]))
    run_batch(make_settings(tmp_path))
    path = tmp_path / "dispositions.csv"
    path.write_text(LIST)
    result = _invoke(tmp_path, "load", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"3 dispositions loaded from {path}\n"
    write_segment(tmp_path, _calls(10, [("A", "U1", "11:00", 1)]))  # U1's second attempt
    run_batch(make_settings(tmp_path))
    return tmp_path


def test_agent_outcomes_count_each_group_and_unknown_codes_as_null(centre: Path) -> None:
    got = query(centre, "SELECT agent, local_day, outcome_group, results, positive_results, "
                "unknown_results, codes, share FROM v_agent_outcomes "
                "ORDER BY agent, outcome_group NULLS FIRST")
    # A: results 2, 1, 99, 1 -> sale 2 (positive), no_sale 1, code 99 not in the list 1;
    # B: 2, 3 -> no_sale 1, callback 1
    assert got == [("A", DAY, None, 1, 0, 1, 1, 0.25), ("A", DAY, "no_sale", 1, 0, 0, 1, 0.25),
                   ("A", DAY, "sale", 2, 2, 0, 1, 0.5),
                   ("B", DAY, "callback", 1, 0, 0, 1, 0.5), ("B", DAY, "no_sale", 1, 0, 0, 1, 0.5)]


def test_campaign_outcomes_add_up_the_agents(centre: Path) -> None:
    got = query(centre, "SELECT campaign, outcome_group, results, positive_results, share "
                "FROM v_campaign_outcomes ORDER BY outcome_group NULLS FIRST")
    assert got == [("Outbound_Test", None, 1, 0, 0.1667),
                   ("Outbound_Test", "callback", 1, 0, 0.1667),
                   ("Outbound_Test", "no_sale", 2, 0, 0.3333),
                   ("Outbound_Test", "sale", 2, 2, 0.3333)]


def test_scorecard_names_the_results_and_counts_positive_ones(centre: Path) -> None:
    got = query(centre, "SELECT agent, calls_handled, agent_results, agent_result_names, "
                "outcome_groups, positive_results, unknown_results, positive_rate "
                "FROM v_agent_scorecard ORDER BY agent")
    assert got == [
        ("A", 4, {1: 2, 2: 1, 99: 1}, {"No interest": 1, "Sale": 2}, {"no_sale": 1, "sale": 2},
         2, 1, 0.5),
        ("B", 2, {2: 1, 3: 1}, {"Callback": 1, "No interest": 1},
         {"callback": 1, "no_sale": 1}, 0, 0, 0.0),
    ]


def test_urn_attempts_name_the_last_result(centre: Path) -> None:
    got = query(centre, "SELECT urn, attempts, last_agentresult, last_agentresult_name, "
                "last_outcome_group FROM v_urn_attempts WHERE urn IN ('U1', 'U3') ORDER BY urn")
    # U1: No interest at 10:00, then a sale at 11:00; U3's code 99 is not in the list
    assert got == [("U1", 2, 1, "Sale", "sale"), ("U3", 1, 99, None, None)]


def test_a_new_list_replaces_the_whole_old_one(centre: Path) -> None:
    path = centre / "new.csv"
    path.write_text("Outcome_Group,CODE,Name\nsold,1,Sold\n")  # any order, any case
    assert _invoke(centre, "load", str(path)).exit_code == 0
    shown = _invoke(centre, "show", "--format", "csv")
    assert shown.stdout == "code,name,outcome_group,is_positive\n1,Sold,sold,False\n"
    assert query(centre, "SELECT count(*) FROM v_agent_outcomes WHERE outcome_group IS NULL "
                 "AND agent = 'A'") == [(1,)]  # code 2 and 99 are both unknown now
    assert query(centre, "SELECT results FROM v_agent_outcomes WHERE outcome_group IS NULL "
                 "AND agent = 'A'") == [(2,)]


def test_show_prints_what_load_takes_back(centre: Path) -> None:
    shown = _invoke(centre, "show", "--format", "csv")
    assert shown.exit_code == 0
    assert parse_dispositions(shown.stdout, "shown") == parse_dispositions(LIST, "list")


def test_a_bad_file_is_refused_in_one_line_and_the_old_list_stays(centre: Path) -> None:
    path = centre / "bad.csv"
    path.write_text("code,name,outcome_group\n1,Sale,sale\nten,Ten,sale\n")
    result = _invoke(centre, "load", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr == f"Error: {path} line 3: code 'ten' is not a whole number\n"
    assert query(centre, "SELECT count(*) FROM _dispositions") == [(3,)]


def test_a_load_before_any_warehouse_says_to_run_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(LIST)
    result = _invoke(tmp_path / "data", "load", str(path))
    assert result.exit_code == 1
    assert "no warehouse at" in result.stderr and "run `genius-wh batch`" in result.stderr


def test_a_load_waits_for_the_batch_lock(centre: Path) -> None:
    path = centre / "list.csv"
    path.write_text("code,name,outcome_group\n7,Seven,other\n")
    done: list[int] = []
    with batch_lock(DataLayout(root=centre)) as held:
        assert held
        loader = threading.Thread(
            target=lambda: done.append(load_dispositions(make_settings(centre), path)))
        loader.start()
        time.sleep(0.5)
        assert done == [], "the load must wait while a batch holds the lock"
    loader.join(timeout=30)
    assert done == [1]
    assert query(centre, "SELECT code, name FROM _dispositions") == [(7, "Seven")]


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("", "f.csv is empty: the first line must name the columns "
                 "code,name,outcome_group[,is_positive]", id="empty file"),
    pytest.param("code,name\n1,Sale\n", "f.csv: the header has no outcome_group column",
                 id="missing column"),
    pytest.param("code,name,group\n", "f.csv: unknown column 'group' in the header",
                 id="misspelt column"),
    pytest.param("code,name,outcome_group,code\n", "f.csv: column 'code' is in the header twice",
                 id="column twice"),
    pytest.param("code,name,outcome_group\n", "f.csv has a header but no dispositions",
                 id="header only"),
    pytest.param("code,name,outcome_group\n1,Sale\n",
                 "f.csv line 2: 2 fields where the header has 3", id="short row"),
    pytest.param("code,name,outcome_group\n1.5,Sale,sale\n",
                 "f.csv line 2: code '1.5' is not a whole number", id="code not whole"),
    pytest.param("code,name,outcome_group\n9999999999,Sale,sale\n",
                 "f.csv line 2: code 9999999999 is out of range", id="code too big"),
    pytest.param("code,name,outcome_group\n1, ,sale\n", "f.csv line 2: name is empty (code 1)",
                 id="empty name"),
    pytest.param("code,name,outcome_group\n1,Sale,\n",
                 "f.csv line 2: outcome_group is empty (code 1)", id="empty group"),
    pytest.param("code,name,outcome_group,is_positive\n1,Sale,sale,maybe\n",
                 "f.csv line 2: is_positive 'maybe' is not true or false", id="bad flag"),
    pytest.param("code,name,outcome_group\n1,Sale,sale\n\n1,Sold,sale\n",
                 "f.csv line 4: code 1 is given twice (first on line 2)", id="code twice"),
])
def test_a_bad_list_is_refused_naming_the_line_and_value(text: str, message: str) -> None:
    with pytest.raises(DispositionsInvalid) as caught:
        parse_dispositions(text, "f.csv")
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("\ufeffcode,name,outcome_group\n1,Sale,sale\n",
                 [Disposition(code=1, name="Sale", outcome_group="sale")],
                 id="byte-order mark of Excel's CSV UTF-8"),
    pytest.param("code,name,outcome_group,is_positive\n 5 , Sale ,sale,YES\n6,No,no,n\n",
                 [Disposition(code=5, name="Sale", outcome_group="sale", is_positive=True),
                  Disposition(code=6, name="No", outcome_group="no")],
                 id="spaces trimmed and yes/no flags"),
    pytest.param('code,name,outcome_group\n\n-1,"Sale, upgraded",sale\n\n',
                 [Disposition(code=-1, name="Sale, upgraded", outcome_group="sale")],
                 id="quoted comma, blank lines, negative code"),
])
def test_a_good_list_is_read(text: str, expected: list[Disposition]) -> None:
    assert parse_dispositions(text, "f.csv") == expected


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("code,name,outcome_group\n1,Réussi,sale\n".encode("latin-1"))
    result = _invoke(tmp_path, "load", str(path))
    assert result.exit_code == 1
    assert f"{path} is not UTF-8 text" in result.stderr


def test_show_without_a_list_says_how_to_load_one(tmp_path: Path) -> None:
    write_segment(tmp_path, _calls(0, [("A", "U1", "10:00", 2)]))
    run_batch(make_settings(tmp_path))
    shown = _invoke(tmp_path, "show", "--format", "json")
    assert shown.exit_code == 0 and shown.stdout.strip() == "[]"
    assert "no dispositions loaded: genius-wh dispositions load FILE.csv" in shown.stderr


def test_a_rebuild_keeps_the_list(centre: Path) -> None:
    before = query(centre, "SELECT * FROM v_agent_outcomes ORDER BY ALL")
    result = CliRunner().invoke(cli, ["--data-dir", str(centre), "rebuild"])
    assert result.exit_code == 0, result.output
    shown = _invoke(centre, "show", "--format", "csv")
    assert parse_dispositions(shown.stdout, "shown") == parse_dispositions(LIST, "list")
    assert query(centre, "SELECT * FROM v_agent_outcomes ORDER BY ALL") == before
