"""Outbound campaigns: predictive dialling around agents, and agents previewing records."""

from __future__ import annotations

from orchestration.simulator.campaigns import recorddata, telnumber
from orchestration.simulator.clock import SECOND
from orchestration.simulator.events import Agent, Call, Log, after_wrap, login, logout

#: Outcomes of a dial that does not reach a person, with weights: no answer, busy, bad.
MISSES = ((2, 60), (1, 18), (20, 6), (21, 5), (22, 4), (25, 4), (30, 3))


def _record(log: Log, agent: Agent) -> tuple[str, str, dict[str, object]]:
    urn = f"{agent.campaign.name[:3].upper()}-{log.rng.randrange(10**9):09d}"
    tel = telnumber(log.rng)
    return urn, tel, recorddata(agent.campaign, urn, tel, log.rng)


def _miss(log: Log, agent: Agent, start: int, result: int,
          preview: float | None = None) -> None:
    """A dial that never reached an agent: no answer, busy, bad number or abandoned."""
    rng = log.rng
    ring = {2: rng.uniform(20, 30), 1: rng.uniform(1, 4), 7: rng.uniform(3, 15)}.get(
        result, rng.uniform(0.5, 2))
    hung = start + int(ring * SECOND) + (rng.randrange(2, 8) * SECOND if result == 7 else 0)
    urn, tel, record = _record(log, agent)
    log.session(Call(campaign=agent.campaign, urn=urn, tel=tel, record=record, result=result,
                     launched=start, connected=None, disconnected=hung,
                     ended=hung + rng.randrange(100_000, 900_000), ring=round(ring, 4),
                     agent=agent if preview is not None else None, preview=preview))


def _talk(log: Log, agent: Agent, launched: int, connect: int, preview: float | None) -> int:
    """A connected call: talk, wrap, maybe a payment; returns when the agent waits again."""
    rng = log.rng
    talk = int(min(rng.lognormvariate(4.9, 0.6), 1800) * SECOND)
    wrap = int(rng.uniform(5, 75) * SECOND)
    hold = round(rng.uniform(5, talk / SECOND / 3), 4) if rng.random() < 0.2 else 0.0
    urn, tel, record = _record(log, agent)
    log.move(agent, 6, connect)
    if rng.random() < agent.campaign.payment_share:
        log.payment(agent, urn, connect + int(talk * rng.uniform(0.5, 0.95)))
    log.move(agent, 7, connect + talk)
    ended = connect + talk + wrap
    back = after_wrap(log, agent, ended)
    log.session(Call(campaign=agent.campaign, urn=urn, tel=tel, record=record, result=10,
                     launched=launched, connected=connect, disconnected=connect + talk,
                     ended=ended, agent=agent, wrap=wrap, hold=hold,
                     agentresult=rng.choice(agent.campaign.outcomes),
                     ring=round((connect - launched) / SECOND, 4), preview=preview))
    return back


def _predictive_call(log: Log, agent: Agent, waiting: int) -> int:
    """The dialler keeps dialling while the agent waits, until someone answers."""
    rng = log.rng
    connect = waiting + int(rng.expovariate(1 / 20) * SECOND) + SECOND
    while rng.random() > 0.33:
        result = rng.choices([m[0] for m in MISSES], weights=[m[1] for m in MISSES])[0]
        _miss(log, agent, rng.randrange(waiting - 30 * SECOND, connect), result)
    if rng.random() < 0.025:  # answered, but no agent was free: abandoned
        _miss(log, agent, rng.randrange(waiting - 30 * SECOND, connect), 7)
    launched = connect - int(rng.uniform(4, 20) * SECOND)
    return _talk(log, agent, launched, connect, None)


def _preview_call(log: Log, agent: Agent, waiting: int) -> int:
    """The agent previews a record (4), dials it (15): it connects or not."""
    rng = log.rng
    previewing = waiting + rng.randrange(2, 15) * SECOND
    log.move(agent, 4, previewing)
    dialling = previewing + int(rng.uniform(5, 40) * SECOND)
    preview = round((dialling - previewing) / SECOND, 4)
    log.move(agent, 15, dialling)
    if rng.random() < 0.6:
        return _talk(log, agent, dialling, dialling + int(rng.uniform(4, 20) * SECOND), preview)
    result = rng.choices([m[0] for m in MISSES], weights=[m[1] for m in MISSES])[0]
    back = dialling + int(rng.uniform(5, 30) * SECOND)
    log.move(agent, 3, back)
    _miss(log, agent, dialling, result, preview)
    return back


def outbound_shift(log: Log, agent: Agent, start: int, end: int) -> None:
    """One agent's shift on an outbound campaign, from log-in to log-out."""
    waiting = login(log, agent, start)
    call = _preview_call if agent.campaign.calltype == 3 else _predictive_call
    while waiting < end:
        waiting = call(log, agent, waiting)
    logout(log, agent, waiting)
