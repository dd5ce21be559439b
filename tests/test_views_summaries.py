"""The summarised views (`v_agent_daily`, `v_campaign_daily`, `v_ofcom_compliance`) give
exactly the rows of their full-history definitions (`_v_<name>_live`) at every moment:
across batches and `maintain`, late events for a summarised day, forget, retention, a
change of the views' settings and rebuild (docs/parts/analytics.md, "Summaries")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pytest
from warehouse_support import make_settings, query

from genius_wh.settings import Settings
from ingest.replay import replay_files
from orchestration import batch
from orchestration.batch import run_batch
from orchestration.rebuild import rebuild
from orchestration.simulator import model_events
from warehouse import connect
from warehouse.forget import forget
from warehouse.forgetmatch import make_target
from warehouse.maintain import maintain
from warehouse.retention import apply_retention
from warehouse.summaries import weekly_spans
from warehouse.views import FigureSettings, summaries, tz_literal

SUMMARISED = ("agent_daily", "campaign_daily", "ofcom_compliance")
#: Friday 23 to Tuesday 27 October 2026 (the clocks go back on Sunday 25th), a fifth of
#: the simulator's events so that every batch takes a second or so.
DAYS = ("2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27")
LATE_DAY = "2026-10-24"


@pytest.fixture(scope="module")
def bodies() -> list[dict[str, Any]]:
    """Five days of simulated traffic, plus a state that runs across midnight."""
    simulated = model_events(count=30000, seed=5, tz=ZoneInfo("Europe/London"))[::5]
    return [*simulated, _activity("night1", 3, "2026-10-23T23:10:00+01:00"),
            _activity("night1", 6, "2026-10-24T00:20:00+01:00"),
            # across the midnight between two summary weeks (summaries.weekly_spans)
            _activity("night2", 3, "2026-10-25T23:30:00+00:00"),
            _activity("night2", 6, "2026-10-26T00:40:00+00:00")]


def _activity(agent: str, state: int, at: str) -> dict[str, Any]:
    return {"action": "AgentActivity", "timestamp": at, "agentactivity": {
        "campaign": "Night", "agent": agent, "agentstate": state, "previousstate": 0,
        "timestampcurrentstate": at, "timestamppreviousstate": None, "breakreason": 0}}


def _day(body: dict[str, Any]) -> str:
    return str(body["timestamp"])[:10]


def _is_late(body: dict[str, Any], n: int) -> bool:
    """Every tenth agent or session event of LATE_DAY arrives after it was summarised."""
    return (body.get("action") in ("AgentActivity", "SessionEnded")
            and _day(body) == LATE_DAY and n % 10 == 0)


def _load(settings: Settings, bodies: list[dict[str, Any]]) -> None:
    path = settings.data_dir.parent / f"events-{time.monotonic_ns()}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(body) + b"\n" for body in bodies))
    replay_files(settings, [path], progress=False)
    run_batch(settings)


def assert_views_equal_live(where: Path | Settings) -> None:
    """Each summarised view has the rows, all of them and no more, of its full definition."""
    with _connect(where) as con:
        for name in SUMMARISED:
            view = con.execute(f"SELECT * FROM v_{name} ORDER BY ALL").fetchall()
            assert view, name
            assert view == con.execute(f"SELECT * FROM _v_{name}_live ORDER BY ALL"
                                       ).fetchall(), name


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _connect(where: Path | Settings) -> duckdb.DuckDBPyConnection:
    return connect(settings=where) if isinstance(where, Settings) else connect(where)


def summarised_days(where: Path | Settings) -> dict[str, int]:
    """Days held in each summary table."""
    with _connect(where) as con:
        return {name: _one(con, f"SELECT count(DISTINCT local_day) FROM _sum_{name}")
                for name in SUMMARISED}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield make_settings(tmp_path / "data")


def test_views_equal_their_full_history_across_batches_and_maintain(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    first = [body for body in bodies if _day(body) <= DAYS[2]]
    _load(settings, first)
    assert_views_equal_live(settings.data_dir)
    maintain(settings)
    # calls settle once their day is over; agent time once the latest state change is a cap
    # past the day's end (an interval open at its end may run on until then)
    assert summarised_days(settings.data_dir) == {
        "agent_daily": 2, "campaign_daily": 3, "ofcom_compliance": 3}
    assert_views_equal_live(settings.data_dir)
    _load(settings, [body for body in bodies if _day(body) > DAYS[2]])
    assert_views_equal_live(settings.data_dir)
    maintain(settings)
    assert summarised_days(settings.data_dir) == {
        "agent_daily": 4, "campaign_daily": 5, "ofcom_compliance": 5}
    assert_views_equal_live(settings.data_dir)


def _load_late(settings: Settings, bodies: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Load the events on time, `maintain`, then the late ones (a summarised day's) in a
    batch of their own; the summaries' rows of that day from before the late batch."""
    late = [body for n, body in enumerate(bodies) if _is_late(body, n)]
    _load(settings, [body for n, body in enumerate(bodies) if not _is_late(body, n)])
    maintain(settings)
    stale = {name: query(settings.data_dir, f"SELECT * FROM _sum_{name} "
                         "WHERE local_day = ? ORDER BY ALL", [LATE_DAY]) for name in SUMMARISED}
    _load(settings, late)
    return stale


