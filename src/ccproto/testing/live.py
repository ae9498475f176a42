"""The reference peers and the conformance harness over real transports (``ccproto serve``, ``ccproto conformance``).

:func:`serve_peer` runs a reference peer (any :class:`~ccproto.testing.peers.ReferencePeer`)
behind a listening socket, one peer per accepted connection; the peer checks
the traffic itself, so the transport passes texts through unchecked (a
planted-bug peer can really send its bug).  :class:`LiveAdapter` is the
harness's adapter for an implementation at a URL.

The *test-clock hook* (docs/testing.md, "Time travel: the test-clock hook") lets
the harness move a live implementation's clock, so the rules that depend on time
(CCEB sessions resumable 72 h) are tested live: a test build of the
implementation listens on a separate endpoint for ``{"advance": S}`` and answers
``{"now": T}``.  :meth:`LiveAdapter.advance` sends it (:func:`advance_clock`);
:func:`serve_clock` is the hook of ``ccproto serve --test-clock``, moving a
:class:`MovableClock` that the served peers read.

This is one of the I/O modules (with :mod:`ccproto.transports` and the CLI): it
reads the clock and runs event loops; the peers and the harness stay pure.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import math
import os
import select
import ssl as _ssl
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs

from ccproto.capture.live import LiveCapture
from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import dumps, json_type, parse_object
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.protocols import get as get_protocol
from ccproto.testing.harness import BaseAdapter
from ccproto.testing.peers.base import ReferencePeer
from ccproto.transports import TextLink, open_link, parse_target
from ccproto.transports.base import Clock

__all__ = [
    "CLOCK_ADVANCE",
    "CLOCK_ERROR",
    "CLOCK_NOW",
    "ClockHookError",
    "LiveAdapter",
    "Listener",
    "Listening",
    "MovableClock",
    "NonBlockingOutput",
    "PeerServer",
    "ServeLimits",
    "advance_clock",
    "answer_clock_request",
    "clock_request",
    "limit_accept_errors",
    "connect_peer",
    "default_max_connections",
    "listen",
    "read_clock_reply",
    "read_clock_request",
    "run_peer",
    "serve_clock",
    "serve_peer",
]

#: How often (seconds) a served peer is told the time when nothing arrives (its timers: expiring requests).
TICK = 1.0
#: How long (seconds) :class:`LiveAdapter` waits for a message when none is due (its ``quiet``): a step that owes
#: nothing costs this much, and whatever the implementation sends later is read at a later step (measured in
#: issue 21: 704 such waits in a 30-example processor run, 14 s of its 19 s at the former 0.02 s).
QUIET = 0.005
#: How long (seconds) :class:`LiveAdapter` waits for a first message after the harness lets a moment pass
#: (``linger``, its ``listen`` step), though nothing is due: the moment in which a server's own messages (events
#: it streams) arrive.
LINGER = 0.01
#: How long (seconds) :class:`LiveAdapter` waits for more once an awaited message has come: long enough to
#: take what has already arrived behind it, not to wait for what is still on its way.
BACKLOG = 0.001

# -- the test-clock hook's wire contract (docs/testing.md, "Time travel: the test-clock hook") ----------------

#: The request's one member: ``{"advance": S}`` moves the clock ``S`` seconds forward (a non-negative number).
CLOCK_ADVANCE = "advance"
#: The reply's member: ``{"now": T}``, the clock after moving (epoch seconds).
CLOCK_NOW = "now"
#: The refusal's member: ``{"error": "why"}`` (the clock did not move).
CLOCK_ERROR = "error"
#: How the hook is reached: one JSON text per WebSocket text message (``ws``, ``wss``), or per frame of the
#: 4-byte big-endian length prefix that ``tcp://`` and ``tls://`` targets use (:mod:`ccproto.transports.tcp`).
CLOCK_SCHEMES = ("ws", "wss", "tcp", "tls")
#: The most one request may move ``ccproto serve``'s clock (seconds: ten years); more is refused.
MAX_ADVANCE = 10 * 365 * 86400.0
#: How long (seconds) :meth:`LiveAdapter.advance` waits for the hook to connect and answer.
CLOCK_TIMEOUT = 10.0
#: How long (seconds) :func:`serve_clock` lets the peers of connections that already ended finish before it
#: moves the clock (so their ends are counted at the time they happened).
SETTLE_TIMEOUT = 2.0
#: Moves a :class:`MovableClock` remembers (its ``moves``).
MOVES_KEPT = 1024


class ClockHookError(RuntimeError):
    """The test-clock hook did not answer (unreachable, silent, closed, not the hook) or refused to move the clock.

    The message names the hook's target without its credentials or query.
    """


def printable_target(target: str) -> str:
    """``target`` as it may be printed: no user, password, query or fragment (they may hold credentials)."""
    parts = urllib.parse.urlsplit(target)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _seconds(value: object) -> float:
    """``value`` as a move of the clock: a finite, non-negative number (a bool is not one); ``ValueError`` else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{CLOCK_ADVANCE!r} must be a number of seconds, not {json_type(value)}")
    seconds = float(value)  # an int too big for a float raises OverflowError
    if not math.isfinite(seconds):
        raise ValueError(f"{CLOCK_ADVANCE!r} must be finite")
    if seconds < 0:
        raise ValueError(f"{CLOCK_ADVANCE!r} must not be negative (a clock only moves forward)")
    return seconds


