"""Masked exports (issue #13): the columns and recorddata fields of `export_mask` are hashed
(keyed HMAC-SHA256, so joins still work across tables and dates) or dropped in the nightly
exports, never in the warehouse.

- `table.column:hash` or `table.column:drop`; `recorddata.<column>` names a recorddata field
  by its session_recorddata column, and masks it both there and inside
  `session_ended.recorddata` (the JSON as received);
- the key is `export_mask_key`, or a random one made once in DATA_DIR/.export-mask-key (0600);
- the hash is the lower-case hex HMAC-SHA256 of the value's text, computed by DuckDB itself
  (`sha256` over the HMAC pads), so a day of rows costs one vectorised pass; NULL stays NULL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import orjson
from duckdb.func import FunctionNullHandling

from genius_wh.durable import open_private, write_all
from genius_wh.layout import DataLayout
from genius_wh.naming import column_name
from genius_wh.settings import Settings
from genius_wh.tables import SESSION_RECORDDATA
from warehouse.sql import quote

KEY_FILE: Final = ".export-mask-key"
RECORDDATA: Final = "recorddata"
#: The Python function that masks recorddata fields inside session_ended.recorddata.
JSON_UDF: Final = "genius_wh_mask_recorddata"
_BLOCK: Final = 64  # SHA-256's block size, for the HMAC pads
_NAME_KEYS: Final = frozenset({"key", "name", "field"})
_DROPPED: Final = object()  # a key/value pair whose field is dropped


@dataclass(frozen=True, kw_only=True)
class MaskRule:
    """One `export_mask` entry: where, and hash or drop."""

    table: str
    column: str
    how: str  # "hash" or "drop"


def mask_rules(settings: Settings) -> list[MaskRule]:
    """The parsed `export_mask` (checked by Settings already)."""
    rules: list[MaskRule] = []
    for entry in settings.export_mask:
        place, _, how = entry.rpartition(":")
        table, _, column = place.partition(".")
        rules.append(MaskRule(table=table.strip().lower(), column=column.strip().lower(),
                              how=how))
    return rules


def mask_key(settings: Settings) -> bytes:
    """The HMAC key: `export_mask_key`, or the data dir's own, made once (0600)."""
    given = settings.export_mask_key.get_secret_value()
    if given:
        return given.encode()
    path = DataLayout(root=settings.data_dir).root / KEY_FILE
    try:
        fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:
        return path.read_bytes().strip()
    try:
        write_all(fd, secrets.token_hex(32).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path.read_bytes().strip()


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA256 hex of `text` (what the SQL of `hash_sql` computes)."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def hash_sql(expression: str, key: bytes) -> str:
    """SQL computing the HMAC-SHA256 hex of `expression`'s text (NULL stays NULL)."""
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    text = f"encode(CAST({expression} AS VARCHAR))"
    return (f"CASE WHEN {expression} IS NULL THEN NULL ELSE sha256(unhex('{outer}') || "
            f"unhex(sha256(unhex('{inner}') || {text}))) END")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns a warehouse table has now."""
    return [str(row[0]) for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_catalog = current_database() ORDER BY ordinal_position", [table]).fetchall()]


def select_modifiers(con: duckdb.DuckDBPyConnection, settings: Settings,
                     tables: list[str]) -> dict[str, str]:
    """Per table, the ` EXCLUDE (…) REPLACE (…)` that follows its export's `*`.

    Registers the JSON masking function on `con` when a recorddata field is masked.
    """
    rules = mask_rules(settings)
    if not rules:
        return {}
    key = mask_key(settings)
    field_rules = {r.column: r.how for r in rules if r.table == RECORDDATA}
    placed = [r if r.table != RECORDDATA else MaskRule(table=SESSION_RECORDDATA,
                                                        column=r.column, how=r.how)
              for r in rules]
    modifiers: dict[str, str] = {}
    for table in tables:
        columns = table_columns(con, table)
        mine = [r for r in placed if r.table == table and r.column in columns]
        replace = [f"{hash_sql(quote(r.column), key)} AS {quote(r.column)}"
                   for r in mine if r.how == "hash"]
        if field_rules and table == "session_ended" and RECORDDATA in columns:
            _register_json_masker(con, key, field_rules)
            replace.append(f"CAST({JSON_UDF}(CAST({RECORDDATA} AS VARCHAR)) AS JSON) "
                           f"AS {RECORDDATA}")
        drop = [quote(r.column) for r in mine if r.how == "drop"]
        modifiers[table] = (f" EXCLUDE ({', '.join(drop)})" if drop else "") + (
            f" REPLACE ({', '.join(replace)})" if replace else "")
    return modifiers


def masked_select(select: str, modifier: str) -> str:
    """The export's SELECT with the modifier after its first `*`."""
    if not modifier:
        return select
    star = select.index("*")
    return select[:star + 1] + modifier + select[star + 1:]


def _register_json_masker(con: duckdb.DuckDBPyConnection, key: bytes,
                          rules: dict[str, str]) -> None:
    """Register JSON_UDF: recorddata JSON with the masked fields hashed or dropped."""

    def mask(text: str | None) -> str | None:
        return None if text is None else mask_recorddata_json(text, key, rules)

    try:
        con.remove_function(JSON_UDF)
    except duckdb.InvalidInputException:
        pass  # not registered yet
    con.create_function(JSON_UDF, mask, ["varchar"], "varchar",
                        null_handling=FunctionNullHandling.SPECIAL)


def mask_recorddata_json(text: str, key: bytes, rules: dict[str, str]) -> str:
    """recorddata JSON text (object, array of pairs, or JSON text of one) with each field
    whose column is in `rules` hashed or dropped; what cannot be read is dropped whole."""
    try:
        value = orjson.loads(text)
        if isinstance(value, str):
            value = orjson.loads(value)
    except orjson.JSONDecodeError:
        return "null"
    if isinstance(value, dict):
        return orjson.dumps(_masked_fields(value, key, rules)).decode()
    if isinstance(value, list):
        pairs = [_masked_pair(item, key, rules) for item in value]
        return orjson.dumps([pair for pair in pairs if pair is not _DROPPED]).decode()
    return "null" if value is not None else text


def _masked_fields(fields: dict[str, Any], key: bytes, rules: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        how = rules.get(column_name(name))
        if how == "drop":
            continue
        out[name] = _hashed(value, key) if how == "hash" else value
    return out


def _masked_pair(item: Any, key: bytes, rules: dict[str, str]) -> Any:
    if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
        how = rules.get(column_name(item[0]))
        return _DROPPED if how == "drop" else [item[0], _hashed(item[1], key)] if how else item
    if not isinstance(item, dict):
        return item
    names = [k for k in item if k.lower() in _NAME_KEYS]
    values = [k for k in item if k.lower() == "value"]
    if len(names) == 1 and len(values) == 1 and isinstance(item[names[0]], str):
        how = rules.get(column_name(item[names[0]]))
        if how == "drop":
            return _DROPPED
        return {**item, values[0]: _hashed(item[values[0]], key)} if how else item
    return _masked_fields(item, key, rules)


def _hashed(value: Any, key: bytes) -> Any:
    """The keyed hash of a JSON value's text, as the SQL hashes a column (NULL stays)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return keyed_hash(key, text)
