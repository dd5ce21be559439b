"""Inbound campaigns: calls arrive in queues, wait for the first free agent or hang up."""

from __future__ import annotations

import math
from dataclasses import dataclass

from orchestration.simulator.campaigns import Campaign, pick_outcome, recorddata, telnumber
from orchestration.simulator.clock import SECOND
from orchestration.simulator.events import Agent, Call, Log, after_wrap, login, logout
from orchestration.simulator.queues import QueueChange

#: Calls per hour offered to each queue at the peak of the day.
PEAK_CALLS_PER_HOUR = 24


@dataclass(kw_only=True)
class Staffed:
    """An inbound agent, when it is next free and when its shift ends."""

    agent: Agent
    free: int
    end: int


def arrivals(log: Log, campaign: Campaign, start: int, end: int,
             volume: float = 1.0) -> list[tuple[int, int]]:
    """(time, queue) of every call offered in the day: Poisson, busiest in the middle of the
    opening hours, `volume` times the weekday peak."""
    found: list[tuple[int, int]] = []
    hours = (end - start) / (3600 * SECOND)
    for number, _ in campaign.queues:
        at = start
        while True:
            hour = (at - start) / (3600 * SECOND)
            rate = volume * PEAK_CALLS_PER_HOUR * (
                0.5 + 0.5 * math.sin(math.pi * hour / hours))
            at += int(log.rng.expovariate(max(rate, 3) / 3600) * SECOND)
            if at >= end:
                break
            found.append((at, number))
    return sorted(found)


def _answer(log: Log, staff: Staffed, arrived: int, answer: int, queue: int) -> None:
    """The agent takes the call: talk (a quarter of the calls with the caller on hold for a
    part of it), wrap, the agent's result, maybe a payment; the agent's next free time."""
    rng, agent = log.rng, staff.agent
    talk = int(min(rng.lognormvariate(5.1, 0.5), 1800) * SECOND)
    wrap = int(rng.uniform(10, 90) * SECOND)
    hold = round(rng.uniform(5, talk / SECOND / 3), 4) if rng.random() < 0.25 else 0.0
    outcome = pick_outcome(agent.campaign, rng)
    tel = telnumber(rng)
    record = recorddata(agent.campaign, "", tel, rng)
    urn = str(record["AccountNumber"])
    agent.queue = queue
    log.move(agent, 6, answer)
    if rng.random() < outcome.payment:
        log.payment(agent, urn, answer + int(talk * rng.uniform(0.4, 0.9)))
    log.move(agent, 7, answer + talk)
    staff.free = after_wrap(log, agent, answer + talk + wrap)
    log.session(Call(campaign=agent.campaign, urn=urn, tel=tel, record=record, result=10,
                     launched=arrived, connected=answer, disconnected=answer + talk,
                     ended=answer + talk + wrap, agent=agent, wrap=wrap, hold=hold,
                     agentresult=outcome.code,
                     queuetime=round((answer - arrived) / SECOND, 6), queuenumber=queue))


def _abandon(log: Log, campaign: Campaign, arrived: int, gone: int, queue: int) -> None:
    tel = telnumber(log.rng)
    log.session(Call(campaign=campaign, urn="", tel=tel,
                     record=recorddata(campaign, "", tel, log.rng), result=7,
                     launched=arrived, connected=None, disconnected=gone,
                     ended=gone + log.rng.randrange(100_000, 500_000),
                     queuetime=round((gone - arrived) / SECOND, 6), queuenumber=queue))


def inbound_day(log: Log, campaign: Campaign, staff: list[Staffed],
                opening: tuple[int, int], volume: float = 1.0) -> list[QueueChange]:
    """Serve one day's calls (`volume` times a weekday's) first come, first served; returns
    the queues' changes."""
    changes: list[QueueChange] = []
    for member in staff:
        member.free = login(log, member.agent, member.free)
    for arrived, queue in arrivals(log, campaign, *opening, volume):
        patience = int(log.rng.expovariate(1 / 120) * SECOND) + 2 * SECOND
        ready = [m for m in staff if m.free < m.end]
        first = min(ready, key=lambda m: (m.free, m.agent.name)) if ready else None
        # a call waiting when the agent comes free is offered a second later, so the agent
        # is never in two states at one instant
        answer = max(arrived, first.free + SECOND) if first else arrived + patience + 1
        changes.append(QueueChange(at=arrived, queue=queue, arrived=arrived, answered=None))
        if first is not None and answer - arrived <= patience:
            _answer(log, first, arrived, answer, queue)
            changes.append(QueueChange(at=answer, queue=queue, arrived=arrived,
                                       answered=answer - arrived))
        else:
            _abandon(log, campaign, arrived, arrived + patience, queue)
            changes.append(QueueChange(at=arrived + patience, queue=queue, arrived=arrived,
                                       answered=-1))
    for member in staff:
        logout(log, member.agent, max(member.free, member.end))
    return changes