def clock_request(seconds: float) -> str:
    """The text asking a test-clock hook to move its clock ``seconds`` forward: ``{"advance": seconds}``.

    ``ValueError`` if ``seconds`` is not a finite, non-negative number.
    """
    return dumps({CLOCK_ADVANCE: _seconds(seconds)})


def read_clock_request(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> float:
    """The seconds a test-clock request asks for; ``ValueError`` (its text says why, without the request) when
    the request is not exactly ``{"advance": S}`` with ``S`` a finite, non-negative number."""
    try:
        value = parse_object(data, limits=limits)
    except ProtocolError as exc:
        raise ValueError(f"the request is not a JSON object: {exc}") from None
    unknown = sorted(set(value) - {CLOCK_ADVANCE})
    if unknown:
        raise ValueError(f'unknown member(s) {", ".join(map(repr, unknown))}: the request is {{"{CLOCK_ADVANCE}": S}}')
    if CLOCK_ADVANCE not in value:
        raise ValueError(f"the request has no {CLOCK_ADVANCE!r} member")
    try:
        return _seconds(value[CLOCK_ADVANCE])
    except OverflowError:  # an integer beyond any double
        raise ValueError(f"{CLOCK_ADVANCE!r} is too large") from None


def read_clock_reply(data: str | bytes, *, where: str = "the test-clock hook") -> float:
    """The ``now`` of a test-clock hook's reply; :class:`ClockHookError` for an ``error`` reply or anything else
    (``where`` names the hook in the message)."""
    try:
        value = parse_object(data)
    except ProtocolError:
        raise ClockHookError(f"{where} answered with something that is not a JSON object") from None
    if set(value) == {CLOCK_ERROR} and isinstance(value[CLOCK_ERROR], str):
        reason = value[CLOCK_ERROR]
        shown = reason if len(reason) <= 200 else reason[:200] + "..."
        raise ClockHookError(f"{where} refused to move the clock: {shown!r}")
    now = value.get(CLOCK_NOW) if set(value) == {CLOCK_NOW} else None
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ClockHookError(f'{where} did not answer {{"{CLOCK_NOW}": T}} with T a number of seconds')
    return float(now)


async def advance_clock(
    target: str, seconds: float, *, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
    timeout: float = CLOCK_TIMEOUT,
) -> float:
    """Ask the test-clock hook at ``target`` to move its clock ``seconds`` forward; returns its ``now``.

    One connection per call: connect, send ``{"advance": seconds}``, read the reply, close.
    :class:`ClockHookError` when the hook cannot be reached, does not answer within ``timeout``
    seconds, or answers ``{"error": ...}`` or anything but ``{"now": T}``.
    """
    request = clock_request(seconds)
    where = f"the test-clock hook at {printable_target(target)}"
    link: TextLink | None = None
    try:
        async with asyncio.timeout(timeout):
            link = await open_link(target, ssl=ssl, limits=limits)
            await link.send_text(request)
            data = await link.receive()
    except TimeoutError:
        raise ClockHookError(f"{where} did not answer within {timeout:g} s") from None
    except OSError as exc:  # refused, unreachable, reset (ConnectionError is one)
        raise ClockHookError(f"{where} did not answer: {exc.strerror or type(exc).__name__}") from None
    except Exception as exc:  # not a WebSocket endpoint, a bad handshake, TLS: the message may repeat the URL
        raise ClockHookError(f"{where} did not answer ({type(exc).__name__})") from None
    finally:
        if link is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.close(), timeout)
    if data is None:
        raise ClockHookError(f"{where} did not answer: it closed the connection")
    return read_clock_reply(data, where=where)


