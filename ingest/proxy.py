"""Which address a request comes from: the TCP peer, or X-Forwarded-For from a known proxy.

- `X-Forwarded-For` is believed only when `trusted_proxies` > 0 and the TCP peer is in
  `proxy_addresses` (a header sent straight to the receiver changes nothing);
- then the entry `trusted_proxies` from the right is the client (as ProxyFix's `x_for`);
  a header with fewer entries leaves the peer as the address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from genius_wh.settings import IPNetwork, Settings

PEER_ENVIRON = "genius_wh.peer"
FORWARDED_ENVIRON = "HTTP_X_FORWARDED_FOR"
#: Longest address text kept from a forwarded header (an IPv6 address with zone fits).
MAX_ADDRESS = 64


def in_networks(address: str | None, networks: list[IPNetwork]) -> bool:
    """True when the address lies in one of `networks` (a bad address never does)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(peer: str | None, forwarded: str | None, settings: Settings) -> str | None:
    """The address to check and record for a request from `peer` with this X-Forwarded-For."""
    hops = settings.trusted_proxies
    if not hops or not forwarded or not in_networks(peer, settings.proxy_addresses):
        return peer
    entries = forwarded.split(",")
    if len(entries) < hops:
        return peer
    return entries[-hops].strip()[:MAX_ADDRESS] or peer


class ForwardedFor:
    """WSGI middleware: REMOTE_ADDR becomes `client_address`; the peer stays in the environ."""

    def __init__(self, app: Callable[..., Iterable[bytes]], settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR")
        environ[PEER_ENVIRON] = peer
        environ["REMOTE_ADDR"] = client_address(peer, environ.get(FORWARDED_ENVIRON),
                                                self.settings)
        return self.app(environ, start_response)
