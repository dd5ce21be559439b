"""Staging files the lake takes as they are, instead of copying their rows.

When every row a chunk staged for a table is new, its Parquet files become data files of
that table (DuckLake's ducklake_add_data_files), inside the load transaction: they commit
with the chunk's other rows and its spool position, or not at all. Copying the rows was
about 40% of the loader's CPU in a 1M-event batch.

- only for a lake on this machine's file system (an `s3://` lake is copied into, as
  before), and only where a staging file can get a second name beside the table's own
  files (the same file system);
- a file is linked, not moved: the loader still reads it under its staging name, which is
  removed once the chunk commits, as before. The lake's name is `<date>-<chunk>.parquet`;
- a link whose transaction does not commit is removed (`discard`). One a kill leaves
  behind is in no snapshot, so no reader sees it; `genius-wh maintain` deletes such files a
  day later (`ORPHANS_AFTER`);
- the files must have the lake's own column types, which the transform writes
  (transform/lake.py): JSON as Parquet's JSON type, a column of nulls as BOOLEAN; and all of
  the table's columns (a `session_recorddata` chunk without some of the lake's fields is
  copied: DuckLake 1.5.5 counts a column a file lacks as non-null, see loader._same_types).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final

import duckdb

from genius_wh.durable import link_durably
from warehouse.lakehouse import ALIAS

#: Files in the lake's folder that no snapshot references are deleted this long after they
#: were written (never sooner: another loader's open transaction may be writing them).
ORPHANS_AFTER: Final = timedelta(days=1)


class Adopter:
    """Hands staging files to the lake in one open transaction; remembers its links."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        row = con.execute(f"SELECT data_path FROM ducklake_settings({ALIAS!r})").fetchone()
        data_path = str(row[0]) if row and row[0] else ""
        # where DuckLake writes the tables of the schema `main` itself
        self.root = Path(data_path) / "main" if data_path and "://" not in data_path else None
        self.links: list[Path] = []  # made in the open transaction

    def adopt(self, table: str, files: list[str]) -> bool:
        """Make these staging files data files of `table`. False, with nothing done, when
        they must be copied instead (a remote lake, another file system)."""
        if self.root is None or not files:
            return False
        links: list[Path] = []
        try:
            for name in files:
                source = Path(name)
                day = source.parent.name.removeprefix("date=")
                links.append(link_durably(source, self.root / table / f"{day}-{source.name}"))
        except OSError:
            for link in links:
                link.unlink(missing_ok=True)
            return False
        self.links.extend(links)
        for link in links:  # each file has all of the table's columns (never allow_missing)
            self.con.execute(f"CALL ducklake_add_data_files({ALIAS!r}, ?, ?)",
                             [table, str(link)])
        return True

    def committed(self) -> None:
        """The links made so far are the lake's now."""
        self.links = []

    def discard(self) -> None:
        """The transaction did not commit: remove the links it made."""
        for link in self.links:
            link.unlink(missing_ok=True)
        self.links = []


def delete_orphans(con: duckdb.DuckDBPyConnection, now_minus: timedelta = ORPHANS_AFTER,
                   ) -> int:
    """Delete the lake's files that no snapshot references, written `now_minus` ago or
    earlier (a staging file adopted by a batch that was killed before its commit)."""
    deleted = con.execute(f"CALL ducklake_delete_orphaned_files({ALIAS!r}, "
                          "older_than => now() - ?)", [now_minus]).fetchall()
    return len(deleted)
