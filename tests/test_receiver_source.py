"""Source address allow-list and reverse proxies, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from receiver_support import assert_error, quarantined, spool_records, start_receiver

from genius_wh.settings import IntegrationToken, Settings
from ingest.guard import address_allowed, integration_of
from ingest.proxy import client_address

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
    pytest.param(None, [], "default", id="no tokens set: no check"),
    pytest.param(None, ["t1"], None, id="missing"),
    pytest.param("t2", ["t1", "t2"], "default", id="second of several"),
    pytest.param("t1 ", ["t1"], None, id="trailing space"),
    pytest.param("T1", ["t1"], None, id="case matters"),
    pytest.param("é", ["e"], None, id="non-ascii"),
    pytest.param("def", ["uk=abc", "ie=def"], "ie", id="named token gives its integration"),
    pytest.param("new", ["uk=old", "uk=new"], "uk", id="rotation: either token of one name"),
])
def test_token_names_its_integration(sent: str | None, tokens: list[str],
                                     expected: str | None) -> None:
    assert integration_of(sent, [IntegrationToken.parse(t) for t in tokens]) == expected


@pytest.mark.parametrize("peer, forwarded, settings, expected", [
    pytest.param("127.0.0.1", "1.2.3.4", {}, "127.0.0.1", id="no trusted proxies"),
    pytest.param("127.0.0.1", "9.9.9.9, 1.2.3.4", {"trusted_proxies": 1}, "1.2.3.4",
                 id="last hop from a known proxy"),
    pytest.param("127.0.0.1", "9.9.9.9, 1.2.3.4", {"trusted_proxies": 2}, "9.9.9.9",
                 id="two proxies"),
    pytest.param("10.0.0.5", "1.2.3.4", {"trusted_proxies": 1}, "10.0.0.5",
                 id="peer outside proxy_addresses: header ignored"),
    pytest.param("10.0.0.5", "1.2.3.4", {"trusted_proxies": 1,
                                         "proxy_addresses": "10.0.0.0/24"}, "1.2.3.4",
                 id="peer inside a proxy CIDR"),
    pytest.param("127.0.0.1", "1.2.3.4", {"trusted_proxies": 2}, "127.0.0.1",
                 id="fewer entries than proxies"),
    pytest.param("127.0.0.1", "x" * 1000, {"trusted_proxies": 1}, "x" * 64,
                 id="a long entry is cut"),
])
def test_forwarded_address_is_believed_only_from_known_proxies(
        peer: str, forwarded: str, settings: dict[str, object], expected: str) -> None:
    assert client_address(peer, forwarded, Settings(**settings)) == expected  # type: ignore[arg-type]


def test_forwarded_header_from_an_unknown_peer_is_not_believed(tmp_path: Path) -> None:
    # issue #9: with trusted_proxies = 1 an X-Forwarded-For sent straight in passed genius
    running = start_receiver(tmp_path / "data", allowed_ips="genius", trusted_proxies="1",
                             proxy_addresses="10.9.9.9")
    try:
        forged = {"X-Forwarded-For": "84.22.187.53"}
        message = assert_error(*running.post(AGENT, forged), 403)
        assert message == "source address 127.0.0.1 is not allowed"
        assert spool_records(running.data_dir) == []
    finally:
        running.stop()


def test_refused_request_logs_a_long_forwarded_header_once_and_cut(tmp_path: Path) -> None:
    running = start_receiver(tmp_path / "data", allowed_ips="genius", trusted_proxies="1")
    try:
        long_value = "7" * 100_000
        status, answer = running.post(AGENT, {"X-Forwarded-For": long_value})
        assert status == 403 and len(answer["error"]) < 200
        running.stop()
        log = running.log.read_text().splitlines()
        lines = [line for line in log if "refused request from" in line]
        assert len(lines) == 1 and len(lines[0]) < 600
        assert lines[0].count("7" * 64) == 2  # the address (cut to 64) and the header (cut)
    finally:
        running.stop()
