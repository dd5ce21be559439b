"""The README stays true: every command, setting, table and view is documented."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from genius_wh.cli import cli
from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "scripts"))

import readme  # noqa: E402

CONTRACT_TABLES = [*EVENT_TABLES, "session_recorddata", "recorddata_fields", "session_flat",
                   "dim_diallerresult", "dim_calltype", "dim_agentstate"]


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"genius-wh {command}" in README


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_settings_table(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README, re.MULTILINE), f"setting {name} undocumented"
    assert f"GENIUS_WH_{name.upper()}" in README or "GENIUS_WH_<NAME>" in README


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_settings_table_gives_the_default_the_code_has(name: str) -> None:
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    shown = re.findall(rf"^\| `{name}` \| (?:`GENIUS_WH_\w+` \| )?([^|]+) \|", README,
                       re.MULTILINE)
    assert shown, f"setting {name} has no row with its default"
    for text in (cell.strip().strip("`") for cell in shown):
        if default in ([], "", None):
            assert text == "empty", name
        elif isinstance(default, Path):
            assert Path(text) == default, name
        else:
            assert text == str(default), name


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_every_warehouse_table_is_in_the_readme(table: str) -> None:
    assert f"`{table}`" in README


def test_every_view_is_documented_with_an_example_query() -> None:
    from warehouse.views import VIEWS

    for view in VIEWS:
        assert f"`{view}`" in README, f"view {view} undocumented"
        assert re.search(rf"FROM {view}\b", README), f"view {view} has no example query"


def test_command_reference_block_is_generated_from_the_commands() -> None:
    assert readme.render(README) == README, "run: .venv/bin/python scripts/readme.py"


def test_readme_starts_with_the_two_commands() -> None:
    head = README[:3000]
    assert "make run" in head and "make test" in head
