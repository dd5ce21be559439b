"""Converters of vendor values to the typed columns of the fixed tables (CONTRACT section 6).

Every converter takes (value, tz) and returns the column value, or raises ConversionError
whose message says what is wrong. None stays None; an empty string is NULL for a
non-text column (the vendor sends "" where it has nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, Final

from genius_wh.widening import json_text
from transform.errors import ConversionError

Converter = Callable[[Any, tzinfo], Any]

_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else \
        type(value).__name__


def to_text(value: Any, tz: tzinfo) -> str | None:
    """Text as sent; numbers sent as numbers become their decimal text (7002 -> "7002")."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise ConversionError(f"expected text, got an {_kind(value)}")


def _integer(value: Any, bounds: tuple[int, int], name: str) -> int | None:
    if type(value) is int:
        number = value
    elif value is None:
        return None
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        parsed = _parse_integer(value)
        if parsed is None:
            return None
        number = parsed
    else:
        raise ConversionError(f"expected a whole number, got {_kind(value)}")
    if not bounds[0] <= number <= bounds[1]:
        raise ConversionError(f"{number} is out of range for {name}")
    return number


def _parse_integer(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ConversionError("not a number") from None
    if not number.is_integer():
        raise ConversionError("not a whole number")
    return int(number)


def to_int32(value: Any, tz: tzinfo) -> int | None:
    """A whole number fitting INTEGER; "120", 120.0 and 120 all give 120."""
    return _integer(value, _INT32, "INTEGER")


def to_int64(value: Any, tz: tzinfo) -> int | None:
    """A whole number fitting BIGINT; "67890", 67890.0 and 67890 all give 67890."""
    return _integer(value, _INT64, "BIGINT")


def to_double(value: Any, tz: tzinfo) -> float | None:
    """A finite number; "3.5" and 3 give 3.5 and 3.0."""
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if value is None:
        return None
    if kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            raise ConversionError("not a number") from None
        if not math.isfinite(number):
            raise ConversionError("not a finite number")
        return number
    raise ConversionError(f"expected a number, got {_kind(value)}")


def to_timestamp(value: Any, tz: tzinfo) -> datetime | None:
    """An exact instant: ISO 8601, 7 fractional digits truncated to microseconds.

    - with an offset (or Z): that offset;
    - without an offset: the configured time zone (`tz`).
    """
    if type(value) is not str:
        if value is None:
            return None
        raise ConversionError(f"expected a timestamp text, got {_kind(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        untidy = _parse_untidy(value)
        if untidy is None:
            return None
        moment = untidy
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    if not 1 < moment.year < 9999:
        try:
            moment.timestamp()
        except (OverflowError, ValueError):
            raise ConversionError("timestamp is out of range") from None
    return moment


def _parse_untidy(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError("not an ISO 8601 timestamp") from None


def to_last4(value: Any, tz: tzinfo) -> str | None:
    """The last four card digits as 4 characters: 9030 -> "9030", 30 -> "0030"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConversionError(f"expected digits, got {_kind(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ConversionError("not four digits")
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if len(digits) >= 4:
        return digits[-4:]
    if digits and digits == text:
        return digits.zfill(4)
    raise ConversionError("not four digits")


def describe(value: Any) -> str:
    """A value as it was sent, as short text for a load issue."""
    text = value if isinstance(value, str) else json_text(value)
    return text if len(text) <= 200 else text[:197] + "..."


#: Converter for each DuckDB column type of genius_wh.tables (JSON is handled by the caller).
BY_TYPE: Final[dict[str, Converter]] = {
    "VARCHAR": to_text,
    "INTEGER": to_int32,
    "BIGINT": to_int64,
    "DOUBLE": to_double,
    "TIMESTAMPTZ": to_timestamp,
}
