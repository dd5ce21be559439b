"""v_ofcom_compliance and v_ofcom_abandoned give Ofcom's abandoned-call rate (CONTRACT section 8)
worked out by hand: the rolling 24 hours at every counted call, the 2-second rule, the call
types, the AMD estimate and the limit (issue #10)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest
from views_support import contract_tables, insert, rows, with_views


def _call(campaign: str, at: datetime, result: int, *, calltype: int = 0,
          ring: float | None = None, connected: datetime | None = None) -> dict[str, Any]:
    return {"campaign": campaign, "calltype": calltype, "timestamplaunched": at,
            "diallerresult": result, "ringtime": ring,
            "timestampconnected": connected if connected else
            (at + timedelta(seconds=10) if result == 10 else None)}


def _calls(n: int, campaign: str, at: datetime, result: int, **kw: Any) -> list[dict[str, Any]]:
    return [_call(campaign, at, result, **kw) for _ in range(n)]


def _warehouse(calls: list[dict[str, Any]], **settings: Any) -> duckdb.DuckDBPyConnection:
    con = contract_tables()
    insert(con, "session_ended", calls)
    return with_views(con, **settings)


DAY1_17 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
DAY2_08 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
DAY2_0820 = datetime(2026, 3, 3, 8, 20, tzinfo=UTC)

#: The issue's case: 100 connects on day 1 at 17:00Z; on day 2 four abandons at 08:00Z, then
#: 50 connects at 08:20Z (March, so London local time is UTC).
ISSUE_CASE = (_calls(100, "Sales", DAY1_17, 10) + _calls(4, "Sales", DAY2_08, 7)
              + _calls(50, "Sales", DAY2_0820, 10))


def test_worst_window_is_taken_at_the_fourth_abandon_not_at_an_hour_mark() -> None:
    with _warehouse(ISSUE_CASE) as con:
        got = rows(con, "SELECT scope, campaign, local_day, worst_rate_24h, worst_window_end, "
                   "abandoned_24h, live_24h, over_limit FROM v_ofcom_compliance "
                   "ORDER BY scope, local_day")
    assert got == [
        # day 1: 100 connects, nothing abandoned
        ("campaign", "Sales", date(2026, 3, 2), 0.0, DAY1_17, 0.0, 100.0, False),
        # day 2 at 08:00Z: the 24 hours since 08:00Z on day 1 hold 100 connects and 4 abandons:
        # 4 / 104 = 3.85 %, over 3 % (at 08:20Z it is 4 / 154 = 2.6 %)
        ("campaign", "Sales", date(2026, 3, 3), pytest.approx(4 / 104), DAY2_08, 4.0, 104.0,
         True),
        # the whole centre is this one campaign
        ("centre", None, date(2026, 3, 2), 0.0, DAY1_17, 0.0, 100.0, False),
        ("centre", None, date(2026, 3, 3), pytest.approx(4 / 104), DAY2_08, 4.0, 104.0, True),
    ]


def test_rolling_rate_is_evaluated_at_every_counted_call() -> None:
    with _warehouse(ISSUE_CASE) as con:
        got = rows(con, "SELECT window_end, abandoned_24h, live_24h, abandon_rate, "
                   "over_limit FROM v_ofcom_abandoned WHERE scope = 'campaign' ORDER BY 1")
    # 17:00Z: 0/100; 08:00Z: 4/104 = 0.0385; 08:20Z: 4/154 = 0.026
    assert got == [(DAY1_17, 0.0, 100.0, 0.0, False), (DAY2_08, 4.0, 104.0, 0.0385, True),
                   (DAY2_0820, 4.0, 154.0, 0.026, False)]


def test_a_call_just_over_24_hours_old_leaves_the_window() -> None:
    # 1 abandon at 09:00Z on day 1, 30 connects at 09:00Z on day 1, then 1 connect at 09:00:01Z
    # on day 2: the day-1 calls are 24 h 1 s old, so the window holds 0 abandoned of 1 live
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    calls = (_calls(1, "Sales", start, 7) + _calls(30, "Sales", start, 10)
             + _calls(1, "Sales", start + timedelta(days=1, seconds=1), 10))
    with _warehouse(calls) as con:
        got = rows(con, "SELECT local_day, worst_rate_24h, abandoned_24h, live_24h "
                   "FROM v_ofcom_compliance WHERE scope = 'campaign' ORDER BY 1")
    # day 1: 1 / 31 = 0.0323
    assert got == [(date(2026, 3, 2), pytest.approx(1 / 31), 1.0, 31.0),
                   (date(2026, 3, 3), 0.0, 0.0, 1.0)]


def test_a_call_exactly_24_hours_old_is_still_in_the_window() -> None:
    # 1 abandon at 09:00Z on day 1, 1 connect at 09:00Z on day 2: both ends count, 1 / 2
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    calls = _calls(1, "Sales", start, 7) + _calls(1, "Sales", start + timedelta(days=1), 10)
    with _warehouse(calls) as con:
        got = rows(con, "SELECT local_day, worst_rate_24h, live_24h FROM v_ofcom_compliance "
                   "WHERE scope = 'campaign' ORDER BY 1")
    assert got == [(date(2026, 3, 2), 1.0, 1.0), (date(2026, 3, 3), 0.5, 2.0)]


def test_agent_on_the_line_3_seconds_after_the_answer_is_an_abandoned_call() -> None:
    # launched 10:05:00, rang 8 s (answered 10:05:08), agent connected 10:05:11: 3 s > 2 s.
    # Another connect whose agent came on 2 s after the answer is within the rule.
    launched = datetime(2026, 7, 6, 9, 5, tzinfo=UTC)
    calls = [_call("Sales", launched, 10, ring=8, connected=launched + timedelta(seconds=11)),
             _call("Sales", launched, 10, ring=8, connected=launched + timedelta(seconds=10))]
    with _warehouse(calls) as con:
        got = rows(con, "SELECT worst_rate_24h, abandoned_24h, live_24h, late_connects_24h, "
                   "connected_24h, over_limit FROM v_ofcom_compliance "
                   "WHERE scope = 'campaign'")
        daily = rows(con, "SELECT late_connects, abandoned FROM v_campaign_daily")
    # 1 abandoned (the late one) of 2 live calls
    assert got == [(0.5, 1.0, 2.0, 1, 1, True)]
    # v_campaign_daily keeps dialler abandons (result 7) and counts late connects apart
    assert daily == [(1, 0)]


def test_only_the_configured_call_types_are_counted() -> None:
    at = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    calls = (_calls(1, "Sales", at, 7) + _calls(9, "Sales", at, 10)
             + _calls(10, "Sales", at, 10, calltype=3)   # preview: an agent is always there
             + _calls(10, "Sales", at, 10, calltype=9)   # manual
             + _calls(5, "Sales", at, 10, calltype=50))  # SMS
    with _warehouse(calls) as con:
        default = rows(con, "SELECT worst_rate_24h, live_24h FROM v_ofcom_compliance "
                       "WHERE scope = 'campaign'")
    with _warehouse(calls, ofcom_calltypes=(0, 3, 4)) as con:
        with_preview = rows(con, "SELECT worst_rate_24h, live_24h FROM v_ofcom_compliance "
                            "WHERE scope = 'campaign'")
    # predictive only: 1 / (1 + 9) = 0.1; with preview: 1 / (1 + 9 + 10) = 0.05
    assert default == [(0.1, 10.0)]
    assert with_preview == [(0.05, 20.0)]


def test_amd_false_positive_estimate_is_added_to_abandoned_and_live() -> None:
    at = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    calls = _calls(2, "Sales", at, 7) + _calls(98, "Sales", at, 10)
    with _warehouse(calls, amd_false_positive_rate=0.01) as con:
        got = rows(con, "SELECT amd_estimate_24h, abandoned_24h, live_24h, worst_rate_24h, "
                   "over_limit FROM v_ofcom_compliance WHERE scope = 'campaign'")
    # estimate 0.01 x 98 connects = 0.98; (2 + 0.98) / (100 + 0.98) = 2.98 / 100.98 = 2.95 %
    assert got == [(pytest.approx(0.98), pytest.approx(2.98), pytest.approx(100.98),
                    pytest.approx(2.98 / 100.98), False)]


def test_limit_is_a_setting_and_the_rate_must_exceed_it() -> None:
    at = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    calls = _calls(3, "Sales", at, 7) + _calls(97, "Sales", at, 10)  # exactly 3 %
    with _warehouse(calls) as con:
        at_limit = rows(con, "SELECT over_limit, ofcom_limit FROM v_ofcom_compliance "
                        "WHERE scope = 'campaign'")
    with _warehouse(calls, ofcom_limit=0.02) as con:
        stricter = rows(con, "SELECT over_limit, ofcom_limit FROM v_ofcom_compliance "
                        "WHERE scope = 'campaign'")
    assert at_limit == [(False, 0.03)]  # 3/100 is not more than 3 %
    assert stricter == [(True, 0.02)]


def test_centre_rate_pools_every_campaign_and_each_campaign_has_its_own() -> None:
    at = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    calls = (_calls(2, "A", at, 7) + _calls(18, "A", at, 10)
             + _calls(0, "B", at, 7) + _calls(80, "B", at + timedelta(minutes=1), 10))
    with _warehouse(calls) as con:
        got = rows(con, "SELECT scope, campaign, worst_rate_24h, worst_window_end, "
                   "abandoned_24h, live_24h, over_limit FROM v_ofcom_compliance "
                   "ORDER BY scope, campaign")
    assert got == [
        ("campaign", "A", 0.1, at, 2.0, 20.0, True),  # 2 / 20
        ("campaign", "B", 0.0, at + timedelta(minutes=1), 0.0, 80.0, False),
        # centre: worst at 09:00 with 2 / 20; at 09:01 it is 2 / 100
        ("centre", None, 0.1, at, 2.0, 20.0, True),
    ]


def test_each_campaigns_window_holds_its_own_calls_of_the_last_24_hours_only() -> None:
    # A: 3 abandons at 09:00 on the 6th, 10 connects at 10:00 on the 7th (25 h later, so
    # the abandons have left its window). B: 1 abandon, 4 connects at 09:30 on the 7th.
    # The centre at 09:30 on the 7th: A's abandons are 24 h 30 min old, outside its window,
    # so it pools B's calls alone; at 10:00 it adds A's connects.
    six = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
    seven_0930 = datetime(2026, 7, 7, 9, 30, tzinfo=UTC)
    seven_10 = datetime(2026, 7, 7, 10, 0, tzinfo=UTC)
    calls = (_calls(3, "A", six, 7) + _calls(10, "A", seven_10, 10)
             + _calls(1, "B", seven_0930, 7) + _calls(4, "B", seven_0930, 10))
    with _warehouse(calls) as con:
        got = rows(con, "SELECT scope, campaign, window_end, abandoned_calls_24h, "
                   "connected_24h, abandon_rate FROM v_ofcom_abandoned ORDER BY 1, 2, 3")
    assert got == [
        ("campaign", "A", six, 3, 0, 1.0),
        ("campaign", "A", seven_10, 0, 10, 0.0),
        ("campaign", "B", seven_0930, 1, 4, 0.2),
        ("centre", None, six, 3, 0, 1.0),
        ("centre", None, seven_0930, 1, 4, 0.2),
        ("centre", None, seven_10, 1, 14, round(1 / 15, 4)),
    ]


def test_calendar_day_figures_sit_beside_the_worst_window() -> None:
    with _warehouse(ISSUE_CASE) as con:
        got = rows(con, "SELECT local_day, calls, day_abandoned, day_live, day_rate "
                   "FROM v_ofcom_compliance WHERE scope = 'campaign' ORDER BY 1")
    # day 2 alone: 4 abandoned of 4 + 50 live calls
    assert got == [(date(2026, 3, 2), 100, 0.0, 100.0, 0.0),
                   (date(2026, 3, 3), 54, 4.0, 54.0, pytest.approx(4 / 54))]


def test_local_day_of_a_window_follows_the_time_zone() -> None:
    # 23:30Z on 6 July is 00:30 BST on the 7th
    at = datetime(2026, 7, 6, 23, 30, tzinfo=UTC)
    with _warehouse(_calls(1, "Sales", at, 7)) as con:
        got = rows(con, "SELECT local_day, worst_window_end_local FROM v_ofcom_compliance "
                    "WHERE scope = 'campaign'")
    assert got == [(date(2026, 7, 7), datetime(2026, 7, 7, 0, 30))]


def test_last_24_hours_give_the_meter_now_and_the_worst_for_status() -> None:
    # 3 hours ago: 1 abandoned, 9 connected (10 %); 1 hour ago: 40 connects (1 / 50 = 2 %);
    # campaign Old, whose calls are all 30 hours old, is not listed
    now = datetime.now(UTC).replace(microsecond=0)
    calls = (_calls(1, "Sales", now - timedelta(hours=3), 7)
             + _calls(9, "Sales", now - timedelta(hours=3), 10)
             + _calls(40, "Sales", now - timedelta(hours=1), 10)
             + _calls(5, "Old", now - timedelta(hours=30), 7))
    with _warehouse(calls) as con:
        got = rows(con, "SELECT scope, campaign, last_call_at, current_rate_24h, "
                   "worst_rate_24h, worst_window_end, over_limit FROM v_ofcom_last_24h "
                   "ORDER BY scope")
    assert got == [
        ("campaign", "Sales", now - timedelta(hours=1), 0.02, 0.1, now - timedelta(hours=3),
         True),
        # the centre: Old's calls are 27 h older than its windows, so the same figures
        ("centre", None, now - timedelta(hours=1), 0.02, 0.1, now - timedelta(hours=3), True),
    ]
