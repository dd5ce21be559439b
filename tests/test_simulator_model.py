"""The simulator is a coherent, seeded model of a contact centre, written the vendor's way."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from genius_wh.records import event_id
from orchestration.simulator import model_events
from orchestration.simulator.records import ANSWER_MACHINE

LONDON = ZoneInfo("Europe/London")
COUNT = 12000


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return model_events(count=COUNT, seed=3, tz=LONDON)


def _objects(events: list[dict[str, Any]], action: str, key: str) -> list[dict[str, Any]]:
    return [e[key] for e in events if e["action"] == action]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_same_seed_gives_identical_events_and_another_seed_does_not(
        events: list[dict[str, Any]]) -> None:
    assert model_events(count=COUNT, seed=3, tz=LONDON) == events
    assert model_events(count=COUNT, seed=4, tz=LONDON) != events


def test_all_four_event_types_are_produced(events: list[dict[str, Any]]) -> None:
    actions = Counter(e["action"] for e in events)
    assert len(events) == COUNT
    assert set(actions) == {"SessionEnded", "AgentActivity", "QueueInfo", "CardPayment"}


def test_bodies_use_the_vendors_keys_and_spellings(events: list[dict[str, Any]]) -> None:
    session = _objects(events, "SessionEnded", "session")[0]
    activity = _objects(events, "AgentActivity", "agentactivity")[0]
    payment = _objects(events, "CardPayment", "CardPayment")[0]
    assert {"URN", "CLI", "ID", "wrapptime", "recorddata"} <= set(session)
    assert "previousstate" in activity and isinstance(activity["extension"], str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d", payment["timestamp"])
    stamps = [e["timestamp"] for e in events]
    assert all(re.fullmatch(r".*T\d\d:\d\d:\d\d(\.\d{1,7})?\+0[01]:00", s) for s in stamps)
    assert any(re.search(r"\.\d{7}\+", s) for s in stamps)


def test_agent_activity_chains_each_agents_states(events: list[dict[str, Any]]) -> None:
    last: dict[str, dict[str, Any]] = {}
    for act in _objects(events, "AgentActivity", "agentactivity"):
        before = last.get(act["agent"])
        if before is not None:
            assert act["previousstate"] == before["agentstate"]
            assert act["timestamppreviousstate"] == before["timestampcurrentstate"]
        last[act["agent"]] = act


def test_each_connected_call_matches_its_agents_talk_and_wrap_intervals(
        events: list[dict[str, Any]]) -> None:
    intervals = {(a["agent"], a["previousstate"], a["timestamppreviousstate"]):
                 (a["campaign"], _t(a["timestampcurrentstate"]) - _t(a["timestamppreviousstate"]))
                 for a in _objects(events, "AgentActivity", "agentactivity")}
    connected = [s for s in _objects(events, "SessionEnded", "session")
                 if s["diallerresult"] == 10]
    assert connected
    for s in connected:
        campaign, talk = intervals[(s["agent"], 6, s["timestampconnected"])]
        _, wrap = intervals[(s["agent"], 7, s["timestampdisconnected"])]
        assert campaign == s["campaign"]
        assert talk.total_seconds() == pytest.approx(s["talktime"], abs=1e-6)
        assert wrap.total_seconds() == pytest.approx(s["wrapptime"], abs=1e-6)


def test_predictive_outcomes_come_in_plausible_proportions(
        events: list[dict[str, Any]]) -> None:
    results = Counter(s["diallerresult"] for s in _objects(events, "SessionEnded", "session")
                      if s["calltype"] == 0)
    total = sum(results.values())
    bad = sum(n for code, n in results.items() if 20 <= code <= 30)
    assert 0.25 < results[10] / total < 0.45
    assert 0.25 < results[2] / total < 0.45
    assert 0.05 < results[1] / total < 0.20
    assert 0.04 < results[ANSWER_MACHINE] / total < 0.15
    assert 0.05 < bad / total < 0.20
    assert 0.002 < results[7] / (results[7] + results[10]) < 0.06


def test_queue_info_totals_agree_with_the_inbound_calls_of_the_day(
        events: list[dict[str, Any]]) -> None:
    first_day = events[0]["timestamp"][:10]
    assert events[-1]["timestamp"][:10] > first_day, "the first day must be complete"
    infos = [(e["timestamp"], e["queueinfo"]) for e in events if e["action"] == "QueueInfo"]
    calls = [s for s in _objects(events, "SessionEnded", "session")
             if s["calltype"] == 5 and s["timestamplaunched"][:10] == first_day]
    for queue in (67890, 67891):
        day = [q for ts, q in infos if ts[:10] == first_day and q["queuenumber"] == queue]
        mine = [s for s in calls if s["queuenumber"] == queue]
        answered = [s["queuetime"] for s in mine if s["diallerresult"] == 10]
        assert [q["totalcalls"] for q in day] == sorted(q["totalcalls"] for q in day)
        assert day[-1]["totalcalls"] == len(mine) > 0
        assert day[-1]["totalabandoned"] == sum(s["diallerresult"] == 7 for s in mine)
        assert day[-1]["callsinqueue"] == 0 and day[-1]["oldestcall"] is None
        assert day[-1]["averageanswer"] == pytest.approx(sum(answered) / len(answered), abs=1e-3)


def test_card_payments_are_mostly_successes_with_varied_card_spellings(
        events: list[dict[str, Any]]) -> None:
    payments = _objects(events, "CardPayment", "CardPayment")
    share = sum(p["result"] == "Success" for p in payments) / len(payments)
    assert 0.7 < share < 0.97
    assert {"VISA", "Visa", "MC", "MASTERCARD", "Amex"} <= {p["cardtype"] for p in payments}


def test_no_two_events_share_an_event_id(events: list[dict[str, Any]]) -> None:
    # an identical event object would be taken for a redelivery and loaded once
    assert len({event_id(e) for e in events}) == len(events)
