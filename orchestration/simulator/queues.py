"""QueueInfo: the state of each inbound queue after every change, derived from the calls."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from orchestration.simulator.clock import SECOND

FIVE_MINUTES = 5 * 60 * SECOND


@dataclass(frozen=True, kw_only=True)
class QueueChange:
    """A call joins a queue (answered None), is answered (its wait) or abandoned (-1)."""

    at: int
    queue: int
    arrived: int
    answered: int | None


@dataclass(kw_only=True)
class QueueState:
    """Running figures of one queue."""

    waiting: list[int] = field(default_factory=list)
    total: int = 0
    abandoned: int = 0
    answer_sum: int = 0
    answers: int = 0
    recent: deque[tuple[int, int]] = field(default_factory=deque)

    def apply(self, change: QueueChange) -> None:
        """Update the figures with one change."""
        if change.answered is None:
            self.waiting.append(change.arrived)
            self.total += 1
            return
        self.waiting.remove(change.arrived)
        if change.answered < 0:
            self.abandoned += 1
            return
        self.answer_sum += change.answered
        self.answers += 1
        self.recent.append((change.at, change.answered))

    def figures(self, now: int) -> dict[str, float | int | None]:
        """callsinqueue, averages (seconds) and totals as QueueInfo reports them."""
        while self.recent and self.recent[0][0] < now - FIVE_MINUTES:
            self.recent.popleft()
        recent = [wait for _, wait in self.recent]
        return {
            "callsinqueue": len(self.waiting),
            "averageanswer": round(self.answer_sum / self.answers / SECOND, 6)
            if self.answers else 0,
            "totalcalls": self.total,
            "totalabandoned": self.abandoned,
            "averageanswer5mins": round(sum(recent) / len(recent) / SECOND, 6) if recent else 0,
        }


def in_order(changes: list[QueueChange]) -> list[QueueChange]:
    """Changes by time; at one instant, arrivals first (a call answered at once)."""
    return sorted(changes, key=lambda c: (c.at, c.answered is not None, c.arrived))
