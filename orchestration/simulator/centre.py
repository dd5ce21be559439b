"""The contact-centre model: days of shifts on every campaign, as one ordered event list."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orchestration.simulator.campaigns import CAMPAIGNS, Campaign
from orchestration.simulator.clock import SECOND, to_micros
from orchestration.simulator.events import Agent, Log
from orchestration.simulator.inbound import Staffed, inbound_day
from orchestration.simulator.outbound import outbound_shift
from orchestration.simulator.queues import QueueChange, QueueState, in_order

#: The first simulated day: a Friday, so a run of a few days crosses the end of BST.
FIRST_DAY = date(2026, 10, 23)
OPENS, CLOSES = time(8, 0), time(18, 0)


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
        log.emit(change.at, "QueueInfo", "queueinfo", obj | figures)


def _day(log: Log, agents: list[Agent], day: date) -> None:
    """Every agent's shift of one day; inbound calls shared by that campaign's agents."""
    rng, tz = log.rng, log.tz
    opens, closes = _at(day, OPENS, tz), _at(day, CLOSES, tz)
    for agent in agents:
        if agent.campaign.calltype != 5:
            start = opens + rng.randrange(0, 1800) * SECOND
            outbound_shift(log, agent, start, closes - rng.randrange(0, 3600) * SECOND)
    for campaign in {a.campaign.name: a.campaign for a in agents if a.campaign.queues}.values():
        staff = [Staffed(agent=a, free=opens + rng.randrange(0, 900) * SECOND,
                         end=closes + rng.randrange(0, 900) * SECOND)
                 for a in agents if a.campaign is campaign]
        changes = inbound_day(log, campaign, staff, (opens + 300 * SECOND, closes - 600 * SECOND))
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
