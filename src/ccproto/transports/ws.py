"""One protocol message per WebSocket text message, over the ``websockets`` library (``ccproto[websockets]``): the
``websocket`` transport (a protocol's own helpers, e.g. ``ccproto.cceb.ws.connect_cceb``, bring their connection
objects).

One protocol message is one WebSocket text message.  The close frame's code
and reason reach the connection object (the CCEB's closing rules use them);
the WebSocket handshake, pings and fragmentation are the library's.
"""

from __future__ import annotations

import contextlib
import logging
import ssl as _ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.redact import is_secret_header, redact_log_text, redact_urls
from ccproto.transports.base import Clock, Machine, MessageStream

__all__ = ["WebSocketLink", "connect_stream", "open_websocket", "serve_streams", "serve_websocket"]

M = TypeVar("M", bound="Machine[Any]")
#: The WebSocket close code of a connection that dropped without a close frame.
ABNORMAL_CLOSURE = 1006


class WebSocketLink:
    """A :class:`~ccproto.transports.base.TextLink` over a ``websockets`` connection (client or server side)."""

    def __init__(self, websocket: ClientConnection | ServerConnection) -> None:
        self.websocket = websocket
        self.close_code: int | None = None
        self.close_reason = ""

    async def send_text(self, text: str) -> None:
        """Send one text message."""
        try:
            await self.websocket.send(text)
        except ConnectionClosed as exc:
            raise ConnectionResetError(f"the WebSocket is closed ({exc})") from None

    async def receive(self) -> str | bytes | None:
        """The next message, or ``None`` once closed (``close_code``/``close_reason`` then say how)."""
        try:
            return await self.websocket.recv()
        except ConnectionClosed as exc:
            received = exc.rcvd
            self.close_code = received.code if received is not None else ABNORMAL_CLOSURE
            self.close_reason = received.reason if received is not None else ""
            return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and wait for the closing handshake (idempotent)."""
        await self.websocket.close(code, reason)


class _NoSecrets(logging.Filter):
    """Keeps secrets out of websockets' records: drops frames and credential headers, redacts URLs and errors.

    websockets logs every frame it sends and receives (``"> %s"``, ``"< %s"``: a hello's token, a hello_reply's
    session key) and every handshake header at DEBUG; those records are dropped (credential headers:
    ``core.redact.is_secret_header``).  The request line (``"< %s %s %s"``, ``"> GET %s HTTP/1.1"``) and any
    other text argument keep their URL's query and userinfo out (``/ws?token=X`` -> ``/ws?***``: a token in the
    query string is common).  An exception whose text holds a secret (websockets quotes the request line or the
    header value it refuses) is kept as its redacted text only.  Everything else (states, closes) is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to keep ``record`` (redacted in place)."""
        if record.msg in ("> %s", "< %s"):
            return False
        if (record.msg in ("> %s: %s", "< %s: %s") and isinstance(record.args, tuple) and record.args
                and is_secret_header(str(record.args[0]))):
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(redact_urls(arg) if isinstance(arg, str) else arg for arg in record.args)
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            with contextlib.suppress(Exception):  # an exception that cannot be formatted is left as it is
                text = logging.Formatter().formatException(record.exc_info)
                redacted = redact_log_text(text)
                if redacted != text:
                    # Kept as text (a formatter writes exc_text when exc_info is gone): the exception object
                    # itself still holds the secret.
                    record.exc_text, record.exc_info = redacted, None
        return True


def _logger(side: str) -> logging.Logger:
    """A child of websockets' own logger (so its configuration still applies) that keeps secrets out."""
    logger = logging.getLogger(f"websockets.{side}.ccproto")
    if not any(isinstance(f, _NoSecrets) for f in logger.filters):
        logger.addFilter(_NoSecrets())
    return logger


def _max_size(limits: Limits) -> int:
    # The library refuses bigger messages itself; the connection object checks the exact limit again.
    return limits.max_message_bytes + 1


async def open_websocket(uri: str, *, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
                         **options: Any) -> WebSocketLink:
    """Connect to ``uri`` (``ws://`` or ``wss://``) and return the raw link (texts in and out, unchecked)."""
    if ssl is not None:
        options["ssl"] = ssl
    options.setdefault("logger", _logger("client"))
    websocket = await connect(uri, max_size=_max_size(limits), **options)
    return WebSocketLink(websocket)


async def serve_websocket(
    handler: Callable[[WebSocketLink], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS, **options: Any,
) -> Server:
    """Listen; each accepted WebSocket runs ``handler(link)`` and is closed when it returns."""

    async def accepted(websocket: ServerConnection) -> None:
        await handler(WebSocketLink(websocket))

    options.setdefault("logger", _logger("server"))
    return await serve(accepted, host, port, ssl=ssl, max_size=_max_size(limits), **options)


async def connect_stream(
    uri: str, machine: M, *, ssl: _ssl.SSLContext | None = None, clock: Clock = time.time, **options: Any,
) -> MessageStream[M]:
    """Connect to ``uri`` and return a checked stream whose connection object is ``machine`` (its ``limits``
    bound the messages); ``options`` go to ``websockets``' ``connect``."""
    limits = getattr(machine, "limits", DEFAULT_LIMITS)
    return MessageStream(machine, await open_websocket(uri, ssl=ssl, limits=limits, **options), clock=clock)


async def serve_streams(
    handler: Callable[[MessageStream[M]], Awaitable[None]], host: str, port: int, make: Callable[[], M], *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS, clock: Clock = time.time,
    **options: Any,
) -> Server:
    """Listen; each WebSocket runs ``handler(stream)`` with a fresh connection object ``make()``."""

    async def accepted(link: WebSocketLink) -> None:
        await handler(MessageStream(make(), link, clock=clock))

    return await serve_websocket(accepted, host, port, ssl=ssl, limits=limits, **options)
