"""No card number is ever stored (PCI DSS, issue #13): primary account numbers found in an
event are masked to their last four digits before the event is made durable. Pure.

A card number is:

- 13 to 19 digits, Luhn-valid;
- written together (`4111111111111111`) or in groups of at least 3 digits separated by one
  space or dash (`4111 1111 1111 1111`, `3782-822463-10005`);
- not part of a longer run of digits (`99994111111111111111` is an id, left alone);
- in a run of groups, groupings as cards print them (4-4-4-4…, 4-6-5, 4-6-4) are found
  first, then any other grouping, but only in runs of at most 16 groups (a longer list of
  numbers is searched for printed groupings only: bounded work on any 1 MiB body);
- in any string of the body, at any depth (recorddata notes above all, JSON text sent as a
  string included), or a JSON number of 13 to 19 digits.

Masking keeps the separators and the last four digits and stars the other digits:
`4111 1111 1111 1111` -> `**** **** **** 1111`; a JSON number becomes that string
(`************1111`). Phone numbers (10-12 digits), URNs, amounts and 16-digit numbers that
fail the Luhn check stay as they were.
"""

from __future__ import annotations

import re
from typing import Any, Final

from genius_wh.records import SpoolRecord, event_id

#: The metric the receiver counts masked card numbers in (`..._total` in /metrics).
CARD_NUMBERS_MASKED: Final = "genius_wh_card_numbers_masked"

MIN_DIGITS: Final = 13
MAX_DIGITS: Final = 19
KEPT_DIGITS: Final = 4
#: Runs of more digit groups are searched only for card numbers grouped as cards print them.
MAX_ODD_GROUPS: Final = 16
MASK: Final = "*"

#: A run of digit groups: digits together, or groups of 3+ digits joined by one space/dash.
_RUN: Final = re.compile(r"(?<![0-9])[0-9]{3,}(?:[ -][0-9]{3,})*(?![0-9])")
_RUN_BYTES: Final = re.compile(rb"(?<![0-9])[0-9]{3,}(?:[ -][0-9]{3,})*(?![0-9])")
_GROUP: Final = re.compile(r"[0-9]+")
#: Bytes that may hold a card number at all: 13 digits with separators at most (fast path).
_MAYBE: Final = re.compile(rb"[0-9](?:[ -]?[0-9]){12}")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn check (every card number does)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """13 to 19 digits, Luhn-valid."""
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and digits.isdigit() and luhn_valid(digits)


def _starred(text: str) -> str:
    """Every digit but the last four starred; separators kept."""
    keep = sum(ch.isdigit() for ch in text) - KEPT_DIGITS
    out: list[str] = []
    for ch in text:
        if ch.isdigit() and keep > 0:
            out.append(MASK)
            keep -= 1
        else:
            out.append(ch)
    return "".join(out)


def _mask_run(run: str) -> tuple[str, int]:
    """A run of digit groups with every card number in it masked, and how many.

    The whole run first; else card numbers aligned to its groups, longest first from the
    left, those grouped as cards are printed (4-4-4-4…, 4-6-5, 4-6-4) before any other
    (`07976 916443 4012 8888 8888 1881` masks the last four groups only).
    """
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    windows = _windows(run, groups, 0, len(groups), printed=True)
    gaps = zip([0, *(end for _, end in windows)], [*(begin for begin, _ in windows),
                                                    len(groups)], strict=True)
    for low, high in list(gaps):
        windows += _windows(run, groups, low, high, printed=False)
    pieces: list[str] = []
    done = 0
    for begin, end in sorted(windows):
        first, stop = groups[begin][0], groups[end - 1][1]
        pieces += [run[done:first], _starred(run[first:stop])]
        done = stop
    pieces.append(run[done:])
    return "".join(pieces), len(windows)


