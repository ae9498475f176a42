"""The CCEB WebSocket API over WebSockets (``ccproto[websockets]``): the websocket transport
(:mod:`ccproto.transports.ws`) with a :class:`~ccproto.cceb.CcebConnection` as each stream's connection object.

An I/O module (asyncio, the ``websockets`` library): importing :mod:`ccproto.cceb` never imports it.
"""

from __future__ import annotations

import ssl as _ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server

from ccproto.cceb.connection import CcebConnection
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.transports.base import Clock, MessageStream
from ccproto.transports.ws import connect_stream, serve_streams

__all__ = ["connect_cceb", "serve_cceb"]


async def connect_cceb(
    uri: str, *, connection: CcebConnection | None = None, ssl: _ssl.SSLContext | None = None,
    clock: Clock = time.time, **options: Any,
) -> MessageStream[CcebConnection]:
    """Connect to a CCEB; the stream's machine is ``connection`` (default: a new client ``CcebConnection``)."""
    machine = CcebConnection(Role.CLIENT) if connection is None else connection
    return await connect_stream(uri, machine, ssl=ssl, clock=clock, **options)


async def serve_cceb(
    handler: Callable[[MessageStream[CcebConnection]], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS, clock: Clock = time.time,
    **options: Any,
) -> Server:
    """Listen as a CCEB; each WebSocket runs ``handler(stream)`` with a new server ``CcebConnection``."""
    return await serve_streams(handler, host, port, lambda: CcebConnection(Role.SERVER, limits=limits), ssl=ssl,
                               limits=limits, clock=clock, **options)
