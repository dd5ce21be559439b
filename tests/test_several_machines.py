"""Past one machine (#8 point 7): data dirs on two "machines" share one warehouse, its
catalog on a real PostgreSQL and its data files on a real S3 store (SeaweedFS), both from
wheels in .venv. Their loaders run at the same time and get killed -9 in the middle;
redeliveries sent to both end as one row, and a reader on a third machine sees it all."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from receiver_support import wait_until
from servers_support import Postgres, S3Store
from warehouse_support import REPO, mixed_bodies, write_segment

from genius_wh.layout import DataLayout
from genius_wh.settings import Settings, load_settings
from warehouse import connect
from warehouse.lakehouse import WarehouseUnavailable, lake_config, setup_statements

#: The table each of mixed_bodies' four actions lands in (body n has action n % 4).
TABLES = ("session_ended", "agent_activity", "queue_info", "card_payment")
#: Events in machine A's backlog per round of the kill test (a load of ~1-3 s here).
BACKLOG = 20_000


@dataclass(frozen=True)
class SharedWarehouse:
    """One warehouse for several machines: a PostgreSQL catalog and an s3:// lake path."""

    catalog: str
    lake_path: str
    aws: dict[str, str]

    def settings(self, data_dir: Path, **overrides: Any) -> Settings:
        """The settings of one machine's data dir (AWS_* come from the environment)."""
        return load_settings(data_dir=data_dir, catalog=self.catalog,
                             lake_path=self.lake_path, **overrides)

    def env(self, **settings: str) -> dict[str, str]:
        """The environment of a `genius-wh` process on one of the machines."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENIUS_WH_")}
        env.update(self.aws, GENIUS_WH_CATALOG=self.catalog, GENIUS_WH_LAKE_PATH=self.lake_path)
        env.update({f"GENIUS_WH_{k.upper()}": v for k, v in settings.items()})
        return env


@pytest.fixture
def shared(postgres_server: Postgres, s3_store: S3Store,
           monkeypatch: pytest.MonkeyPatch) -> SharedWarehouse:
    """A fresh warehouse on the session's servers: a new database, a new bucket prefix."""
    for name, value in s3_store.env().items():
        monkeypatch.setenv(name, value)  # for connect() in this process
    return SharedWarehouse(catalog="postgres:" + postgres_server.create_database(),
                           lake_path=f"s3://{s3_store.bucket}/{uuid.uuid4().hex[:8]}/",
                           aws=s3_store.env())


class Loader:
    """`genius-wh batch` of one machine in a subprocess (its own process group, so kill -9
    takes its transform workers too, as a machine's crash would)."""

    def __init__(self, data_dir: Path, shared: SharedWarehouse, **settings: str) -> None:
        self.data_dir = data_dir
        self.log = data_dir.parent / f"{data_dir.name}-batch-{uuid.uuid4().hex[:6]}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "orchestration", "--data-dir", str(data_dir), "batch"],
                cwd=REPO, env=shared.env(**settings), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def kill_9(self) -> bool:
        """SIGKILL the loader and its workers; False when it had already finished."""
        if self.proc.poll() is not None:
            return False
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        return True

    def finish(self) -> str:
        """Wait for a clean exit and return its output."""
        code = self.proc.wait(timeout=120)
        output = self.log.read_text()
        assert code == 0, f"batch of {self.data_dir.name} exited {code}:\n{output[-3000:]}"
        return output


def loading(loader: Loader) -> bool:
    """True once the loader's chunk is transformed and staged (it holds the writer lock
    and loads or commits), or once it has finished."""
    if loader.proc.poll() is not None:
        return True
    try:
        return any(DataLayout(root=loader.data_dir).staging.rglob("*.parquet"))
    except FileNotFoundError:  # the loader is clearing what a killed one staged
        return False


