"""Every notebook runs top to bottom on a warehouse built by the real pipeline and draws."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from warehouse_support import make_settings

from ingest.replay import replay_files
from orchestration.batch import run_batch
from orchestration.simulator import simulate

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """simulate --out, replay, batch: what `make demo-data` does, smaller."""
    path = tmp_path_factory.mktemp("notebooks")
    settings = make_settings(path)
    events = path / "events.jsonl"
    simulate(url=None, out=events, token=None, rate=0, count=12000, seed=7, tz=settings.tz)
    replay_files(settings, [events], progress=False)
    run_batch(settings)
    return path


def test_the_three_notebooks_are_there_and_committed_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == ["agent_activity.ipynb", "campaign_performance.ipynb",
                                           "queues.ipynb"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count")
                   for c in book.cells if c.cell_type == "code"), f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_draws_a_plot(data_dir: Path, path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENIUS_WH_DATA_DIR", str(data_dir))
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(data_dir)}}).execute(env=dict(os.environ))
    images = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"
