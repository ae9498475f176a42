"""The CCEB connection's rules, as data.

Three tables hold every order rule :class:`~ccproto.cceb.connection.CcebConnection`
enforces; the connection only looks them up.  All are keyed by what happened
and who sent it, never by "our" role, so one table checks both sides, and the
diagrams in ``docs/cceb.md`` are generated from them.

* :data:`CONNECTION_TRANSITIONS`: hello first, nothing but ``hello_reply``
  until it comes, then actions, notifications and their acks; a close ends it.
* :data:`PHONE_VALIDATION_TRANSITIONS`: the ``phone_validation`` notifications'
  states, per connection.
* :data:`OFF_HOOK_TRANSITIONS`: the ``off_hook`` notifications' states, per
  connection (the persistent phone connection outlives WebSockets, so it starts
  ``UNKNOWN``: the first notification says where it is).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from ccproto.cceb.models import Ack, Action, CcebMessage, Hello, HelloReply, Notification
from ccproto.cceb.quirks import OffHookState, PhoneValidationState
from ccproto.core.roles import IdentityEnum, Role

__all__ = [
    "CONNECTION_HINTS",
    "CONNECTION_TRANSITIONS",
    "JOINED_PHONE_VALIDATION_TRANSITIONS",
    "JOINED_TRANSITIONS",
    "OFF_HOOK_TRANSITIONS",
    "PHONE_VALIDATION_LOOKUP",
    "PHONE_VALIDATION_TRANSITIONS",
    "TRANSITIONS",
    "ConnectionState",
    "Effect",
    "Input",
    "OffHookPhase",
    "PhoneValidationPhase",
    "input_of",
    "mermaid_connection_diagram",
    "mermaid_off_hook_diagram",
    "mermaid_phone_validation_diagram",
]


class ConnectionState(IdentityEnum):
    """Where a CCEB connection is."""

    #: Nothing was sent yet: the client's first message must be ``hello``.
    AWAITING_HELLO = "awaiting-hello"
    #: ``hello`` was sent: only ``hello_reply`` (or a close: authentication failed) may follow.
    AWAITING_HELLO_REPLY = "awaiting-hello-reply"
    #: Authenticated: actions, notifications and acks flow.
    OPEN = "open"
    #: The WebSocket was closed.
    CLOSED = "closed"
    #: Observed from the middle of the conversation (a capture that began after the connection opened):
    #: the hello is not known, and the reply may still come (:data:`JOINED_TRANSITIONS`).
    JOINED = "joined"
    #: A (sticky) protocol error stopped the connection.
    ERROR = "error"


class Input(IdentityEnum):
    """What a message (or the close) is, as the connection table sees it."""

    HELLO = "hello"
    HELLO_REPLY = "hello_reply"
    ACTION = "action"
    ACK = "ack"
    NOTIFICATION = "notification"
    CLOSE = "close"


class Effect(IdentityEnum):
    """What an accepted input does besides moving the connection."""

    #: Remember the hello's uuid: the reply must repeat it.
    AWAIT_REPLY = "await reply"
    #: The reply must repeat the hello's uuid and agree with what it asked.
    ANSWER_HELLO = "answer hello"
    #: Put the action or notification in flight until the peer acks it (exactly once).
    AWAIT_ACK = "await ack"
    #: Settle the peer's action or notification of this uuid.
    SETTLE = "settle"
    #: Stop: nothing more crosses (what is in flight stays inspectable).
    CLOSE = "close"


def input_of(message: CcebMessage) -> Input:
    """Classify a message for the connection table."""
    found = _INPUTS.get(type(message))
    if found is None:
        # What a message is depends on its class alone (isinstance): worked out once per class.
        found = _INPUTS[type(message)] = _classify(message)
    return found


_INPUTS: dict[type[CcebMessage], Input] = {}


def _classify(message: CcebMessage) -> Input:
    if isinstance(message, Hello):
        return Input.HELLO
    if isinstance(message, HelloReply):
        return Input.HELLO_REPLY
    if isinstance(message, Action):
        return Input.ACTION
    if isinstance(message, Ack):
        return Input.ACK
    assert isinstance(message, Notification)
    return Input.NOTIFICATION


_C, _S = Role.CLIENT, Role.SERVER
_OPEN_STATES = (ConnectionState.AWAITING_HELLO, ConnectionState.AWAITING_HELLO_REPLY, ConnectionState.OPEN)

#: (state, sender, input) -> (effect, next state).  An absent combination is a protocol error.
CONNECTION_TRANSITIONS: dict[tuple[ConnectionState, Role, Input], tuple[Effect, ConnectionState]] = {
    (ConnectionState.AWAITING_HELLO, _C, Input.HELLO): (Effect.AWAIT_REPLY, ConnectionState.AWAITING_HELLO_REPLY),
    (ConnectionState.AWAITING_HELLO_REPLY, _S, Input.HELLO_REPLY): (Effect.ANSWER_HELLO, ConnectionState.OPEN),
    (ConnectionState.OPEN, _C, Input.ACTION): (Effect.AWAIT_ACK, ConnectionState.OPEN),
    (ConnectionState.OPEN, _S, Input.NOTIFICATION): (Effect.AWAIT_ACK, ConnectionState.OPEN),
    (ConnectionState.OPEN, _C, Input.ACK): (Effect.SETTLE, ConnectionState.OPEN),
    (ConnectionState.OPEN, _S, Input.ACK): (Effect.SETTLE, ConnectionState.OPEN),
    # Either side may close at any time; a close by the CCEB before hello_reply is an authentication failure.
    # The other side's close frame completes the closing handshake (RFC 6455), so CLOSED accepts closes too.
    **{
        (state, sender, Input.CLOSE): (Effect.CLOSE, ConnectionState.CLOSED)
        for state in (*_OPEN_STATES, ConnectionState.CLOSED)
        for sender in Role
    },
}

#: The joined reading (docs/quirks.md V11): a connection observed from the middle of its conversation may be
#: waiting for its hello_reply or open.  The reply (answering a hello from before) or any open-state message
#: settles it open.  Kept apart from :data:`CONNECTION_TRANSITIONS`: it reads a capture, it is not a rule of the
#: protocol (nor a transition to cover, nor in the state diagram).
JOINED_TRANSITIONS: dict[tuple[ConnectionState, Role, Input], tuple[Effect, ConnectionState]] = {
    (ConnectionState.JOINED, _S, Input.HELLO_REPLY): (Effect.ANSWER_HELLO, ConnectionState.OPEN),
    (ConnectionState.JOINED, _C, Input.ACTION): (Effect.AWAIT_ACK, ConnectionState.OPEN),
    (ConnectionState.JOINED, _S, Input.NOTIFICATION): (Effect.AWAIT_ACK, ConnectionState.OPEN),
    (ConnectionState.JOINED, _C, Input.ACK): (Effect.SETTLE, ConnectionState.OPEN),
    (ConnectionState.JOINED, _S, Input.ACK): (Effect.SETTLE, ConnectionState.OPEN),
    **{(ConnectionState.JOINED, sender, Input.CLOSE): (Effect.CLOSE, ConnectionState.CLOSED) for sender in Role},
}

#: Every transition a connection looks up: the protocol's and the joined reading's.
TRANSITIONS = {**CONNECTION_TRANSITIONS, **JOINED_TRANSITIONS}

#: Why a combination is absent, for the error's hint: (state, sender) -> hint.
CONNECTION_HINTS: dict[tuple[ConnectionState, Role], str] = {
    (ConnectionState.AWAITING_HELLO, _C): "the client's first message is hello",
    (ConnectionState.AWAITING_HELLO, _S): "the CCEB sends nothing before the client's hello",
    (ConnectionState.AWAITING_HELLO_REPLY, _C): "wait for hello_reply before sending anything else",
    (ConnectionState.AWAITING_HELLO_REPLY, _S): "answer hello with hello_reply (or close the connection) first",
    (ConnectionState.OPEN, _C): "hello is sent once, first; then actions and acks of notifications",
    (ConnectionState.OPEN, _S): "hello_reply answers the hello once; then notifications and acks of actions",
    (ConnectionState.CLOSED, _C): "the connection is closed: open a new one (and resume with the session_key)",
    (ConnectionState.CLOSED, _S): "the connection is closed",
    (ConnectionState.JOINED, _C): "hello is sent once, first; then actions and acks of notifications",
}


class PhoneValidationPhase(IdentityEnum):
    """Where the connection's workplace phone validation is (``IDLE``: none yet)."""

    #: Observed from the middle of the conversation: the first notification says where it is.
    UNKNOWN = "unknown"
    IDLE = "idle"
    OFFERING = "offering"
    ANSWERED = "answered"
    VERIFIED = "verified"
    INVALID = "invalid"
    REJECTED = "rejected"
    DROPPED = "dropped"


