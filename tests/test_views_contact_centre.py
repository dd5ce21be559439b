"""The analytics views give the figures worked out by hand from a small hand-built warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import duckdb
import pytest
from views_support import contract_tables, insert, rows, with_views

from warehouse.views import VIEWS, create_views

# campaign, calltype, launched, diallerresult, talk, wrap, hold, queuetime, queuenumber
SESSIONS = [
    ("Out1", 0, "2026-07-06 10:00:00+01", 10, 100, 20, 10, 0, 0),
    ("Out1", 0, "2026-07-06 10:05:00+01", 10, 200, 40, 0, 0, 0),
    ("Out1", 0, "2026-07-06 10:10:00+01", 7, 0, 0, 0, 0, 0),
    ("Out1", 0, "2026-07-06 10:20:00+01", 2, 0, 0, 0, 0, 0),
    ("Out1", 50, "2026-07-06 10:30:00+01", None, 0, 0, 0, 0, 0),  # an SMS: not a dial
    ("Out1", 0, "2026-07-06 11:00:00+01", 1, 0, 0, 0, 0, 0),
    ("Out1", 0, "2026-07-06 23:30:00+00", 10, 60, 0, 0, 0, 0),  # 00:30 BST on the 7th
    ("Out2", 3, "2026-07-06 08:00:00+01", 10, 50, 5, 0, 0, 0),
    ("Out2", 3, "2026-11-24 23:30:00+00", 10, 30, 10, 0, 0, 0),  # GMT: still the 24th
    ("In1", 5, "2026-07-06 12:00:00+01", 10, 60, 10, 0, 5, 500),
    ("In1", 5, "2026-07-06 12:01:00+01", 10, 60, 10, 0, 20, 500),
    ("In1", 5, "2026-07-06 12:02:00+01", 10, 60, 10, 0, 45, 500),
    ("In1", 5, "2026-07-06 12:03:00+01", 7, 0, 0, 0, 30, 500),
]

# agent, previous state, entered previous, left it (entered current), current, breakreason
ACTIVITY = [
    ("a1", 0, "2026-07-05 18:00:00+01", "2026-07-06 09:00:00+01", 3, 0),
    ("a1", 3, "2026-07-06 09:00:00+01", "2026-07-06 09:10:00+01", 6, 0),
    ("a1", 6, "2026-07-06 09:10:00+01", "2026-07-06 09:20:00+01", 7, 0),
    ("a1", 7, "2026-07-06 09:20:00+01", "2026-07-06 09:25:00+01", 3, 0),
    ("a1", 3, "2026-07-06 09:25:00+01", "2026-07-06 09:30:00+01", 2, 4),
    ("a1", 2, "2026-07-06 09:30:00+01", "2026-07-06 09:45:00+01", 3, 4),
    ("a1", 3, "2026-07-06 09:45:00+01", "2026-07-06 09:50:00+01", 6, 0),
    ("a1", 6, "2026-07-06 09:50:00+01", "2026-07-06 10:10:00+01", 7, 0),
    ("a1", 7, "2026-07-06 10:10:00+01", "2026-07-06 10:20:00+01", 0, 0),
    ("a2", 3, "2026-07-06 23:30:00+01", "2026-07-07 00:30:00+01", 0, 0),
]

# envelope timestamp (jittered by the vendor), received_at (arrival order), callsinqueue
QUEUE_INFO = [("2026-07-06 10:00:00+01", "2026-07-06 10:00:01+01", 1),
              ("2026-07-06 10:05:00+01", "2026-07-06 10:04:01+01", 3),
              ("2026-07-06 10:04:00+01", "2026-07-06 10:04:02+01", 2)]

# currency, amount, result
PAYMENTS = [("GBP", 1000, "Success"), ("GBP", 500, "Card declined"), ("EUR", 2000, "Success")]


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    insert(con, "session_ended", [
        {"campaign": c, "calltype": t, "timestamplaunched": ts, "diallerresult": dr,
         "talktime": talk, "wraptime": wrap, "holdtime": hold, "queuetime": q,
         "queuenumber": qn, "agent": "a1" if dr == 10 else None}
        for c, t, ts, dr, talk, wrap, hold, q, qn in SESSIONS])
    insert(con, "agent_activity", [
        {"campaign": "Out1", "agent": a, "previousagentstate": p, "timestamppreviousstate": t0,
         "timestampcurrentstate": t1, "agentstate": s, "breakreason": br}
        for a, p, t0, t1, s, br in ACTIVITY])
    insert(con, "queue_info", [
        {"campaign": "In1", "queuenumber": 500, "event_timestamp": ts, "received_at": got,
         "callsinqueue": n} for ts, got, n in QUEUE_INFO])
    insert(con, "card_payment", [
        {"campaign": "In1", "agent": "a1", "payment_timestamp": "2026-07-06 12:30:00+01",
         "currency": cur, "amount": amount, "result": result, "succeeded": result == "Success"}
        for cur, amount, result in PAYMENTS])


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = contract_tables()
    _fill(connection)
    create_views(connection, tz="Europe/London")
    with with_views(connection) as ready:  # created twice: idempotent
        yield ready


def test_every_view_is_created_and_queryable(con: duckdb.DuckDBPyConnection) -> None:
    for view in VIEWS:
        con.execute(f"SELECT * FROM {view}").fetchall()


def test_campaign_daily_counts_rates_and_times_per_local_day(
        con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT campaign, local_day, dials, messages, connects, connect_rate, "
               "abandoned, abandon_rate, abandon_rate_of_dials, avg_talk_seconds, "
               "avg_hold_seconds, avg_wrap_seconds, avg_handle_seconds "
               "FROM v_campaign_daily ORDER BY 1, 2")
    assert got == [
        # 4 calls, 3 answered, 1 abandoned: 1 / (1 + 3) = 0.25 of live calls and of dials;
        # talk 60, wrap 10, handle 70 each
        ("In1", date(2026, 7, 6), 4, 0, 3, 0.75, 1, 0.25, 0.25, 60.0, 0.0, 10.0, 70.0),
        # 5 dials (the SMS is a message, not a dial); connects s1, s2; abandoned 1 of
        # 1 + 2 live calls = 0.3333 (0.2 of dials); talk (100+200)/2, hold (10+0)/2,
        # wrap (20+40)/2, handle (120+240)/2
        ("Out1", date(2026, 7, 6), 5, 1, 2, 0.4, 1, 0.3333, 0.2, 150.0, 5.0, 30.0, 180.0),
        # 23:30 GMT+0 on the 6th is 00:30 BST on the 7th
        ("Out1", date(2026, 7, 7), 1, 0, 1, 1.0, 0, 0.0, 0.0, 60.0, 0.0, 0.0, 60.0),
        ("Out2", date(2026, 7, 6), 1, 0, 1, 1.0, 0, 0.0, 0.0, 50.0, 0.0, 5.0, 55.0),
        # 23:30 UTC in November is 23:30 GMT: still the 24th
        ("Out2", date(2026, 11, 24), 1, 0, 1, 1.0, 0, 0.0, 0.0, 30.0, 0.0, 10.0, 40.0),
    ]


def test_campaign_hourly_splits_by_local_hour(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT local_hour, utc_offset_minutes, dials, messages, connects, "
               "abandoned FROM v_campaign_hourly "
               "WHERE campaign = 'Out1' AND local_day = '2026-07-06' ORDER BY 1")
    # 10:00-10:59 BST: s1..s4 and the SMS; 11:00: s5 (busy)
    assert got == [(datetime(2026, 7, 6, 10), 60, 4, 1, 2, 1),
                   (datetime(2026, 7, 6, 11), 60, 1, 0, 0, 0)]


def test_outcome_mix_names_results_and_call_types(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT diallerresult, diallerresult_description, calltype_description, "
               "sessions, share FROM v_outcome_mix WHERE campaign = 'In1' ORDER BY 1")
    assert got == [(7, "Abandoned", "Inbound voice call", 1, 0.25),
                   (10, "Connected to agent", "Inbound voice call", 3, 0.75)]


def test_agent_daily_state_times_occupancy_and_utilisation(
        con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT agent, local_day, logged_in_seconds, waiting_seconds, "
               "talking_seconds, wrap_seconds, break_seconds, on_contact_seconds, occupancy, "
               "utilisation FROM v_agent_daily ORDER BY 1, 2")
    assert got == [
        # waiting 600+300+300, talking 600+1200, wrap 300+600, break 900: 4800 logged in;
        # on contact 2700: occupancy 2700/(2700+1200) = 0.6923, utilisation 2700/4800 = 0.5625
        ("a1", date(2026, 7, 6), 4800.0, 1200.0, 1800.0, 900.0, 900.0, 2700.0, 0.6923, 0.5625),
        # waiting 23:30-00:30 BST is split at local midnight
        ("a2", date(2026, 7, 6), 1800.0, 1800.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        ("a2", date(2026, 7, 7), 1800.0, 1800.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    ]


def test_agent_state_hourly_splits_an_interval_at_the_hour(
        con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT local_hour, utc_offset_minutes, state, seconds "
               "FROM v_agent_state_hourly WHERE agent = 'a1' AND state IN (6, 7) ORDER BY 1, 3")
    assert got == [
        (datetime(2026, 7, 6, 9), 60, 6, 1200.0),  # 09:10-09:20 and 09:50-10:00
        (datetime(2026, 7, 6, 9), 60, 7, 300.0),  # 09:20-09:25
        (datetime(2026, 7, 6, 10), 60, 6, 600.0),  # 10:00-10:10
        (datetime(2026, 7, 6, 10), 60, 7, 600.0),  # 10:10-10:20
    ]


def test_agent_state_15min_splits_an_interval_at_the_quarter_hour(
        con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT local_interval, state, seconds FROM v_agent_state_15min "
               "WHERE agent = 'a1' AND state IN (6, 7) ORDER BY 1, 2")
    assert got == [
        (datetime(2026, 7, 6, 9, 0), 6, 300.0),  # 09:10-09:15
        (datetime(2026, 7, 6, 9, 15), 6, 300.0),  # 09:15-09:20
        (datetime(2026, 7, 6, 9, 15), 7, 300.0),  # 09:20-09:25
        (datetime(2026, 7, 6, 9, 45), 6, 600.0),  # 09:50-10:00
        (datetime(2026, 7, 6, 10, 0), 6, 600.0),  # 10:00-10:10
        (datetime(2026, 7, 6, 10, 0), 7, 300.0),  # 10:10-10:15
        (datetime(2026, 7, 6, 10, 15), 7, 300.0),  # 10:15-10:20
    ]


def test_agent_breaks_by_reason(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT agent, local_day, breakreason, breaks, seconds FROM v_agent_breaks")
    assert got == [("a1", date(2026, 7, 6), 4, 1, 900.0)]


def test_queue_service_level_speed_of_answer_and_abandonment(
        con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT campaign, queuenumber, local_day, offered, answered, abandoned, "
               "short_abandoned, answered_within_threshold, service_level, "
               "service_level_amazon, avg_speed_of_answer_seconds, abandon_rate "
               "FROM v_queue_service")
    # answered in 5, 20 (within 20 s) and 45 s; one abandoned after 30 s (not short):
    # Genesys 2 / (3 + 1) = 0.5; Amazon Connect (2 + 0 abandoned within 20 s) / 4 = 0.5;
    # speed of answer (5 + 20 + 45) / 3 = 23.33
    assert got == [("In1", 500, date(2026, 7, 6), 4, 3, 1, 0, 2, 0.5, 0.5, 23.33, 0.25)]


def test_queue_service_level_threshold_can_be_chosen(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT answered_within_threshold, service_level "
               "FROM queue_service(threshold_seconds := 45)")
    # answered in 5, 20 and 45 s: all three within 45 s, of 3 answered + 1 abandoned
    assert got == [(3, 0.75)]


def test_queue_latest_takes_the_last_arrived_not_the_latest_envelope_time(
        con: duckdb.DuckDBPyConnection) -> None:
    # the envelope says 10:05 for the second event, but the third arrived after it
    assert rows(con, "SELECT queuenumber, callsinqueue FROM v_queue_latest") == [(500, 2)]


def test_card_payments_per_currency(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "SELECT currency, attempts, successes, success_rate, amount_attempted_minor, "
               "amount_collected_minor, amount_collected FROM v_card_payments ORDER BY 1")
    assert got == [("EUR", 1, 1, 1.0, 2000, 2000, 20.0), ("GBP", 2, 1, 0.5, 1500, 1000, 10.0)]


def test_unknown_time_zone_is_refused() -> None:
    with contract_tables() as memory, pytest.raises(Exception, match="Mars/Olympus"):
        create_views(memory, tz="Mars/Olympus")


def test_local_days_follow_the_configured_time_zone() -> None:
    with contract_tables() as memory:
        _fill(memory)
        with_views(memory, tz="America/New_York")
        got = rows(memory, "SELECT local_day, dials FROM v_campaign_daily "
                   "WHERE campaign = 'Out1' ORDER BY 1")
    # every Out1 call, 23:30 UTC included (19:30 EDT), falls on the 6th in New York
    assert got == [(date(2026, 7, 6), 6)]
