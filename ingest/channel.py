"""waitress's HTTP channel with two guards of its own (issue #9, slow clients).

- as soon as a request's headers are in, the address and token rules run: a refused webhook
  POST (and a body sent to any other path) is cut short, its body never read and no
  `100 Continue` sent; the app then answers it (401, 403, 404, 405) and the connection closes;
- a connection that has not sent whole request headers within `header_timeout_seconds` of
  opening (or of its last answer) is closed by `close_overdue`, which the serve loop calls.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser

from genius_wh.settings import Settings
from ingest.guard import refusal
from ingest.proxy import client_address

#: (TCP peer, waitress's header dict) -> may the body be read?
Precheck = Callable[[str | None, Mapping[str, str]], bool]
WEBHOOK_PATHS = frozenset({"/", "/webhook"})


def precheck_for(settings: Settings) -> Precheck:
    """The address and token rules of `ingest.guard`, on waitress's parsed headers."""
    def allowed(peer: str | None, headers: Mapping[str, str]) -> bool:
        address = client_address(peer, headers.get("X_FORWARDED_FOR"), settings)
        return refusal(address, headers.get("GENIUS_WEBHOOK_TOKEN"), settings) is None
    return allowed


class GuardedParser(HTTPRequestParser):
    """A request parser that stops before the body of a request that will be refused."""

    def __init__(self, adj: Any, *, channel: GuardedChannel) -> None:
        super().__init__(adj)
        self.channel = channel
        self.checked = False

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if self.headers_finished and not self.checked:
            self.checked = True
            if not self.completed and not self._body_wanted():
                self._cut_short()
                return len(data)  # whatever else came is dropped with the connection
        return consumed

    def _body_wanted(self) -> bool:
        command: Any = self.command  # text at run time, whatever the stubs say
        if command != "POST" or getattr(self, "path", None) not in WEBHOOK_PATHS:
            return False
        return self.channel.precheck(self.channel.addr[0] if self.channel.addr else None,
                                     self.headers)

    def _cut_short(self) -> None:
        """Hand the request to the app now, without its body, and close after the answer."""
        self.completed = True
        self.expect_continue = False
        self.body_rcv = None
        headers: Any = self.headers
        headers["CONTENT_LENGTH"] = "0"
        headers["CONNECTION"] = "close"


class GuardedChannel(HTTPChannel):
    """An HTTP channel that knows since when it has been waiting for request headers."""

    precheck: Precheck

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_clock = time.monotonic()
        self.parser_class = functools.partial(  # type: ignore[assignment]
            GuardedParser, channel=self)

    def service(self) -> None:
        super().service()
        self.header_clock = time.monotonic()  # the next request's headers are due from now

    def header_overdue(self, now: float, timeout: float) -> bool:
        """True when no request is in service and whole headers are overdue."""
        if self.requests:
            return False
        request = self.request
        if request is not None and request.headers_finished:
            return False
        return now - self.header_clock > timeout


def channel_class(precheck: Precheck) -> type[GuardedChannel]:
    """A GuardedChannel class bound to one receiver's rules."""
    return type("ReceiverChannel", (GuardedChannel,), {"precheck": staticmethod(precheck)})


def close_overdue(channels: Mapping[int, Any], timeout: float) -> int:
    """Mark every channel whose headers are overdue for closing; returns how many."""
    now = time.monotonic()
    closing = 0
    for channel in list(channels.values()):
        if (isinstance(channel, GuardedChannel) and not channel.will_close
                and channel.header_overdue(now, timeout)):
            channel.will_close = True
            closing += 1
    return closing