_PV = PhoneValidationState
_FINISHED = (
    PhoneValidationPhase.IDLE, PhoneValidationPhase.VERIFIED, PhoneValidationPhase.INVALID,
    PhoneValidationPhase.REJECTED, PhoneValidationPhase.DROPPED,
)

#: (phase, notified state) -> next phase.  An absent combination is a protocol error.
PHONE_VALIDATION_TRANSITIONS: dict[tuple[PhoneValidationPhase, PhoneValidationState], PhoneValidationPhase] = {
    # A validation starts with offering; a finished one may be followed by a new one.
    **{(phase, _PV.OFFERING): PhoneValidationPhase.OFFERING for phase in _FINISHED},
    (PhoneValidationPhase.OFFERING, _PV.ANSWERED): PhoneValidationPhase.ANSWERED,
    (PhoneValidationPhase.OFFERING, _PV.REJECTED): PhoneValidationPhase.REJECTED,
    (PhoneValidationPhase.OFFERING, _PV.DROPPED): PhoneValidationPhase.DROPPED,
    (PhoneValidationPhase.ANSWERED, _PV.VERIFIED): PhoneValidationPhase.VERIFIED,
    (PhoneValidationPhase.ANSWERED, _PV.INVALID): PhoneValidationPhase.INVALID,
    (PhoneValidationPhase.ANSWERED, _PV.DROPPED): PhoneValidationPhase.DROPPED,
}

