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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from ccproto.capture.live import LiveCapture
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.testing.harness import BaseAdapter
from ccproto.testing.peers.base import ReferencePeer
from ccproto.transports import TextLink, open_link, parse_target
from ccproto.transports.base import Clock

__all__ = ["LiveAdapter", "Listener", "Listening", "connect_peer", "listen", "run_peer", "serve_peer"]

#: How often (seconds) a served peer is told the time when nothing arrives (its timers: expiring requests).
TICK = 1.0


class Listening(Protocol):
    """A listening server (``asyncio.Server`` or the ``websockets`` one): close it, then wait until closed."""

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


def _text(data: str | bytes) -> str:
    # Peers take text; invalid UTF-8 still reaches them (as replacement characters) so they can report it.
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


async def run_peer(
    peer: ReferencePeer, link: TextLink, conn: str, *, clock: Clock = time.time, live: LiveCapture | None = None,
    stimuli: Sequence[str] = (), pace: float = 0.2,
) -> None:
    """Drive ``peer`` over one open ``link`` until either side closes it (the loop :func:`serve_peer` runs)."""
    protocol, pending = peer.protocol, list(stimuli)

    async def send(texts: list[str]) -> None:
        for text in texts:
            if live is not None:
                live.message(conn=conn, sender=peer.role, protocol=protocol, now=clock(), text=text)
            await link.send_text(text)

    def closed(sender: Any, code: int | None, reason: str) -> None:
        if live is not None:
            live.close(conn=conn, sender=sender, protocol=protocol, now=clock(), code=code, reason=reason)

    if live is not None:
        # The recording holds the connection from its start, so `ccproto validate` never reads it as joined.
        live.opened(conn=conn, sender=Role.CLIENT, protocol=protocol, now=clock())
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