def _windows(run: str, groups: list[tuple[int, int]], low: int, high: int, *,
             printed: bool) -> list[tuple[int, int]]:
    """Card numbers among groups[low:high], as (first, end) group indexes, left to right."""
    found: list[tuple[int, int]] = []
    if not printed and len(groups) > MAX_ODD_GROUPS:
        return found  # a long list of numbers: only cards printed as such are looked for
    start = low
    while start < high:
        size = groups[start][1] - groups[start][0]
        if printed and size != 4 and not MIN_DIGITS <= size <= MAX_DIGITS:
            start += 1
            continue
        end = _card_end(run, groups, start, high, printed=printed)
        if end is None:
            start += 1
        else:
            found.append((start, end))
            start = end
    return found


def _card_end(run: str, groups: list[tuple[int, int]], start: int, high: int, *,
              printed: bool) -> int | None:
    """The end (exclusive group index) of the longest card number starting at `start`."""
    digits = ""
    sizes: list[int] = []
    best: int | None = None
    for index in range(start, high):
        digits += run[groups[index][0]:groups[index][1]]
        sizes.append(groups[index][1] - groups[index][0])
        if len(digits) > MAX_DIGITS:
            break
        if is_card_number(digits) and (not printed or _printed(sizes)):
            best = index + 1
    return best


def _printed(sizes: list[int]) -> bool:
    """Groups as cards print them: one, fours (the last may be shorter), 4-6-5 or 4-6-4."""
    if len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def mask_text(text: str) -> tuple[str, int]:
    """`text` with every card number masked, and how many were."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        masked, found = _mask_run(match.group(0))
        count += found
        return masked

    masked = _RUN.sub(replace, text)
    return masked, count


def may_hold_card_number(raw: bytes) -> bool:
    """False when `raw` cannot hold a card number (no run of 13 digits): the fast path."""
    return _MAYBE.search(raw) is not None and _RUN_BYTES.search(raw) is not None


def mask_value(value: Any) -> tuple[Any, int]:
    """A JSON value with every card number in it masked (a new value), and how many were."""
    kind = type(value)
    if kind is str:
        return mask_text(value)
    if kind is int or (kind is float and value.is_integer() and abs(value) < 1e19):
        digits = str(abs(int(value)))
        return (_starred(digits), 1) if is_card_number(digits) else (value, 0)
    if kind is dict:
        total = 0
        masked: dict[str, Any] = {}
        for key, item in value.items():
            masked[key], found = mask_value(item)
            total += found
        return masked, total
    if kind is list:
        items = [mask_value(item) for item in value]
        return [item for item, _ in items], sum(found for _, found in items)
    return value, 0


def mask_body(body: dict[str, Any], raw: bytes | None = None) -> tuple[dict[str, Any], int]:
    """The body with every card number masked, and how many; `raw` (the bytes it was parsed
    from) lets a body with no run of 13 digits skip the walk."""
    if raw is not None and not may_hold_card_number(raw):
        return body, 0
    masked, count = mask_value(body)
    return (masked, count) if count else (body, 0)


def mask_bytes(raw: bytes) -> tuple[bytes, int]:
    """Raw text (UTF-8, damaged bytes replaced) with every card number masked."""
    if not may_hold_card_number(raw):
        return raw, 0
    text, count = mask_text(raw.decode("utf-8", errors="replace"))
    return (text.encode(), count) if count else (raw, 0)


def mask_record(record: SpoolRecord) -> tuple[SpoolRecord, int]:
    """A spool record with its body and original text masked, and how many card numbers;
    a record that had one gets the event_id of its masked body (as the receiver gives)."""
    body, count = mask_body(record["body"])
    original, in_original = mask_bytes(record["original"].encode()) if "original" in record \
        else (b"", 0)
    if not count and not in_original:
        return record, 0
    masked: SpoolRecord = {**record, "body": body, "event_id": event_id(body)}
    if in_original:
        masked["original"] = original.decode()
    return masked, max(count, in_original)
