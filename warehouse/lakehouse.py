"""Opening the DuckLake warehouse: its catalog and data path from Settings, the extensions
from their wheels, the ATTACH statement every client uses.

- catalog: the embedded SQLite file `DATA_DIR/catalog.sqlite` by default, or
  `postgres:<libpq connection string>` (several machines share one warehouse);
- data: `DATA_DIR/lake/` by default, or `s3://bucket/prefix/` with the standard AWS_*
  environment variables;
- the extensions come from the pinned `duckdb-extension-*` wheels (DuckDB cannot download
  them on a closed network): LOAD by path, signatures checked as usual;
- data inlining is off: small commits write Parquet files, `maintain` merges them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final
from urllib.parse import urlparse

import duckdb
import psycopg

from genius_wh.layout import DataLayout
from genius_wh.settings import Settings
from warehouse.errors import WarehouseError
from warehouse.sql import literal

#: The name the warehouse is attached under in every connection.
ALIAS: Final = "wh"
#: How long a SQLite catalog waits for a lock (ms) before a commit fails.
BUSY_TIMEOUT_MS: Final = 30_000
_POSTGRES: Final = "postgres:"


class WarehouseUnavailable(WarehouseError):
    """The warehouse's catalog or data cannot be opened; the message says what to do."""


@dataclass(frozen=True, kw_only=True)
class LakeConfig:
    """Where one warehouse lives: its catalog and its data path."""

    catalog: str  # "sqlite:<path>" or "postgres:<conninfo>"
    data_path: str  # a local folder ending in "/" or "s3://bucket/prefix/"
    spill_dir: str | None = None  # where a writer's DuckDB spills (private, in the data dir)

    @property
    def shared(self) -> bool:
        """True when several machines may write (a PostgreSQL catalog)."""
        return self.catalog.startswith(_POSTGRES)

    @property
    def on_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded catalog file, or None for a PostgreSQL catalog."""
        return None if self.shared else Path(self.catalog.removeprefix("sqlite:"))

    @property
    def postgres_dsn(self) -> str:
        return self.catalog.removeprefix(_POSTGRES)


def lake_config(settings: Settings) -> LakeConfig:
    """The LakeConfig of these settings (defaults under the data dir)."""
    layout = DataLayout(root=settings.data_dir)
    catalog = settings.catalog.strip()
    if not catalog:
        catalog = f"sqlite:{layout.catalog.resolve()}"
    elif not catalog.startswith(_POSTGRES):
        raise WarehouseUnavailable(f"catalog {catalog!r}: use empty (embedded) or "
                                   "postgres:<connection string>")
    data_path = settings.lake_path.strip() or str(layout.lake.resolve())
    if not data_path.startswith("s3://"):
        data_path = str(Path(data_path).resolve())
    return LakeConfig(catalog=catalog, data_path=data_path.rstrip("/") + "/",
                      spill_dir=str((layout.root / ".spill").resolve()))


def extension_path(name: str) -> Path:
    """The .duckdb_extension file of the pinned wheel `duckdb-extension-<name>`."""
    module = "duckdb_extension_" + name.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseUnavailable(f"the {module} package is missing; run `make install`")
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise WarehouseUnavailable(f"{path} is missing: the duckdb-extension-{name} wheel does "
                                   f"not match duckdb {duckdb.__version__}; run `make install`")
    return path


def extensions(config: LakeConfig) -> list[str]:
    """The extensions a connection to this warehouse needs."""
    names = ["ducklake", "postgres_scanner" if config.shared else "sqlite_scanner"]
    return names + (["httpfs"] if config.on_s3 else [])


def attach_sql(config: LakeConfig, *, read_only: bool, as_of: datetime | None = None,
               create: bool = False) -> str:
    """The ATTACH statement of this warehouse (what any DuckDB client runs).

    The data path is always given, and overrides the one the catalog was created with: the
    catalog keeps it as an absolute path, so a data dir moved or restored elsewhere would
    otherwise go on reading, writing and deleting files in the old place (its files are
    kept relative to the data path).
    """
    options = [f"DATA_PATH {literal(config.data_path)}"]
    if not create:
        options.append("OVERRIDE_DATA_PATH true")
    if not read_only:
        options.append("DATA_INLINING_ROW_LIMIT 0")  # not kept by the catalog: every time
    if not config.shared:
        options += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {BUSY_TIMEOUT_MS}"]
    if read_only:
        options.append("READ_ONLY")
    if as_of is not None:
        options.append(f"SNAPSHOT_TIME {literal(as_of.isoformat())}")
    kind = "postgres:" + config.postgres_dsn if config.shared else config.catalog
    return f"ATTACH {literal('ducklake:' + kind)} AS {ALIAS} ({', '.join(options)})"


def _spill_to(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    """Point DuckDB's spill files at `folder`, unless they already go there: once a process
    has spilled, DuckDB refuses any SET temp_directory, even to the same folder."""
    row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    if row is None or Path(str(row[0])) != Path(folder):
        con.execute(f"SET temp_directory = {literal(folder)}")


def s3_secret_sql() -> str | None:
    """CREATE SECRET for s3:// data from the standard AWS_* variables (None without keys)."""
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    if not key:
        return None
    parts = [f"KEY_ID {literal(key)}",
             f"SECRET {literal(os.environ.get('AWS_SECRET_ACCESS_KEY', ''))}",
             f"REGION {literal(os.environ.get('AWS_REGION', 'us-east-1'))}"]
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        url = urlparse(endpoint)
        parts += [f"ENDPOINT {literal(url.netloc or url.path)}", "URL_STYLE 'path'",
                  f"USE_SSL {'true' if url.scheme == 'https' else 'false'}"]
    return f"CREATE OR REPLACE SECRET genius_wh_s3 (TYPE s3, {', '.join(parts)})"


