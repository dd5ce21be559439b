"""Who `genius-wh forget` erases: the identifier, its normal form, and where it matches
(warehouse rows in SQL, spool lines and quarantined files in Python).

- a telephone number is compared as digits, with an international prefix `+44`/`0044`/`44`
  turned into the national `0` (`+44 (0)7976 916443`, `07976-916443` and `447976916443` are
  all `07976916443`); at least 7 digits;
- an e-mail address is compared trimmed and lower-cased; a URN and a field value as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import orjson

from genius_wh.errors import GeniusWhError
from genius_wh.naming import column_name
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.sql import quote

KINDS: Final = ("urn", "phone", "email", "field")
MIN_PHONE_DIGITS: Final = 7
_NAME_KEYS: Final = frozenset({"key", "name", "field"})


class BadIdentifier(GeniusWhError):
    """The identifier cannot name one person (empty, malformed or too short)."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """The person to forget: how they are named and the normalised value."""

    kind: str
    value: str
    field: str = ""  # the session_recorddata column, for kind "field"

    @property
    def key(self) -> str:
        """The text the erasure ledger hashes."""
        return f"{self.field}={self.value}" if self.field else self.value


def normalise_phone(text: str) -> str:
    """Digits only, an international UK prefix turned into the national 0."""
    digits = re.sub(r"[^0-9]", "", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("44"):
        digits = digits[2:]
        digits = digits if digits.startswith("0") else "0" + digits
    return digits


def phone_sql(expression: str) -> str:
    """SQL of normalise_phone over a VARCHAR expression."""
    d = f"regexp_replace({expression}, '[^0-9]', '', 'g')"
    d = f"(CASE WHEN {d} LIKE '00%' THEN substr({d}, 3) ELSE {d} END)"
    rest = f"substr({d}, 3)"
    return (f"(CASE WHEN {d} LIKE '44%' THEN (CASE WHEN {rest} LIKE '0%' THEN {rest} "
            f"ELSE '0' || {rest} END) ELSE {d} END)")


def make_target(kind: str, raw: str) -> Target:
    """The Target of `--urn`, `--phone`, `--email` or `--field NAME=VALUE`; raises
    BadIdentifier."""
    text = raw.strip()
    if kind == "phone":
        value = normalise_phone(text)
        if len(value) < MIN_PHONE_DIGITS:
            raise BadIdentifier(f"--phone {raw!r}: a telephone number has at least "
                                f"{MIN_PHONE_DIGITS} digits")
        return Target(kind=kind, value=value)
    if kind == "email":
        if "@" not in text:
            raise BadIdentifier(f"--email {raw!r}: not an e-mail address")
        return Target(kind=kind, value=text.lower())
    if kind == "field":
        name, sep, value = raw.partition("=")
        if not sep or not name.strip() or not value:
            raise BadIdentifier(f"--field {raw!r}: write NAME=VALUE (the recorddata field)")
        return Target(kind=kind, value=value, field=column_name(name.strip()))
    if not text:
        raise BadIdentifier("--urn: give the URN to forget")
    return Target(kind="urn", value=text)


def _phone_regex(value: str) -> re.Pattern[bytes]:
    """The number as text may write it: any prefix, spaces, dashes, brackets, dots."""
    national = value[1:] if value.startswith("0") else value
    body = rb"[ ().-]*".join(re.escape(ch.encode()) for ch in national)
    return re.compile(rb"(?<![0-9])(?:\+?44[ ]?(?:\(0\)[ ]?)?|0044[ ]?|0)?[ ().-]*" + body +
                      rb"(?![0-9])")


def text_may_match(raw: bytes, target: Target) -> bool:
    """Whether raw text (a spool line, a quarantined body) holds the identifier."""
    if target.kind == "phone":
        return _phone_regex(target.value).search(raw) is not None
    if target.kind == "email":
        return target.value.encode() in raw.lower()
    return target.value.encode() in raw


def line_matches(record: dict[str, Any], target: Target) -> bool:
    """Whether a spool record's body names the target."""
    return _walk(record.get("body"), target, None)


