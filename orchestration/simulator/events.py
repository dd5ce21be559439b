"""The event log of a simulation and the agents whose state changes it records."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from orchestration.simulator.campaigns import CARD_TYPES, DECLINES, Campaign, person
from orchestration.simulator.clock import SECOND, payment_timestamp, seconds, vendor_timestamp
from orchestration.simulator.queues import QueueState
from orchestration.simulator.records import Redials


@dataclass(kw_only=True)
class Agent:
    """An agent: its campaign and the state it is in since when."""

    name: str
    campaign: Campaign
    extension: str
    queue: int | None = None
    state: int = 0
    since: int = 0


@dataclass(frozen=True, kw_only=True)
class Call:
    """One dialler session as SessionEnded reports it (times in microseconds)."""

    campaign: Campaign
    urn: str
    tel: str
    record: dict[str, Any]
    result: int
    launched: int
    connected: int | None
    disconnected: int
    ended: int
    agent: Agent | None = None
    agentresult: int | None = None
    wrap: int = 0
    hold: float = 0.0
    ring: float = 0.0
    preview: float | None = None
    queuetime: float = 0.0
    queuenumber: int = 0


@dataclass(kw_only=True)
class Log:
    """Every event of the run with its time, in the order the model made them."""

    rng: random.Random
    tz: ZoneInfo
    events: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    next_call_id: int = 665_847_321
    #: Running figures per queue; never reset, so no two QueueInfo objects are identical
    #: (an identical object would be taken for a redelivery of the same event).
    queues: dict[int, QueueState] = field(default_factory=dict)
    #: Per outbound campaign, the records waiting to be dialled again.
    redials: dict[str, Redials] = field(default_factory=dict)
    #: The last envelope time sent per ordered stream (a queue's QueueInfo).
    last_sent: dict[object, int] = field(default_factory=dict)

    def stamp(self, micros: int | None) -> str | None:
        """A vendor timestamp; the same instant always gives the same text."""
        if micros is None:
            return None
        return vendor_timestamp(micros, self.tz, seventh=(micros // 7) % 10)

    def emit(self, at: int, action: str, key: str, obj: dict[str, Any],
             stream: object = None) -> None:
        """Record one webhook body; its envelope timestamp is a little after the event, and
        after the previous envelope of the same `stream` (events of one stream are sent in
        order, so their envelope times never go backwards)."""
        sent = at + self.rng.randrange(40_000, 600_000)
        if stream is not None:
            sent = max(sent, self.last_sent.get(stream, 0) + 1000)
            self.last_sent[stream] = sent
        body = {"action": action, "timestamp": self.stamp(sent), key: obj}
        self.events.append((at, len(self.events), body))

    def move(self, agent: Agent, to: int, at: int, reason: int = 0) -> None:
        """Put an agent in state `to` at `at`: one AgentActivity event."""
        self.emit(at, "AgentActivity", "agentactivity", {
            "campaign": agent.campaign.name, "agent": agent.name,
            "extension": agent.extension, "queue": agent.queue, "agentstate": to,
            "previousstate": agent.state, "timestampcurrentstate": self.stamp(at),
            "timestamppreviousstate": self.stamp(agent.since), "breakreason": reason})
        agent.state, agent.since = to, at

    def session(self, call: Call) -> None:
        """One SessionEnded event for a finished call."""
        self.next_call_id += self.rng.randrange(1, 40)
        talk = seconds(call.disconnected - call.connected) if call.connected else 0
        obj: dict[str, Any] = {
            "campaign": call.campaign.name, "agent": call.agent.name if call.agent else None,
            "URN": call.urn, "telnumber": call.tel, "diallerresult": call.result,
            "agentresult": call.agentresult, "calltype": call.campaign.calltype,
            "timestamplaunched": self.stamp(call.launched),
            "timestampconnected": self.stamp(call.connected),
            "timestampdisconnected": self.stamp(call.disconnected),
            "timestampsessionended": self.stamp(call.ended),
            "talktime": talk, "wrapptime": seconds(call.wrap), "holdtime": call.hold,
            "ringtime": call.ring, "queuetime": call.queuetime,
            "queuenumber": call.queuenumber, "CLI": call.campaign.cli, "ID": self.next_call_id,
            "recorddata": call.record}
        if call.preview is not None:
            obj["previewtime"] = call.preview
        self.emit(call.ended, "SessionEnded", "session", obj)

    def payment(self, agent: Agent, urn: str, at: int) -> None:
        """One CardPayment event: mostly successes, some declines."""
        rng = self.rng
        ok = rng.random() < 0.85
        fore, sur = person(rng)
        self.emit(at, "CardPayment", "CardPayment", {
            "campaign": agent.campaign.name, "agent": agent.name,
            "timestamp": payment_timestamp(at, self.tz), "URN": urn,
            "cardtype": rng.choice(CARD_TYPES), "cardholder": f"{rng.choice('AJMKS')} {fore} {sur}",
            "last4digits": f"{rng.randrange(10_000):04d}",
            "amount": rng.randrange(5, 500) * 100 + rng.choice((0, 0, 50, 99)),
            "currency": rng.choices(("GBP", "EUR", "USD"), weights=(85, 10, 5))[0],
            "result": "Success" if ok else rng.choice(DECLINES)})


def login(log: Log, agent: Agent, at: int) -> int:
    """Log an agent in (0 -> 2 -> 3); returns when it starts waiting."""
    log.move(agent, 2, at)
    ready = at + log.rng.randrange(10, 90) * SECOND
    log.move(agent, 3, ready)
    return ready


def logout(log: Log, agent: Agent, at: int) -> None:
    """Log an agent out (-> 2 -> 0), as in the vendor's example."""
    log.move(agent, 2, at)
    log.move(agent, 0, at + log.rng.randrange(20, 180) * SECOND)


def after_wrap(log: Log, agent: Agent, at: int) -> int:
    """Back to waiting, or first a break with a reason; returns when it waits again."""
    rng = log.rng
    if rng.random() >= 0.05:
        log.move(agent, 3, at)
        return at
    reason = rng.choice((1, 2, 2, 3, 4))
    log.move(agent, 2, at, reason)
    back = at + rng.randrange(3 * 60, 25 * 60) * SECOND
    log.move(agent, 3, back, reason)
    return back
