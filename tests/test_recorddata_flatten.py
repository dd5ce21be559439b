"""flatten_recorddata: an object and every key/value array form give the same fields. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from transform.recorddata import flatten_recorddata

EXPECTED = {"Postcode": "AB1 2CD", "Balance": 12.5, "Tel1": "07976916443", "Opt In": None}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(EXPECTED, id="object as in the examples"),
        pytest.param([{"key": "Postcode", "value": "AB1 2CD"}, {"key": "Balance", "value": 12.5},
                      {"key": "Tel1", "value": "07976916443"}, {"key": "Opt In", "value": None}],
                     id="key/value objects"),
        pytest.param([{"Name": "Postcode", "Value": "AB1 2CD"}, {"NAME": "Balance", "VALUE": 12.5},
                      {"field": "Tel1", "value": "07976916443"}, {"Field": "Opt In",
                                                                  "value": None}],
                     id="name or field, any case"),
        pytest.param([["Postcode", "AB1 2CD"], ["Balance", 12.5], ["Tel1", "07976916443"],
                      ["Opt In", None]], id="pairs as arrays"),
        pytest.param([{"Postcode": "AB1 2CD"}, {"Balance": 12.5}, {"Tel1": "07976916443"},
                      {"Opt In": None}], id="one-member objects"),
        pytest.param('{"Postcode": "AB1 2CD", "Balance": 12.5, "Tel1": "07976916443", '
                     '"Opt In": null}', id="object sent as JSON text"),
    ],
)
def test_recorddata_forms_give_the_same_fields(data: Any) -> None:
    flat = flatten_recorddata(data)
    assert flat.fields == EXPECTED
    assert list(flat.fields) == list(EXPECTED)
    assert flat.problems == []


def test_a_field_sent_twice_keeps_its_first_non_null_value() -> None:
    flat = flatten_recorddata([["A", None], ["A", 1], ["A", 2]])
    assert flat.fields == {"A": 1}


def test_null_recorddata_has_no_fields() -> None:
    assert flatten_recorddata(None).fields == {}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(42, "recorddata is neither an object nor an array: 42", id="a number"),
        pytest.param("not json", "recorddata is text that is not JSON: not json", id="bad text"),
        pytest.param([["A", 1], 7, ["B"]], "recorddata element 1 is not a key/value pair: 7",
                     id="a stray element"),
    ],
)
def test_recorddata_problems_are_reported_and_good_elements_kept(data: Any,
                                                                 problem: str) -> None:
    flat = flatten_recorddata(data)
    assert flat.problems[0] == problem
    if isinstance(data, list):
        assert flat.fields == {"A": 1}
        assert flat.problems[1] == 'recorddata element 2 is not a key/value pair: ["B"]'
