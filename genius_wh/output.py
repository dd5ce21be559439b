"""Printing query results and status for people (rich tables) and programs (csv, json)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json")


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


def _json(data: Any) -> str:
    return orjson.dumps(data, default=_plain, option=orjson.OPT_INDENT_2
                        | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time | timedelta | Decimal | bytes):
        return str(_plain(value))
    return str(value)


def _print_table(table: Table) -> None:
    console = Console(file=sys.stdout, width=200)
    console.print(table)


def print_result(columns: list[str], rows: Sequence[Sequence[Any]], fmt: str) -> None:
    """Print a query result as a rich table, CSV (header first) or a JSON array of objects."""
    if fmt == "json":
        click.echo(_json([dict(zip(columns, row, strict=True)) for row in rows]))
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
