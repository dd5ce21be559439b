"""Source address allow-list and reverse proxies, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from receiver_support import assert_error, quarantined, spool_records, start_receiver

from genius_wh.settings import Settings
from ingest.guard import address_allowed, token_accepted

AGENT = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1"}}'


def test_source_outside_allowed_ips_gets_403_and_writes_nothing(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", allowed_ips="genius,10.0.0.0/8")
    try:
        message = assert_error(*running.post(AGENT), 403)
        assert message == "source address 127.0.0.1 is not allowed"
        forged = {"X-Forwarded-For": "84.22.187.53"}  # no trusted proxy: changes nothing
        assert assert_error(*running.post(AGENT, forged), 403) == message
        assert spool_records(running.data_dir) == [] and quarantined(running.data_dir) == []
        assert "source address 127.0.0.1 is not allowed (403)" in running.log.read_text()
    finally:
        running.stop()


def test_trusted_proxy_forwarded_address_is_checked_and_recorded(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", allowed_ips="genius", trusted_proxies="1")
    try:
        status, answer = running.post(AGENT, {"X-Forwarded-For": "6.6.6.6, 84.22.187.53"})
        assert status == 200
        [record] = spool_records(running.data_dir)
        assert record["source"] == "84.22.187.53"
        outside = {"X-Forwarded-For": "84.22.187.53, 6.6.6.6"}  # only the last hop is believed
        message = assert_error(*running.post(AGENT, outside), 403)
        assert message == "source address 6.6.6.6 is not allowed"
    finally:
        running.stop()


@pytest.mark.parametrize("address, allowed, expected", [
    pytest.param("84.22.187.53", ["genius"], True, id="genius preset"),
    pytest.param("84.22.187.54", ["genius"], False, id="next to a genius address"),
    pytest.param("10.9.8.7", ["10.0.0.0/8"], True, id="inside a CIDR block"),
    pytest.param("::1", ["10.0.0.0/8"], False, id="IPv6 against IPv4 block"),
    pytest.param("::1", ["::1"], True, id="IPv6 address"),
    pytest.param("anything", [], True, id="empty list allows all"),
    pytest.param("not-an-ip", ["10.0.0.0/8"], False, id="unparseable address"),
    pytest.param(None, ["10.0.0.0/8"], False, id="no address"),
])
def test_address_allowed(address: str | None, allowed: list[str], expected: bool) -> None:
    networks = Settings(allowed_ips=",".join(allowed)).allowed_ips  # type: ignore[arg-type]
    assert address_allowed(address, networks) is expected


@pytest.mark.parametrize("sent, tokens, expected", [
    pytest.param(None, [], True, id="no tokens set: no check"),
    pytest.param(None, ["t1"], False, id="missing"),
    pytest.param("t2", ["t1", "t2"], True, id="second of several"),
    pytest.param("t1 ", ["t1"], False, id="trailing space"),
    pytest.param("T1", ["t1"], False, id="case matters"),
    pytest.param("é", ["e"], False, id="non-ascii"),
])
def test_token_accepted(sent: str | None, tokens: list[str], expected: bool) -> None:
    assert token_accepted(sent, tokens) is expected