class MovableClock:
    """A served peer's clock that a test-clock hook moves: ``base()`` plus an offset that only grows.

    Call it for the time (it is a :data:`~ccproto.transports.base.Clock`).  :func:`run_peer` given one
    wakes its peer as soon as the clock moves (``peer.advance(now=...)``) rather than at its next tick,
    and :func:`serve_clock` moves it.  A test build's feature: nothing moves it unless a hook is served.
    """

    def __init__(self, base: Clock = time.time) -> None:
        self.base = base
        #: How far (seconds) the clock has been moved in all.
        self.offset = 0.0
        #: The moves asked (seconds), oldest first (the last :data:`MOVES_KEPT`).
        self.moves: collections.deque[float] = collections.deque(maxlen=MOVES_KEPT)
        self._wakers: set[asyncio.Future[None]] = set()
        self._running: dict[TextLink, asyncio.Future[None]] = {}

    def __call__(self) -> float:
        return self.base() + self.offset

    def __repr__(self) -> str:
        return f"{type(self).__name__}(offset={self.offset:g}, moves={len(self.moves)})"

    def move(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward (``ValueError`` unless finite and non-negative); returns the time
        after moving, and wakes every peer waiting in :func:`run_peer`."""
        seconds = _seconds(seconds)
        self.offset += seconds
        self.moves.append(seconds)
        for waker in self._wakers:
            if not waker.done():
                waker.set_result(None)
        return self()

    async def moved(self) -> None:
        """Return at the clock's next move."""
        waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wakers.add(waker)
        try:
            await waker
        finally:
            self._wakers.discard(waker)

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait (up to ``timeout`` seconds) until the peers whose connection already ended have finished, so they
        count the end at the time it happened, not at the moved time."""
        ending = [done for link, done in self._running.items() if _ended(link)]
        if ending:
            await asyncio.wait(ending, timeout=timeout)

    @contextlib.contextmanager
    def _running_on(self, link: TextLink) -> Iterator[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._running[link] = done
        try:
            yield
        finally:
            del self._running[link]
            done.set_result(None)


def _ended(link: TextLink) -> bool:
    """Whether ``link``'s other side has closed it (its peer's loop is about to see the end)."""
    websocket = getattr(link, "websocket", None)  # a transports.ws.WebSocketLink
    if websocket is not None:
        return getattr(getattr(websocket, "state", None), "name", "") in ("CLOSING", "CLOSED")
    reader = getattr(link, "reader", None)  # a transports.tcp.FramedLink
    return isinstance(reader, asyncio.StreamReader) and reader.at_eof()


async def answer_clock_request(data: str | bytes, clock: MovableClock, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The hook's reply to one request: ``{"now": T}`` after moving ``clock``, or ``{"error": ...}`` (not moved)."""
    try:
        seconds = read_clock_request(data, limits=limits)
        if seconds > MAX_ADVANCE:
            raise ValueError(f"{CLOCK_ADVANCE!r} may be at most {MAX_ADVANCE:.0f} s")
    except ValueError as exc:
        return dumps({CLOCK_ERROR: str(exc)})
    await clock.settle()
    return dumps({CLOCK_NOW: clock.move(seconds)})


async def serve_clock(
    clock: MovableClock, target: str, *, ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
) -> Listening:
    """Listen at ``target`` for test-clock requests and move ``clock`` (the hook of ``ccproto serve --test-clock``).

    ``target`` is ``ws://HOST:PORT[/PATH]`` (any path is answered), ``tcp://HOST:PORT``, or ``wss://`` /
    ``tls://`` with ``ssl`` (a server context).  Each connection may send any number of requests; each gets
    its reply (:func:`answer_clock_request`).  Port 0 picks a free port (the server's ``sockets`` say which).
    """
    scheme, host, port = parse_target(target)
    if scheme not in CLOCK_SCHEMES:  # pragma: no cover - parse_target knows no other
        raise ValueError(f"a test clock is {'|'.join(CLOCK_SCHEMES)}://, not {target!r}")
    secure = scheme in ("wss", "tls")
    if secure and ssl is None:
        raise ValueError(f"a {scheme}:// test clock needs a server TLS context")
    context = ssl if secure else None

    async def handle(link: TextLink) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                try:
                    data = await link.receive()
                except ProtocolError as exc:  # a frame over the size limit: the stream cannot go on
                    await link.send_text(dumps({CLOCK_ERROR: str(exc)}))
                    return
                if data is None:
                    return
                await link.send_text(await answer_clock_request(data, clock, limits=limits))

    if scheme in ("tcp", "tls"):
        from ccproto.transports.tcp import serve_framed

        return await serve_framed(handle, host, port, ssl=context, limits=limits)
    from ccproto.transports.ws import serve_websocket  # needs ccproto[websockets]

    return await serve_websocket(handle, host, port, ssl=context, limits=limits)


