"""Agent state views: the SELECTs of `v_agent_state_classes`, `v_agent_state_intervals`, the
15-minute and hourly splits, `v_agent_daily` and `v_agent_breaks`.

- Intervals are rebuilt from state *entries*: every AgentActivity says the agent entered
  `agentstate` at `timestampcurrentstate` and had entered `previousagentstate` at
  `timestamppreviousstate`. Entries are de-duplicated per agent, time and state, put in time
  order, and each state lasts until the agent's next entry. So events that arrive out of order,
  twice, or with one missing in between, give each moment one state, never two.
- A state (other than 0, not logged in) counts for at most `cap_minutes`; the state an agent is
  in now counts up to the latest state change of any agent (the warehouse's horizon: nothing
  is known after it), within the same cap.
  An interval is kept when it has an end: a next entry (never earlier, by the order), or
  for an open state other than 0 a horizon not before its start. (Said of the ends
  themselves, `ended_at >= started_at`, the filter needed the horizon inside a join
  condition: 0.63 -> 0.56 s for `v_agent_daily` at 5M events, 2026-12-07.)
- Pieces are cut at UTC quarter hours, which are local quarter hours in every zone whose offset
  is a multiple of 15 minutes (all of today's); each piece carries its local day, local time
  and UTC offset, so the repeated hour of an autumn clock change is two rows and a
  `+05:30` zone's hours run from :00 to :00 local time.
"""

from __future__ import annotations

from typing import Final

#: (code, description, class) of every agent state of the specification. Classes:
#: `logged_out` (not staffed), `not_ready` (logged in, unavailable), `idle` (available,
#: waiting for a contact), `on_contact` (busy with a contact, after-call work included).
STATE_CLASSES: Final[tuple[tuple[int, str, str], ...]] = (
    (0, "Not Logged In", "logged_out"),
    (1, "Connecting", "not_ready"),
    (2, "Logged in and unavailable", "not_ready"),
    (3, "Waiting for a call", "idle"),
    (4, "Previewing a call", "on_contact"),
    (5, "Breather between calls", "on_contact"),
    (6, "Talking", "on_contact"),
    (7, "In Wrap", "on_contact"),
    (8, "Waiting for a specific call (e.g. a callback)", "idle"),
    (9, "Dialling manual call", "on_contact"),
    (10, "Offering transfer", "on_contact"),
    (11, "Waiting to transfer", "on_contact"),
    (12, "Being offered transfer", "on_contact"),
    (15, "Dialling Preview", "on_contact"),
    (16, "Previewing offline message", "on_contact"),
    (17, "Processing offline message", "on_contact"),
)


def state_classes() -> str:
    """`v_agent_state_classes`: the table above as a view the others join."""
    rows = ", ".join(f"({code}, '{text}', '{cls}')" for code, text, cls in STATE_CLASSES)
    return f"SELECT * FROM (VALUES {rows}) AS t(state, description, state_class)"


def cap_interval(cap_minutes: float) -> str:
    """The cap as a SQL INTERVAL expression."""
    return f"to_microseconds(CAST({float(cap_minutes)} * 60e6 AS BIGINT))"


#: The warehouse's horizon: the latest state change of any agent (not after now). Each max is
#: a query of its own with the condition as WHERE, which DuckDB answers from the data files'
#: statistics when they show no NULL there (13 ms at 5M events, not growing with history):
#: one aggregate with two FILTERs read both columns of every row (0.1 s at 5M events).
HORIZON: Final = """least(greatest(
    (SELECT max(timestampcurrentstate) FROM agent_activity
     WHERE agent IS NOT NULL AND agentstate IS NOT NULL),
    (SELECT max(timestamppreviousstate) FROM agent_activity
     WHERE agent IS NOT NULL AND previousagentstate IS NOT NULL)),
  now())"""


def state_intervals(cap_minutes: float, entered: str = "") -> str:
    """`v_agent_state_intervals`: one row per state an agent was in, capped.

    `entered` (a join on the entries `e`) keeps only some entries: the summaries compute the
    intervals of a few days from the entries within the cap of them."""
    cap = cap_interval(cap_minutes)
    return f"""
WITH all_entries AS (
  SELECT agent, campaign, agentstate AS state, timestampcurrentstate AS entered_at,
    breakreason, event_id, event_timestamp, 0 AS source
  FROM agent_activity
  WHERE agent IS NOT NULL AND agentstate IS NOT NULL AND timestampcurrentstate IS NOT NULL
  UNION ALL
  SELECT agent, campaign, previousagentstate, timestamppreviousstate,
    breakreason, event_id, event_timestamp, 1
  FROM agent_activity
  WHERE agent IS NOT NULL AND previousagentstate IS NOT NULL
    AND timestamppreviousstate IS NOT NULL),
entries AS (SELECT e.* FROM all_entries e {entered}),
unique_entries AS (
  SELECT * FROM entries
  QUALIFY row_number() OVER (PARTITION BY agent, entered_at, state
                             ORDER BY source, event_timestamp, event_id) = 1),
timed AS (
  SELECT *, lead(entered_at) OVER (PARTITION BY agent
                                   ORDER BY entered_at, source DESC, event_timestamp, event_id)
                                   AS left_at,
    {HORIZON} AS horizon
  FROM unique_entries)
SELECT t.agent, t.campaign, t.state, c.description AS state_description, c.state_class,
  t.entered_at AS started_at,
  CASE WHEN t.state = 0 THEN t.left_at
       ELSE least(coalesce(t.left_at, t.horizon), t.entered_at + {cap}) END AS ended_at,
  epoch(ended_at - started_at) AS seconds,
  t.left_at IS NULL AS is_open,
  t.state <> 0 AND coalesce(t.left_at, t.horizon) > t.entered_at + {cap} AS is_capped,
  CASE WHEN t.state = 2 THEN t.breakreason END AS breakreason, t.event_id
FROM timed t LEFT JOIN v_agent_state_classes c ON c.state = t.state
WHERE t.left_at IS NOT NULL OR (t.state <> 0 AND t.horizon >= t.entered_at)"""


