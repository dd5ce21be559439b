"""Dialler records of the outbound campaigns: fresh ones, and the ones due for a redial."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Any

from orchestration.simulator.campaigns import Campaign, recorddata, telnumber
from orchestration.simulator.clock import SECOND

HOUR = 3600 * SECOND
#: The simulator's dialler result for an answer machine its AMD detected (the dialler hangs
#: up; nobody was live). The specification lists "typical values" only and none for this.
ANSWER_MACHINE = 4
#: Hours (from, to) until a record is dialled again after a dialler result; results not
#: listed (connected, bad numbers) are not redialled by the dialler.
RETRY_HOURS = {1: (0.25, 1.0), 2: (1.0, 4.0), ANSWER_MACHINE: (2.0, 6.0), 7: (24.0, 30.0)}
#: Hours until a customer who asked for a call back is dialled again.
CALLBACK_HOURS = (20.0, 28.0)
MAX_ATTEMPTS = 6
#: Chance that the dialler takes a record due for a redial rather than a fresh one.
REDIAL_SHARE = 0.5


@dataclass(frozen=True, kw_only=True)
class Record:
    """One dialler record: the same URN, number and fields on every attempt."""

    urn: str
    tel: str
    data: dict[str, Any]
    attempts: int = 1


@dataclass(kw_only=True)
class Redials:
    """A campaign's records waiting for their next attempt, earliest due first."""

    due: list[tuple[int, int, Record]] = field(default_factory=list)
    added: int = 0

    def take(self, now: int) -> Record | None:
        """The record due longest ago, if one is due by `now`."""
        if not self.due or self.due[0][0] > now:
            return None
        return heapq.heappop(self.due)[2]

    def later(self, record: Record, at: int, hours: tuple[float, float],
              rng: random.Random) -> None:
        """Dial `record` again some `hours` after `at`, unless it had its attempts."""
        if record.attempts >= MAX_ATTEMPTS:
            return
        self.added += 1
        due = at + int(rng.uniform(*hours) * HOUR)
        heapq.heappush(self.due, (due, self.added, record))


def next_record(redials: Redials, campaign: Campaign, now: int,
                rng: random.Random) -> Record:
    """A record due for a redial (about half the time, when one is due) or a fresh one."""
    again = redials.take(now) if rng.random() < REDIAL_SHARE else None
    if again is not None:
        return Record(urn=again.urn, tel=again.tel, data=again.data,
                      attempts=again.attempts + 1)
    urn = f"{campaign.name[:3].upper()}-{rng.randrange(10**9):09d}"
    tel = telnumber(rng)
    return Record(urn=urn, tel=tel, data=recorddata(campaign, urn, tel, rng))
