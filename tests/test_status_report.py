"""`genius-wh status` figures come from files and the warehouse, read-only."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from warehouse_support import make_settings, mixed_bodies, write_segment

from genius_wh.layout import DataLayout
from orchestration.batch import run_batch
from warehouse.status import collect_status


def test_status_of_a_fresh_data_dir_is_all_zeros(tmp_path: Path) -> None:
    status = collect_status(make_settings(tmp_path))
    assert status["last_batch"] is None
    assert set(status["rows"].values()) == {0}
    assert status["spool"]["ready"] == {"segments": 0, "lines": 0, "bytes": 0,
                                        "lines_estimated": False}


def test_status_shows_backlog_last_batch_rows_and_unknown_fields(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_segment(tmp_path, mixed_bodies(8))
    run_batch(settings)
    pending = write_segment(tmp_path, mixed_bodies(3, start=50))
    status = collect_status(settings)
    orjson.dumps(status)  # JSON-serialisable
    assert status["spool"]["ready"] == {"segments": 1, "lines": 3,
                                        "bytes": pending.stat().st_size,
                                        "lines_estimated": False}
    assert status["last_batch"]["outcome"] == "ok"
    assert status["rows"]["session_ended"] == 2
    assert {"action": "AgentActivity", "field": "seq"} in [
        {"action": u["action"], "field": u["field"]} for u in status["unknown_fields"]]
    assert status["load_issues"] == {"total": 0, "last_24h": 0}


def test_status_reads_the_export_manifest(tmp_path: Path) -> None:
    exports = DataLayout(root=tmp_path).exports
    exports.mkdir(parents=True)
    (exports / "_manifest.json").write_bytes(orjson.dumps(
        {"dates": {"2026-11-22": {"session_ended": 3}, "2026-11-23": {"session_ended": 5}}}))
    assert collect_status(make_settings(tmp_path))["last_export"] == {
        "date": "2026-11-23", "files": {"session_ended": 5}}


def test_status_extrapolates_lines_of_a_huge_backlog(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("warehouse.status.COUNT_BYTES", 1)
    for n in range(4):
        write_segment(tmp_path, mixed_bodies(4, start=n * 4))
    ready = collect_status(make_settings(tmp_path))["spool"]["ready"]
    assert (ready["segments"], ready["lines_estimated"]) == (4, True)
    assert 12 <= ready["lines"] <= 20
