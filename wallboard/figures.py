"""The wallboard's figures (CONTRACT section 9), read from the warehouse's own views.

One source of truth: today's queue and campaign figures are rows of `v_queue_service`,
`v_campaign_daily`, `v_ofcom_compliance` (the worst rolling 24-hour rate today) and
`v_ofcom_abandoned` (the meter now: the rate of the 24 hours up to the latest counted call);
nothing here re-implements a rate. The "now" figures are the latest AgentActivity
per agent and the latest QueueInfo per queue (`v_queue_latest`), taken from the receiver's own
events when it has newer ones than the warehouse (wallboard/live.py). A view that is missing or
fails is listed in `unavailable` and its figures are left out, never invented.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from genius_wh.settings import Settings
from wallboard.live import LiveState

Row = dict[str, Any]

#: Agents whose latest AgentActivity is older than this are not counted as "now".
AGENT_HORIZON = timedelta(hours=24)

#: Each agent's latest state (arg_max: a hash aggregate, ten times cheaper than a window).
_AGENTS_NOW = """
SELECT {agent_key} AS integration, agent,
  arg_max({{'campaign': campaign, 'state': agentstate, 'at': timestampcurrentstate}},
          timestampcurrentstate) AS s
FROM agent_activity WHERE timestampcurrentstate >= ?
GROUP BY ALL"""

#: The Ofcom meter at `now`, as `v_ofcom_last_24h` shows it at the real now.
_OFCOM_NOW = """
SELECT scope, campaign, arg_max(rate_24h, window_end) AS rate_now,
  max(window_end) AS last_call_at
FROM v_ofcom_abandoned
WHERE window_end <= ? AND window_end > ?::TIMESTAMPTZ - INTERVAL 24 HOURS
GROUP BY ALL"""


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Row]:
    """The rows of one query as dicts."""
    cursor = con.execute(sql, params or [])
    names = [str(d[0]) for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class Reader:
    """Runs the wallboard's queries on one connection, noting the views it could not read."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.unavailable: list[str] = []

    def optional(self, view: str, sql: str, params: list[Any] | None = None) -> list[Row] | None:
        """The rows, or None (and `view` noted) when the view is missing or fails."""
        try:
            return rows(self.con, sql, params)
        except duckdb.Error:
            self.unavailable.append(view)
            return None


def agents_now(reader: Reader, now: datetime, live: LiveState | None = None) -> dict[str, Any]:
    """Logged-in agents per campaign and state, from each agent's latest AgentActivity: the
    warehouse's, or the receiver's when newer (wallboard/live.py)."""
    columns = {str(d[0]) for d in reader.con.execute(
        "SELECT * FROM agent_activity LIMIT 0").description or []}
    key = "integration" if "integration" in columns else "'default'"
    since = now - AGENT_HORIZON
    latest: dict[tuple[Any, Any], Row] = {}
    for r in reader.optional("agent_activity", _AGENTS_NOW.format(agent_key=key),
                             [since]) or []:
        latest[(r["integration"], r["agent"])] = r["s"]
    for r in live.agents() if live is not None else []:
        known = latest.get((r["integration"], r["agent"]))
        if r["at"] >= since and (known is None or r["at"] > known["at"]):
            latest[(r["integration"], r["agent"])] = r
    names = dict(reader.con.execute("SELECT code, description FROM dim_agentstate").fetchall())
    counts: dict[tuple[str, int], int] = {}
    for s in latest.values():
        if s["state"]:
            counted = (s["campaign"] or "(none)", s["state"])
            counts[counted] = counts.get(counted, 0) + 1
    campaigns: dict[str, Row] = {}
    for (campaign, code), agents in sorted(counts.items()):
        entry = campaigns.setdefault(campaign, {"campaign": campaign, "total": 0,
                                                "by_state": {}})
        entry["by_state"][str(code)] = agents
        entry["total"] += agents
    states = sorted({code for _, code in counts})
    return {"states": [{"code": c, "name": names.get(c, f"State {c}")} for c in states],
            "campaigns": list(campaigns.values())}


def oldest_wait_seconds(waiting: int | None, oldest: datetime | None, now: datetime) -> float:
    """How long the oldest waiting call has waited at `now` (0 with nobody waiting)."""
    if not waiting or oldest is None:
        return 0.0
    return round(max((now - oldest).total_seconds(), 0.0), 1)


