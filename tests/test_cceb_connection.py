"""The CCEB connection: a whole client <-> CCEB conversation, every (state, sender, input) combination of the
connection table, every (phase, state) pair of the phone-validation and off-hook tables, acks, hello_reply rules,
timers, closes, reserved fields, limits, sticky errors, and a property over random interleavings."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.cceb import (
    Ack,
    Action,
    CcebConnection,
    CcebMessage,
    ConnectionClosed,
    ConnectionState,
    Hello,
    HelloReply,
    InFlight,
    OffHook,
    OffHookPhase,
    OffHookState,
    PhoneValidation,
    PhoneValidationPhase,
    PhoneValidationState,
    Presence,
    encode,
    new_uuid,
)
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.cceb.quirks import AUTH_FAILURE_CLOSE_CODE
from ccproto.cceb.states import (
    CONNECTION_HINTS,
    CONNECTION_TRANSITIONS,
    JOINED_TRANSITIONS,
    OFF_HOOK_TRANSITIONS,
    PHONE_VALIDATION_LOOKUP,
    TRANSITIONS,
    Effect,
    Input,
    input_of,
)
from ccproto.core.errors import (
    DecodeError,
    DuplicateCorrelationIdError,
    InvalidTransitionError,
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
    UnknownMessageError,
)
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role

C, S = Role.CLIENT, Role.SERVER
CANARY = "jwt-canary-5f1e9c"
TENANT = "acme"
KEY = "k" * 43
OTHER_KEY = "o" * 43
ACTION_NAME = "ChangeAgentStateEvent"
DIRECTION_HINT = "hello and actions flow client -> CCEB; hello_reply and notifications CCEB -> client"
TIMEOUT = DEFAULT_LIMITS.request_timeout
ROLES = [pytest.param(C, id="as-client"), pytest.param(S, id="as-cceb")]


# -- helpers ------------------------------------------------------------------------------------


def hello(**members: Any) -> Hello:
    return Hello.new(token=CANARY, tenant=TENANT, **members)


def action(uuid: str | None = None, **details: Any) -> Action:
    return Action(uuid=uuid or new_uuid(), action=ACTION_NAME, action_details={"state": "Ready", **details})


def presence(uuid: str | None = None) -> Presence:
    return Presence(uuid=uuid or new_uuid(), data={"status": "Available"})


def phone_validation(state: PhoneValidationState, uuid: str | None = None) -> PhoneValidation:
    timeout = 30 if state is PhoneValidationState.OFFERING else None
    return PhoneValidation(uuid=uuid or new_uuid(), state=state, timeout=timeout)


def off_hook(state: OffHookState, uuid: str | None = None) -> OffHook:
    return OffHook(
        uuid=uuid or new_uuid(), state=state,
        timeout=20 if state is OffHookState.OFFERING else None,
        media_resource_id="media-1" if state is OffHookState.AUTHENTICATED else None,
    )


def side(sender: Role, our_role: Role) -> type[ProtocolError]:
    """Errors blame the sender: ``Local`` when it is us, ``Remote`` when it is the peer."""
    return LocalProtocolError if sender is our_role else RemoteProtocolError


def opened(our_role: Role, *, now: float | None = None, **options: Any) -> CcebConnection:
    """A connection past hello / hello_reply (seen through ``observe``)."""
    conn = CcebConnection(our_role, **options)
    first = hello()
    conn.observe(first, C, now=now)
    conn.observe(HelloReply(uuid=first.uuid), S, now=now)
    assert conn.state is ConnectionState.OPEN
    return conn


def pair(**options: Any) -> dict[Role, CcebConnection]:
    return {C: CcebConnection(C, **options), S: CcebConnection(S, **options)}


def talk(ends: dict[Role, CcebConnection], sender: Role, message: CcebMessage,
         now: float | None = None) -> CcebMessage:
    """``sender`` sends ``message``; its peer receives the text.  Returns what the peer decoded."""
    text = ends[sender].send(message, now=now)
    assert isinstance(text, str)
    received = ends[sender.peer].receive_message(text, now=now)
    assert received == message
    return received


def uuids(items: tuple[InFlight, ...]) -> list[str]:
    return [item.uuid for item in items]


def open_pair(**options: Any) -> dict[Role, CcebConnection]:
    ends = pair(**options)
    first = hello()
    talk(ends, C, first)
    talk(ends, S, HelloReply(uuid=first.uuid))
    return ends


# -- a whole conversation -----------------------------------------------------------------------


def test_a_whole_conversation_between_a_client_and_the_cceb() -> None:
    ends = pair()
    client, server = ends[C], ends[S]
    for end in ends.values():
        assert end.state is ConnectionState.AWAITING_HELLO
        assert end.in_flight() == ()
        assert end.session_key is None
        assert (end.phone_validation, end.off_hook) == (PhoneValidationPhase.IDLE, OffHookPhase.UNKNOWN)

    first = hello(long_lived=True, auto_accept=True)
    talk(ends, C, first, now=0.0)
    for end in ends.values():
        assert end.state is ConnectionState.AWAITING_HELLO_REPLY
        assert end.hello == first
        (item,) = end.in_flight()
        assert (item.uuid, item.message_type, item.sender, item.since, item.deadline) == (
            first.uuid, "hello", C, 0.0, TIMEOUT)
        assert end.in_flight(C) == (item,)
        assert end.in_flight(S) == ()
        assert end.unacked_actions() == end.unacked_notifications() == ()
        assert end.session_key is None

    reply = HelloReply(uuid=first.uuid, session_key=KEY, resumed=False)
    talk(ends, S, reply, now=1.0)
    for end in ends.values():
        assert end.state is ConnectionState.OPEN
        assert end.hello_reply == reply
        assert end.session_key == KEY
        assert end.in_flight() == ()
        assert end.get_timer() is None

    act = Action.new(ACTION_NAME, {"state": "Ready"})
    talk(ends, C, act, now=2.0)
    for end in ends.values():
        (item,) = end.unacked_actions()
        assert (item.uuid, item.message, item.sender) == (act.uuid, act, C)
        assert (item.since, item.deadline) == (2.0, 2.0 + TIMEOUT)
        assert end.in_flight() == end.in_flight(C) == (item,)
        assert end.unacked_notifications() == ()
    talk(ends, S, Ack.of(act), now=3.0)
    for end in ends.values():
        assert end.unacked_actions() == end.in_flight() == ()

    steps: list[tuple[CcebMessage, PhoneValidationPhase, OffHookPhase]] = [
        (phone_validation(PhoneValidationState.OFFERING), PhoneValidationPhase.OFFERING, OffHookPhase.UNKNOWN),
        (phone_validation(PhoneValidationState.ANSWERED), PhoneValidationPhase.ANSWERED, OffHookPhase.UNKNOWN),
        (phone_validation(PhoneValidationState.VERIFIED), PhoneValidationPhase.VERIFIED, OffHookPhase.UNKNOWN),
        (off_hook(OffHookState.ENABLED), PhoneValidationPhase.VERIFIED, OffHookPhase.ENABLED),
        (off_hook(OffHookState.OFFERING), PhoneValidationPhase.VERIFIED, OffHookPhase.OFFERING),
        (off_hook(OffHookState.ANSWERED), PhoneValidationPhase.VERIFIED, OffHookPhase.ANSWERED),
        (off_hook(OffHookState.AUTHENTICATED), PhoneValidationPhase.VERIFIED, OffHookPhase.AUTHENTICATED),
        (off_hook(OffHookState.DROPPED), PhoneValidationPhase.VERIFIED, OffHookPhase.ENABLED),
    ]
    sent: list[str] = []
    for step, (notification, pv_phase, oh_phase) in enumerate(steps):
        talk(ends, S, notification, now=10.0 + step)
        sent.append(notification.uuid)
        for end in ends.values():
            assert (end.phone_validation, end.off_hook) == (pv_phase, oh_phase)
            assert uuids(end.unacked_notifications()) == sent
            assert end.in_flight() == end.in_flight(S) == end.unacked_notifications()
            assert end.unacked_actions() == ()
            assert end.get_timer() == 10.0 + TIMEOUT
    # The client acks them out of order; each settles exactly its own.
    for uuid in [*sent[1::2], *sent[0::2]]:
        talk(ends, C, Ack(uuid=uuid), now=30.0)
        sent.remove(uuid)
        for end in ends.values():
            assert uuids(end.unacked_notifications()) == sent
    assert client.in_flight() == server.in_flight() == ()
    assert client.get_timer() is server.get_timer() is None

    ours, theirs = client.close(1000, "bye", now=40.0), server.receive_close(1000, "bye", now=40.0)
    assert ours == theirs == ConnectionClosed(by=C, code=1000, reason="bye")
    for end, event in ((client, ours), (server, theirs)):
        assert end.state is ConnectionState.CLOSED
        assert end.error is None
        assert end.closed is event
        assert end.in_flight() == ()


# -- the connection table -----------------------------------------------------------------------


@dataclasses.dataclass
class Reached:
    """A connection driven into a state, and a message of each input that is right in every respect but order."""

    conn: CcebConnection
    hello: Hello
    #: In flight (OPEN and CLOSED): an action from the client and a notification from the CCEB.
    action: Action
    notification: Presence
    #: The close that ended it (CLOSED).
    closed: ConnectionClosed | None = None

    def message(self, input_: Input, sender: Role) -> CcebMessage | None:
        """A message of ``input_`` from ``sender`` (``None`` for the close)."""
        if input_ is Input.CLOSE:
            return None
        if input_ is Input.HELLO:
            return self.hello if self.conn.hello is None else hello()
        if input_ is Input.HELLO_REPLY:
            return HelloReply(uuid=self.hello.uuid)
        if input_ is Input.ACTION:
            return action()
        if input_ is Input.NOTIFICATION:
            return presence()
        assert input_ is Input.ACK
        # Each side acks what the other sent.
        return Ack.of(self.notification if sender is C else self.action)


def reach(state: ConnectionState, our_role: Role, **options: Any) -> Reached:
    conn = CcebConnection(our_role, **options)
    reached = Reached(conn, hello(), action(), presence())
    if state is ConnectionState.JOINED:
        conn.join()  # what reached.message() answers was sent before observing began
    elif state is not ConnectionState.AWAITING_HELLO:
        conn.observe(reached.hello, C, now=0.0)
    if state in (ConnectionState.OPEN, ConnectionState.CLOSED):
        conn.observe(HelloReply(uuid=reached.hello.uuid), S, now=1.0)
        conn.observe(reached.action, C, now=2.0)
        conn.observe(reached.notification, S, now=3.0)
    if state is ConnectionState.CLOSED:
        reached.closed = conn.observe_close(C)
    assert conn.state is state
    assert conn.error is None
    return reached


def deliver(conn: CcebConnection, sender: Role, message: CcebMessage | None) -> ConnectionClosed | None:
    """``message`` from ``sender`` through ``observe`` (``None``: ``sender`` closes, through ``observe_close``)."""
    if message is None:
        return conn.observe_close(sender, code=1000)
    conn.observe(message, sender)
    return None


def expected_error(state: ConnectionState, sender: Role, input_: Input) -> tuple[str, str | None]:
    """(code, hint) of the error for a combination the table lacks."""
    if not any(key[1] is sender and key[2] is input_ for key in TRANSITIONS):
        return "wrong-direction", DIRECTION_HINT
    return "out-of-order", CONNECTION_HINTS[(state, sender)]


WALKED_STATES = [state for state in ConnectionState if state is not ConnectionState.ERROR]
COMBINATIONS = [
    pytest.param(state, sender, input_, our_role,
                 id=f"{state.value}-{sender.value}-sends-{input_.value}-as-{our_role.value}")
    for state, sender, input_, our_role in itertools.product(WALKED_STATES, Role, Input, Role)
]


@pytest.mark.parametrize(("state", "sender", "input_", "our_role"), COMBINATIONS)
def test_every_state_sender_input_combination_follows_the_table(
    state: ConnectionState, sender: Role, input_: Input, our_role: Role
) -> None:
    reached = reach(state, our_role)
    conn = reached.conn
    message = reached.message(input_, sender)
    if message is not None:
        assert input_of(message) is input_
    before = conn.in_flight()
    found = TRANSITIONS.get((state, sender, input_))
    if found is not None:
        effect, target = found
        event = deliver(conn, sender, message)
        assert (message is None) is (input_ is Input.CLOSE)
        assert conn.state is target
        assert conn.error is None
        after = conn.in_flight()
        if effect is Effect.AWAIT_REPLY:
            assert isinstance(message, Hello)
            assert conn.hello == message
            (item,) = after
            assert (item.uuid, item.message_type, item.sender) == (message.uuid, "hello", C)
        elif effect is Effect.ANSWER_HELLO:
            assert conn.hello_reply == message
            assert after == ()
        elif effect is Effect.AWAIT_ACK:
            assert message is not None
            assert after[:-1] == before
            assert (after[-1].uuid, after[-1].message, after[-1].sender) == (message.uuid, message, sender)
        elif effect is Effect.SETTLE:
            settled = reached.notification if sender is C else reached.action
            assert uuids(after) == [uuid for uuid in uuids(before) if uuid != settled.uuid]
            # Joined: the ack settles what was sent before observing began.
            assert len(after) == len(before) - (state is not ConnectionState.JOINED)
        else:
            assert effect is Effect.CLOSE
            assert event is not None
            # The first close says how it ended (a second one completes the closing handshake).
            assert conn.closed is (event if reached.closed is None else reached.closed)
            assert (event.by, event.code, event.in_flight) == (sender, 1000, before)
            assert event.authentication_failed is (state is ConnectionState.AWAITING_HELLO_REPLY and sender is S)
        return
    code, hint = expected_error(state, sender, input_)
    with pytest.raises(UnexpectedMessageError) as info:
        deliver(conn, sender, message)
    error = info.value
    assert isinstance(error, side(sender, our_role))
    assert (error.code, error.pointer, error.hint) == (code, "/type", hint)
    assert error.role is sender
    assert error.state is state
    if message is not None:
        assert error.message is not None
        assert CANARY not in str(error) + json.dumps(error.message)
    assert conn.state is ConnectionState.ERROR  # sticky
    assert conn.error is error


REJECTED = [
    pytest.param(state, sender, input_, id=f"{state.value}-{sender.value}-sends-{input_.value}")
    for state, sender, input_ in itertools.product(WALKED_STATES, Role, Input)
    if (state, sender, input_) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "sender", "input_"), REJECTED)
def test_a_rejected_input_changes_nothing_when_errors_are_not_sticky(
    state: ConnectionState, sender: Role, input_: Input
) -> None:
    reached = reach(state, S, sticky_errors=False)
    conn = reached.conn
    before = conn.in_flight()
    with pytest.raises(UnexpectedMessageError):
        deliver(conn, sender, reached.message(input_, sender))
    assert conn.state is state
    assert conn.error is None
    assert conn.in_flight() == before
    if state is ConnectionState.OPEN:  # still usable
        conn.observe(Ack.of(reached.action), S)
        assert uuids(conn.in_flight()) == [reached.notification.uuid]


def test_the_table_and_its_hints_cover_every_state() -> None:
    assert {key[0] for key in CONNECTION_TRANSITIONS} <= set(WALKED_STATES)
    assert {key[0] for key in CONNECTION_TRANSITIONS if key[2] is not Input.CLOSE} == {
        ConnectionState.AWAITING_HELLO, ConnectionState.AWAITING_HELLO_REPLY, ConnectionState.OPEN,
    }
    # Nothing but a close leads out of a state into another one, and every close ends in CLOSED.
    for (_, _, input_), (_, target) in CONNECTION_TRANSITIONS.items():
        assert (target is ConnectionState.CLOSED) is (input_ is Input.CLOSE)
    for state, sender in itertools.product(WALKED_STATES, Role):
        # A hint for every state where the sender has something it may send elsewhere but not here.
        refused = [input_ for input_ in Input if (state, sender, input_) not in TRANSITIONS
                   and any(key[1] is sender and key[2] is input_ for key in TRANSITIONS)]
        if refused:
            assert CONNECTION_HINTS[(state, sender)], (state, sender, refused)


def test_the_joined_reading_starts_only_from_joined_and_leads_where_the_protocol_does() -> None:
    assert set(JOINED_TRANSITIONS).isdisjoint(CONNECTION_TRANSITIONS)
    for (state, sender, input_), (effect, target) in JOINED_TRANSITIONS.items():
        assert state is ConnectionState.JOINED
        assert (effect, target) in {found for (_, s, i), found in CONNECTION_TRANSITIONS.items()
                                    if s is sender and i is input_}


def test_joined_acks_from_before_pass_until_history_until() -> None:
    conn = CcebConnection(S, sticky_errors=False)
    conn.join(history_until=30.0)
    assert conn.phone_validation is PhoneValidationPhase.UNKNOWN
    first = Ack(uuid=action().uuid)
    conn.observe(first, S, now=29.0)  # the CCEB acks an action sent before observing began
    assert conn.state is ConnectionState.OPEN
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(first, S, now=29.5)
    assert info.value.code == "already-acked"
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack(uuid=action().uuid), S, now=31.0)
    assert info.value.code == "unknown-uuid"
    with pytest.raises(RuntimeError):
        conn.join()


def test_wrong_direction_through_send_and_receive() -> None:
    client = opened(C)
    with pytest.raises(UnexpectedMessageError.Local) as info:
        client.send(presence())
    assert (info.value.code, info.value.pointer, info.value.role) == ("wrong-direction", "/type", C)
    server = opened(S)
    with pytest.raises(UnexpectedMessageError.Remote) as info:
        server.receive_message(encode(presence()))
    assert (info.value.code, info.value.role) == ("wrong-direction", C)


# -- the phone-validation and off-hook tables ---------------------------------------------------

PV_PATHS: dict[PhoneValidationPhase, tuple[PhoneValidationState, ...]] = {
    PhoneValidationPhase.UNKNOWN: (),  # a joined connection (docs/quirks.md V11)
    PhoneValidationPhase.IDLE: (),
    PhoneValidationPhase.OFFERING: (PhoneValidationState.OFFERING,),
    PhoneValidationPhase.ANSWERED: (PhoneValidationState.OFFERING, PhoneValidationState.ANSWERED),
    PhoneValidationPhase.VERIFIED: (
        PhoneValidationState.OFFERING, PhoneValidationState.ANSWERED, PhoneValidationState.VERIFIED),
    PhoneValidationPhase.INVALID: (
        PhoneValidationState.OFFERING, PhoneValidationState.ANSWERED, PhoneValidationState.INVALID),
    PhoneValidationPhase.REJECTED: (PhoneValidationState.OFFERING, PhoneValidationState.REJECTED),
    PhoneValidationPhase.DROPPED: (PhoneValidationState.OFFERING, PhoneValidationState.DROPPED),
}
OH_PATHS: dict[OffHookPhase, tuple[OffHookState, ...]] = {
    OffHookPhase.UNKNOWN: (),
    OffHookPhase.DISABLED: (OffHookState.DISABLED,),
    OffHookPhase.ENABLED: (OffHookState.ENABLED,),
    OffHookPhase.OFFERING: (OffHookState.ENABLED, OffHookState.OFFERING),
    OffHookPhase.ANSWERED: (OffHookState.ENABLED, OffHookState.OFFERING, OffHookState.ANSWERED),
    OffHookPhase.AUTHENTICATED: (
        OffHookState.ENABLED, OffHookState.OFFERING, OffHookState.ANSWERED, OffHookState.AUTHENTICATED),
}


def test_the_paths_reach_every_phase() -> None:
    assert set(PV_PATHS) == set(PhoneValidationPhase)
    assert set(OH_PATHS) == set(OffHookPhase)


@dataclasses.dataclass(frozen=True)
class PhaseTable:
    name: str
    table: dict[Any, Any]
    paths: dict[Any, tuple[Any, ...]]
    notify: Any
    attribute: str
    code: str

    def phase(self, conn: CcebConnection) -> Any:
        return getattr(conn, self.attribute)


PV = PhaseTable("phone-validation", PHONE_VALIDATION_LOOKUP, PV_PATHS, phone_validation, "phone_validation",
                "phone-validation-transition")
OH = PhaseTable("off-hook", OFF_HOOK_TRANSITIONS, OH_PATHS, off_hook, "off_hook", "off-hook-transition")
PHASE_PAIRS = [
    pytest.param(table, phase, notified, id=f"{table.name}-{phase.value}-then-{notified.value}")
    for table, phases, states in ((PV, PhoneValidationPhase, PhoneValidationState), (OH, OffHookPhase, OffHookState))
    for phase, notified in itertools.product(phases, states)
]


def phase_reached(table: PhaseTable, phase: Any, our_role: Role, **options: Any) -> CcebConnection:
    if phase is PhoneValidationPhase.UNKNOWN:
        conn = CcebConnection(our_role, **options)
        conn.join()
        conn.observe(action(), C)  # the connection is open: its phone validation is still unknown
        conn.observe(Ack.of(conn.unacked_actions()[0].message), S)  # type: ignore[arg-type]
    else:
        conn = opened(our_role, **options)
    for step in table.paths[phase]:
        notification = table.notify(step)
        conn.observe(notification, S)
        conn.observe(Ack.of(notification), C)
    assert table.phase(conn) is phase
    assert conn.in_flight() == ()
    return conn


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize(("table", "phase", "notified"), PHASE_PAIRS)
def test_every_phase_and_notified_state_follows_its_table(
    table: PhaseTable, phase: Any, notified: Any, our_role: Role
) -> None:
    conn = phase_reached(table, phase, our_role, sticky_errors=False)
    notification = table.notify(notified)
    target = table.table.get((phase, notified))
    if target is not None:
        conn.observe(notification, S)
        assert table.phase(conn) is target
    else:
        with pytest.raises(InvalidTransitionError) as info:
            conn.observe(notification, S)
        error = info.value
        assert isinstance(error, side(S, our_role))
        assert (error.code, error.pointer, error.role, error.state) == (
            table.code, "/data/state", S, ConnectionState.OPEN)
        allowed = sorted(s.value for (p, s) in table.table if p is phase)
        assert error.hint == "next allowed: " + ", ".join(allowed)
        assert table.phase(conn) is phase  # unchanged
        assert conn.state is ConnectionState.OPEN
    # Either way the notification is in flight: the client acks what it received.
    assert uuids(conn.unacked_notifications()) == [notification.uuid]
    conn.observe(Ack.of(notification), C)
    assert conn.in_flight() == ()


@pytest.mark.parametrize(("table", "phase", "notified"), [
    pytest.param(PV, PhoneValidationPhase.IDLE, PhoneValidationState.VERIFIED, id="phone-validation"),
    pytest.param(OH, OffHookPhase.ENABLED, OffHookState.AUTHENTICATED, id="off-hook"),
])
def test_a_refused_phase_stops_a_sticky_connection_with_the_notification_in_flight(
    table: PhaseTable, phase: Any, notified: Any
) -> None:
    assert (phase, notified) not in table.table
    client = phase_reached(table, phase, C)
    notification = table.notify(notified)
    with pytest.raises(InvalidTransitionError.Remote) as info:
        client.receive_message(encode(notification))
    assert (info.value.code, info.value.pointer) == (table.code, "/data/state")
    assert client.state is ConnectionState.ERROR
    assert client.error is info.value
    assert table.phase(client) is phase
    assert uuids(client.unacked_notifications()) == [notification.uuid]
    with pytest.raises(UnexpectedMessageError.Local) as after:
        client.send(Ack.of(notification))
    assert after.value.code == "channel-failed"


# -- acks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("sender", [pytest.param(C, id="client-acks"), pytest.param(S, id="cceb-acks")])
def test_an_ack_of_an_unknown_uuid(sender: Role, our_role: Role) -> None:
    conn = opened(our_role)
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack(uuid=new_uuid()), sender)
    assert isinstance(info.value, side(sender, our_role))
    assert (info.value.code, info.value.pointer, info.value.role) == ("unknown-uuid", "/uuid", sender)


def sent_by(acker: Role) -> CcebMessage:
    """What ``acker`` acks: the CCEB acks actions, the client notifications."""
    return action() if acker is S else presence()


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("acker", [pytest.param(C, id="client-acks"), pytest.param(S, id="cceb-acks")])
def test_each_message_is_acked_exactly_once(acker: Role, our_role: Role) -> None:
    conn = opened(our_role)
    message = sent_by(acker)
    conn.observe(message, acker.peer)
    conn.observe(Ack.of(message), acker)
    assert conn.in_flight() == ()
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack.of(message), acker)
    assert isinstance(info.value, side(acker, our_role))
    assert (info.value.code, info.value.pointer) == ("already-acked", "/uuid")


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("acker", [pytest.param(C, id="client-acks"), pytest.param(S, id="cceb-acks")])
def test_an_ack_after_the_wait_expired(acker: Role, our_role: Role) -> None:
    conn = opened(our_role)
    message = sent_by(acker)
    conn.observe(message, acker.peer, now=100.0)
    (expired,) = conn.handle_timer(100.0 + TIMEOUT)
    assert expired.uuid == message.uuid
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack.of(message), acker)
    assert isinstance(info.value, side(acker, our_role))
    assert (info.value.code, info.value.pointer) == ("expired-uuid", "/uuid")


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("sender", [pytest.param(C, id="client-action"), pytest.param(S, id="cceb-notification")])
def test_a_uuid_in_flight_cannot_be_reused_in_the_same_direction(sender: Role, our_role: Role) -> None:
    conn = opened(our_role)
    uuid = new_uuid()
    first = action(uuid) if sender is C else presence(uuid)
    again = action(uuid, note="again") if sender is C else phone_validation(PhoneValidationState.OFFERING, uuid)
    conn.observe(first, sender)
    with pytest.raises(DuplicateCorrelationIdError) as info:
        conn.observe(again, sender)
    assert isinstance(info.value, side(sender, our_role))
    assert (info.value.code, info.value.pointer, info.value.role) == ("uuid-in-flight", "/uuid", sender)
    assert conn.phone_validation is PhoneValidationPhase.IDLE


@pytest.mark.parametrize("sender", [pytest.param(C, id="client-action"), pytest.param(S, id="cceb-notification")])
def test_a_uuid_may_be_reused_once_acked_or_expired(sender: Role) -> None:
    conn = opened(S)
    uuid = new_uuid()
    make = action if sender is C else presence
    conn.observe(make(uuid), sender)
    conn.observe(Ack(uuid=uuid), sender.peer)
    conn.observe(make(uuid), sender)  # acked: free again
    assert uuids(conn.in_flight(sender)) == [uuid]
    conn.observe(Ack(uuid=uuid), sender.peer)
    conn.observe(make(uuid), sender, now=0.0)
    assert conn.handle_timer(TIMEOUT)
    conn.observe(make(uuid), sender)  # expired: free again, and its ack is not "expired"
    conn.observe(Ack(uuid=uuid), sender.peer)
    assert conn.in_flight() == ()
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack(uuid=uuid), sender.peer)
    assert info.value.code == "already-acked"


@pytest.mark.parametrize("sender", [pytest.param(C, id="client-action"), pytest.param(S, id="cceb-notification")])
def test_a_late_ack_names_what_happened_to_the_latest_use_of_a_uuid(sender: Role) -> None:
    conn = opened(S, sticky_errors=False)
    uuid = new_uuid()
    make = action if sender is C else presence
    conn.observe(make(uuid), sender)
    conn.observe(Ack(uuid=uuid), sender.peer)
    conn.observe(make(uuid), sender, now=0.0)  # reused after its ack, then expired
    assert uuids(conn.handle_timer(TIMEOUT)) == [uuid]
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack(uuid=uuid), sender.peer)
    assert info.value.code == "expired-uuid"
    conn.observe(make(uuid), sender, now=0.0)  # reused after it expired, then acked
    conn.observe(Ack(uuid=uuid), sender.peer)
    with pytest.raises(UnknownCorrelationIdError) as again:
        conn.observe(Ack(uuid=uuid), sender.peer)
    assert again.value.code == "already-acked"


def test_one_uuid_in_flight_in_both_directions_is_settled_by_the_right_ack() -> None:
    ends = open_pair()
    uuid = new_uuid()
    act, note = action(uuid), presence(uuid)
    talk(ends, C, act)
    talk(ends, S, note)
    for end in ends.values():
        assert uuids(end.unacked_actions()) == uuids(end.unacked_notifications()) == [uuid]
    talk(ends, S, Ack(uuid=uuid))  # the CCEB acks the action
    for end in ends.values():
        assert end.unacked_actions() == ()
        assert [item.message for item in end.unacked_notifications()] == [note]
    talk(ends, C, Ack(uuid=uuid))  # the client acks the notification
    for end in ends.values():
        assert end.in_flight() == ()


def test_the_cceb_cannot_ack_its_own_notification_nor_the_client_its_own_action() -> None:
    conn = opened(C, sticky_errors=False)
    note, act = presence(), action()
    conn.observe(note, S)
    conn.observe(act, C)
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        conn.observe(Ack.of(note), S)
    assert info.value.code == "unknown-uuid"
    with pytest.raises(UnknownCorrelationIdError.Local) as info:
        conn.observe(Ack.of(act), C)
    assert info.value.code == "unknown-uuid"
    assert uuids(conn.in_flight()) == [note.uuid, act.uuid]


@pytest.mark.parametrize("our_role", ROLES)
def test_the_client_cannot_ack_the_hello(our_role: Role) -> None:
    conn = CcebConnection(our_role, sticky_errors=False)
    first = hello()
    conn.observe(first, C)
    with pytest.raises(UnexpectedMessageError) as info:
        conn.observe(Ack.of(first), C)
    assert (info.value.code, info.value.state) == ("out-of-order", ConnectionState.AWAITING_HELLO_REPLY)
    conn.observe(HelloReply(uuid=first.uuid), S)
    with pytest.raises(UnknownCorrelationIdError) as other:
        conn.observe(Ack.of(first), C)
    assert isinstance(other.value, side(C, our_role))
    assert other.value.code == "unknown-uuid"


# -- hello_reply ----------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", ROLES)
def test_hello_reply_must_repeat_the_hellos_uuid(our_role: Role) -> None:
    conn = CcebConnection(our_role)
    conn.observe(hello(), C)
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(HelloReply(uuid=new_uuid()), S)
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer, info.value.role) == ("wrong-uuid", "/uuid", S)
    assert conn.state is ConnectionState.ERROR


SESSION_KEY_CASES = [
    pytest.param({"long_lived": True}, {"session_key": KEY, "resumed": True}, "/data/resumed",
                 id="resumed-without-a-hello-key"),
    pytest.param({"session_key": KEY}, {"session_key": OTHER_KEY, "resumed": True}, "/data/session_key",
                 id="resumed-with-another-key"),
    pytest.param({"session_key": KEY}, {"resumed": True}, "/data/session_key", id="resumed-without-a-key"),
    pytest.param({"long_lived": True}, {"resumed": False}, "/data/session_key", id="long-lived-without-a-key"),
    pytest.param({"long_lived": True}, {}, "/data/session_key", id="long-lived-with-empty-data"),
    pytest.param({"session_key": KEY}, {}, "/data/session_key", id="resume-asked-without-a-key"),
    pytest.param({"session_key": KEY}, {"session_key": KEY, "resumed": False}, "/data/resumed",
                 id="not-resumed-repeating-the-hello-key"),
    pytest.param({"session_key": KEY, "long_lived": True}, {"session_key": KEY}, "/data/resumed",
                 id="resumed-absent-repeating-the-hello-key"),
]


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize(("asked", "answered", "where"), SESSION_KEY_CASES)
def test_hello_reply_must_agree_with_the_session_the_hello_asked_for(
    asked: dict[str, Any], answered: dict[str, Any], where: str, our_role: Role
) -> None:
    conn = CcebConnection(our_role)
    first = hello(**asked)
    conn.observe(first, C)
    reply = HelloReply(uuid=first.uuid, **answered)
    with pytest.raises(UnexpectedMessageError) as info:
        conn.observe(reply, S)
    error = info.value
    assert isinstance(error, side(S, our_role))
    assert (error.code, error.pointer, error.role) == ("session-key", where, S)
    assert error.hint
    for secret in (KEY, OTHER_KEY, CANARY):
        assert secret not in str(error) + repr(error) + json.dumps(error.message)
    assert conn.state is ConnectionState.ERROR


ACCEPTED_REPLIES = [
    pytest.param({}, {}, None, id="short-lived"),
    pytest.param({"long_lived": False}, {"resumed": False}, None, id="long-lived-false"),
    pytest.param({"long_lived": True}, {"session_key": KEY, "resumed": False}, KEY, id="new-session"),
    pytest.param({"long_lived": True}, {"session_key": KEY}, KEY, id="new-session-resumed-absent"),
    pytest.param({"session_key": KEY}, {"session_key": KEY, "resumed": True}, KEY, id="resumed"),
    pytest.param({"session_key": KEY}, {"session_key": OTHER_KEY, "resumed": False}, OTHER_KEY,
                 id="expired-key-new-session"),
]


@pytest.mark.parametrize(("asked", "answered", "key"), ACCEPTED_REPLIES)
def test_hello_reply_agreeing_with_the_hello_opens_the_connection(
    asked: dict[str, Any], answered: dict[str, Any], key: str | None
) -> None:
    ends = pair()
    first = hello(**asked)
    talk(ends, C, first)
    reply = HelloReply(uuid=first.uuid, **answered)
    talk(ends, S, reply)
    for end in ends.values():
        assert end.state is ConnectionState.OPEN
        assert end.hello_reply == reply
        assert end.session_key == key


def test_hello_reply_after_the_hello_expired() -> None:
    conn = CcebConnection(C)
    first = hello()
    conn.send(first, now=5.0)
    assert conn.get_timer() == 5.0 + TIMEOUT
    (expired,) = conn.handle_timer(5.0 + TIMEOUT)
    assert expired.message == first
    assert conn.in_flight() == ()
    assert conn.state is ConnectionState.AWAITING_HELLO_REPLY
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        conn.receive_message(encode(HelloReply(uuid=first.uuid)))
    assert (info.value.code, info.value.pointer) == ("expired-uuid", "/uuid")


# -- timers ---------------------------------------------------------------------------------------


def test_get_timer_is_the_earliest_deadline_and_handle_timer_expires_exactly_the_due_items() -> None:
    limits = Limits(request_timeout=10.0)
    conn = CcebConnection(S, limits=limits)
    assert conn.get_timer() is None
    first = hello()
    conn.observe(first, C, now=0.0)
    assert conn.get_timer() == 10.0
    conn.observe(HelloReply(uuid=first.uuid), S, now=1.0)
    assert conn.get_timer() is None
    act, note, late, timeless = action(), presence(), action(), presence()
    conn.observe(act, C, now=5.0)
    conn.observe(note, S, now=3.0)
    conn.observe(late, C, now=7.5)
    conn.observe(timeless, S)  # no now: never expires
    items = {item.uuid: item for item in conn.in_flight()}
    assert {uuid: (items[uuid].since, items[uuid].deadline) for uuid in items} == {
        act.uuid: (5.0, 15.0), note.uuid: (3.0, 13.0), late.uuid: (7.5, 17.5), timeless.uuid: (None, None),
    }
    assert conn.get_timer() == 13.0
    assert conn.handle_timer(12.999) == ()
    assert uuids(conn.handle_timer(13.0)) == [note.uuid]  # the deadline itself expires it
    assert conn.get_timer() == 15.0
    assert uuids(conn.handle_timer(16.0)) == [act.uuid]
    assert uuids(conn.in_flight()) == [late.uuid, timeless.uuid]
    assert uuids(conn.handle_timer(1e12)) == [late.uuid]
    assert conn.get_timer() is None
    assert uuids(conn.in_flight()) == [timeless.uuid]
    assert conn.handle_timer(1e15) == ()


def test_several_items_due_together_expire_oldest_first() -> None:
    conn = opened(C)
    first, second, third = action(), presence(), action()
    conn.observe(first, C, now=0.0)
    conn.observe(second, S, now=0.0)
    conn.observe(third, C, now=1.0)
    assert uuids(conn.handle_timer(TIMEOUT)) == [first.uuid, second.uuid]
    assert uuids(conn.in_flight()) == [third.uuid]


def test_no_timer_when_no_time_was_given() -> None:
    conn = CcebConnection(C)
    first = hello()
    conn.send(first)
    assert conn.in_flight()[0].deadline is None
    assert conn.get_timer() is None
    assert conn.handle_timer(1e12) == ()


# -- close ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", ROLES)
def test_a_close_by_the_cceb_before_hello_reply_is_an_authentication_failure(our_role: Role) -> None:
    conn = CcebConnection(our_role)
    first = hello(long_lived=True)
    conn.observe(first, C, now=0.0)
    closing = conn.receive_close if our_role is C else conn.close
    event = closing(AUTH_FAILURE_CLOSE_CODE, "unauthorized", now=1.0)
    assert event.by is S
    assert (event.code, event.reason, event.authentication_failed) == (AUTH_FAILURE_CLOSE_CODE, "unauthorized", True)
    assert uuids(event.in_flight) == [first.uuid]
    assert conn.state is ConnectionState.CLOSED
    assert conn.closed is event
    assert conn.in_flight() == ()  # the close answered the hello
    assert conn.get_timer() is None
    assert conn.session_key is None
    with pytest.raises(UnexpectedMessageError) as info:
        conn.observe(HelloReply(uuid=first.uuid), S)
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.hint) == ("out-of-order", CONNECTION_HINTS[(ConnectionState.CLOSED, S)])


@pytest.mark.parametrize("code", [None, 1000, 1006, AUTH_FAILURE_CLOSE_CODE])
def test_any_close_code_from_the_cceb_before_hello_reply_is_an_authentication_failure(code: int | None) -> None:
    conn = CcebConnection(C)
    conn.send(hello())
    assert conn.receive_close(code).authentication_failed


def test_a_close_by_the_client_before_hello_reply_is_not_an_authentication_failure() -> None:
    conn = CcebConnection(C)
    first = hello()
    conn.send(first)
    event = conn.close(1000)
    assert (event.by, event.authentication_failed) == (C, False)
    assert conn.state is ConnectionState.CLOSED
    with pytest.raises(UnexpectedMessageError.Remote) as info:
        conn.receive_message(encode(HelloReply(uuid=first.uuid)))
    assert info.value.code == "out-of-order"


def test_a_close_by_the_cceb_after_the_hello_expired_is_still_an_authentication_failure() -> None:
    conn = CcebConnection(C)
    conn.send(hello(), now=0.0)
    assert conn.handle_timer(TIMEOUT)
    assert conn.state is ConnectionState.AWAITING_HELLO_REPLY
    event = conn.receive_close(AUTH_FAILURE_CLOSE_CODE)
    assert event.authentication_failed


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("closer", [pytest.param(C, id="client-closes"), pytest.param(S, id="cceb-closes")])
def test_a_close_after_open_keeps_what_is_unacked_inspectable(closer: Role, our_role: Role) -> None:
    conn = opened(our_role)
    act, note = action(), presence()
    conn.observe(act, C, now=1.0)
    conn.observe(note, S, now=2.0)
    conn.observe(Ack.of(act), S)
    unacked = presence()
    conn.observe(unacked, S, now=3.0)
    closing = conn.close if closer is our_role else conn.receive_close
    event = closing(1001, "going away", now=4.0)
    assert (event.by, event.code, event.reason, event.authentication_failed) == (closer, 1001, "going away", False)
    assert [item.message for item in event.in_flight] == [note, unacked]
    assert conn.in_flight() == event.in_flight
    assert conn.unacked_notifications() == event.in_flight
    assert conn.get_timer() == 2.0 + TIMEOUT
    assert conn.state is ConnectionState.CLOSED
    # Nothing more crosses, not even the acks.
    with pytest.raises(UnexpectedMessageError) as info:
        conn.observe(Ack.of(note), C)
    assert (info.value.code, info.value.state) == ("out-of-order", ConnectionState.CLOSED)


def test_close_by_our_side_through_send_and_receive_entry_points() -> None:
    ends = open_pair()
    assert ends[S].close(1000).by is S
    assert ends[C].receive_close(1000).by is S
    with pytest.raises(UnexpectedMessageError.Local) as info:
        ends[C].send(action())
    assert (info.value.code, info.value.hint) == ("out-of-order", CONNECTION_HINTS[(ConnectionState.CLOSED, C)])


@pytest.mark.parametrize("our_role", ROLES)
def test_close_is_still_possible_after_a_sticky_error(our_role: Role) -> None:
    conn = opened(our_role)
    with pytest.raises(UnknownCorrelationIdError) as info:
        conn.observe(Ack(uuid=new_uuid()), C)
    error = info.value
    note = presence()
    assert conn.state is ConnectionState.ERROR
    event = conn.observe_close(S, code=1011)
    assert (event.by, event.code, event.authentication_failed) == (S, 1011, False)
    assert conn.state is ConnectionState.ERROR
    assert conn.error is error
    assert conn.closed is event
    with pytest.raises(UnexpectedMessageError) as after:
        conn.observe(note, S)
    assert after.value.code == "channel-failed"


# -- reserved fields and unsupported actions ----------------------------------------------------

RESERVED = [*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES]


def action_text(uuid: str, name: str = ACTION_NAME, **details: Any) -> str:
    return json.dumps({"type": "action", "uuid": uuid, "data": {"action": name, "action_details": details}})


@pytest.mark.parametrize("field", RESERVED)
def test_the_client_never_sends_a_reserved_field(field: str) -> None:
    client = opened(C)
    with pytest.raises(SchemaViolationError.Local) as info:
        client.send(Action.new(ACTION_NAME, {field: "x", "state": "Ready"}))
    error = info.value
    assert (error.code, error.pointer, error.role) == ("reserved-field", f"/data/action_details/{field}", C)
    assert "do not ack" not in (error.hint or "")
    assert client.state is ConnectionState.ERROR
    assert client.unacked_actions() == ()


@pytest.mark.parametrize("field", RESERVED)
def test_the_cceb_refuses_a_reserved_field_and_must_not_ack_it(field: str) -> None:
    server = opened(S, sticky_errors=False)
    uuid = new_uuid()
    with pytest.raises(SchemaViolationError.Remote) as info:
        server.receive_message(action_text(uuid, **{field: "x"}))
    error = info.value
    assert (error.code, error.pointer, error.role) == ("reserved-field", f"/data/action_details/{field}", C)
    assert "do not ack" in (error.hint or "")
    assert server.unacked_actions() == ()
    with pytest.raises(UnexpectedMessageError.Local) as acked:
        server.send(Ack(uuid=uuid))
    assert (acked.value.code, acked.value.pointer) == ("acked-refused-action", "/uuid")
    # The client side notes the same refusal when it watches its own invalid action.
    client = opened(C, sticky_errors=False)
    assert client.observe_invalid(json.loads(action_text(uuid, tenantGuid="x")), C)
    with pytest.raises(UnexpectedMessageError.Remote) as seen:
        client.receive_message(encode(Ack(uuid=uuid)))
    assert seen.value.code == "acked-refused-action"


def test_a_sticky_cceb_stops_at_a_reserved_field() -> None:
    server = opened(S)
    with pytest.raises(SchemaViolationError.Remote) as info:
        server.receive_message(action_text(new_uuid(), tenantGuid="t"))
    assert info.value.code == "reserved-field"
    assert server.state is ConnectionState.ERROR


def test_an_unsupported_action_is_refused() -> None:
    client = opened(C)
    with pytest.raises(UnknownMessageError.Local) as info:
        client.send(Action.new("LaunchRocketEvent", {}))
    assert (info.value.code, info.value.pointer) == ("unsupported-action", "/data/action")
    assert client.state is ConnectionState.ERROR
    server = opened(S, sticky_errors=False)
    uuid = new_uuid()
    with pytest.raises(UnknownMessageError.Remote) as remote:
        server.receive_message(action_text(uuid, "LaunchRocketEvent"))
    assert remote.value.code == "unsupported-action"
    with pytest.raises(UnexpectedMessageError.Local) as acked:
        server.send(Ack(uuid=uuid))
    assert acked.value.code == "acked-refused-action"


@pytest.mark.parametrize(("forbidden", "kind", "code"), [
    pytest.param(Action.new(ACTION_NAME, {"tenantGuid": "t"}), SchemaViolationError.Remote, "reserved-field",
                 id="reserved-field"),
    pytest.param(Action.new("LaunchRocketEvent", {}), UnknownMessageError.Remote, "unsupported-action",
                 id="unsupported-action"),
])
def test_a_forbidden_action_is_refused_when_received_as_a_model(
    forbidden: Action, kind: type[ProtocolError], code: str
) -> None:
    server = opened(S, sticky_errors=False)
    with pytest.raises(kind) as info:
        server.receive_message(forbidden)
    assert info.value.code == code
    assert server.unacked_actions() == ()


# -- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", ROLES)
@pytest.mark.parametrize("third", [pytest.param(C, id="third-is-an-action"),
                                   pytest.param(S, id="third-is-a-notification")])
def test_max_pending_is_enforced(third: Role, our_role: Role) -> None:
    conn = opened(our_role, limits=Limits(max_pending=2), sticky_errors=False)
    first, second = action(), presence()
    conn.observe(first, C)
    conn.observe(second, S)
    extra = action() if third is C else presence()
    with pytest.raises(LimitExceededError) as info:
        conn.observe(extra, third)
    assert isinstance(info.value, side(third, our_role))
    assert (info.value.code, info.value.role) == ("too-many-pending", third)
    assert uuids(conn.in_flight()) == [first.uuid, second.uuid]
    conn.observe(Ack.of(first), S)  # room again
    conn.observe(extra, third)
    assert uuids(conn.in_flight()) == [second.uuid, extra.uuid]


def test_max_pending_through_send_is_sticky() -> None:
    client = opened(C, limits=Limits(max_pending=2))
    client.send(action())
    client.send(action())
    with pytest.raises(LimitExceededError.Local) as info:
        client.send(action())
    assert info.value.code == "too-many-pending"
    assert client.state is ConnectionState.ERROR


# -- sticky errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", ROLES)
def test_after_an_error_every_send_and_receive_is_refused(our_role: Role) -> None:
    conn = opened(our_role)
    with pytest.raises(UnknownCorrelationIdError):
        conn.observe(Ack(uuid=new_uuid()), S)
    first = conn.error
    assert first is not None
    assert conn.state is ConnectionState.ERROR
    ours = action() if our_role is C else presence()
    theirs = presence() if our_role is C else action()
    attempts: list[tuple[Callable[[], object], type[ProtocolError], Role]] = [
        (lambda: conn.send(ours), LocalProtocolError, our_role),
        (lambda: conn.receive_message(encode(theirs)), RemoteProtocolError, our_role.peer),
        (lambda: conn.receive_message(theirs), RemoteProtocolError, our_role.peer),
        (lambda: conn.receive_message("not json"), RemoteProtocolError, our_role.peer),
        (lambda: conn.observe(ours, our_role), LocalProtocolError, our_role),
        (lambda: conn.observe(theirs, our_role.peer), RemoteProtocolError, our_role.peer),
    ]
    for attempt, kind, sender in attempts:
        with pytest.raises(UnexpectedMessageError) as info:
            attempt()
        assert isinstance(info.value, kind)
        assert (info.value.code, info.value.role, info.value.state) == ("channel-failed", sender,
                                                                        ConnectionState.ERROR)
        assert info.value.__cause__ is first
    assert conn.error is first
    assert conn.in_flight() == ()


def test_undecodable_input_is_a_sticky_remote_error() -> None:
    conn = opened(C)
    with pytest.raises(DecodeError):
        conn.receive_message(b"\xff\xfe")
    assert conn.state is ConnectionState.ERROR
    with pytest.raises(UnexpectedMessageError.Local) as info:
        conn.send(action())
    assert info.value.code == "channel-failed"


def test_without_sticky_errors_checking_continues() -> None:
    conn = opened(S, sticky_errors=False)
    with pytest.raises(UnknownCorrelationIdError.Local):
        conn.send(Ack(uuid=new_uuid()))
    assert conn.state is ConnectionState.OPEN
    assert conn.error is None
    act = action()
    conn.receive_message(encode(act))
    with pytest.raises(DuplicateCorrelationIdError.Remote) as info:
        conn.receive_message(encode(act))
    assert info.value.code == "uuid-in-flight"  # its own code, not channel-failed
    conn.send(Ack.of(act))
    with pytest.raises(UnknownCorrelationIdError.Local) as again:
        conn.send(Ack.of(act))
    assert again.value.code == "already-acked"
    assert conn.in_flight() == ()
    assert conn.state is ConnectionState.OPEN


def test_observe_invalid_is_refused_after_a_sticky_error() -> None:
    server = opened(S)
    with pytest.raises(UnknownCorrelationIdError):
        server.send(Ack(uuid=new_uuid()))
    with pytest.raises(UnexpectedMessageError.Remote) as info:
        server.observe_invalid(json.loads(action_text(new_uuid(), tenantGuid="t")), C)
    assert info.value.code == "channel-failed"


# -- the property ---------------------------------------------------------------------------------

UUID_POOL = [new_uuid() for _ in range(6)]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_random_interleavings_of_valid_messages_and_acks_never_raise(data: st.DataObject) -> None:
    ends = open_pair()
    # What each side sent and the other has not acked yet: sender -> uuids, oldest first.
    expected: dict[Role, list[str]] = {C: [], S: []}
    steps = data.draw(st.integers(min_value=1, max_value=40), label="steps")
    for step in range(steps):
        now = float(step)
        choices = []
        for sender in Role:
            if any(uuid not in expected[sender] for uuid in UUID_POOL):
                choices.append(("send", sender))
            if expected[sender]:
                choices.append(("ack", sender))
        kind, sender = data.draw(st.sampled_from(choices), label="kind")
        if kind == "send":
            # Uuids come from a small pool: reused after their ack, and shared by both directions.
            uuid = data.draw(st.sampled_from([u for u in UUID_POOL if u not in expected[sender]]), label="uuid")
            message: CcebMessage = action(uuid, step=step) if sender is C else presence(uuid)
            talk(ends, sender, message, now=now)
            expected[sender].append(uuid)
        else:
            uuid = data.draw(st.sampled_from(expected[sender]), label="acked")
            talk(ends, sender.peer, Ack(uuid=uuid), now=now)
            expected[sender].remove(uuid)
        for end in ends.values():
            assert uuids(end.unacked_actions()) == expected[C]
            assert uuids(end.unacked_notifications()) == expected[S]
        assert ends[C].in_flight() == ends[S].in_flight()
    # Ack everything left, in any order.
    left = [(sender, uuid) for sender in Role for uuid in expected[sender]]
    for sender, uuid in data.draw(st.permutations(left), label="final acks"):
        talk(ends, sender.peer, Ack(uuid=uuid), now=float(steps))
    for end in ends.values():
        assert end.in_flight() == ()
        assert end.get_timer() is None
        assert end.state is ConnectionState.OPEN
        assert end.error is None
