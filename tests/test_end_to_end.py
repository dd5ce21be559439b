"""The whole product as an operator runs it: `genius-wh serve` with its scheduler, the vendor's
four HTTP captures byte for byte, and SQL answers from the warehouse a few seconds later."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from receiver_support import DATA, send_capture, start_receiver, wait_until

from genius_wh.layout import DataLayout
from orchestration.cli import cli

CAPTURES = ["sessionended-trailing-comma", "agentactivity", "queueinfo", "cardpayment"]


def sql(data_dir: Path, query: str) -> list[dict[str, Any]]:
    """Rows of `genius-wh sql QUERY --format json`, as a user's script would read them."""
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "sql", query,
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def loaded_tables(data_dir: Path) -> dict[str, int] | None:
    """Row counts of the four event tables once all four captures are loaded, else None."""
    if not DataLayout(root=data_dir).catalog.exists():
        return None  # no batch has created the warehouse yet
    rows = sql(data_dir, "SELECT (SELECT count(*) FROM session_ended) AS s, "
                         "(SELECT count(*) FROM agent_activity) AS a, "
                         "(SELECT count(*) FROM queue_info) AS q, "
                         "(SELECT count(*) FROM card_payment) AS c")
    return rows[0] if all(rows[0].values()) else None


def test_spec_captures_reach_the_warehouse_through_the_scheduled_batch(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    receiver = start_receiver(data_dir, scheduler=True, tokens="ASampleToken",
                              batch_interval_seconds="0.5", spool_segment_seconds="0.3")
    try:
        with socket.create_connection(("127.0.0.1", receiver.port), timeout=30) as sock:
            for name in CAPTURES:
                status, answer = send_capture(sock, (DATA / f"capture-{name}.http").read_bytes())
                assert status == 200, answer
        counts = wait_until(lambda: loaded_tables(data_dir), timeout=60,
                            what="the scheduled batch to load the four captures")
    finally:
        receiver.stop()
    assert counts == {"s": 1, "a": 1, "q": 1, "c": 1}

    session = sql(data_dir, "SELECT urn, agent, wraptime, cli, id, calltype, queuenumber, "
                            "timestamplaunched AT TIME ZONE 'UTC' AS launched_utc "
                            "FROM session_ended")[0]
    assert session == {"urn": "test-513649415", "agent": "agent1001", "wraptime": 2.1841454,
                       "cli": "01412800275", "id": 123456789, "calltype": 3, "queuenumber": 0,
                       "launched_utc": "2021-07-06T09:09:07.292425"}
    record = sql(data_dir, "SELECT urn, tel1, name, postcode, arrears FROM session_recorddata")
    assert record == [{"urn": "test-513649415", "tel1": "07976916443", "name": "8600013",
                       "postcode": "", "arrears": None}]
    agent = sql(data_dir, "SELECT extension, agentstate, previousagentstate, queue "
                          "FROM agent_activity")
    assert agent == [{"extension": "7002", "agentstate": 0, "previousagentstate": 2,
                      "queue": None}]
    payment = sql(data_dir, "SELECT card_brand, last4digits, amount, currency, succeeded "
                            "FROM card_payment")
    assert payment == [{"card_brand": "VISA", "last4digits": "9030", "amount": 12345,
                        "currency": "GBP", "succeeded": True}]

    status = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "status", "--format", "json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["last_batch"]["outcome"] == "ok"
    assert report["rows"]["session_ended"] == 1 and report["rows"]["card_payment"] == 1
    assert report["spool"]["ready"]["segments"] == report["spool"]["working"]["segments"] == 0
