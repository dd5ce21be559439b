"""The one naming rule for recorddata columns (CONTRACT section 5)."""

from __future__ import annotations

import re

_OTHER_RUNS = re.compile(r"[^a-z0-9]+")


def column_name(field: str) -> str:
    """The session_recorddata column a recorddata field lands in.

    - lower-cased;
    - every run of characters other than `a-z0-9` becomes one `_`;
    - trimmed of `_` at both ends;
    - prefixed `f_` when empty or starting with a digit (`""` -> `f_`, `1st` -> `f_1st`);
    - a field whose column would be `event_id` lands in `rd_event_id` (the key column);
    - fields whose names meet (`Post Code`, `post_code`) share one column.
    """
    name = _OTHER_RUNS.sub("_", field.lower()).strip("_")
    if not name or name[0].isdigit():
        name = "f_" + name
    if name == "event_id":
        return "rd_event_id"
    return name
