"""Settings: one typed object built once from defaults < TOML file < GENIUS_WH_* environment."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from genius_wh.errors import ConfigError

#: The three published source addresses of the Genius platform (UK, Ireland, North America).
GENIUS_ADDRESSES = ("84.22.187.53/32", "217.114.172.100/32", "54.39.74.26/32")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: An integration name: what `name=` says in a named token, a metric label and a column value.
_INTEGRATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class IntegrationToken:
    """One accepted Genius-Webhook-Token value and the integration it names (never shown)."""

    name: str
    value: str = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> IntegrationToken:
        """`uk-site=abc` is named; `abc` (or base64 padding such as `abc==`) is `default`."""
        name, sep, value = text.partition("=")
        if not sep or not value.strip("="):
            return cls("default", text)
        if not _INTEGRATION_NAME.fullmatch(name):
            # the text is not echoed: it may be part of a secret
            raise ValueError("a named token is NAME=TOKEN with NAME 1-64 letters, digits, `_`, "
                             "`.` or `-` starting with a letter or digit; one token's text "
                             "before its first `=` is not such a name")
        return cls(name, value)


def _split_commas(value: Any) -> Any:
    """Accept `a,b` strings (env, TOML) as well as real lists."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_WINDOW = re.compile(r"(\w{3})(?:-(\w{3}))?\s+(\d\d):([0-5]\d)-(\d\d):([0-5]\d)")


@dataclass(frozen=True)
class BusinessHours:
    """Opening windows (weekday 0 = Monday, first and end minute of the local day) in `tz`."""

    windows: tuple[tuple[int, int, int], ...]
    tz: str
    text: str = ""

    @classmethod
    def parse(cls, text: str, tz: str) -> BusinessHours:
        """`Mon-Fri 08:00-20:00`, several joined by commas (`..., Sat 09:00-13:00`)."""
        windows: list[tuple[int, int, int]] = []
        for part in _split_commas(text):
            match = _HOURS_WINDOW.fullmatch(part)
            days = [d.lower() for d in match.group(1, 2) if d] if match else []
            if not match or not set(days) <= set(_DAY_NAMES):
                raise ValueError(f"business hours {part!r}: write them like Mon-Fri 08:00-20:00")
            start, end = int(match[3]) * 60 + int(match[4]), int(match[5]) * 60 + int(match[6])
            if not 0 <= start < end <= 24 * 60:
                raise ValueError(f"business hours {part!r}: the end must be after the start")
            first, last = _DAY_NAMES.index(days[0]), _DAY_NAMES.index(days[-1])
            windows.extend(((first + n) % 7, start, end) for n in range((last - first) % 7 + 1))
        return cls(tuple(windows), tz, text)

    def __str__(self) -> str:
        return self.text


