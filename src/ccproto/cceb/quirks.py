"""Readings of the CCEB seed beyond the envelope, in one place (docs/quirks.md C7-C16).

The envelope itself is read in :mod:`ccproto.cceb.envelope`.  Each constant
here is named in ``docs/quirks.md``; change the reading here and nothing else
needs to move.
"""

from __future__ import annotations

import enum

__all__ = [
    "AUTH_FAILURE_CLOSE_CODE",
    "PROVISIONING_DELETION_IDS",
    "PROVISIONING_EVENT",
    "PROVISIONING_EVENT_TYPE",
    "OffHookState",
    "PhoneValidationState",
    "ProvisioningEventType",
    "SESSION_LIFETIME",
    "UNKNOWN_NOTIFICATION",
]

#: How long a long-lived session survives its WebSocket's disconnection, in seconds ("72 hours").
#: A session disconnected exactly this long ago still resumes ("at most 72 hours").
SESSION_LIFETIME = 72 * 3600.0

#: The close code our CCEB role uses to refuse a hello (the seed says only that the CCEB closes the
#: connection).  4001 is in the application range (4000-4999) of RFC 6455.  A close by the CCEB before
#: ``hello_reply`` is read as an authentication failure whatever its code.
AUTH_FAILURE_CLOSE_CODE = 4001

class PhoneValidationState(enum.Enum):
    """``phone_validation``'s ``data.state``, as the seed writes it: offering -> answered -> verified | invalid,
    with rejected and dropped ending it early."""

    OFFERING = "offering"
    ANSWERED = "answered"
    VERIFIED = "verified"
    INVALID = "invalid"
    REJECTED = "rejected"
    DROPPED = "dropped"


class OffHookState(enum.Enum):
    """``off_hook``'s ``data.state``.

    The seed names the situations but writes only ``authenticated`` and
    ``offering`` as values; the other wire values are our reading.
    """

    #: The platform's ack of enabling the off-hook connection.
    ENABLED = "enabled"
    #: The platform's ack of disabling it.
    DISABLED = "disabled"
    #: The persistent leg was answered at the workplace phone.
    ANSWERED = "answered"
    #: The persistent leg was dropped.
    DROPPED = "dropped"
    #: The offer was rejected.
    REJECTED = "rejected"
    #: The reply to a status query (``OffHookConnectionStatusEvent``); says nothing the seed describes.
    STATUS = "status"
    #: The authentication result; may carry ``media_resource_id``.
    AUTHENTICATED = "authenticated"
    #: Synthesised by the CCEB when the agent asks to become Available; may carry ``timeout``.
    OFFERING = "offering"


#: ``provisioning``: the member of ``data`` naming the event type (snake_case, as the envelope's keys).
PROVISIONING_EVENT_TYPE = "event_type"
#: ``provisioning``: the member of ``data`` holding the event's record (its keys are camelCase, like Avro).
PROVISIONING_EVENT = "event"

class ProvisioningEventType(enum.Enum):
    """A provisioning notification's event type (the seed's list)."""

    AGENT_ADDED = "AgentAddedEvent"
    AGENT_UPDATED = "AgentUpdatedEvent"
    AGENT_DELETED = "AgentDeletedEvent"
    AGENT_QUEUE_ADDED = "AgentQueueAddedEvent"
    AGENT_QUEUE_DELETED = "AgentQueueDeletedEvent"
    AGENT_ACCESS_RIGHTS_ADDED = "AgentAccessRightsAddedEvent"
    AGENT_GROUP_ADDED = "AgentGroupAddedEvent"
    AGENT_GROUP_UPDATED = "AgentGroupUpdatedEvent"
    AGENT_GROUP_DELETED = "AgentGroupDeletedEvent"
    TENANT_UPDATED = "TenantUpdatedEvent"
    QUEUE_ADDED = "QueueAddedEvent"
    QUEUE_UPDATED = "QueueUpdatedEvent"
    QUEUE_DELETED = "QueueDeletedEvent"


#: The deletion events carry only their ids (strings): event type -> the members of ``data.event``.
PROVISIONING_DELETION_IDS: dict[str, tuple[str, ...]] = {
    "AgentDeletedEvent": ("agentId",),
    "AgentQueueDeletedEvent": ("agentId", "queueId"),
    "AgentGroupDeletedEvent": ("groupId",),
    "QueueDeletedEvent": ("queueId", "queueType"),
}

#: Warning code: a notification whose ``type`` no registry knows (decoded whole).
UNKNOWN_NOTIFICATION = "unknown-notification"
