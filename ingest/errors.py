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


def cut(text: str, limit: int = 200) -> str:
    """`text` whole when short, else its first `limit` characters and how much was left out
    (for logs and error messages: a sender controls these values)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
