"""The error hierarchy shared by every protocol.

``ProtocolError`` splits by *who* broke the protocol (h11's split):
``LocalProtocolError`` when we are about to send something wrong,
``RemoteProtocolError`` when the peer sent something wrong.  Orthogonally, each
*kind* of error (schema violation, unexpected message, ...) is a class of its
own, with a ``Local`` and a ``Remote`` concrete subclass, so both
``except UnexpectedMessageError`` and ``except RemoteProtocolError`` work.

Every error carries the offending message (secrets already redacted), the role
of the party that sent it, the state it arrived in, an RFC 6901 JSON pointer to
the offending value, a stable machine-readable ``code`` and, where one exists,
a ``hint`` for the reply to send.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, TypeVar

from ccproto.core.roles import Role

__all__ = [
    "ConnectionLostError",
    "DecodeError",
    "DuplicateCorrelationIdError",
    "InvalidTransitionError",
    "LimitExceededError",
    "LocalProtocolError",
    "ProtocolError",
    "ProtocolWarning",
    "RemoteProtocolError",
    "SchemaViolationError",
    "UnexpectedMessageError",
    "UnknownCorrelationIdError",
    "UnknownMessageError",
]


class ProtocolError(Exception):
    """Base of every error ccproto raises about protocol traffic."""

    #: Stable, machine-readable identifier of the kind of error.
    code: str = "protocol-error"

    def __init__(
        self,
        detail: str,
        *,
        message: Any = None,
        role: Role | None = None,
        state: enum.Enum | str | None = None,
        pointer: str = "",
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail)
        #: Human-readable description (never contains a secret).
        self.detail = detail
        #: The offending message as a JSON value (or text), secrets redacted.
        self.message = message
        #: The role of the party that sent (or was about to send) the message.
        self.role = role
        #: The state the connection was in when the message was seen.
        self.state = state
        #: RFC 6901 JSON pointer to the offending value ("" is the whole message).
        self.pointer = pointer
        #: What to reply or do, where the protocol suggests something.
        self.hint = hint
        if code is not None:
            # A more specific code than the class's (e.g. "frame-too-large").
            self.code = code

    def __str__(self) -> str:
        parts = [self.detail]
        if self.pointer:
            parts.append(f"at {self.pointer}")
        if self.state is not None:
            state = self.state.name if isinstance(self.state, enum.Enum) else self.state
            parts.append(f"in state {state}")
        text = " ".join(parts)
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(code={self.code!r}, detail={self.detail!r}, pointer={self.pointer!r})"


class LocalProtocolError(ProtocolError):
    """We were about to send something that breaks the protocol; nothing was sent."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something that breaks the protocol."""


_E = TypeVar("_E", bound=type[ProtocolError])


def _sided(kind: _E) -> _E:
    """Give an error kind ``Local`` and ``Remote`` concrete subclasses."""
    for side in (LocalProtocolError, RemoteProtocolError):
        short = "Local" if side is LocalProtocolError else "Remote"
        sub = type(short, (kind, side), {"__module__": kind.__module__, "__doc__": f"{kind.__doc__} ({short.lower()})"})
        sub.__qualname__ = f"{kind.__qualname__}.{short}"
        setattr(kind, short, sub)
    return kind


class DecodeError(RemoteProtocolError):
    """The input is not a message at all: not UTF-8, not JSON, or not a JSON object."""

    code = "decode-error"


@_sided
class LimitExceededError(ProtocolError):
    """A configured bound (size, nesting depth, pending requests) was exceeded."""

    code = "limit-exceeded"
    Local: ClassVar[type[LimitExceededError]]
    Remote: ClassVar[type[LimitExceededError]]


@_sided
class SchemaViolationError(ProtocolError):
    """The message is JSON of the right general shape but breaks its schema."""

    code = "schema-violation"
    Local: ClassVar[type[SchemaViolationError]]
    Remote: ClassVar[type[SchemaViolationError]]


@_sided
class UnknownMessageError(ProtocolError):
    """The message's name or type is not one this protocol defines."""

    code = "unknown-message"
    Local: ClassVar[type[UnknownMessageError]]
    Remote: ClassVar[type[UnknownMessageError]]


@_sided
class UnexpectedMessageError(ProtocolError):
    """The message is valid but not allowed in the connection's current state or direction."""

    code = "unexpected-message"
    Local: ClassVar[type[UnexpectedMessageError]]
    Remote: ClassVar[type[UnexpectedMessageError]]


@_sided
class UnknownCorrelationIdError(ProtocolError):
    """A response names no outstanding request (or answers one a second time)."""

    code = "unknown-correlation-id"
    Local: ClassVar[type[UnknownCorrelationIdError]]
    Remote: ClassVar[type[UnknownCorrelationIdError]]


@_sided
class DuplicateCorrelationIdError(ProtocolError):
    """A request reuses the id of a request that is still outstanding."""

    code = "duplicate-correlation-id"
    Local: ClassVar[type[DuplicateCorrelationIdError]]
    Remote: ClassVar[type[DuplicateCorrelationIdError]]


@_sided
class InvalidTransitionError(ProtocolError):
    """A message asks for a state change the protocol forbids (e.g. a server-status jump)."""

    code = "invalid-transition"
    Local: ClassVar[type[InvalidTransitionError]]
    Remote: ClassVar[type[InvalidTransitionError]]


class ConnectionLostError(ProtocolError):
    """The transport closed while messages were still waiting for their answers.

    Raised by the transports (:mod:`ccproto.transports`), never by a sans-I/O
    connection object.  ``outstanding`` holds what was waiting (the connection
    object's ``outstanding()`` at the moment of the loss), so the caller can
    resend or report it; the connection object itself stays inspectable.
    """

    code = "connection-lost"

    def __init__(self, detail: str, *, outstanding: tuple[Any, ...] = (), **context: Any) -> None:
        super().__init__(detail, **context)
        #: What was still waiting for an answer (pending requests, acks, a hello), oldest first.
        self.outstanding = outstanding


class ProtocolWarning:
    """Something accepted but worth reporting (a value, not raised): e.g. a quirky spelling.

    With strict inbound checking, a warning is raised as an error instead.
    """

    __slots__ = ("code", "detail", "pointer")

    def __init__(self, code: str, detail: str, pointer: str = "") -> None:
        self.code = code
        self.detail = detail
        self.pointer = pointer

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProtocolWarning):
            return NotImplemented
        return (self.code, self.detail, self.pointer) == (other.code, other.detail, other.pointer)

    def __hash__(self) -> int:
        return hash((self.code, self.detail, self.pointer))

    def __repr__(self) -> str:
        return f"ProtocolWarning(code={self.code!r}, detail={self.detail!r}, pointer={self.pointer!r})"
