"""``CcebConnection``: the sans-I/O CCEB WebSocket connection, message by message.

The transport delivers whole text frames: text in -> ``receive_message`` -> a
checked message; a message out -> ``send`` -> the text to write; the
WebSocket's close -> ``receive_close`` / ``close`` -> a :class:`ConnectionClosed`
event.  Passive observers (validators, proxies) use ``observe`` and
``observe_close``.

Order rules are looked up in :mod:`ccproto.cceb.states`.  This module adds what
the tables cannot hold: the uuids in flight in each direction (each acked
exactly once), the hello's answer, timers, and the notifications' per-connection
phases.  Time is always passed in (``now``, seconds).
"""

from __future__ import annotations

import collections
import hmac
from collections.abc import Mapping
from typing import Any

import attrs

from ccproto.cceb import codec, envelope, states
from ccproto.cceb.models import (
    REGISTRY,
    Ack,
    Action,
    CcebMessage,
    Hello,
    HelloReply,
    OffHook,
    PhoneValidation,
    Registry,
)
from ccproto.cceb.states import ConnectionState, Effect, Input, OffHookPhase, PhoneValidationPhase
from ccproto.core.connection import ConnectionBase, EarliestDeadline, slot_builder
from ccproto.core.decoding import message_text, parse_message
from ccproto.core.errors import (
    DuplicateCorrelationIdError,
    InvalidTransitionError,
    LimitExceededError,
    ProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
    UnknownMessageError,
)
from ccproto.core.jsonio import JsonValue, check_text_size
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role

__all__ = ["ACKED_REFUSED_ACTION", "ConnectionClosed", "CcebConnection", "InFlight", "same_key"]

#: Error code: the CCEB acked an action it had to refuse (reserved field, unsupported action).
ACKED_REFUSED_ACTION = "acked-refused-action"

# Enum members used for every message, bound once: reading a member off its Enum class takes
# EnumType.__getattr__'s slow attribute path, several times the cost of a plain class attribute.
_CLIENT, _SERVER = Role.CLIENT, Role.SERVER
_AWAIT_ACK, _AWAIT_REPLY, _CLOSE = Effect.AWAIT_ACK, Effect.AWAIT_REPLY, Input.CLOSE


def same_key(a: str | None, b: str | None) -> bool:
    """Whether two session keys are equal, compared in constant time (``None`` equals only ``None``)."""
    if a is None or b is None:
        return a is b
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@attrs.frozen(kw_only=True)
class InFlight:
    """A message waiting for its answer: a hello (for ``hello_reply``), an action or a notification (for an ack)."""

    uuid: str
    #: The message's ``type``.
    message_type: str
    #: The message (``None`` for one that broke its schema; a ``repr`` never shows secrets).
    message: CcebMessage | None
    #: Who sent it; the other side owes the answer.
    sender: Role
    #: ``now`` when it was sent or received (``None`` if no time was given).
    since: float | None
    #: When ``handle_timer`` expires it (``None``: never).
    deadline: float | None
    #: Whatever the caller attached (a validator attaches the record number).
    tag: Any = attrs.field(default=None, eq=False)
    order: int = attrs.field(default=0, eq=False, repr=False)


#: ``InFlight(...)`` with every field given positionally, for the hot path (see ``slot_builder``).
_new_in_flight = slot_builder(InFlight)


def _untimed(message: CcebMessage) -> str | None:
    """What would have had a deadline had ``now`` been given: a hello, an action or a notification (answered)."""
    return None if isinstance(message, (Ack, HelloReply)) else f"the {message.message_type} message"


@attrs.frozen(kw_only=True)
class ConnectionClosed:
    """The WebSocket was closed: an event, whichever side closed it."""

    #: Who closed it.
    by: Role
    #: The WebSocket close code, if known.
    code: int | None
    reason: str = ""
    #: The CCEB closed the connection before ``hello_reply``: the seed's authentication failure.
    authentication_failed: bool = False
    #: What was still waiting for an answer (inspect it to retry or report).
    in_flight: tuple[InFlight, ...] = ()


