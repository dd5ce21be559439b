"""The one quoting helpers: every table and column name, and every string literal built into
SQL text, goes through them."""

from __future__ import annotations


def quote(name: str) -> str:
    """A DuckDB identifier in double quotes, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_all(names: list[str] | tuple[str, ...]) -> str:
    """Comma-separated quoted identifiers."""
    return ", ".join(quote(name) for name in names)


def literal(text: str) -> str:
    """A SQL string literal, inner quotes doubled."""
    return "'" + text.replace("'", "''") + "'"
