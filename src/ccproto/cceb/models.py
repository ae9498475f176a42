"""Messages of the CCEB WebSocket API: hello, actions, acks and notifications.

Member names come from :mod:`ccproto.cceb.envelope` (the envelope) and
:mod:`ccproto.cceb.quirks` (the other readings), so a changed reading moves
models, codec and schemas together.  Notifications are declared once and
registered in a :class:`Registry` (the built-in ones in :data:`REGISTRY`),
the same way as the Interaction Processor's commands; a notification no
registry knows decodes to :class:`UnknownNotification`, kept whole.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from ccproto.cceb import quirks
from ccproto.cceb.envelope import (
    ACK,
    ACTION,
    ACTION_DETAILS,
    ACTION_NAME,
    ACTION_NAME_PATTERN,
    CONTACT_ID_SUBSTITUTES,
    DATA,
    HELLO,
    HELLO_REPLY,
    RESERVED_ACTION_FIELDS,
    SUPPORTED_ACTIONS,
    UUID,
    UUID_PATTERN,
    new_uuid,
)
from ccproto.cceb.envelope import TYPE as TYPE_KEY  # not TYPE: classes have a TYPE constant of their own
from ccproto.cceb.quirks import OffHookState, PhoneValidationState, ProvisioningEventType
from ccproto.core.model import ExactMembersWhen, JsonValue, Model, OnlyWhen, model, wire
from ccproto.core.registry import declare, put
from ccproto.core.roles import Role
from ccproto.core.schema import refine_schema

__all__ = [
    "ALL_MESSAGE_CLASSES",
    "REGISTRY",
    "Ack",
    "Action",
    "AgentInteraction",
    "AgentLineStatus",
    "AgentPhoneUpdate",
    "CallLeg",
    "CampaignStatus",
    "CcebMessage",
    "Hello",
    "HelloReply",
    "InteractionUpdate",
    "InteractionsList",
    "MonitoringAgentList",
    "Notification",
    "OffHook",
    "OffHookState",
    "OpenNotification",
    "PhoneValidation",
    "PhoneValidationState",
    "Presence",
    "Provisioning",
    "ProvisioningEventType",
    "RecordingControls",
    "RecordingReady",
    "Registry",
    "SwitchLine",
    "UnknownNotification",
]


@model
class CcebMessage(Model):
    """Base of every CCEB message: a ``type`` member (``.message_type``; ``.TYPE`` on the class) and a ``uuid``."""

    #: Who may send messages of this class.
    SENDERS: ClassVar[frozenset[Role]] = frozenset(Role)
    #: The ``type`` of this class (``None`` where the class does not fix it).
    TYPE: ClassVar[str | None] = None

    uuid: str = wire(UUID, pattern=UUID_PATTERN, description="The message's id (an ack: the id it acknowledges)")

    @property
    def message_type(self) -> str:
        """The ``type`` member."""
        assert self.TYPE is not None
        return self.TYPE


@model
class Hello(CcebMessage):
    """The client's first message: authenticate with the SSO's JWT and a tenant; ask for a long-lived session.

    Unknown members of the ``data`` object are allowed and kept (the seed's "additional properties").
    """

    SENDERS: ClassVar[frozenset[Role]] = frozenset({Role.CLIENT})
    TYPE: ClassVar[str | None] = HELLO
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {(TYPE_KEY,): HELLO}

    token: str = wire(DATA, "token", secret=True, description="The JWT from the vendor's SSO")
    tenant: str = wire(DATA, "tenant", description="The tenant the agent belongs to")
    long_lived: bool | None = wire(
        DATA, "long_lived", default=None, description="Ask for a session that outlives this connection (72 h)"
    )
    session_key: str | None = wire(
        DATA, "session_key", secret=True, default=None, description="Resume the long-lived session of this key"
    )
    auto_accept: bool | None = wire(
        DATA, "auto_accept", default=None, description="Accept assigned interactions automatically"
    )

    @property
    def asks_long_lived(self) -> bool:
        """Whether the client wants a long-lived session (``long_lived``, or a key to resume one)."""
        return bool(self.long_lived) or self.session_key is not None

    @classmethod
    def new(cls, *, token: str, tenant: str, **members: Any) -> Hello:
        """A hello with a fresh ``uuid``."""
        return cls(uuid=new_uuid(), token=token, tenant=tenant, **members)


@model
class HelloReply(CcebMessage):
    """The CCEB's answer to ``hello`` (same ``uuid``): the client is authenticated."""

    SENDERS: ClassVar[frozenset[Role]] = frozenset({Role.SERVER})
    TYPE: ClassVar[str | None] = HELLO_REPLY
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {(TYPE_KEY,): HELLO_REPLY}
    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ((DATA,),)

    session_key: str | None = wire(
        DATA, "session_key", secret=True, default=None, description="The long-lived session's key"
    )
    resumed: bool | None = wire(DATA, "resumed", default=None, description="Whether an existing session was resumed")


@model
class Action(CcebMessage):
    """An action for the CCEB to route: an Avro record's name and fields (acked by the CCEB once).

    ``action_details`` follows the Avro record (camelCase keys, open: the records
    are not part of the seed); the fields the CCEB sets itself are refused.
    """

    SENDERS: ClassVar[frozenset[Role]] = frozenset({Role.CLIENT})
    TYPE: ClassVar[str | None] = ACTION
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {(TYPE_KEY,): ACTION}

    action: str = wire(
        DATA, ACTION_NAME, pattern=ACTION_NAME_PATTERN, description="The Avro record name (a supported action)"
    )
    action_details: Mapping[str, JsonValue] = wire(
        DATA, ACTION_DETAILS, forbidden_keys=(*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES),
        description="The Avro record's fields, without the ones the CCEB sets",
    )

    @classmethod
    def new(cls, action: str, details: Mapping[str, JsonValue] | None = None) -> Action:
        """An action with a fresh ``uuid``."""
        return cls(uuid=new_uuid(), action=action, action_details=dict(details or {}))


@model
class Ack(CcebMessage):
    """An acknowledgement: of a notification by the client, or of an action by the CCEB (its ``uuid``)."""

    TYPE: ClassVar[str | None] = ACK
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {(TYPE_KEY,): ACK}

    @classmethod
    def of(cls, message: CcebMessage) -> Ack:
        """The ack of ``message`` (a notification or an action)."""
        return cls(uuid=message.uuid)


@model
class Notification(CcebMessage):
    """A notification from the CCEB (acked by the client once); its ``type`` member (``.message_type``) says which."""

    SENDERS: ClassVar[frozenset[Role]] = frozenset({Role.SERVER})
    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ((DATA,),)


class Unknown:
    """Marks the classes of messages no registry knows (decoded whole; validation warns)."""

    __slots__ = ()


# -- the registry --------------------------------------------------------------------------

_N = TypeVar("_N", bound=type[Notification])
_ENVELOPE_TYPES = frozenset({HELLO, HELLO_REPLY, ACTION, ACK})


class Registry:
    """Which notification types and actions are known.

    The built-in ones live in :data:`REGISTRY`; take a :meth:`copy` to add your own::

        registry = REGISTRY.copy()
        registry.add_action("AcmeWhisperEvent")

        @registry.notification("acme_whisper")
        class Whisper(Notification):
            target: str = wire("data", "target")

    The decorator makes the class a frozen attrs model, fixes its ``type`` and
    registers it; its JSON Schema, strategy and checks follow from it.
    """

    def __init__(self) -> None:
        self._notifications: dict[str, type[Notification]] = {}
        self._actions: dict[str, None] = {}

    def copy(self) -> Registry:
        """An independent registry with the same entries."""
        other = Registry()
        other._notifications = dict(self._notifications)
        other._actions = dict(self._actions)
        return other

    def notification(self, message_type: str, *, replace: bool = False) -> Callable[[_N], _N]:
        """Class decorator: ``cls`` (a :class:`Notification` subclass) is the notification ``message_type``."""
        if message_type in _ENVELOPE_TYPES:
            raise ValueError(f"{message_type!r} is not a notification type")

        def register(cls: _N) -> _N:
            built = declare(cls, Notification, {(TYPE_KEY,): message_type}, TYPE=message_type)
            put(self._notifications, message_type, built, replace)
            return built

        return register

    def add(self, *classes: type[Notification], replace: bool = False) -> None:
        """Register notification classes already declared (by another registry) under their own ``type``."""
        for cls in classes:
            message_type = cls.__dict__.get("TYPE")
            if not isinstance(message_type, str) or issubclass(cls, Unknown) or "__attrs_attrs__" not in cls.__dict__:
                raise TypeError(f"{cls.__name__} is not a declared notification class")
            self.notification(message_type, replace=replace)(cls)

    def add_action(self, *names: str) -> None:
        """Support more actions (Avro record names)."""
        for name in names:
            if not name or name != name.strip():
                raise ValueError(f"{name!r}: an action name is non-empty, without surrounding whitespace")
            self._actions[name] = None

    # -- lookups -------------------------------------------------------------------------

    def notification_class(self, message_type: str) -> type[Notification] | None:
        """The class of notification ``message_type`` (``None``: unregistered)."""
        return self._notifications.get(message_type)

    def notification_types(self) -> tuple[str, ...]:
        """Every registered notification type, in registration order."""
        return tuple(self._notifications)

    def actions(self) -> tuple[str, ...]:
        """Every supported action, in registration order."""
        return tuple(self._actions)

    def has_action(self, name: str) -> bool:
        """Whether ``name`` is a supported action."""
        return name in self._actions

    def message_classes(self) -> tuple[type[CcebMessage], ...]:
        """The envelope's classes, then every registered notification class."""
        return (Hello, HelloReply, Action, Ack, *dict.fromkeys(self._notifications.values()))

    def __iter__(self) -> Iterator[type[CcebMessage]]:
        return iter(self.message_classes())


#: The built-in notifications and the seed's actions.
REGISTRY = Registry()
REGISTRY.add_action(*SUPPORTED_ACTIONS)


# -- notifications -------------------------------------------------------------------------


@model
class OpenNotification(Notification):
    """A notification whose payload the seed does not describe: ``data`` is an open object."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()
    data: Mapping[str, JsonValue] = wire(DATA, description="Not described by the seed: any members")


@REGISTRY.notification("interactions_list")
class InteractionsList(OpenNotification):
    """The agent's current interactions (after it asked for them); an ``interaction_update`` follows for each."""


@REGISTRY.notification("agent_interaction")
class AgentInteraction(OpenNotification):
    """One interaction assigned to the agent (one per interaction, after the list was asked for)."""


@REGISTRY.notification("interaction_update")
class InteractionUpdate(OpenNotification):
    """The interaction router assigned an interaction to the agent."""


@REGISTRY.notification("presence")
class Presence(OpenNotification):
    """The agent's presence changed."""


@REGISTRY.notification("call_leg")
class CallLeg(OpenNotification):
    """A call leg's status changed (phone interactions)."""


@REGISTRY.notification("switch_line")
class SwitchLine(OpenNotification):
    """The current line was switched in the client application."""


@REGISTRY.notification("recording_ready")
class RecordingReady(OpenNotification):
    """A call recording is ready for playback or download."""


@REGISTRY.notification("campaign_status")
class CampaignStatus(OpenNotification):
    """Outbound campaign statistics and metrics."""


@REGISTRY.notification("agent_line_status")
class AgentLineStatus(OpenNotification):
    """An agent's phone line status and interaction details."""


@REGISTRY.notification("monitoring_agent_list")
class MonitoringAgentList(OpenNotification):
    """The agents the current user monitors."""


@REGISTRY.notification("phone_validation")
class PhoneValidation(Notification):
    """A workplace phone validation's state; only ``offering`` carries a ``timeout`` (seconds)."""

    WIRE_RULES = (OnlyWhen((DATA, "timeout"), (DATA, "state"), (PhoneValidationState.OFFERING.value,)),)

    state: PhoneValidationState = wire(DATA, "state")
    timeout: int | None = wire(DATA, "timeout", minimum=0, default=None, description="Countdown in seconds (offering)")


@REGISTRY.notification("off_hook")
class OffHook(Notification):
    """The persistent phone connection's state.

    Only ``authenticated`` may carry ``media_resource_id``, only ``offering`` a ``timeout`` (seconds).
    """

    WIRE_RULES = (
        OnlyWhen((DATA, "media_resource_id"), (DATA, "state"), (OffHookState.AUTHENTICATED.value,)),
        OnlyWhen((DATA, "timeout"), (DATA, "state"), (OffHookState.OFFERING.value,)),
    )

    state: OffHookState = wire(DATA, "state")
    media_resource_id: str | None = wire(
        DATA, "media_resource_id", default=None, description="The persistent media leg (authenticated)"
    )
    timeout: int | None = wire(DATA, "timeout", minimum=0, default=None, description="Countdown in seconds (offering)")


class RecordingControls(enum.Enum):
    """``agent_phone_update``'s ``recording_controls`` (IVR Voice may override 1 and 2)."""

    NONE = 0
    START = 1
    START_AND_PAUSE = 2


@REGISTRY.notification("agent_phone_update")
class AgentPhoneUpdate(Notification):
    """An administrator changed the agent's recording controls (sent to that agent only)."""

    recording_controls: RecordingControls = wire(DATA, "recording_controls")


@REGISTRY.notification("provisioning")
class Provisioning(Notification):
    """A tenant configuration change; the four deletion events carry only their ids."""

    WIRE_RULES = tuple(
        ExactMembersWhen((DATA, quirks.PROVISIONING_EVENT_TYPE), event_type, (DATA, quirks.PROVISIONING_EVENT), ids)
        for event_type, ids in quirks.PROVISIONING_DELETION_IDS.items()
    )

    event_type: ProvisioningEventType = wire(DATA, quirks.PROVISIONING_EVENT_TYPE)
    event: Mapping[str, JsonValue] = wire(
        DATA, quirks.PROVISIONING_EVENT, description="The event's record (configuration, deltas or ids)"
    )


@model
class UnknownNotification(Notification, Unknown):
    """A notification whose ``type`` member no registry knows (``.type``, ``.message_type``); ``.data`` whole."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()
    type: str = wire(TYPE_KEY, description="The notification type")
    data: Mapping[str, JsonValue] = wire(DATA)

    @property
    def message_type(self) -> str:
        """The ``type`` member."""
        return self.type


#: Every built-in message class: the envelope's, the registered notifications and the unknown notification.
ALL_MESSAGE_CLASSES: tuple[type[CcebMessage], ...] = (*REGISTRY.message_classes(), UnknownNotification)


# -- what the published schemas add to the declarations (docs/quirks.md S1, S4) ----------------------------------


def _supported_actions_only(schema: dict[str, Any]) -> None:
    """``data.action`` is one of the supported actions (ccproto refuses any other: ``unsupported-action``)."""
    action = schema["properties"][DATA]["properties"][ACTION_NAME]
    del action["pattern"], action["type"]  # every supported action is a string matching it: the enum says more
    action["enum"] = list(REGISTRY.actions())


def _known_types_excluded(schema: dict[str, Any]) -> None:
    """The catch-all refuses the types another class takes (the envelope's and every registered notification)."""
    known = [cls.TYPE for cls in REGISTRY.message_classes() if cls.TYPE is not None]
    schema["properties"][TYPE_KEY]["not"] = {"enum": sorted(known)}


refine_schema(Action, _supported_actions_only)
refine_schema(UnknownNotification, _known_types_excluded)