class CcebConnection(ConnectionBase):
    """One CCEB WebSocket connection, seen from ``our_role``.

    ``CcebConnection(Role.SERVER)`` is the CCEB, ``CcebConnection(Role.CLIENT)``
    the agent's client.  ``registry`` says which notification types and actions
    are known (an unknown notification passes with a warning, which ``strict``
    makes an error; an unsupported action is an error).  ``sticky_errors``
    (default) stops the connection at the first protocol error.
    """

    ERROR_STATE = ConnectionState.ERROR

    def __init__(
        self,
        our_role: Role,
        *,
        registry: Registry = REGISTRY,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = False,
        sticky_errors: bool = True,
    ) -> None:
        super().__init__(our_role, sticky_errors=sticky_errors)
        self.registry = registry
        self.limits = limits
        # The CCEB refuses a repeated key whatever the limits allow: a client could otherwise set a reserved
        # field that the CCEB's own checks, with another JSON parser, never saw (docs/security.md).
        # (evolve only when it changes something: it costs more than the rest of this constructor)
        refuse_repeats = our_role is _SERVER and limits.allow_duplicate_keys
        self._read_limits = attrs.evolve(limits, allow_duplicate_keys=False) if refuse_repeats else limits
        self.strict = strict
        self.state = ConnectionState.AWAITING_HELLO
        #: The client's hello, once sent (holds the token: its ``repr`` does not show it).
        self.hello: Hello | None = None
        #: The CCEB's hello_reply, once sent.
        self.hello_reply: HelloReply | None = None
        #: How the connection ended, once closed.
        self.closed: ConnectionClosed | None = None
        self.phone_validation = PhoneValidationPhase.IDLE
        self.off_hook = OffHookPhase.UNKNOWN
        self._hello_in_flight: InFlight | None = None
        self._in_flight: dict[Role, dict[str, InFlight]] = {_CLIENT: {}, _SERVER: {}}
        # Recently settled, expired and refused uuids, so a late or repeated ack is named as such (bounded).
        self._settled: dict[Role, collections.OrderedDict[str, Any]] = {
            _CLIENT: collections.OrderedDict(), _SERVER: collections.OrderedDict(),
        }
        self._expired: dict[Role, collections.OrderedDict[str, Any]] = {
            _CLIENT: collections.OrderedDict(), _SERVER: collections.OrderedDict(),
        }
        self._refused: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._sequence = 0
        self._timer = EarliestDeadline()
        #: Whether the connection is observed from the middle of its conversation (:meth:`join`).
        self.joined = False
        self._history_until: float | None = None

    def join(self, *, history_until: float | None = None) -> None:
        """Observe the connection from the middle of its conversation (a capture that began after it opened).

        Before any message.  The connection starts in ``ConnectionState.JOINED``: the hello is unknown and
        its ``hello_reply`` may still come (nothing about the hello is checked), and any message of an open
        connection settles it open; the phone validation starts ``UNKNOWN``.  An ack, or a ``hello_reply``,
        of something never observed is accepted while ``now`` is at most ``history_until`` (``None``:
        always; it may answer what was sent before observing began) (docs/quirks.md V11).
        """
        if self.state is not ConnectionState.AWAITING_HELLO or self._sequence or self.closed is not None:
            raise RuntimeError("join() comes before the connection observes any message")
        self.state = ConnectionState.JOINED
        self.phone_validation = PhoneValidationPhase.UNKNOWN
        self.joined = True
        self._history_until = history_until

    def _from_before(self, now: float | None) -> bool:
        """Whether an answer to something never observed may answer what was sent before observing began."""
        return self.joined and (now is None or self._history_until is None or now <= self._history_until)

    # -- inspection ------------------------------------------------------------------------

    @property
    def current_state(self) -> ConnectionState:
        """The connection's state (errors report it as theirs)."""
        return self.state

    def _enter_error_state(self) -> None:
        self.state = ConnectionState.ERROR

    @property
    def session_key(self) -> str | None:
        """The long-lived session's key from ``hello_reply`` (a secret: keep it out of logs)."""
        return self.hello_reply.session_key if self.hello_reply is not None else None

    def in_flight(self, sender: Role | None = None) -> tuple[InFlight, ...]:
        """What is still waiting for an answer (of messages sent by ``sender``, or all), oldest first."""
        found = [item for role, table in self._in_flight.items() if sender in (None, role) for item in table.values()]
        if self._hello_in_flight is not None and sender in (None, Role.CLIENT):
            found.append(self._hello_in_flight)
        return tuple(sorted(found, key=lambda item: item.order))

    @property
    def pending_hello(self) -> InFlight | None:
        """The hello waiting for its ``hello_reply`` (``None`` before it is sent and once answered)."""
        return self._hello_in_flight

    def unacked_notifications(self) -> tuple[InFlight, ...]:
        """Notifications the client has not acked yet."""
        return tuple(self._in_flight[Role.SERVER].values())

    def unacked_actions(self) -> tuple[InFlight, ...]:
        """Actions the CCEB has not acked yet."""
        return tuple(self._in_flight[Role.CLIENT].values())

    def outstanding(self) -> tuple[InFlight, ...]:
        """Everything in flight, oldest first (the same as :meth:`in_flight`)."""
        return self.in_flight()

    def get_timer(self) -> float | None:
        """The earliest deadline of anything in flight (``None`` if there is none)."""
        if self._timer.known:
            return self._timer.earliest
        return self._timer.recompute(self._deadlines())

    def _deadlines(self) -> list[float]:
        return [item.deadline for item in self.in_flight() if item.deadline is not None]

    def _acks_awaited(self) -> int:
        """How many actions and notifications are in flight."""
        tables = self._in_flight
        return len(tables[_CLIENT]) + len(tables[_SERVER])

    def _nothing_in_flight(self) -> bool:
        tables = self._in_flight
        return not tables[_CLIENT] and not tables[_SERVER] and self._hello_in_flight is None

    def _set_hello_in_flight(self, item: InFlight | None) -> None:
        previous, self._hello_in_flight = self._hello_in_flight, item
        if previous is not None:
            self._timer.removed(previous.deadline, empty=self._nothing_in_flight())
        if item is not None:
            self._timer.added(item.deadline)

    def handle_timer(self, now: float) -> tuple[InFlight, ...]:
        """Expire (and return) everything in flight whose deadline is at or before ``now``.

        An ack arriving later for an expired uuid is an error that says so.
        """
        if self._timer.surely_not_due(now):
            return ()
        expired = tuple(item for item in self.in_flight() if item.deadline is not None and item.deadline <= now)
        for item in expired:
            if item is self._hello_in_flight:
                self._hello_in_flight = None
            else:
                del self._in_flight[item.sender][item.uuid]
                self._remember(self._expired[item.sender], item.uuid, item.tag)
        self._timer.recompute(self._deadlines())
        return expired

    # -- receiving and sending -------------------------------------------------------------

    def receive_message(self, data: str | bytes | CcebMessage, *, now: float | None = None) -> CcebMessage:
        """Check one whole text frame from the peer (JSON text/bytes, or a decoded model)."""
        if self.error is not None:
            self._check_usable(self.their_role)
        value: dict[str, Any] | None = None
        try:
            if isinstance(data, CcebMessage):
                # A model gets the same checks as text (reserved fields, supported actions): they are the peer's.
                try:
                    value = codec.encode_value(data)
                except ProtocolError as exc:
                    raise codec.reserved_field_error(exc.pointer, local=False) or SchemaViolationError.Remote(
                        exc.detail, pointer=exc.pointer, code=exc.code
                    ) from None
                message = codec.decode_value(value, registry=self.registry, strict=self.strict).message
            else:
                # decode_value(parse_message(...)), by the compiled path when it answers (then with the same result).
                message = codec.decode_text(
                    data, registry=self.registry, limits=self._read_limits, strict=self.strict
                ).message
        except ProtocolError as exc:
            if isinstance(exc, (SchemaViolationError, UnknownMessageError)):
                if value is None and not isinstance(data, CcebMessage):
                    # Raised once the text was parsed (parse errors are others): the value it parsed to.
                    value = parse_message(data, self._read_limits)
                if value is not None:
                    self.observe_invalid(value, self.their_role, now=now)
            raise self._fail(exc, self.their_role) from None
        self.observe(message, self.their_role, now=now)
        self._warn_if_untimed(now, _untimed(message))
        return message

    def send(self, message: CcebMessage, *, now: float | None = None) -> str:
        """Check a message we are about to send and return its JSON text (one text frame)."""
        if self.error is not None:
            self._check_usable(self.our_role)
        try:
            text = codec._compiled_text(message)
            if text is None:
                value = codec.encode_value(message)
                if isinstance(message, Action):
                    codec.check_action(message, self.registry, local=True)
                text = message_text(value)
            elif isinstance(message, Action):  # (encoding would succeed: this is the first check that can fail)
                codec.check_action(message, self.registry, local=True)
            check_text_size(text, self.limits, LimitExceededError.Local)
        except ProtocolError as exc:
            raise self._fail(exc, self.our_role) from None
        self.observe(message, self.our_role, now=now)
        self._warn_if_untimed(now, _untimed(message))
        return text

    def send_text(self, message: CcebMessage, *, now: float | None = None) -> str:
        """The same as :meth:`send` (a CCEB message is one text frame)."""
        return self.send(message, now=now)

    def receive_close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> ConnectionClosed:
        """The peer closed the WebSocket; returns the event (``authentication_failed`` when the CCEB refused)."""
        return self.observe_close(self.their_role, code=code, reason=reason, now=now)

    def close(self, code: int | None = None, reason: str = "", *, now: float | None = None) -> ConnectionClosed:
        """We close the WebSocket (the transport does the closing); returns the event."""
        return self.observe_close(self.our_role, code=code, reason=reason, now=now)

    # -- the rules -------------------------------------------------------------------------

    def observe(
        self, message: CcebMessage, sender: Role, *, now: float | None = None, tag: Any = None
    ) -> None:
        """Apply the connection's rules to ``message`` sent by ``sender``; raise if it breaks one."""
        if self.error is not None:
            self._check_usable(sender)
        try:
            self._apply(message, sender, now, tag)
        except ProtocolError as exc:
            raise self._fail(exc, sender, lambda: codec.encode_value(message), repr(message)) from None

    def observe_close(
        self, sender: Role, *, code: int | None = None, reason: str = "", now: float | None = None, tag: Any = None
    ) -> ConnectionClosed:
        """Note that ``sender`` closed the WebSocket (also after a protocol error: the transport still closes)."""
        if self.error is None:
            try:
                self._transition(Input.CLOSE, sender, None)
            except ProtocolError as exc:
                raise self._fail(exc, sender) from None
        refused = sender is Role.SERVER and self.state is ConnectionState.AWAITING_HELLO_REPLY
        event = ConnectionClosed(
            by=sender, code=code, reason=reason, authentication_failed=refused, in_flight=self.in_flight(),
        )
        if refused:
            self._set_hello_in_flight(None)  # answered by the close
        if self.error is None:
            self.state = ConnectionState.CLOSED
        if self.closed is None:  # the first close says how it ended; the other side's completes the handshake
            self.closed = event
        return event

    def observe_invalid(
        self, value: Mapping[str, JsonValue], sender: Role, *, now: float | None = None, tag: Any = None
    ) -> bool:
        """Note a message that could not be decoded, so what answers it is recognised.

        A client's action (with a string ``uuid``) is refused: the CCEB must not
        ack it.  A notification the CCEB sent on an open connection still gets
        acked by the client, so it goes in flight.  Returns whether it was noted.
        """
        if self.error is not None:
            self._check_usable(sender)
        uuid, message_type = value.get(envelope.UUID), value.get(envelope.TYPE)
        if type(uuid) is not str or type(message_type) is not str:
            return False
        if sender is Role.CLIENT and message_type == envelope.ACTION:
            self._remember(self._refused, uuid, tag)
            return True
        if sender is Role.CLIENT and message_type == envelope.HELLO and self.state is ConnectionState.AWAITING_HELLO:
            # The CCEB answers a broken hello too (or closes): expect that answer, not a second hello.
            self.state = ConnectionState.AWAITING_HELLO_REPLY
            self._set_hello_in_flight(self._item(None, sender, now, tag, uuid=uuid, message_type=message_type))
            return True
        if (sender is Role.SERVER and message_type == envelope.HELLO_REPLY
                and self.state in (ConnectionState.AWAITING_HELLO_REPLY, ConnectionState.JOINED)):
            self.state = ConnectionState.OPEN  # broken, but the client is in: what follows is checked as usual
            self._set_hello_in_flight(None)
            return True
        notification = message_type not in (envelope.HELLO, envelope.HELLO_REPLY, envelope.ACTION, envelope.ACK)
        table = self._in_flight[sender]
        if sender is not Role.SERVER or not notification or uuid in table or self.state not in (
            ConnectionState.OPEN, ConnectionState.JOINED
        ):
            return False
        if self.state is ConnectionState.JOINED:
            self.state = ConnectionState.OPEN  # a notification flows: the connection was open
        if self._acks_awaited() >= self.limits.max_pending:
            return False
        item = table[uuid] = self._item(None, sender, now, tag, uuid=uuid, message_type=message_type)
        self._timer.added(item.deadline)
        return True

    def refused_action_tag(self, uuid: str) -> Any:
        """The tag of a refused action of this uuid (``None`` if there is none)."""
        return self._refused.get(uuid)

    def settled_tags(self, sender: Role, uuid: str) -> tuple[Any, Any] | None:
        """Tags of ``sender``'s message under ``uuid`` and of the ack that settled it (``None``: not settled).

        Only the last ``max_pending`` settled uuids of each side are remembered.
        """
        found: tuple[Any, Any] | None = self._settled[sender].get(uuid)
        return found

    def in_flight_tag(self, sender: Role, uuid: str) -> Any:
        """The tag of the message of ``sender`` in flight under ``uuid`` (``None`` if none)."""
        item = self._in_flight[sender].get(uuid)
        return item.tag if item is not None else None

    def _remember(self, table: collections.OrderedDict[str, Any], uuid: str, tag: Any) -> None:
        table[uuid] = tag
        table.move_to_end(uuid)
        while len(table) > self.limits.max_pending:
            table.popitem(last=False)

    def _transition(self, input_: Input, sender: Role, message: CcebMessage | None) -> Effect:
        """Move the connection for ``message`` (``None``: a close) or raise why it may not be sent now."""
        found = states.TRANSITIONS.get((self.state, sender, input_))
        if found is None:
            party = "client" if sender is Role.CLIENT else "CCEB"
            if message is None:
                what = "close"
            elif input_.value == message.message_type:
                what = input_.value
            else:
                what = f"{input_.value} ({message.message_type})"
            if not any(key[1] is sender and key[2] is input_ for key in states.CONNECTION_TRANSITIONS):
                raise self._blame(
                    UnexpectedMessageError, sender, f"the {party} never sends {what}", pointer="/type",
                    hint="hello and actions flow client -> CCEB; hello_reply and notifications CCEB -> client",
                    code="wrong-direction",
                )
            raise self._blame(
                UnexpectedMessageError, sender, f"{what} from the {party} is not allowed in state {self.state.value}",
                pointer="/type", hint=states.CONNECTION_HINTS.get((self.state, sender)), code="out-of-order",
            )
        effect, target = found
        if input_ is not _CLOSE:
            self.state = target
        return effect

    def _apply(self, message: CcebMessage, sender: Role, now: float | None, tag: Any) -> None:
        effect = self._transition(states.input_of(message), sender, message)
        if effect is _AWAIT_ACK:
            self._await_ack(message, sender, now, tag)
        elif effect is _AWAIT_REPLY:
            assert isinstance(message, Hello)
            self.hello = message
            self._set_hello_in_flight(self._item(message, sender, now, tag))
        elif effect is Effect.ANSWER_HELLO:
            assert isinstance(message, HelloReply)
            self._answer_hello(message, sender, now)
        else:
            self._settle(message.uuid, sender, tag, now)

    def _item(
        self, message: CcebMessage | None, sender: Role, now: float | None, tag: Any, *, uuid: str = "",
        message_type: str = "",
    ) -> InFlight:
        """A new in-flight entry (``uuid`` and ``message_type`` come from ``message`` unless it broke its schema)."""
        self._sequence += 1
        if message is not None:
            uuid, message_type = message.uuid, message.message_type
        deadline = None if now is None else now + self.limits.request_timeout
        return _new_in_flight(uuid, message_type, message, sender, now, deadline, tag, self._sequence)

    def _answer_hello(self, reply: HelloReply, sender: Role, now: float | None) -> None:
        pending = self._hello_in_flight
        self._set_hello_in_flight(None)
        self.hello_reply = reply
        hello = self.hello
        if pending is None and hello is None and self._from_before(now):
            return  # joined: it answers a hello sent before observing began
        if pending is None:
            # Expired by handle_timer: the reply still counts, but it came too late.
            raise self._blame(
                UnknownCorrelationIdError, sender, "hello_reply came after the hello expired", pointer="/uuid",
                code="expired-uuid",
            )
        if reply.uuid != pending.uuid:
            raise self._blame(
                UnknownCorrelationIdError, sender, "hello_reply does not repeat the hello's uuid", pointer="/uuid",
                hint="copy the hello's uuid into hello_reply", code="wrong-uuid",
            )
        if hello is None:
            return  # the hello broke its schema: what it asked for is unknown
        problem: tuple[str, str, str] | None = None
        if reply.resumed and hello.session_key is None:
            problem = ("/data/resumed", "resumed is true but the hello had no session_key to resume",
                       "resume only a session whose key the hello gave")
        elif reply.resumed and not same_key(reply.session_key, hello.session_key):
            problem = ("/data/session_key", "a resumed session keeps its key, but session_key differs from the hello's",
                       "return the hello's session_key when resuming")
        elif hello.asks_long_lived and reply.session_key is None:
            problem = ("/data/session_key", "the hello asked for a long-lived session but hello_reply has no "
                       "session_key", "return the session's key")
        elif not reply.resumed and hello.session_key is not None and same_key(reply.session_key, hello.session_key):
            problem = ("/data/resumed", "session_key is the hello's, but resumed is not true",
                       "a resumed session says resumed: true; an expired or unknown key gets a new session and key")
        if problem is not None:
            where, detail, hint = problem
            raise self._blame(UnexpectedMessageError, sender, detail, pointer=where, hint=hint, code="session-key")

    def _await_ack(self, message: CcebMessage, sender: Role, now: float | None, tag: Any) -> None:
        table = self._in_flight[sender]
        if message.uuid in table:
            raise self._blame(
                DuplicateCorrelationIdError, sender,
                f"uuid of this {message.message_type} is still in flight (not acked yet)", pointer="/uuid",
                hint="use a fresh uuid for every action and notification", code="uuid-in-flight",
            )
        if self._acks_awaited() >= self.limits.max_pending:
            raise self._blame(
                LimitExceededError, sender,
                f"more than max_pending={self.limits.max_pending} messages waiting for an ack",
                code="too-many-pending",
            )
        item = table[message.uuid] = self._item(message, sender, now, tag)
        self._timer.added(item.deadline)
        self._settled[sender].pop(message.uuid, None)
        self._expired[sender].pop(message.uuid, None)
        # In flight first: the peer acks what it received even when its content breaks a rule below.
        if isinstance(message, PhoneValidation):
            self.phone_validation = self._phase(
                states.PHONE_VALIDATION_LOOKUP, self.phone_validation, message.state, sender,
                "phone validation", "phone-validation-transition",
            )
        elif isinstance(message, OffHook):
            self.off_hook = self._phase(
                states.OFF_HOOK_TRANSITIONS, self.off_hook, message.state, sender,
                "off-hook connection", "off-hook-transition",
            )

    def _phase(
        self, table: Mapping[tuple[Any, Any], Any], phase: Any, state: Any, sender: Role, what: str, code: str
    ) -> Any:
        target = table.get((phase, state))
        if target is None:
            allowed = sorted(s.value for (p, s) in table if p is phase)
            raise self._blame(
                InvalidTransitionError, sender, f"{what} cannot go from {phase.value} to {state.value}",
                pointer="/data/state", hint="next allowed: " + (", ".join(allowed) or "nothing"),
                code=code,
            )
        return target

    def _settle(self, uuid: str, sender: Role, tag: Any, now: float | None) -> None:
        owner = _SERVER if sender is _CLIENT else _CLIENT  # sender.peer, without a property call
        item = self._in_flight[owner].pop(uuid, None)
        if item is not None:
            self._timer.removed(item.deadline, empty=self._nothing_in_flight())
            self._remember(self._settled[owner], uuid, (item.tag, tag))
            return
        what, article = ("notification", "a") if owner is Role.SERVER else ("action", "an")
        if (uuid not in self._settled[owner] and uuid not in self._expired[owner] and uuid not in self._refused
                and self._from_before(now)):
            self._remember(self._settled[owner], uuid, (None, tag))  # joined: it acks what came before
            return
        if owner is Role.CLIENT and uuid in self._refused:
            raise self._blame(
                UnexpectedMessageError, sender, "the CCEB acked an action it had to refuse", pointer="/uuid",
                hint="do not ack an action with reserved fields or an unsupported name: report it",
                code=ACKED_REFUSED_ACTION,
            )
        if uuid in self._settled[owner]:
            detail, code = f"ack of {article} {what} that was already acked", "already-acked"
        elif uuid in self._expired[owner]:
            detail, code = f"ack of {article} {what} whose wait expired earlier", "expired-uuid"
        else:
            detail, code = f"ack of no {what} in flight (unknown uuid)", "unknown-uuid"
        raise self._blame(
            UnknownCorrelationIdError, sender, detail, pointer="/uuid",
            hint=f"ack each {what} exactly once, with its uuid", code=code,
        )
