"""Log lines on stderr, set up once per process from the settings (`log_level`, `log_format`).

- `json` (the default): one JSON object per line: `time` (UTC, ISO 8601), `level`, `logger`,
  `message`, then the record's own fields (`extra=`), `exception` when there is one; what
  journald, `docker logs` and log shippers take line by line;
- `text`: `time level logger: message key=value ...`, for a person at a terminal;
- every value is cut: a message at `MAX_MESSAGE` characters, a field at `MAX_FIELD`, so no
  sender can make a log line long.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from genius_wh.settings import Settings

MAX_MESSAGE: Final = 4000
MAX_FIELD: Final = 200
MAX_EXCEPTION: Final = 16000
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The attributes every LogRecord has: anything else on a record came with `extra=`.
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


def cut(value: str, limit: int) -> str:
    """`value`, or its first `limit` characters and an ellipsis."""
    return value if len(value) <= limit else value[:limit] + "…"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's own fields (from `extra=`), strings cut to MAX_FIELD."""
    found: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            if isinstance(value, bool | int | float) or value is None:
                found[key] = value
            else:
                found[key] = cut(str(value), MAX_FIELD)
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name,
            "message": cut(record.getMessage(), MAX_MESSAGE)}
        entry.update(fields(record))
        if record.exc_info:
            entry["exception"] = cut(self.formatException(record.exc_info), MAX_EXCEPTION)
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    """The plain line, with the record's fields as key=value after the message."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = cut(record.message, MAX_MESSAGE)
        line = super().formatMessage(record)
        extra = " ".join(f"{key}={value}" for key, value in fields(record).items())
        return f"{line} {extra}" if extra else line


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of a `log_format` setting."""
    return TextFormatter() if log_format == "text" else JsonFormatter()


def configure(settings: Settings) -> None:
    """Send every log record at `log_level` or above to stderr in `log_format`.

    Replaces a handler an earlier call installed; leaves other handlers alone.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "genius_wh", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    handler.genius_wh = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
