"""normalise_event: every tolerance case of CONTRACT 6 and the derived columns. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from genius_wh.records import parse_body
from transform.cards import card_brand, payment_succeeded
from transform.normalise import Problem, normalise_event

LONDON = ZoneInfo("Europe/London")
DATA = Path(__file__).parent / "data"


def corpus(name: str) -> dict[str, Any]:
    """A vendor body from tests/data, parsed as the receiver parses it."""
    body, _repaired = parse_body((DATA / name).read_bytes())
    return body


def row_of(body: dict[str, Any]) -> dict[str, Any]:
    return normalise_event(body, tz=LONDON).as_dict()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc, arg-type]


def test_sessionended_example_normalises_every_column() -> None:
    event = normalise_event(corpus("transform-sessionended-example.json"), tz=LONDON)
    row = event.as_dict()
    assert (event.table, event.problems, event.unknown) == ("session_ended", [], [])
    assert row["urn"] == "test-513649415" and row["cli"] == "01412800275"
    assert row["telnumber"] == "07976916443"
    assert (row["agentresult"], row["diallerresult"], row["calltype"]) == (205, 10, 3)
    assert row["event_timestamp"] == utc(2021, 7, 6, 9, 9, 19, 903616)
    assert row["timestamplaunched"] == utc(2021, 7, 6, 9, 9, 7, 292425)
    assert (row["wraptime"], row["holdtime"], row["id"]) == (2.1841454, 0.0, 123456789)
    assert row["recorddata"].startswith('{"URN":"test-513649415","Address1":null')
    assert event.recorddata["AMDMessage"] == "Abandon"


def test_field_table_spelling_gives_the_same_columns_as_the_example() -> None:
    row = row_of(corpus("transform-sessionended-field-table-spelling.json"))
    assert (row["urn"], row["telnumber"], row["cli"], row["id"]) == (
        "TEST123-001", "1234567890", "1412800275", 665847321)
    assert (row["agentresult"], row["diallerresult"], row["calltype"]) == (120, 10, 5)
    assert (row["talktime"], row["wraptime"], row["queuenumber"]) == (12.8912736344, 48.9320393,
                                                                       67890)
    assert row["event_timestamp"] == utc(2021, 6, 2, 11, 2, 11)  # no offset: London summer


def test_agentactivity_example_maps_previousstate() -> None:
    row = row_of(corpus("transform-agentactivity-example.json"))
    assert (row["extension"], row["queue"], row["agentstate"], row["previousagentstate"]) == (
        "7002", None, 0, 2)
    assert row["timestamppreviousstate"] == utc(2021, 7, 6, 8, 58, 15, 855322)


def test_queueinfo_example_types_numbers() -> None:
    row = row_of(corpus("transform-queueinfo-example.json"))
    assert (row["queuenumber"], row["callsinqueue"], row["averageanswer"]) == (67890, 1, 0.0)
    assert type(row["averageanswer5mins"]) is float


def test_cardpayment_example_derives_brand_success_and_payment_time() -> None:
    row = row_of(corpus("transform-cardpayment-example.json"))
    assert (row["cardtype"], row["card_brand"], row["succeeded"]) == ("Visa", "VISA", True)
    assert (row["last4digits"], row["amount"], row["currency"]) == ("9030", 12345, "GBP")
    assert row["payment_timestamp"] == utc(2023, 3, 3, 10, 4, 21, 950000)
    assert row["event_timestamp"] == utc(2023, 3, 3, 10, 4, 30, 885725)


def agent(**fields: Any) -> dict[str, Any]:
    return {"action": "AgentActivity", "timestamp": "2021-07-06T10:00:16+01:00",
            "agentactivity": fields}


def session(**fields: Any) -> dict[str, Any]:
    return {"action": "SessionEnded", "timestamp": "2021-07-06T10:00:16+01:00", "session": fields}


def card(**fields: Any) -> dict[str, Any]:
    return {"action": "CardPayment", "timestamp": "2021-07-06T10:00:16+01:00",
            "CardPayment": fields}


@pytest.mark.parametrize(
    ("body", "column", "value"),
    [
        pytest.param({"action": "SessionEnded", "sessionended": {"urn": "a"}}, "urn", "a",
                     id="object key sessionended"),
        pytest.param({"action": "SessionEnded", "Session": {"urn": "a"}}, "urn", "a",
                     id="object key case does not matter"),
        pytest.param({"action": "cardpayment", "cardpayment": {"urn": "a"}}, "urn", "a",
                     id="object key cardpayment"),
        pytest.param({"ACTION": "x", "action": "AGENTACTIVITY", "AgentActivity": {"agent": "a"}},
                     "agent", "a", id="action case does not matter"),
        pytest.param(session(URN="a"), "urn", "a", id="field key case URN"),
        pytest.param(session(wrapptime=2.5), "wraptime", 2.5, id="wrapptime of the example"),
        pytest.param(session(wraptime=2.5), "wraptime", 2.5, id="wraptime of the field table"),
        pytest.param(session(wrapptime=None, wraptime=3.0), "wraptime", 3.0,
                     id="two spellings: first non-null wins"),
        pytest.param(agent(previousstate=2), "previousagentstate", 2, id="previousstate"),
        pytest.param(agent(previousagentstate=2), "previousagentstate", 2,
                     id="previousagentstate"),
        pytest.param(agent(extension=7002), "extension", "7002", id="number sent for text"),
        pytest.param(agent(extension=7002.0), "extension", "7002", id="integral float for text"),
        pytest.param(agent(queue="67182"), "queue", 67182, id="string sent for a number"),
        pytest.param(agent(agentstate=" 6 "), "agentstate", 6, id="padded string number"),
        pytest.param(agent(agentstate=6.0), "agentstate", 6, id="integral float for integer"),
        pytest.param(agent(agentstate="6.0"), "agentstate", 6, id="integral float text"),
        pytest.param(agent(agentstate=None), "agentstate", None, id="null"),
        pytest.param(agent(agentstate=""), "agentstate", None, id="empty string is null"),
        pytest.param(session(talktime="3.5"), "talktime", 3.5, id="string sent for a double"),
        pytest.param(session(talktime=3), "talktime", 3.0, id="int for a double"),
        pytest.param(session(ID="665847321"), "id", 665847321, id="ID as string"),
        pytest.param(card(last4digits=9030), "last4digits", "9030", id="last4 as number"),
        pytest.param(card(last4digits=30), "last4digits", "0030", id="last4 short number"),
        pytest.param(card(last4digits="030"), "last4digits", "0030", id="last4 short text"),
        pytest.param(card(last4digits="**** 9030"), "last4digits", "9030", id="last4 masked"),
        pytest.param(card(amount="12345"), "amount", 12345, id="amount as string"),
        pytest.param(card(amount=12345.0), "amount", 12345, id="amount as integral float"),
    ],
)
def test_tolerance_cases_land_in_the_one_column(body: dict[str, Any], column: str,
                                                value: Any) -> None:
    event = normalise_event(body, tz=LONDON)
    assert event.as_dict()[column] == value
    assert type(event.as_dict()[column]) is type(value)
    assert event.problems == []


@pytest.mark.parametrize(
    ("stamp", "instant"),
    [
        pytest.param("2021-07-06T10:09:07.2924254+01:00", utc(2021, 7, 6, 9, 9, 7, 292425),
                     id="seven digits with offset truncated to microseconds"),
        pytest.param("2021-07-06T10:09:07.2924254", utc(2021, 7, 6, 9, 9, 7, 292425),
                     id="no offset: the time zone in summer"),
        pytest.param("2021-01-06T10:09:07.9999999", utc(2021, 1, 6, 10, 9, 7, 999999),
                     id="no offset: the time zone in winter"),
        pytest.param("2021-07-06T10:09:07Z", utc(2021, 7, 6, 10, 9, 7), id="Z"),
        pytest.param("2023-03-03T10:04:21.95", utc(2023, 3, 3, 10, 4, 21, 950000),
                     id="two digits"),
        pytest.param(" 2021-07-06T10:09:07+00:00 ", utc(2021, 7, 6, 10, 9, 7), id="padded"),
    ],
)
def test_timestamps_are_exact_instants(stamp: str, instant: datetime) -> None:
    row = row_of(session(timestampconnected=stamp))
    assert row["timestampconnected"] == instant


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(agent(agentstate="busy"), Problem("agentstate", "busy", "not a number"),
                     id="text in an integer column"),
        pytest.param(agent(agentstate=2.5), Problem("agentstate", "2.5", "expected a whole "
                                                    "number, got float"), id="fraction"),
        pytest.param(agent(agentstate=2**40), Problem("agentstate", str(2**40),
                     f"{2**40} is out of range for INTEGER"), id="out of range"),
        pytest.param(agent(agentstate=True), Problem("agentstate", "true",
                     "expected a whole number, got bool"), id="boolean for integer"),
        pytest.param(agent(timestampcurrentstate="yesterday"), Problem(
            "timestampcurrentstate", "yesterday", "not an ISO 8601 timestamp"), id="bad time"),
        pytest.param(agent(timestampcurrentstate=1625562015), Problem(
            "timestampcurrentstate", "1625562015", "expected a timestamp text, got int"),
            id="epoch number for a timestamp"),
        pytest.param(agent(agent={"id": 1}), Problem("agent", '{"id":1}',
                     "expected text, got an object"), id="object for text"),
        pytest.param(session(talktime="NaN"), Problem("talktime", "NaN", "not a finite number"),
                     id="nan"),
        pytest.param(card(last4digits="ab"), Problem("last4digits", "ab", "not four digits"),
                     id="last4 not digits"),
        pytest.param(card(amount=123.45), Problem("amount", "123.45",
                     "expected a whole number, got float"), id="amount in major units"),
        pytest.param({"action": "SessionEnded"}, Problem(
            "session", "", "the body has no `session` or `sessionended` object"),
            id="no event object"),
        pytest.param({"action": "QueueInfo", "queueinfo": [1]}, Problem(
            "queueinfo", "[1]", "the event object is not an object"), id="object is an array"),
    ],
)
def test_unconvertible_values_are_null_with_a_problem(body: dict[str, Any],
                                                      problem: Problem) -> None:
    event = normalise_event(body, tz=LONDON)
    assert event.problems == [problem]
    if problem.column in event.as_dict():
        assert event.as_dict()[problem.column] is None


def test_unknown_fields_are_reported_as_sent() -> None:
    body = agent(agent="a", Mood="happy", skill=3)
    body["Region"] = "UK"
    event = normalise_event(body, tz=LONDON)
    assert sorted(event.unknown) == ["Mood", "Region", "skill"]
    assert event.as_dict()["agent"] == "a"


def test_unknown_action_goes_to_other_events_with_the_whole_body() -> None:
    body = {"action": "CallbackBooked", "timestamp": "2024-01-01T00:00:00Z", "x": {"y": 1}}
    event = normalise_event(body, tz=LONDON)
    assert event.table == "other_events"
    assert event.as_dict()["action"] == "CallbackBooked"
    assert event.as_dict()["payload"] == (
        '{"action":"CallbackBooked","timestamp":"2024-01-01T00:00:00Z","x":{"y":1}}')
    assert event.as_dict()["event_timestamp"] == utc(2024, 1, 1)


def test_recorddata_sent_as_json_text_is_kept_as_that_text() -> None:
    event = normalise_event(session(recorddata='{"Postcode": "AB1"}'), tz=LONDON)
    assert event.as_dict()["recorddata"] == '{"Postcode": "AB1"}'
    assert event.recorddata == {"Postcode": "AB1"}


@pytest.mark.parametrize(
    ("cardtype", "brand"),
    [
        pytest.param("VISA", "VISA", id="VISA"),
        pytest.param("Visa", "VISA", id="Visa of the example"),
        pytest.param("visa debit", "VISA", id="visa debit"),
        pytest.param("MASTERCARD", "MASTERCARD", id="MASTERCARD"),
        pytest.param("MC", "MASTERCARD", id="MC"),
        pytest.param("Master Card", "MASTERCARD", id="Master Card"),
        pytest.param("Amex", "AMEX", id="Amex of the field table"),
        pytest.param("American Express", "AMEX", id="American Express"),
        pytest.param("Maestro", "OTHER", id="another brand"),
        pytest.param("", None, id="empty: not available"),
        pytest.param(None, None, id="not sent"),
    ],
)
def test_card_brand(cardtype: str | None, brand: str | None) -> None:
    assert card_brand(cardtype) == brand


@pytest.mark.parametrize(
    ("result", "succeeded"),
    [
        pytest.param("Success", True, id="Success"),
        pytest.param(" SUCCESS ", True, id="case and spaces ignored"),
        pytest.param("Suc cess", True, id="inner spaces ignored"),
        pytest.param("Card declined", False, id="an error message"),
        pytest.param("Successful", False, id="only Success itself"),
        pytest.param(None, None, id="not sent"),
    ],
)
def test_payment_succeeded(result: str | None, succeeded: bool | None) -> None:
    assert payment_succeeded(result) is succeeded


@pytest.mark.parametrize(("envelope", "expected_utc"), [
    pytest.param("2026-10-25T01:31:00+00:00", "2026-10-25T01:30:00+00:00",
                 id="second 01:30 (GMT) when sent after it"),
    pytest.param("2026-10-25T00:31:00+00:00", "2026-10-25T00:30:00+00:00",
                 id="first 01:30 (BST) when sent after that one"),
])
def test_card_payment_time_in_the_repeated_hour_follows_the_envelope(
        envelope: str, expected_utc: str) -> None:
    # the clocks go back at 02:00 BST on 2026-10-25: 01:30 local happens twice (#10)
    body = {"action": "CardPayment", "timestamp": envelope,
            "CardPayment": {"campaign": "c", "timestamp": "2026-10-25T01:30:00", "amount": 1}}
    row = normalise_event(body, tz=ZoneInfo("Europe/London")).as_dict()
    assert row["payment_timestamp"].timestamp() == datetime.fromisoformat(
        expected_utc).timestamp()
