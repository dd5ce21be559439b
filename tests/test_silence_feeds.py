"""Feed silence from real data (#11): the warehouse's and the receivers' last events per action
and integration, as `genius-wh status` and the wallboard report them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from wallboard_support import TZ, close_app
from warehouse_support import (
    agent_activity,
    card_payment,
    make_settings,
    query,
    queue_info,
    session_ended,
)

from genius_wh.layout import DataLayout
from genius_wh.records import encode_record, make_record
from ingest.app import create_app
from orchestration.batch import run_batch
from wallboard import feed_status, silence_gauge

TEN = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)  # a Tuesday


def spool_from(data_dir: Path, integration: str, bodies: list[dict[str, Any]],
               received_at: datetime) -> None:
    layout = DataLayout(root=data_dir).ensure()
    lines = [encode_record(make_record(body, received_at=received_at, source="127.0.0.1",
                                       integration=integration)) for body in bodies]
    name = f"{received_at:%Y%m%dT%H%M%S%f}-test-1-{integration}.jsonl"
    (layout.spool_ready / name).write_bytes(b"".join(lines))


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uk-site sends all four actions; ie-site only ever sends SessionEnded."""
    data = tmp_path_factory.mktemp("sites") / "data"
    spool_from(data, "uk-site", [session_ended(1), agent_activity(2), queue_info(3),
                                 card_payment(4)], TEN)
    spool_from(data, "ie-site", [session_ended(5)], TEN + timedelta(minutes=5))
    run_batch(make_settings(data))
    columns = {r[0] for r in query(data, "SELECT * FROM (DESCRIBE agent_activity)")}
    if "integration" not in columns:
        pytest.skip("the event tables have no integration column yet")
    return data


def by_feed(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["action"], r["integration"]): r for r in rows}


def test_each_action_of_each_integration_is_listed_with_its_last_arrival(
        two_sites: Path) -> None:
    feeds = by_feed(feed_status(make_settings(two_sites), now=TEN + timedelta(minutes=10)))
    assert set(feeds) == {("sessionended", "uk-site"), ("agentactivity", "uk-site"),
                          ("queueinfo", "uk-site"), ("cardpayment", "uk-site"),
                          ("sessionended", "ie-site")}
    assert feeds[("sessionended", "ie-site")]["last_event"] == TEN + timedelta(minutes=5)
    assert feeds[("queueinfo", "uk-site")]["age_seconds"] == 600
    assert not any(f["silent"] for f in feeds.values())


def test_silence_of_the_alarm_minutes_in_business_hours_raises_it_per_feed(
        two_sites: Path) -> None:
    rows = feed_status(make_settings(two_sites), now=TEN + timedelta(minutes=17))
    silent = {key for key, row in by_feed(rows).items() if row["silent"]}
    # uk-site has been quiet 17 minutes, ie-site 12; ie-site's missing AgentActivity is no
    # silence: it never sends one
    assert silent == {("sessionended", "uk-site"), ("agentactivity", "uk-site"),
                      ("queueinfo", "uk-site"), ("cardpayment", "uk-site")}
    assert sorted(silence_gauge(rows)) == [
        ("agentactivity", "uk-site", 1.0), ("cardpayment", "uk-site", 1.0),
        ("queueinfo", "uk-site", 1.0), ("sessionended", "ie-site", 0.0),
        ("sessionended", "uk-site", 1.0)]


def test_no_feed_is_silent_outside_business_hours(two_sites: Path) -> None:
    evening = feed_status(make_settings(two_sites), now=TEN.replace(hour=21))
    saturday = feed_status(make_settings(two_sites), now=TEN + timedelta(days=4))
    assert evening and not any(f["silent"] for f in evening + saturday)


def test_the_alarm_minutes_are_a_setting(two_sites: Path) -> None:
    settings = make_settings(two_sites, silence_alarm_minutes=30)
    assert not any(f["silent"] for f in feed_status(settings, now=TEN + timedelta(minutes=17)))


def test_the_receivers_last_event_is_seen_before_any_batch_loads_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = make_settings(data, tokens="uk-site=abc")
    app = create_app(settings)
    try:
        answer = app.test_client().post("/", data=orjson.dumps(queue_info(1)),
                                        headers={"Genius-Webhook-Token": "abc"})
        assert answer.status_code == 200
    finally:
        close_app(app)  # writes the process's metric file
    rows = feed_status(settings, now=datetime.now(UTC))
    [row] = rows
    assert (row["action"], row["integration"]) == ("queueinfo", "uk-site")
    assert row["age_seconds"] < 60 and not row["silent"]
