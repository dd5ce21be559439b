"""Contact-centre views over the contract tables: rates, handle times, agent states, queues,
the Ofcom abandoned-call rate.

Plain DuckDB views and table macros (no keys, indexes or temporary objects), created on
whatever connection the caller gives. Local days and hours follow one IANA time zone baked
into the views when they are created (`create_views(con, tz=...)`), so every reader sees the
same days whatever its own TimeZone setting; the settings the figures need are baked in the
same way. The definitions and their sources are in docs/parts/analytics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import duckdb

from warehouse import views_agents, views_calls, views_ofcom, views_reports, views_summaries
from warehouse.sql import literal
from warehouse.views_summaries import Summary

DEFAULT_TZ: Final = "Europe/London"
#: Service-level threshold (seconds in queue) of `v_queue_service`.
SERVICE_LEVEL_SECONDS: Final = 20

VIEWS: Final[dict[str, str]] = {
    "v_sessions": "session_ended with local day/hour and UTC offset, voice/outbound, connect, "
    "abandon and 2-second-rule flags, answer time and handle time",
    "v_campaign_daily": "per campaign and local day: voice dials, messages, connects, "
    "abandons, abandon rate of live calls, average talk/hold/wrap/handle seconds",
    "v_campaign_hourly": "v_campaign_daily per local hour and UTC offset",
    "v_outcome_mix": "per campaign and local day: sessions by dialler result and call type, "
    "with descriptions and share",
    "v_ofcom_abandoned": "Ofcom abandoned-call rate over the 24 hours ending at each counted "
    "outbound call, per campaign and for the whole centre",
    "v_ofcom_compliance": "per local day, campaign and whole centre: the worst rolling 24-hour "
    "Ofcom abandoned-call rate, its window and whether it is over ofcom_limit",
    "v_ofcom_last_24h": "per campaign and whole centre with counted calls in the last 24 hours: "
    "the Ofcom rate now, the worst of those hours and whether it went over ofcom_limit",
    "v_agent_state_classes": "the 16 agent states with their class: logged_out, not_ready, "
    "idle, on_contact",
    "v_agent_state_intervals": "one row per agent state interval, rebuilt from the state "
    "entries of AgentActivity events, capped",
    "v_agent_state_hourly": "seconds per agent, state, local hour and UTC offset (intervals "
    "split at hour boundaries)",
    "v_agent_state_15min": "seconds per agent, state and local quarter hour (intervals split "
    "at quarter-hour boundaries)",
    "v_agent_daily": "per agent and local day: logged-in, waiting, talking, wrap, break, "
    "not-ready and on-contact seconds, occupancy and utilisation",
    "v_agent_breaks": "per agent, local day and break reason: breaks and seconds",
    "v_agent_scorecard": "per agent and local day: calls handled, average talk/hold/wrap/"
    "handle seconds, agent results (codes, names, outcome groups, positive), card payments, "
    "logged-in time, occupancy, utilisation",
    "v_agent_outcomes": "per agent, local day and outcome group of the disposition list: "
    "agent results, positive ones, codes not in the list, share of the agent's day",
    "v_campaign_outcomes": "per campaign, local day and outcome group of the disposition "
    "list: agent results, positive ones, codes not in the list, share of the campaign's day",
    "v_urn_attempts": "per outbound campaign and URN: dial attempts, first and last attempt, "
    "connects, abandons, last results with the last agent result's name and outcome group",
    "v_list_penetration": "per outbound campaign: records dialled, attempts per record, "
    "records connected and their share",
    "v_queue_service": "inbound queues per local day: offered, answered, abandoned, short "
    "abandons, service level within 20 s (Genesys and Amazon Connect forms), speed of answer",
    "v_queue_15min": "inbound queues per local quarter hour: offered, answered, abandoned, "
    "service level, speed of answer, and QueueInfo's totals as per-interval deltas",
    "v_queue_30min": "v_queue_15min per local half hour",
    "v_queue_latest": "the latest QueueInfo per campaign and queue, by arrival",
    "v_card_payments": "card payments per local day, campaign, agent and currency: attempts, "
    "successes, success rate, amounts",
    "v_card_payment_reconciliation": "card payments per campaign, URN, call (session) and "
    "currency: attempts, successes, amounts attempted and collected",
}


@dataclass(frozen=True, kw_only=True)
class FigureSettings:
    """The settings baked into the views (see genius_wh.settings for their meaning)."""

    tz: str = DEFAULT_TZ
    ofcom_limit: float = 0.03
    ofcom_calltypes: tuple[int, ...] = (0, 4)
    amd_false_positive_rate: float = 0.0
    agent_state_cap_minutes: float = 120
    short_abandon_seconds: float = 5


def tz_literal(tz: str) -> str:
    """A validated time-zone name as a SQL string literal."""
    ZoneInfo(tz)  # raises for an unknown zone
    return literal(tz)


def summaries(figures: FigureSettings | None = None) -> dict[str, Summary]:
    """The summarised views (`v_<name>`) by name, with these settings baked in."""
    f = figures or FigureSettings()
    found = views_summaries.summaries(
        tz_literal(f.tz), cap_minutes=f.agent_state_cap_minutes, calltypes=f.ofcom_calltypes,
        amd_rate=f.amd_false_positive_rate, limit=f.ofcom_limit)
    return {summary.name: summary for summary in found}


def _summarised(figures: FigureSettings, name: str, live: str) -> dict[str, str]:
    """The full-history definition as `_v_<name>_live`, then the view over the summary."""
    summary = summaries(figures)[name]
    return {f"_v_{name}_live": live,
            f"v_{name}": views_summaries.view_sql(summary, tz_literal(figures.tz))}


def view_sql(figures: FigureSettings | None = None) -> dict[str, str]:
    """The SELECT of every view, in creation order (`_v_*_live`: the full-history
    definitions of the summarised views)."""
    f = figures or FigureSettings()
    z = tz_literal(f.tz)
    return {
        "v_sessions": views_calls.sessions(z),
        **_summarised(f, "campaign_daily", views_calls.campaign_daily()),
        "v_campaign_hourly": views_calls.CAMPAIGN_HOURLY,
        "v_outcome_mix": views_calls.OUTCOME_MIX,
        "v_ofcom_abandoned": views_ofcom.ofcom_abandoned(
            z, f.ofcom_calltypes, f.amd_false_positive_rate, f.ofcom_limit),
        **_summarised(f, "ofcom_compliance", views_ofcom.ofcom_compliance(
            f.amd_false_positive_rate, f.ofcom_limit)),
        "v_ofcom_last_24h": views_ofcom.OFCOM_LAST_24H,
        "v_agent_state_classes": views_agents.state_classes(),
        "v_agent_state_intervals": views_agents.state_intervals(f.agent_state_cap_minutes),
        "v_agent_state_15min": views_agents.state_15min(z),
        "v_agent_state_hourly": views_agents.STATE_HOURLY,
        **_summarised(f, "agent_daily", views_agents.agent_daily(z)),
        "v_agent_breaks": views_agents.agent_breaks(z),
        "v_agent_scorecard": views_reports.agent_scorecard(z),
        "v_agent_outcomes": views_reports.outcomes("agent"),
        "v_campaign_outcomes": views_reports.outcomes("campaign"),
        "v_urn_attempts": views_reports.URN_ATTEMPTS,
        "v_list_penetration": views_reports.LIST_PENETRATION,
        "v_queue_service": "SELECT * FROM queue_service()",
        "v_queue_15min": "SELECT * FROM queue_intervals(minutes := 15)",
        "v_queue_30min": "SELECT * FROM queue_intervals(minutes := 30)",
        "v_queue_latest": views_calls.QUEUE_LATEST,
        "v_card_payments": views_calls.card_payments(z),
        "v_card_payment_reconciliation": views_reports.CARD_RECONCILIATION,
    }


def create_views(
    con: duckdb.DuckDBPyConnection,
    *,
    tz: str,
    ofcom_limit: float = 0.03,
    ofcom_calltypes: tuple[int, ...] = (0, 4),
    amd_false_positive_rate: float = 0.0,
    agent_state_cap_minutes: float = 120,
    short_abandon_seconds: float = 5,
) -> None:
    """Create (or replace) every analytics view; idempotent. Needs the contract tables."""
    figures = FigureSettings(
        tz=tz, ofcom_limit=ofcom_limit, ofcom_calltypes=tuple(ofcom_calltypes),
        amd_false_positive_rate=amd_false_positive_rate,
        agent_state_cap_minutes=agent_state_cap_minutes,
        short_abandon_seconds=short_abandon_seconds)
    con.execute(views_reports.DISPOSITIONS_DDL)  # the user's list the views join
    summarised = summaries(figures)
    for name, select in view_sql(figures).items():
        if name.removeprefix("v_") in summarised:  # after its _live view, before the view
            for statement in views_summaries.table_ddl(summarised[name.removeprefix("v_")]):
                con.execute(statement)
        if name == "v_queue_service":  # the macros read v_sessions, the views read them
            con.execute(views_calls.queue_service_macro(SERVICE_LEVEL_SECONDS,
                                                        short_abandon_seconds))
            con.execute(views_calls.queue_intervals_macro(
                tz_literal(tz), SERVICE_LEVEL_SECONDS, short_abandon_seconds))
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
