"""The docs stay true: every command, setting, table and view is documented, the generated
parts match the code, and the README stays a short door into docs/ (issue #12)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from genius_wh.settings import Settings
from genius_wh.tables import EVENT_TABLES
from orchestration.cli import cli
from warehouse.views import VIEWS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
CLI_DOC = (DOCS / "cli.md").read_text()
SETTINGS_DOC = (DOCS / "settings.md").read_text()
#: README and every Markdown file under docs/: where an item counts as documented.
EVERYTHING = "\n".join([README, *(p.read_text() for p in sorted(DOCS.rglob("*.md")))])
sys.path.insert(0, str(ROOT / "scripts"))

import readme  # noqa: E402

CONTRACT_TABLES = [*EVENT_TABLES, "session_recorddata", "recorddata_fields", "session_flat",
                   "dim_diallerresult", "dim_calltype", "dim_agentstate"]


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_command_table_and_reference(command: str) -> None:
    assert re.search(rf"^\| `genius-wh {command}\b", CLI_DOC, re.MULTILINE), command
    assert f"$ genius-wh {command} --help" in CLI_DOC, command


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_settings_table(name: str) -> None:
    assert re.search(rf"^\| `{name}` \| `GENIUS_WH_{name.upper()}` \|", SETTINGS_DOC,
                     re.MULTILINE), f"setting {name} undocumented: run scripts/readme.py"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_row_gives_the_default_the_code_has(name: str) -> None:
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    shown = re.findall(rf"^\| `{name}` \| `GENIUS_WH_\w+` \| ([^|]+) \|", SETTINGS_DOC,
                       re.MULTILINE)
    assert shown, f"setting {name} has no row with its default"
    text = shown[0].strip().strip("`")
    if default in ([], (), "", None):
        assert text == "empty", name
    elif isinstance(default, Path):
        assert Path(text) == default, name
    elif isinstance(default, list | tuple):
        assert text == ",".join(str(item) for item in default), name
    else:
        assert text in (str(default), getattr(default, "text", None)), name


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_every_warehouse_table_is_documented(table: str) -> None:
    assert f"`{table}`" in EVERYTHING


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_every_view_is_documented_with_an_example_query(view: str) -> None:
    assert f"`{view}`" in EVERYTHING, f"view {view} undocumented"
    assert re.search(rf"FROM {view}\b", EVERYTHING), f"view {view} has no example query"


@pytest.mark.parametrize("filename", sorted(readme.BLOCKS))
def test_generated_blocks_match_the_code(filename: str) -> None:
    text = (DOCS / filename).read_text()
    assert readme.render(filename, text) == text, "run: .venv/bin/python scripts/readme.py"


@pytest.mark.parametrize("name", sorted(readme.BLOCKS["cli.md"]))
def test_a_missing_command_fails_the_check(name: str) -> None:
    """The check is real: a stale block (here: emptied) differs from the generated one."""
    begin = f"<!-- {name}:begin ({readme.BLOCKS['cli.md'][name][0]}) -->"
    stale = re.sub(rf"({re.escape(begin)}\n).*?(\n<!-- {name}:end -->)", r"\1\2", CLI_DOC,
                   flags=re.DOTALL)
    assert stale != CLI_DOC and readme.render("cli.md", stale) != stale


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    assert len(README.splitlines()) < 200
    head = README[:3000]
    assert "make run" in head and "make test" in head


def test_benchmark_history_is_not_in_the_readme_or_the_docs() -> None:
    assert "Tried, measured and" not in README
    assert "Tried, measured and" not in (DOCS / "performance.md").read_text()
    assert re.findall(r"^Measured (\d{4}-\d\d-\d\d)", (DOCS / "performance.md").read_text(),
                      re.MULTILINE), "each benchmark table is dated"


@pytest.mark.parametrize("source", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md"))])
def test_every_relative_link_resolves(source: str) -> None:
    path = ROOT / source
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
        if "://" not in target:
            assert (path.parent / target).exists(), f"{source}: broken link {target}"


def test_deploy_steps_create_the_service_user_the_unit_runs_as() -> None:
    unit = (ROOT / "deploy" / "genius-wh.service").read_text()
    [user] = re.findall(r"^User=(\S+)", unit, re.MULTILINE)
    deploy = (DOCS / "deploy.md").read_text()
    for text in (README, deploy):
        assert re.search(rf"useradd --system .*\b{user}\b", text), "the user must be created"
    assert "TLS" in deploy and "X-Forwarded-For" in deploy and "trusted_proxies" in deploy


def test_ci_runs_make_test_and_only_the_system_package_the_readme_names() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)
    for package in re.findall(r"apt-get install -y (\S+)", ci):
        assert f"apt-get install -y {package}" in README, f".ci/run installs {package}"


def test_the_deployed_data_dir_is_one_the_unit_lets_the_service_write() -> None:
    unit = (ROOT / "deploy" / "genius-wh.service").read_text()
    deploy = (DOCS / "deploy.md").read_text()
    [data_dir] = set(re.findall(r'^\s*data_dir = "([^"]+)"', deploy, re.MULTILINE))
    writable = [p for line in re.findall(r"^ReadWritePaths=(.+)$", unit, re.MULTILINE)
                for p in line.split()]
    writable += [f"/var/lib/{d}" for line in re.findall(r"^StateDirectory=(.+)$", unit,
                                                       re.MULTILINE) for d in line.split()]
    if writable or "ProtectSystem=strict" in unit:
        assert any(data_dir == p or data_dir.startswith(p.rstrip("/") + "/")
                   for p in writable), f"the unit does not let the service write {data_dir}"
