"""Reports a floor manager asks for: the per-agent daily scorecard, agent outcomes by the
user's disposition list, dial attempts per URN and list penetration, card payments reconciled
with their calls (SELECTs behind `warehouse.views`)."""

from __future__ import annotations

from typing import Final

#: The user's disposition list (`genius-wh dispositions load`, warehouse.dispositions): agent
#: result code -> name, outcome group, positive or not. A bookkeeping table the views join.
DISPOSITIONS: Final = "_dispositions"
DISPOSITION_COLUMNS: Final = (
    "code INTEGER NOT NULL, name VARCHAR NOT NULL, outcome_group VARCHAR NOT NULL, "
    "is_positive BOOLEAN NOT NULL, loaded_at TIMESTAMPTZ NOT NULL, source VARCHAR")
#: Run before the views, so that any connection `create_views` is given has the table.
DISPOSITIONS_DDL: Final = f"CREATE TABLE IF NOT EXISTS {DISPOSITIONS} ({DISPOSITION_COLUMNS})"


def agent_scorecard(tz: str) -> str:
    """`v_agent_scorecard`: per agent and local day, calls, handle times, outcomes, payments
    and state time."""
    return f"""
WITH calls AS (
  SELECT agent, local_day, count(*) AS calls_handled,
    round(avg(talktime), 2) AS avg_talk_seconds, round(avg(holdtime), 2) AS avg_hold_seconds,
    round(avg(wraptime), 2) AS avg_wrap_seconds, round(avg(handletime), 2) AS avg_handle_seconds,
    histogram(s.agentresult) FILTER (s.agentresult IS NOT NULL) AS agent_results,
    histogram(d.name) FILTER (d.name IS NOT NULL) AS agent_result_names,
    histogram(d.outcome_group) FILTER (d.outcome_group IS NOT NULL) AS outcome_groups,
    count(*) FILTER (d.is_positive) AS positive_results,
    count(*) FILTER (s.agentresult IS NOT NULL AND d.code IS NULL) AS unknown_results
  FROM v_sessions s LEFT JOIN _dispositions d ON d.code = s.agentresult
  WHERE s.is_voice AND s.is_connect AND s.agent IS NOT NULL
  GROUP BY s.agent, s.local_day),
payments AS (
  SELECT agent, timezone({tz}, coalesce(payment_timestamp, event_timestamp))::DATE AS local_day,
    count(*) AS payment_attempts, count(*) FILTER (succeeded) AS payments_succeeded
  FROM card_payment WHERE agent IS NOT NULL GROUP BY ALL)
SELECT agent, local_day,
  coalesce(calls_handled, 0) AS calls_handled, avg_talk_seconds, avg_hold_seconds,
  avg_wrap_seconds, avg_handle_seconds, agent_results, agent_result_names, outcome_groups,
  coalesce(positive_results, 0) AS positive_results,
  coalesce(unknown_results, 0) AS unknown_results,
  round(positive_results / nullif(calls_handled, 0), 4) AS positive_rate,
  coalesce(payment_attempts, 0) AS payment_attempts,
  coalesce(payments_succeeded, 0) AS payments_succeeded,
  d.logged_in_seconds, d.on_contact_seconds, d.waiting_seconds, d.break_seconds,
  d.occupancy, d.utilisation
FROM calls
FULL JOIN payments USING (agent, local_day)
FULL JOIN v_agent_daily d USING (agent, local_day)"""


def outcomes(by: str) -> str:
    """`v_agent_outcomes` (`by` = "agent") and `v_campaign_outcomes` ("campaign"): agent
    results per `by`, local day and outcome group (NULL: a code not in the list)."""
    return f"""
WITH results AS (
  SELECT s.{by}, s.local_day, s.agentresult, s.is_connect, d.outcome_group,
    coalesce(d.is_positive, false) AS is_positive, d.code IS NULL AS is_unknown
  FROM v_sessions s LEFT JOIN _dispositions d ON d.code = s.agentresult
  WHERE s.{by} IS NOT NULL AND s.agentresult IS NOT NULL)
SELECT {by}, local_day, outcome_group, count(*) AS results,
  count(*) FILTER (is_positive) AS positive_results,
  count(*) FILTER (is_unknown) AS unknown_results,
  count(DISTINCT agentresult) AS codes,
  round(count(*) / sum(count(*)) OVER (PARTITION BY {by}, local_day), 4) AS share
FROM results GROUP BY {by}, local_day, outcome_group"""


URN_ATTEMPTS: Final = """
WITH attempts AS (
SELECT campaign, urn, count(*) AS attempts,
  min(started_at) AS first_attempt_at, max(started_at) AS last_attempt_at,
  count(*) FILTER (is_connect) AS connects,
  count(*) FILTER (is_abandoned OR is_late_connect) AS abandoned,
  arg_max(diallerresult, started_at) AS last_diallerresult,
  arg_max(agentresult, started_at) AS last_agentresult
FROM v_sessions WHERE is_outbound AND urn IS NOT NULL
GROUP BY campaign, urn)
SELECT a.*, d.name AS last_agentresult_name, d.outcome_group AS last_outcome_group
FROM attempts a LEFT JOIN _dispositions d ON d.code = a.last_agentresult"""

LIST_PENETRATION: Final = """
SELECT campaign, count(*) AS records_dialled, sum(attempts) AS attempts,
  round(sum(attempts) / count(*), 2) AS attempts_per_record,
  count(*) FILTER (connects > 0) AS records_connected,
  round(records_connected / count(*), 4) AS connected_share,
  max(attempts) AS max_attempts
FROM v_urn_attempts GROUP BY campaign"""

#: A payment belongs to the session of the same campaign and agent (and URN, when the payment
#: names one) whose launch-to-end span holds the payment time; the latest launched wins.
CARD_RECONCILIATION: Final = """
WITH matched AS (
  SELECT p.*, s.event_id AS session_event_id, s.id AS session_id,
    s.started_at AS session_started_at
  FROM card_payment p
  LEFT JOIN v_sessions s
    ON s.campaign = p.campaign AND s.agent = p.agent
   AND (p.urn IS NULL OR s.urn = p.urn)
   AND coalesce(p.payment_timestamp, p.event_timestamp)
       BETWEEN s.started_at AND coalesce(s.timestampsessionended, s.event_timestamp)
  QUALIFY row_number() OVER (PARTITION BY p.event_id
                             ORDER BY s.started_at DESC NULLS LAST, s.event_id) = 1)
SELECT campaign, urn, session_id, session_event_id, session_started_at, currency,
  count(*) AS attempts, count(*) FILTER (succeeded) AS successes,
  sum(amount) AS amount_attempted_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) AS amount_collected_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) / 100 AS amount_collected
FROM matched GROUP BY ALL"""