def state_15min(tz: str) -> str:
    """`v_agent_state_15min`: seconds per agent, state and local quarter hour."""
    step = "INTERVAL 15 MINUTE"
    return f"""
WITH pieces AS (
  SELECT i.*, timezone('UTC', started_at) AS s_utc, timezone('UTC', ended_at) AS e_utc,
    unnest(generate_series(time_bucket({step}, timezone('UTC', started_at)),
                           timezone('UTC', ended_at), {step})) AS q_utc
  FROM v_agent_state_intervals i WHERE state <> 0)
SELECT agent, campaign, state, state_description, state_class, breakreason,
  timezone({tz}, timezone('UTC', q_utc))::DATE AS local_day,
  timezone({tz}, timezone('UTC', q_utc)) AS local_interval,
  (epoch(timezone({tz}, timezone('UTC', q_utc)) - q_utc) / 60)::INTEGER AS utc_offset_minutes,
  round(sum(epoch(least(e_utc, q_utc + {step}) - greatest(s_utc, q_utc))), 3) AS seconds
FROM pieces
WHERE least(e_utc, q_utc + {step}) > greatest(s_utc, q_utc)
GROUP BY ALL"""


STATE_HOURLY: Final = """
SELECT agent, campaign, state, state_description, state_class, breakreason, local_day,
  date_trunc('hour', local_interval) AS local_hour, utc_offset_minutes,
  round(sum(seconds), 3) AS seconds
FROM v_agent_state_15min GROUP BY ALL"""

def agent_daily(tz: str, intervals: str = "v_agent_state_intervals") -> str:
    """`v_agent_daily`: state time per agent and local day, occupancy and utilisation.

    Intervals are cut at local midnights directly, not summed from the quarter-hour pieces:
    the same seconds at about half the cost. The midnights are converted once per day of the
    intervals' span and the intervals meet their days by a range join (a piece is an
    interval's overlap with a day): converting each interval's two ends to local time took
    0.54 s of the live part's 0.85 s at 5M events, the join 0.06 s (2026-12-07). Pieces
    are summed as whole microseconds, so a day's figures do not depend on the order of its
    pieces (a sum of doubles does, in the last digit: the summaries must match exactly)."""
    return f"""
WITH staffed AS MATERIALIZED (
  SELECT agent, state, state_class, started_at, ended_at FROM {intervals}
  WHERE state <> 0 AND ended_at > started_at),
span AS (
  SELECT timezone({tz}, min(started_at))::DATE AS first_day,
    timezone({tz}, max(ended_at))::DATE AS last_day FROM staffed),
bounds AS (
  SELECT d::DATE AS local_day, timezone({tz}, d::TIMESTAMP) AS day_start,
    timezone({tz}, (d::DATE + 1)::TIMESTAMP) AS day_end
  FROM span, range(span.first_day, span.last_day + 1, INTERVAL 1 DAY) AS r(d)),
cut AS (
  SELECT p.agent, p.state, p.state_class, b.local_day,
    epoch_us(least(p.ended_at, b.day_end)) - epoch_us(greatest(p.started_at, b.day_start))
      AS micros
  FROM staffed p JOIN bounds b ON b.day_end > p.started_at AND b.day_start < p.ended_at),
t AS (
  SELECT agent, local_day,
    sum(micros) / 1e6 AS logged_in_seconds,
    coalesce(sum(micros) FILTER (state_class = 'idle'), 0) / 1e6 AS waiting_seconds,
    coalesce(sum(micros) FILTER (state = 6), 0) / 1e6 AS talking_seconds,
    coalesce(sum(micros) FILTER (state = 7), 0) / 1e6 AS wrap_seconds,
    coalesce(sum(micros) FILTER (state = 2), 0) / 1e6 AS break_seconds,
    coalesce(sum(micros) FILTER (state_class = 'not_ready'), 0) / 1e6 AS not_ready_seconds,
    coalesce(sum(micros) FILTER (state_class = 'on_contact'), 0) / 1e6 AS on_contact_seconds
  FROM cut WHERE micros > 0 GROUP BY agent, local_day)
SELECT *, on_contact_seconds AS handling_seconds,
  round(on_contact_seconds / nullif(on_contact_seconds + waiting_seconds, 0), 4) AS occupancy,
  round(on_contact_seconds / nullif(logged_in_seconds, 0), 4) AS utilisation
FROM t WHERE logged_in_seconds > 0"""


def agent_breaks(tz: str) -> str:
    """`v_agent_breaks`: state-2 time per agent, local day of its start and break reason."""
    return f"""
SELECT agent, timezone({tz}, started_at)::DATE AS local_day, breakreason,
  count(*) AS breaks, sum(seconds) AS seconds
FROM v_agent_state_intervals WHERE state = 2 GROUP BY ALL"""
