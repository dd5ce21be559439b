"""Normalising one webhook body into a row of its table (CONTRACT sections 5 and 6). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

import orjson

from genius_wh.tables import ACTION_TABLES, EVENT_HEAD, EVENT_TABLES
from genius_wh.widening import json_text
from transform.cards import card_brand, payment_succeeded
from transform.coerce import BY_TYPE, Converter, describe, to_last4, to_timestamp
from transform.errors import ConversionError

#: The event object's key(s) for each known action (lower case; CONTRACT 6).
OBJECT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "sessionended": ("session", "sessionended"),
    "agentactivity": ("agentactivity",),
    "queueinfo": ("queueinfo",),
    "cardpayment": ("cardpayment",),
}
#: The action names as the vendor documents them, by lower-case action.
ACTION_NAMES: Final[dict[str, str]] = {
    "sessionended": "SessionEnded", "agentactivity": "AgentActivity",
    "queueinfo": "QueueInfo", "cardpayment": "CardPayment",
}
#: Field spellings of the examples that differ from the field tables (lower case).
_ALIASES: Final[dict[str, dict[str, str]]] = {
    "session_ended": {"wrapptime": "wraptime"},
    "agent_activity": {"previousstate": "previousagentstate"},
    "card_payment": {"timestamp": "payment_timestamp"},
}
#: Columns the product fills itself; a field sent under such a name is unknown.
_NOT_SENT: Final = frozenset({"event_id", "event_timestamp", "received_at", "card_brand",
                              "succeeded", "recorddata"})
_ENVELOPE: Final = frozenset({"action", "timestamp"})
_EVENT_TIMESTAMP: Final = 1  # index of event_timestamp in every event table (EVENT_HEAD)
_OTHER_ACTION: Final = len(EVENT_HEAD)  # index of other_events.action
_OTHER: Final = "other_events"

Spec = tuple[int, Converter]


@dataclass(frozen=True, slots=True)
class Problem:
    """A value that could not be converted for its column (the row keeps NULL there)."""

    column: str
    value: str
    problem: str


@dataclass(slots=True)
class NormalisedEvent:
    """One body as a row of its table, plus what the loader must be told about it."""

    table: str
    row: list[Any]  # one value per column of EVENT_TABLES[table]; event_id, received_at unset
    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # fields as sent that are not known
    recorddata: Any = None  # the recorddata as received, parsed (session_ended only)

    def as_dict(self) -> dict[str, Any]:
        """The row as column -> value (for reading and tests)."""
        return {name: value for (name, _), value in zip(EVENT_TABLES[self.table], self.row,
                                                        strict=True)}


def _field_specs(table: str) -> dict[str, Spec]:
    columns = EVENT_TABLES[table]
    index = {name: position for position, (name, _) in enumerate(columns)}
    specs: dict[str, Spec] = {
        name: (index[name], BY_TYPE[kind]) for name, kind in columns if name not in _NOT_SENT
    }
    for alias, name in _ALIASES.get(table, {}).items():
        specs[alias] = specs[name]
    if table == "card_payment":
        specs["last4digits"] = (index["last4digits"], to_last4)
        specs.pop("payment_timestamp")
    return specs


_SPECS: Final[dict[str, dict[str, Spec]]] = {t: _field_specs(t) for t in ACTION_TABLES.values()}
_WIDTHS: Final[dict[str, int]] = {t: len(columns) for t, columns in EVENT_TABLES.items()}
_NAMES: Final[dict[str, tuple[str, ...]]] = {
    t: tuple(name for name, _ in columns) for t, columns in EVENT_TABLES.items()
}


def normalise_event(body: dict[str, Any], *, tz: tzinfo) -> NormalisedEvent:
    """The row of a webhook body: known actions into their table, others into other_events."""
    action = str(body.get("action", ""))
    key = action.strip().lower()
    table = ACTION_TABLES.get(key, _OTHER)
    event = NormalisedEvent(table, [None] * _WIDTHS[table])
    layout = _envelope(key, tuple(body))
    if layout.stamp is not None:
        _put(event, _EVENT_TIMESTAMP, body[layout.stamp], to_timestamp, tz)
    if table == _OTHER:
        event.row[_OTHER_ACTION:_OTHER_ACTION + 2] = [action, json_text(body)]
        return event
    event.unknown.extend(layout.unknown)
    obj = body.get(layout.obj_key) if layout.obj_key is not None else None
    if not isinstance(obj, dict):
        _missing_object(event, key, layout.obj_key, obj)
        return event
    _fill(event, obj, tz)
    if table == "card_payment":
        _derive_card(event.row)
        index = _CARD["payment_timestamp"]
        event.row[index] = resolve_fold(event.row[index], event.row[_EVENT_TIMESTAMP], tz)
    return event


@dataclass(frozen=True, slots=True)
class _Envelope:
    stamp: str | None  # the key of the envelope timestamp, as sent
    obj_key: str | None  # the key of the event object, as sent
    unknown: tuple[str, ...]  # other top-level keys


_ENVELOPES: dict[tuple[str, tuple[str, ...]], _Envelope] = {}
_PLANS: dict[tuple[str, tuple[str, ...]], _Plan] = {}
_CACHE_LIMIT: Final = 10_000  # key layouts remembered (real traffic has a handful)


def _envelope(key: str, names: tuple[str, ...]) -> _Envelope:
    found = _ENVELOPES.get((key, names))
    if found is None:
        lower = {name.lower(): name for name in reversed(names)}
        obj_key = next((lower[k] for k in OBJECT_KEYS.get(key, ()) if k in lower), None)
        unknown = tuple(n for n in names if n.lower() not in _ENVELOPE and n != obj_key)
        found = _Envelope(lower.get("timestamp"), obj_key, unknown)
        if len(_ENVELOPES) < _CACHE_LIMIT:
            _ENVELOPES[(key, names)] = found
    return found


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where each field of one key layout goes: column index (-1: not a column) and converter."""

    indices: tuple[int, ...]
    converters: tuple[Converter | None, ...]
    others: tuple[int, ...]  # positions of fields that are not columns


