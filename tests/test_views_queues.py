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
