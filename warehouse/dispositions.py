"""The user's disposition list: agent result codes with a name, an outcome group and whether
the outcome is positive (a sale, a promise to pay), loaded from a CSV file into
`_dispositions`, which `v_agent_scorecard`, `v_agent_outcomes`, `v_campaign_outcomes` and
`v_urn_attempts` join.

The CSV file (UTF-8, a byte-order mark allowed, comma-separated, header row first):

- `code` (required): the agent result code as SessionEnded's `agentresult` sends it, a whole
  number, each code once;
- `name` (required): what the agents' screen calls it, e.g. `Sale`;
- `outcome_group` (required): the group it counts in, e.g. `sale`, `no_sale`, `callback`;
- `is_positive` (optional): `true`/`false` (or `yes`/`no`, `y`/`n`, `1`/`0`; empty: false);
- columns in any order, header names in any case, blank lines skipped; any other column is
  refused, so a misspelt one is never silently dropped.

A load replaces the whole list in one transaction, under the same writer locks as a batch:
readers see the old list or the new one, never a mix.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import duckdb

from genius_wh.layout import DataLayout
from genius_wh.settings import Settings
from warehouse.errors import WarehouseError
from warehouse.lakehouse import lake_config, open_lake
from warehouse.loader import transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.schema import ensure_schema, view_options
from warehouse.views_reports import DISPOSITIONS

REQUIRED: Final = ("code", "name", "outcome_group")
COLUMNS: Final = (*REQUIRED, "is_positive")
_TRUE: Final = frozenset({"true", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "0", ""})
_INT32: Final = range(-(2**31), 2**31)


class DispositionsInvalid(WarehouseError):
    """The dispositions file is wrong; nothing was loaded, the old list stays."""


@dataclass(frozen=True, kw_only=True)
class Disposition:
    """One agent result code of the user's list."""

    code: int
    name: str
    outcome_group: str
    is_positive: bool = False


def parse_dispositions(text: str, source: str) -> list[Disposition]:
    """The dispositions of a CSV text (format in the module docstring); raises
    DispositionsInvalid naming the file, line and value of the first problem."""
    lines = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next((row for row in lines if any(cell.strip() for cell in row)), None)
    if header is None:
        raise DispositionsInvalid(f"{source} is empty: the first line must name the columns "
                                  f"{_shape()}")
    fields = _header(header, source)
    found: list[Disposition] = []
    first_line: dict[int, int] = {}
    for row in lines:
        if not any(cell.strip() for cell in row):
            continue
        where = f"{source} line {lines.line_num}"
        if len(row) != len(fields):
            raise DispositionsInvalid(f"{where}: {len(row)} fields where the header has "
                                      f"{len(fields)} ({', '.join(fields)})")
        item = _disposition(dict(zip(fields, (cell.strip() for cell in row), strict=True)),
                            where)
        if item.code in first_line:
            raise DispositionsInvalid(f"{where}: code {item.code} is given twice (first on "
                                      f"line {first_line[item.code]}); give each code once")
        first_line[item.code] = lines.line_num
        found.append(item)
    if not found:
        raise DispositionsInvalid(f"{source} has a header but no dispositions; nothing was "
                                  "loaded (the list in use stays)")
    return found


def _shape() -> str:
    return ",".join(REQUIRED) + "[,is_positive]"


def _header(header: list[str], source: str) -> list[str]:
    """The header's column names, lower-cased; every required one present, none unknown."""
    fields = [cell.strip().lower() for cell in header]
    for name in fields:
        if name not in COLUMNS:
            raise DispositionsInvalid(f"{source}: unknown column {name!r} in the header; the "
                                      f"columns are {_shape()}")
        if fields.count(name) > 1:
            raise DispositionsInvalid(f"{source}: column {name!r} is in the header twice")
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        raise DispositionsInvalid(f"{source}: the header has no {', '.join(missing)} column; "
                                  f"the first line must name the columns {_shape()}")
    return fields


def _disposition(cells: dict[str, str], where: str) -> Disposition:
    """One data row as a Disposition, or the reason it is not one."""
    code = cells["code"]
    try:
        number = int(code)
    except ValueError:
        raise DispositionsInvalid(f"{where}: code {code!r} is not a whole number") from None
    if number not in _INT32:
        raise DispositionsInvalid(f"{where}: code {code} is out of range for an agent result")
    for column in ("name", "outcome_group"):
        if not cells[column]:
            raise DispositionsInvalid(f"{where}: {column} is empty (code {number})")
    flag = cells.get("is_positive", "").lower()
    if flag not in _TRUE | _FALSE:
        raise DispositionsInvalid(f"{where}: is_positive {cells['is_positive']!r} is not true "
                                  "or false (yes/no, y/n, 1/0 or empty also do)")
    return Disposition(code=number, name=cells["name"], outcome_group=cells["outcome_group"],
                       is_positive=flag in _TRUE)


def read_dispositions(path: Path) -> list[Disposition]:
    """The dispositions of a CSV file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DispositionsInvalid(f"{path} is not UTF-8 text ({exc.reason} at byte "
                                  f"{exc.start}); save it as CSV UTF-8") from None
    except OSError as exc:
        raise DispositionsInvalid(f"cannot read {path}: {exc.strerror}") from None
    return parse_dispositions(text, str(path))


def load_dispositions(settings: Settings, path: Path) -> int:
    """Replace the disposition list with the file's (one transaction, under the batch's
    writer locks; a batch running now is waited for); returns how many were loaded."""
    items = read_dispositions(path)
    config = lake_config(settings)
    catalog = config.sqlite_file
    if catalog is not None and not (catalog.is_file() and catalog.stat().st_size > 0):
        raise DispositionsInvalid(f"no warehouse at {catalog} yet: run `genius-wh batch` once "
                                  "events have arrived, then load the dispositions again")
    with batch_lock(DataLayout(root=settings.data_dir), blocking=True), \
            writer_lock(config), open_lake(config, read_only=False) as con:
        tune_writer(con)
        with transaction(con):
            ensure_schema(con, tz=settings.timezone, views=view_options(settings))
            replace_dispositions(con, items, source=path.name)
    return len(items)


def replace_dispositions(con: duckdb.DuckDBPyConnection, items: list[Disposition], *,
                         source: str | None) -> None:
    """Delete the list in use and insert `items`, in the caller's transaction."""
    con.execute(f"DELETE FROM {DISPOSITIONS}")
    con.executemany(
        f"INSERT INTO {DISPOSITIONS} (code, name, outcome_group, is_positive, loaded_at, "
        "source) VALUES (?, ?, ?, ?, now(), ?)",
        [[d.code, d.name, d.outcome_group, d.is_positive, source] for d in items])


def current_dispositions(con: duckdb.DuckDBPyConnection) -> list[Disposition]:
    """The list in use, by code (empty when none was loaded, or before the table exists)."""
    try:
        rows = con.execute(f"SELECT code, name, outcome_group, is_positive FROM {DISPOSITIONS} "
                           "ORDER BY code").fetchall()
    except duckdb.CatalogException:
        return []
    return [Disposition(code=int(code), name=str(name), outcome_group=str(group),
                        is_positive=bool(flag)) for code, name, group, flag in rows]
