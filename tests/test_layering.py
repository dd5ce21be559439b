"""The packages import one way only (docs/DESIGN.md, "Layers"): the ground floor `genius_wh`
imports nothing of ours, each stage only the ground floor and itself, the wallboard the stages,
and the orchestration anything. Imports sit at the top of a module, except where a comment
says which start-up cost they save."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("genius_wh", "ingest", "transform", "warehouse", "wallboard", "orchestration")
MAY_IMPORT = {
    "genius_wh": {"genius_wh"},
    "ingest": {"genius_wh", "ingest"},
    "transform": {"genius_wh", "transform"},
    "warehouse": {"genius_wh", "warehouse"},
    "wallboard": {"genius_wh", "ingest", "transform", "warehouse", "wallboard"},
    "orchestration": set(OURS),
}
MODULES = sorted(path for package in OURS for path in (ROOT / package).rglob("*.py"))


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else []
    return [alias.name for alias in node.names]


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, top-level package, inside a function body) of every import in a module."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((child.lineno, name.split(".")[0], in_function)
                             for name in _imported(child))
            visit(child, in_function or isinstance(child, ast.FunctionDef
                                                   | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return found


def test_every_package_is_on_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(OURS)


def test_imports_run_down_the_layers_only() -> None:
    upward = [f"{path.relative_to(ROOT)}:{line} imports {name}"
              for path in MODULES for line, name, _ in _imports(path)
              if name in OURS and name not in MAY_IMPORT[path.relative_to(ROOT).parts[0]]]
    assert not upward


def test_imports_inside_functions_say_what_start_up_cost_they_save() -> None:
    hidden = []
    for path in MODULES:
        lines = path.read_text().splitlines()
        hidden += [f"{path.relative_to(ROOT)}:{line}" for line, _, in_function in _imports(path)
                   if in_function and "start-up" not in " ".join(lines[max(0, line - 4):line])]
    assert not hidden


def test_the_checker_sees_an_upward_import_in_a_function(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("def f():\n    from orchestration.cli import main\n    return main\n")
    assert _imports(module) == [(2, "orchestration", True)]
