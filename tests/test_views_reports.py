"""The floor manager's reports: agent scorecard, dial attempts per URN, list penetration and
card payments reconciled with their calls, worked out by hand (issue #10)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
from views_support import contract_tables, insert, rows, with_views


def _scorecard_warehouse() -> duckdb.DuckDBPyConnection:
    con = contract_tables()
    insert(con, "session_ended", [
        {"campaign": "Out", "calltype": 0, "agent": "a1", "diallerresult": 10,
         "timestamplaunched": f"2026-07-06 {hh}:00:00+01", "talktime": talk, "holdtime": hold,
         "wraptime": wrap, "agentresult": result}
        for hh, talk, hold, wrap, result in (("10", 100, 10, 20, 205), ("11", 200, 0, 40, 205),
                                             ("12", 60, 0, 0, 300))])
    insert(con, "card_payment", [
        {"campaign": "Out", "agent": agent, "payment_timestamp": "2026-07-06 11:05:00+01",
         "amount": 1000, "currency": "GBP", "succeeded": ok}
        for agent, ok in (("a1", True), ("a1", False), ("a2", True))])
    insert(con, "agent_activity", [
        {"campaign": "Out", "agent": "a1", "previousagentstate": p,
         "timestamppreviousstate": t0, "agentstate": s, "timestampcurrentstate": t1}
        for p, t0, s, t1 in ((0, "2026-07-06 08:00:00+01", 3, "2026-07-06 09:00:00+01"),
                             (3, "2026-07-06 09:00:00+01", 6, "2026-07-06 09:10:00+01"),
                             (6, "2026-07-06 09:10:00+01", 0, "2026-07-06 09:30:00+01"))])
    return with_views(con)


def test_agent_scorecard_joins_calls_payments_and_state_time() -> None:
    with _scorecard_warehouse() as con:
        got = rows(con, "SELECT agent, local_day, calls_handled, avg_talk_seconds, "
                   "avg_hold_seconds, avg_wrap_seconds, avg_handle_seconds, agent_results, "
                   "payment_attempts, payments_succeeded, logged_in_seconds, "
                   "on_contact_seconds, occupancy, utilisation FROM v_agent_scorecard "
                   "ORDER BY agent")
    assert got == [
        # 3 calls: talk (100+200+60)/3 = 120, hold 10/3, wrap 60/3 = 20, handle 420/3 = 140;
        # results 205 twice, 300 once; 2 payments, 1 succeeded; waiting 600 s, talking
        # 1200 s: occupancy and utilisation 1200 / 1800 = 0.6667
        ("a1", date(2026, 7, 6), 3, 120.0, 3.33, 20.0, 140.0, {205: 2, 300: 1}, 2, 1,
         1800.0, 1200.0, 0.6667, 0.6667),
        # a2 took a payment and nothing else is known
        ("a2", date(2026, 7, 6), 0, None, None, None, None, None, 1, 1, None, None, None, None),
    ]


def _dials_warehouse() -> duckdb.DuckDBPyConnection:
    con = contract_tables()
    insert(con, "session_ended", [
        {"campaign": c, "calltype": t, "urn": urn, "diallerresult": dr, "agentresult": ar,
         "timestamplaunched": f"2026-07-06 {hh}:00:00+00"}
        for c, t, urn, hh, dr, ar in (
            ("Out", 0, "U1", "09", 2, None), ("Out", 0, "U1", "11", 1, None),
            ("Out", 0, "U1", "14", 10, 205), ("Out", 0, "U2", "10", 7, None),
            ("Out", 0, "U3", "10", 2, None),
            ("Out", 50, "U4", "10", None, None),  # an SMS: not a dial attempt
            ("In", 5, "U5", "10", 10, 100))])  # inbound: not a dial attempt
    return with_views(con)


def test_dial_attempts_per_urn() -> None:
    with _dials_warehouse() as con:
        got = rows(con, "SELECT campaign, urn, attempts, first_attempt_at, last_attempt_at, "
                   "connects, abandoned, last_diallerresult, last_agentresult "
                   "FROM v_urn_attempts ORDER BY urn")
    at = [datetime(2026, 7, 6, h, tzinfo=UTC) for h in (9, 10, 14)]
    assert got == [("Out", "U1", 3, at[0], at[2], 1, 0, 10, 205),
                   ("Out", "U2", 1, at[1], at[1], 0, 1, 7, None),
                   ("Out", "U3", 1, at[1], at[1], 0, 0, 2, None)]


def test_list_penetration_per_campaign() -> None:
    with _dials_warehouse() as con:
        got = rows(con, "SELECT campaign, records_dialled, attempts, attempts_per_record, "
                   "records_connected, connected_share, max_attempts FROM v_list_penetration")
    # 3 records, 5 attempts: 1.67 per record; 1 of 3 records reached an agent
    assert got == [("Out", 3, 5, 1.67, 1, 0.3333, 3)]


def test_card_payments_are_reconciled_with_the_call_they_were_taken_on() -> None:
    con = contract_tables()
    insert(con, "session_ended", [
        {"campaign": "In", "calltype": 5, "agent": "a1", "urn": "R1", "diallerresult": 10,
         "id": 111, "timestamplaunched": "2026-07-06 12:00:00+01",
         "timestampsessionended": "2026-07-06 12:10:00+01"}])
    insert(con, "card_payment", [
        {"campaign": "In", "agent": "a1", "urn": "R1", "payment_timestamp": at,
         "amount": amount, "currency": "GBP", "succeeded": ok}
        for at, amount, ok in (("2026-07-06 12:05:00+01", 1000, True),
                               ("2026-07-06 12:06:00+01", 1000, False),
                               ("2026-07-06 13:00:00+01", 500, True))])  # after the call
    with with_views(con):
        got = rows(con, "SELECT urn, session_id, currency, attempts, successes, "
                   "amount_attempted_minor, amount_collected_minor, amount_collected "
                   "FROM v_card_payment_reconciliation ORDER BY session_id NULLS LAST")
    # during call 111: 2 attempts of 10.00, one collected; 13:00 matches no call
    assert got == [("R1", 111, "GBP", 2, 1, 2000, 1000, 10.0),
                   ("R1", None, "GBP", 1, 1, 500, 500, 5.0)]
