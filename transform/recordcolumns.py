"""The session_recorddata columns of one chunk: names, types and values.

Each event's values are kept as one tuple in the group of events that sent the same field
names (typically one campaign); columns are typed and assembled only when written, so
the per-event work stays a few C-level operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Final

from genius_wh.chunkresult import FieldSeen
from genius_wh.naming import column_name
from genius_wh.widening import NULL, convert_value, value_type, widen
from transform.recorddata import flatten_recorddata

_KINDS: Final[dict[type, str]] = {bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE",
                                  str: "VARCHAR", dict: "JSON", list: "JSON"}
_NATIVE: Final[dict[str, type]] = {"BOOLEAN": bool, "BIGINT": int, "DOUBLE": float,
                                   "VARCHAR": str}


@dataclass(slots=True)
class FieldGroup:
    """Events of one date that sent the same field names, in the same order."""

    names: tuple[str, ...]
    event_ids: list[str] = field(default_factory=list)
    values: list[tuple[Any, ...]] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def column_values(self, positions: list[int]) -> list[Any]:
        """The values of one column (first non-null of the fields meeting in it)."""
        pick = [list(map(itemgetter(p), self.values)) for p in positions]
        if len(pick) == 1:
            return pick[0]
        return [next((v for v in row if v is not None), None) for row in zip(*pick, strict=True)]


@dataclass(frozen=True, slots=True)
class Slice:
    """Rows of one group to write together: event ids and each column's values."""

    event_ids: list[str]
    columns: dict[str, list[Any]]  # only the columns this group sends


class RecorddataColumns:
    """Flattens each event's recorddata and types the chunk's columns."""

    def __init__(self) -> None:
        self.groups: dict[date, dict[tuple[str, ...], FieldGroup]] = {}
        self._columns: dict[str, str] = {}  # field as sent -> column
        self._positions: dict[tuple[str, ...], dict[str, list[int]]] = {}
        self._types: dict[str, str] | None = None

    def add(self, event_id: str, recorddata: Any, day: date, received: datetime) -> list[str]:
        """Add one event's recorddata; returns the problems met flattening it."""
        flat = flatten_recorddata(recorddata)
        fields = flat.fields
        if fields:
            names = tuple(fields)
            groups = self.groups.get(day) or self.groups.setdefault(day, {})
            group = groups.get(names) or groups.setdefault(names, FieldGroup(names))
            group.event_ids.append(event_id)
            group.values.append(tuple(fields.values()))
            if group.first is None or received < group.first:
                group.first = received
            if group.last is None or received > group.last:
                group.last = received
            self._types = None
        return flat.problems

    def rows(self, day: date) -> int:
        """Rows of session_recorddata for one date."""
        return sum(len(group.event_ids) for group in self.groups.get(day, {}).values())

    def positions(self, names: tuple[str, ...]) -> dict[str, list[int]]:
        """Column -> positions of the fields landing in it, for one group's names."""
        found = self._positions.get(names)
        if found is None:
            found = {}
            for position, name in enumerate(names):
                column = self._columns.get(name) or self._columns.setdefault(
                    name, column_name(name))
                found.setdefault(column, []).append(position)
            self._positions[names] = found
        return found

    @property
    def types(self) -> dict[str, str]:
        """Column -> the type this chunk's values need, in order of first appearance."""
        if self._types is None:
            self._types = self._compute_types()
        return self._types

    def _compute_types(self) -> dict[str, str]:
        types: dict[str, str] = {}
        for group in self._all_groups():
            for column, places in self.positions(group.names).items():
                types[column] = _widest(types.get(column, NULL),
                                        group.column_values(places))
        return types

    def _all_groups(self) -> Iterator[FieldGroup]:
        for groups in self.groups.values():
            yield from groups.values()

    def files(self, day: date, min_rows_alone: int) -> list[list[FieldGroup]]:
        """The date's groups, as they go into files: each group of at least `min_rows_alone`
        rows alone (a file with only its own columns, not every other campaign's as nulls),
        the smaller ones together."""
        groups = list(self.groups.get(day, {}).values())
        alone = [[group] for group in groups if len(group.event_ids) >= min_rows_alone]
        rest = [group for group in groups if len(group.event_ids) < min_rows_alone]
        return [*alone, rest] if rest else alone

    def columns_of(self, groups: list[FieldGroup]) -> dict[str, str]:
        """Column -> type of the columns these groups send, in the chunk's column order."""
        sent = {column for group in groups for column in self.positions(group.names)}
        return {column: kind for column, kind in self.types.items() if column in sent}

    def slices(self, groups: list[FieldGroup], max_cells: int) -> Iterator[Slice]:
        """The groups' rows, group after group, converted to the chunk's column types, at
        most `max_cells` cells of their columns a slice."""
        types = self.types
        step = max(1, max_cells // max(1, len(self.columns_of(groups))))
        pending = Slice([], {})
        for group in groups:
            columns = {column: _convert(group.column_values(places), types[column])
                       for column, places in self.positions(group.names).items()}
            start, total = 0, len(group.event_ids)
            while start < total:
                if len(pending.event_ids) >= step:
                    yield _padded(pending)
                    pending = Slice([], {})
                offset = len(pending.event_ids)
                stop = min(total, start + step - offset)
                pending.event_ids.extend(group.event_ids[start:stop])
                for name, values in columns.items():
                    column = pending.columns.setdefault(name, [])
                    column.extend([None] * (offset - len(column)))
                    column.extend(values[start:stop])
                start = stop
        if pending.event_ids:
            yield _padded(pending)

    def fields_seen(self) -> list[FieldSeen]:
        """Every field as sent in this chunk, with its column and the column's type."""
        types = self.types
        spans: dict[str, list[datetime]] = {}
        for group in self._all_groups():
            assert group.first is not None and group.last is not None
            for name in group.names:
                span = spans.setdefault(name, [group.first, group.last])
                span[0], span[1] = min(span[0], group.first), max(span[1], group.last)
        return [FieldSeen(field=name, column_name=self._columns[name],
                          column_type=types[self._columns[name]],
                          first_seen=first, last_seen=last)
                for name, (first, last) in spans.items()]


def _padded(piece: Slice) -> Slice:
    size = len(piece.event_ids)
    for values in piece.columns.values():
        values.extend([None] * (size - len(values)))
    return piece


def _widest(kind: str, values: list[Any]) -> str:
    for python_type in set(map(type, values)):
        found = _KINDS.get(python_type)
        if found is None:
            continue  # None: the bottom type
        if python_type is int:
            found = widen(value_type(max(v for v in values if type(v) is int)),
                          value_type(min(v for v in values if type(v) is int)))
        kind = widen(kind, found)
    return kind


def _convert(values: list[Any], kind: str) -> list[Any]:
    native = _NATIVE.get(kind)
    if native is not None and set(map(type, values)) <= {native, type(None)}:
        return values
    return [convert_value(value, kind) for value in values]
