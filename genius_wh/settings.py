"""Settings: one typed object built once from defaults < TOML file < GENIUS_WH_* environment."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
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


def _split_commas(value: Any) -> Any:
    """Accept `a,b` strings (env, TOML) as well as real lists."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything an operator can set; see the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="GENIUS_WH_", extra="forbid", validate_default=True, frozen=True
    )

    data_dir: Path = Field(
        Path("./data"), description="Spool, lake, exports and warehouse.duckdb live here."
    )
    tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated accepted Genius-Webhook-Token values; empty: no check.",
    )
    allowed_ips: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses or CIDR blocks; `genius` = the three Genius "
        "addresses; empty allows all.",
    )
    trusted_proxies: int = Field(
        0, ge=0, description="How many reverse proxies' X-Forwarded-For entries to believe."
    )
    max_body_bytes: int = Field(1_048_576, gt=0, description="Larger bodies get 413.")
    batch_interval_seconds: float = Field(
        60, gt=0, description="How often the scheduler runs a batch."
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
    archive_retention_days: int = Field(
        0, ge=0, description="Days to keep loaded spool segments in spool/archive; 0 keeps "
        "them for ever (needed by `rebuild`).",
    )
    warehouse_lock_wait_seconds: float = Field(
        30, ge=0, description="How long `genius-wh batch` waits for another process (a DuckDB "
        "client) to release warehouse.duckdb before it gives up; nothing is lost meanwhile.",
    )
    server_threads: int = Field(
        32, gt=0, description="Worker threads of the WSGI server."
    )
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
        return _split_commas(value)

    @field_validator("allowed_ips", mode="before")
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
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"bad crontab expression {value!r}: {exc}") from exc
        return value

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
