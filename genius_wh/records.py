"""The spool line format, event ids and tolerant JSON: shared by ingest, transform and replay.

A spool line is one JSON object and a newline:

    {"v": 1, "event_id": "…", "received_at": "2026-11-24T14:00:00.123456+00:00",
     "source": "84.22.187.53", "action": "SessionEnded", "body": {…},
     "original": "<raw text, only when the body had to be repaired>"}
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import orjson

SPOOL_FORMAT_VERSION = 1


class SpoolRecord(TypedDict):
    """One event as made durable by the receiver."""

    v: int
    event_id: str
    received_at: str
    source: str
    action: str
    body: dict[str, Any]
    original: NotRequired[str]


class BadBody(ValueError):
    """The bytes are not a JSON object with an `action`; the message says why."""


_TRAILING_COMMA_ERROR = "trailing comma"
_MAX_REPAIRS = 10_000


def _without_trailing_commas(raw: bytes, error: orjson.JSONDecodeError) -> Any:
    """Parse after deleting each comma orjson reports as trailing; re-raise anything else.

    orjson names the offending comma by its character position in the decoded text, so each
    repair is exact (a comma inside a string is never touched) and costs one more parse.
    """
    text = raw.decode("utf-8")
    for _ in range(_MAX_REPAIRS):
        if not error.msg.startswith(_TRAILING_COMMA_ERROR):
            raise error
        text = text[: error.pos] + text[error.pos + 1 :]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            error = exc
    raise error


def parse_body(raw: bytes) -> tuple[dict[str, Any], bool]:
    """Parse a webhook body; returns (object, repaired). Raises BadBody.

    - the text is parsed as JSON whatever the Content-Type said;
    - a trailing comma before `}` or `]` is repaired (repaired=True);
    - it must be a JSON object with a non-empty string `action`.
    """
    repaired = False
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as first:
        try:
            body = _without_trailing_commas(raw, first)
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadBody(f"body is not valid JSON: {exc}") from None
        repaired = True
    if not isinstance(body, dict):
        raise BadBody(f"body is not a JSON object but {type(body).__name__}")
    action = body.get("action")
    if not isinstance(action, str) or not action.strip():
        raise BadBody("body has no `action`")
    return body, repaired


def event_id(body: dict[str, Any]) -> str:
    """Stable id of an event: the same action and event object give the same id.

    - the envelope `timestamp` is left out (a redelivery carries a new one);
    - the action is compared case-insensitively;
    - keys are sorted, so key order does not matter.
    """
    core = {k: v for k, v in body.items() if k.lower() != "timestamp"}
    core["action"] = str(body.get("action", "")).strip().lower()
    digest = hashlib.sha256(orjson.dumps(core, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()[:32]


def make_record(
    body: dict[str, Any], *, received_at: datetime, source: str, original: bytes | None = None
) -> SpoolRecord:
    """Build the spool record of a parsed body (original: raw text when repaired)."""
    record: SpoolRecord = {
        "v": SPOOL_FORMAT_VERSION,
        "event_id": event_id(body),
        "received_at": received_at.isoformat(timespec="microseconds"),
        "source": source,
        "action": str(body["action"]),
        "body": body,
    }
    if original is not None:
        record["original"] = original.decode("utf-8", errors="replace")
    return record


def encode_record(record: SpoolRecord) -> bytes:
    """One spool line, newline included."""
    return orjson.dumps(record) + b"\n"


def decode_record(line: bytes) -> SpoolRecord:
    """Parse one spool line; raises ValueError for a torn or foreign line."""
    if not line.endswith(b"\n"):
        raise ValueError("line is torn (no newline at its end)")
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"line is not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("v") != SPOOL_FORMAT_VERSION:
        raise ValueError("line is not a spool record of version 1")
    for key in ("event_id", "received_at", "action", "body"):
        if key not in obj:
            raise ValueError(f"spool record has no {key!r}")
    if not isinstance(obj["body"], dict):
        raise ValueError("spool record body is not an object")
    record: SpoolRecord = obj  # type: ignore[assignment]
    return record
