"""Errors of the receiver, grouped by what the caller should do."""

from __future__ import annotations

from genius_wh.errors import GeniusWhError


class Rejected(GeniusWhError):
    """An HTTP request is refused; `status` and `message` become the JSON error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SpoolUnavailable(GeniusWhError):
    """Retriable: the event could not be made durable (disk full, spool unwritable)."""
