"""Length-prefixed frames over asyncio streams (TCP, optionally TLS): the ``framed`` transport.

Each message is one frame (:mod:`ccproto.core.framing`); the frames are the only thing this module knows about
a protocol, whose connection object the caller brings (a protocol's own helpers, e.g.
``ccproto.bridge.tcp.open_bridge``, bring theirs).  Who listens and who connects is up to you: the protocol
roles do not depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ccproto.core.framing import FrameDecoder, encode_frame
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.transports.base import Clock, Machine, MessageStream

__all__ = ["FramedLink", "open_framed", "open_stream", "serve_framed", "serve_streams"]

M = TypeVar("M", bound="Machine[Any]")

#: How much a read asks the socket for at once.
READ_SIZE = 65536


class FramedLink:
    """A :class:`~ccproto.transports.base.TextLink` over an asyncio stream pair: one frame per message."""

    close_code: int | None = None
    close_reason: str = ""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, limits: Limits = DEFAULT_LIMITS):
        self.reader = reader
        self.writer = writer
        self.limits = limits
        # Buffered here, so a cancelled receive (a timer) loses nothing: read() returns whole or not at all.
        self._frames = FrameDecoder(limits=limits)

    async def send_text(self, text: str) -> None:
        """Write one frame."""
        if self.writer.is_closing():
            raise ConnectionResetError("the stream is closed")
        self.writer.write(encode_frame(text.encode("utf-8"), limits=self.limits))
        await self.writer.drain()

    async def receive(self) -> bytes | None:
        """The next frame's payload (bytes: the connection object decodes it), or ``None`` at end of stream.

        Raises :class:`~ccproto.core.framing.TruncatedFrameError` if the stream ended inside a frame.
        """
        while (frame := self._frames.next_frame()) is None:
            data = await self.reader.read(READ_SIZE)
            if not data:
                # A partial frame left is not a clean end: the peer broke the framing (``truncated-frame``).
                self._frames.check_end()
                return None
            self._frames.feed(data)
        return frame

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the stream (idempotent)."""
        self.writer.close()
        with contextlib.suppress(ConnectionError, _ssl.SSLError):
            await self.writer.wait_closed()


async def open_framed(
    host: str, port: int, *, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS
) -> FramedLink:
    """Connect and return the raw framed link (texts in and out, unchecked)."""
    reader, writer = await asyncio.open_connection(host, port, ssl=ssl)
    return FramedLink(reader, writer, limits=limits)


async def open_stream(
    host: str, port: int, machine: M, *, ssl: _ssl.SSLContext | None = None, clock: Clock = time.time,
) -> MessageStream[M]:
    """Connect and return a checked stream whose connection object is ``machine`` (its ``limits`` bound the
    frames)."""
    link = await open_framed(host, port, ssl=ssl, limits=getattr(machine, "limits", DEFAULT_LIMITS))
    return MessageStream(machine, link, clock=clock)


async def serve_framed(
    handler: Callable[[FramedLink], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
) -> asyncio.Server:
    """Listen; each accepted connection runs ``handler(link)`` and is closed when it returns."""

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = FramedLink(reader, writer, limits=limits)
        try:
            await handler(link)
        finally:
            await link.close()

    return await asyncio.start_server(accepted, host, port, ssl=ssl)


async def serve_streams(
    handler: Callable[[MessageStream[M]], Awaitable[None]], host: str, port: int, make: Callable[[], M], *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS, clock: Clock = time.time,
) -> asyncio.Server:
    """Listen; each accepted connection runs ``handler(stream)`` with a fresh connection object ``make()``."""

    async def accepted(link: FramedLink) -> None:
        await handler(MessageStream(make(), link, clock=clock))

    return await serve_framed(accepted, host, port, ssl=ssl, limits=limits)
