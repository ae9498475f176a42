"""What every transport shares: a link carrying whole texts, and the stream that puts a sans-I/O machine on it.

A *link* (:class:`TextLink`) is the transport-specific part: it moves whole
texts (one bridge frame, one WebSocket text message) and knows nothing of the
protocols.  :class:`MessageStream` is the same for every protocol: it asks the
connection object (``ControlChannel``, ``ProcessorSession``, ``CcebConnection``)
to check and encode what is sent, to check what arrives, and to expire what
waited too long, and it reads the clock so the connection object does not have to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeVar

import attrs

from ccproto.core.connection import Connection
from ccproto.core.errors import ConnectionLostError

__all__ = ["Clock", "Expired", "Machine", "MessageStream", "MessageT", "TextLink"]

#: Where a transport reads the time (seconds); tests pass a function of their own.
Clock = Callable[[], float]


class TextLink(Protocol):
    """One open connection of a transport, carrying whole texts.  Knows nothing of the protocols."""

    #: How the peer closed the link (WebSocket close code and reason), once it has.
    close_code: int | None
    close_reason: str

    async def send_text(self, text: str) -> None:
        """Send one whole message; raises ``ConnectionError`` once the link is closed."""

    async def receive(self) -> str | bytes | None:
        """The next whole message, or ``None`` once the peer closed the link.  Cancelling it loses nothing."""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the link (idempotent)."""


#: The messages a connection object sends and receives (``BridgeMessage``, ``ProcessorMessage``, ``CcebMessage``).
MessageT = TypeVar("MessageT")


#: What :class:`MessageStream` needs of a sans-I/O connection object: the contract every connection object meets,
#: written once (``core.connection.Connection``).  Generic over the protocol's message type.
Machine = Connection


@attrs.frozen
class Expired:
    """What waited longer than ``request_timeout`` for its answer; the connection object has let it go."""

    #: The expired items (pending requests, in-flight messages), oldest first.
    items: tuple[Any, ...]


# Covariant so that ``send``/``receive`` can read the message type off the machine (their ``self`` types):
# a ``MessageStream[ControlChannel]`` is a ``MessageStream[Machine[BridgeMessage]]``.
M = TypeVar("M", bound="Machine[Any]", covariant=True)


class MessageStream(Generic[M]):
    """A sans-I/O connection object on a live link: ``send(message)`` and ``receive()`` with the clock read here.

    Generic over the connection object (``MessageStream[ControlChannel]``); ``send`` takes and ``receive``
    returns that protocol's messages (``BridgeMessage`` here), as type checkers see it.

    ``receive()`` returns the next checked message, an :class:`Expired` when a
    deadline of the connection object passed first, or ``None`` once the peer
    closed the link with nothing outstanding; closing with something outstanding
    raises :class:`~ccproto.core.errors.ConnectionLostError` (and so does sending on
    a dead link).  Protocol errors are the connection object's own exceptions.
    ``machine`` stays inspectable throughout.
    """

    def __init__(self, machine: M, link: TextLink, *, clock: Clock = time.time) -> None:
        #: The sans-I/O connection object (inspect its state, pending requests, errors).
        self.machine = machine
        self.link = link
        self.clock = clock
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({type(self.machine).__name__}, closed={self._closed})"

    async def send(self: MessageStream[Machine[MessageT]], message: MessageT) -> None:
        """Check and send one message (``LocalProtocolError`` and nothing sent if it breaks the protocol)."""
        if self._closed:
            # Checked first: a half-closed TCP socket would take the bytes and lose them, and the
            # connection object would blame the message rather than the dead connection.
            raise self._lost("could not send: the connection is closed")
        text = self.machine.send_text(message, now=self.clock())
        try:
            await self.link.send_text(text)
        except ConnectionError as exc:
            raise self._lost(f"could not send: the connection is closed ({exc})") from None

    async def receive(self: MessageStream[Machine[MessageT]]) -> MessageT | Expired | None:
        """The next message (checked), an :class:`Expired`, or ``None`` once the link closed cleanly."""
        while not self._closed:
            timer = self.machine.get_timer()
            try:
                if timer is None:
                    data = await self.link.receive()
                else:
                    data = await asyncio.wait_for(self.link.receive(), max(0.0, timer - self.clock()))
            except TimeoutError:
                expired = self.machine.handle_timer(self.clock())
                if expired:
                    return Expired(expired)
                continue
            except ConnectionError as exc:
                data = None
                self.link.close_code, self.link.close_reason = 1006, str(exc)
            if data is None:
                self._peer_closed()
                return None
            return self.machine.receive_message(data, now=self.clock())
        return None

    def __aiter__(self: MessageStream[Machine[MessageT]]) -> AsyncIterator[MessageT | Expired]:
        return self._iterate()

    async def _iterate(self: MessageStream[Machine[MessageT]]) -> AsyncIterator[MessageT | Expired]:
        while (event := await self.receive()) is not None:
            yield event

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the link from our side (the connection object is told, for protocols that care)."""
        if not self._closed:
            self._closed = True
            self.machine.close(code, reason, now=self.clock())
        await self.link.close(code, reason)

    async def __aenter__(self) -> MessageStream[M]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _peer_closed(self) -> None:
        self._closed = True
        self.machine.receive_close(self.link.close_code, self.link.close_reason, now=self.clock())
        if self.machine.outstanding():
            raise self._lost("the connection closed")
        return None

    def _lost(self, what: str) -> ConnectionLostError:
        self._closed = True
        outstanding = self.machine.outstanding()
        return ConnectionLostError(
            f"{what} with {len(outstanding)} message(s) still waiting for an answer", outstanding=outstanding,
        )
