"""Contact-centre views over the contract tables: rates, handle times, agent states, queues.

Local days and hours follow one IANA time zone baked into the views when they are created
(`create_views(con, tz=...)`, default Europe/London), so every reader (notebook, `sql`, the
DuckDB client) sees the same days whatever its own TimeZone setting.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

import duckdb

DEFAULT_TZ: Final = "Europe/London"
#: Service-level threshold (seconds in queue) of `v_queue_service`.
SERVICE_LEVEL_SECONDS: Final = 20
#: Outbound voice call types for the Ofcom abandoned-call rate.
OUTBOUND_CALLTYPES: Final = (0, 3, 4, 9, 10)
#: Agent states that count as handling a contact (previewing, talking, wrap, dialling).
HANDLING_STATES: Final = (4, 6, 7, 9, 15)

VIEWS: Final[dict[str, str]] = {
    "v_sessions": "session_ended with local day/hour, connect/abandon flags and handle time",
    "v_campaign_daily": "per campaign and local day: dials, connects, abandons, rates, "
    "average talk/hold/wrap/handle seconds",
    "v_campaign_hourly": "v_campaign_daily per local hour",
    "v_outcome_mix": "per campaign and local day: sessions by dialler result and call type, "
    "with descriptions and share",
    "v_ofcom_abandoned": "outbound abandoned-call rate per campaign over the rolling 24 hours "
    "ending at each hour, flagged over 3%",
    "v_agent_state_intervals": "one row per agent state interval, from consecutive "
    "AgentActivity events",
    "v_agent_state_hourly": "seconds per agent, state and local hour (intervals split at "
    "hour boundaries)",
    "v_agent_state_15min": "seconds per agent, state and local quarter hour (intervals split "
    "at quarter-hour boundaries)",
    "v_agent_daily": "per agent and local day: logged-in, waiting, talking, wrap, break "
    "seconds, occupancy and utilisation",
    "v_agent_breaks": "per agent, local day and break reason: breaks and seconds",
    "v_queue_service": "inbound queues per local day: offered, answered, abandoned, service "
    "level within 20 s, average speed of answer",
    "v_queue_latest": "the latest QueueInfo per campaign and queue",
    "v_card_payments": "card payments per local day, campaign, agent and currency: attempts, "
    "successes, success rate, amounts",
}


def _literal(tz: str) -> str:
    """A validated time-zone name as a SQL string literal."""
    ZoneInfo(tz)  # raises for an unknown zone
    return "'" + tz.replace("'", "''") + "'"


def _codes(codes: tuple[int, ...]) -> str:
    return ", ".join(str(int(c)) for c in codes)


def _sessions(tz: str) -> str:
    return f"""
SELECT s.*,
  coalesce(timestamplaunched, timestampsessionended, event_timestamp) AS started_at,
  timezone({tz}, started_at)::DATE AS local_day,
  date_trunc('hour', timezone({tz}, started_at)) AS local_hour,
  coalesce(diallerresult = 10, false) AS is_connect,
  coalesce(diallerresult = 7, false) AS is_abandoned,
  coalesce(calltype IN ({_codes(OUTBOUND_CALLTYPES)}), false) AS is_outbound,
  CASE WHEN diallerresult = 10 THEN coalesce(talktime, 0) + coalesce(wraptime, 0) END
    AS handletime
FROM session_ended s"""


_CAMPAIGN_MEASURES = """
  count(*) AS dials,
  count(*) FILTER (is_connect) AS connects,
  round(count(*) FILTER (is_connect) / count(*), 4) AS connect_rate,
  count(*) FILTER (is_abandoned) AS abandoned,
  round(count(*) FILTER (is_abandoned) / count(*), 4) AS abandon_rate,
  round(avg(talktime) FILTER (is_connect), 2) AS avg_talk_seconds,
  round(avg(holdtime) FILTER (is_connect), 2) AS avg_hold_seconds,
  round(avg(wraptime) FILTER (is_connect), 2) AS avg_wrap_seconds,
  round(avg(handletime) FILTER (is_connect), 2) AS avg_handle_seconds
