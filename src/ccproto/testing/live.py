"""The reference peers and the conformance harness over real transports (``ccproto serve``, ``ccproto conformance``).

:func:`serve_peer` runs a reference peer (any :class:`~ccproto.testing.peers.ReferencePeer`)
behind a listening socket, one peer per accepted connection; the peer checks
the traffic itself, so the transport passes texts through unchecked (a
planted-bug peer can really send its bug).  :class:`LiveAdapter` is the
harness's adapter for an implementation at a URL.

This is one of the I/O modules (with :mod:`ccproto.transports` and the CLI): it
reads the clock and runs event loops; the peers and the harness stay pure.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl as _ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ccproto.capture.live import LiveCapture
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.testing.harness import BaseAdapter
from ccproto.testing.peers.base import ReferencePeer
from ccproto.transports import TextLink, open_link, parse_target
from ccproto.transports.base import Clock

__all__ = ["LiveAdapter", "Listening", "serve_peer"]

#: How often (seconds) a served peer is told the time when nothing arrives (its timers: expiring requests).
TICK = 1.0


class Listening(Protocol):
    """A listening server (``asyncio.Server`` or the ``websockets`` one): close it, then wait until closed."""

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


def _text(data: str | bytes) -> str:
    # Peers take text; invalid UTF-8 still reaches them (as replacement characters) so they can report it.
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


async def serve_peer(
    protocol: str, make_peer: Callable[[], ReferencePeer], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, clock: Clock = time.time, live: LiveCapture | None = None,
    stimuli: Sequence[str] = (), pace: float = 0.2, limits: Limits = DEFAULT_LIMITS, name: str = "serve",
) -> Listening:
    """Listen on ``host:port``; each connection gets ``make_peer()``, told of every text and of the time.

    ``live`` sees (prints, checks, records) every message; ``stimuli`` are given to
    each connection's peer in turn, each once the connection has been quiet for
    ``pace`` seconds (so a client meets the peer's own initiatives).
    """
    numbers = itertools.count(1)

    async def run(link: TextLink) -> None:
        peer, conn, pending = make_peer(), f"{name}-{next(numbers)}", list(stimuli)

        async def send(texts: list[str]) -> None:
            for text in texts:
                if live is not None:
                    live.message(conn=conn, sender=peer.role, protocol=protocol, now=clock(), text=text)
                await link.send_text(text)

        def closed(sender: Any, code: int | None, reason: str) -> None:
            if live is not None:
                live.close(conn=conn, sender=sender, protocol=protocol, now=clock(), code=code, reason=reason)

        try:
            await send(peer.connect(now=clock()))
            while True:
                try:
                    data = await asyncio.wait_for(link.receive(), pace if pending else TICK)
                except TimeoutError:
                    await send(peer.stimulate(pending.pop(0), now=clock()) if pending else peer.advance(now=clock()))
                    continue
                if data is None:
                    closed(peer.role.peer, link.close_code, link.close_reason)
                    break
                text = _text(data)
                if live is not None:
                    live.message(conn=conn, sender=peer.role.peer, protocol=protocol, now=clock(), text=text)
                await send(peer.receive(text, now=clock()))
        except ConnectionError:
            closed(peer.role.peer, 1006, "connection lost")
        finally:
            peer.disconnect(now=clock())
        closed(peer.role, link.close_code, link.close_reason)  # our side closes too: the connection is over

    if protocol == "bridge":
        from ccproto.transports.tcp import serve_framed

        return await serve_framed(run, host, port, ssl=ssl, limits=limits)
    from ccproto.transports.ws import serve_websocket  # needs ccproto[websockets]

    return await serve_websocket(run, host, port, ssl=ssl, limits=limits)


class LiveAdapter(BaseAdapter):
    """The harness's adapter for an implementation listening at ``target`` (``tcp://``, ``tls://``, ``ws://``, ``wss://``).

    Each ``connect`` opens a new connection.  ``receive`` waits up to ``wait``
    seconds for the first message, then takes more until ``quiet`` seconds pass
    without one: a live implementation answers in real time, so these bound how
    long an answer may take.  Its clock cannot be moved (``advance`` is ``False``:
    the 72-hour rules are skipped) and it cannot be stimulated.  Adapters made by
    one :meth:`factory` share one event loop (no thread is started).
    """

    def __init__(
        self, target: str, *, runner: asyncio.Runner | None = None, ssl: _ssl.SSLContext | None = None,
        limits: Limits = DEFAULT_LIMITS, wait: float = 0.25, quiet: float = 0.02,
    ) -> None:
        parse_target(target)  # a bad target fails here, not in the middle of a run
        self.target = target
        self.runner = runner if runner is not None else asyncio.Runner()
        self.ssl = ssl
        self.limits = limits
        self.wait = wait
        self.quiet = quiet
        self._link: TextLink | None = None

    @classmethod
    def factory(cls, target: str, **options: Any) -> Callable[[], LiveAdapter]:
        """A function making adapters (one per example, as the harness wants) that share one event loop."""
        runner = asyncio.Runner()
        return lambda: cls(target, runner=runner, **options)

    def connect(self) -> None:
        """Open a new connection to the target."""
        self.close()
        self._link = self.runner.run(open_link(self.target, ssl=self.ssl, limits=self.limits))

    def send(self, text: str) -> None:
        """Send one message (to a connection the implementation closed, nothing is sent: its silence then fails)."""
        if self._link is not None:
            with contextlib.suppress(ConnectionError):
                self.runner.run(self._link.send_text(text))

    def receive(self) -> list[str]:
        """What the implementation sent (waiting as the class says)."""
        return self.runner.run(self._take()) if self._link is not None else []

    async def _take(self) -> list[str]:
        assert self._link is not None
        texts: list[str] = []
        timeout = self.wait
        while True:
            try:
                data = await asyncio.wait_for(self._link.receive(), timeout)
            except (TimeoutError, ConnectionError):
                return texts
            if data is None:
                return texts
            texts.append(_text(data))
            timeout = self.quiet

    def close(self) -> None:
        """Close the current connection (if any)."""
        if self._link is not None:
            link, self._link = self._link, None
            with contextlib.suppress(ConnectionError, OSError):
                self.runner.run(link.close())
