"""Helpers for warehouse tests: real data dirs, real spool segments, real DuckDB files."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from genius_wh.layout import DataLayout
from genius_wh.records import encode_record, make_record
from genius_wh.settings import Settings, load_settings

_SEQ = itertools.count(1)
BASE_TIME = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test data directory."""
    return load_settings(data_dir=data_dir, **overrides)


def session_ended(n: int, *, recorddata: Any = None, campaign: str = "Outbound_Test",
                  **fields: Any) -> dict[str, Any]:
    """A SessionEnded body like the vendor's example (event object under `session`)."""
    session: dict[str, Any] = {
        "campaign": campaign, "agent": f"agent{n % 7}", "urn": f"urn-{n}",
        "telnumber": f"0797{n:07d}", "diallerresult": 10, "agentresult": 205,
        "calltype": 3, "timestamplaunched": "2021-07-06T10:09:07.2924254+01:00",
        "timestampconnected": "2021-07-06T10:09:14.0229213+01:00",
        "timestampdisconnected": "2021-07-06T10:09:17.5331582+01:00",
        "timestampsessionended": "2021-07-06T10:09:19.7173036+01:00",
        "talktime": 3.51, "wrapptime": 2.18, "holdtime": 0, "ringtime": 3.12,
        "queuetime": 0, "queuenumber": 0, "CLI": "01412800275", "ID": 100000 + n,
        "recorddata": recorddata if recorddata is not None else {"URN": f"test-{n}"},
    }
    session.update(fields)
    return {"action": "SessionEnded", "timestamp": "2021-07-06T10:09:20+01:00",
            "session": session}


def agent_activity(n: int) -> dict[str, Any]:
    """An AgentActivity body."""
    return {"action": "AgentActivity", "timestamp": "2021-07-06T10:09:20+01:00",
            "agentactivity": {
                "campaign": "Outbound_Test", "agent": f"agent{n % 5}", "extension": "7002",
                "queue": 67182, "agentstate": n % 8, "previousstate": (n + 1) % 8,
                "timestampcurrentstate": "2021-07-06T10:09:20.1+01:00",
                "timestamppreviousstate": "2021-07-06T10:08:20.1+01:00",
                "breakreason": 0, "seq": n}}


def queue_info(n: int) -> dict[str, Any]:
    """A QueueInfo body."""
    return {"action": "QueueInfo", "timestamp": "2021-07-06T10:09:20+01:00",
            "queueinfo": {"campaign": "Inbound", "queuenumber": 5, "queuename": "Sales",
                          "callsinqueue": n % 4, "oldestcall": "2021-07-06T10:09:00+01:00",
                          "averageanswer": 12.5, "averageanswer5mins": 10.0,
                          "totalcalls": n, "totalabandoned": n // 10}}


def card_payment(n: int) -> dict[str, Any]:
    """A CardPayment body."""
    return {"action": "CardPayment", "timestamp": "2021-07-06T10:09:20+01:00",
            "CardPayment": {"campaign": "Outbound_Test", "agent": "katest",
                            "timestamp": "2021-07-06T10:09:20+01:00", "urn": f"urn-{n}",
                            "cardtype": "Visa Debit", "cardholder": "J Bloggs",
                            "last4digits": 9030, "amount": 1000 + n, "currency": "GBP",
                            "result": "Success"}}


def mixed_bodies(count: int, start: int = 0) -> list[dict[str, Any]]:
    """A realistic mix of all four actions."""
    makers = (session_ended, agent_activity, queue_info, card_payment)
    return [makers[n % 4](n) for n in range(start, start + count)]


def write_segment(data_dir: Path, bodies: list[dict[str, Any]], *,
                  received_at: datetime | None = None, folder: str = "ready") -> Path:
    """Write bodies as one sealed spool segment (spool/ready by default)."""
    layout = DataLayout(root=data_dir).ensure()
    moment = received_at or BASE_TIME
    name = f"{moment.strftime('%Y%m%dT%H%M%S%f')}-test-{os.getpid()}-{next(_SEQ):06d}.jsonl"
    target = (layout.spool_ready if folder == "ready" else layout.spool_open) / name
    lines = [encode_record(make_record(body, received_at=moment + timedelta(milliseconds=i),
                                       source="127.0.0.1"))
             for i, body in enumerate(bodies)]
    target.write_bytes(b"".join(lines))
    return target


def query(data_dir: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run SQL through the readers' entry point (newest snapshot)."""
    from warehouse import connect

    with connect(data_dir) as con:
        return con.execute(sql, params or []).fetchall()


def event_rows(data_dir: Path) -> int:
    """Rows in the four event tables that mixed_bodies' actions land in."""
    union = " UNION ALL ".join(f"SELECT count(*) FROM {table}" for table in
                               ("session_ended", "agent_activity", "queue_info", "card_payment"))
    return sum(int(count) for (count,) in query(data_dir, union))


def table_rows(data_dir: Path, table: str, key: str = "event_id") -> list[tuple[Any, ...]]:
    """Every row of a warehouse table (read as readers do), sorted by key, columns by name."""
    from warehouse import connect

    with connect(data_dir) as con:
        cols = sorted(r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_catalog = current_database()", [table]).fetchall())
        select = ", ".join(f'"{c}"' for c in cols)
        return con.execute(f'SELECT {select} FROM "{table}" ORDER BY "{key}"').fetchall()


def run_cli(data_dir: Path, *args: str, timeout: float = 60,
            env: dict[str, str] | None = None,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `genius-wh` in a subprocess (env: extra environment variables)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False,
        env={**os.environ, **(env or {})}, input=input_text)


class PythonChild:
    """A Python subprocess that runs `setup`, prints `ready`, then answers one line of
    output per line of input by evaluating `step` (for readers and lock holders)."""

    def __init__(self, setup: str, step: str) -> None:
        code = (f"import sys\n{setup}\nprint('ready', flush=True)\n"
                f"for _line in sys.stdin:\n    print(repr({step}), flush=True)\n")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, cwd=REPO)
        assert self.readline() == "ready"

    def readline(self) -> str:
        """One line of the child's output."""
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def ask(self) -> str:
        """Evaluate `step` once in the child and return its repr."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return self.readline()

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def stop(self) -> None:
        """Close its input and wait for it to end."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
