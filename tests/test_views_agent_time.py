"""Agent time survives real traffic: a cap for open or stale states, events out of order, twice
or missing, midnight, both clock changes and zones off the whole hour (issue #10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
from views_support import contract_tables, insert, rows, with_views


def _event(agent: str, previous: int, since: str, state: int, at: str,
           breakreason: int = 0) -> dict[str, Any]:
    return {"campaign": "C", "agent": agent, "previousagentstate": previous,
            "timestamppreviousstate": since, "agentstate": state,
            "timestampcurrentstate": at, "breakreason": breakreason}


def _warehouse(events: list[dict[str, Any]], **settings: Any) -> duckdb.DuckDBPyConnection:
    con = contract_tables()
    insert(con, "agent_activity", events)
    return with_views(con, **settings)


def test_agent_who_never_logs_out_counts_at_most_the_cap() -> None:
    # waiting from 17:55 BST until the log-out at 08:00 next morning: 14 h 5 min by the events,
    # counted for the default cap of 120 min = 7200 s, all on the 6th (17:55-19:55)
    events = [_event("b1", 0, "2026-07-06 08:00:00+01", 3, "2026-07-06 17:55:00+01"),
              _event("b1", 3, "2026-07-06 17:55:00+01", 0, "2026-07-07 08:00:00+01")]
    with _warehouse(events) as con:
        daily = rows(con, "SELECT local_day, logged_in_seconds, waiting_seconds FROM "
                     "v_agent_daily")
        interval = rows(con, "SELECT seconds, is_capped, is_open FROM v_agent_state_intervals "
                        "WHERE state = 3")
    assert daily == [(date(2026, 7, 6), 7200.0, 7200.0)]
    assert interval == [(7200.0, True, False)]


def test_cap_is_a_setting() -> None:
    events = [_event("b1", 0, "2026-07-06 08:00:00+01", 3, "2026-07-06 17:55:00+01"),
              _event("b1", 3, "2026-07-06 17:55:00+01", 0, "2026-07-07 08:00:00+01")]
    with _warehouse(events, agent_state_cap_minutes=30) as con:
        assert rows(con, "SELECT waiting_seconds FROM v_agent_daily") == [(1800.0,)]


def test_the_state_an_agent_is_in_now_counts_up_to_the_latest_event_within_the_cap() -> None:
    # b2 is waiting since 09:00; another agent's latest event is at 10:00: 3600 s so far
    waiting = _event("b2", 0, "2026-07-06 08:00:00+01", 3, "2026-07-06 09:00:00+01")
    with _warehouse([waiting, _event("x", 0, "2026-07-06 08:00:00+01", 3,
                                     "2026-07-06 10:00:00+01")]) as con:
        hour = rows(con, "SELECT seconds, is_open, is_capped FROM v_agent_state_intervals "
                    "WHERE agent = 'b2' AND state = 3")
    # the latest event at 13:00: 4 hours, counted for the 120-minute cap
    with _warehouse([waiting, _event("x", 0, "2026-07-06 08:00:00+01", 3,
                                     "2026-07-06 13:00:00+01")]) as con:
        capped = rows(con, "SELECT seconds, is_open, is_capped FROM v_agent_state_intervals "
                      "WHERE agent = 'b2' AND state = 3")
    assert hour == [(3600.0, True, False)]
    assert capped == [(7200.0, True, True)]


LOGIN_TALK_WRAP = [
    _event("c1", 0, "2026-07-06 08:00:00+01", 3, "2026-07-06 09:00:00+01"),
    _event("c1", 3, "2026-07-06 09:00:00+01", 6, "2026-07-06 09:10:00+01"),
    _event("c1", 6, "2026-07-06 09:10:00+01", 7, "2026-07-06 09:20:00+01"),
    _event("c1", 7, "2026-07-06 09:20:00+01", 0, "2026-07-06 09:25:00+01"),
]
# waiting 600 s, talking 600 s, wrap 300 s
EXPECTED = [("c1", date(2026, 7, 6), 1500.0, 600.0, 600.0, 300.0)]
DAILY = ("SELECT agent, local_day, logged_in_seconds, waiting_seconds, talking_seconds, "
         "wrap_seconds FROM v_agent_daily")


def test_events_out_of_order_and_twice_count_each_moment_once() -> None:
    events = list(reversed(LOGIN_TALK_WRAP)) + [dict(LOGIN_TALK_WRAP[1])]  # a duplicate
    with _warehouse(events) as con:
        assert rows(con, DAILY) == EXPECTED


def test_a_missing_event_is_recovered_from_the_next_events_previous_state() -> None:
    # the 3 -> 6 event at 09:10 never arrived; the 6 -> 7 event says 6 began at 09:10
    events = [e for i, e in enumerate(LOGIN_TALK_WRAP) if i != 1]
    with _warehouse(events) as con:
        assert rows(con, DAILY) == EXPECTED


def test_repeated_hour_of_the_october_clock_change_is_two_rows() -> None:
    # waiting 00:30Z-01:30Z on 25 October: 01:30-02:00 BST (+60), then 01:00-01:30 GMT (+0)
    events = [_event("d1", 0, "2026-10-24 23:00:00+00", 3, "2026-10-25 00:30:00+00"),
              _event("d1", 3, "2026-10-25 00:30:00+00", 0, "2026-10-25 01:30:00+00")]
    with _warehouse(events) as con:
        hourly = rows(con, "SELECT local_hour, utc_offset_minutes, seconds "
                      "FROM v_agent_state_hourly ORDER BY utc_offset_minutes DESC")
        quarters = rows(con, "SELECT local_interval, utc_offset_minutes, seconds "
                        "FROM v_agent_state_15min ORDER BY utc_offset_minutes DESC, 1")
    assert hourly == [(datetime(2026, 10, 25, 1), 60, 1800.0),
                      (datetime(2026, 10, 25, 1), 0, 1800.0)]
    assert quarters == [(datetime(2026, 10, 25, 1, 30), 60, 900.0),
                        (datetime(2026, 10, 25, 1, 45), 60, 900.0),
                        (datetime(2026, 10, 25, 1, 0), 0, 900.0),
                        (datetime(2026, 10, 25, 1, 15), 0, 900.0)]


def test_skipped_hour_of_the_march_clock_change_has_no_row() -> None:
    # waiting 00:30Z-01:30Z on 29 March: 00:30-01:00 GMT, then 02:00-02:30 BST
    events = [_event("d2", 0, "2026-03-28 23:00:00+00", 3, "2026-03-29 00:30:00+00"),
              _event("d2", 3, "2026-03-29 00:30:00+00", 0, "2026-03-29 01:30:00+00")]
    with _warehouse(events) as con:
        assert rows(con, "SELECT local_hour, utc_offset_minutes, seconds "
                    "FROM v_agent_state_hourly ORDER BY 1") == [
            (datetime(2026, 3, 29, 0), 0, 1800.0), (datetime(2026, 3, 29, 2), 60, 1800.0)]


def test_daily_time_is_cut_at_local_midnights_across_days_and_a_clock_change() -> None:
    # cap 40 h. Waiting 22:00 BST on 24 October to 02:00 GMT on 26 October: 2 h on the
    # 24th, all 25 hours of the 25th (the clock goes back), 2 h on the 26th. Talking from
    # 02:00 to 00:15 GMT on the 27th (a zero-length wait at 23:30 between): 22 h on the
    # 26th, 15 min on the 27th.
    events = [_event("f1", 0, "2026-10-24 20:00:00+00", 3, "2026-10-24 21:00:00+00"),
              _event("f1", 3, "2026-10-24 21:00:00+00", 6, "2026-10-26 02:00:00+00"),
              _event("f1", 6, "2026-10-26 02:00:00+00", 3, "2026-10-26 23:30:00+00"),
              _event("f1", 3, "2026-10-26 23:30:00+00", 6, "2026-10-26 23:30:00+00"),
              _event("f1", 6, "2026-10-26 23:30:00+00", 0, "2026-10-27 00:15:00+00")]
    with _warehouse(events, agent_state_cap_minutes=40 * 60) as con:
        daily = rows(con, "SELECT local_day, waiting_seconds, talking_seconds "
                     "FROM v_agent_daily ORDER BY 1")
    assert daily == [(date(2026, 10, 24), 2 * 3600.0, 0.0),
                     (date(2026, 10, 25), 25 * 3600.0, 0.0),
                     (date(2026, 10, 26), 2 * 3600.0, 22 * 3600.0),
                     (date(2026, 10, 27), 0.0, 900.0)]


def test_local_hours_of_a_half_hour_zone_run_from_the_local_hour() -> None:
    # talking 04:30Z-05:45Z is 10:00-11:15 IST (+05:30): 3600 s at 10:00, 900 s at 11:00
    events = [_event("e1", 3, "2026-07-06 04:00:00+00", 6, "2026-07-06 04:30:00+00"),
              _event("e1", 6, "2026-07-06 04:30:00+00", 0, "2026-07-06 05:45:00+00")]
    with _warehouse(events, tz="Asia/Kolkata") as con:
        assert rows(con, "SELECT local_hour, utc_offset_minutes, seconds "
                    "FROM v_agent_state_hourly WHERE state = 6 ORDER BY 1") == [
            (datetime(2026, 7, 6, 10), 330, 3600.0), (datetime(2026, 7, 6, 11), 330, 900.0)]


def test_every_on_contact_state_counts_towards_occupancy() -> None:
    # 10 min each: waiting (3), previewing (4), dialling preview (15), talking (6),
    # offering transfer (10), wrap (7), then logged out. On contact 4 x 600 + 600 talking
    # = 3000 of 3600 logged in; occupancy 3000 / (3000 + 600) = 0.8333
    states = [3, 4, 15, 6, 10, 7, 0]
    times = [f"2026-07-06 09:{10 * i:02d}:00+01" for i in range(6)] + ["2026-07-06 10:00:00+01"]
    events = [_event("f1", 0, "2026-07-06 08:00:00+01", 3, times[0])] + [
        _event("f1", states[i], times[i], states[i + 1], times[i + 1]) for i in range(6)]
    with _warehouse(events) as con:
        assert rows(con, "SELECT logged_in_seconds, on_contact_seconds, waiting_seconds, "
                    "occupancy, utilisation FROM v_agent_daily") == [
            (3600.0, 3000.0, 600.0, 0.8333, 0.8333)]


def test_every_state_of_the_specification_has_a_class() -> None:
    with _warehouse([]) as con:
        got = rows(con, "SELECT state_class, list(state ORDER BY state) "
                   "FROM v_agent_state_classes GROUP BY 1 ORDER BY 1")
    assert got == [("idle", [3, 8]), ("logged_out", [0]), ("not_ready", [1, 2]),
                   ("on_contact", [4, 5, 6, 7, 9, 10, 11, 12, 15, 16, 17])]
