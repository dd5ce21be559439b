"""The "now" figures as the receiver takes events in, seconds before any batch loads them.

The receiver hands every event it has made durable to `LiveState.observe` (ingest/app.py's
listeners). Each agent's latest AgentActivity and each queue's latest QueueInfo are kept in
this process, normalised by the same rules as the warehouse (transform/normalise.py), and
written every second to `wallboard-live.json` so they survive a restart. The wallboard takes,
per agent and per queue, whichever is newer: this or the warehouse's (wallboard/figures.py),
by the views' own order (an agent's latest state change; a queue's latest received update).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Final

import orjson

from genius_wh.durable import atomic_write
from genius_wh.records import DEFAULT_INTEGRATION, SpoolRecord
from genius_wh.settings import Settings
from genius_wh.tables import AGENT_ACTIVITY, QUEUE_INFO
from transform.normalise import normalise_event

log = logging.getLogger("genius_wh.wallboard")

FILE: Final = "wallboard-live.json"
#: How often a changed state is written to its file.
SAVE_SECONDS: Final = 1.0
_AGENT = {name: i for i, (name, _) in enumerate(AGENT_ACTIVITY)}
_QUEUE = {name: i for i, (name, _) in enumerate(QUEUE_INFO)}
_ACTIONS: Final = {"agentactivity", "queueinfo"}

Row = dict[str, Any]


class LiveState:
    """Latest state per agent (`integration`, `agent`) and per queue (`campaign`,
    `queuenumber`); thread-safe, saved in the background while `start`ed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.data_dir / FILE
        self._lock = threading.Lock()
        self._agents: dict[str, Row] = {}
        self._queues: dict[str, Row] = {}
        self._dirty = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._load()

    def start(self) -> LiveState:
        """Save changes every SAVE_SECONDS until `close`."""
        self._thread = threading.Thread(target=self._save_loop, name="wallboard-live",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop saving, after a last save."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save()

    def observe(self, record: SpoolRecord) -> None:
        """Take in one durable event (others than AgentActivity and QueueInfo are ignored)."""
        if str(record["action"]).strip().lower() not in _ACTIONS:
            return
        event = normalise_event(record["body"], tz=self.settings.tz)
        received = datetime.fromisoformat(record["received_at"])
        integration = record.get("integration", DEFAULT_INTEGRATION)
        if event.table == "agent_activity":
            self._agent(event.row, integration)
        elif event.table == "queue_info":
            self._queue(event.row, received)

    def agents(self) -> list[Row]:
        """Each agent's latest state: integration, agent, campaign, state, at."""
        with self._lock:
            return [dict(row, at=_time(row["at"])) for row in self._agents.values()]

    def queues(self) -> list[Row]:
        """Each queue's latest update: the columns the wallboard shows, received_at."""
        with self._lock:
            return [dict(row, oldestcall=_time(row["oldestcall"]),
                         received_at=_time(row["received_at"]),
                         event_timestamp=_time(row["event_timestamp"]))
                    for row in self._queues.values()]

    def _agent(self, row: list[Any], integration: str) -> None:
        agent, at = row[_AGENT["agent"]], row[_AGENT["timestampcurrentstate"]]
        if agent is None or at is None or row[_AGENT["agentstate"]] is None:
            return
        key = f"{integration}\0{agent}"
        with self._lock:
            known = self._agents.get(key)
            if known is not None and _time(known["at"]) >= at:
                return
            self._agents[key] = {"integration": integration, "agent": agent,
                                 "campaign": row[_AGENT["campaign"]],
                                 "state": row[_AGENT["agentstate"]], "at": at.isoformat()}
            self._dirty = True

    def _queue(self, row: list[Any], received: datetime) -> None:
        campaign, number = row[_QUEUE["campaign"]], row[_QUEUE["queuenumber"]]
        oldest, stamp = row[_QUEUE["oldestcall"]], row[_QUEUE["event_timestamp"]]
        with self._lock:
            self._queues[f"{campaign}\0{number}"] = {
                "campaign": campaign, "queuenumber": number,
                "queuename": row[_QUEUE["queuename"]],
                "callsinqueue": row[_QUEUE["callsinqueue"]],
                "oldestcall": oldest.isoformat() if oldest else None,
                "event_timestamp": stamp.isoformat() if stamp else None,
                "received_at": received.isoformat()}
            self._dirty = True

    def save(self) -> None:
        """Write the state when it changed (no fsync: it is rebuilt from the warehouse)."""
        with self._lock:
            if not self._dirty:
                return
            data = orjson.dumps({"agents": self._agents, "queues": self._queues})
            self._dirty = False
        try:
            atomic_write(self.path, data, sync=False)
        except OSError as exc:
            log.warning("wallboard: cannot save %s: %s", self.path, exc)

    def _save_loop(self) -> None:
        while not self._stop.wait(SAVE_SECONDS):
            self.save()

    def _load(self) -> None:
        try:
            saved = orjson.loads(self.path.read_bytes())
            self._agents, self._queues = dict(saved["agents"]), dict(saved["queues"])
        except FileNotFoundError:
            pass
        except (orjson.JSONDecodeError, KeyError, TypeError, OSError) as exc:
            log.warning("wallboard: ignoring an unreadable %s: %s", self.path, exc)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
