"""The simulator's traffic exercises the figures: answer machines, late connects, inbound hold,
redials of a URN, agent results with meaning, weekday and weekend volumes, QueueInfo sent in
order (issue #10 point 6). Checked on the generated events; the warehouse side is in
test_simulator_warehouse_figures.py."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orchestration.simulator import model_events
from orchestration.simulator.campaigns import CAMPAIGNS, dispositions_csv
from orchestration.simulator.records import ANSWER_MACHINE, MAX_ATTEMPTS, RETRY_HOURS
from warehouse.dispositions import parse_dispositions

LONDON = ZoneInfo("Europe/London")
#: Friday 23 to Tuesday 27 October 2026: a weekday, a weekend, a hard-paced Monday.
COUNT = 32000
SHIPPED = Path(__file__).resolve().parent.parent / "orchestration/simulator/dispositions.csv"


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return model_events(count=COUNT, seed=1, tz=LONDON)


@pytest.fixture(scope="module")
def sessions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["session"] for e in events if e["action"] == "SessionEnded"]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _is_late(s: dict[str, Any]) -> bool:
    """What v_sessions.is_late_connect says: on the line > 2 s after launch + ring."""
    answered = _t(s["timestamplaunched"]) + timedelta(seconds=s["ringtime"])
    return _t(s["timestampconnected"]) > answered + timedelta(seconds=2)


def test_answer_machines_are_dialler_results_with_nobody_on_the_line(
        sessions: list[dict[str, Any]]) -> None:
    machines = [s for s in sessions if s["diallerresult"] == ANSWER_MACHINE]
    predictive = [s for s in sessions if s["calltype"] == 0]
    assert 0.04 < sum(s["calltype"] == 0 for s in machines) / len(predictive) < 0.15
    assert all(s["agent"] is None and s["timestampconnected"] is None and s["talktime"] == 0
               and s["agentresult"] is None and s["ringtime"] > 0 for s in machines)


def test_some_predictive_connects_come_on_after_the_two_second_rule(
        sessions: list[dict[str, Any]]) -> None:
    connects = [s for s in sessions if s["calltype"] == 0 and s["diallerresult"] == 10]
    late = [s for s in connects if _is_late(s)]
    assert 0.002 < len(late) / len(connects) < 0.05
    on_time = [s for s in connects if not _is_late(s)]
    gaps = [(_t(s["timestampconnected"]) - _t(s["timestamplaunched"])).total_seconds()
            - s["ringtime"] for s in on_time]
    assert min(gaps) > 0.1 and max(gaps) < 2, "the agent comes on after the answer"
    preview = [s for s in sessions if s["calltype"] == 3 and s["diallerresult"] == 10]
    assert preview and not any(_is_late(s) for s in preview), "a preview agent is on the line"


def test_inbound_callers_are_put_on_hold_within_the_talk_time(
        sessions: list[dict[str, Any]]) -> None:
    answered = [s for s in sessions if s["calltype"] == 5 and s["diallerresult"] == 10]
    held = [s for s in answered if s["holdtime"] > 0]
    assert 0.15 < len(held) / len(answered) < 0.35
    assert all(s["holdtime"] <= s["talktime"] for s in held)


def test_records_are_redialled_with_the_same_urn_number_and_fields(
        sessions: list[dict[str, Any]]) -> None:
    attempts: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in sessions:
        if s["calltype"] in (0, 3):
            attempts[s["URN"]].append(s)
    counts = Counter(len(a) for a in attempts.values())
    assert sum(n for k, n in counts.items() if k >= 3) > 100
    assert max(counts) <= MAX_ATTEMPTS
    callbacks = {o.code for c in CAMPAIGNS for o in c.outcomes if o.callback}
    for tries in attempts.values():
        tries.sort(key=lambda s: _t(s["timestamplaunched"]))
        assert len({(s["telnumber"], s["campaign"], str(s["recorddata"])) for s in tries}) == 1
        for before, after in zip(tries, tries[1:], strict=False):
            assert _t(after["timestamplaunched"]) > _t(before["timestampdisconnected"])
            assert before["diallerresult"] in RETRY_HOURS or before["agentresult"] in callbacks


def test_agent_results_have_meaning_and_payments_follow_sales(
        events: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> None:
    outcomes = {c.name: {o.code: o for o in c.outcomes} for c in CAMPAIGNS}
    connected = [s for s in sessions if s["diallerresult"] == 10]
    assert all(s["agentresult"] in outcomes[s["campaign"]] for s in connected)
    assert all(s["agentresult"] is None for s in sessions if s["diallerresult"] != 10)
    results: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for s in connected:
        results[(s["agent"], s["URN"])].add(s["agentresult"])
    payments = [e["CardPayment"] for e in events if e["action"] == "CardPayment"]
    matched = [p for p in payments if (p["agent"], p["URN"]) in results]  # the last may be cut
    assert len(matched) > 0.95 * len(payments) > 100
    for p in matched:
        taken = [outcomes[p["campaign"]][code] for code in results[(p["agent"], p["URN"])]]
        assert any(o.payment > 0 for o in taken), f"a payment on a {taken[0].name!r} call"
    sales = Counter(outcomes[s["campaign"]][s["agentresult"]].group for s in connected
                    if s["campaign"] == "Sales_Predictive")
    assert 0.08 < sales["sale"] / sum(sales.values()) < 0.2


def test_the_shipped_dispositions_file_names_every_simulated_code(
        sessions: list[dict[str, Any]]) -> None:
    assert SHIPPED.read_text() == dispositions_csv(), "regenerate it from campaigns.py"
    listed = {d.code: d for d in parse_dispositions(SHIPPED.read_text(), SHIPPED.name)}
    assert {s["agentresult"] for s in sessions if s["agentresult"] is not None} == set(listed)
    assert listed[100].name == "Sale" and listed[100].is_positive


def test_weekends_are_quieter_than_weekdays(sessions: list[dict[str, Any]]) -> None:
    per_day = Counter((_t(s["timestamplaunched"]).date(), s["campaign"]) for s in sessions)
    for campaign in CAMPAIGNS:
        friday = per_day[(date(2026, 10, 23), campaign.name)]
        for weekend in (date(2026, 10, 24), date(2026, 10, 25)):
            assert 0.1 * friday < per_day[(weekend, campaign.name)] < 0.6 * friday, campaign


def test_queue_info_envelope_times_never_go_backwards_per_queue(
        events: list[dict[str, Any]]) -> None:
    last: dict[tuple[str, int], datetime] = {}
    seen = 0
    for e in events:
        if e["action"] != "QueueInfo":
            continue
        key = (e["queueinfo"]["campaign"], e["queueinfo"]["queuenumber"])
        sent = _t(e["timestamp"])
        assert key not in last or sent > last[key], (key, e["timestamp"])
        last[key] = sent
        seen += 1
    assert seen > 1000
