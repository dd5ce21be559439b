"""wallboard: the live operations page of `genius-wh serve` and the feed-silence alarm (#11).

Top floor: reads the warehouse through `warehouse.connect()` and its views, never writes.
"""

from __future__ import annotations

from genius_wh.silence import SilentFeed, silent_feeds
from wallboard.feeds import feed_status, silence_gauge
from wallboard.web import wallboard_blueprint

__all__ = ["SilentFeed", "feed_status", "silence_gauge", "silent_feeds", "wallboard_blueprint"]