#: The joined reading: a validation observed from the middle of the conversation is where its first
#: notification says (as the off-hook phase always starts).  Kept apart, as :data:`JOINED_TRANSITIONS`.
JOINED_PHONE_VALIDATION_TRANSITIONS: dict[tuple[PhoneValidationPhase, PhoneValidationState], PhoneValidationPhase] = {
    (PhoneValidationPhase.UNKNOWN, state): PhoneValidationPhase(state.value) for state in _PV
}

#: Every phone-validation transition a connection looks up.
PHONE_VALIDATION_LOOKUP = {**PHONE_VALIDATION_TRANSITIONS, **JOINED_PHONE_VALIDATION_TRANSITIONS}


class OffHookPhase(IdentityEnum):
    """Where the agent's persistent phone connection is, as the connection's off_hook notifications tell."""

    #: No off_hook notification yet on this connection (the phone connection outlives WebSockets).
    UNKNOWN = "unknown"
    DISABLED = "disabled"
    #: Enabled, with no persistent leg up.
    ENABLED = "enabled"
    OFFERING = "offering"
    ANSWERED = "answered"
    AUTHENTICATED = "authenticated"


_OH = OffHookState
_KNOWN = tuple(phase for phase in OffHookPhase if phase is not OffHookPhase.UNKNOWN)
#: Where the first notification puts an UNKNOWN phone connection.
_FIRST = {
    _OH.ENABLED: OffHookPhase.ENABLED,
    _OH.DISABLED: OffHookPhase.DISABLED,
    _OH.OFFERING: OffHookPhase.OFFERING,
    _OH.ANSWERED: OffHookPhase.ANSWERED,
    _OH.AUTHENTICATED: OffHookPhase.AUTHENTICATED,
    _OH.DROPPED: OffHookPhase.ENABLED,
    _OH.REJECTED: OffHookPhase.ENABLED,
    _OH.STATUS: OffHookPhase.UNKNOWN,
}