FROM v_sessions"""

_OUTCOME_MIX = """
SELECT s.campaign, s.local_day, s.diallerresult, dr.description AS diallerresult_description,
  s.calltype, ct.description AS calltype_description, count(*) AS sessions,
  round(count(*) / sum(count(*)) OVER (PARTITION BY s.campaign, s.local_day), 4) AS share
FROM v_sessions s
LEFT JOIN dim_diallerresult dr ON dr.code = s.diallerresult
LEFT JOIN dim_calltype ct ON ct.code = s.calltype
GROUP BY s.campaign, s.local_day, s.diallerresult, dr.description, s.calltype, ct.description"""


def _ofcom(tz: str) -> str:
    return f"""
WITH hourly AS (
  SELECT campaign, date_trunc('hour', timezone('UTC', started_at)) AS hour_utc,
    count(*) FILTER (is_abandoned) AS abandoned, count(*) FILTER (is_connect) AS connected
  FROM v_sessions WHERE is_outbound GROUP BY ALL),
rolling AS (
  SELECT campaign, hour_utc,
    sum(abandoned) OVER w AS abandoned_24h, sum(connected) OVER w AS connected_24h
  FROM hourly
  WINDOW w AS (PARTITION BY campaign ORDER BY hour_utc
               RANGE BETWEEN INTERVAL 23 HOURS PRECEDING AND CURRENT ROW))
SELECT campaign,
  timezone('UTC', hour_utc + INTERVAL 1 HOUR) AS window_end,
  timezone({tz}, timezone('UTC', hour_utc + INTERVAL 1 HOUR)) AS window_end_local,
  abandoned_24h::BIGINT AS abandoned_24h, connected_24h::BIGINT AS connected_24h,
  round(abandoned_24h / nullif(abandoned_24h + connected_24h, 0), 4) AS abandon_rate,
  coalesce(abandoned_24h / nullif(abandoned_24h + connected_24h, 0) > 0.03, false)
    AS over_limit
FROM rolling"""


_STATE_INTERVALS = """
SELECT a.agent, a.campaign, a.previousagentstate AS state, d.description AS state_description,
  a.timestamppreviousstate AS started_at, a.timestampcurrentstate AS ended_at,
  epoch(a.timestampcurrentstate - a.timestamppreviousstate) AS seconds,
  CASE WHEN a.previousagentstate = 2 THEN a.breakreason END AS breakreason, a.event_id
FROM agent_activity a
LEFT JOIN dim_agentstate d ON d.code = a.previousagentstate
WHERE a.timestamppreviousstate IS NOT NULL AND a.timestampcurrentstate IS NOT NULL
  AND a.previousagentstate IS NOT NULL
  AND a.timestampcurrentstate >= a.timestamppreviousstate"""


def _state_per_interval(tz: str, minutes: int, column: str) -> str:
    """Agent state seconds per `minutes`-long local interval (intervals split at boundaries)."""
    step = f"INTERVAL {int(minutes)} MINUTE"
    return f"""
WITH pieces AS (
  SELECT i.*, timezone('UTC', started_at) AS s_utc, timezone('UTC', ended_at) AS e_utc,
    unnest(generate_series(time_bucket({step}, timezone('UTC', started_at)),
                           timezone('UTC', ended_at), {step})) AS h_utc
  FROM v_agent_state_intervals i)
SELECT agent, campaign, state, state_description, breakreason,
  timezone({tz}, timezone('UTC', h_utc))::DATE AS local_day,
  timezone({tz}, timezone('UTC', h_utc)) AS {column},
  round(sum(epoch(least(e_utc, h_utc + {step}) - greatest(s_utc, h_utc))), 3)
    AS seconds
FROM pieces
WHERE least(e_utc, h_utc + {step}) > greatest(s_utc, h_utc)
GROUP BY ALL"""


_AGENT_DAILY = f"""
WITH t AS (
  SELECT agent, local_day,
    sum(seconds) FILTER (state <> 0) AS logged_in_seconds,
    coalesce(sum(seconds) FILTER (state IN (3, 8)), 0) AS waiting_seconds,
    coalesce(sum(seconds) FILTER (state = 6), 0) AS talking_seconds,
    coalesce(sum(seconds) FILTER (state = 7), 0) AS wrap_seconds,
    coalesce(sum(seconds) FILTER (state = 2), 0) AS break_seconds,
    coalesce(sum(seconds) FILTER (state IN ({_codes(HANDLING_STATES)})), 0) AS handling_seconds
  FROM v_agent_state_hourly GROUP BY ALL)
