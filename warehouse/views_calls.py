"""Session, campaign, queue and card-payment views: the SELECTs behind `warehouse.views`.

Every function takes the time zone already as a SQL literal (`views.tz_literal`).
"""

from __future__ import annotations

from typing import Final

#: Voice call types of the specification (SessionEnded `calltype`); 40/41 e-mail, 50/51 SMS
#: and 70 chat are sessions but not calls.
VOICE_CALLTYPES: Final = (0, 3, 4, 5, 9, 10)
#: Outbound voice call types: predictive, preview, progressive, manual, follow-on.
OUTBOUND_CALLTYPES: Final = (0, 3, 4, 9, 10)
#: Ofcom: the agent must be on the line within 2 s of the customer answering.
OFCOM_CONNECT_SECONDS: Final = 2


def codes(values: tuple[int, ...]) -> str:
    """Integer codes as a SQL list body: `0, 4` (`NULL`, matching nothing, when empty)."""
    return ", ".join(str(int(c)) for c in values) or "NULL"


def double(value: float) -> str:
    """A number as a DOUBLE literal (a bare `0.03` would be a DECIMAL in DuckDB)."""
    return f"CAST({float(value)!r} AS DOUBLE)"


#: When a session started: the time its local day, hour and Ofcom window follow.
STARTED_AT: Final = "coalesce(timestamplaunched, timestampsessionended, event_timestamp)"


def sessions(tz: str, source: str = "session_ended") -> str:
    """`v_sessions`: every SessionEnded (of `source`) with its local bucket and the flags the
    rates use."""
    return f"""
SELECT s.*,
  {STARTED_AT} AS started_at,
  timezone({tz}, started_at)::DATE AS local_day,
  date_trunc('hour', timezone({tz}, started_at)) AS local_hour,
  (epoch(timezone({tz}, started_at) - timezone('UTC', started_at)) / 60)::INTEGER
    AS utc_offset_minutes,
  coalesce(calltype IN ({codes(VOICE_CALLTYPES)}), false) AS is_voice,
  coalesce(calltype IN ({codes(OUTBOUND_CALLTYPES)}), false) AS is_outbound,
  coalesce(diallerresult = 10, false) AS is_connect,
  coalesce(diallerresult = 7, false) AS is_abandoned,
  timestamplaunched + to_microseconds(CAST(round(ringtime * 1e6) AS BIGINT)) AS answered_at,
  coalesce(is_outbound AND is_connect
           AND timestampconnected > answered_at + INTERVAL {OFCOM_CONNECT_SECONDS} SECOND,
           false) AS is_late_connect,
  CASE WHEN diallerresult = 10 THEN coalesce(talktime, 0) + coalesce(wraptime, 0) END
    AS handletime
FROM {source} s"""


_CAMPAIGN_MEASURES = """
  count(*) FILTER (is_voice) AS dials,
  count(*) FILTER (NOT is_voice) AS messages,
  count(*) FILTER (is_voice AND is_connect) AS connects,
  round(connects / nullif(dials, 0), 4) AS connect_rate,
  count(*) FILTER (is_voice AND is_abandoned) AS abandoned,
  round(abandoned / nullif(abandoned + connects, 0), 4) AS abandon_rate,
  round(abandoned / nullif(dials, 0), 4) AS abandon_rate_of_dials,
  count(*) FILTER (is_late_connect) AS late_connects,
  round(avg(talktime) FILTER (is_voice AND is_connect), 2) AS avg_talk_seconds,
  round(avg(holdtime) FILTER (is_voice AND is_connect), 2) AS avg_hold_seconds,
  round(avg(wraptime) FILTER (is_voice AND is_connect), 2) AS avg_wrap_seconds,
  round(avg(handletime) FILTER (is_voice AND is_connect), 2) AS avg_handle_seconds
FROM v_sessions"""



def campaign_daily(sessions: str = "v_sessions") -> str:
    """`v_campaign_daily` over these sessions (the summaries give it a few days of them)."""
    return ("SELECT campaign, local_day," + _CAMPAIGN_MEASURES.replace("v_sessions", sessions)
            + " GROUP BY campaign, local_day")


CAMPAIGN_HOURLY: Final = ("SELECT campaign, local_day, local_hour, utc_offset_minutes,"
                          + _CAMPAIGN_MEASURES
                          + " GROUP BY campaign, local_day, local_hour, utc_offset_minutes")

OUTCOME_MIX: Final = """
SELECT s.campaign, s.local_day, s.diallerresult, dr.description AS diallerresult_description,
  s.calltype, ct.description AS calltype_description, count(*) AS sessions,
  round(count(*) / sum(count(*)) OVER (PARTITION BY s.campaign, s.local_day), 4) AS share
FROM v_sessions s
LEFT JOIN dim_diallerresult dr ON dr.code = s.diallerresult
LEFT JOIN dim_calltype ct ON ct.code = s.calltype
GROUP BY s.campaign, s.local_day, s.diallerresult, dr.description, s.calltype, ct.description"""