def setup_statements(config: LakeConfig) -> list[str]:
    """Everything a bare DuckDB connection runs before ATTACH."""
    statements = [f"LOAD {literal(str(extension_path(name)))}" for name in extensions(config)]
    secret = s3_secret_sql() if config.on_s3 else None
    return statements + ([secret] if secret else [])


def skip_pandas_probe() -> None:
    """Where pandas is not installed, make DuckDB's look for it fail at once: it tries to
    import pandas on every execute() with parameters, and each failed import searches the
    whole sys.path again (0.8 s of a 2,000-event batch, measured)."""
    if any(isinstance(f, _NoPandas) for f in sys.meta_path) or "pandas" in sys.modules:
        return
    if importlib.util.find_spec("pandas") is None:
        sys.meta_path.insert(0, _NoPandas())


class _NoPandas(importlib.abc.MetaPathFinder):
    """Answers `import pandas` with ModuleNotFoundError without searching sys.path."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "pandas":
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")


def open_lake(config: LakeConfig, *, read_only: bool, as_of: datetime | None = None,
              ) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the warehouse attached as `wh` and in use.

    A writer creates an empty warehouse when there is none yet.
    """
    skip_pandas_probe()
    con = _writer_base(config).cursor() if not read_only and as_of is None else _bare(config)
    try:
        if not read_only:
            con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")  # a writer's earlier attach
            if config.spill_dir is not None:  # not ./.tmp of whatever the working folder is
                _spill_to(con, config.spill_dir)
        if read_only and not _exists(config):
            raise WarehouseUnavailable(_missing_message(config))
        create = not read_only and (config.shared or not _exists(config))
        if create and config.sqlite_file is not None:
            config.sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        con.execute(attach_sql(config, read_only=read_only, as_of=as_of, create=create))
        con.execute(f"USE {ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise WarehouseUnavailable(
            f"cannot open the warehouse (catalog {display_catalog(config)}): {exc}; if the catalog "
            "or lake was lost or damaged, `genius-wh rebuild` builds it again from the spool "
            "archive") from exc
    except BaseException:
        con.close()
        raise
    return con


#: One DuckDB instance per process for writers, its extensions loaded once: LOAD checks
#: each extension's signature, 0.6 s together, which a batch every few seconds would pay
#: every time. Each writer attaches the warehouse afresh (20 ms), so no catalog state is
#: carried from one batch to the next.
_WRITER_BASES: dict[tuple[str, ...], duckdb.DuckDBPyConnection] = {}


def _bare(config: LakeConfig, *, writer: bool = False) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the warehouse's extensions (and S3 secret) loaded.

    A writer's keeps no insertion order: its tables are sets, and the lake's row groups
    close at a size in bytes (schema.LAKE_OPTIONS), which DuckDB refuses otherwise."""
    options: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False}
    if writer:
        options["preserve_insertion_order"] = False
    con = duckdb.connect(config=options)
    try:
        for statement in setup_statements(config):
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def _writer_base(config: LakeConfig) -> duckdb.DuckDBPyConnection:
    key = tuple(setup_statements(config))
    base = _WRITER_BASES.get(key)
    if base is None:
        base = _WRITER_BASES[key] = _bare(config, writer=True)
    return base


def detach(con: duckdb.DuckDBPyConnection) -> None:
    """Detach the warehouse now (a writer's SQLite catalog is closed and checkpointed), so
    the catalog file can be renamed."""
    con.execute("USE memory")
    con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")


def _exists(config: LakeConfig) -> bool:
    """Whether the catalog holds a warehouse already."""
    path = config.sqlite_file
    if path is not None:
        return path.is_file() and path.stat().st_size > 0
    try:
        with psycopg.connect(config.postgres_dsn, connect_timeout=10) as conn:
            row = conn.execute("SELECT to_regclass('ducklake_metadata') IS NOT NULL").fetchone()
    except psycopg.Error as exc:
        raise WarehouseUnavailable(f"cannot reach the catalog {display_catalog(config)}: "
                                   f"{exc}") from exc
    return bool(row and row[0])


def _missing_message(config: LakeConfig) -> str:
    return (f"no warehouse at {display_catalog(config)} yet: run `genius-wh batch` (it "
            "creates one), or `genius-wh rebuild` to build it from the spool archive")


def display_catalog(config: LakeConfig) -> str:
    """The catalog for messages, without a password."""
    if not config.shared:
        return config.catalog.removeprefix("sqlite:")
    if "://" in config.postgres_dsn:  # postgresql://user:password@host/db
        return "postgres:" + re.sub(r"(://[^:@/]*):[^@/]*@", r"\1@", config.postgres_dsn)
    words = [w for w in config.postgres_dsn.split() if not w.lower().startswith("password")]
    return "postgres:" + " ".join(words)


def reader_script(config: LakeConfig) -> str:
    """The statements with which a DuckDB client of the pinned version reads the warehouse."""
    return ";\n".join([*setup_statements(config), attach_sql(config, read_only=True),
                        f"USE {ALIAS}"]) + ";"


def duckdb_cli() -> str:
    """The DuckDB command line of the pinned version (the duckdb-cli wheel)."""
    beside = Path(sys.executable).parent / "duckdb"
    found = str(beside) if beside.is_file() else shutil.which("duckdb")
    if found is None:
        raise WarehouseUnavailable("the DuckDB command line is missing; run `make install`")
    return found
