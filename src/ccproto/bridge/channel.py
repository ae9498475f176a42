"""``ControlChannel``: the sans-I/O control-destination connection (h11-style).

Bytes in -> ``receive_data`` (buffers only) -> ``next_event`` -> messages or
``NEED_DATA``; messages out -> ``send`` -> bytes.  As in h11, ``receive_data(b"")``
says the peer closed the byte stream: ``next_event`` then returns the whole
messages still buffered and ``CLOSED``, or raises ``TruncatedFrameError`` if the
stream ended inside a frame.  Transports that already
deliver whole JSON messages use ``receive_message`` / ``send_text``.  Passive
observers (validators, proxies) use ``observe``.

State changes at one moment: when a message is accepted by ``next_event``,
``receive_message``, ``send``/``send_text`` or ``observe``.  The order rules are
looked up in :mod:`ccproto.bridge.states`; this module adds correlation and
timers.  Time is always passed in (``now``, seconds); no clock is read.  A request
sent or received without ``now`` gets no deadline, and the channel says so once
(:class:`~ccproto.core.timing.UntimedWarning`).
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Iterator
from typing import Any, Literal

import attrs

from ccproto.bridge import codec, states
from ccproto.bridge.models import (
    BridgeMessage,
    CreateSessionResponse,
    Name,
    Request,
    Response,
    ServerStatus,
    ServerStatusChanged,
)
from ccproto.bridge.states import Phase
from ccproto.core.connection import ConnectionBase, EarliestDeadline, slot_builder
from ccproto.core.errors import (
    DuplicateCorrelationIdError,
    InvalidTransitionError,
    LimitExceededError,
    ProtocolError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.framing import FrameDecoder, TruncatedFrameError, encode_frame
from ccproto.core.jsonio import check_text_size
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.core.timing import UntimedWarning

__all__ = [
    "CLOSED", "NEED_DATA", "Closed", "ControlChannel", "NeedData", "PendingRequest", "TruncatedFrameError",
    "UntimedWarning",
]


class NeedData(enum.Enum):
    """Sentinel type: ``next_event`` has no whole message yet."""

    NEED_DATA = "NEED_DATA"


#: Returned by ``next_event`` when more bytes are needed.
NEED_DATA: Literal[NeedData.NEED_DATA] = NeedData.NEED_DATA


class Closed(enum.Enum):
    """Sentinel type: the peer closed the byte stream and ``next_event`` returned every message before the end."""

    CLOSED = "CLOSED"


#: Returned by ``next_event`` once ``receive_data(b"")`` said the stream ended and nothing whole is left.
CLOSED: Literal[Closed.CLOSED] = Closed.CLOSED


@attrs.frozen(kw_only=True)
class PendingRequest:
    """A query or request that has not been answered yet."""

    request_id: str
    name: Name
    target: str
    #: Who sent it (always the bridge, ``Role.SERVER``, in a valid conversation).
    sender: Role
    #: ``now`` when it was sent or received (``None`` if no time was given).
    since: float | None
    #: When ``handle_timer`` expires it (``None``: never).
    deadline: float | None
    #: Whatever the caller attached (a validator attaches the record number).
    tag: Any = attrs.field(default=None, eq=False)


#: ``PendingRequest(...)`` with every field given positionally, for the hot path (see ``slot_builder``).
_new_pending = slot_builder(PendingRequest)


class ControlChannel(ConnectionBase):
    """One control-destination connection, seen from ``our_role``.

    ``ControlChannel(Role.SERVER)`` is the Processor Bridge,
    ``ControlChannel(Role.CLIENT)`` its CTI client.  ``strict`` makes inbound
    quirks (alternate spellings) errors instead of accepted-with-warning.
    ``sticky_errors`` (default, as in h11) moves the channel to
    ``Phase.ERROR`` on any protocol error; validators turn it off to keep
    checking after a finding.

    Time: pass ``now`` (seconds) to every ``send``/``send_text``/``next_event``/``receive_message``.  A
    request sent or received without it gets no deadline (``get_timer()`` stays ``None`` for it: it never
    times out), and the channel issues an :class:`~ccproto.core.timing.UntimedWarning` the first time that
    happens (once per channel; filter it where untimed is meant).  ``observe`` (passive observers, whose
    captures may have no timestamps) never warns.

    End of stream: ``receive_data(b"")`` (as in h11) or ``receive_close()``.  After it ``next_event``
    returns what whole messages are left, then ``CLOSED``; if the stream ended inside a frame, it (and
    ``receive_close``) raises :class:`~ccproto.core.framing.TruncatedFrameError` (``truncated-frame``).
    More data after the end is a ``RuntimeError``.
    """

    def __init__(
        self,
        our_role: Role,
        *,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = False,
        sticky_errors: bool = True,
    ) -> None:
        super().__init__(our_role, sticky_errors=sticky_errors)
        self.limits = limits
        self.strict = strict
        self.phase = Phase.AWAITING_INIT
        #: The last status the client reported (``None`` before its first report).
        self.server_status: ServerStatus | None = None
        self._pending: dict[str, PendingRequest] = {}
        self._timer = EarliestDeadline()
        # Recently answered or expired ids, so a second answer is named as such (bounded).
        self._finished: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._frames = FrameDecoder(limits=limits)
        #: Whether the peer closed the byte stream (``receive_data(b"")`` or ``receive_close()``).
        self.eof = False
        #: Whether the channel is observed from the middle of its conversation (:meth:`join`).
        self.joined = False
        self._history_until: float | None = None

    def join(self, *, history_until: float | None = None) -> None:
        """Observe the channel from the middle of its conversation (a capture that began after it opened).

        Before any message.  The channel starts in ``Phase.JOINED`` (any phase but ``AWAITING_INIT``,
        until a message pins it), a response to a request never observed is accepted while ``now`` is at
        most ``history_until`` (``None``: always; it may answer a request sent before observing began),
        and ``createsession`` may succeed before any status was observed (docs/quirks.md V10).
        """
        if self.phase is not Phase.AWAITING_INIT or self._pending or self._finished or self.server_status:
            raise RuntimeError("join() comes before the channel observes any message")
        self.phase = Phase.JOINED
        self.joined = True
        self._history_until = history_until

    # -- inspection ------------------------------------------------------------------------

    ERROR_STATE = Phase.ERROR

    @property
    def state(self) -> Phase:
        """Where the channel is (its ``phase``): every connection object's ``state``."""
        return self.phase

    @property
    def current_state(self) -> Phase:
        """The phase (errors report it as their state)."""
        return self.phase

    def _enter_error_state(self) -> None:
        self.phase = Phase.ERROR

    def pending_requests(self) -> tuple[PendingRequest, ...]:
        """Outstanding queries and requests, oldest first."""
        return tuple(self._pending.values())

    def pending_request(self, request_id: str) -> PendingRequest | None:
        """The outstanding query or request of ``request_id`` (``None`` if there is none)."""
        return self._pending.get(request_id)

    def outstanding(self) -> tuple[PendingRequest, ...]:
        """Outstanding queries and requests, oldest first (the same as :meth:`pending_requests`)."""
        return self.pending_requests()

    def get_timer(self) -> float | None:
        """The earliest deadline of an outstanding request (``None`` if there is none)."""
        if self._timer.known:
            return self._timer.earliest
        return self._timer.recompute(self._deadlines())

    def _deadlines(self) -> list[float]:
        return [p.deadline for p in self._pending.values() if p.deadline is not None]

    def handle_timer(self, now: float) -> tuple[PendingRequest, ...]:
        """Expire (and return) every outstanding request whose deadline is at or before ``now``.

        A later response to an expired request is an ``UnknownCorrelationIdError``.
        """
        if self._timer.surely_not_due(now):
            return ()
        expired = tuple(p for p in self._pending.values() if p.deadline is not None and p.deadline <= now)
        for item in expired:
            del self._pending[item.request_id]
            self._remember(item.request_id, "expired")
        self._timer.recompute(self._deadlines())
        return expired

    # -- receiving -------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer bytes from the transport (any chunking); nothing is parsed yet.

        ``b""`` means the peer closed the stream (as in h11); more data after that is a ``RuntimeError``.
        """
        if self.error is not None:
            self._check_usable(self.their_role)
        if not data:
            self.eof = True
            return
        if self.eof:
            raise RuntimeError("received data after the end of the stream (receive_data(b'') or receive_close())")
        self._frames.feed(data)

    def next_event(self, *, now: float | None = None) -> BridgeMessage | NeedData | Closed:
        """The next message the peer sent, checked; ``NEED_DATA``; or, after the end of the stream, ``CLOSED``.

        Raises ``TruncatedFrameError`` when the stream ended inside a frame.
        """
        if self.error is not None:
            self._check_usable(self.their_role)
        try:
            frame = self._frames.next_frame()
            if frame is None and self.eof:
                self._frames.check_end()
        except ProtocolError as exc:
            raise self._fail(exc, self.their_role) from None
        if frame is None:
            return CLOSED if self.eof else NEED_DATA
        return self.receive_message(frame, now=now)

    def receive_close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> None:
        """The peer closed the transport: the end of the stream (``receive_data(b"")``).

        Raises ``TruncatedFrameError`` if the bytes buffered end inside a frame (whole frames before it stay for
        ``next_event``); otherwise notes nothing (the bridge has no closing rule), nor after an earlier error.
        """
        self.eof = True
        if self.error is not None:
            return  # a failed channel has already said what went wrong; the transport's close is no news
        try:
            self._frames.check_end()
        except ProtocolError as exc:
            raise self._fail(exc, self.their_role) from None

    def receive_message(self, data: str | bytes | BridgeMessage, *, now: float | None = None) -> BridgeMessage:
        """Check one whole message from the peer (JSON text/bytes, or a decoded model)."""
        if self.error is not None:
            self._check_usable(self.their_role)
        if isinstance(data, BridgeMessage):
            message = data
        else:
            try:
                message = codec.decode_text(data, limits=self.limits, strict=self.strict).message
            except ProtocolError as exc:
                raise self._fail(exc, self.their_role) from None
        self.observe(message, self.their_role, now=now)
        self._warn_if_untimed(now, _untimed(message))
        return message

    # -- sending ---------------------------------------------------------------------------

    def send(self, message: BridgeMessage, *, now: float | None = None) -> bytes:
        """Check a message we are about to send and return its frame (length prefix + JSON)."""
        text = self.send_text(message, now=now)
        return encode_frame(text.encode("utf-8"), limits=self.limits)

    def send_text(self, message: BridgeMessage, *, now: float | None = None) -> str:
        """Check a message we are about to send and return its JSON text (unframed)."""
        if self.error is not None:
            self._check_usable(self.our_role)
        try:
            text = codec.encode(message)
            check_text_size(text, self.limits, LimitExceededError.Local)
        except ProtocolError as exc:
            raise self._fail(exc, self.our_role) from None
        self.observe(message, self.our_role, now=now)
        self._warn_if_untimed(now, _untimed(message))
        return text

    # -- the rules -------------------------------------------------------------------------

    def observe(self, message: BridgeMessage, sender: Role, *, now: float | None = None, tag: Any = None) -> None:
        """Apply the channel's rules to ``message`` sent by ``sender``; raise if it breaks one.

        Errors blame the sender: ``Remote`` errors when the sender is our peer,
        ``Local`` when it is us.  Order and correlation errors change nothing;
        server-status errors are raised after the status was recorded (the
        client did report it).
        """
        if self.error is not None:
            self._check_usable(sender)
        try:
            self._apply(message, sender, now, tag)
        except ProtocolError as exc:
            raise self._fail(exc, sender, lambda: codec.encode_value(message), repr(message)) from None

    def _apply(self, message: BridgeMessage, sender: Role, now: float | None, tag: Any) -> None:
        input_ = states.input_of(message)
        next_phase = states.TRANSITIONS.get((self.phase, sender, input_))
        if next_phase is None:
            raise self._blame(UnexpectedMessageError, sender, self._unexpected_detail(message, sender, input_),
                              hint=self._unexpected_hint(sender, input_), pointer="/header/name")
        if isinstance(message, Request):
            self._open(message, sender, now, tag)
        elif isinstance(message, Response):
            self._close(message, sender, now)
        self.phase = next_phase
        if isinstance(message, ServerStatusChanged):
            last, self.server_status = self.server_status, message.status
            if not states.status_change_allowed(last, message.status):
                assert last is not None
                raise self._blame(
                    InvalidTransitionError, sender,
                    f"server status may not go from {last.value!r} to {message.status.value!r}",
                    pointer="/body/status",
                    hint="allowed next: " + ", ".join(sorted(s.value for s in states.STATUS_TRANSITIONS[last])),
                    code="invalid-status-transition",
                )
        elif (isinstance(message, CreateSessionResponse) and self.server_status is not states.SESSION_STATUS
              and not (self.joined and self.server_status is None)):  # joined: the status came before
            reported = self.server_status.value if self.server_status else "no status"
            raise self._blame(
                UnexpectedMessageError, sender,
                f"createsession answered SUCCESS while the client's last reported status is {reported}",
                pointer="/header/result",
                hint=f"answer FAILURE unless the last reported status is {states.SESSION_STATUS.value!r}",
                code="session-while-not-in-service",
            )

    def _open(self, request: Request, sender: Role, now: float | None, tag: Any) -> None:
        if request.request_id in self._pending:
            raise self._blame(
                DuplicateCorrelationIdError, sender,
                f"requestId {request.request_id!r} is already outstanding",
                pointer="/header/requestId", hint="use a fresh GUID for every request",
            )
        if len(self._pending) >= self.limits.max_pending:
            raise self._blame(
                LimitExceededError, sender,
                f"more than max_pending={self.limits.max_pending} requests outstanding",
                code="too-many-pending",
            )
        deadline = None if now is None else now + self.limits.request_timeout
        self._pending[request.request_id] = _new_pending(
            request.request_id, request.message_name, request.target, sender, now, deadline, tag
        )
        self._timer.added(deadline)
        self._finished.pop(request.request_id, None)

    def _close(self, response: Response, sender: Role, now: float | None) -> None:
        pending = self._pending.get(response.request_id)
        if pending is None:
            seen = self._finished.get(response.request_id)
            if seen is None and self.joined and (
                now is None or self._history_until is None or now <= self._history_until
            ):
                self._remember(response.request_id, "answered")  # a request sent before observing began
                return
            detail = (
                f"requestId {response.request_id!r} was already {seen}"
                if seen else f"requestId {response.request_id!r} names no outstanding request"
            )
            raise self._blame(UnknownCorrelationIdError, sender, detail, pointer="/header/requestId",
                              hint="answer each request exactly once, with its own requestId")
        if pending.name is not response.message_name:
            raise self._blame(
                UnknownCorrelationIdError, sender,
                f"requestId {response.request_id!r} is a {pending.name.value}, not a {response.message_name.value}",
                pointer="/header/name", hint=f"answer with name {pending.name.value!r}", code="mismatched-response",
            )
        if pending.target != response.target:
            raise self._blame(
                UnknownCorrelationIdError, sender,
                f"requestId {response.request_id!r} was sent to {pending.target!r}, not {response.target!r}",
                pointer="/header/target", hint=f"answer with target {pending.target!r}", code="mismatched-response",
            )
        del self._pending[response.request_id]
        self._timer.removed(pending.deadline, empty=not self._pending)
        self._remember(response.request_id, "answered")

    def _remember(self, request_id: str, how: str) -> None:
        self._finished[request_id] = how
        while len(self._finished) > self.limits.max_pending:
            self._finished.popitem(last=False)

    # -- errors ----------------------------------------------------------------------------

    def _unexpected_detail(self, message: BridgeMessage, sender: Role, input_: states.Input) -> str:
        what = f"{message.TYPE.value} {message.message_name.value}"
        if not any(key[1] is sender and key[2] is input_ for key in states.PHASE_TRANSITIONS):
            return f"the {_party(sender)} never sends a {what}"
        return f"{what} from the {_party(sender)} is not allowed in phase {self.phase.name}"

    def _unexpected_hint(self, sender: Role, input_: states.Input) -> str | None:
        if not any(key[1] is sender and key[2] is input_ for key in states.PHASE_TRANSITIONS):
            return "queries and requests flow bridge -> client; responses and events flow client -> bridge"
        return states.INPUT_HINTS.get(input_) or states.PHASE_HINTS.get((self.phase, sender))

    def __iter__(self) -> Iterator[BridgeMessage]:
        """Iterate over the whole messages buffered so far."""
        while True:
            event = self.next_event()
            if event is NEED_DATA or event is CLOSED:
                return
            assert isinstance(event, BridgeMessage)
            yield event


def _untimed(message: BridgeMessage) -> str | None:
    """What would have had a deadline had ``now`` been given: a request (its answer is awaited)."""
    return f"the {message.message_name.value} request" if isinstance(message, Request) else None


def _party(role: Role) -> str:
    return "bridge" if role is Role.SERVER else "client"
