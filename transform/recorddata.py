"""Flattening recorddata, sent as an object or as an array of key/value pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from genius_wh.widening import json_text

_NAME_KEYS: Final = frozenset({"key", "name", "field"})


@dataclass(frozen=True, slots=True)
class Flattened:
    """Fields as sent (name -> JSON value) and the problems met on the way."""

    fields: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def flatten_recorddata(data: Any) -> Flattened:
    """The fields of a recorddata value, in the order sent.

    - an object: its members (`{"Postcode": "AB1 2CD"}`);
    - an array of pairs: `[{"key": k, "value": v}]` (the name under `key`, `name` or `field`,
      any case), `[[k, v]]` or `[{k: v}]`;
    - JSON text holding one of these is read as such;
    - a field sent twice keeps its first non-null value;
    - null gives no fields; anything else is a problem and gives no fields.
    """
    if isinstance(data, dict):
        return Flattened(data)
    if data is None:
        return Flattened({})
    if isinstance(data, str):
        return _flatten_text(data)
    if isinstance(data, list):
        return _flatten_pairs(data)
    return Flattened({}, [f"recorddata is neither an object nor an array: {json_text(data)}"])


def _flatten_text(text: str) -> Flattened:
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Flattened({}, [f"recorddata is text that is not JSON: {text[:200]}"])
    if isinstance(parsed, dict | list):
        return flatten_recorddata(parsed)
    return Flattened({}, [f"recorddata is neither an object nor an array: {text[:200]}"])


def _flatten_pairs(items: list[Any]) -> Flattened:
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for position, item in enumerate(items):
        pairs = _pairs_of(item)
        if pairs is None:
            problems.append(f"recorddata element {position} is not a key/value pair: "
                            f"{json_text(item)[:200]}")
            continue
        for name, value in pairs:
            if fields.get(name) is None:
                fields[name] = value
    return Flattened(fields, problems)


def _pairs_of(item: Any) -> list[tuple[str, Any]] | None:
    if isinstance(item, list):
        if len(item) == 2 and isinstance(item[0], str):
            return [(item[0], item[1])]
        return None
    if not isinstance(item, dict):
        return None
    names = [k for k in item if k.lower() in _NAME_KEYS]
    values = [k for k in item if k.lower() == "value"]
    if len(names) == 1 and len(values) == 1 and isinstance(item[names[0]], str):
        return [(item[names[0]], item[values[0]])]
    return list(item.items())
