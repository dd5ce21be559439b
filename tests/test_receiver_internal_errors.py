"""Nothing read off the wire is answered without being kept (issue #9): even a bug in the
receiver leaves the body in the quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ingest.app
from genius_wh.settings import load_settings
from ingest.app import Receiver, create_app

BODY = b'{"action": "AgentActivity", "agentactivity": {"agent": "a1"}}'


def test_an_unexpected_error_gets_500_and_the_body_is_quarantined(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("Recursion limit reached")  # what orjson.dumps said at 255 levels

    monkeypatch.setattr(ingest.app, "make_record", broken)
    app = create_app(load_settings(data_dir=tmp_path / "data"))
    try:
        answer = app.test_client().post("/", data=BODY)
    finally:
        receiver: Receiver = app.extensions["genius_wh"]
        receiver.close()
    assert answer.status_code == 500
    message = answer.json["error"] if answer.json else ""
    assert message.startswith("internal error: TypeError: Recursion limit reached (kept in "
                              "quarantine/")
    [kept] = (tmp_path / "data" / "quarantine").glob("*.body")
    assert kept.read_bytes() == BODY and kept.name in message