def _plan(table: str, names: tuple[str, ...]) -> _Plan:
    found = _PLANS.get((table, names))
    if found is None:
        specs = _SPECS[table]
        chosen = [specs.get(name) or specs.get(name.lower()) for name in names]
        found = _Plan(tuple(-1 if spec is None else spec[0] for spec in chosen),
                      tuple(None if spec is None else spec[1] for spec in chosen),
                      tuple(n for n, spec in enumerate(chosen) if spec is None))
        if len(_PLANS) < _CACHE_LIMIT:
            _PLANS[(table, names)] = found
    return found


def _put(event: NormalisedEvent, index: int, value: Any, convert: Converter, tz: tzinfo) -> None:
    try:
        event.row[index] = convert(value, tz)
    except ConversionError as exc:
        event.problems.append(Problem(_NAMES[event.table][index], describe(value), str(exc)))


def _fill(event: NormalisedEvent, obj: dict[str, Any], tz: tzinfo) -> None:
    row = event.row
    plan = _plan(event.table, tuple(obj))
    for index, convert, value in zip(plan.indices, plan.converters, obj.values(), strict=True):
        # null stays NULL; with two spellings of one field the first non-null wins
        if value is None or index < 0 or row[index] is not None:
            continue
        try:
            row[index] = convert(value, tz)  # type: ignore[misc]
        except ConversionError as exc:
            event.problems.append(Problem(_NAMES[event.table][index], describe(value),
                                          str(exc)))
    if plan.others:
        names = list(obj)
        for position in plan.others:
            _other_field(event, names[position], obj[names[position]])


def _other_field(event: NormalisedEvent, name: str, value: Any) -> None:
    if event.table != "session_ended" or name.lower() != "recorddata":
        event.unknown.append(name)
    elif event.recorddata is None and value is not None:
        _keep_recorddata(event, value)


_RECORDDATA: Final = _NAMES["session_ended"].index("recorddata")


def _keep_recorddata(event: NormalisedEvent, raw: Any) -> None:
    if not isinstance(raw, str):
        event.recorddata = raw
        event.row[_RECORDDATA] = json_text(raw)
        return
    try:  # JSON text inside a string: kept as that text, flattened as what it holds
        event.recorddata = orjson.loads(raw)
        event.row[_RECORDDATA] = raw
    except orjson.JSONDecodeError:
        event.problems.append(Problem("recorddata", describe(raw), "recorddata is not JSON"))


def _missing_object(event: NormalisedEvent, key: str, obj_key: str | None, obj: Any) -> None:
    wanted = " or ".join(f"`{k}`" for k in OBJECT_KEYS[key])
    if obj_key is None:
        event.problems.append(Problem(OBJECT_KEYS[key][0], "", f"the body has no {wanted} object"))
    elif obj is not None:
        event.problems.append(Problem(obj_key, describe(obj), "the event object is not an object"))


_CARD: Final = {name: i for i, name in enumerate(_NAMES["card_payment"])}


def resolve_fold(moment: datetime | None, reference: datetime | None,
                 tz: tzinfo) -> datetime | None:
    """A local time sent without an offset that falls in the hour the clocks repeat, read as
    whichever of its two instants is the latest not after `reference` (the envelope
    timestamp, which has an offset and is sent just after the event); otherwise as it is."""
    if moment is None or reference is None or moment.tzinfo is not tz:
        return moment
    other = moment.replace(fold=1 - moment.fold)
    if other.utcoffset() == moment.utcoffset():
        return moment
    before = [m for m in (moment, other) if m.timestamp() <= reference.timestamp()]
    chosen = max(before, key=lambda m: m.timestamp()) if before else moment
    return chosen.astimezone(UTC)  # as an instant: a fold is lost in later conversions


def _derive_card(row: list[Any]) -> None:
    row[_CARD["card_brand"]] = card_brand(row[_CARD["cardtype"]])
    row[_CARD["succeeded"]] = payment_succeeded(row[_CARD["result"]])
