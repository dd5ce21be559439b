"""The one identifier-quoting helper: every table and column name in SQL goes through it."""

from __future__ import annotations


def quote(name: str) -> str:
    """A DuckDB identifier in double quotes, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_all(names: list[str] | tuple[str, ...]) -> str:
    """Comma-separated quoted identifiers."""
    return ", ".join(quote(name) for name in names)
