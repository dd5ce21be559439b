"""The contact-centre model: days of shifts on every campaign, as one ordered event list."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orchestration.simulator.campaigns import CAMPAIGNS, Campaign
from orchestration.simulator.clock import SECOND, to_micros
from orchestration.simulator.events import Agent, Log
from orchestration.simulator.inbound import Staffed, inbound_day
from orchestration.simulator.outbound import HARD, STEADY, outbound_shift
from orchestration.simulator.queues import QueueChange, QueueState, in_order

#: The first simulated day: a Friday, so a run of a few days crosses the end of BST.
FIRST_DAY = date(2026, 10, 23)
OPENS, CLOSES = time(8, 0), time(18, 0)
#: Saturdays and Sundays: shorter hours, half the agents of each campaign, fewer callers.
WEEKEND_OPENS, WEEKEND_CLOSES = time(10, 0), time(16, 0)
WEEKEND_CALLERS = 0.5


def _agents(campaigns: tuple[Campaign, ...]) -> list[Agent]:
    agents, n = [], 0
    for campaign in campaigns:
        for _ in range(campaign.agents):
            n += 1
            agents.append(Agent(name=f"agent{1000 + n}", campaign=campaign,
                                extension=str(7000 + n),
                                queue=campaign.queues[0][0] if campaign.queues else None))
    return agents


def _at(day: date, moment: time, tz: ZoneInfo) -> int:
    return to_micros(datetime.combine(day, moment, tzinfo=tz))


def _queue_info(log: Log, campaign: Campaign, changes: list[QueueChange]) -> None:
    """One QueueInfo per change of a queue (totals count from the start of the run)."""
    names = dict(campaign.queues)
    for change in in_order(changes):
        state = log.queues.setdefault(change.queue, QueueState())
        state.apply(change)
        obj: dict[str, Any] = {"campaign": campaign.name, "queuenumber": change.queue,
                               "queuename": names[change.queue]}
        figures = state.figures(change.at)
        obj["callsinqueue"] = figures.pop("callsinqueue")
        obj["oldestcall"] = log.stamp(min(state.waiting)) if state.waiting else None
        log.emit(change.at, "QueueInfo", "queueinfo", obj | figures,
                 stream=(campaign.name, change.queue))


def rota(agents: list[Agent], day: date) -> list[Agent]:
    """The agents working on `day`: everyone on weekdays, the first half (rounded up) of
    each campaign's at the weekend."""
    if day.weekday() < 5:
        return agents
    seen: Counter[str] = Counter()
    working = []
    for agent in agents:
        seen[agent.campaign.name] += 1
        if seen[agent.campaign.name] <= (agent.campaign.agents + 1) // 2:
            working.append(agent)
    return working


def _day(log: Log, agents: list[Agent], day: date) -> None:
    """Every working agent's shift of one day (weekends shorter, with half the agents and
    callers; Mondays paced hard); inbound calls shared by that campaign's agents."""
    rng, tz = log.rng, log.tz
    weekend = day.weekday() >= 5
    opens = _at(day, WEEKEND_OPENS if weekend else OPENS, tz)
    closes = _at(day, WEEKEND_CLOSES if weekend else CLOSES, tz)
    pace = HARD if day.weekday() == 0 else STEADY
    working = rota(agents, day)
    for agent in working:
        if agent.campaign.calltype != 5:
            start = opens + rng.randrange(0, 1800) * SECOND
            outbound_shift(log, agent, start, closes - rng.randrange(0, 3600) * SECOND, pace)
    for campaign in {a.campaign.name: a.campaign for a in working if a.campaign.queues}.values():
        staff = [Staffed(agent=a, free=opens + rng.randrange(0, 900) * SECOND,
                         end=closes + rng.randrange(0, 900) * SECOND)
                 for a in working if a.campaign is campaign]
        changes = inbound_day(log, campaign, staff, (opens + 300 * SECOND, closes - 600 * SECOND),
                              WEEKEND_CALLERS if weekend else 1.0)
        _queue_info(log, campaign, changes)


def model_events(*, count: int, seed: int, tz: ZoneInfo,
                 first_day: date = FIRST_DAY) -> list[dict[str, Any]]:
    """The first `count` webhook bodies, in time order, of a seeded contact centre."""
    log = Log(rng=random.Random(seed), tz=tz)
    agents = _agents(CAMPAIGNS)
    for agent in agents:
        agent.since = _at(first_day - timedelta(days=1), CLOSES, tz)
    day = first_day
    while len(log.events) < count:
        _day(log, agents, day)
        day += timedelta(days=1)
    log.events.sort(key=lambda e: (e[0], e[1]))
    return [body for _, _, body in log.events[:count]]
