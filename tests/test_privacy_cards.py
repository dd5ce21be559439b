"""No card number is ever stored (issue #13, PCI DSS): 13-19 digit Luhn-valid numbers are
masked to their last four digits before the receiver makes an event durable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from receiver_support import RunningReceiver, spool_lines, spool_records
from warehouse_support import session_ended

from genius_wh.cardcount import card_numbers_masked
from genius_wh.cards import mask_body, mask_record, mask_text
from genius_wh.layout import DataLayout
from genius_wh.records import event_id, make_record, parse_body

# the card schemes' published test numbers, in the ways people type them
CARDS = [
    pytest.param("4111111111111111", "************1111", id="visa together"),
    pytest.param("4111 1111 1111 1111", "**** **** **** 1111", id="visa in fours"),
    pytest.param("4111-1111-1111-1111", "****-****-****-1111", id="visa with dashes"),
    pytest.param("5555555555554444", "************4444", id="mastercard"),
    pytest.param("5105 1051 0510 5100", "**** **** **** 5100", id="mastercard in fours"),
    pytest.param("378282246310005", "***********0005", id="amex 15 digits"),
    pytest.param("3782 822463 10005", "**** ****** *0005", id="amex 4-6-5"),
    pytest.param("6011111111111117", "************1117", id="discover"),
    pytest.param("30569309025904", "**********5904", id="diners 14 digits"),
    pytest.param("4222222222222", "*********2222", id="visa 13 digits"),
    pytest.param("4000000000000000006", "***************0006", id="19 digits"),
    pytest.param("card 4111111111111111 exp 12/29", "card ************1111 exp 12/29",
                 id="inside a note"),
    pytest.param("tel 07976 916443 card 4012 8888 8888 1881",
                 "tel 07976 916443 card **** **** **** 1881", id="next to a phone number"),
    pytest.param("07976 916443 4012 8888 8888 1881", "07976 916443 **** **** **** 1881",
                 id="joined to a phone number by a space"),
]

NOT_CARDS = [
    pytest.param("07976916443", id="uk mobile 11 digits"),
    pytest.param("+447976916443", id="international mobile 12 digits"),
    pytest.param("01412800275", id="landline"),
    pytest.param("1412800275", id="10 digits"),
    pytest.param("0141 280 0275", id="landline with spaces"),
    pytest.param("4111111111111112", id="16 digits failing luhn"),
    pytest.param("1234 5678 9012 3456", id="16 digits in fours failing luhn"),
    pytest.param("99994111111111111111", id="20 digit id holding a valid 16"),
    pytest.param("urn-100000000042", id="urn"),
    pytest.param("1000", id="amount"),
    pytest.param("2021-07-06T10:09:07.2924254+01:00", id="timestamp"),
    pytest.param("1 2 3 4 5 6 7 8 9 1 2 3 4 5 6", id="small numbers in a row"),
]


@pytest.mark.parametrize(("text", "expected"), CARDS)
def test_card_numbers_are_masked_to_their_last_four_digits(text: str, expected: str) -> None:
    assert mask_text(text) == (expected, 1)


@pytest.mark.parametrize("text", NOT_CARDS)
def test_numbers_that_are_not_card_numbers_stay(text: str) -> None:
    assert mask_text(text) == (text, 0)


def test_a_json_number_that_is_a_card_number_becomes_the_masked_text() -> None:
    body = {"action": "X", "x": {"pan": 4111111111111111, "amount": 1000, "ok": True,
                                 "list": [5555555555554444.0, 7976916443]}}
    masked, count = mask_body(body)
    assert count == 2
    assert masked["x"] == {"pan": "************1111", "amount": 1000, "ok": True,
                           "list": ["************4444", 7976916443]}


def test_a_record_with_a_card_number_gets_the_event_id_of_its_masked_body() -> None:
    from datetime import UTC, datetime

    raw = b'{"action": "SessionEnded", "session": {"notes": "4111111111111111",}}'
    body, _ = parse_body(raw)
    record = make_record(body, received_at=datetime.now(UTC), source="x", original=raw)
    masked, count = mask_record(record)
    assert count == 1
    assert masked["body"]["session"]["notes"] == "************1111"
    assert "4111111111111111" not in masked["original"]
    assert masked["event_id"] == event_id(masked["body"]) != record["event_id"]
    assert mask_record(masked) == (masked, 0)


def _notes_body(notes: str, n: int, **fields: object) -> bytes:
    body = session_ended(n, recorddata={"Notes": notes, "Tel": "07976916443", **fields})
    return orjson.dumps(body)


def test_receiver_stores_only_masked_card_numbers_and_counts_them(
        receiver_factory: Callable[..., RunningReceiver], tmp_path: Path) -> None:
    running = receiver_factory()
    answers = [running.post(_notes_body("paid with 4111 1111 1111 1111", 1)),
               running.post(_notes_body("no card here 4111111111111112", 2)),
               running.post(_notes_body("two: 5555555555554444 / 378282246310005", 3,
                                        Amount=4012888888881881))]
    trailing = b'{"action": "CardPayment", "cardpayment": {"note": "6011-1111-1111-1117",}}'
    answers.append(running.post(trailing))
    assert [status for status, _ in answers] == [200] * 4
    running.stop()
    spooled = b"".join(spool_lines(running.data_dir))
    for pan in (b"4111 1111 1111 1111", b"5555555555554444", b"378282246310005",
                b"4012888888881881", b"6011-1111-1111-1117", b"6011"):
        assert pan not in spooled
    assert b"4111111111111112" in spooled and b"07976916443" in spooled
    records = spool_records(running.data_dir)
    assert [r["event_id"] for r in records] == [a["event_id"] for _, a in answers]
    assert all(r["event_id"] == event_id(r["body"]) for r in records)
    notes = records[0]["body"]["session"]["recorddata"]["Notes"]
    assert notes == "paid with **** **** **** 1111"
    assert records[3]["original"].endswith('"****-****-****-1117",}}')
    assert card_numbers_masked(DataLayout(root=running.data_dir)) == 5


def test_replayed_lines_are_masked_like_received_ones(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from genius_wh.settings import load_settings
    from ingest.replay import to_record

    settings = load_settings(data_dir=tmp_path)
    line = b'{"action": "CardPayment", "cardpayment": {"note": "4111 1111 1111 1111"}}\n'
    record = to_record(line, received_at=datetime.now(UTC), settings=settings)
    assert record["body"]["cardpayment"]["note"] == "**** **** **** 1111"
    assert record["event_id"] == event_id(record["body"])
