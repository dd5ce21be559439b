"""The spool line format, event ids and tolerant JSON: shared by ingest, transform and replay.

A spool line is one JSON object and a newline:

    {"v": 1, "event_id": "…", "received_at": "2026-11-24T14:00:00.123456+00:00",
     "source": "84.22.187.53", "action": "SessionEnded", "body": {…},
     "original": "<raw text, only when the body had to be repaired>",
     "integration": "<name of the token that let it in, absent for `default`>"}
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import orjson

SPOOL_FORMAT_VERSION = 1
#: The integration of an event let in by a plain token, or with no token check.
DEFAULT_INTEGRATION = "default"


class SpoolRecord(TypedDict):
    """One event as made durable by the receiver."""

    v: int
    event_id: str
    received_at: str
    source: str
    action: str
    body: dict[str, Any]
    original: NotRequired[str]
    integration: NotRequired[str]  # absent means DEFAULT_INTEGRATION


class BadBody(ValueError):
    """The bytes are not a JSON object with an `action`; the message says why."""


_BOM = b"\xef\xbb\xbf"
#: A JSON string (skipped whole, so a comma inside one is never touched) or a comma that only
#: JSON whitespace separates from the `}` or `]` after it. Matched left to right in one pass.
#: A string left open runs to the end of the body: were it refused there, the scan would start
#: again at every later quote (quadratic in the escaped quotes after it).
_STRING_OR_TRAILING_COMMA = re.compile(
    rb'("[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z))|,(?=[ \t\r\n]*[}\]])', re.DOTALL)


def without_trailing_commas(raw: bytes) -> bytes:
    """`raw` with every trailing comma before `}` or `]` deleted, in one linear pass.

    - strings are skipped whole, so a comma inside a string is never touched;
    - UTF-8 never puts `"`, `\\` or `,` inside a multi-byte character, so bytes are safe;
    - about 0.3 s for 1 MiB of tiny strings (the worst case), 0.02 s for a vendor-like MiB.
    """
    return _STRING_OR_TRAILING_COMMA.sub(_string_only, raw)


def _string_only(match: re.Match[bytes]) -> bytes:
    """A matched string stays; a matched comma goes."""
    return match.group(1) or b""


def parse_body(raw: bytes) -> tuple[dict[str, Any], bool]:
    """Parse a webhook body; returns (object, repaired). Raises BadBody.

    - the text is parsed as JSON whatever the Content-Type said;
    - a UTF-8 byte-order mark before the JSON is dropped (repaired=True);
    - trailing commas before `}` or `]` are repaired (repaired=True), in linear time;
    - it must be a JSON object with a non-empty string `action`.
    """
    text = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    repaired = text is not raw
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as first:
        try:
            body = _without_trailing_commas(text, first)
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadBody(f"body is not valid JSON: {exc}") from None
        repaired = True
    if not isinstance(body, dict):
        raise BadBody(f"body is not a JSON object but {type(body).__name__}")
    action = body.get("action")
    if not isinstance(action, str) or not action.strip():
        raise BadBody("body has no `action`")
    return body, repaired


#: Trailing commas deleted where orjson reports them, one parse each, before the one-pass
#: scan takes the rest: the vendor's bodies have one or two, and a parse is cheaper than the
#: scan (6 against 60 us for the spec's SessionEnded); never more than this many parses.
_QUICK_REPAIRS = 4
_TRAILING_COMMA_ERROR = "trailing comma"


def _without_trailing_commas(raw: bytes, error: orjson.JSONDecodeError) -> Any:
    """Parse `raw` without its trailing commas; re-raise an error that is about anything else.

    orjson names the offending comma by its character position in the decoded text, so each
    quick repair is exact (a comma inside a string is never touched).
    """
    text = raw.decode("utf-8")
    for _ in range(_QUICK_REPAIRS):
        if not error.msg.startswith(_TRAILING_COMMA_ERROR):
            raise error
        text = text[: error.pos] + text[error.pos + 1 :]
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            error = exc
    if not error.msg.startswith(_TRAILING_COMMA_ERROR):
        raise error
    return orjson.loads(without_trailing_commas(text.encode()))


def json_depth(obj: Any) -> int:
    """How deep `obj` nests: a scalar is 0, `{}` and `[]` are 1, `{"a": [1]}` is 2.

    Level by level with a list (no recursion), so any depth orjson can parse is measured
    without Python's recursion limit.
    """
    depth = 0
    level = [obj] if type(obj) in _CONTAINERS else []
    while level:
        depth += 1
        below: list[Any] = []
        for value in level:
            for child in value.values() if type(value) is dict else value:
                if type(child) in _CONTAINERS:
                    below.append(child)
        level = below
    return depth


_CONTAINERS = (dict, list)  # exactly what orjson.loads makes


def recorddata_values(body: dict[str, Any]) -> list[tuple[Any, int, bool]]:
    """Each `recorddata` (any case) at the top of the body or in a top-level object, with the
    depth it sits at and whether it was JSON text, which is parsed (text that is not JSON is
    left as it is)."""
    # two passes, the length checked first: that rules out almost every key without
    # lower-casing it (no character lower-cases to more than one but "İ", and "recorddata"
    # has no "i"); 4.4 -> 2.6 µs a bench event
    found: list[tuple[Any, int, bool]] = []
    nested = []
    for key, value in body.items():
        if len(key) == 10 and key.lower() == "recorddata":
            found.append(_found(value, 1))
        if isinstance(value, dict):
            nested.append(value)
    for holder in nested:
        for key, value in holder.items():
            if len(key) == 10 and key.lower() == "recorddata":
                found.append(_found(value, 2))
    return found


def _found(value: Any, depth: int) -> tuple[Any, int, bool]:
    """One recorddata: what it holds (JSON text parsed), its depth, whether it was text."""
    parsed = _parsed_text(value)
    return parsed, depth, parsed is not value


def _parsed_text(value: Any) -> Any:
    """JSON text parsed into what it holds; anything else as it is."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def body_depth(body: dict[str, Any],
               found: list[tuple[Any, int, bool]] | None = None) -> int:
    """The body's nesting depth, counting JSON text sent as `recorddata` as what it holds
    (`found`: its `recorddata_values`, when already known; a recorddata object is part of
    the body's own depth already)."""
    values = recorddata_values(body) if found is None else found
    inner = [depth + json_depth(value) for value, depth, was_text in values
             if was_text and isinstance(value, dict | list)]
    return max([json_depth(body), *inner])


