"""Per-day summaries behind `v_agent_daily`, `v_campaign_daily` and `v_ofcom_compliance`:
their tables, the SQL that fills them and the views that read them (docs/parts/analytics.md,
"Summaries").

- `_sum_<name>` holds the view's own rows of settled local days, written by `genius-wh
  maintain` (warehouse/summaries.py); `_summary_state` says through which day, and with the
  digest of the SQL (hence of the settings) that wrote them;
- a row loaded, forgotten or retained records its event hour in `_summary_dirty` in its own
  transaction, when a summarised day depends on it;
- each view is the summary's rows of the clean days (summarised, settled, not dirty) UNION
  ALL its full definition (`_v_<name>_live`) computed from only the rows the other days
  depend on: the rows of a day D have event times in [D - lead, D + 1 day + lag).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from warehouse import views_agents, views_calls, views_ofcom

#: Sources whose rows the summaries depend on, with the event times of a row.
SOURCE_TIMES: Final[dict[str, tuple[str, ...]]] = {
    "agent_activity": (
        "CASE WHEN agent IS NOT NULL AND agentstate IS NOT NULL THEN timestampcurrentstate END",
        "CASE WHEN agent IS NOT NULL AND previousagentstate IS NOT NULL "
        "THEN timestamppreviousstate END"),
    "session_ended": (views_calls.STARTED_AT,),
}


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One summarised view: what its days depend on and how its rows are computed."""

    name: str  # the view is v_<name>, its summary _sum_<name>
    source: str  # the table whose rows change its days
    lead: str  # a day depends on rows this long before it ...
    lag: str  # ... and this long after it
    rows: str  # its SELECT over the rows that `{within:<time>}` (a SEMI JOIN) keeps
    settled: str  # the last day that no new row of now can change (SQL DATE)

    @property
    def table(self) -> str:
        """Its summary table."""
        return f"_sum_{self.name}"

    @property
    def digest(self) -> str:
        """The SQL (settings included) its summary rows were computed with."""
        return hashlib.sha256(self.rows.encode()).hexdigest()[:16]


def summaries(tz: str, *, cap_minutes: float, calltypes: tuple[int, ...], amd_rate: float,
              limit: float) -> tuple[Summary, ...]:
    """The three summaries, with the views' settings baked in (`tz` a SQL literal)."""
    cap = f"({views_agents.cap_interval(cap_minutes)} + {MARGIN})"
    agent = views_agents.agent_daily(
        tz, "(" + views_agents.state_intervals(cap_minutes, "{within:e.entered_at}") + ")")
    started = views_calls.STARTED_AT
    sessions = "(" + views_calls.sessions(tz, (
        f"(SELECT * FROM session_ended {{within:{started}}} "
        f"UNION ALL SELECT * FROM session_ended WHERE {started} IS NULL)")) + ")"
    ofcom = views_ofcom.ofcom_compliance(amd_rate, limit, "(" + views_ofcom.ofcom_abandoned(
        tz, calltypes, amd_rate, limit, sessions) + ")")
    settled_calls = f"timezone({tz}, now() - {SETTLE})::DATE - 1"
    return (
        Summary(name="agent_daily", source="agent_activity", lead=cap, lag=cap, rows=agent,
                settled=f"timezone({tz}, {views_agents.HORIZON} - {cap})::DATE - 1"),
        Summary(name="campaign_daily", source="session_ended", lead=MARGIN, lag=MARGIN,
                rows=views_calls.campaign_daily(sessions), settled=settled_calls),
        Summary(name="ofcom_compliance", source="session_ended",
                lead=f"(INTERVAL 24 HOUR + {MARGIN})", lag=MARGIN, rows=ofcom,
                settled=settled_calls),
    )


#: Widens every day's reach: a local midnight a clock change skips is still inside it.
MARGIN: Final = "INTERVAL 3 HOUR"
#: Calls are summarised for the days that ended this long ago (late SessionEnded events,
#: which come at a call's end, still arrive; they only make a day dirty).
SETTLE: Final = "INTERVAL 2 HOUR"

STATE_DDL: Final = ("CREATE TABLE IF NOT EXISTS _summary_state (summary VARCHAR NOT NULL, "
                    "digest VARCHAR NOT NULL, source VARCHAR NOT NULL, through_day DATE NOT "
                    "NULL, marks_before TIMESTAMPTZ NOT NULL, refreshed_at TIMESTAMPTZ NOT NULL)")