def test_late_events_for_a_summarised_day_are_counted_from_their_batch_on(
        settings: Settings, bodies: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the marks alone, committed with the rows, keep the views right: the batch's own
    # re-summarising of the dirty days (summarise_dirty) is left out here
    monkeypatch.setattr(batch, "summarise_dirty", lambda con, settings: None)
    stale = _load_late(settings, bodies)
    assert query(settings.data_dir, "SELECT count(*) FROM _summary_dirty")[0][0] > 0
    assert_views_equal_live(settings.data_dir)
    for name in SUMMARISED:  # the summary alone would be wrong for that day
        assert query(settings.data_dir, f"SELECT * FROM v_{name} WHERE local_day = ? "
                     "ORDER BY ALL", [LATE_DAY]) != stale[name], name
    maintain(settings)
    assert query(settings.data_dir, "SELECT count(*) FROM _summary_dirty") == [(0,)]
    assert_views_equal_live(settings.data_dir)


def test_the_batch_that_loads_late_events_summarises_their_day_again(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    stale = _load_late(settings, bodies)
    # no day is left to be computed live until the next maintain
    assert query(settings.data_dir, "SELECT count(*) FROM _summary_dirty") == [(0,)]
    for name in SUMMARISED:
        assert query(settings.data_dir, f"SELECT * FROM _sum_{name} WHERE local_day = ? "
                     "ORDER BY ALL", [LATE_DAY]) != stale[name], name
    assert_views_equal_live(settings.data_dir)


def test_forget_and_retention_change_summarised_days_at_once(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    _load(settings, [body for body in bodies if _day(body) <= DAYS[1]])
    between = datetime.now(UTC)
    _load(settings, [body for body in bodies if _day(body) > DAYS[1]])
    maintain(settings)
    [(phone,)] = query(settings.data_dir, "SELECT telnumber FROM v_sessions WHERE local_day = ?"
                       " AND is_abandoned AND calltype = 0 ORDER BY event_id LIMIT 1", [DAYS[3]])
    forget(settings, make_target("phone", phone))
    assert_views_equal_live(settings.data_dir)
    kept = make_settings(settings.data_dir, retention_days=30)
    report = apply_retention(kept, now=between + timedelta(days=30))
    assert report.rows["agent_activity"] > 0 and report.rows["session_ended"] > 0
    assert_views_equal_live(settings.data_dir)
    maintain(kept)
    assert_views_equal_live(settings.data_dir)


def test_views_never_read_a_summary_made_with_other_settings(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    _load(settings, [body for body in bodies if _day(body) != DAYS[-1]])
    maintain(settings)
    other = make_settings(settings.data_dir, timezone="America/New_York",
                          agent_state_cap_minutes=30, ofcom_calltypes=[0])
    maintain(other)  # another machine's settings: the views are still those of `settings`
    assert_views_equal_live(settings.data_dir)
    _load(other, [body for body in bodies if _day(body) == DAYS[-1]])  # applies its views
    assert summarised_days(settings.data_dir) == dict.fromkeys(SUMMARISED, 0)
    assert_views_equal_live(settings.data_dir)
    maintain(other)
    assert min(summarised_days(settings.data_dir).values()) > 0
    assert_views_equal_live(settings.data_dir)


def test_rebuild_gives_the_same_views_before_and_after_maintain(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    _load(settings, bodies)
    maintain(settings)
    before = {name: query(settings.data_dir, f"SELECT * FROM v_{name} ORDER BY ALL")
              for name in SUMMARISED}
    rebuild(settings, progress=False)
    assert summarised_days(settings.data_dir) == dict.fromkeys(SUMMARISED, 0)
    assert_views_equal_live(settings.data_dir)
    maintain(settings)
    assert min(summarised_days(settings.data_dir).values()) > 0
    assert {name: query(settings.data_dir, f"SELECT * FROM v_{name} ORDER BY ALL")
            for name in SUMMARISED} == before


def test_the_live_part_reads_only_the_rows_its_days_depend_on(
        settings: Settings, bodies: list[dict[str, Any]], tmp_path: Path) -> None:
    """After `maintain`, `v_agent_daily` scans agent_activity's entries only from the
    last day and the cap before it, not the whole history (the cost of the view follows
    what is live, not how much is loaded)."""
    _load(settings, bodies)
    maintain(settings)
    assert summarised_days(settings.data_dir)["agent_daily"] == 4
    profile = tmp_path / "profile.json"
    with connect(settings.data_dir) as con:
        total = _one(con, "SELECT count(*) FROM agent_activity")
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{profile}'")
        con.execute("SELECT * FROM v_agent_daily").fetchall()
        con.execute("PRAGMA disable_profiling")
    scans = []
    nodes = [orjson.loads(profile.read_bytes())]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("children", []))
        info = node.get("extra_info", {})
        if info.get("Table") == "agent_activity" and "event_id" in info.get("Projections", []):
            scans.append(int(node["operator_cardinality"]))
    assert len(scans) == 2, scans  # the entries of the current and of the previous state
    assert all(0 < rows < total / 2 for rows in scans), (scans, total)


def test_a_first_summary_is_computed_a_week_at_a_time(
        settings: Settings, bodies: list[dict[str, Any]]) -> None:
    """Spans end with each local week (Monday to Sunday) that has rows and together cover
    every day: 23-25 October (Friday to Sunday) then 26-27 (Monday, Tuesday); fewer than
    seven days are one span."""
    _load(settings, bodies)
    summary = summaries(FigureSettings(tz="Europe/London"))["agent_daily"]
    last = datetime(2026, 10, 27, tzinfo=UTC).date()
    with connect(settings.data_dir) as con:
        spans = weekly_spans(con, summary, tz_literal("Europe/London"), None, last)
        later = weekly_spans(con, summary, tz_literal("Europe/London"),
                             datetime(2026, 10, 19, tzinfo=UTC).date(), last)
        short = weekly_spans(con, summary, tz_literal("Europe/London"),
                             datetime(2026, 10, 24, tzinfo=UTC).date(), last)
        empty = weekly_spans(con, summary, tz_literal("Europe/London"),
                             datetime(2027, 1, 1, tzinfo=UTC).date(),
                             datetime(2027, 1, 31, tzinfo=UTC).date())
    monday = datetime(2026, 10, 26, tzinfo=UTC).date()
    sunday = monday - timedelta(days=1)
    assert spans == [(None, sunday), (monday, last)]
    assert later == [(datetime(2026, 10, 19, tzinfo=UTC).date(), sunday), (monday, last)]
    assert short == [(datetime(2026, 10, 24, tzinfo=UTC).date(), last)]  # under a week: one
    assert empty == [(datetime(2027, 1, 1, tzinfo=UTC).date(),
                      datetime(2027, 1, 31, tzinfo=UTC).date())]
