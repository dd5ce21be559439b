"""The summarised views stay exact with several loaders on one shared warehouse (a real
PostgreSQL catalog and S3 store, as in test_several_machines.py): one machine's late events
make a day the other machine's `maintain` summarised dirty in their own commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_several_machines import SharedWarehouse, shared  # noqa: F401 (the fixture)
from test_views_summaries import (
    DAYS,
    LATE_DAY,
    _day,
    _is_late,
    _load,
    assert_views_equal_live,
    bodies,  # noqa: F401 (the fixture)
    summarised_days,
)

from warehouse.maintain import maintain


def test_late_events_loaded_by_another_machine_are_counted_at_once(
        shared: SharedWarehouse, bodies: list[dict[str, Any]],  # noqa: F811
        tmp_path: Path) -> None:
    first, second = shared.settings(tmp_path / "a"), shared.settings(tmp_path / "b")
    wanted = [body for body in bodies if _day(body) <= DAYS[2]]
    late = [body for n, body in enumerate(wanted) if _is_late(body, n)]
    assert late and {_day(body) for body in late} == {LATE_DAY}
    _load(first, [body for n, body in enumerate(wanted) if not _is_late(body, n)])
    maintain(first)
    assert min(summarised_days(second).values()) > 0
    _load(second, late)  # the other machine's loader: first's summary of LATE_DAY is stale
    assert_views_equal_live(first)
    maintain(second)
    assert_views_equal_live(second)
