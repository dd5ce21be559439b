"""Feed silence: the vendor alerts on delivery errors, never on silence, so we do (issue #11).

Pure rules over plain data; nothing here reads files, clocks or DuckDB, and it imports only
the standard library and `genius_wh.settings`, so the receiver's /metrics may use it too.

- A feed is one action (lower case, as the metric label: `sessionended`) of one integration.
- Only feeds that have sent at least once are watched: an action an integration never sends
  never alarms.
- Silence counts only time inside `business_hours` (in its time zone): Friday 19:55 to Monday
  08:05 is ten minutes of silence, not sixty hours.
- Outside business hours no feed is silent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from genius_wh.settings import BusinessHours

#: (action, integration) -> when its latest event arrived (aware datetime).
LastEvents = Mapping[tuple[str, str], datetime]
#: How far back business time is counted: a longer silence is long enough for any alarm.
LOOKBACK_DAYS = 31


@dataclass(frozen=True, kw_only=True)
class SilentFeed:
    """One feed whose silence has lasted at least the alarm's minutes of business time."""

    action: str
    integration: str
    last_event: datetime
    silent_minutes: float


def in_business_hours(moment: datetime, hours: BusinessHours) -> bool:
    """True when the aware `moment` falls inside one of the opening windows."""
    local = moment.astimezone(ZoneInfo(hours.tz or "UTC"))
    minute = local.hour * 60 + local.minute
    return any(day == local.weekday() and start <= minute < end
               for day, start, end in hours.windows)


def business_seconds(start: datetime, end: datetime, hours: BusinessHours) -> float:
    """Seconds between two aware moments that lie inside business hours."""
    start = max(start, end - timedelta(days=LOOKBACK_DAYS))
    total = 0.0
    for opens, closes in _windows(start, end, hours):
        overlap = (min(closes, end) - max(opens, start)).total_seconds()
        total += max(overlap, 0.0)
    return total


def _windows(start: datetime, end: datetime,
             hours: BusinessHours) -> Iterator[tuple[datetime, datetime]]:
    """Each opening window (UTC) of the local days from `start`'s to `end`'s."""
    tz = ZoneInfo(hours.tz or "UTC")
    day: date = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        for weekday, first, last in hours.windows:
            if weekday == day.weekday():
                yield (_at(midnight, first, tz), _at(midnight, last, tz))
        day += timedelta(days=1)


def _at(midnight: datetime, minute: int, tz: ZoneInfo) -> datetime:
    """The local wall-clock minute of a day as a UTC moment (24:00 is next midnight)."""
    wall = midnight.replace(tzinfo=None) + timedelta(minutes=minute)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def silent_feeds(last_events: LastEvents, now: datetime, minutes: float,
                 business_hours: BusinessHours) -> list[SilentFeed]:
    """The feeds silent for `minutes` of business time at `now` (none outside hours)."""
    if not in_business_hours(now, business_hours):
        return []
    silent: list[SilentFeed] = []
    for (action, integration), last in sorted(last_events.items()):
        quiet = business_seconds(last, now, business_hours) / 60
        if quiet >= minutes:
            silent.append(SilentFeed(action=action, integration=integration,
                                     last_event=last, silent_minutes=round(quiet, 1)))
    return silent


def merge_last_events(*sources: LastEvents) -> dict[tuple[str, str], datetime]:
    """The latest time per feed over several sources (warehouse, receiver metrics)."""
    merged: dict[tuple[str, str], datetime] = {}
    for source in sources:
        for key, moment in source.items():
            if key not in merged or moment > merged[key]:
                merged[key] = moment
    return merged