SELECT *,
  round((talking_seconds + wrap_seconds)
        / nullif(talking_seconds + wrap_seconds + waiting_seconds, 0), 4) AS occupancy,
  round(handling_seconds / nullif(logged_in_seconds, 0), 4) AS utilisation
FROM t WHERE logged_in_seconds > 0"""

_AGENT_BREAKS = """
SELECT agent, timezone({tz}, started_at)::DATE AS local_day, breakreason,
  count(*) AS breaks, sum(seconds) AS seconds
FROM v_agent_state_intervals WHERE state = 2 GROUP BY ALL"""

#: Table macro behind `v_queue_service`: `FROM queue_service(threshold_seconds := 30)`.
_QUEUE_SERVICE_MACRO = """
CREATE OR REPLACE MACRO queue_service(threshold_seconds := {threshold}) AS TABLE
SELECT campaign, queuenumber, local_day,
  count(*) AS offered,
  count(*) FILTER (is_connect) AS answered,
  count(*) FILTER (is_abandoned) AS abandoned,
  count(*) FILTER (is_connect AND queuetime <= threshold_seconds) AS answered_within_threshold,
  round(count(*) FILTER (is_connect AND queuetime <= threshold_seconds) / count(*), 4)
    AS service_level,
  round(avg(queuetime) FILTER (is_connect), 2) AS avg_speed_of_answer_seconds,
  round(count(*) FILTER (is_abandoned) / count(*), 4) AS abandon_rate
FROM v_sessions WHERE calltype = 5 GROUP BY ALL"""

_QUEUE_LATEST = """
SELECT * FROM queue_info
QUALIFY row_number() OVER (PARTITION BY campaign, queuenumber
                           ORDER BY event_timestamp DESC, received_at DESC, event_id) = 1"""

_CARD_PAYMENTS = """
SELECT timezone({tz}, coalesce(payment_timestamp, event_timestamp))::DATE AS local_day,
  campaign, agent, currency,
  count(*) AS attempts,
  count(*) FILTER (succeeded) AS successes,
  round(count(*) FILTER (succeeded) / count(*), 4) AS success_rate,
  sum(amount) AS amount_attempted_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) AS amount_collected_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) / 100 AS amount_collected
FROM card_payment GROUP BY ALL"""


def view_sql(tz: str = DEFAULT_TZ) -> dict[str, str]:
    """The SELECT of every view, in creation order, for local days in `tz`."""
    z = _literal(tz)
    return {
        "v_sessions": _sessions(z),
        "v_campaign_daily": "SELECT campaign, local_day," + _CAMPAIGN_MEASURES
        + " GROUP BY ALL",
        "v_campaign_hourly": "SELECT campaign, local_day, local_hour," + _CAMPAIGN_MEASURES
        + " GROUP BY ALL",
        "v_outcome_mix": _OUTCOME_MIX,
        "v_ofcom_abandoned": _ofcom(z),
        "v_agent_state_intervals": _STATE_INTERVALS,
        "v_agent_state_hourly": _state_per_interval(z, 60, "local_hour"),
        "v_agent_state_15min": _state_per_interval(z, 15, "local_interval"),
        "v_agent_daily": _AGENT_DAILY,
        "v_agent_breaks": _AGENT_BREAKS.format(tz=z),
        "v_queue_service": "SELECT * FROM queue_service()",
        "v_queue_latest": _QUEUE_LATEST,
        "v_card_payments": _CARD_PAYMENTS.format(tz=z),
    }


def create_views(con: duckdb.DuckDBPyConnection, tz: str = DEFAULT_TZ) -> None:
    """Create (or replace) every analytics view; idempotent. Needs the contract tables."""
    for name, select in view_sql(tz).items():
        if name == "v_queue_service":  # the macro reads v_sessions, the view reads the macro
            con.execute(_QUEUE_SERVICE_MACRO.format(threshold=SERVICE_LEVEL_SECONDS))
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
