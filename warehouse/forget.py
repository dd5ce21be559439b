"""`genius-wh forget`: erase one person on request (UK GDPR, issue #13).

- the person is named by a URN, a telephone number (matched in `telnumber`, `cli` and every
  VARCHAR recorddata column, whatever its spacing or +44/0044/0 prefix), an e-mail address
  (any VARCHAR recorddata column, case and spaces ignored) or a recorddata field value;
- their sessions go from `session_ended`, `session_recorddata` and `_load_issues`; card
  payments with the URN of a matched session (or the URN forgotten) from `card_payment`;
  unknown events whose payload holds the identifier from `other_events`;
- the spool segments (archive, ready, working) are rewritten without their lines, and the
  ledger's offsets follow; quarantined files holding the identifier and export rows of the
  erased events go too;
- time travel is cut: data files with deletes are rewritten, every older snapshot is
  expired and unreferenced files deleted, and an embedded catalog is vacuumed;
- the erasure is recorded in `_erasures` (keyed hash of the identifier, time, counts: no
  personal data) and the erased event ids in `_erased_events`, which the loader consults
  (`erased_ids_select`) so a rebuild or replay of an old file does not bring them back.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb
import orjson

from genius_wh.archive import clear_staging
from genius_wh.layout import ERASE_JOURNAL, DataLayout
from genius_wh.segments import list_open
from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES, SESSION_RECORDDATA
from warehouse.erasefiles import (
    SegmentEdit,
    export_files,
    finish_edits,
    quarantine_files,
    rewrite_export,
    rows_with_ids,
    scan_segment,
    spool_segments,
    stage_edits,
)
from warehouse.erasures import ERASED_EVENTS, ERASURES, LEDGER_DDL, erased_ids_select
from warehouse.exportfiles import update_manifest
from warehouse.forgetmatch import Target, line_matches, match_events, text_may_match
from warehouse.lakehouse import (
    ALIAS,
    LakeConfig,
    WarehouseUnavailable,
    lake_config,
    open_lake,
)
from warehouse.loader import transaction, tune_writer
from warehouse.locks import batch_lock, writer_lock
from warehouse.privacy import keyed_hash, mask_key
from warehouse.summaries import mark_deleted

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("genius_wh.warehouse.forget")

_ID_AT: Final = re.compile(rb'^\{"v":1,"event_id":"([0-9a-f]{32})"')


@dataclass(kw_only=True)
class ForgetReport:
    """What went (or would go, with dry_run) from each place, by count."""

    kind: str
    dry_run: bool
    rows: dict[str, int] = field(default_factory=dict)
    spool_lines: int = 0
    open_lines: int = 0  # in segments receivers still write: forget again once sealed
    segments: int = 0
    quarantine_files: int = 0
    export_rows: dict[str, int] = field(default_factory=dict)
    snapshots_expired: int = 0
    files_deleted: int = 0

    def counts(self) -> dict[str, int]:
        """Every count by place (`table`, `spool lines`, `exports date/table`...)."""
        found = {name: n for name, n in self.rows.items()}
        found |= {"spool lines": self.spool_lines, "spool segments": self.segments,
                  "quarantine files": self.quarantine_files,
                  "spool lines left in open segments": self.open_lines}
        return found | {f"exports {name}": n for name, n in self.export_rows.items()}


def forget(settings: Settings, target: Target, *, dry_run: bool = False) -> ForgetReport:
    """Erase every trace of `target` (or only count it, with dry_run)."""
    layout = DataLayout(root=settings.data_dir).ensure()
    config = lake_config(settings)
    report = ForgetReport(kind=target.kind, dry_run=dry_run)
    with batch_lock(layout, blocking=True), writer_lock(config):
        with open_lake(config, read_only=dry_run) as con:
            if not dry_run:
                tune_writer(con)
                for statement in LEDGER_DDL:
                    con.execute(statement)
                finish_erasure(con, layout)
            try:
                ids, report.rows = match_events(con, target)
            except duckdb.CatalogException as exc:
                raise WarehouseUnavailable("the warehouse has no tables yet: run "
                                           "`genius-wh batch` first") from exc
            erased = _erased_before(con)
            edits = _spool_edits(spool_segments(layout), target, ids | erased)
            report.open_lines = sum(len(edit.removed) for edit in _spool_edits(
                list_open(layout), target, ids | erased))
            ids |= {i for edit in edits for i in edit.removed_ids}
            report.spool_lines = sum(len(edit.removed) for edit in edits)
            report.segments = len(edits)
            gone = quarantine_files(layout, lambda raw: text_may_match(raw, target))
            report.quarantine_files = len(gone) // 2
            report.export_rows = _export_counts(layout, ids)
            if dry_run:
                return report
            _erase(con, layout, settings, target, ids | erased, edits, report, gone)
        clear_staging(layout)  # a killed batch's Parquet: its segments are loaded again
        _vacuum(config)
        _erase_files(layout, ids | erased, gone)
    log.info("forgot a %s: %s", target.kind, ", ".join(
        f"{place} {n}" for place, n in report.counts().items() if n))
    return report


def _erase(con: duckdb.DuckDBPyConnection, layout: DataLayout, settings: Settings,
           target: Target, ids: set[str], edits: list[SegmentEdit],
           report: ForgetReport, gone: list[Path]) -> None:
    """Delete the rows, record the erasure, move the segments, cut time travel."""
    erasure = uuid.uuid4().hex
    stage_edits(layout, edits, erasure)
    con.register("forget_ids", _id_table(ids))
    with transaction(con):
        mark_deleted(con, "event_id IN (SELECT event_id FROM forget_ids)")
        for table in [*EVENT_TABLES, SESSION_RECORDDATA, "_load_issues"]:
            con.execute(f"DELETE FROM {table} WHERE event_id IN "
                        "(SELECT event_id FROM forget_ids)")
        _move_ledger(con, edits)
        con.execute("DELETE FROM _quarantine WHERE list_contains(?, regexp_extract(path, "
                    "'[^/]+$'))", [[path.name for path in gone]])
        con.execute(f"INSERT INTO {ERASED_EVENTS} SELECT event_id, ? FROM forget_ids "
                    f"ANTI JOIN {ERASED_EVENTS} USING (event_id)", [erasure])
        identifier = keyed_hash(mask_key(settings), f"{target.kind}:{target.key}")
        con.execute(f"INSERT INTO {ERASURES} VALUES (?, ?, ?, ?, ?)",
                    [erasure, datetime.now(UTC), target.kind, identifier,
                     orjson.dumps(report.counts()).decode()])
    con.unregister("forget_ids")
    finish_edits(layout, lambda _: True)
    report.snapshots_expired, report.files_deleted = cut_time_travel(con)


def finish_erasure(con: duckdb.DuckDBPyConnection, layout: DataLayout) -> int:
    """Recovery first: put in place (or drop) the segments an erasure killed between its
    commit and its renames had staged; how many were put in place. A batch calls it before
    reading the spool (the ledger's offsets already follow the rewritten segments)."""
    if not (layout.root / ERASE_JOURNAL).exists():
        return 0
    return finish_edits(layout, lambda erasure: _committed(con, erasure))


def scrub_erased(con: duckdb.DuckDBPyConnection, layout: DataLayout,
                 paths: list[Path]) -> int:
    """Remove the lines of erased events from these sealed segments (a replay of an old
    file spools them again; the loader skips them, this takes them out of the archive);
    the ledger follows, recorded as an erasure of kind `scrub`. Lines removed."""
    ids = _erased_before(con)
    if not ids or not paths:
        return 0

    def prefilter(line: bytes) -> bool:
        found = _ID_AT.match(line)
        return bool(found and found.group(1).decode() in ids)

    edits = [e for e in (scan_segment(p, lambda _, obj: str(obj.get("event_id")) in ids,
                                      prefilter) for p in paths) if e is not None]
    if not edits:
        return 0
    erasure = uuid.uuid4().hex
    removed = sum(len(edit.removed) for edit in edits)
    stage_edits(layout, edits, erasure)
    with transaction(con):
        _move_ledger(con, edits)
        con.execute(f"INSERT INTO {ERASURES} VALUES (?, ?, 'scrub', NULL, ?)",
                    [erasure, datetime.now(UTC), orjson.dumps({"spool lines": removed}
                                                              ).decode()])
    finish_edits(layout, lambda _: True)
    log.info("took %d lines of erased events out of %d spool segments", removed, len(edits))
    return removed


def _id_table(ids: set[str]) -> pa.Table:
    import pyarrow as pa  # noqa: PLC0415 - a start-up cost (76 MiB) only erasures need

    return pa.table({"event_id": pa.array(sorted(ids), type=pa.string())})


def cut_time_travel(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Rewrite data files that have deletes, expire every older snapshot, delete the files
    nothing needs: afterwards no file of the lake holds a deleted row. (expired, deleted)"""
    con.execute(f"CALL ducklake_rewrite_data_files({ALIAS!r}, delete_threshold => 0)")
    expired = con.execute(f"CALL ducklake_expire_snapshots({ALIAS!r}, older_than => now())"
                          ).fetchall()
    deleted = con.execute(f"CALL ducklake_cleanup_old_files({ALIAS!r}, cleanup_all => true)"
                          ).fetchall()
    refresh_text_stats(con)
    return len(expired), len(deleted)


def refresh_text_stats(con: duckdb.DuckDBPyConnection) -> None:
    """Table-wide min/max of text columns taken again from the live data files: DuckLake
    keeps the old ones after a delete, and a deleted name or URN would stay in them."""
    meta = f"__ducklake_metadata_{ALIAS}"
    rows = con.execute(
        f"SELECT t.table_id, t.column_id, min(fs.min_value), max(fs.max_value) "
        f"FROM {meta}.ducklake_table_column_stats t JOIN {meta}.ducklake_column c "
        "ON c.table_id = t.table_id AND c.column_id = t.column_id AND c.end_snapshot IS NULL "
        f"LEFT JOIN {meta}.ducklake_data_file df ON df.table_id = t.table_id "
        f"AND df.end_snapshot IS NULL LEFT JOIN {meta}.ducklake_file_column_stats fs "
        "ON fs.data_file_id = df.data_file_id AND fs.column_id = t.column_id "
        "WHERE c.column_type IN ('varchar', 'json') GROUP BY ALL").fetchall()
    con.executemany(f"UPDATE {meta}.ducklake_table_column_stats SET min_value = ?, "
                    "max_value = ? WHERE table_id = ? AND column_id = ?",
                    [[low, high, table, column] for table, column, low, high in rows])


def _vacuum(config: LakeConfig) -> None:
    """Drop freed pages of an embedded catalog (they still hold deleted statistics)."""
    path = config.sqlite_file
    if path is None or not path.exists():
        return
    try:
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        log.warning("cannot vacuum the catalog %s after forgetting: %s", path, exc)


def _committed(con: duckdb.DuckDBPyConnection, erasure: str) -> bool:
    row = con.execute(f"SELECT count(*) FROM {ERASURES} WHERE id = ?", [erasure]).fetchone()
    return bool(row and row[0])


def _erased_before(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Event ids erased earlier: a line or export row left by a crash (or sealed into the
    archive since, from a receiver's open segment) goes now."""
    select = erased_ids_select(con)
    return {str(r[0]) for r in con.execute(select).fetchall()} if select else set()


def _spool_edits(segments: list[Path], target: Target, ids: set[str]) -> list[SegmentEdit]:
    """The segments that hold an erased event or a line naming the target, edited."""
    def prefilter(line: bytes) -> bool:
        found = _ID_AT.match(line)
        return bool(found and found.group(1).decode() in ids) or text_may_match(line, target)

    def goes(line: bytes, obj: dict[str, Any]) -> bool:
        if not obj:  # a torn line: its text decides
            return text_may_match(line, target)
        return str(obj.get("event_id")) in ids or line_matches(obj, target)

    edits = [scan_segment(path, goes, prefilter) for path in segments]
    return [edit for edit in edits if edit is not None]


def _move_ledger(con: duckdb.DuckDBPyConnection, edits: list[SegmentEdit]) -> None:
    """`_spool_ledger` offsets and line counts of rewritten segments, moved with them."""
    for edit in edits:
        name = edit.path.name
        rows = con.execute("SELECT * FROM _spool_ledger WHERE segment = ?", [name]).fetchall()
        if not rows:
            continue
        moved = [[r[0], *edit.moved(int(r[1]), int(r[2])), *r[3:]] for r in rows]
        con.execute("DELETE FROM _spool_ledger WHERE segment = ?", [name])
        con.executemany("INSERT INTO _spool_ledger VALUES (?, ?, ?, ?, ?, ?)", moved)


def _export_counts(layout: DataLayout, ids: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for day, table, path in export_files(layout):
        found = rows_with_ids(path, ids)
        if found:
            counts[f"{day.isoformat()}/{table}"] = found
    return counts


def _erase_files(layout: DataLayout, ids: set[str], quarantined: list[Path]) -> None:
    """Quarantined files and export rows of the erased events."""
    for path in quarantined:
        path.unlink(missing_ok=True)
    new_rows: dict[tuple[str, str], int] = {}
    for day, table, path in export_files(layout):
        if rows_with_ids(path, ids):
            new_rows[(day.isoformat(), table)] = rewrite_export(path, ids)
    if not new_rows:
        return

    def change(dates: dict[str, dict[str, dict[str, int]]]) -> None:
        for (day, table), rows in new_rows.items():
            dates[day][table]["rows"] = rows

    update_manifest(layout, change)