def _walk(value: Any, target: Target, key: str | None) -> bool:
    if isinstance(value, dict):
        names = [k for k in value if k.lower() in _NAME_KEYS]
        values = [k for k in value if k.lower() == "value"]
        if len(names) == 1 and len(values) == 1 and isinstance(value[names[0]], str):
            return _walk(value[values[0]], target, value[names[0]])
        return any(_walk(item, target, k) for k, item in value.items())
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], list):
            if _walk(value[1], target, value[0]):
                return True
        return any(_walk(item, target, key) for item in value)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return _walk(orjson.loads(value), target, key)
        except orjson.JSONDecodeError:
            pass
    return value is not None and _scalar_matches(value, target, key)


def _scalar_matches(value: Any, target: Target, key: str | None) -> bool:
    text = value if isinstance(value, str) else str(value)
    if target.kind == "phone":
        return isinstance(value, str) and normalise_phone(text) == target.value
    if target.kind == "email":
        return text.strip().lower() == target.value
    if target.kind == "field":
        return key is not None and column_name(key) == target.field and text == target.value
    return key is not None and key.lower() == "urn" and text.strip() == target.value


def recorddata_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """session_recorddata's columns and their types (event_id left out)."""
    rows = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_name = 'session_recorddata' "
                       "AND table_catalog = current_database()").fetchall()
    return {str(name): str(kind) for name, kind in rows if name != "event_id"}


def _recorddata_condition(con: duckdb.DuckDBPyConnection, target: Target) -> str | None:
    columns = recorddata_columns(con)
    text = [quote(name) for name, kind in columns.items() if kind == "VARCHAR"]
    if target.kind == "phone":
        parts = [f"{phone_sql(c)} = $1" for c in text]
    elif target.kind == "email":
        parts = [f"lower(trim({c})) = $1" for c in text]
    else:
        name = target.field if target.kind == "field" else "urn"
        parts = [f"CAST({quote(name)} AS VARCHAR) = $1"] if name in columns else []
    return " OR ".join(parts) or None


def match_events(con: duckdb.DuckDBPyConnection, target: Target,
                 ) -> tuple[set[str], dict[str, int]]:
    """The event ids that name the target and the rows they have per table."""
    wheres = {"phone": f"{phone_sql('telnumber')} = $1 OR {phone_sql('cli')} = $1",
              "urn": "urn = $1"}
    selects = [f"SELECT event_id FROM session_ended WHERE {wheres[target.kind]}"
               ] if target.kind in wheres else []
    condition = _recorddata_condition(con, target)
    if condition:
        selects.append(f"SELECT event_id FROM session_recorddata WHERE {condition}")
    sessions = _ids(con, " UNION ".join(selects), target.value) if selects else set()
    urns = {str(r[0]) for r in con.execute(
        "SELECT DISTINCT urn FROM session_ended WHERE urn IS NOT NULL AND list_contains(?, "
        "event_id)", [sorted(sessions)]).fetchall()}
    urns |= {target.value} if target.kind == "urn" else set()
    cards = _ids(con, "SELECT event_id FROM card_payment WHERE list_contains($1, urn)",
                 sorted(urns))
    others = _ids(con, "SELECT event_id FROM other_events WHERE "
                  f"{_payload_condition(target)}", _payload_value(target))
    ids = sessions | cards | others
    return ids, _row_counts(con, ids)


def _payload_condition(target: Target) -> str:
    if target.kind == "phone":
        return "contains(regexp_replace(CAST(payload AS VARCHAR), '[^0-9]', '', 'g'), $1)"
    if target.kind == "email":
        return "contains(lower(CAST(payload AS VARCHAR)), $1)"
    return "contains(CAST(payload AS VARCHAR), $1)"


def _payload_value(target: Target) -> str:
    return target.value[1:] if target.kind == "phone" else target.value


def _ids(con: duckdb.DuckDBPyConnection, select: str, value: object) -> set[str]:
    return {str(row[0]) for row in con.execute(select, [value]).fetchall()}


def _row_counts(con: duckdb.DuckDBPyConnection, ids: set[str]) -> dict[str, int]:

    counts: dict[str, int] = {}
    for table in [*EVENT_TABLES, SESSION_RECORDDATA, "_load_issues"]:
        row = con.execute(f"SELECT count(*) FROM {quote(table)} WHERE list_contains(?, "
                          "event_id)", [sorted(ids)]).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
