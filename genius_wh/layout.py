"""Folder names under the data directory: the one place every stage takes them from.

The folder a file sits in is its state:

- `spool/open/`     segments a receiver process is appending to (held with an flock)
- `spool/ready/`    sealed segments waiting for a batch
- `spool/working/<chunk_id>/`  segments claimed by a batch chunk
- `spool/archive/<YYYY-MM-DD>/` segments fully loaded (kept for `rebuild`)
- `quarantine/`     raw bodies and spool lines that could not be taken in, byte for byte
- `staging/<table>/date=YYYY-MM-DD/<chunk_id>.jsonl`  a chunk's typed rows as JSON lines,
  from the transform until its load commits (then removed), and beside it the `.parquet`
  the loader converts it to
- `.erase-journal.json`  an erasure's files still to rewrite (warehouse/erasefiles.py)
- `catalog.sqlite`  the DuckLake catalog (default setting `catalog`)
- `lake/`           the DuckLake's Parquet data files (default setting `lake_path`)
- `exports/<table>/date=YYYY-MM-DD/<table>.parquet`  nightly exports
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genius_wh.durable import private_dir

CATALOG_FILE = "catalog.sqlite"
SEGMENT_SUFFIX = ".jsonl"
ERASE_JOURNAL = ".erase-journal.json"
STAGING_SUFFIX = ".jsonl"  # a chunk's staging file as the transform writes it


@dataclass(frozen=True, kw_only=True)
class DataLayout:
    """Paths of every folder under one data directory."""

    root: Path

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def spool_open(self) -> Path:
        return self.spool / "open"

    @property
    def spool_ready(self) -> Path:
        return self.spool / "ready"

    @property
    def spool_working(self) -> Path:
        return self.spool / "working"

    @property
    def spool_archive(self) -> Path:
        return self.spool / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_FILE

    @property
    def legacy_warehouse(self) -> Path:
        """The warehouse file of the layout before DuckLake (migrated by `rebuild`)."""
        return self.root / "warehouse.duckdb"

    @property
    def batch_lock(self) -> Path:
        return self.root / ".batch.lock"

    def ensure(self) -> DataLayout:
        """Create every folder (idempotent) and return self."""
        for path in (self.spool_open, self.spool_ready, self.spool_working,
                     self.spool_archive, self.quarantine, self.staging, self.exports):
            private_dir(path)
        return self
