"""Settings: defaults < TOML file < GENIUS_WH_* environment, parsed once, all problems listed."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from genius_wh.errors import ConfigError
from genius_wh.settings import GENIUS_ADDRESSES, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("GENIUS_WH_"):
            monkeypatch.delenv(name)


def test_defaults_match_the_contract() -> None:
    s = load_settings()
    assert s.data_dir == Path("./data")
    assert s.tokens == [] and s.allowed_ips == [] and s.trusted_proxies == 0
    assert s.max_body_bytes == 1_048_576 and s.batch_interval_seconds == 5
    assert s.export_cron == "30 2 * * *" and s.timezone == "Europe/London"
    local = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1")]
    assert s.proxy_addresses == local and s.metrics_allowed_ips == local
    assert (s.max_json_depth, s.max_recorddata_fields, s.header_timeout_seconds) == (64, 2000, 10)


def test_environment_overrides_toml_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "genius.toml"
    config.write_text('timezone = "Europe/Dublin"\ntrusted_proxies = 1\nmax_body_bytes = 2048\n')
    monkeypatch.setenv("GENIUS_WH_MAX_BODY_BYTES", "4096")
    s = load_settings(config)
    assert (s.timezone, s.trusted_proxies, s.max_body_bytes) == ("Europe/Dublin", 1, 4096)


def test_config_file_can_be_named_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "genius.toml"
    config.write_text('tokens = "alpha, beta"\n')
    monkeypatch.setenv("GENIUS_WH_CONFIG", str(config))
    assert [t.value for t in load_settings().tokens] == ["alpha", "beta"]


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param("abc", [("default", "abc")], id="plain token is default"),
    pytest.param("uk-site=abc, ie.site=def", [("uk-site", "abc"), ("ie.site", "def")],
                 id="named tokens"),
    pytest.param("uk=old,uk=new", [("uk", "old"), ("uk", "new")], id="rotation: one name twice"),
    pytest.param("QUJD==", [("default", "QUJD==")], id="base64 padding is not a name"),
    pytest.param("uk=a=b", [("uk", "a=b")], id="only the first = names"),
])
def test_tokens_are_plain_or_named(raw: str, expected: list[tuple[str, str]],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENIUS_WH_TOKENS", raw)
    assert [(t.name, t.value) for t in load_settings().tokens] == expected


def test_a_token_never_shows_in_the_settings_or_their_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENIUS_WH_TOKENS", "uk=s3cret-value")
    assert "s3cret" not in repr(load_settings())
    monkeypatch.setenv("GENIUS_WH_TOKENS", "bad name s3cret=x")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "tokens" in str(caught.value) and "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("genius", list(GENIUS_ADDRESSES), id="genius preset"),
        pytest.param(
            "10.0.0.0/8, 192.0.2.7", ["10.0.0.0/8", "192.0.2.7/32"], id="cidr and address"
        ),
        pytest.param("Genius,::1", [*GENIUS_ADDRESSES, "::1/128"], id="preset any case plus ipv6"),
    ],
)
def test_allowed_ips_are_parsed_once_from_a_comma_list(
    raw: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENIUS_WH_ALLOWED_IPS", raw)
    assert load_settings().allowed_ips == [ipaddress.ip_network(e) for e in expected]


def test_bad_settings_fail_at_start_listing_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENIUS_WH_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("GENIUS_WH_ALLOWED_IPS", "not-an-address")
    monkeypatch.setenv("GENIUS_WH_EXPORT_CRON", "every night")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "3 problems" in message
    assert "unknown time zone 'Mars/Olympus'" in message
    assert "allowed_ips" in message and "export_cron" in message


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file .*nope.toml does not exist"):
        load_settings(tmp_path / "nope.toml")
