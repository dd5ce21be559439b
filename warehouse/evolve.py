"""Schema evolution of session_recorddata as an explicit diff that only widens (STYLE 5).

- `plan_columns` (pure) compares the types a chunk needs with what the warehouse holds;
- each column has a value type (what its values need: NULL, BOOLEAN, BIGINT, DOUBLE,
  VARCHAR or JSON, kept in `_recorddata_columns`) and a physical type (NULL-only columns are
  BOOLEAN, the narrowest, so they widen freely later);
- `apply_plan` runs the changes (`change_sql`) inside the caller's transaction; on a
  session_recorddata that holds no rows yet (a new warehouse's first chunk, a rebuild) it
  creates the table anew with every column in one statement (`recreate_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

from genius_wh.tables import SESSION_RECORDDATA
from genius_wh.widening import NULL, widen
from warehouse.schema import table_columns
from warehouse.sql import quote


@dataclass(frozen=True, kw_only=True)
class ColumnChange:
    """One column to add (old_type None) or widen, with value types before and after."""

    column: str
    old_value_type: str | None
    new_value_type: str

    @property
    def physical_type(self) -> str:
        """The DuckDB column type for the new value type."""
        return physical_type(self.new_value_type)

    @property
    def is_add(self) -> bool:
        """True when the column does not exist yet."""
        return self.old_value_type is None


def physical_type(value_type: str) -> str:
    """Column type of a value type: NULL-only columns are BOOLEAN."""
    return "BOOLEAN" if value_type == NULL else value_type


def plan_columns(current: dict[str, str], needed: dict[str, str]) -> list[ColumnChange]:
    """Columns to add or widen so that `current` value types hold `needed` ones.

    - a new column is added with the needed type (NULL-only: BOOLEAN);
    - an existing column is widened to widen(current, needed) when that differs;
    - a column is never narrowed and never dropped.
    """
    changes: list[ColumnChange] = []
    for column, need in needed.items():
        old = current.get(column)
        if old is None:
            changes.append(ColumnChange(column=column, old_value_type=None, new_value_type=need))
            continue
        new = widen(old, need)
        if new != old:
            changes.append(ColumnChange(column=column, old_value_type=old, new_value_type=new))
    return changes


#: Promotions DuckLake makes in place (metadata only): old physical type -> new ones.
IN_PLACE: Final[dict[str, tuple[str, ...]]] = {"BOOLEAN": ("BIGINT",), "BIGINT": ("DOUBLE",)}


def change_sql(change: ColumnChange) -> list[str]:
    """The statements of one change, inside the load transaction (earlier rows kept).

    - a new column: ADD COLUMN;
    - a column that held only nulls: dropped and added again with the new type;
    - BOOLEAN -> BIGINT -> DOUBLE: DuckLake's own in-place promotion;
    - to VARCHAR or JSON (DuckLake refuses these): a new column filled from the old one
      cast to text, the old dropped, the new renamed (this rewrites the table's rows once).
    """
    statements = _without_rewrite(change)
    return rewrite_sql([change]) if statements is None else statements


def needs_rewrite(change: ColumnChange) -> bool:
    """Whether the change goes through a new column (a widening DuckLake refuses)."""
    return _without_rewrite(change) is None


def _without_rewrite(change: ColumnChange) -> list[str] | None:
    """The statements of a change that needs no rewrite of the rows; None when it does."""
    table = quote(SESSION_RECORDDATA)
    column, target = quote(change.column), change.physical_type
    if change.is_add:
        return [f"ALTER TABLE {table} ADD COLUMN {column} {target}"]
    old = physical_type(change.old_value_type or NULL)
    if old == target:
        return []  # value type moved (NULL -> BOOLEAN) without a column change
    if change.old_value_type == NULL:
        return [f"ALTER TABLE {table} DROP COLUMN {column}",
                f"ALTER TABLE {table} ADD COLUMN {column} {target}"]
    if target in IN_PLACE.get(old, ()):
        return [f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {target}"]
    if old == "BOOLEAN" and target == "DOUBLE":
        return [f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT",
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE DOUBLE"]
    return None


def rewrite_sql(changes: list[ColumnChange]) -> list[str]:
    """Widen several columns to text with ONE rewrite of the table's rows: a new column
    each, one UPDATE filling them from the old ones cast to text, the old dropped, the new
    renamed."""
    table = quote(SESSION_RECORDDATA)
    pairs = [(quote(c.column), quote(c.column + "__widened"), c.physical_type) for c in changes]
    sets = ", ".join(f"{scratch} = CAST(CAST({column} AS VARCHAR) AS {target})"
                     for column, scratch, target in pairs)
    return ([f"ALTER TABLE {table} ADD COLUMN {scratch} {target}" for _, scratch, target in pairs]
            + [f"UPDATE {table} SET {sets}"]
            + [f"ALTER TABLE {table} DROP COLUMN {column}" for column, _, _ in pairs]
            + [f"ALTER TABLE {table} RENAME COLUMN {scratch} TO {column}"
               for column, scratch, _ in pairs])


def current_value_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Value type of every recorddata column, from `_recorddata_columns`."""
    rows = con.execute("SELECT column_name, value_type FROM _recorddata_columns").fetchall()
    return {str(name): str(kind) for name, kind in rows}


def holds_rows(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether session_recorddata has any row (this transaction's own included)."""
    return con.execute(f"SELECT 1 FROM {quote(SESSION_RECORDDATA)} LIMIT 1").fetchone() \
        is not None


def recreate_sql(columns: dict[str, str], changes: list[ColumnChange]) -> list[str]:
    """session_recorddata, holding no rows, dropped and created again with its `columns`
    (name -> DuckDB type, in table order) changed by the plan: the new ones after them.

    One CREATE instead of an ALTER per column: DuckLake's ADD COLUMN costs time and memory
    in the table's width (the 460 columns of the batch bench's first chunk took 2.1-2.8 s
    of a 1M-event batch in commits of 100, with their bookkeeping).
    """
    table = quote(SESSION_RECORDDATA)
    wanted = dict(columns)
    for change in changes:
        wanted[change.column] = change.physical_type
    listed = ", ".join(f"{quote(name)} {kind}" for name, kind in wanted.items())
    return [f"DROP TABLE {table}", f"CREATE TABLE {table} ({listed})"]


def apply_plan(con: duckdb.DuckDBPyConnection, changes: list[ColumnChange]) -> None:
    """Run the changes and record the new value types (inside the caller's transaction)."""
    if not changes:
        return
    if not holds_rows(con):
        for statement in recreate_sql(table_columns(con, SESSION_RECORDDATA), changes):
            con.execute(statement)
    else:
        rewrites = [change for change in changes if needs_rewrite(change)]
        for change in changes:
            if change not in rewrites:
                for statement in change_sql(change):
                    con.execute(statement)
        if rewrites:
            for statement in rewrite_sql(rewrites):
                con.execute(statement)
    names = [change.column for change in changes]
    con.execute("DELETE FROM _recorddata_columns WHERE list_contains(?, column_name)", [names])
    con.execute("INSERT INTO _recorddata_columns SELECT unnest(?), unnest(?)",
                [names, [change.new_value_type for change in changes]])
