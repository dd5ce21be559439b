"""`genius-wh replay`: re-ingest JSON-lines files through the same durable spool writer.

Each line is either a spool record (it has "v" and "body": kept with its event_id, received_at
and source) or one webhook body (parsed like an HTTP body; received now, source "replay").
A line that is neither goes to quarantine/ with its file, line number and reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.progress import Progress

from genius_wh.cards import mask_record
from genius_wh.layout import DataLayout
from genius_wh.records import (
    BadBody,
    SpoolRecord,
    check_bounds,
    decode_record,
    encode_record,
    make_record,
    parse_body,
)
from genius_wh.settings import Settings
from ingest import quarantine
from ingest.spool import SpoolWriter

log = logging.getLogger("genius_wh.ingest.replay")

COMMIT_LINES = 2000
REPLAY_SOURCE = "replay"

_Advance = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class ReplayReport:
    """How many lines were spooled and how many were quarantined."""

    accepted: int
    quarantined: int


def replay_files(settings: Settings, paths: list[Path], *, progress: bool) -> ReplayReport:
    """Spool every line of `paths` durably, then seal the segment for the next batch."""
    layout = DataLayout(root=settings.data_dir).ensure()
    writer = SpoolWriter(layout, segment_bytes=settings.spool_segment_bytes,
                         segment_seconds=float("inf")).start()
    accepted = quarantined = 0
    try:
        with _progress_bar(paths, enabled=progress) as advance:
            for path in paths:
                ok, bad = _replay_file(path, settings, writer, advance)
                accepted, quarantined = accepted + ok, quarantined + bad
    finally:
        writer.close()
    return ReplayReport(accepted=accepted, quarantined=quarantined)


def _replay_file(path: Path, settings: Settings, writer: SpoolWriter,
                 advance: _Advance) -> tuple[int, int]:
    """Spool one file in groups of COMMIT_LINES; returns (accepted, quarantined)."""
    pending: list[bytes] = []
    accepted = quarantined = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            advance(len(line))
            if not line.strip():
                continue
            encoded = _spool_line(line, path, number, settings)
            if encoded is None:
                quarantined += 1
                continue
            pending.append(encoded)
            if len(pending) >= COMMIT_LINES:
                writer.append(b"".join(pending))
                accepted, pending = accepted + len(pending), []
    if pending:
        writer.append(b"".join(pending))
    return accepted + len(pending), quarantined


def _spool_line(line: bytes, path: Path, number: int, settings: Settings) -> bytes | None:
    """The spool line for one input line, or None after quarantining it."""
    try:
        return encode_record(to_record(line, received_at=datetime.now(UTC), settings=settings))
    except BadBody as exc:
        reason = f"{path.name} line {number}: {exc}"
        kept = quarantine.keep(DataLayout(root=settings.data_dir), line, reason=reason,
                               source=REPLAY_SOURCE, origin=str(path))
        log.warning("%s (kept in quarantine/%s)", reason, kept.name)
        return None


def to_record(line: bytes, *, received_at: datetime, settings: Settings) -> SpoolRecord:
    """A spool record from one replayed line: kept as it was, or made from a webhook body.

    Raises BadBody, also for a body past `max_json_depth` or `max_recorddata_fields`.
    """
    body, repaired = parse_body(line.rstrip(b"\r\n"))
    kept = "v" in body and isinstance(body.get("body"), dict)
    check_bounds(body["body"] if kept else body, max_json_depth=settings.max_json_depth,
                 max_recorddata_fields=settings.max_recorddata_fields)
    if kept:
        return mask_record(_kept_record(body))[0]
    return mask_record(make_record(body, received_at=received_at, source=REPLAY_SOURCE,
                                   original=line.rstrip(b"\r\n") if repaired else None))[0]


def _kept_record(obj: dict[str, object]) -> SpoolRecord:
    """Check a spool record read back from an archive; raises BadBody when it is damaged."""
    try:
        return decode_record(orjson.dumps(obj) + b"\n")
    except ValueError as exc:
        raise BadBody(f"damaged spool record: {exc}") from None


@contextmanager
def _progress_bar(paths: list[Path], *, enabled: bool) -> Iterator[_Advance]:
    """A rich progress bar over the bytes of `paths` (a no-op when disabled)."""
    if not enabled:
        yield lambda n: None
        return
    total = sum(p.stat().st_size for p in paths)
    with Progress(transient=False) as bar:
        task = bar.add_task("replaying", total=total)
        yield lambda n: bar.advance(task, n)
