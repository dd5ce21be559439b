"""Data flows one way: the receiver never imports the warehouse's or transform's libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, forbidden", [
    pytest.param("ingest.app", ["duckdb", "polars", "pyarrow"], id="receiver app"),
    pytest.param("ingest.replay", ["duckdb", "polars", "pyarrow", "flask"], id="replay"),
    pytest.param("genius_wh.gauges", ["duckdb", "polars", "pyarrow", "flask"], id="batch gauges"),
    pytest.param("genius_wh.segments", ["duckdb", "polars", "pyarrow", "flask"], id="segments"),
])
def test_module_does_not_import_heavy_libraries(module: str, forbidden: list[str]) -> None:
    code = (f"import sys, {module}; "
            f"print(','.join(m for m in {forbidden!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""
