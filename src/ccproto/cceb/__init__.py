"""The CCEB (Client Connector Events Bridge) WebSocket API: hello, actions, acks, notifications, sessions.

* :mod:`~ccproto.cceb.envelope`: the envelope reading (member names, the supported actions, reserved fields);
* :mod:`~ccproto.cceb.models`: one class per message, the notification :class:`Registry`;
* :mod:`~ccproto.cceb.codec`: JSON text <-> models;
* :mod:`~ccproto.cceb.states`: the connection, phone-validation and off-hook tables;
* :mod:`~ccproto.cceb.connection`: :class:`CcebConnection`, the sans-I/O connection;
* :mod:`~ccproto.cceb.sessions`: :class:`SessionStore`, long-lived sessions (72 h after disconnection).
"""

from ccproto.cceb.codec import decode, decode_text, decode_value, encode, encode_value
from ccproto.cceb.connection import CcebConnection, ConnectionClosed, InFlight
from ccproto.cceb.envelope import SUPPORTED_ACTIONS, new_uuid
from ccproto.cceb.models import (
    ALL_MESSAGE_CLASSES,
    REGISTRY,
    Ack,
    Action,
    AgentInteraction,
    AgentLineStatus,
    AgentPhoneUpdate,
    CallLeg,
    CampaignStatus,
    CcebMessage,
    Hello,
    HelloReply,
    InteractionsList,
    InteractionUpdate,
    MonitoringAgentList,
    Notification,
    OffHook,
    OffHookState,
    OpenNotification,
    PhoneValidation,
    PhoneValidationState,
    Presence,
    Provisioning,
    ProvisioningEventType,
    RecordingControls,
    RecordingReady,
    Registry,
    SwitchLine,
    UnknownNotification,
)
from ccproto.cceb.protocol import PROTOCOL
from ccproto.cceb.sessions import LongLivedSession, SessionStore, is_resumable
from ccproto.cceb.states import ConnectionState, OffHookPhase, PhoneValidationPhase

__all__ = [
    "PROTOCOL",
    "ALL_MESSAGE_CLASSES",
    "REGISTRY",
    "SUPPORTED_ACTIONS",
    "Ack",
    "Action",
    "AgentInteraction",
    "AgentLineStatus",
    "AgentPhoneUpdate",
    "CallLeg",
    "CampaignStatus",
    "CcebConnection",
    "CcebMessage",
    "ConnectionClosed",
    "ConnectionState",
    "Hello",
    "HelloReply",
    "InFlight",
    "InteractionUpdate",
    "InteractionsList",
    "LongLivedSession",
    "MonitoringAgentList",
    "Notification",
    "OffHook",
    "OffHookPhase",
    "OffHookState",
    "OpenNotification",
    "PhoneValidation",
    "PhoneValidationPhase",
    "PhoneValidationState",
    "Presence",
    "Provisioning",
    "ProvisioningEventType",
    "RecordingControls",
    "RecordingReady",
    "Registry",
    "SessionStore",
    "SwitchLine",
    "UnknownNotification",
    "decode",
    "decode_text",
    "decode_value",
    "encode",
    "encode_value",
    "is_resumable",
    "new_uuid",
]
