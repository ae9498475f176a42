"""The Interaction Processor over WebSockets (``ccproto[websockets]``): the websocket transport
(:mod:`ccproto.transports.ws`) with a :class:`~ccproto.processor.ProcessorSession` as each stream's connection object.

An I/O module (asyncio, the ``websockets`` library): importing :mod:`ccproto.processor` never imports it.
"""

from __future__ import annotations

import ssl as _ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server

from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.processor.session import ProcessorSession
from ccproto.transports.base import Clock, MessageStream
from ccproto.transports.ws import connect_stream, serve_streams

__all__ = ["connect_processor", "serve_processor"]


async def connect_processor(
    uri: str, *, session: ProcessorSession | None = None, ssl: _ssl.SSLContext | None = None,
    clock: Clock = time.time, **options: Any,
) -> MessageStream[ProcessorSession]:
    """Connect to an Interaction Processor; the machine is ``session`` (default: a new client session)."""
    machine = ProcessorSession(Role.CLIENT) if session is None else session
    return await connect_stream(uri, machine, ssl=ssl, clock=clock, **options)


async def serve_processor(
    handler: Callable[[MessageStream[ProcessorSession]], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS, clock: Clock = time.time,
    **options: Any,
) -> Server:
    """Listen as an Interaction Processor; each WebSocket runs ``handler(stream)`` with a new server session."""
    return await serve_streams(handler, host, port, lambda: ProcessorSession(Role.SERVER, limits=limits), ssl=ssl,
                               limits=limits, clock=clock, **options)