DIRTY_DDL: Final = ("CREATE TABLE IF NOT EXISTS _summary_dirty (source VARCHAR NOT NULL, "
                    "hour TIMESTAMPTZ NOT NULL)")


def table_ddl(summary: Summary) -> list[str]:
    """The summary's (empty) table and its forgotten state: run when the views are made."""
    return [STATE_DDL, DIRTY_DDL,
            f"CREATE OR REPLACE TABLE {summary.table} AS "
            f"SELECT * FROM _v_{summary.name}_live WHERE false",
            f"DELETE FROM _summary_state WHERE summary = '{summary.name}'"]


def rows_sql(summary: Summary, tz: str, spans: str) -> str:
    """The summary's rows of the days that `spans` (first_day, last_day; NULL unbounded)
    cover, plus those of no day, computed from the rows those days depend on.

    Besides the semi join on the spans, the time must lie between their earliest and latest
    bound: two single values, which DuckDB pushes into the scan of a plain column, so data
    files outside them are not read (a join on several spans is not pushed down: at 5M
    events, `v_agent_daily` read all 2.26M agent_activity rows twice for one live day)."""
    times = (f"SELECT CASE WHEN first_day IS NULL THEN '-infinity'::TIMESTAMPTZ "
             f"ELSE timezone({tz}, first_day::TIMESTAMP) - {summary.lead} END AS lo, "
             f"CASE WHEN last_day IS NULL THEN 'infinity'::TIMESTAMPTZ "
             f"ELSE timezone({tz}, (last_day + 1)::TIMESTAMP) + {summary.lag} END AS hi "
             f"FROM {spans}")
    rows = summary.rows
    for time in ("e.entered_at", views_calls.STARTED_AT):  # a semi join: no delim join
        rows = rows.replace("{within:" + time + "}", f"SEMI JOIN ({times}) r "
                            f"ON {time} >= r.lo AND {time} < r.hi WHERE {time} >= "
                            f"(SELECT min(lo) FROM ({times})) AND {time} < "
                            f"(SELECT max(hi) FROM ({times}))")
    return f"SELECT * FROM ({rows}) x WHERE local_day IS NULL OR {covered('x', spans)}"


def covered(alias: str, spans: str) -> str:
    """`alias.local_day` lies in one of the spans."""
    day = f"{alias}.local_day"
    return (f"EXISTS (SELECT 1 FROM {spans} p WHERE {day} >= coalesce(p.first_day, {day}) "
            f"AND {day} <= coalesce(p.last_day, {day}))")


def dirty_days(summary: Summary, tz: str) -> str:
    """The local days whose rows a dirty hour of the summary's source may have changed."""
    return (f"SELECT DISTINCT unnest(generate_series("
            f"timezone({tz}, hour - {summary.lag})::DATE, "
            f"timezone({tz}, hour + INTERVAL 1 HOUR + {summary.lead})::DATE, "
            f"INTERVAL 1 DAY))::DATE AS day FROM _summary_dirty "
            f"WHERE source = '{summary.source}'")


def view_sql(summary: Summary, tz: str) -> str:
    """The public view: clean days from the summary, the other days computed live.

    A day is clean when it is summarised with this digest, still settled (a forget or
    retention can move the horizon back) and no loaded or deleted row made it dirty."""
    return f"""
WITH state AS (
  SELECT max(through_day) AS through FROM _summary_state
  WHERE summary = '{summary.name}' AND digest = '{summary.digest}'),
clean AS (  -- least() skips a NULL: no summary stays NULL, a NULL settled day keeps it
  SELECT CASE WHEN through IS NOT NULL THEN least(through, {summary.settled}) END AS through
  FROM state),
live_spans AS (
  SELECT CASE WHEN through IS NOT NULL THEN through + 1 END AS first_day,
    NULL::DATE AS last_day FROM clean
  UNION ALL
  SELECT day, day FROM ({dirty_days(summary, tz)}) d, clean WHERE d.day <= clean.through)
SELECT * FROM {summary.table} s WHERE NOT {covered('s', 'live_spans')}
UNION ALL
{rows_sql(summary, tz, 'live_spans')}"""


def marks_before(summary: Summary, tz: str, through: str) -> str:
    """Rows at or after this time change no day up to `through` (a SQL DATE)."""
    return f"timezone({tz}, ({through} + 1)::TIMESTAMP) + {summary.lag}"
