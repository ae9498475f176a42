"""Real transports for the sans-I/O machines: thin asyncio loops, outside the sans-I/O core.

- :mod:`ccproto.transports.tcp`: the Processor Bridge over asyncio streams (length-prefixed frames, TLS).
- :mod:`ccproto.transports.ws`: the CCEB and the Interaction Processor over the ``websockets``
  library (install ``ccproto[websockets]``).
- :mod:`ccproto.transports.base`: :class:`MessageStream`, the one loop all of them share, and the
  :class:`TextLink` interface a transport of your own implements (``docs/transports.md``).

Each stream's ``machine`` is the protocol's connection object: every rule is
there, none here.
"""

from __future__ import annotations

import ssl as _ssl
import urllib.parse

from ccproto.core.errors import ConnectionLostError
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.transports.base import Clock, Expired, Machine, MessageStream, TextLink

__all__ = [
    "Clock", "ConnectionLostError", "Expired", "Machine", "MessageStream", "TextLink", "open_link", "parse_target",
]

#: URL schemes ``open_link`` understands: the bridge's TCP (``tls``: with TLS) and WebSockets.
SCHEMES = ("tcp", "tls", "ws", "wss")


def parse_target(target: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``tcp://host:port``, ``tls://…``, ``ws://…`` or ``wss://…``; ``ValueError`` else."""
    parts = urllib.parse.urlsplit(target)
    if parts.scheme not in SCHEMES or not parts.hostname or parts.port is None:
        raise ValueError(f"expected {'|'.join(SCHEMES)}://HOST:PORT[/PATH], got {target!r}")
    return parts.scheme, parts.hostname, parts.port


async def open_link(
    target: str, *, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS
) -> TextLink:
    """Connect to ``target`` and return the raw link: framed TCP for ``tcp://``/``tls://``, else a WebSocket.

    ``tls://`` and ``wss://`` use ``ssl`` or, if it is ``None``, the system's default context.
    """
    scheme, host, port = parse_target(target)
    secure = scheme in ("tls", "wss")
    context = (ssl or _ssl.create_default_context()) if secure else None
    if scheme in ("tcp", "tls"):
        from ccproto.transports.tcp import open_framed

        return await open_framed(host, port, ssl=context, limits=limits)
    from ccproto.transports.ws import open_websocket  # needs ccproto[websockets]

    return await open_websocket(target, ssl=context, limits=limits)
