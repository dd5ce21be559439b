"""Keeps the per-day summaries of warehouse/views_summaries.py right.

- `mark_loaded` (the loader, in the load transaction) and `mark_deleted` (forget, retention,
  in theirs, before the DELETE) record in `_summary_dirty` the event hours of the rows they
  write or delete, when a summarised day depends on them (`_summary_state.marks_before`);
  the views compute those days live from that commit on;
- `refresh` (`genius-wh maintain`, under the writer locks) summarises the days settled since
  the last time and again the dirty ones, then empties `_summary_dirty`; a summary written
  with other settings (another digest) is thrown away and written again.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from genius_wh.chunkresult import ChunkResult
from warehouse.views import FigureSettings, summaries, tz_literal
from warehouse.views_summaries import (
    SOURCE_TIMES,
    Summary,
    covered,
    dirty_days,
    marks_before,
    rows_sql,
)

#: The days `refresh` computes: (first_day, last_day), NULL when unbounded.
SPANS_TABLE = "_refresh_spans"
SPANS = f"temp.{SPANS_TABLE}"


def mark_loaded(con: duckdb.DuckDBPyConnection, result: ChunkResult) -> None:
    """Record the hours of the chunk's new rows (temp.chunk_new_ids) that summarised days
    depend on (the batch applied the schema first: the summary tables exist)."""
    files = {table: [str(path) for path in result.files.get(table, [])]
             for table in SOURCE_TIMES}
    _mark(con, {table: f"(SELECT * FROM read_parquet(${table}, union_by_name = true) "
                       "SEMI JOIN temp.chunk_new_ids USING (event_id))"
                for table in SOURCE_TIMES if files[table]},
          {table: paths for table, paths in files.items() if paths})


def mark_deleted(con: duckdb.DuckDBPyConnection, where: str,
                 parameters: dict[str, Any] | None = None) -> None:
    """Record the hours of the rows `where` is about to delete that summarised days depend
    on (forget, retention: before their DELETE, in the same transaction)."""
    if _has_summaries(con):  # nothing is summarised in a warehouse of an older schema
        _mark(con, {table: f"(SELECT * FROM {table} WHERE {where})" for table in SOURCE_TIMES},
              parameters or {})


def _mark(con: duckdb.DuckDBPyConnection, rows: dict[str, str],
          parameters: dict[str, Any]) -> None:
    """Record the hours of these rows (per source table) before the sources' marks_before."""
    if not rows:
        return
    times = " UNION ALL ".join(
        f"SELECT '{source}' AS source, unnest([{', '.join(SOURCE_TIMES[source])}]) AS t "
        f"FROM {relation} r" for source, relation in rows.items())
    hours = ("SELECT DISTINCT h.source, to_timestamp(floor(epoch(h.t) / 3600) * 3600) "
             f"FROM ({times}) h JOIN (SELECT source, max(marks_before) AS before "
             "FROM _summary_state GROUP BY source) s ON s.source = h.source WHERE h.t < s.before")
    # most writes are of days not summarised yet: one SELECT instead of an INSERT into
    # the lake that writes nothing
    found = con.execute(f"SELECT count(*) FROM ({hours})", parameters).fetchone()
    if found and found[0]:
        con.execute(f"INSERT INTO _summary_dirty {hours}", parameters)


