"""Conformance machines for the CCEB WebSocket API: the harness as the agent's client, and as the CCEB."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ccproto.cceb import (
    REGISTRY,
    Ack,
    Action,
    AgentInteraction,
    CcebConnection,
    Hello,
    HelloReply,
    Notification,
    OffHook,
    OffHookState,
    OpenNotification,
    PhoneValidation,
    PhoneValidationState,
    SessionStore,
    encode_value,
    new_uuid,
)
from ccproto.cceb.checker import SESSION_EXPIRED_RESUMED
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.cceb.quirks import SESSION_LIFETIME
from ccproto.cceb.states import (
    OFF_HOOK_TRANSITIONS,
    PHONE_VALIDATION_TRANSITIONS,
    ConnectionState,
)
from ccproto.core.roles import Role
from ccproto.testing.harness import ConformanceMachine
from ccproto.testing.slices.cceb.strategies import cceb_unknown_notifications
from ccproto.testing.strategies import Numbers, json_values, secret, text

__all__ = ["CcebClientConformance", "CcebServerConformance"]

#: How long the harness waits between two connections (seconds): around the 72-hour rule, never on its edge
#: (the harness's clock runs a little ahead of the SUT's: it counts its own message steps).
RECONNECT_WAITS = (0.0, 60.0, 3600.0, SESSION_LIFETIME - 600.0, SESSION_LIFETIME + 600.0)

_OPEN_NOTIFICATIONS = tuple(cls for cls in REGISTRY.message_classes() if issubclass(cls, OpenNotification))
#: Actions whose notifications follow the phone-validation and off-hook tables: sent more often than their
#: share of the 36 supported actions would make them, so that those tables are walked.
STATEFUL_ACTIONS = tuple(name for name in REGISTRY.actions() if name.startswith(("PhoneV", "OffHook", "SetOffHook")))
#: What an agent does once a phone validation is offered.
PHONE_VALIDATION_ANSWERS = ("PhoneVerificationPinEvent", "PhoneValidationCancelEvent")
_FORBIDDEN_DETAILS = frozenset((*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES))



def _actions(numbers: Numbers) -> st.SearchStrategy[Action]:
    return st.builds(
        lambda name, details: Action(uuid=new_uuid(), action=name, action_details=details),
        st.sampled_from(REGISTRY.actions()),
        st.dictionaries(
            text(min_size=1, max_size=12).filter(lambda key: key not in _FORBIDDEN_DETAILS),
            json_values(max_leaves=3, numbers=numbers),
            max_size=3,
        ),
    )


#: A supported action with small camelCase-ish details (cheaper to draw than any JSON; never a reserved field),
#: by the numbers its details hold (quirks N2).
ACTIONS_BY_NUMBERS: dict[Numbers, st.SearchStrategy[Action]] = {numbers: _actions(numbers) for numbers in Numbers}


def _describe(item: Any) -> str:
    return f"{item.message_type} {item.uuid}"


class _CcebMachine(ConformanceMachine):
    protocol = "cceb"
    unsolicited = (Notification,)

    def expire(self, now: float) -> list[str]:
        """What the SUT owed and did not answer in time."""
        return [_describe(item) for item in self.conn.handle_timer(now)]

    @property
    def is_open(self) -> bool:
        """Whether the current connection is authenticated (actions and notifications may flow)."""
        return self.open and self.conn.state is ConnectionState.OPEN

    def wait_between_connections(self, data: st.DataObject) -> None:
        """Move both clocks (when the adapter can move the SUT's) by a drawn wait."""
        seconds = data.draw(st.sampled_from(RECONNECT_WAITS), label="wait")
        if seconds and self.adapter_advances(seconds):
            self.tick(seconds)

    def adapter_advances(self, seconds: float) -> bool:
        """Ask the adapter to move the SUT's clock; whether it could."""
        advance = getattr(self.adapter, "advance", None)
        return bool(advance(seconds)) if advance is not None else False

    def closed_connection(self) -> None:
        self.conn.close(1000, now=self.now)


class CcebServerConformance(_CcebMachine):
    """The harness plays the agent's client; the system under test is the CCEB.

    It says hello (short- or long-lived, or resuming a key it was given), sends
    supported actions, actions the CCEB must refuse (reserved fields: they must
    not be acked), acks every notification, reconnects after waits around 72 hours,
    and checks every message the CCEB sends, every ack it owes, and that a session
    resumes only within 72 hours of its connection's end.
    """

    sut_role = Role.SERVER

    def __init__(self) -> None:
        super().__init__()
        #: Session keys the SUT gave -> when their connection ended (``None``: still connected).
        self.keys: dict[str, float | None] = {}
        self.key: str | None = None
        self.hello: Hello | None = None

    def new_connection(self) -> CcebConnection:
        return CcebConnection(Role.CLIENT, limits=self.limits)

    def owed(self) -> list[str]:
        return [_describe(item) for item in self.conn.in_flight(Role.CLIENT)]

    def say_hello(self, data: st.DataObject) -> None:
        """Send a hello: resume a key when there is one (usually), else ask for a session or not."""
        # Secrets are drawn as SecretText, so a failure's report prints them as '***' (str() is the secret).
        token = str(data.draw(secret(text(min_size=1, max_size=30)), label="token"))
        tenant = data.draw(text(min_size=1, max_size=12), label="tenant")
        # In the order they were issued: keys are random, so sorting them would make draws unreproducible.
        known = [k for k, ended in self.keys.items() if ended is not None]
        members: dict[str, Any] = {}
        resume: bool = data.draw(st.booleans(), label="resume") if known else False
        if resume:
            members["session_key"] = str(data.draw(secret(st.sampled_from(known)), label="key"))
        else:
            members["long_lived"] = data.draw(st.sampled_from([True, False, None]), label="long_lived")
        members["auto_accept"] = data.draw(st.sampled_from([None, True, False]), label="auto_accept")
        self.hello = Hello.new(token=token, tenant=tenant, **members)
        self.transmit(self.hello, data)

    def after_check(self, message: Any) -> None:
        if not isinstance(message, HelloReply) or message.session_key is None:
            return
        asked = self.hello.session_key if self.hello is not None else None
        ended = self.keys.get(asked) if asked is not None else None
        if message.resumed and ended is not None and self.now - ended > SESSION_LIFETIME:
            raise self.fail(
                f"it resumed a session whose connection ended {self.now - ended:.0f} s ago"
                f" (sessions stay resumable {SESSION_LIFETIME:.0f} s)", code=SESSION_EXPIRED_RESUMED,
            )
        self.key = message.session_key
        self.keys[message.session_key] = None

    def react(self, message: Any, data: st.DataObject | None) -> None:
        if isinstance(message, Notification):
            self.transmit(Ack(uuid=message.uuid), data)

    @initialize(data=st.data())
    def connect_and_say_hello(self, data: st.DataObject) -> None:
        """Open the first connection."""
        self.start_connection(data)
        self.say_hello(data)

    @precondition(lambda self: self.is_open)
    @rule(data=st.data())
    def send_action(self, data: st.DataObject) -> None:
        """A supported, valid action: the CCEB must ack it once, with its uuid."""
        self.transmit(data.draw(ACTIONS_BY_NUMBERS[self.numbers], label="action"), data)

    @precondition(lambda self: self.is_open)
    @rule(data=st.data(), name=st.sampled_from(STATEFUL_ACTIONS))
    def send_stateful_action(self, data: st.DataObject, name: str) -> None:
        """An action that drives phone validation or the off-hook connection (their notifications follow tables)."""
        self.transmit(Action(uuid=new_uuid(), action=name, action_details={}), data)

    @precondition(lambda self: self.is_open)
    @rule(data=st.data(), answer=st.sampled_from(PHONE_VALIDATION_ANSWERS))
    def validate_phone(self, data: st.DataObject, answer: str) -> None:
        """A workplace phone validation as an agent does it: start it, then enter the PIN or cancel."""
        for name in ("PhoneValidationValidateEvent", answer):
            self.transmit(Action(uuid=new_uuid(), action=name, action_details={}), data)

    @precondition(lambda self: self.is_open)
    @rule(data=st.data())
    def send_refused_action(self, data: st.DataObject) -> None:
        """An action with a field only the CCEB may set: it must be refused, never acked (C5, C6)."""
        value = encode_value(data.draw(ACTIONS_BY_NUMBERS[self.numbers], label="action"))
        field = data.draw(st.sampled_from([*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES]), label="field")
        value["data"]["action_details"][field] = data.draw(text(max_size=12), label="value")
        self.tick()
        self.transmit_text(json.dumps(value), data)

    @precondition(lambda self: self.open and self.can_reconnect)
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """Close, maybe wait (hours, or about 72 h), open a new connection and say hello again."""
        self.end_connection()
        if self.key is not None:
            self.keys[self.key] = self.now
        self.key = None
        self.wait_between_connections(data)
        self.start_connection(data)
        self.say_hello(data)


class CcebClientConformance(_CcebMachine):
    """The harness plays the CCEB; the system under test is the agent's client (it says hello first).

    It answers the hello (with a long-lived session store of its own), acks every
    action, sends notifications of every type (phone validation and off-hook ones in
    an order their tables allow; interaction offers carrying the agent's GUIDs, which a
    client must never echo in an action), and checks that the client acks each
    notification exactly once and sends only valid, supported actions.
    """

    sut_role = Role.CLIENT
    sut_speaks_first = True  # hello

    def __init__(self) -> None:
        super().__init__()
        self.store = SessionStore()

    def new_connection(self) -> CcebConnection:
        return CcebConnection(Role.SERVER, limits=self.limits)

    def owed(self) -> list[str]:
        return [_describe(item) for item in self.conn.unacked_notifications()]

    def react(self, message: Any, data: st.DataObject | None) -> None:
        if isinstance(message, Hello):
            self.transmit(self.store.reply(message, now=self.now), data)
        elif isinstance(message, Action):
            self.transmit(Ack(uuid=message.uuid), data)

    def closed_connection(self) -> None:
        key = self.conn.session_key
        super().closed_connection()
        if key is not None:
            self.store.disconnected(key, now=self.now)

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        """Open the first connection (the client says hello)."""
        self.start_connection(data)

    def notification(self, data: st.DataObject) -> Notification:
        """A notification the connection's phone-validation and off-hook phases allow now."""
        kind = data.draw(st.sampled_from(("open", "offer", "phone", "off-hook", "unknown")), label="kind")
        uuid = new_uuid()
        if kind == "phone":
            allowed = sorted((s for p, s in PHONE_VALIDATION_TRANSITIONS if p is self.conn.phone_validation),
                             key=lambda s: s.value)
            state = data.draw(st.sampled_from(allowed), label="state")
            base = self.draw(data, PhoneValidation, "phone_validation")
            timeout = base.timeout if state is PhoneValidationState.OFFERING else None
            return attrs.evolve(base, uuid=uuid, state=state, timeout=timeout)
        if kind == "off-hook":
            allowed_oh = sorted((s for p, s in OFF_HOOK_TRANSITIONS if p is self.conn.off_hook), key=lambda s: s.value)
            state_oh = data.draw(st.sampled_from(allowed_oh), label="state")
            base_oh = self.draw(data, OffHook, "off_hook")
            return attrs.evolve(
                base_oh, uuid=uuid, state=state_oh,
                timeout=base_oh.timeout if state_oh is OffHookState.OFFERING else None,
                media_resource_id=base_oh.media_resource_id if state_oh is OffHookState.AUTHENTICATED else None,
            )
        if kind == "offer":
            # What a real CCEB puts in an offer: the agent's GUIDs, which an action must never carry back (C5).
            extra = data.draw(
                st.dictionaries(text(max_size=8), json_values(max_leaves=3, numbers=self.numbers), max_size=2),
                label="data",
            )
            details = {**extra, "interaction_id": str(new_uuid()), "agentGuid": new_uuid(), "tenantGuid": new_uuid()}
            return AgentInteraction(uuid=uuid, data=details)
        if kind == "unknown":
            return attrs.evolve(data.draw(cceb_unknown_notifications(numbers=self.numbers), label="unknown"), uuid=uuid)
        cls = data.draw(st.sampled_from(_OPEN_NOTIFICATIONS), label="type")
        return attrs.evolve(self.draw(data, cls, "notification"), uuid=uuid)

    @precondition(lambda self: self.is_open)
    @rule(data=st.data())
    def notify(self, data: st.DataObject) -> None:
        """Send a notification: the client must ack it exactly once."""
        self.transmit(self.notification(data), data)

    @precondition(lambda self: self.open and self.can_reconnect)
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """Close, maybe wait, and let the client connect again (it should resume with its key)."""
        self.end_connection()
        self.wait_between_connections(data)
        self.store.handle_timer(self.now)
        self.start_connection(data)
