"""Printing for people (rich tables, progress on stderr) and programs (csv, json, counts).

- results and counts go to stdout, progress bars and messages to stderr, so a command's
  output can be piped whatever the terminal shows meanwhile;
- JSON values (DuckDB JSON columns, lists, structs, maps) print as JSON text in every format.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import track
from rich.table import Table

FORMATS = ("table", "csv", "json")
T = TypeVar("T")


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: dates and times ISO 8601, decimals as numbers."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _json(data: Any, *, indent: bool = True) -> str:
    option = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(data, default=_plain,
                        option=option | orjson.OPT_INDENT_2 if indent else option).decode()


def _cell(value: Any) -> str:
    """A value as one line of text: lists, structs and maps as compact JSON, not Python repr."""
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        return _json(value, indent=False)
    if isinstance(value, datetime | date | time | timedelta | Decimal | bytes):
        return str(_plain(value))
    return str(value)


def _json_value(value: Any, column_type: str) -> Any:
    """A value for the JSON format: a DuckDB JSON column's text is embedded as JSON."""
    if column_type == "JSON" and isinstance(value, str):
        return orjson.Fragment(value)
    return value


def _print_table(table: Table) -> None:
    console = Console(file=sys.stdout, width=200)
    console.print(table)


def print_result(columns: list[str], rows: Sequence[Sequence[Any]], fmt: str,
                 types: Sequence[str] = ()) -> None:
    """Print a query result as a rich table, CSV (header first) or a JSON array of objects.

    `types`: the columns' DuckDB type names; JSON columns are then JSON in the JSON format too.
    """
    if fmt == "json":
        kinds = list(types) or [""] * len(columns)
        click.echo(_json([{c: _json_value(v, k) for c, v, k in zip(columns, row, kinds,
                                                                    strict=True)}
                          for row in rows]))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        click.echo(buffer.getvalue(), nl=False)
    elif fmt == "table":
        table = Table(*columns, caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        _print_table(table)
    else:
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def _section(title: str, value: Any) -> Table:
    """One status section: a mapping as key/value rows, a list of mappings as columns."""
    if isinstance(value, Sequence) and value and all(isinstance(v, Mapping) for v in value):
        columns = list(dict.fromkeys(k for item in value for k in item))
        table = Table(*columns, title=title)
        for item in value:
            table.add_row(*(_cell(item.get(c)) for c in columns))
        return table
    table = Table("", "", title=title, show_header=False)
    for key, shown in _flatten("", value):
        table.add_row(key or "value", shown)
    return table


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested mappings as (dotted key, text) rows: `spool.ready.segments  3`."""
    if isinstance(value, Mapping) and value:
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows.extend(_flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return rows
    if isinstance(value, list | Mapping):
        return [(prefix, _json(value) if value else "")]
    return [(prefix, _cell(value))]


def print_status(status: Mapping[str, Any], fmt: str) -> None:
    """Print `genius-wh status`: one readable table per section, or JSON."""
    if fmt == "json":
        click.echo(_json(status))
        return
    scalars = {k: v for k, v in status.items() if not isinstance(v, Mapping | list)}
    if scalars:
        _print_table(_section("status", scalars))
    for key, value in status.items():
        if key not in scalars:
            _print_table(_section(key.replace("_", " "), value))


def print_counts(counts: Mapping[str, int]) -> None:
    """Print `name<TAB>count` lines (rows loaded or exported per table)."""
    for name, count in counts.items():
        click.echo(f"{name}\t{count}")


def show_progress() -> bool:
    """Progress bars only when a person watches stderr (never in a pipe or a log)."""
    return sys.stderr.isatty()


def progress_console() -> Console:
    """The console progress bars draw on: stderr, so they never mix into a command's output."""
    return Console(stderr=True)


def with_progress(items: Iterable[T], *, total: int, label: str) -> Iterator[T]:
    """Yield `items`, with a progress bar of `total` on stderr when show_progress()."""
    yield from track(items, total=total, description=label, console=progress_console(),
                     disable=not show_progress())