class NonBlockingOutput:
    """Lines for a file descriptor (``ccproto serve``'s standard output), written only as fast as its reader takes
    them, so that a reader that stops reading never stops the event loop (issue 21).

    Why not ``O_NONBLOCK``: it belongs to the open file, which a terminal shares with the shell (which would then
    see ``EAGAIN``); why not a thread: the I/O modules start none.  Instead a chunk is written only when
    ``select`` says the descriptor is writable, and never more than ``PIPE_BUF`` bytes at once, which a pipe
    that is writable takes whole without blocking (a file or a terminal is always taken).  What cannot be
    written yet waits in a buffer of at most ``limit`` bytes; lines beyond it are dropped and counted
    (``dropped``), and a line saying how many is written once there is room again.  Inside a running event
    loop, the rest is written as the descriptor becomes writable (``add_writer``).
    """

    def __init__(self, fd: int, *, limit: int = 1 << 20) -> None:
        self.fd = fd
        self.limit = limit
        #: Lines dropped because the buffer was full (the reader did not read).
        self.dropped = 0
        self._unreported = 0
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._broken = False
        self._watched: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> int:
        """Bytes not written yet."""
        return self._size

    def write(self, line: str) -> None:
        """Queue ``line`` (a newline is added) and write what the descriptor takes now; drop it if the buffer is
        full."""
        if self._broken:
            return
        data = (line + "\n").encode("utf-8", "backslashreplace")
        if self._size + len(data) > self.limit:
            self.dropped += 1
            self._unreported += 1
            return
        if self._unreported:
            note = f"... {self._unreported} line(s) not written: standard output was not read fast enough\n"
            self._unreported = 0
            self._append(note.encode())
        self._append(data)
        self.flush()

    def _append(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)

    def flush(self) -> bool:
        """Write what the descriptor takes without blocking; ``True`` when everything is written."""
        while self._chunks and not self._broken:
            try:
                if not select.select([], [self.fd], [], 0)[1]:
                    break
                chunk = self._chunks[0]
                written = os.write(self.fd, chunk[:select.PIPE_BUF])
            except BlockingIOError:
                break
            except (OSError, ValueError):  # the reader is gone (EPIPE), the descriptor closed: nothing to write to
                self._broken = True
                self._chunks.clear()
                self._size = 0
                break
            self._size -= written
            if written < len(chunk):
                self._chunks[0] = chunk[written:]
            else:
                self._chunks.popleft()
        self._watch()
        return not self._chunks

    def _watch(self) -> None:
        """Have the running event loop (if any) call ``flush`` when the descriptor is writable, while anything waits."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._watched is not None and (not self._chunks or self._watched is not loop):
            with contextlib.suppress(Exception):
                self._watched.remove_writer(self.fd)
            self._watched = None
        if self._chunks and loop is not None and self._watched is None:
            try:
                loop.add_writer(self.fd, self.flush)
            except (OSError, ValueError, NotImplementedError):  # a regular file (never pending) or no selector
                return
            self._watched = loop

    def close(self, timeout: float = 2.0) -> bool:
        """Write what is left, waiting at most ``timeout`` seconds for the reader; ``True`` if all was written.

        What a reader never takes is given up: ending (after Ctrl-C) matters more than a line nobody reads.
        """
        deadline = time.monotonic() + timeout
        while not self.flush():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(OSError, ValueError):
                select.select([], [self.fd], [], remaining)
        return True


class Listening(Protocol):
    """A listening server (``asyncio.Server`` or the ``websockets`` one): close it, then wait until closed."""

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


def _text(data: str | bytes) -> str:
    """What crossed, as the text a capture record holds: bytes that are not UTF-8 keep each invalid byte as a
    lone surrogate (``surrogateescape``), which no JSON parser of ccproto accepts, so the recording and the
    live check refuse it as the connection object did (never U+FFFD, which would pass: issue 22)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def default_max_connections() -> int:
    """The default of :attr:`ServeLimits.max_connections`: 1,024, or fewer when the process may open fewer files
    (its soft ``RLIMIT_NOFILE`` less 64 for everything else), so that clients can never exhaust the server's
    file descriptors (asyncio then logs an accept error in a loop and good clients are locked out)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return 1024
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(1, min(1024, soft - 64))


@attrs.frozen(kw_only=True)
class ServeLimits:
    """The bounds of a served peer's listening socket (``ccproto serve``; docs/security.md, "Serving").

    Timeouts are in real seconds (the event loop's clock), not the peers' clock: ``--test-clock`` moving
    the peers' time by 72 hours must not close every connection.  0 turns a timeout off.
    """

    #: Connections served at once; one more is refused at once (WebSocket close 1013 "try again later"; the
    #: bridge's TCP connection is closed).
    max_connections: int = attrs.field(factory=default_max_connections)
    #: Seconds a new connection may stay silent before the other side's first message (a CCEB hello, a
    #: processor command, a CTI client's answer to the bridge's first request); then closed with 1008.
    hello_timeout: float = 10.0
    #: Seconds a connection may stay silent after that; then closed with 1000.
    idle_timeout: float = 600.0
    #: Seconds a shutdown waits for the connections to close (1001) before it drops them.
    shutdown_timeout: float = 5.0


#: WebSocket close codes (RFC 6455 §7.4.1) a served peer closes with; the bridge's TCP has none (it just closes).
NORMAL_CLOSURE, GOING_AWAY, UNSUPPORTED_DATA, POLICY_VIOLATION, MESSAGE_TOO_BIG, TRY_AGAIN_LATER = (
    1000, 1001, 1003, 1008, 1009, 1013)
#: How long (seconds) a served peer waits for its closing handshake before it drops the connection.
CLOSE_TIMEOUT = 2.0


async def run_peer(
    peer: ReferencePeer, link: TextLink, conn: str, *, clock: Clock = time.time, live: LiveCapture | None = None,
    stimuli: Sequence[str] = (), pace: float = 0.2, tick: float | None = None, stop: asyncio.Event | None = None,
    hello_timeout: float = 0.0, idle_timeout: float = 0.0,
) -> None:
    """Drive ``peer`` over one open ``link`` until either side closes it (the loop :func:`serve_peer` runs).

    The peer is told the time (``peer.advance``) every ``tick`` seconds, with or without traffic (default
    :data:`TICK`; a peer that streams events on its own wants it short), and at once whenever ``clock`` is a
    :class:`MovableClock` that moves.  The peer gets what crossed as it crossed (bytes stay bytes, so the
    connection object refuses invalid UTF-8 itself); a binary WebSocket frame is refused (close 1003), and so is
    a bridge frame the link refuses (over ``max_message_bytes``, cut short).  ``stop`` being set closes the
    connection (1001); ``hello_timeout``/``idle_timeout`` (real seconds, 0: none) close a silent one
    (:class:`ServeLimits`).  Every close is recorded, with the side that closed.
    """
    tick = TICK if tick is None else tick
    options: dict[str, Any] = {"clock": clock, "live": live, "stimuli": stimuli, "pace": pace, "tick": tick,
                               "stop": stop, "hello_timeout": hello_timeout, "idle_timeout": idle_timeout}
    if isinstance(clock, MovableClock):
        with clock._running_on(link):
            await _run_peer(peer, link, conn, **options)
    else:
        await _run_peer(peer, link, conn, **options)


#: What :func:`_next` returns when nothing arrived in time, when the clock moved first, and when asked to stop.
_QUIET, _MOVED, _STOPPED = object(), object(), object()


async def _next(
    link: TextLink, timeout: float, clock: Clock, stopping: asyncio.Future[Any] | None = None,
) -> str | bytes | object | None:
    """The link's next message (``None``: closed), or :data:`_QUIET` after ``timeout`` seconds, or :data:`_MOVED`
    as soon as a :class:`MovableClock` moves, or :data:`_STOPPED` once ``stopping`` is done.  The link's
    ``receive`` is cancelled, which loses nothing.

    Never ``asyncio.wait_for`` on the receive: on Python 3.11 it can swallow a cancellation when the receive
    finishes at the same moment, which a client that never pauses makes likely (serve then never stopped).
    """
    waiting: list[asyncio.Future[Any]] = [] if stopping is None else [stopping]
    moved = asyncio.ensure_future(clock.moved()) if isinstance(clock, MovableClock) else None
    if moved is not None:
        waiting.append(moved)
    receiving = asyncio.ensure_future(link.receive())
    try:
        await asyncio.wait((receiving, *waiting), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if moved is not None:
            moved.cancel()
        if not receiving.done():
            receiving.cancel()
            await asyncio.wait((receiving,))  # let it end (an outer cancellation still propagates)
    if not receiving.cancelled():
        return receiving.result()  # arrived (or failed: ConnectionError) before the cancellation took
    if stopping is not None and stopping.done():
        return _STOPPED
    return _MOVED if moved is not None and moved.done() and not moved.cancelled() else _QUIET


async def _run_peer(
    peer: ReferencePeer, link: TextLink, conn: str, *, clock: Clock, live: LiveCapture | None,
    stimuli: Sequence[str], pace: float, tick: float, stop: asyncio.Event | None, hello_timeout: float,
    idle_timeout: float,
) -> None:
    protocol, pending = peer.protocol, list(stimuli)
    # A framed link carries bytes by design; on WebSockets, bytes mean a binary frame.
    text_frames = get_protocol(protocol).transport == "websocket"

    async def send(texts: list[str]) -> None:
        for text in texts:
            if live is not None:
                live.message(conn=conn, sender=peer.role, protocol=protocol, now=clock(), text=text)
            await link.send_text(text)

    def closed(sender: Any, code: int | None, reason: str, refused: ProtocolError | None = None) -> None:
        if live is not None:
            live.close(conn=conn, sender=sender, protocol=protocol, now=clock(), code=code, reason=reason,
                       refused=refused)

    if live is not None:
        # The recording holds the connection from its start, so `ccproto validate` never reads it as joined.
        live.opened(conn=conn, sender=Role.CLIENT, protocol=protocol, now=clock())
    loop = asyncio.get_running_loop()
    told = started = loop.time()  # when the peer was last told the time; when the connection opened
    heard: float | None = None  # when the other side last sent something
    ending: tuple[int, str] | None = None  # why this side closes (close code, reason), if it does
    refused: ProtocolError | None = None  # what the link refused, if that is why
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None

    def silence() -> tuple[float, tuple[int, str]] | None:
        """When the other side's silence closes the connection, and with what."""
        if heard is None:
            if hello_timeout > 0:
                return started + hello_timeout, (
                    POLICY_VIOLATION, f"nothing received within {hello_timeout:g} s of connecting")
            return None
        if idle_timeout > 0:
            return heard + idle_timeout, (NORMAL_CLOSURE, f"nothing received for {idle_timeout:g} s")
        return None

    try:
        await send(peer.connect(now=clock()))
        while True:
            if stop is not None and stop.is_set():
                ending = (GOING_AWAY, "server shutting down")
                break
            wait = pace if pending else max(0.0, told + tick - loop.time())
            limit = silence()
            if limit is not None:
                if loop.time() >= limit[0]:
                    ending = limit[1]
                    break
                wait = min(wait, limit[0] - loop.time())
            data = await _next(link, wait, clock, stopping)
            if data is _STOPPED:
                continue
            if data is _MOVED:
                await send(peer.advance(now=clock()))
                told = loop.time()
                continue
            if data is _QUIET:
                if limit is not None and loop.time() >= limit[0]:
                    continue  # closed at the top of the loop
                if pending:
                    await send(peer.stimulate(pending.pop(0), now=clock()))
                else:
                    await send(peer.advance(now=clock()))
                    told = loop.time()
                continue
            if data is None:
                closed(peer.role.peer, link.close_code, link.close_reason)
                break
            assert isinstance(data, str | bytes)
            heard = loop.time()
            if live is not None:
                live.message(conn=conn, sender=peer.role.peer, protocol=protocol, now=clock(), text=_text(data))
            if text_frames and isinstance(data, bytes):
                # The protocols send text frames only; a binary one is refused as RFC 6455 says (1003), never
                # read as if it were text (an action in a binary frame was acked: issue 22).
                ending = (UNSUPPORTED_DATA, "binary frame: the protocol sends text frames only")
                break
            await send(peer.receive(data, now=clock()))
            if not pending and loop.time() - told >= tick:
                # A client that never pauses (a fast harness) must not stop the peer's clock: its timers and what
                # it streams on its own (events while a report runs) go on every ``tick``, traffic or not.
                await send(peer.advance(now=clock()))
                told = loop.time()
    except ConnectionError:
        closed(peer.role.peer, 1006, "connection lost")
    except ProtocolError as exc:
        # The link refused what arrived before it was a message: a bridge frame over max_message_bytes (refused
        # from its length prefix) or cut short.  The connection cannot go on; the report says why.
        ending = (MESSAGE_TOO_BIG if exc.code.endswith("too-large") else POLICY_VIOLATION, f"{exc.code}: {exc}")
        refused = exc
    except asyncio.CancelledError:
        # Dropped (a shutdown that waited long enough): the recording still ends the connection.
        closed(peer.role, GOING_AWAY, "server shutting down: connection dropped")
        raise
    finally:
        if stopping is not None:
            stopping.cancel()
        peer.disconnect(now=clock())
    if ending is not None:
        code, reason = ending
        closed(peer.role, code if text_frames else None, reason, refused)
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            await asyncio.wait_for(link.close(code, _close_reason(reason)), CLOSE_TIMEOUT)
        return
    closed(peer.role, link.close_code, link.close_reason)  # our side closes too: the connection is over


def _close_reason(reason: str) -> str:
    """``reason`` cut to what a WebSocket close frame holds (123 bytes of UTF-8)."""
    return reason.encode("utf-8")[:123].decode("utf-8", "ignore")


async def listen(
    protocol: str, handler: Callable[[TextLink], Awaitable[None]], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS,
) -> Listening:
    """Listen for raw links of ``protocol``'s transport (framed TCP, or WebSockets)."""
    if get_protocol(protocol).transport == "framed":
        from ccproto.transports.tcp import serve_framed

        return await serve_framed(handler, host, port, ssl=ssl, limits=limits)
    from ccproto.transports.ws import serve_websocket  # needs ccproto[websockets]

    return await serve_websocket(handler, host, port, ssl=ssl, limits=limits)


#: What asyncio says when accepting a connection fails for want of file descriptors (or memory).
ACCEPT_ERROR = "socket.accept() out of system resource"


def limit_accept_errors(loop: asyncio.AbstractEventLoop, *, every: float = 1.0) -> None:
    """Let ``loop`` report a failed accept (no file descriptor left) at most once every ``every`` seconds.

    asyncio retries the accept after a second, but Python 3.11 reports each of up to 100 failures per retry,
    with a traceback: 805 MB of standard error in 30 s (issue 22).  The count of those not reported is in the
    next report.  Other errors go to the handler that was there before.
    """
    previous = loop.get_exception_handler()
    last, unreported = -math.inf, 0

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal last, unreported
        if context.get("message") == ACCEPT_ERROR:
            now = loop.time()
            if now - last < every:
                unreported += 1
                return
            more = f" ({unreported} more since the last report)" if unreported else ""
            context = {key: value for key, value in context.items() if key != "exception"}
            context["message"] = (f"{ACCEPT_ERROR}{more}: no file descriptor left; lower --max-connections or "
                                  "raise the open-file limit (ulimit -n)")
            last, unreported = now, 0
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


class PeerServer:
    """A listening served peer (what :func:`serve_peer` returns): the connections it runs, within its bounds.

    ``close()`` and ``wait_closed()`` stop listening (a :class:`Listening`); :meth:`shutdown` also ends every
    connection in bounded time.
    """

    def __init__(self, limits: ServeLimits, notify: Callable[[str], None] | None = None) -> None:
        self.limits = limits
        self.notify = notify
        #: The listening server of the transport (set by :func:`serve_peer`).
        self.server: Listening | None = None
        #: Connections running now, each with the event that stops it.
        self.running: dict[asyncio.Task[Any], asyncio.Event] = {}
        #: Connections refused because ``max_connections`` were running.
        self.refused = 0
        #: Connections a shutdown had to drop (still open after ``shutdown_timeout``).
        self.dropped = 0
        self.stopping = False

    @property
    def sockets(self) -> tuple[Any, ...]:
        """The listening sockets."""
        return tuple(getattr(self.server, "sockets", ()) or ())

    def close(self) -> None:
        """Stop listening (the connections go on: see :meth:`shutdown`)."""
        if self.server is not None:
            close = self.server.close
            try:
                close(close_connections=False)  # type: ignore[call-arg]  # websockets: the peers close them
            except TypeError:
                close()

    async def wait_closed(self) -> None:
        """Wait until the listening socket is closed."""
        if self.server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), self.limits.shutdown_timeout)

    async def shutdown(self) -> None:
        """Stop listening, close every connection (1001 "server shutting down"), waiting at most
        ``shutdown_timeout`` seconds; connections still open then are dropped (counted in ``dropped``)."""
        self.stopping = True
        self.close()
        for stop in self.running.values():
            stop.set()
        tasks = set(self.running)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.limits.shutdown_timeout)
            self.dropped += len(late)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=CLOSE_TIMEOUT)
        await self.wait_closed()

    async def run(self, link: TextLink, run: Callable[[asyncio.Event], Awaitable[None]], protocol: str) -> None:
        """Run one accepted connection (``run(stop)``), or refuse it when over ``max_connections`` or stopping."""
        if self.stopping or len(self.running) >= self.limits.max_connections:
            if not self.stopping:
                self.refused += 1
                if self.refused == 1 and self.notify is not None:
                    self.notify(f"connection refused: {self.limits.max_connections} connection(s) running "
                                "(--max-connections); further refusals are counted in the summary")
            code, reason = ((GOING_AWAY, "server shutting down") if self.stopping else
                            (TRY_AGAIN_LATER, f"too many connections (max {self.limits.max_connections})"))
            with contextlib.suppress(ConnectionError, OSError, TimeoutError):
                await asyncio.wait_for(link.close(code, reason), CLOSE_TIMEOUT)
            return
        task = asyncio.current_task()
        assert task is not None
        stop = asyncio.Event()
        self.running[task] = stop
        try:
            await run(stop)
        finally:
            del self.running[task]


