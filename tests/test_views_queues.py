"""Inbound service level with short abandons, in the Genesys and the Amazon Connect form, and
the campaign hours at a clock change, worked out by hand (issue #10)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from views_support import contract_tables, insert, rows, with_views

# diallerresult, queue time: answered in 10 and 25 s; abandoned after 3 s (short), 15 s, 40 s
QUEUE_CALLS = [(10, 10.0), (10, 25.0), (7, 3.0), (7, 15.0), (7, 40.0)]


def _warehouse(calls: list[dict[str, Any]], **settings: Any) -> duckdb.DuckDBPyConnection:
    con = contract_tables()
    insert(con, "session_ended", calls)
    return with_views(con, **settings)


def _inbound() -> list[dict[str, Any]]:
    return [{"campaign": "In", "calltype": 5, "queuenumber": 600, "diallerresult": dr,
             "queuetime": q, "timestamplaunched": "2026-07-06 12:00:00+01"}
            for dr, q in QUEUE_CALLS]


SERVICE = ("SELECT offered, answered, abandoned, short_abandoned, answered_within_threshold, "
           "abandoned_within_threshold, service_level, service_level_amazon, "
           "avg_speed_of_answer_seconds, abandon_rate, abandon_rate_excluding_short ")


def test_short_abandons_leave_the_genesys_service_level() -> None:
    with _warehouse(_inbound()) as con:
        got = rows(con, SERVICE + "FROM v_queue_service")
    # Genesys: 1 answered within 20 s / (2 answered + 3 abandoned - 1 short) = 0.25;
    # Amazon Connect: (1 answered + 2 abandoned within 20 s) / 5 queued = 0.6;
    # speed of answer (10 + 25) / 2 = 17.5; abandoned 3 / 5, without the short one 2 / 4
    assert got == [(5, 2, 3, 1, 1, 2, 0.25, 0.6, 17.5, 0.6, 0.5)]


def test_short_abandon_threshold_is_a_macro_argument_and_a_setting() -> None:
    with _warehouse(_inbound()) as con:
        none_short = rows(con, "SELECT short_abandoned, service_level "
                          "FROM queue_service(short_abandon_seconds := 0)")
    with _warehouse(_inbound(), short_abandon_seconds=20) as con:
        setting = rows(con, "SELECT short_abandoned, service_level FROM v_queue_service")
    # no short abandons: 1 / (2 + 3) = 0.2; under 20 s (3 and 15 s): 1 / (2 + 3 - 2) = 0.3333
    assert none_short == [(0, 0.2)]
    assert setting == [(2, 0.3333)]


def test_repeated_hour_of_the_october_clock_change_is_two_campaign_hours() -> None:
    # 00:30Z is 01:30 BST (+60) and 01:30Z is 01:30 GMT (+0) on 25 October
    calls = [{"campaign": "Out", "calltype": 0, "diallerresult": 10,
              "timestamplaunched": at} for at in ("2026-10-25 00:30:00+00",
                                                  "2026-10-25 01:30:00+00",
                                                  "2026-10-25 01:40:00+00")]
    with _warehouse(calls) as con:
        got = rows(con, "SELECT local_hour, utc_offset_minutes, dials FROM v_campaign_hourly "
                   "ORDER BY utc_offset_minutes DESC")
    assert got == [(datetime(2026, 10, 25, 1), 60, 1), (datetime(2026, 10, 25, 1), 0, 2)]


def _intervals() -> duckdb.DuckDBPyConnection:
    # queue 700: answered after 10 s at 09:05, short abandon (2 s) at 09:10, answered after
    # 30 s at 09:20, abandoned after 25 s at 09:40 (BST)
    calls = [{"campaign": "In", "calltype": 5, "queuenumber": 700, "diallerresult": dr,
              "queuetime": q, "timestamplaunched": f"2026-07-06 09:{m}:00+01"}
             for m, dr, q in (("05", 10, 10.0), ("10", 7, 2.0), ("20", 10, 30.0),
                              ("40", 7, 25.0))]
    con = contract_tables()
    insert(con, "session_ended", calls)
    # cumulative totals: 09:00 is the baseline; +1/0, +1/+1, +1/0, then a reset to 1/1
    insert(con, "queue_info", [
        {"campaign": "In", "queuenumber": 700, "event_timestamp": f"2026-07-06 09:{m}:00+01",
         "received_at": f"2026-07-06 09:{m}:01+01", "totalcalls": tc, "totalabandoned": ta}
        for m, tc, ta in (("00", 10, 1), ("06", 11, 1), ("11", 12, 2), ("21", 13, 2),
                          ("41", 1, 1))])
    return with_views(con)


INTERVALS = ("SELECT local_interval, utc_offset_minutes, offered, answered, abandoned, "
             "short_abandoned, service_level, service_level_amazon, "
             "avg_speed_of_answer_seconds, queueinfo_offered, queueinfo_abandoned ")


def test_queue_quarter_hours_with_queueinfo_deltas() -> None:
    with _intervals() as con:
        got = rows(con, INTERVALS + "FROM v_queue_15min ORDER BY 1")
    assert got == [
        # 09:05 answered in 10 s, 09:10 short abandon: Genesys 1 / (1 + 1 - 1) = 1.0,
        # Amazon (1 + 1) / 2 = 1.0; QueueInfo +1 +1 offered, +1 abandoned
        (datetime(2026, 7, 6, 9, 0), 60, 2, 1, 1, 1, 1.0, 1.0, 10.0, 2, 1),
        # 09:20 answered after 30 s: 0 / 1
        (datetime(2026, 7, 6, 9, 15), 60, 1, 1, 0, 0, 0.0, 0.0, 30.0, 1, 0),
        # 09:40 abandoned after 25 s: 0 / (0 + 1); QueueInfo's reset to 1/1 counts 1 and 1
        (datetime(2026, 7, 6, 9, 30), 60, 1, 0, 1, 0, 0.0, 0.0, None, 1, 1),
    ]


def test_queue_half_hours() -> None:
    with _intervals() as con:
        got = rows(con, INTERVALS + "FROM v_queue_30min ORDER BY 1")
    assert got == [
        # 09:05, 09:10, 09:20: Genesys 1 / (2 + 1 - 1) = 0.5, Amazon (1 + 1) / 3 = 0.6667,
        # speed of answer (10 + 30) / 2 = 20
        (datetime(2026, 7, 6, 9, 0), 60, 3, 2, 1, 1, 0.5, 0.6667, 20.0, 3, 1),
        (datetime(2026, 7, 6, 9, 30), 60, 1, 0, 1, 0, 0.0, 0.0, None, 1, 1),
    ]