def load_at_once(shared: SharedWarehouse, *data_dirs: Path) -> list[str]:
    """Both machines' loaders started together; their outputs once both have finished."""
    loaders = [Loader(data_dir, shared) for data_dir in data_dirs]
    return [loader.finish() for loader in loaders]


def redelivered(body: dict[str, Any]) -> dict[str, Any]:
    """The same event delivered again by the vendor (to the other machine): a new envelope
    timestamp around the identical event object."""
    return {**body, "timestamp": "2021-07-06T10:12:45+01:00"}


def segment(data_dir: Path, bodies: list[dict[str, Any]]) -> None:
    """Spool bodies as received now (as a receiver on that machine would)."""
    write_segment(data_dir, bodies, received_at=datetime.now(UTC))


def expected_rows(numbers: set[int]) -> dict[str, int]:
    """Rows per table for the distinct mixed_bodies numbers that were sent."""
    per_action = Counter(n % 4 for n in numbers)
    return {table: per_action[k] for k, table in enumerate(TABLES)}


def assert_exactly_once(settings: Settings, numbers: set[int]) -> None:
    """Every event sent is one row, and nothing else is there (read from `settings`)."""
    with connect(settings=settings) as con:
        found = {table: con.execute(
            f"SELECT count(*), count(DISTINCT event_id) FROM {table}").fetchone()
            for table in (*TABLES, "session_recorddata")}
    expected = expected_rows(numbers)
    expected["session_recorddata"] = expected["session_ended"]
    assert found == {table: (n, n) for table, n in expected.items()}


def assert_spool_loaded(*data_dirs: Path) -> None:
    """Nothing left to load on any machine: every segment moved to the archive."""
    for data_dir in data_dirs:
        layout = DataLayout(root=data_dir)
        left = [*layout.spool_ready.iterdir(), *layout.spool_working.iterdir()]
        assert left == [], f"{data_dir.name} still has {left}"


def test_two_machines_load_at_once_and_redeliveries_to_both_are_one_row(
        tmp_path: Path, shared: SharedWarehouse) -> None:
    a, b, analyst = tmp_path / "machine-a", tmp_path / "machine-b", tmp_path / "analyst"
    sent: set[int] = set()
    for round_ in range(3):
        fresh = mixed_bodies(400, start=round_ * 400)
        again = mixed_bodies(100, start=max(0, round_ - 1) * 400)  # loaded last round
        own = mixed_bodies(60, start=100_000 + round_ * 60)  # only B gets these
        segment(a, fresh + again)
        segment(b, [redelivered(body) for body in fresh[::2] + again] + own)
        segment(b, [redelivered(body) for body in fresh[1::3]])
        load_at_once(shared, a, b)
        sent |= set(range(round_ * 400, round_ * 400 + 400))
        sent |= set(range(100_000 + round_ * 60, 100_000 + round_ * 60 + 60))
        assert_exactly_once(shared.settings(analyst), sent)
    assert_spool_loaded(a, b)


def test_kill_9_of_one_loader_while_the_other_loads_leaves_every_event_exactly_once(
        tmp_path: Path, shared: SharedWarehouse) -> None:
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    sent: set[int] = set()
    kills: list[str] = []
    # round 0 kills A at a random moment; round 1 kills B once its load has begun (its
    # transformed chunk is staged: it holds the catalog's writer lock, and is loading or
    # committing); the rerun of both finishes what the killed loaders left
    for round_, victim in enumerate((a, b)):
        first = round_ * BACKLOG
        bodies = mixed_bodies(BACKLOG, start=first)
        for n in range(0, BACKLOG, 4_000):
            segment(a, bodies[n:n + 4_000])
        segment(b, [redelivered(body) for body in bodies[::3]])  # the same events again
        segment(b, mixed_bodies(2_000, start=500_000 + round_ * 2_000))  # and its own
        sent |= set(range(first, first + BACKLOG))
        sent |= set(range(500_000 + round_ * 2_000, 500_000 + round_ * 2_000 + 2_000))
        loaders = {data_dir: Loader(data_dir, shared) for data_dir in (a, b)}
        if round_ == 1:
            wait_until(partial(loading, loaders[b]), timeout=60, what="B's load to begin")
        time.sleep(rng.uniform(0.0, 0.3) if round_ else rng.uniform(0.5, 2.0))
        if loaders[victim].kill_9():
            kills.append(victim.name)
        loaders[a if victim == b else b].finish()
    assert kills, f"both victims had finished before their kill (seed {seed})"
    load_at_once(shared, a, b)
    assert_spool_loaded(a, b)
    assert_exactly_once(shared.settings(tmp_path / "analyst"), sent)