def _has_summaries(con: duckdb.DuckDBPyConnection) -> bool:
    """The warehouse has the summary tables (a warehouse of an older schema has not, until
    its next batch)."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                      "current_database() AND table_name = '_summary_state'").fetchone()
    return bool(row and row[0])


def refresh(con: duckdb.DuckDBPyConnection, figures: FigureSettings) -> dict[str, int]:
    """Summarise the newly settled and the dirty days (in the caller's transaction): the
    spans of days summarised per view."""
    if not _has_summaries(con):
        return {}
    tz = tz_literal(figures.tz)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SPANS_TABLE} (first_day DATE, last_day DATE)")
    done = {summary.name: _refresh_one(con, summary, tz)
            for summary in summaries(figures).values()}
    con.execute("DELETE FROM _summary_dirty")
    con.execute(f"DROP TABLE {SPANS}")
    return done


def _refresh_one(con: duckdb.DuckDBPyConnection, summary: Summary, tz: str) -> int:
    """Summarise one view's days up to its settled day; how many spans were computed."""
    row = con.execute(f"SELECT {summary.settled}").fetchone()
    settled: date | None = row[0] if row else None
    if settled is None:
        return 0
    table = summary.table
    state = con.execute("SELECT max(through_day) FROM _summary_state WHERE summary = ? AND "
                        "digest = ?", [summary.name, summary.digest]).fetchone()
    through: date | None = state[0] if state else None
    spans: list[tuple[date | None, date]]
    if through is None:
        con.execute(f"DELETE FROM {table}")
        spans = weekly_spans(con, summary, tz, None, settled)
    else:
        dirty = con.execute(f"SELECT day FROM ({dirty_days(summary, tz)}) WHERE day <= ?",
                            [min(through, settled)]).fetchall()
        spans = [(day, day) for (day,) in dirty]
        if settled > through:
            spans += weekly_spans(con, summary, tz, through + timedelta(days=1), settled)
        con.execute(f"DELETE FROM {table} WHERE local_day > ?", [settled])
    for week in _by_week(spans):  # one statement a week: its memory follows the week
        _summarise(con, summary, tz, week)
    con.execute("DELETE FROM _summary_state WHERE summary = ?", [summary.name])
    con.execute(f"INSERT INTO _summary_state SELECT $name, $digest, $source, $through, "
                f"{marks_before(summary, tz, '$through::DATE')}, now()",
                {"name": summary.name, "digest": summary.digest, "source": summary.source,
                 "through": settled})
    return len(spans)


def weekly_spans(con: duckdb.DuckDBPyConnection, summary: Summary, tz: str,
                 first: date | None, last: date) -> list[tuple[date | None, date]]:
    """The days from `first` (None: all before) to `last` as contiguous spans, each ending
    with a local week (from Monday) that has rows of the summary's source, the last ending
    at `last`: the first summary of years of history (or after a long pause) is computed a
    week at a time, not in one statement over everything, and weeks without rows add no
    statement of their own (a span reaches back over them). Fewer than seven days are one
    span, without reading the source (the usual refresh: a day settled since the last)."""
    if first is not None and (last - first).days < 7:
        return [(first, last)]
    times = ", ".join(SOURCE_TIMES[summary.source])
    low = "" if first is None else f"AND t >= timezone({tz}, $first::TIMESTAMP)"
    rows = con.execute(
        f"SELECT DISTINCT CAST(date_trunc('week', timezone({tz}, t)) AS DATE) AS week "
        f"FROM (SELECT unnest([{times}]) AS t FROM {summary.source}) "
        f"WHERE t < timezone({tz}, ($last::DATE + 1)::TIMESTAMP) {low} ORDER BY week",
        {"last": last, **({} if first is None else {"first": first})}).fetchall()
    spans: list[tuple[date | None, date]] = []
    start = first
    for (week,) in rows:
        end = min(week + timedelta(days=6), last)
        if start is None or end >= start:
            spans.append((start, end))
            start = end + timedelta(days=1)
    if start is None or start <= last:
        spans.append((start, last))
    return spans


def _by_week(spans: list[tuple[date | None, date]]) -> list[list[tuple[date | None, date]]]:
    """The spans grouped by the local week (from Monday) they start in: the dirty days of
    one week are summarised in one statement, each week apart from the others."""
    weeks: dict[date | None, list[tuple[date | None, date]]] = {}
    for first, last in spans:
        monday = None if first is None else first - timedelta(days=first.weekday())
        weeks.setdefault(monday, []).append((first, last))
    return list(weeks.values())


def _summarise(con: duckdb.DuckDBPyConnection, summary: Summary, tz: str,
               spans: list[tuple[date | None, date]]) -> None:
    """Replace the summary's rows of these days by the rows computed from the tables."""
    con.execute(f"DELETE FROM {SPANS}")
    con.executemany(f"INSERT INTO {SPANS} VALUES (?, ?)", spans)
    con.execute(f"DELETE FROM {summary.table} s WHERE {covered('s', SPANS)}")
    con.execute(f"INSERT INTO {summary.table} SELECT * FROM ({rows_sql(summary, tz, SPANS)}) "
                "WHERE local_day IS NOT NULL")