def recorddata_field_count(body: dict[str, Any],
                           found: list[tuple[Any, int, bool]] | None = None) -> int:
    """How many recorddata fields the body carries: object members, or key/value pairs of an
    array (`{"key": k, "value": v}` and `[k, v]` count 1, `{k: v, …}` one per member)."""
    total = 0
    for value, _, _ in recorddata_values(body) if found is None else found:
        if isinstance(value, dict):
            total += len(value)
        elif isinstance(value, list):
            total += sum(_pair_count(item) for item in value)
    return total


def _pair_count(item: Any) -> int:
    if isinstance(item, dict):
        keys = {k.lower() for k in item}
        return 1 if "value" in keys and keys & {"key", "name", "field"} else len(item)
    return 1


def check_bounds(body: dict[str, Any], *, max_json_depth: int,
                 max_recorddata_fields: int) -> None:
    """Raise BadBody when the body nests deeper than `max_json_depth` or its recorddata has
    more than `max_recorddata_fields` fields (the receiver and the transform both call it)."""
    found = recorddata_values(body)
    depth = body_depth(body, found)
    if depth > max_json_depth:
        raise BadBody(f"body is nested {depth} levels deep, more than max_json_depth "
                      f"({max_json_depth})")
    fields = recorddata_field_count(body, found)
    if fields > max_recorddata_fields:
        raise BadBody(f"recorddata has {fields} fields, more than max_recorddata_fields "
                      f"({max_recorddata_fields})")


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
    body: dict[str, Any], *, received_at: datetime, source: str, original: bytes | None = None,
    integration: str = DEFAULT_INTEGRATION,
) -> SpoolRecord:
    """Build the spool record of a parsed body (original: raw text when repaired).

    `integration` is the name of the token that let the event in (`default` for a plain token
    or no token check); it is written only when not `default`, so older lines read the same.
    """
    record: SpoolRecord = {
        "v": SPOOL_FORMAT_VERSION,
        "event_id": event_id(body),
        "received_at": received_at.isoformat(timespec="microseconds"),
        "source": source,
        "action": str(body["action"]),
        "body": body,
    }
    if integration != DEFAULT_INTEGRATION:
        record["integration"] = integration
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
