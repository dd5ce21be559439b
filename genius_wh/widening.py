"""Types of recorddata values and the only-widening rule (CONTRACT section 5, STYLE 5)."""

from __future__ import annotations

from typing import Any, Final

import orjson

#: The bottom type: only nulls seen so far.
NULL: Final = "NULL"

_RANK: Final[dict[str, int]] = {NULL: 0, "BOOLEAN": 1, "BIGINT": 2, "DOUBLE": 3, "VARCHAR": 4}
_TYPE_OF: Final[dict[type, str]] = {
    bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", str: "VARCHAR",
    dict: "JSON", list: "JSON", type(None): NULL,
}
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _check(type_name: str) -> None:
    if type_name not in _RANK and type_name != "JSON":
        known = ", ".join([*_RANK, "JSON"])
        raise ValueError(f"unknown recorddata type {type_name!r} (expected one of {known})")


def widen(old: str, new: str) -> str:
    """The narrowest type holding values of both types; never narrower than `old`.

    - NULL joined with X is X (NULL is the bottom: only nulls seen);
    - BOOLEAN < BIGINT < DOUBLE < VARCHAR: the larger one wins;
    - JSON joined with JSON is JSON; JSON joined with any scalar type is VARCHAR.
    """
    if old == new:
        _check(old)
        return old
    _check(old)
    _check(new)
    if old == NULL:
        return new
    if new == NULL:
        return old
    if old == "JSON" or new == "JSON":
        return "VARCHAR"
    return old if _RANK[old] >= _RANK[new] else new


def value_type(value: Any) -> str:
    """The type a JSON value needs: BOOLEAN, BIGINT, DOUBLE, VARCHAR, JSON or NULL.

    - an integer outside the int64 range needs DOUBLE;
    - strings stay VARCHAR whatever they look like ("07976916443" keeps its zero).
    """
    found = _TYPE_OF.get(type(value))
    if found is None:
        raise ValueError(f"not a JSON value: {type(value).__name__}")
    if found == "BIGINT" and not _INT64_MIN <= value <= _INT64_MAX:
        return "DOUBLE"
    return found


def json_text(value: Any) -> str:
    """Compact JSON text of a value (objects and arrays in VARCHAR and JSON columns)."""
    return orjson.dumps(value).decode()


def convert_value(value: Any, column_type: str) -> Any:
    """A JSON value converted to a column type at least as wide as its own type.

    - True -> 1 / 1.0 / 'true'; 5 -> 5.0 / '5'; objects and arrays -> JSON text;
    - null stays None.
    """
    if value is None:
        return None
    if column_type == "VARCHAR":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json_text(value)
    if column_type == "JSON":
        return json_text(value)
    if column_type == "DOUBLE":
        return float(value)
    if column_type == "BIGINT":
        return int(value)
    return value
