"""Recorddata column types: the value types and the only-widening rule (CONTRACT 5, STYLE 5)."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from genius_wh.widening import convert_value, value_type, widen

TYPES = ("NULL", "BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR", "JSON")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param(True, "BOOLEAN", id="JSON true"),
        pytest.param(5, "BIGINT", id="whole number"),
        pytest.param(-(2**63), "BIGINT", id="int64 minimum"),
        pytest.param(2**63 - 1, "BIGINT", id="int64 maximum"),
        pytest.param(2**63, "DOUBLE", id="above int64"),
        pytest.param(2.5, "DOUBLE", id="fraction"),
        pytest.param("07976916443", "VARCHAR", id="strings stay strings"),
        pytest.param("", "VARCHAR", id="empty string"),
        pytest.param({"a": 1}, "JSON", id="object"),
        pytest.param([1, 2], "JSON", id="array"),
        pytest.param(None, "NULL", id="null is the bottom"),
    ],
)
def test_value_type_of_json_values(value: Any, kind: str) -> None:
    assert value_type(value) == kind


def test_value_type_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="not a JSON value: bytes"):
        value_type(b"x")


@pytest.mark.parametrize(
    ("old", "new", "widened"),
    [
        pytest.param("NULL", "BOOLEAN", "BOOLEAN", id="null joined with X is X"),
        pytest.param("VARCHAR", "NULL", "VARCHAR", id="X joined with null is X"),
        pytest.param("BOOLEAN", "BIGINT", "BIGINT", id="boolean to bigint"),
        pytest.param("BIGINT", "DOUBLE", "DOUBLE", id="bigint to double"),
        pytest.param("DOUBLE", "VARCHAR", "VARCHAR", id="double to varchar"),
        pytest.param("BOOLEAN", "VARCHAR", "VARCHAR", id="boolean to varchar"),
        pytest.param("DOUBLE", "BIGINT", "DOUBLE", id="never narrows double"),
        pytest.param("VARCHAR", "BOOLEAN", "VARCHAR", id="never narrows varchar"),
        pytest.param("JSON", "JSON", "JSON", id="json with json"),
        pytest.param("JSON", "BIGINT", "VARCHAR", id="json with a scalar is varchar"),
        pytest.param("BOOLEAN", "JSON", "VARCHAR", id="a scalar with json is varchar"),
        pytest.param("NULL", "JSON", "JSON", id="null with json"),
    ],
)
def test_widen_takes_the_narrowest_type_holding_both(old: str, new: str, widened: str) -> None:
    assert widen(old, new) == widened


@pytest.mark.parametrize(("old", "new"), list(product(TYPES, TYPES)))
def test_widen_never_narrows_and_is_symmetric(old: str, new: str) -> None:
    joined = widen(old, new)
    assert widen(joined, old) == joined
    assert widen(joined, new) == joined
    assert joined == widen(new, old)


def test_widen_names_an_unknown_type() -> None:
    with pytest.raises(ValueError, match=r"unknown recorddata type 'TEXT' \(expected one of"):
        widen("BIGINT", "TEXT")


@pytest.mark.parametrize(
    ("value", "kind", "converted"),
    [
        pytest.param(True, "BIGINT", 1, id="true as bigint"),
        pytest.param(True, "DOUBLE", 1.0, id="true as double"),
        pytest.param(False, "VARCHAR", "false", id="false as varchar"),
        pytest.param(5, "DOUBLE", 5.0, id="int as double"),
        pytest.param(5, "VARCHAR", "5", id="int as varchar"),
        pytest.param(2.5, "VARCHAR", "2.5", id="double as varchar"),
        pytest.param({"a": [1, "x"]}, "VARCHAR", '{"a":[1,"x"]}', id="object as compact text"),
        pytest.param([1, 2], "JSON", "[1,2]", id="array as json text"),
        pytest.param("07976916443", "VARCHAR", "07976916443", id="string kept"),
        pytest.param(None, "BIGINT", None, id="null stays null"),
        pytest.param(2**64 - 1, "DOUBLE", float(2**64 - 1), id="huge int as double"),
    ],
)
def test_convert_value_to_the_chunk_column_type(value: Any, kind: str, converted: Any) -> None:
    result = convert_value(value, kind)
    assert result == converted
    assert type(result) is type(converted)
