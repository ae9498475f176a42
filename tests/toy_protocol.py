"""A toy fourth protocol, written outside ccproto the way a new protocol is (issue 23): one protocol "package" (this
module: models, codec, a two-state table, a connection object, a capture checker), one testing slice (reference
peers, conformance machines, a walker of valid conversations, mutation hooks) and one registry line
(:func:`register`).

The protocol: a client sends ``{"type": "ping", "id": ID}``; the server answers ``{"type": "pong", "id": ID}``
with the same id before the client may ping again.  Two states: IDLE and WAITING.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

from ccproto.capture.records import Record
from ccproto.core.checker import AddFinding, MessageChecker
from ccproto.core.connection import ConnectionBase
from ccproto.core.convert import decode_model, encode_model
from ccproto.core.decoding import Decoded, message_text, parse_message
from ccproto.core.errors import LocalProtocolError, ProtocolError, SchemaViolationError, UnexpectedMessageError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import Model, model, wire
from ccproto.core.protocol import ProtocolSpec
from ccproto.core.roles import Role

NAME = "toy"
ID_PATTERN = r"^[0-9a-f]{8}$"


@model
class ToyMessage(Model):
    """A toy message: a ``type`` and an ``id``."""

    TYPE: ClassVar[str] = ""
    SENDER: ClassVar[Role] = Role.CLIENT

    id: str = wire("id", pattern=ID_PATTERN, description="The ping's id (a pong repeats it)")


@model
class Ping(ToyMessage):
    """The client asks."""

    TYPE: ClassVar[str] = "ping"
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("type",): "ping"}


@model
class Pong(ToyMessage):
    """The server answers, with the ping's id."""

    TYPE: ClassVar[str] = "pong"
    SENDER: ClassVar[Role] = Role.SERVER
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("type",): "pong"}


CLASSES: dict[str, type[ToyMessage]] = {"ping": Ping, "pong": Pong}


def new_id() -> str:
    return uuid.uuid4().hex[:8]


# -- codec --------------------------------------------------------------------------------------------------------


def message_class(value: dict[str, Any]) -> type[ToyMessage]:
    """The class a parsed value claims to be."""
    cls = CLASSES.get(value.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise SchemaViolationError.Remote(f"unknown toy message type {value.get('type')!r}", pointer="/type")
    return cls


def decode_value(value: dict[str, Any]) -> Decoded[ToyMessage]:
    return Decoded(decode_model(value, message_class(value)), value, ())


def decode_text(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> Decoded[ToyMessage]:
    return decode_value(parse_message(data, limits))


def decode(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> ToyMessage:
    return decode_text(data, limits=limits).message


def encode_value(message: ToyMessage) -> dict[str, Any]:
    return encode_model(message)


def encode(message: ToyMessage) -> str:
    return message_text(encode_value(message))


# -- the transition table and the connection object ---------------------------------------------------------------


class State(enum.Enum):
    IDLE = "idle"
    WAITING = "waiting"
    ERROR = "error"


#: (state, message type) -> next state: the whole protocol.
TABLE: dict[tuple[State, str], State] = {(State.IDLE, "ping"): State.WAITING, (State.WAITING, "pong"): State.IDLE}


class ToyConnection(ConnectionBase):
    """The toy's connection object: the table above, and the pong's id checked against the ping's."""

    ERROR_STATE = State.ERROR

    def __init__(self, our_role: Role, *, sticky_errors: bool = True, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(our_role, sticky_errors=sticky_errors)
        self.limits = limits
        self.state = State.IDLE
        self.waiting_for: str | None = None

    @property
    def current_state(self) -> State:
        return self.state

    def _enter_error_state(self) -> None:
        self.state = State.ERROR

    def observe(self, message: ToyMessage, sender: Role) -> None:
        """Apply one message sent by ``sender`` (raises the right side's error)."""
        self._check_usable(sender)
        if message.SENDER is not sender:
            raise self._fail(self._blame(UnexpectedMessageError, sender,
                                         f"a {message.TYPE} is sent by the {message.SENDER.value}"), sender)
        following = TABLE.get((self.state, message.TYPE))
        if following is None:
            raise self._fail(self._blame(UnexpectedMessageError, sender,
                                         f"a {message.TYPE} in state {self.state.value}"), sender)
        if isinstance(message, Pong) and message.id != self.waiting_for:
            raise self._fail(self._blame(UnexpectedMessageError, sender,
                                         f"the pong's id {message.id!r} is not the ping's", pointer="/id"), sender)
        self.waiting_for = message.id if isinstance(message, Ping) else None
        self.state = following

    def send(self, message: ToyMessage, *, now: float | None = None) -> str:
        self.observe(message, self.our_role)
        return encode(message)

    def send_text(self, message: ToyMessage, *, now: float | None = None) -> str:
        return self.send(message, now=now)

    def receive_message(self, data: str | bytes, *, now: float | None = None) -> ToyMessage:
        try:
            message = decode(data, limits=self.limits)
        except ProtocolError as exc:
            raise self._fail(exc, self.their_role) from None
        self.observe(message, self.their_role)
        return message

    def outstanding(self) -> tuple[Any, ...]:
        return (self.waiting_for,) if self.waiting_for is not None else ()

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> tuple[Any, ...]:
        return ()


# -- the capture checker -----------------------------------------------------------------------------------------


class ToyChecker(MessageChecker):
    """Checks one toy connection of a capture with a non-sticky :class:`ToyConnection`."""

    protocol = NAME
    idle_timeout = 3600.0

    def __init__(self, *, limits: Limits, strict: bool, capture: dict[str, Any] | None = None) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        self._connection = ToyConnection(Role.SERVER, sticky_errors=False, limits=limits)
        self._open: list[tuple[int, str]] = []

    def _decode(self, value: dict[str, Any]) -> Decoded[Any]:
        return decode_value(value)

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        return message_class(value)

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        try:
            self._connection.observe(decoded.message, record.sender)
        except ProtocolError as exc:
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, str(exc))
            return
        if isinstance(decoded.message, Ping):
            self._open = [(record.number, decoded.message.id)]
        else:
            self._open = []

    def finish(self, file: str, conn: str, last_record: int, *, ended: str = "the capture ended") -> list[Finding]:
        return self._unanswered(file, conn, last_record, [(number, "/id", f"ping {ping!r}") for number, ping
                                                          in self._open], ended)


# -- the protocol's descriptor ------------------------------------------------------------------------------------

#: The toy's spec: its checker and its testing slice are objects here (a package of ccproto's would name them by
#: import path, to keep its layer free of imports from above).
PROTOCOL = ProtocolSpec(
    name=NAME,
    description="a toy ping-pong protocol",
    transport="websocket",
    decode=decode,
    recognizes=lambda message: message.get("type") in CLASSES and "uuid" not in message,
    checker=ToyChecker,
    testing="toy_slice:SLICE",
)


@attrs.frozen
class Registration:
    """What :func:`register` did, to undo."""

    undo: Callable[[], None]


def register() -> Registration:
    """The one registry line (and its undoing, for tests)."""
    from ccproto import protocols

    protocols.register(PROTOCOL)
    return Registration(lambda: protocols.unregister(NAME))


__all__ = ["PROTOCOL", "LocalProtocolError", "Ping", "Pong", "ToyConnection", "register"]
