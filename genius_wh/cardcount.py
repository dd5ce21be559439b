"""How many card numbers the receivers have masked (issue #13): for `genius-wh status`."""

from __future__ import annotations

from genius_wh.cards import CARD_NUMBERS_MASKED
from genius_wh.layout import DataLayout
from genius_wh.metricfiles import read_rows


def card_numbers_masked(layout: DataLayout) -> int:
    """The total of every receiver process's counter (live, stopped and folded ones)."""
    total = 0.0
    for path in sorted(layout.metrics.glob("ingest-*.json")):
        total += sum(value for name, _, value in read_rows(path) if name == CARD_NUMBERS_MASKED)
    return int(total)