#: (phase, notified state) -> next phase.  An absent combination is a protocol error.
OFF_HOOK_TRANSITIONS: dict[tuple[OffHookPhase, OffHookState], OffHookPhase] = {
    **{(OffHookPhase.UNKNOWN, state): phase for state, phase in _FIRST.items()},
    # A status reply and the ack of a disable may come at any time.
    **{(phase, _OH.STATUS): phase for phase in _KNOWN},
    **{(phase, _OH.DISABLED): OffHookPhase.DISABLED for phase in _KNOWN},
    (OffHookPhase.DISABLED, _OH.ENABLED): OffHookPhase.ENABLED,
    (OffHookPhase.ENABLED, _OH.ENABLED): OffHookPhase.ENABLED,
    # Offered when the agent asks to become Available (again, if it asks again before answering).
    (OffHookPhase.ENABLED, _OH.OFFERING): OffHookPhase.OFFERING,
    (OffHookPhase.OFFERING, _OH.OFFERING): OffHookPhase.OFFERING,
    (OffHookPhase.OFFERING, _OH.ANSWERED): OffHookPhase.ANSWERED,
    (OffHookPhase.OFFERING, _OH.REJECTED): OffHookPhase.ENABLED,
    (OffHookPhase.OFFERING, _OH.DROPPED): OffHookPhase.ENABLED,
    (OffHookPhase.ANSWERED, _OH.AUTHENTICATED): OffHookPhase.AUTHENTICATED,
    (OffHookPhase.ANSWERED, _OH.DROPPED): OffHookPhase.ENABLED,
    (OffHookPhase.AUTHENTICATED, _OH.DROPPED): OffHookPhase.ENABLED,
}


def mermaid_connection_diagram() -> str:
    """The connection table as a Mermaid state diagram (for docs/cceb.md)."""
    lines = ["stateDiagram-v2", f"    [*] --> {ConnectionState.AWAITING_HELLO.name}"]
    closes: dict[ConnectionState, list[str]] = {}
    for (state, sender, input_), (effect, target) in CONNECTION_TRANSITIONS.items():
        party = "client" if sender is Role.CLIENT else "CCEB"
        if input_ is Input.CLOSE:
            closes.setdefault(state, []).append(party)
            continue
        lines.append(f"    {state.name} --> {target.name}: {party}: {input_.value} ({effect.value})")
    for state, parties in closes.items():
        lines.append(f"    {state.name} --> {ConnectionState.CLOSED.name}: {' or '.join(parties)}: close")
    lines.append(f"    {ConnectionState.CLOSED.name} --> [*]")
    return "\n".join(lines)


def _phase_diagram(table: Mapping[tuple[Any, Any], Any], start: enum.Enum) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {start.name}"]
    for (phase, state), target in table.items():
        lines.append(f"    {phase.name} --> {target.name}: {state.value}")
    return "\n".join(lines)


def mermaid_phone_validation_diagram() -> str:
    """The phone-validation table as a Mermaid state diagram."""
    return _phase_diagram(PHONE_VALIDATION_TRANSITIONS, PhoneValidationPhase.IDLE)


def mermaid_off_hook_diagram() -> str:
    """The off-hook table as a Mermaid state diagram."""
    return _phase_diagram(OFF_HOOK_TRANSITIONS, OffHookPhase.UNKNOWN)
