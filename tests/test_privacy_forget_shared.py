"""`genius-wh forget` on the several-machines setup (issue #13): a PostgreSQL catalog and an
S3 lake (real servers from wheels); afterwards no object in the bucket and no file of the
data dir holds the person, Parquet read too."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import orjson
import pytest
from servers_support import Postgres, S3Store
from test_privacy_forget import DAY, TRACES, _found, _payment, _person
from warehouse_support import card_payment, session_ended, write_segment

from genius_wh.settings import Settings, load_settings
from orchestration.batch import run_batch
from orchestration.nightly import export_date
from warehouse import connect
from warehouse.forget import forget
from warehouse.forgetmatch import make_target
from warehouse.lakehouse import lake_config, setup_statements


@pytest.fixture
def shared_settings(tmp_path: Path, postgres_server: Postgres, s3_store: S3Store,
                    monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in s3_store.env().items():
        monkeypatch.setenv(name, value)
    return load_settings(data_dir=tmp_path / "machine-a",
                         catalog="postgres:" + postgres_server.create_database(),
                         lake_path=f"s3://{s3_store.bucket}/{uuid.uuid4().hex[:8]}/")


def _bucket_hits(settings: Settings) -> list[str]:
    """Traces in any object under the lake path: raw bytes and Parquet values."""
    config = lake_config(settings)
    hits: list[str] = []
    with duckdb.connect(config={"autoinstall_known_extensions": False,
                                "autoload_known_extensions": False}) as con:
        for statement in setup_statements(config):
            con.execute(statement)
        for name, content in con.execute("SELECT filename, content FROM read_blob(?)",
                                          [config.data_path + "**"]).fetchall():
            texts = [bytes(content).lower()]
            if name.endswith(".parquet"):
                rows = con.execute("SELECT * FROM read_parquet(?)", [name]).fetchall()
                texts.append(orjson.dumps(rows, default=str).lower())
            hits += [f"{name}: {t!r}" for t in TRACES if any(t.lower() in x for x in texts)]
    return hits


def test_forget_leaves_no_trace_in_the_bucket_or_the_data_dir(
        shared_settings: Settings) -> None:
    data_dir = shared_settings.data_dir
    write_segment(data_dir, [_person(1), session_ended(2), card_payment(3)])
    run_batch(shared_settings)
    write_segment(data_dir, [_person(4), _payment(), session_ended(5)])
    run_batch(shared_settings)
    export_date(shared_settings, DAY)
    assert _bucket_hits(shared_settings) and _found(data_dir, TRACES)
    report = forget(shared_settings, make_target("email", "JO.BLOGGS@EXAMPLE.COM"))
    assert report.rows["session_ended"] == 2 and report.rows["card_payment"] == 1
    assert _bucket_hits(shared_settings) == []
    assert _found(data_dir, TRACES) == []
    with connect(settings=shared_settings) as con:
        assert sorted(con.execute("SELECT urn FROM session_ended").fetchall()) == [
            ("urn-2",), ("urn-5",)]
