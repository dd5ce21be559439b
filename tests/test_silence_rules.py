"""Feed-silence rules (#11): business hours parsed once; silence counted in business time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from genius_wh.errors import ConfigError
from genius_wh.settings import BusinessHours, load_settings
from genius_wh.silence import business_seconds, in_business_hours, silent_feeds

LONDON = ZoneInfo("Europe/London")
HOURS = BusinessHours.parse("Mon-Fri 08:00-20:00", "Europe/London")


def local(text: str) -> datetime:
    """A London wall-clock time (2026-11-23 is a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


@pytest.mark.parametrize("text, windows", [
    pytest.param("Mon-Fri 08:00-20:00", [(d, 480, 1200) for d in range(5)], id="default"),
    pytest.param("Sat 09:00-13:00", [(5, 540, 780)], id="one day"),
    pytest.param("Fri-Mon 22:00-24:00", [(4, 1320, 1440), (5, 1320, 1440), (6, 1320, 1440),
                                         (0, 1320, 1440)], id="range across the week end"),
    pytest.param("Mon-Fri 08:00-20:00, sat 09:00-13:00",
                 [*((d, 480, 1200) for d in range(5)), (5, 540, 780)], id="two windows"),
    pytest.param("", [], id="empty: never"),
])
def test_business_hours_parse_into_windows(text: str, windows: list[tuple[int, int, int]]) -> None:
    assert list(BusinessHours.parse(text, "Europe/London").windows) == windows


@pytest.mark.parametrize("text, message", [
    pytest.param("Mon-Fri 8-20", "write them like Mon-Fri 08:00-20:00", id="no minutes"),
    pytest.param("Mon-Xyz 08:00-20:00", "write them like Mon-Fri 08:00-20:00", id="bad day"),
    pytest.param("Mon 20:00-08:00", "the end must be after the start", id="end before start"),
    pytest.param("Mon 08:00-25:00", "the end must be after the start", id="past midnight"),
])
def test_bad_business_hours_fail_at_start_naming_the_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="business_hours") as caught:
        load_settings(business_hours=text)
    assert message in str(caught.value) and repr(text.split(",")[0].strip()) in str(caught.value)


def test_business_hours_are_in_the_settings_timezone() -> None:
    settings = load_settings(business_hours="Mon-Fri 08:00-20:00", timezone="America/New_York")
    assert settings.business_hours.tz == "America/New_York"
    assert str(settings.business_hours) == "Mon-Fri 08:00-20:00"
    monday_half_past_eight_in_london = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert in_business_hours(monday_half_past_eight_in_london, HOURS)
    assert not in_business_hours(monday_half_past_eight_in_london, settings.business_hours)


@pytest.mark.parametrize("moment, inside", [
    pytest.param("2026-11-23 08:00", True, id="opening minute"),
    pytest.param("2026-11-23 19:59", True, id="last minute"),
    pytest.param("2026-11-23 20:00", False, id="closing minute"),
    pytest.param("2026-11-23 07:59", False, id="before opening"),
    pytest.param("2026-11-28 12:00", False, id="saturday"),
])
def test_in_business_hours(moment: str, inside: bool) -> None:
    assert in_business_hours(local(moment), HOURS) is inside


@pytest.mark.parametrize("start, end, minutes", [
    pytest.param("2026-11-23 10:00", "2026-11-23 10:20", 20, id="inside one day"),
    pytest.param("2026-11-23 07:30", "2026-11-23 08:10", 10, id="from before opening"),
    pytest.param("2026-11-23 19:55", "2026-11-24 08:05", 10, id="over night"),
    pytest.param("2026-11-27 19:55", "2026-11-30 08:05", 10, id="over the week end"),
    pytest.param("2026-11-28 10:00", "2026-11-28 12:00", 0, id="saturday only"),
    pytest.param("2026-10-23 19:30", "2026-10-26 08:30", 60, id="across the end of BST"),
])
def test_business_seconds_count_only_opening_time(start: str, end: str, minutes: int) -> None:
    assert business_seconds(local(start), local(end), HOURS) == minutes * 60


def feeds(**ages_minutes: float) -> dict[tuple[str, str], datetime]:
    now = local("2026-11-24 11:00")
    return {(name.split("__")[0], name.split("__")[1]): now - timedelta(minutes=age)
            for name, age in ages_minutes.items()}


def test_feed_silent_for_the_alarm_minutes_in_business_hours_raises_the_alarm() -> None:
    last = feeds(sessionended__uk=16, agentactivity__uk=1, queueinfo__ie=15)
    silent = silent_feeds(last, local("2026-11-24 11:00"), 15, HOURS)
    assert [(f.action, f.integration, f.silent_minutes) for f in silent] == [
        ("queueinfo", "ie", 15.0), ("sessionended", "uk", 16.0)]


def test_no_alarm_outside_business_hours_however_long_the_silence() -> None:
    last = {("sessionended", "uk"): local("2026-11-20 12:00")}
    assert silent_feeds(last, local("2026-11-24 21:00"), 15, HOURS) == []
    assert silent_feeds(last, local("2026-11-28 12:00"), 15, HOURS) == []


def test_no_alarm_for_an_action_an_integration_never_sends() -> None:
    # ie has only ever sent SessionEnded: its missing AgentActivity is not a silence
    last = feeds(sessionended__ie=1, agentactivity__uk=2)
    assert silent_feeds(last, local("2026-11-24 11:00"), 15, HOURS) == []


def test_monday_morning_after_a_quiet_week_end_is_not_an_alarm_yet() -> None:
    last = {("sessionended", "uk"): local("2026-11-27 19:59")}
    assert silent_feeds(last, local("2026-11-30 08:10"), 15, HOURS) == []
    [alarm] = silent_feeds(last, local("2026-11-30 08:15"), 15, HOURS)
    assert alarm.silent_minutes == 16.0


def test_empty_business_hours_never_alarm() -> None:
    never = BusinessHours.parse("", "Europe/London")
    last = {("sessionended", "uk"): local("2026-11-20 12:00")}
    assert silent_feeds(last, local("2026-11-24 11:00"), 15, never) == []
