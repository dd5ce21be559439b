"""The wallboard's figures (#11) are the warehouse views' rows and the latest events, and follow
the events as they load."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from flask.testing import FlaskClient
from wallboard_support import (
    Clock,
    at,
    close_app,
    day_bodies,
    event_time,
    load_until,
    spool,
    wallboard_app,
)
from warehouse_support import make_settings, query

import wallboard.web
from genius_wh.tables import EVENT_TABLES
from orchestration.batch import run_batch
from wallboard.figures import read_figures

BODIES = day_bodies(count=5000)


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[Path, Clock, FlaskClient]]:
    """A data dir with the simulated day loaded up to 10:30, and the wallboard on it."""
    monkeypatch.setattr(wallboard.web, "CACHE_SECONDS", 0.0)
    data = tmp_path / "data"
    load_until(data, BODIES, at(0), at(10, 30))
    clock = Clock(at(10, 30))
    app = wallboard_app(make_settings(data), clock)
    try:
        yield data, clock, app.test_client()
    finally:
        close_app(app)


def figures(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/wallboard.json")
    assert answer.status_code == 200, answer.data
    found: dict[str, Any] = orjson.loads(answer.data)
    return found


def test_queue_figures_today_are_the_rows_of_v_queue_service(
        board: tuple[Path, Clock, FlaskClient]) -> None:
    data, _, client = board
    shown = {q["queuenumber"]: q for q in figures(client)["queues"]}
    rows = query(data, "SELECT queuenumber, offered, answered, abandoned, service_level, "
                 "avg_speed_of_answer_seconds FROM v_queue_service WHERE local_day = ?",
                 [at(10).date()])
    assert rows and len(shown) == len(rows)
    for number, offered, answered, abandoned, level, asa in rows:
        q = shown[number]
        assert (q["offered"], q["answered"], q["abandoned"]) == (offered, answered, abandoned)
        assert q["service_level"] == pytest.approx(level)
        assert q["asa_seconds"] == pytest.approx(asa)


def test_outbound_figures_today_are_v_campaign_daily_and_v_ofcom_compliance(
        board: tuple[Path, Clock, FlaskClient]) -> None:
    data, _, client = board
    shown = figures(client)
    daily = {c: (d, n) for c, d, n in query(
        data, "SELECT campaign, dials, connects FROM v_campaign_daily WHERE local_day = ?",
        [at(10).date()])}
    assert {c["campaign"] for c in shown["campaigns"]} == {"Sales_Predictive",
                                                           "Renewals_Preview"}
    for campaign in shown["campaigns"]:
        assert (campaign["dials"], campaign["connects"]) == daily[campaign["campaign"]]
    assert shown["unavailable"] == []
    worst = dict(query(data, "SELECT coalesce(campaign, '*'), worst_rate_24h FROM "
                       "v_ofcom_compliance WHERE local_day = ?", [at(10).date()]))
    meter = dict(query(data, "SELECT coalesce(campaign, '*'), rate_24h FROM v_ofcom_abandoned "
                       "WHERE window_end <= ? QUALIFY row_number() OVER (PARTITION BY scope, "
                       "campaign ORDER BY window_end DESC) = 1", [at(10, 30)]))
    rated = {c["campaign"]: c for c in shown["campaigns"]}
    # preview dialling is outbound but outside ofcom_calltypes: no Ofcom rate
    assert rated["Renewals_Preview"]["ofcom_rate_now"] is None
    sales, centre = rated["Sales_Predictive"], shown["centre_ofcom"]
    assert sales["ofcom_rate_24h"] == pytest.approx(worst["Sales_Predictive"])
    assert sales["ofcom_rate_now"] == pytest.approx(meter["Sales_Predictive"])
    assert centre["rate_24h"] == pytest.approx(worst["*"])
    assert centre["rate_now"] == pytest.approx(meter["*"])
    assert sales["ofcom_rate_now"] <= sales["ofcom_rate_24h"]


def latest_per_key(bodies: list[dict[str, Any]], action: str, until: datetime,
                   key: str) -> dict[Any, dict[str, Any]]:
    """The event object of the last-sent event of `action` per `key` before `until`."""
    objects = [b[action.lower()] for b in bodies
               if b["action"] == action and event_time(b) < until]
    return {obj[key]: obj for obj in objects}  # bodies are in the order they are sent


def test_agents_now_are_each_agents_latest_state_named_from_dim_agentstate(
        board: tuple[Path, Clock, FlaskClient]) -> None:
    data, _, client = board
    latest = latest_per_key(BODIES, "AgentActivity", at(10, 30), "agent")
    expected = Counter((a["campaign"], str(a["agentstate"])) for a in latest.values()
                       if a["agentstate"] != 0)
    shown = figures(client)["agents"]
    got = Counter({(c["campaign"], state): n for c in shown["campaigns"]
                   for state, n in c["by_state"].items()})
    assert got == expected
    names = {s["code"]: s["name"] for s in shown["states"]}
    assert set(names) == {int(state) for _, state in expected}  # every state shown, named
    assert names == dict(query(data, "SELECT code, description FROM dim_agentstate WHERE code "
                                     f"IN ({', '.join(map(str, names))})"))
    assert names.get(6) == "Talking"


def test_calls_waiting_and_oldest_wait_come_from_the_latest_queue_info(
        tmp_path: Path) -> None:
    last = next(i for i, b in enumerate(BODIES) if b["action"] == "QueueInfo"
                and b["queueinfo"]["callsinqueue"] and event_time(b) > at(9))
    sent = BODIES[:last + 1]
    spool(tmp_path / "d", sent, name="20261124T090000000000-test-1-000001")
    run_batch(make_settings(tmp_path / "d"))
    now = event_time(BODIES[last]) + timedelta(seconds=5)
    app = wallboard_app(make_settings(tmp_path / "d"), Clock(now))
    try:
        shown = {q["queuenumber"]: q for q in figures(app.test_client())["queues"]}
    finally:
        close_app(app)
    for number, info in latest_per_key(sent, "QueueInfo", now, "queuenumber").items():
        assert shown[number]["waiting"] == info["callsinqueue"]
        if info["callsinqueue"]:
            oldest = datetime.fromisoformat(info["oldestcall"][:26] + info["oldestcall"][-6:])
            wait = (now - oldest).total_seconds()
            assert shown[number]["oldest_wait_seconds"] == pytest.approx(wait, abs=0.2)
    assert shown[BODIES[last]["queueinfo"]["queuenumber"]]["oldest_wait_seconds"] >= 5


def test_figures_follow_the_events_as_batches_load_them(
        board: tuple[Path, Clock, FlaskClient]) -> None:
    data, clock, client = board
    before = figures(client)
    load_until(data, BODIES, at(10, 30), at(11, 30))
    clock.moment = at(11, 30)
    after = figures(client)
    dials = {c["campaign"]: c["dials"] for c in before["campaigns"]}
    assert all(c["dials"] > dials[c["campaign"]] for c in after["campaigns"])
    offered = {q["queuenumber"]: q["offered"] for q in before["queues"]}
    assert all(q["offered"] > offered[q["queuenumber"]] for q in after["queues"])
    assert after["generated_at"] > before["generated_at"]
    assert after["newest_event_at"] > before["newest_event_at"]


def test_many_screens_within_the_cache_time_share_one_read(
        board: tuple[Path, Clock, FlaskClient], monkeypatch: pytest.MonkeyPatch) -> None:
    data, clock, client = board
    monkeypatch.setattr(wallboard.web, "CACHE_SECONDS", 60.0)
    first = client.get("/wallboard.json").data
    load_until(data, BODIES, at(10, 30), at(11))
    clock.moment = at(11)
    assert client.get("/wallboard.json").data == first


def bare_warehouse(with_integration: bool) -> duckdb.DuckDBPyConnection:
    """Only the event tables and dim_agentstate, no views (as before the views exist)."""
    con = duckdb.connect()
    for table, columns in EVENT_TABLES.items():
        kept = [(c, t) for c, t in columns if with_integration or c != "integration"]
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in kept)})")
    con.execute("CREATE TABLE dim_agentstate AS SELECT * FROM (VALUES (6, 'Talking'), "
                "(3, 'Waiting for a call')) v(code, description)")
    return con


def add_agent(con: duckdb.DuckDBPyConnection, n: int, agent: str, state: int,
              integration: str | None = None) -> None:
    row = {"event_id": f"e{n}", "event_timestamp": at(10, n), "received_at": at(10, n),
           "campaign": "Out", "agent": agent, "agentstate": state,
           "timestampcurrentstate": at(10, n)}
    if integration is not None:
        row["integration"] = integration
    con.execute(f"INSERT INTO agent_activity ({', '.join(row)}) VALUES "
                f"({', '.join('?' for _ in row)})", list(row.values()))


@pytest.mark.parametrize("with_integration", [False, True],
                         ids=["before the integration column", "with it"])
def test_missing_views_are_listed_and_the_other_figures_still_show(
        tmp_path: Path, with_integration: bool) -> None:
    con = bare_warehouse(with_integration)
    add_agent(con, 1, "a1", 6, "uk" if with_integration else None)
    add_agent(con, 2, "a1", 3, "ie" if with_integration else None)
    found = read_figures(con, make_settings(tmp_path), at(10, 30))
    assert {"v_queue_latest", "v_queue_service", "v_campaign_daily",
            "v_ofcom_abandoned"} <= set(found["unavailable"])
    [campaign] = found["agents"]["campaigns"]
    # one agent name at two sites is two agents once events carry their integration
    expected = {"6": 1, "3": 1} if with_integration else {"3": 1}
    assert campaign["by_state"] == expected
    assert found["queues"] == [] and found["campaigns"] == []