async def serve_peer(
    protocol: str, make_peer: Callable[[], ReferencePeer], host: str, port: int, *,
    ssl: _ssl.SSLContext | None = None, clock: Clock = time.time, live: LiveCapture | None = None,
    stimuli: Sequence[str] = (), pace: float = 0.2, limits: Limits = DEFAULT_LIMITS, name: str = "serve",
    tick: float | None = None, bounds: ServeLimits | None = None, notify: Callable[[str], None] | None = None,
) -> PeerServer:
    """Listen on ``host:port``; each connection gets ``make_peer()``, told of every text and of the time.

    ``live`` sees (prints, checks, records) every message; ``stimuli`` are given to
    each connection's peer in turn, each once the connection has been quiet for
    ``pace`` seconds (so a client meets the peer's own initiatives); ``tick`` as in :func:`run_peer`.
    ``bounds`` (default :class:`ServeLimits`) bound the connections; ``notify`` is told of the first one refused.
    """
    numbers = itertools.count(1)
    served = PeerServer(bounds if bounds is not None else ServeLimits(), notify)
    within = served.limits

    async def accepted(link: TextLink) -> None:
        async def run(stop: asyncio.Event) -> None:
            await run_peer(make_peer(), link, f"{name}-{next(numbers)}", clock=clock, live=live, stimuli=stimuli,
                           pace=pace, tick=tick, stop=stop, hello_timeout=within.hello_timeout,
                           idle_timeout=within.idle_timeout)

        await served.run(link, run, protocol)

    served.server = await listen(protocol, accepted, host, port, ssl=ssl, limits=limits)
    return served


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
    starts a new connection.  ``receive`` waits for a first message up to ``wait``
    seconds when the harness awaits an answer (``expect``), then returns it with what
    already arrived behind it (the harness asks again while more is due); when nothing
    is due it waits ``quiet`` seconds for a first message and takes more until ``quiet``
    seconds pass without one; never longer than ``wait`` in all (a server streaming
    events never falls quiet): a live implementation answers in real time, so ``wait``
    bounds how long an answer may take, and a quick answer is taken as soon as it comes.
    ``clock`` is the implementation's test-clock hook (``ws://``, ``wss://``, ``tcp://``
    or ``tls://``; docs/testing.md), through which ``advance`` moves its clock
    (``clock_ssl``: the client TLS context for ``wss://`` / ``tls://``; ``clock_timeout``:
    how long to wait for its answer); without one ``advance`` is ``False`` and the
    72-hour rules are skipped.  It cannot be stimulated.  Adapters made by one
    :meth:`factory` or :meth:`listening` share one event loop (no thread is started).
    It is ``live``: the harness runs it without hypothesis's per-example deadline.
    """

    live = True

    def __init__(
        self, target: str, *, runner: asyncio.Runner | None = None, ssl: _ssl.SSLContext | None = None,
        limits: Limits = DEFAULT_LIMITS, wait: float = 2.0, quiet: float = QUIET,
        incoming: Listener | None = None, clock: str | None = None, clock_ssl: _ssl.SSLContext | None = None,
        clock_timeout: float = CLOCK_TIMEOUT,
    ) -> None:
        parse_target(target)  # a bad target fails here, not in the middle of a run
        if clock is not None:
            parse_target(clock)  # the hook's too
        self.target = target
        self.clock = clock
        self.clock_ssl = clock_ssl
        self.clock_timeout = clock_timeout
        self.runner = runner if runner is not None else asyncio.Runner()
        self.ssl = ssl
        self.limits = limits
        self.wait = wait
        self.quiet = quiet
        self.incoming = incoming
        self._link: TextLink | None = None
        self._done: asyncio.Event | None = None
        self._expecting = True
        self._lingering = False

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
        expecting, self._expecting = self._expecting, True  # a caller that never says so waits as for an answer
        lingering, self._lingering = self._lingering, False
        return self.runner.run(self._take(expecting, lingering)) if self._link is not None else []

    def expect(self, answer: bool) -> None:
        """Whether the next ``receive`` waits up to ``wait`` for a first message (an answer is due) or only
        ``quiet`` (nothing is due: take what arrives, do not wait for what may never come)."""
        self._expecting = answer

    def linger(self) -> None:
        """The next ``receive`` that owes nothing waits :data:`LINGER` rather than ``quiet`` for a first message
        (the harness lets a moment pass)."""
        self._lingering = True

    async def _take(self, expecting: bool, lingering: bool = False) -> list[str]:
        assert self._link is not None
        loop = asyncio.get_running_loop()
        # One read never lasts longer than ``wait``: a server streaming events never falls quiet (issue 19).
        deadline = loop.time() + max(self.wait, self.quiet)
        texts: list[str] = []
        timeout = self.wait if expecting else max(self.quiet, LINGER) if lingering else self.quiet
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return texts
            try:
                data = await asyncio.wait_for(self._link.receive(), min(timeout, remaining))
            except (TimeoutError, ConnectionError):
                return texts
            if data is None:
                return texts
            texts.append(_text(data))
            # What was due has come: take only what is already behind it, and let the harness (which knows
            # whether more is owed) ask again, rather than wait ``quiet`` after every answer (issue 21).
            timeout = BACKLOG if expecting else self.quiet

    def advance(self, seconds: float) -> bool:
        """Move the implementation's clock ``seconds`` forward through its test-clock hook; ``False`` without one.

        :class:`ClockHookError` when the hook does not answer within ``clock_timeout`` or refuses.
        """
        if self.clock is None:
            return False
        self.runner.run(advance_clock(self.clock, seconds, ssl=self.clock_ssl, limits=self.limits,
                                      timeout=self.clock_timeout))
        return True

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
