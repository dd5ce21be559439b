"""Every notebook runs top to bottom on a warehouse built by the real pipeline and draws, and
finds the repository's data dir when its kernel starts in notebooks/ (issue #10)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
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


def run(book: nbformat.NotebookNode, cwd: Path, env: dict[str, str]) -> None:
    """Execute `book` in place with its kernel started in `cwd`."""
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute(env=env)


def env_without_settings() -> dict[str, str]:
    """This environment without any GENIUS_WH_* setting (no data dir, no config file)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GENIUS_WH_")}


def setup_cell_only(path: Path) -> nbformat.NotebookNode:
    """The notebook cut to its first code cell (the one that opens the warehouse)."""
    book = nbformat.read(path, as_version=4)
    book.cells = [next(c for c in book.cells if c.cell_type == "code"),
                  nbformat.v4.new_code_cell("print('DATA_DIR', DATA_DIR)")]
    return book


def fake_repository(tmp_path: Path) -> Path:
    """A folder shaped like the repository root (pyproject.toml, notebooks/)."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    return root


def test_the_five_notebooks_are_there_and_committed_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == ["agent_activity.ipynb", "campaign_performance.ipynb",
                                           "card_payments.ipynb", "ofcom_compliance.ipynb",
                                           "queues.ipynb"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count")
                   for c in book.cells if c.cell_type == "code"), f"{path.name} has outputs"


def test_every_notebook_opens_the_warehouse_with_the_same_first_cell() -> None:
    first = {p.name: setup_cell_only(p).cells[0].source for p in NOTEBOOKS}
    assert len(set(first.values())) == 1, "the notebooks' first code cells differ"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_draws_a_plot(data_dir: Path, path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    run(book, data_dir, env_without_settings() | {"GENIUS_WH_DATA_DIR": str(data_dir)})
    images = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not errors, f"{path.name} wrote to stderr: {errors[0]['text'][:500]}"


def test_kernel_started_in_notebooks_reads_the_data_dir_of_the_repository_root(
        data_dir: Path, tmp_path: Path) -> None:
    # `jupyter-execute notebooks/x.ipynb` and `jupyter notebook notebooks/` start the kernel
    # in notebooks/, where the default ./data is notebooks/data, not where make demo-data wrote
    root = fake_repository(tmp_path)
    (root / "data").symlink_to(data_dir, target_is_directory=True)
    book = setup_cell_only(NOTEBOOKS[0])
    run(book, root / "notebooks", env_without_settings())
    printed = "".join(o.get("text", "") for o in book.cells[1].outputs)
    assert f"DATA_DIR {root / 'data'}" in printed


def test_relative_data_dir_is_read_from_the_repository_root(data_dir: Path,
                                                            tmp_path: Path) -> None:
    # GENIUS_WH_DATA_DIR=./demo jupyter-execute notebooks/x.ipynb, typed at the repository root
    root = fake_repository(tmp_path)
    (root / "demo").symlink_to(data_dir, target_is_directory=True)
    book = setup_cell_only(NOTEBOOKS[0])
    run(book, root / "notebooks", env_without_settings() | {"GENIUS_WH_DATA_DIR": "./demo"})
    printed = "".join(o.get("text", "") for o in book.cells[1].outputs)
    assert f"DATA_DIR {root / 'demo'}" in printed


def test_no_warehouse_fails_with_the_data_dir_and_the_way_out_and_creates_nothing(
        tmp_path: Path) -> None:
    root = fake_repository(tmp_path)
    with pytest.raises(CellExecutionError) as failure:
        run(setup_cell_only(NOTEBOOKS[0]), root / "notebooks", env_without_settings())
    message = str(failure.value)
    assert "no warehouse at" in message
    assert f"The notebook read the data dir {root / 'data'}" in message
    assert "set GENIUS_WH_DATA_DIR" in message and "make demo-data" in message
    assert sorted(p.name for p in root.rglob("*")) == ["notebooks", "pyproject.toml"]