def test_data_files_are_objects_in_the_bucket_and_none_on_local_disk(
        tmp_path: Path, shared: SharedWarehouse) -> None:
    machine = tmp_path / "machine-a"
    segment(machine, mixed_bodies(200))
    load_at_once(shared, machine)
    settings = shared.settings(machine)
    config = lake_config(settings)
    assert config.on_s3 and config.shared
    with duckdb.connect(config={"autoinstall_known_extensions": False,
                                "autoload_known_extensions": False}) as con:
        for statement in setup_statements(config):  # the product's httpfs and S3 secret
            con.execute(statement)
        objects = {row[0] for row in con.execute(
            "SELECT file FROM glob(?)", [shared.lake_path + "**"]).fetchall()}
    with connect(settings=settings) as con:
        listed = {row[0] for table in (*TABLES, "session_recorddata") for row in con.execute(
            "SELECT data_file FROM ducklake_list_files('wh', ?)", [table]).fetchall()}
    assert len(listed) >= len(TABLES) + 1  # every table has data files
    assert all(path.startswith(shared.lake_path) for path in listed)
    assert listed <= objects  # each one is an object in the S3 store
    local = [p for p in tmp_path.rglob("*") if p.suffix == ".parquet"]
    assert local == [], "data files on local disk"
    assert not DataLayout(root=machine).lake.exists() or not any(
        DataLayout(root=machine).lake.iterdir())
    assert not DataLayout(root=machine).catalog.exists()  # no embedded catalog either


def test_two_receivers_with_their_schedulers_share_the_warehouse(
        tmp_path: Path, shared: SharedWarehouse, receiver_factory: Any) -> None:
    settings = {"catalog": shared.catalog, "lake_path": shared.lake_path,
                "batch_interval_seconds": "2"}
    a, b = (receiver_factory(tmp_path / name, scheduler=True, **settings)
            for name in ("machine-a", "machine-b"))
    bodies = mixed_bodies(40)
    deliveries = [(a, body) for body in bodies] + [
        (b, redelivered(body)) for body in bodies[::3]] + [
        (b, body) for body in mixed_bodies(20, start=1_000)]  # B's own events
    for receiver, body in deliveries:
        status, answer = receiver.post(orjson.dumps(body))
        assert status == 200, answer
    analyst = shared.settings(tmp_path / "analyst")
    sent = set(range(40)) | set(range(1_000, 1_020))

    held: list[duckdb.DuckDBPyConnection] = []  # one reader, like a notebook left open

    def all_loaded() -> bool:
        try:
            if not held:
                held.append(connect(settings=analyst))
            rows = [held[0].execute(f"SELECT count(*) FROM {table}").fetchone()
                    for table in TABLES]
        except (WarehouseUnavailable, duckdb.Error):  # no warehouse or no tables yet
            while held:
                held.pop().close()
            time.sleep(0.5)
            return False
        time.sleep(0.2)
        return sum(row[0] for row in rows if row) >= len(sent)

    wait_until(all_loaded, timeout=90, what="both schedulers' batches")
    held[0].close()
    assert_exactly_once(analyst, sent)
    for receiver in (a, b):  # stop both at once (the factory then waits for each)
        receiver.proc.send_signal(signal.SIGTERM)