def queues(reader: Reader, today: date, now: datetime,
           live: LiveState | None = None) -> list[Row]:
    """Per queue: calls waiting and the oldest wait now (the warehouse's latest QueueInfo, or
    the receiver's when received later), today's service figures."""
    stored = reader.optional("v_queue_latest", "SELECT * FROM v_queue_latest") or []
    newest = {(r["campaign"], r["queuenumber"]): r for r in stored}
    for r in live.queues() if live is not None else []:
        known = newest.get((r["campaign"], r["queuenumber"]))
        if known is None or r["received_at"] > known["received_at"]:
            newest[(r["campaign"], r["queuenumber"])] = r
    latest = list(newest.values())
    service = reader.optional("v_queue_service",
                              "SELECT * FROM v_queue_service WHERE local_day = ?", [today]) or []
    merged: dict[tuple[Any, Any], Row] = {}
    for r in latest:
        merged[(r["campaign"], r["queuenumber"])] = {
            "campaign": r["campaign"], "queuenumber": r["queuenumber"],
            "queuename": r.get("queuename"), "waiting": r.get("callsinqueue") or 0,
            "oldest_wait_seconds": oldest_wait_seconds(r.get("callsinqueue"),
                                                       r.get("oldestcall"), now),
            "info_at": r.get("event_timestamp")}
    for r in service:
        entry = merged.setdefault((r["campaign"], r["queuenumber"]), {
            "campaign": r["campaign"], "queuenumber": r["queuenumber"], "queuename": None,
            "waiting": 0, "oldest_wait_seconds": 0.0, "info_at": None})
        entry.update({name: r.get(name) for name in (
            "offered", "answered", "abandoned", "service_level", "abandon_rate")})
        entry["asa_seconds"] = r.get("avg_speed_of_answer_seconds")
    return sorted(merged.values(), key=lambda q: (str(q["campaign"]), str(q["queuename"]),
                                                  q["queuenumber"] or 0))


def ofcom_today(reader: Reader, today: date, now: datetime) -> dict[Any, Row]:
    """Per outbound campaign (None: the whole centre): the meter now, today's worst."""
    meters = reader.optional("v_ofcom_abandoned", _OFCOM_NOW, [now, now]) or []
    found: dict[Any, Row] = {}
    for r in meters:
        key = None if r["scope"] == "centre" else r["campaign"]
        found[key] = {"rate_now": r["rate_now"], "rate_24h": None, "over_limit": None}
    worst = reader.optional("v_ofcom_compliance",
                            "SELECT * FROM v_ofcom_compliance WHERE local_day = ?", [today])
    for r in worst or []:
        key = None if r.get("scope") == "centre" else r.get("campaign")
        entry = found.setdefault(key, {"rate_now": None})
        entry.update(rate_24h=r.get("worst_rate_24h"), over_limit=r.get("over_limit"),
                     window_end=r.get("worst_window_end"))
    return found


def campaigns(reader: Reader, today: date, now: datetime) -> tuple[list[Row], Row | None]:
    """Today's dials and connects per outbound campaign with its Ofcom rates; the centre's."""
    daily = reader.optional("v_campaign_daily",
                            "SELECT * FROM v_campaign_daily WHERE local_day = ?", [today]) or []
    rates = ofcom_today(reader, today, now)
    dialled = reader.optional("v_sessions", "SELECT DISTINCT campaign FROM v_sessions "
                              "WHERE local_day = ? AND is_outbound", [today]) or []
    outbound = (set(rates) - {None}) | {r["campaign"] for r in dialled}
    picked = []
    for r in daily:
        if r["campaign"] not in outbound:
            continue
        rate = rates.get(r["campaign"], {})
        picked.append({"campaign": r["campaign"], "dials": r.get("dials"),
                       "connects": r.get("connects"), "connect_rate": r.get("connect_rate"),
                       "ofcom_rate_now": rate.get("rate_now"),
                       "ofcom_rate_24h": rate.get("rate_24h"),
                       "ofcom_over_limit": rate.get("over_limit"),
                       "ofcom_window_end": rate.get("window_end")})
    return sorted(picked, key=lambda c: str(c["campaign"])), rates.get(None)


def read_figures(con: duckdb.DuckDBPyConnection, settings: Settings, now: datetime,
                 live: LiveState | None = None) -> dict[str, Any]:
    """Every figure of the wallboard at `now` (aware), from one warehouse connection and,
    for the "now" figures, the receiver's newer events (`live`)."""
    reader = Reader(con)
    today = now.astimezone(settings.tz).date()
    campaign_rows, centre = campaigns(reader, today, now)
    return {
        "generated_at": now, "local_day": today, "timezone": settings.timezone,
        "ofcom_limit": getattr(settings, "ofcom_limit", 0.03),
        "agents": agents_now(reader, now, live), "queues": queues(reader, today, now, live),
        "campaigns": campaign_rows, "centre_ofcom": centre,
        "unavailable": reader.unavailable,
    }
