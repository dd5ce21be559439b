"""Outbound campaigns: predictive dialling around agents, and agents previewing records."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.simulator.campaigns import pick_outcome
from orchestration.simulator.clock import SECOND
from orchestration.simulator.events import Agent, Call, Log, after_wrap, login, logout
from orchestration.simulator.records import (
    ANSWER_MACHINE,
    CALLBACK_HOURS,
    RETRY_HOURS,
    Record,
    Redials,
    next_record,
)

#: Outcomes of a dial that does not reach an agent, with weights: no answer, busy, answer
#: machine, bad numbers.
MISSES = ((2, 52), (1, 16), (ANSWER_MACHINE, 14), (20, 5), (21, 4), (22, 3), (25, 3), (30, 3))


@dataclass(frozen=True, kw_only=True)
class Pacing:
    """How hard the predictive dialler dials: the chance, per connected call, of one more
    answered call finding no agent free (abandoned), and of the agent coming on the line
    more than 2 s after the customer answered (a late connect, abandoned for Ofcom)."""

    abandon: float = 0.008
    late: float = 0.006


#: An ordinary day: about 1.4 % of live calls abandoned, under Ofcom's 3 %.
STEADY = Pacing()
#: Mondays: the dialler is paced for more agents than came in, about 7 %.
HARD = Pacing(abandon=0.05, late=0.03)


def _redials(log: Log, agent: Agent) -> Redials:
    return log.redials.setdefault(agent.campaign.name, Redials())


def _miss(log: Log, agent: Agent, start: int, result: int,
          preview: float | None = None) -> None:
    """A dial that never reached an agent: no answer, busy, machine, bad number, abandoned."""
    rng = log.rng
    ring = {2: rng.uniform(20, 30), 1: rng.uniform(1, 4), 7: rng.uniform(3, 15),
            ANSWER_MACHINE: rng.uniform(4, 15)}.get(result, rng.uniform(0.5, 2))
    after = {7: rng.randrange(2, 8), ANSWER_MACHINE: rng.randrange(2, 5)}.get(result, 0)
    hung = start + int(ring * SECOND) + after * SECOND
    record = next_record(_redials(log, agent), agent.campaign, start, rng)
    log.session(Call(campaign=agent.campaign, urn=record.urn, tel=record.tel,
                     record=record.data, result=result, launched=start, connected=None,
                     disconnected=hung, ended=hung + rng.randrange(100_000, 900_000),
                     ring=round(ring, 4), agent=agent if preview is not None else None,
                     preview=preview))
    if result in RETRY_HOURS:
        _redials(log, agent).later(record, hung, RETRY_HOURS[result], rng)


def _talk(log: Log, agent: Agent, record: Record, times: tuple[int, int, int],
          preview: float | None) -> int:
    """A connected call (launched, answered, agent on the line): talk, wrap, the agent's
    result and maybe a payment; returns when the agent waits again."""
    rng = log.rng
    launched, answered, connect = times
    talk = int(min(rng.lognormvariate(4.9, 0.6), 1800) * SECOND)
    wrap = int(rng.uniform(5, 75) * SECOND)
    hold = round(rng.uniform(5, talk / SECOND / 3), 4) if rng.random() < 0.2 else 0.0
    outcome = pick_outcome(agent.campaign, rng)
    log.move(agent, 6, connect)
    if rng.random() < outcome.payment:
        log.payment(agent, record.urn, connect + int(talk * rng.uniform(0.5, 0.95)))
    log.move(agent, 7, connect + talk)
    ended = connect + talk + wrap
    back = after_wrap(log, agent, ended)
    log.session(Call(campaign=agent.campaign, urn=record.urn, tel=record.tel,
                     record=record.data, result=10, launched=launched, connected=connect,
                     disconnected=connect + talk, ended=ended, agent=agent, wrap=wrap,
                     hold=hold, agentresult=outcome.code,
                     ring=round((answered - launched) / SECOND, 4), preview=preview))
    if outcome.callback:
        _redials(log, agent).later(record, ended, CALLBACK_HOURS, rng)
    return back


def _predictive_call(log: Log, agent: Agent, waiting: int, pace: Pacing) -> int:
    """The dialler keeps dialling while the agent waits, until someone answers."""
    rng = log.rng
    connect = waiting + int(rng.expovariate(1 / 20) * SECOND) + SECOND
    while rng.random() > 0.33:
        result = rng.choices([m[0] for m in MISSES], weights=[m[1] for m in MISSES])[0]
        _miss(log, agent, rng.randrange(waiting - 30 * SECOND, connect), result)
    if rng.random() < pace.abandon:  # answered, but no agent was free: abandoned
        _miss(log, agent, rng.randrange(waiting - 30 * SECOND, connect), 7)
    late = rng.random() < pace.late
    delay = rng.uniform(2.2, 6.0) if late else rng.uniform(0.2, 1.6)
    answered = connect - int(delay * SECOND)
    launched = answered - int(rng.uniform(4, 20) * SECOND)
    record = next_record(_redials(log, agent), agent.campaign, launched, rng)
    return _talk(log, agent, record, (launched, answered, connect), None)


def _preview_call(log: Log, agent: Agent, waiting: int, pace: Pacing) -> int:
    """The agent previews a record (4), dials it (15): it connects or not (the agent is on
    the line as it rings, so the pacing does not apply)."""
    rng = log.rng
    previewing = waiting + rng.randrange(2, 15) * SECOND
    log.move(agent, 4, previewing)
    dialling = previewing + int(rng.uniform(5, 40) * SECOND)
    preview = round((dialling - previewing) / SECOND, 4)
    log.move(agent, 15, dialling)
    if rng.random() < 0.6:
        record = next_record(_redials(log, agent), agent.campaign, previewing, rng)
        answered = dialling + int(rng.uniform(4, 20) * SECOND)
        return _talk(log, agent, record, (dialling, answered, answered), preview)
    result = rng.choices([m[0] for m in MISSES if m[0] != ANSWER_MACHINE],
                         weights=[m[1] for m in MISSES if m[0] != ANSWER_MACHINE])[0]
    back = dialling + int(rng.uniform(5, 30) * SECOND)
    log.move(agent, 3, back)
    _miss(log, agent, dialling, result, preview)
    return back


def outbound_shift(log: Log, agent: Agent, start: int, end: int, pace: Pacing) -> None:
    """One agent's shift on an outbound campaign, from log-in to log-out."""
    waiting = login(log, agent, start)
    call = _preview_call if agent.campaign.calltype == 3 else _predictive_call
    while waiting < end:
        waiting = call(log, agent, waiting, pace)
    logout(log, agent, waiting)
