"""The bridge over TCP (optionally TLS): the framed transport (:mod:`ccproto.transports.tcp`) with a
:class:`~ccproto.bridge.ControlChannel` as each stream's connection object.

An I/O module (asyncio): importing :mod:`ccproto.bridge` never imports it.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import time
from collections.abc import Awaitable, Callable

from ccproto.bridge.channel import ControlChannel
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.transports.base import Clock, MessageStream
from ccproto.transports.tcp import open_stream, serve_streams

__all__ = ["open_bridge", "serve_bridge"]


async def open_bridge(
    host: str, port: int, *, role: Role = Role.CLIENT, ssl: _ssl.SSLContext | None = None,
    limits: Limits = DEFAULT_LIMITS, clock: Clock = time.time,
) -> MessageStream[ControlChannel]:
    """Connect and return a checked stream playing ``role`` (default: the CTI client)."""
    return await open_stream(host, port, ControlChannel(role, limits=limits), ssl=ssl, clock=clock)


async def serve_bridge(
    handler: Callable[[MessageStream[ControlChannel]], Awaitable[None]], host: str, port: int, *,
    role: Role = Role.SERVER, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
    clock: Clock = time.time,
) -> asyncio.Server:
    """Listen; each accepted connection runs ``handler(stream)`` with a fresh ``ControlChannel(role)``."""
    return await serve_streams(handler, host, port, lambda: ControlChannel(role, limits=limits), ssl=ssl,
                               limits=limits, clock=clock)
