"""The CCEB envelope: our documented reading of what the seed lost (docs/quirks.md C1-C6).

The seed's schemas were lost in the copy, so the envelope every CCEB message
shares is a reading, kept here so it can be changed in one place: the models,
codec, schemas and AsyncAPI document all take their member names from here.

* ``{"type": T, "uuid": U, "data": {...}}`` for every message but acks;
* ``{"type": "ack", "uuid": U}`` for acks, in both directions (U is the uuid
  of the notification or action acknowledged);
* keys are snake_case, except inside ``data.action_details`` (Avro records).
"""

from __future__ import annotations

import uuid as _uuid

__all__ = [
    "ACK",
    "ACTION",
    "ACTION_DETAILS",
    "ACTION_NAME",
    "ACTION_NAME_PATTERN",
    "ACK_OF_ACTION",
    "ACK_OF_NOTIFICATION",
    "CONTACT_ID_SUBSTITUTES",
    "DATA",
    "HELLO",
    "HELLO_REPLY",
    "RESERVED_ACTION_FIELDS",
    "SUPPORTED_ACTIONS",
    "TYPE",
    "UUID",
    "UUID_PATTERN",
    "new_uuid",
]

#: The member naming a message's type.
TYPE = "type"
#: The member holding a message's id (an ack's: the id of what it acknowledges).
UUID = "uuid"
#: The member holding a message's payload (absent from acks).
DATA = "data"

HELLO = "hello"
HELLO_REPLY = "hello_reply"
ACTION = "action"
ACK = "ack"

#: The AsyncAPI message id of the client's ack of a notification (seed: ``uuid_ack_action``).
ACK_OF_NOTIFICATION = "uuid_ack_action"
#: The AsyncAPI message id of the CCEB's ack of an action (seed: ``uuid_ack_response``).
ACK_OF_ACTION = "uuid_ack_response"

#: ``data.action``: the Avro record name of the action.
ACTION_NAME = "action"
#: ``data.action_details``: the Avro record's fields (camelCase).
ACTION_DETAILS = "action_details"

#: A message's ``uuid``: a canonical (8-4-4-4-12 hex) UUID, any version (docs/quirks.md C2).
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: An Avro record name (the ``data.action`` of an action).
ACTION_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: The actions the seed lists (it names AcceptInteractionEvent and HoldAgentTelephoneLineEvent twice; the set counts).
SUPPORTED_ACTIONS: tuple[str, ...] = tuple(dict.fromkeys([
    "UpdateInteractionEvent",
    "RequestAgentInteractionListEvent",
    "InitiatePhoneCallEvent",
    "HoldAgentTelephoneLineEvent",
    "UnholdAgentTelephoneLineEvent",
    "CancelTransferEvent",
    "AgentToAgentChatRequestEvent",
    "ConferenceAgentTelephoneLinesEvent",
    "InitiateEmailInteractionEvent",
    "EndPostProcessingEvent",
    "DeleteInteractionEvent",
    "EndEmailInteractionEvent",
    "ForwardInteractionEvent",
    "BlindTransferEvent",
    "AcceptInteractionEvent",
    "TransferAgentTelephoneLinesEvent",
    "HangupAgentTelephoneLineEvent",
    "HangupParticipantTelephoneLineEvent",
    "MuteAgentTelephoneLineEvent",
    "UnmuteAgentTelephoneLineEvent",
    "AcceptInteractionEvent",
    "RejectInteractionEvent",
    "SkipOutboundCampaignEvent",
    "StartOutboundCampaignEvent",
    "HoldAgentTelephoneLineEvent",
    "ChangeAgentStateEvent",
    "ChangeAgentSubStateEvent",
    "SetAgentNextStatusEvent",
    "TclAndDispositionRequestEvent",
    "PhoneValidationValidateEvent",
    "PhoneVerificationPinEvent",
    "PhoneValidationCancelEvent",
    "PhoneValidationStatusEvent",
    "SetOffHookConnectionEvent",
    "RejectOffHookEvent",
    "OffHookConnectionStatusEvent",
    "OffHookAuthPinValidationEvent",
    "OffHookCancelledEvent",
]))

#: Fields of ``action_details`` the CCEB sets itself (authorization): a client never sends them.
RESERVED_ACTION_FIELDS: tuple[str, ...] = (
    "irInstance", "tenantGuid", "agentGuid", "isSystemAction", "isRelocate", "source",
)

#: Agent GUID fields a client replaces with the agent's contact id (the CCEB resolves the GUID).
CONTACT_ID_SUBSTITUTES: dict[str, str] = {
    "destinationAgentGuid": "destinationAgentContactId",
    "secondAgentGuid": "secondAgentContactId",
}


def new_uuid() -> str:
    """A fresh message uuid (random, version 4)."""
    return str(_uuid.uuid4())