async def listen(
    protocol: str, handler: Callable[[TextLink], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
) -> Listening:
    """Listen for raw links of ``protocol``'s transport (framed TCP for the bridge, else WebSockets)."""
    if protocol == "bridge":
        from ccproto.transports.tcp import serve_framed

        return await serve_framed(handler, host, port, ssl=ssl, limits=limits)
    from ccproto.transports.ws import serve_websocket  # needs ccproto[websockets]

    return await serve_websocket(handler, host, port, ssl=ssl, limits=limits)


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

    async def accepted(link: TextLink) -> None:
        await run_peer(make_peer(), link, f"{name}-{next(numbers)}", clock=clock, live=live, stimuli=stimuli,
                       pace=pace)

    return await listen(protocol, accepted, host, port, ssl=ssl, limits=limits)


async def connect_peer(
    make_peer: Callable[[], ReferencePeer], target: str, *, ssl: _ssl.SSLContext | None = None,
    clock: Clock = time.time, live: LiveCapture | None = None, stimuli: Sequence[str] = (), pace: float = 0.2,
    limits: Limits = DEFAULT_LIMITS, name: str = "connect", retry: float = 0.05, connections: int | None = None,
) -> None:
    """Connect ``make_peer()`` to ``target``, and again each time the connection ends (``connections`` times, or
    until cancelled): a reference client that keeps coming back, as a live client under test would."""
    peer = make_peer()  # one peer across connections: a CCEB client resumes its session with its key
    for number in itertools.count(1) if connections is None else range(1, connections + 1):
        try:
            link = await open_link(target, ssl=ssl, limits=limits)
        except OSError:
            await asyncio.sleep(retry)
            continue
        try:
            await run_peer(peer, link, f"{name}-{number}", clock=clock, live=live, stimuli=stimuli, pace=pace)
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                await link.close()
        await asyncio.sleep(retry)


class LiveAdapter(BaseAdapter):
    """The harness's adapter for a live implementation: it connects to ``target``, or (made by :meth:`listening`)
    waits for the implementation to connect.

    ``target`` is ``tcp://``, ``tls://``, ``ws://`` or ``wss://``.  Each ``connect``
    starts a new connection.  ``receive`` waits up to ``wait`` seconds for the first
    message, then takes more until ``quiet`` seconds pass without one: a live
    implementation answers in real time, so these bound how long an answer may take.
    Its clock cannot be moved (``advance`` is ``False``: the 72-hour rules are
    skipped) and it cannot be stimulated.  Adapters made by one :meth:`factory` or
    :meth:`listening` share one event loop (no thread is started).
    """

    def __init__(
        self, target: str, *, runner: asyncio.Runner | None = None, ssl: _ssl.SSLContext | None = None,
        limits: Limits = DEFAULT_LIMITS, wait: float = 0.25, quiet: float = 0.02,
        incoming: Listener | None = None,
    ) -> None:
        parse_target(target)  # a bad target fails here, not in the middle of a run
        self.target = target
        self.runner = runner if runner is not None else asyncio.Runner()
        self.ssl = ssl
        self.limits = limits
        self.wait = wait
        self.quiet = quiet
        self.incoming = incoming
        self._link: TextLink | None = None
        self._done: asyncio.Event | None = None

    @classmethod
    def factory(cls, target: str, **options: Any) -> Callable[[], LiveAdapter]:
        """A function making adapters (one per example, as the harness wants) that share one event loop."""
        runner = asyncio.Runner()
        return lambda: cls(target, runner=runner, **options)

    @classmethod
    def listening(
        cls, protocol: str, target: str, *, ssl: _ssl.SSLContext | None = None, accept_timeout: float = 10.0,
        **options: Any,
    ) -> Listener:
        """Listen at ``target`` (``ssl``: a server context); the adapters it makes wait for the implementation
        (a client) to connect, once per example, up to ``accept_timeout`` seconds."""
        return Listener(cls, protocol, target, ssl=ssl, accept_timeout=accept_timeout, options=options)

    def connect(self) -> None:
        """Open a new connection to the target (or wait for the implementation's next one)."""
        self.close()
        if self.incoming is None:
            self._link = self.runner.run(open_link(self.target, ssl=self.ssl, limits=self.limits))
        else:
            self._link, self._done = self.incoming.next_link()

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
        if self._done is not None:
            self._done.set()  # lets the listener's handler return
            self._done = None


class Listener:
    """Where :meth:`LiveAdapter.listening` listens; calling it makes an adapter.  ``close()`` stops listening."""

    def __init__(
        self, adapter: type[LiveAdapter], protocol: str, target: str, *, ssl: _ssl.SSLContext | None,
        accept_timeout: float, options: dict[str, Any],
    ) -> None:
        _, host, port = parse_target(target)
        self.adapter, self.target, self.accept_timeout, self.options = adapter, target, accept_timeout, options
        self.runner = asyncio.Runner()
        self._queue: asyncio.Queue[tuple[TextLink, asyncio.Event]] | None = None
        self._waiting: set[asyncio.Event] = set()

        async def start() -> Listening:
            self._queue = asyncio.Queue()
            return await listen(protocol, self._accepted, host, port, ssl=ssl,
                                limits=options.get("limits", DEFAULT_LIMITS))

        self.server = self.runner.run(start())
        #: ``(host, port)`` actually bound (``port`` 0 in ``target`` picks a free one).
        self.address: tuple[str, int] = next(iter(getattr(self.server, "sockets", ()))).getsockname()[:2]

    async def _accepted(self, link: TextLink) -> None:
        assert self._queue is not None
        done = asyncio.Event()
        self._waiting.add(done)
        await self._queue.put((link, done))
        await done.wait()  # the transport closes the connection when this returns

    def next_link(self) -> tuple[TextLink, asyncio.Event]:
        """The implementation's next connection; ``TimeoutError`` if none comes within ``accept_timeout``."""
        assert self._queue is not None
        queue = self._queue
        try:
            return self.runner.run(asyncio.wait_for(queue.get(), self.accept_timeout))
        except TimeoutError:
            raise TimeoutError(
                f"the implementation did not connect to {self.target} within {self.accept_timeout} s"
            ) from None

    def __call__(self) -> LiveAdapter:
        return self.adapter(self.target, runner=self.runner, incoming=self, **self.options)

    def close(self) -> None:
        """Stop listening and end the event loop."""
        for done in self._waiting:
            done.set()  # connections never taken (or still held) are let go
        self.server.close()
        with contextlib.suppress(Exception):
            self.runner.run(asyncio.wait_for(self.server.wait_closed(), 5))
        self.runner.close()