def queue_service_macro(threshold_seconds: float, short_abandon_seconds: float) -> str:
    """Table macro behind `v_queue_service`: `FROM queue_service(threshold_seconds := 30)`."""
    return f"""
CREATE OR REPLACE MACRO queue_service(threshold_seconds := {double(threshold_seconds)},
                                      short_abandon_seconds := {double(short_abandon_seconds)})
AS TABLE
SELECT campaign, queuenumber, local_day,
  count(*) AS offered,
  count(*) FILTER (is_connect) AS answered,
  count(*) FILTER (is_abandoned) AS abandoned,
  count(*) FILTER (is_abandoned AND coalesce(queuetime, 0) < short_abandon_seconds)
    AS short_abandoned,
  count(*) FILTER (is_connect AND queuetime <= threshold_seconds) AS answered_within_threshold,
  count(*) FILTER (is_abandoned AND coalesce(queuetime, 0) <= threshold_seconds)
    AS abandoned_within_threshold,
  round(answered_within_threshold / nullif(answered + abandoned - short_abandoned, 0), 4)
    AS service_level,
  round((answered_within_threshold + abandoned_within_threshold) / offered, 4)
    AS service_level_amazon,
  round(avg(queuetime) FILTER (is_connect), 2) AS avg_speed_of_answer_seconds,
  round(abandoned / offered, 4) AS abandon_rate,
  round((abandoned - short_abandoned) / nullif(offered - short_abandoned, 0), 4)
    AS abandon_rate_excluding_short
FROM v_sessions WHERE calltype = 5 GROUP BY campaign, queuenumber, local_day"""


#: The newest QueueInfo per queue by arrival (received_at), not by the envelope timestamp,
#: which the vendor stamps on send and which can go backwards between consecutive events.
QUEUE_LATEST: Final = """
SELECT * FROM queue_info
QUALIFY row_number() OVER (PARTITION BY campaign, queuenumber
                           ORDER BY received_at DESC, totalcalls DESC NULLS LAST,
                                    totalabandoned DESC NULLS LAST, event_timestamp DESC,
                                    event_id DESC) = 1"""


def card_payments(tz: str) -> str:
    """`v_card_payments`: attempts and amounts per local day of the payment's own time."""
    return f"""
SELECT timezone({tz}, coalesce(payment_timestamp, event_timestamp))::DATE AS local_day,
  campaign, agent, currency,
  count(*) AS attempts,
  count(*) FILTER (succeeded) AS successes,
  round(count(*) FILTER (succeeded) / count(*), 4) AS success_rate,
  sum(amount) AS amount_attempted_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) AS amount_collected_minor,
  coalesce(sum(amount) FILTER (succeeded), 0) / 100 AS amount_collected
FROM card_payment GROUP BY ALL"""


def queue_intervals_macro(tz: str, threshold_seconds: float,
                          short_abandon_seconds: float) -> str:
    """Table macro `queue_intervals(minutes := 15, ...)`: inbound figures per local interval.

    Calls count in the interval they entered the queue (`started_at`); QueueInfo's cumulative
    `totalcalls` / `totalabandoned` become per-interval deltas (events in arrival order per
    queue; a drop is a counter reset, counted from zero; the first event of a queue only sets
    the baseline) bucketed by the envelope timestamp, for reconciliation.
    """
    bucket = "time_bucket(to_minutes(CAST(minutes AS BIGINT)), timezone({tz}, {ts}))"
    offset = "(epoch(timezone({tz}, {ts}) - timezone('UTC', {ts})) / 60)::INTEGER"
    at = {"tz": tz, "ts": "event_timestamp"}
    return f"""
CREATE OR REPLACE MACRO queue_intervals(minutes := 15,
                                        threshold_seconds := {double(threshold_seconds)},
                                        short_abandon_seconds := {double(short_abandon_seconds)})
AS TABLE
WITH calls AS (
  SELECT campaign, queuenumber, {bucket.format(tz=tz, ts="started_at")} AS local_interval,
    utc_offset_minutes,
    count(*) AS offered,
    count(*) FILTER (is_connect) AS answered,
    count(*) FILTER (is_abandoned) AS abandoned,
    count(*) FILTER (is_abandoned AND coalesce(queuetime, 0) < short_abandon_seconds)
      AS short_abandoned,
    count(*) FILTER (is_connect AND queuetime <= threshold_seconds)
      AS answered_within_threshold,
    count(*) FILTER (is_abandoned AND coalesce(queuetime, 0) <= threshold_seconds)
      AS abandoned_within_threshold,
    round(avg(queuetime) FILTER (is_connect), 2) AS avg_speed_of_answer_seconds
  FROM v_sessions WHERE calltype = 5 GROUP BY ALL),
steps AS (
  SELECT campaign, queuenumber, {bucket.format(**at)} AS local_interval,
    {offset.format(**at)} AS utc_offset_minutes,
    totalcalls - lag(totalcalls) OVER q AS d_calls, totalcalls AS calls_now,
    totalabandoned - lag(totalabandoned) OVER q AS d_abandoned,
    totalabandoned AS abandoned_now
  FROM queue_info
  WINDOW q AS (PARTITION BY campaign, queuenumber
               ORDER BY received_at, totalcalls, totalabandoned, event_id)),
info AS (
  SELECT campaign, queuenumber, local_interval, utc_offset_minutes,
    sum(CASE WHEN d_calls < 0 THEN calls_now ELSE d_calls END) AS queueinfo_offered,
    sum(CASE WHEN d_abandoned < 0 THEN abandoned_now ELSE d_abandoned END)
      AS queueinfo_abandoned
  FROM steps GROUP BY ALL)
SELECT campaign, queuenumber, local_interval::DATE AS local_day, local_interval,
  utc_offset_minutes,
  coalesce(offered, 0) AS offered, coalesce(answered, 0) AS answered,
  coalesce(abandoned, 0) AS abandoned, coalesce(short_abandoned, 0) AS short_abandoned,
  coalesce(answered_within_threshold, 0) AS answered_within_threshold,
  round(answered_within_threshold / nullif(answered + abandoned - short_abandoned, 0), 4)
    AS service_level,
  round((answered_within_threshold + abandoned_within_threshold) / nullif(offered, 0), 4)
    AS service_level_amazon,
  avg_speed_of_answer_seconds,
  queueinfo_offered, queueinfo_abandoned
FROM calls FULL JOIN info USING (campaign, queuenumber, local_interval, utc_offset_minutes)"""