class Settings(BaseSettings):
    """Everything an operator can set; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="GENIUS_WH_", extra="forbid", validate_default=True, frozen=True
    )

    data_dir: Path = Field(
        Path("./data"),
        description="Spool, exports and (by default) the warehouse catalog and lake live here.",
    )
    tokens: Annotated[list[IntegrationToken], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated accepted Genius-Webhook-Token values, each plain (`abc`, "
        "integration `default`) or named (`uk-site=abc`); two tokens of one name rotate; "
        "empty: no check.",
    )
    allowed_ips: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDR blocks; `genius` = the three Genius "
        "addresses; empty allows all.",
    )
    trusted_proxies: int = Field(
        0, ge=0, description="How many reverse proxies' X-Forwarded-For entries to believe, "
        "and only when the TCP peer is in proxy_addresses."
    )
    proxy_addresses: Annotated[list[IPNetwork], NoDecode] = Field(
        "127.0.0.1,::1",  # type: ignore[arg-type]  # parsed by the validator, shown as set
        description="Addresses or CIDR blocks of the reverse proxies whose "
        "X-Forwarded-For may be believed."
    )
    metrics_allowed_ips: Annotated[list[IPNetwork], NoDecode] = Field(
        "127.0.0.1,::1",  # type: ignore[arg-type]  # parsed by the validator, shown as set
        description="Who may read GET /metrics (addresses or CIDR blocks, "
        "after trusted_proxies); others get 403; empty allows all."
    )
    max_json_depth: int = Field(
        64, gt=0, description="Bodies nested deeper get 400 and are kept in quarantine."
    )
    max_recorddata_fields: int = Field(
        2000, gt=0, description="A recorddata with more fields gets 400 and is kept in "
        "quarantine."
    )
    header_timeout_seconds: float = Field(
        10, gt=0, description="A client that has not sent its whole request headers by then "
        "is disconnected."
    )
    max_body_bytes: int = Field(1_048_576, gt=0, description="Larger bodies get 413.")
    batch_interval_seconds: float = Field(
        5, gt=0, description="How often the scheduler runs a batch."
    )
    export_cron: str = Field(
        "30 2 * * *", description="When the nightly export runs (crontab syntax, in timezone)."
    )
    timezone: str = Field(
        "Europe/London",
        description="For timestamps sent without an offset, and for day boundaries.",
    )
    spool_segment_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="A spool segment is sealed once this size is reached."
    )
    spool_segment_seconds: float = Field(
        5, gt=0, description="A spool segment is sealed once it is this old (and not empty)."
    )
    batch_max_events: int = Field(
        50_000, gt=0, description="Events per chunk of a batch: bounds the memory of each "
        "transform worker (2 work in parallel on a backlog).",
    )
    batch_memory_mb: int = Field(
        1024, ge=0, description="Memory (MiB) a batch may take while it transforms and loads, "
        "on top of what its process already held, in the batch process and in each transform "
        "worker: an OS limit (RLIMIT_DATA) the kernel enforces, with DuckDB's memory_limit at "
        "half of it; a batch that needs more fails with one line in `_batches` and the log, "
        "never the receiver, and the next batch tries again; 0: no OS limit (DuckDB keeps "
        "512 MiB).",
    )
    archive_retention_days: int = Field(
        0, ge=0, description="Days to keep loaded spool segments in spool/archive; 0 keeps "
        "them for ever (needed by `rebuild`).",
    )
    catalog: str = Field(
        "", description="Where the warehouse's DuckLake catalog lives: empty for the embedded "
        "file DATA_DIR/catalog.sqlite, or `postgres:<libpq connection string>` for a shared "
        "PostgreSQL catalog (several machines).",
    )
    lake_path: str = Field(
        "", description="Where the warehouse's Parquet data files live: empty for "
        "DATA_DIR/lake/, or `s3://bucket/prefix/` (credentials and endpoint from the standard "
        "AWS_* environment variables).",
    )
    snapshot_retention_hours: float = Field(
        168, ge=0, description="How long old warehouse snapshots stay readable (time travel) "
        "before `genius-wh maintain` expires them.",
    )
    server_threads: int = Field(
        32, gt=0, description="Worker threads of the WSGI server."
    )
    export_mask: Annotated[tuple[str, ...], NoDecode] = Field(
        ("card_payment.cardholder:hash", "session_ended.telnumber:hash",
         "session_ended.cli:hash"),
        description="Comma-separated `table.column:hash` or `:drop` (`recorddata.<column>` "
        "for a recorddata field) masked in exports only, never in the warehouse; hash is a "
        "keyed HMAC-SHA256, so joins still work; empty exports everything as it is.",
    )
    export_mask_key: SecretStr = Field(
        SecretStr(""), description="Secret key of the export_mask hashes; empty: a random key "
        "made once in DATA_DIR/.export-mask-key (0600).",
    )
    export_group: str = Field(
        "", description="A group (name or id) that may read the nightly exports: the data dir "
        "becomes 0710 and exports/ 2750 in that group, export files 0640 (the service user "
        "must be a member); empty keeps them private (0700/0600).",
    )
    retention_days: int = Field(
        0, ge=0, description="Days after which warehouse rows (by received_at), spool archive "
        "folders and export dates go (`maintain` and the scheduler); 0 keeps them for ever.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The least severe log lines written to stderr: debug, info, "
        "warning or error.",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json`: one JSON object per line on stderr (time, level, logger, "
        "message and fields), for journald, docker and log shippers; `text`: one plain line, "
        "for a person at a terminal.",
    )
    access_log: bool = Field(
        True, description="One log line per HTTP request (method, path, status, bytes, "
        "duration, peer, integration; never a token or a body).",
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("export_mask", mode="before")
    @classmethod
    def _parse_export_mask(cls, value: Any) -> Any:
        items = _split_commas(value)
        for item in items if isinstance(items, list | tuple) else []:
            place, _, how = str(item).rpartition(":")
            if how not in ("hash", "drop") or place.count(".") != 1 or \
                    not all(place.split(".")):
                raise ValueError(f"export_mask entry {item!r}: write table.column:hash or "
                                 "table.column:drop (recorddata.<column> for a field)")
        return items
    ofcom_limit: float = Field(
        0.03, gt=0, le=1, description="Ofcom abandoned-call limit as a fraction of live calls "
        "over any 24 hours; v_ofcom_compliance flags a campaign above it.",
    )
    ofcom_calltypes: Annotated[tuple[int, ...], NoDecode] = Field(
        (0, 4), description="Comma-separated call types counted for the Ofcom rate "
        "(0 predictive, 4 progressive).",
    )
    amd_false_positive_rate: float = Field(
        0, ge=0, le=1, description="Estimated answer-machine-detection false positives per "
        "connected call, added to abandoned and live calls of the Ofcom rate.",
    )
    agent_state_cap_minutes: float = Field(
        120, gt=0, description="An agent state (other than logged out) counts for at most this "
        "long: a state left open or stale overnight is not a night of waiting.",
    )
    short_abandon_seconds: float = Field(
        5, ge=0, description="Inbound calls abandoned sooner are short abandons, left out of "
        "the Genesys-form service level.",
    )

    @field_validator("ofcom_calltypes", mode="before")
    @classmethod
    def _parse_ofcom_calltypes(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        items = _split_commas(value)
        if not isinstance(items, list):
            return items
        return [IntegrationToken.parse(i) if isinstance(i, str) else i for i in items]

    @field_validator("allowed_ips", "proxy_addresses", "metrics_allowed_ips", mode="before")
    @classmethod
    def _parse_allowed_ips(cls, value: Any) -> Any:
        items = _split_commas(value)
        if not isinstance(items, list):
            return items
        expanded: list[Any] = []
        for item in items:
            if isinstance(item, str) and item.lower() == "genius":
                expanded.extend(GENIUS_ADDRESSES)
            else:
                expanded.append(item)
        return [ipaddress.ip_network(i, strict=False) if isinstance(i, str) else i
                for i in expanded]

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("export_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        # imported here: apscheduler costs ~95 ms of start-up (python -X importtime), and
        # every process reads the settings, the receiver's workers included
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"bad crontab expression {value!r}: {exc}") from exc
        return value

    wallboard_users: Annotated[list[tuple[str, SecretStr]], NoDecode] = Field(
        default_factory=list, description="Comma-separated `name:password` pairs for HTTP "
        "Basic on /wallboard; empty: only loopback clients may see it.",
    )
    silence_alarm_minutes: float = Field(
        15, gt=0, description="Minutes inside business_hours without an event of an action an "
        "integration sends before the feed-silence alarm is raised.",
    )
    business_hours: Annotated[BusinessHours, NoDecode] = Field(
        default_factory=lambda: BusinessHours.parse("Mon-Fri 08:00-20:00", ""),
        description="When the feed-silence alarm may ring, in timezone "
        "(`Mon-Fri 08:00-20:00, Sat 09:00-13:00`); empty: never.",
    )

    @field_validator("wallboard_users", mode="before")
    @classmethod
    def _parse_wallboard_users(cls, value: Any) -> Any:
        items = _split_commas(value)
        if not isinstance(items, list):
            return items
        users: list[Any] = []
        for item in items:
            name, _, password = item.partition(":") if isinstance(item, str) else ("", "", "")
            if isinstance(item, str) and not (name and password):
                raise ValueError("each wallboard user is written name:password")
            users.append((name, password) if isinstance(item, str) else item)
        return users

    @field_validator("business_hours", mode="before")
    @classmethod
    def _parse_business_hours(cls, value: Any, info: ValidationInfo) -> Any:
        text = value.text if isinstance(value, BusinessHours) else value
        tz = info.data.get("timezone", "Europe/London")
        return BusinessHours.parse(text, tz) if isinstance(text, str) else value

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone as a ZoneInfo."""
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CONFIG_FILE.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


_CONFIG_FILE: dict[str, Path | None] = {}


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings; `config` (or GENIUS_WH_CONFIG) names a TOML file; overrides win.

    Raises ConfigError listing every problem at once.
    """
    path = config or os.environ.get("GENIUS_WH_CONFIG") or None
    toml_path = Path(path) if path else None
    if toml_path is not None and not toml_path.is_file():
        raise ConfigError(f"config file {toml_path} does not exist")
    _CONFIG_FILE["path"] = toml_path
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"bad settings ({exc.error_count()} problems): {problems}") from exc
    finally:
        _CONFIG_FILE.pop("path", None)
