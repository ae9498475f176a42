"""Reference peers of the CCEB WebSocket API: the CCEB (:class:`ReferenceCceb`) and the agent's client
(:class:`ReferenceCcebClient`).

Both speak through a :class:`~ccproto.cceb.CcebConnection` (``sticky_errors=False``), so every text they
return passed their own connection's checks; what the other side breaks is recorded in ``errors`` and the
peer keeps going.  Each decision ("answer the hello", "ack an action", "which notifications an action
generates", "accept an offered interaction") is one small method, so a planted-bug subclass overrides one.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import ClassVar

from ccproto.cceb import (
    REGISTRY,
    Ack,
    Action,
    AgentInteraction,
    CcebConnection,
    ConnectionState,
    Hello,
    HelloReply,
    InteractionsList,
    InteractionUpdate,
    Notification,
    PhoneValidation,
    PhoneValidationPhase,
    PhoneValidationState,
    Presence,
    Registry,
    SessionStore,
    new_uuid,
)
from ccproto.core.errors import LocalProtocolError, ProtocolError
from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer

__all__ = ["ReferenceCceb", "ReferenceCcebClient"]

#: Phases in which no phone validation is running, so a new one may start with ``offering``.
_VALIDATION_FINISHED = frozenset({
    PhoneValidationPhase.IDLE, PhoneValidationPhase.VERIFIED, PhoneValidationPhase.INVALID,
    PhoneValidationPhase.REJECTED, PhoneValidationPhase.DROPPED,
})


def _has_room(connection: CcebConnection) -> bool:
    """Whether one more message may wait for its ack without passing ``max_pending`` (never break the limit)."""
    return len(connection.in_flight()) < connection.limits.max_pending


class ReferenceCceb(ReferencePeer):
    """The CCEB: answers hello from a :class:`~ccproto.cceb.SessionStore`, acks actions, sends notifications.

    ``store`` outlives connections (long-lived sessions resume within 72 h of a disconnection).  An action the
    CCEB must refuse (reserved field, unsupported action, broken schema) is recorded and never acked (C5, C15);
    a hello that breaks its schema is an authentication failure: it is recorded and gets no ``hello_reply``
    (a real CCEB would close the connection, which is the owner's to do).
    """

    protocol: ClassVar[str] = "cceb"
    role: ClassVar[Role] = Role.SERVER
    STIMULI: ClassVar[tuple[str, ...]] = ("offer-interaction", "presence")

    #: The agent and tenant GUIDs a notification about an interaction carries (what the CCEB resolved).
    AGENT_GUID: ClassVar[str] = "5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60"
    TENANT_GUID: ClassVar[str] = "0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c"
    #: The countdown (seconds) an ``offering`` phone validation carries.
    VALIDATION_TIMEOUT: ClassVar[int] = 60
    #: How many recently offered interactions ``interactions_list`` reports (bounded state).
    MAX_INTERACTIONS: ClassVar[int] = 32

    def __init__(
        self, *, store: SessionStore | None = None, registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__()
        self.store = store if store is not None else SessionStore()
        self.registry = registry
        self.limits = limits
        #: The current connection (``None`` before ``connect`` and after ``disconnect``).
        self.connection: CcebConnection | None = None
        self._offered = 0
        self._interactions: collections.deque[str] = collections.deque(maxlen=self.MAX_INTERACTIONS)

    def __repr__(self) -> str:
        state = self.connection.state.value if self.connection is not None else "disconnected"
        return f"{type(self).__name__}(state={state!r}, sessions={len(self.store)}, errors={self.error_count})"

    # -- the ReferencePeer interface ---------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """A new WebSocket: a fresh connection (the client speaks first, so nothing is sent)."""
        if self.connection is not None:
            self.disconnect(now=now)
        self.connection = CcebConnection(
            Role.SERVER, registry=self.registry, limits=self.limits, sticky_errors=False
        )
        return []

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Answer a hello, ack and act on an action; a client's ack settles a notification."""
        connection = self.connection
        if connection is None:
            return []  # nothing is connected: nothing can arrive
        try:
            message = connection.receive_message(text, now=now)
        except ProtocolError as exc:
            # Not JSON, a broken or unexpected message, or an action to refuse: record it and never ack it.
            self._refused(exc)
            return []
        if isinstance(message, Hello):
            return [connection.send(self.answer_hello(message, now=now), now=now)]
        if isinstance(message, Action):
            replies = self.ack_action(connection, message, now=now)
            for notification in self.notifications_for(connection, message, now=now):
                replies.extend(self.notify(connection, notification, now=now))
            return replies
        return []  # an ack: the connection settled the notification

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """``offer-interaction`` (an ``agent_interaction``) or ``presence``; only on an open connection."""
        connection = self.connection
        if connection is None or connection.state is not ConnectionState.OPEN:
            return []
        if name == "offer-interaction":
            offer = self.offer_interaction()
            sent = self.notify(connection, offer, now=now)
            if sent and self.auto_accepts(connection, now=now):
                # The client asked the CCEB to accept for it: the interaction is accepted at once.
                accepted = {"interaction_id": offer.data["interaction_id"], "state": "accepted"}
                sent.extend(self.notify(connection, InteractionUpdate(uuid=new_uuid(), data=accepted), now=now))
            return sent
        if name == "presence":
            return self.notify(connection, Presence(uuid=new_uuid(), data={"state": "Available"}), now=now)
        return []

    def disconnect(self, *, now: float) -> list[str]:
        """The WebSocket closed: the session's 72 hours start; the connection is dropped."""
        connection, self.connection = self.connection, None
        if connection is not None and connection.session_key is not None:
            self.store.disconnected(connection.session_key, now=now)
        return []

    def advance(self, *, now: float) -> list[str]:
        """Forget the sessions that stopped being resumable."""
        self.store.handle_timer(now)
        return []

    # -- decisions (one method each, for planted bugs to override) ---------------------------

    def answer_hello(self, hello: Hello, *, now: float) -> HelloReply:
        """The ``hello_reply``: a new session, or the resumed one (the store applies the 72-hour rule)."""
        return self.store.reply(hello, now=now)

    def ack_action(self, connection: CcebConnection, action: Action, *, now: float) -> list[str]:
        """The ack of a valid action (its own uuid)."""
        return [connection.send(Ack.of(action), now=now)]

    def notifications_for(self, connection: CcebConnection, action: Action, *, now: float) -> list[Notification]:
        """What a (valid, acked) action makes the CCEB notify; most actions only get their ack."""
        name, details = action.action, action.action_details
        if name.startswith("PhoneValidation") or name == "PhoneVerificationPinEvent":
            return self.phone_validation_for(connection, name)
        if name == "ChangeAgentStateEvent":
            state = details.get("state")
            return [Presence(uuid=new_uuid(), data={"state": state if isinstance(state, str) else "Available"})]
        if name == "RequestAgentInteractionListEvent":
            listed: list[JsonValue] = list(self._interactions)
            return [InteractionsList(uuid=new_uuid(), data={"interactions": listed})]
        if name == "AcceptInteractionEvent":
            data: dict[str, JsonValue] = {"state": "accepted"}
            interaction = details.get("interactionId")
            if isinstance(interaction, str):
                data["interaction_id"] = interaction
            return [InteractionUpdate(uuid=new_uuid(), data=data)]
        return []

    def phone_validation_for(self, connection: CcebConnection, name: str) -> list[Notification]:
        """The ``phone_validation`` notifications a validation action causes, following the phase table."""
        phase = connection.phone_validation
        states: tuple[PhoneValidationState, ...] = ()
        if name == "PhoneValidationValidateEvent" and phase in _VALIDATION_FINISHED:
            states = (PhoneValidationState.OFFERING,)
        elif name == "PhoneVerificationPinEvent" and phase is PhoneValidationPhase.OFFERING:
            states = (PhoneValidationState.ANSWERED, PhoneValidationState.VERIFIED)
        elif name == "PhoneValidationCancelEvent" and phase is PhoneValidationPhase.OFFERING:
            states = (PhoneValidationState.REJECTED,)
        elif name == "PhoneValidationCancelEvent" and phase is PhoneValidationPhase.ANSWERED:
            states = (PhoneValidationState.DROPPED,)
        return [self.phone_validation(state) for state in states]

    def phone_validation(self, state: PhoneValidationState) -> PhoneValidation:
        """One ``phone_validation`` notification; only ``offering`` carries a ``timeout``."""
        timeout = self.VALIDATION_TIMEOUT if state is PhoneValidationState.OFFERING else None
        return PhoneValidation(uuid=new_uuid(), state=state, timeout=timeout)

    def offer_interaction(self) -> AgentInteraction:
        """An ``agent_interaction`` offering a new interaction, with the GUIDs the CCEB resolved for it."""
        self._offered += 1
        interaction = f"interaction-{self._offered}"
        self._interactions.append(interaction)
        return AgentInteraction(uuid=new_uuid(), data={
            "interaction_id": interaction, "state": "offered",
            "agentGuid": self.AGENT_GUID, "tenantGuid": self.TENANT_GUID,
        })

    def auto_accepts(self, connection: CcebConnection, *, now: float) -> bool:
        """Whether this connection's agent asked for automatic acceptance (the session keeps what it asked)."""
        key = connection.session_key
        session = self.store.find(key, now) if key is not None else None
        if session is not None:
            return session.auto_accept
        return connection.hello is not None and connection.hello.auto_accept is True

    def notify(self, connection: CcebConnection, notification: Notification, *, now: float) -> list[str]:
        """Send one notification, unless ``max_pending`` unacked messages already wait (then drop it)."""
        if not _has_room(connection):
            return []
        return [connection.send(notification, now=now)]


class ReferenceCcebClient(ReferencePeer):
    """The agent's client: says hello (resuming its long-lived session), acks every notification, sends actions.

    ``token`` and the session key are secrets: neither appears in the ``repr``.  An offered interaction
    (``agent_interaction`` with an ``interaction_id``) is accepted with an ``AcceptInteractionEvent`` holding
    only ``interactionId`` — unless the hello asked the CCEB to accept automatically (``auto_accept=True``).
    """

    protocol: ClassVar[str] = "cceb"
    role: ClassVar[Role] = Role.CLIENT
    STIMULI: ClassVar[tuple[str, ...]] = (
        "change-state", "request-interactions", "validate-phone", "enter-pin", "cancel-validation",
    )

    #: stimulus -> (action, its details).
    ACTIONS: ClassVar[Mapping[str, tuple[str, Mapping[str, JsonValue]]]] = {
        "change-state": ("ChangeAgentStateEvent", {"state": "Available"}),
        "request-interactions": ("RequestAgentInteractionListEvent", {}),
        "validate-phone": ("PhoneValidationValidateEvent", {"phoneNumber": "+15550100"}),
        "enter-pin": ("PhoneVerificationPinEvent", {"pin": "4321"}),
        "cancel-validation": ("PhoneValidationCancelEvent", {}),
    }

    def __init__(
        self, *, token: str, tenant: str, long_lived: bool = True, auto_accept: bool | None = None,
        registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__()
        self._token = token
        self.tenant = tenant
        self.long_lived = long_lived
        self.auto_accept = auto_accept
        self.registry = registry
        self.limits = limits
        #: The current connection (``None`` before ``connect`` and after ``disconnect``).
        self.connection: CcebConnection | None = None
        self._session_key: str | None = None

    def __repr__(self) -> str:
        state = self.connection.state.value if self.connection is not None else "disconnected"
        return (f"{type(self).__name__}(tenant={self.tenant!r}, state={state!r}, "
                f"has_session_key={self._session_key is not None}, errors={self.error_count})")

    @property
    def session_key(self) -> str | None:
        """The key of the long-lived session to resume (a secret: keep it out of logs)."""
        return self._session_key

    # -- the ReferencePeer interface ---------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """A new WebSocket: the hello (resuming the last session when there is a key)."""
        self.connection = CcebConnection(
            Role.CLIENT, registry=self.registry, limits=self.limits, sticky_errors=False
        )
        return [self.connection.send(self.hello(), now=now)]

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Remember the session key of ``hello_reply``; ack every notification (and accept offers)."""
        connection = self.connection
        if connection is None:
            return []
        unacked = {item.uuid for item in connection.unacked_notifications()}
        try:
            message = connection.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
            # C15: a notification received is acked even when it broke a rule, if the connection could read its
            # uuid (it then waits for the ack: a broken schema, a phase the table refuses).
            return [
                text for item in connection.unacked_notifications() if item.uuid not in unacked
                for text in self.ack_broken(connection, item.uuid, now=now)
            ]
        if isinstance(message, HelloReply):
            self.remember_session(message)
            return []
        if isinstance(message, Notification):
            return [connection.send(Ack.of(message), now=now), *self.accept(connection, message, now=now)]
        return []  # the CCEB's ack: the connection settled the action

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """Send the action ``name`` stands for; only on an open connection."""
        connection = self.connection
        found = self.ACTIONS.get(name)
        if connection is None or connection.state is not ConnectionState.OPEN or found is None:
            return []
        action, details = found
        if not _has_room(connection) or not self.registry.has_action(action):
            return []
        return [connection.send(Action.new(action, details), now=now)]

    def disconnect(self, *, now: float) -> list[str]:
        """The WebSocket closed; the session key stays, to resume."""
        self.connection = None
        return []

    # -- decisions (one method each, for planted bugs to override) ---------------------------

    def hello(self) -> Hello:
        """The hello: resume with the last session key, else ask for a long-lived session as configured."""
        if self._session_key is not None:
            return Hello.new(
                token=self._token, tenant=self.tenant, session_key=self._session_key, auto_accept=self.auto_accept,
            )
        return Hello.new(token=self._token, tenant=self.tenant, long_lived=self.long_lived,
                         auto_accept=self.auto_accept)

    def remember_session(self, reply: HelloReply) -> None:
        """Keep the reply's session key, when it gives one (a new one replaces an expired session's)."""
        if reply.session_key is not None:
            self._session_key = reply.session_key

    def accept(self, connection: CcebConnection, notification: Notification, *, now: float) -> list[str]:
        """Send the action accepting what ``notification`` offers, if anything (and ``max_pending`` allows)."""
        action = self.accept_for(notification)
        if action is None or not _has_room(connection) or not self.registry.has_action(action.action):
            return []
        return [connection.send(action, now=now)]

    def accept_for(self, notification: Notification) -> Action | None:
        """The ``AcceptInteractionEvent`` an offered interaction calls for (only what a client may send)."""
        if not isinstance(notification, AgentInteraction) or self.auto_accept is True:
            return None
        interaction = notification.data.get("interaction_id")
        if not isinstance(interaction, str):
            return None
        return Action.new("AcceptInteractionEvent", {"interactionId": interaction})

    def ack_broken(self, connection: CcebConnection, uuid: str, *, now: float) -> list[str]:
        """The ack of a notification that broke a rule (nothing when its uuid cannot be written back)."""
        try:
            return [connection.send(Ack(uuid=uuid), now=now)]
        except LocalProtocolError:
            return []  # not a canonical uuid: no valid ack can name it
