"""Time in the simulator: integer microseconds since the epoch, written the vendor's way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SECOND = 1_000_000


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _local(micros: int, tz: ZoneInfo) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).astimezone(tz)


def vendor_timestamp(micros: int, tz: ZoneInfo, seventh: int = 0) -> str:
    """Local time with up to 7 fractional digits (trailing zeros dropped) and an offset.

    Example: `2021-07-06T10:09:19.9036161+01:00` (the seventh digit is a tick below a
    microsecond, given by `seventh`).
    """
    local = _local(micros, tz)
    fraction = f"{local.microsecond:06d}{seventh % 10}".rstrip("0")
    offset = local.strftime("%z")
    head = local.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}{'.' + fraction if fraction else ''}{offset[:3]}:{offset[3:]}"


def payment_timestamp(micros: int, tz: ZoneInfo) -> str:
    """Local time with two fractional digits and no offset, as CardPayment sends it."""
    local = _local(micros, tz)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 10_000:02d}"


def seconds(micros: int) -> float:
    """A duration in microseconds as float seconds."""
    return micros / SECOND
