"""CCEB messages: hand-written examples of every kind, the rules that must break, schemas, secrets, the registry."""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import re
import uuid as uuid_module
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccproto.cceb import codec, envelope, quirks
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
from ccproto.core.errors import (
    DecodeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnknownMessageError,
)
from ccproto.core.model import wire
from ccproto.core.schema import iter_schema_findings, schema_for, validator_for
from ccproto.testing.slices.cceb.strategies import cceb_messages
from ccproto.testing.strategies import Numbers, json_values, mutated_json

U = "123e4567-e89b-12d3-a456-426614174000"
U2 = "9b2f1c3e-0d4a-4b6e-8f7a-1c2d3e4f5a6b"
#: Secrets that must never show up in a repr, an error or a warning.
TOKEN = "canary-token-123"
SESSION_KEY = "canary-session-key-456"
CANONICAL_UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

NOTIFICATION_CLASSES: dict[str, type[Notification]] = {
    "interactions_list": InteractionsList,
    "agent_interaction": AgentInteraction,
    "interaction_update": InteractionUpdate,
    "presence": Presence,
    "call_leg": CallLeg,
    "switch_line": SwitchLine,
    "phone_validation": PhoneValidation,
    "recording_ready": RecordingReady,
    "campaign_status": CampaignStatus,
    "agent_line_status": AgentLineStatus,
    "monitoring_agent_list": MonitoringAgentList,
    "provisioning": Provisioning,
    "off_hook": OffHook,
    "agent_phone_update": AgentPhoneUpdate,
}
OPEN_TYPES = sorted(set(NOTIFICATION_CLASSES) - {"phone_validation", "off_hook", "agent_phone_update", "provisioning"})


def note(message_type: str, data: dict[str, Any], uuid: str = U) -> dict[str, Any]:
    """A notification's JSON value."""
    return {"type": message_type, "uuid": uuid, "data": data}


def hello(**data: Any) -> dict[str, Any]:
    """A hello's JSON value: the canary token and tenant ``acme``, plus ``data`` (``None`` values stay)."""
    return {"type": "hello", "uuid": U, "data": {"token": TOKEN, "tenant": "acme", **data}}


def action(name: str = "BlindTransferEvent", **details: Any) -> dict[str, Any]:
    """An action's JSON value."""
    return {"type": "action", "uuid": U, "data": {"action": name, "action_details": details}}


def pointers_of(value: Any, cls: type[CcebMessage]) -> list[str]:
    return [finding.pointer for finding in iter_schema_findings(value, cls)]


def no_canary(*texts: Any) -> None:
    for text in texts:
        shown = text if isinstance(text, str) else repr(text)
        assert TOKEN not in shown
        assert SESSION_KEY not in shown


# -- an extension registry (never REGISTRY itself) ---------------------------------------------

EXT = REGISTRY.copy()
EXT.add_action("AcmeWhisperEvent")


@EXT.notification("acme_whisper")
class Whisper(Notification):
    """acme_whisper: a supervisor whispers to an agent."""

    target: str = wire("data", "target")
    loud: bool | None = wire("data", "loud", default=None)


WHISPER = note("acme_whisper", {"target": "agent-7", "loud": False})


# -- 1. every kind of message, from a hand-written example --------------------------------------

OPEN_DATA: dict[str, Any] = {"interactionId": "i-1", "channel": "voice", "nested": {"a": [1, None, "x", 2.5]}}

EXAMPLES: list[Any] = [
    pytest.param(
        hello(long_lived=True, session_key=SESSION_KEY, auto_accept=False, locale="de-DE"),
        Hello(uuid=U, token=TOKEN, tenant="acme", long_lived=True, session_key=SESSION_KEY, auto_accept=False,
              extra={"/data/locale": "de-DE"}),
        id="hello",
    ),
    pytest.param(hello(), Hello(uuid=U, token=TOKEN, tenant="acme"), id="hello-minimal"),
    pytest.param(
        {"type": "hello_reply", "uuid": U, "data": {"session_key": SESSION_KEY, "resumed": True}},
        HelloReply(uuid=U, session_key=SESSION_KEY, resumed=True),
        id="hello_reply",
    ),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {}}, HelloReply(uuid=U), id="hello_reply-empty"),
    pytest.param({"type": "ack", "uuid": U}, Ack(uuid=U), id="ack"),
    pytest.param({"type": "ack", "uuid": U.upper()}, Ack(uuid=U.upper()), id="ack-uppercase-uuid"),
    pytest.param(
        action("BlindTransferEvent", interactionId="i-1", destinationAgentContactId="c-7"),
        Action(uuid=U, action="BlindTransferEvent",
               action_details={"interactionId": "i-1", "destinationAgentContactId": "c-7"}),
        id="action",
    ),
    *[
        pytest.param(note(t, OPEN_DATA), NOTIFICATION_CLASSES[t](uuid=U, data=OPEN_DATA),  # type: ignore[call-arg]
                     id=t)
        for t in OPEN_TYPES
    ],
    pytest.param(note("presence", {}), Presence(uuid=U, data={}), id="presence-empty"),
    pytest.param(
        note("phone_validation", {"state": "offering", "timeout": 30}),
        PhoneValidation(uuid=U, state=PhoneValidationState.OFFERING, timeout=30),
        id="phone_validation",
    ),
    pytest.param(
        note("phone_validation", {"state": "verified"}),
        PhoneValidation(uuid=U, state=PhoneValidationState.VERIFIED),
        id="phone_validation-verified",
    ),
    pytest.param(
        note("off_hook", {"state": "authenticated", "media_resource_id": "mr-9"}),
        OffHook(uuid=U, state=OffHookState.AUTHENTICATED, media_resource_id="mr-9"),
        id="off_hook",
    ),
    pytest.param(
        note("off_hook", {"state": "offering", "timeout": 0}),
        OffHook(uuid=U, state=OffHookState.OFFERING, timeout=0),
        id="off_hook-offering",
    ),
    pytest.param(
        note("agent_phone_update", {"recording_controls": 2}),
        AgentPhoneUpdate(uuid=U, recording_controls=RecordingControls.START_AND_PAUSE),
        id="agent_phone_update",
    ),
    pytest.param(
        note("provisioning", {"event_type": "AgentAddedEvent", "event": {"agentId": "a-1", "skills": [1, 2]}}),
        Provisioning(uuid=U, event_type=ProvisioningEventType.AGENT_ADDED,
                     event={"agentId": "a-1", "skills": [1, 2]}),
        id="provisioning",
    ),
    pytest.param(
        note("provisioning", {"event_type": "QueueDeletedEvent", "event": {"queueId": "q-1", "queueType": "voice"}}),
        Provisioning(uuid=U, event_type=ProvisioningEventType.QUEUE_DELETED,
                     event={"queueId": "q-1", "queueType": "voice"}),
        id="provisioning-deletion",
    ),
    pytest.param(
        {**note("presence", {"state": "busy"}), "seq": 4},
        Presence(uuid=U, data={"state": "busy"}, extra={"/seq": 4}),
        id="presence-unknown-top-member",
    ),
]


@pytest.mark.parametrize(("value", "expected"), EXAMPLES)
def test_example_decodes_to_its_class_and_encodes_back(value: dict[str, Any], expected: CcebMessage) -> None:
    decoded = codec.decode_text(json.dumps(value))
    assert type(decoded.message) is type(expected)
    assert decoded.message == expected
    assert decoded.warnings == ()
    assert decoded.value == value
    assert codec.encode_value(decoded.message) == value
    assert json.loads(codec.encode(expected)) == value
    assert codec.decode_value(value, strict=True).message == expected
    assert pointers_of(value, type(expected)) == []


def test_hello_fields() -> None:
    message = codec.decode(json.dumps(hello(long_lived=True, session_key=SESSION_KEY, auto_accept=False, x=[1])))
    assert isinstance(message, Hello)
    assert (message.uuid, message.token, message.tenant) == (U, TOKEN, "acme")
    assert (message.long_lived, message.session_key, message.auto_accept) == (True, SESSION_KEY, False)
    assert message.extra == {"/data/x": [1]}
    assert message.message_type == "hello"
    minimal = codec.decode(json.dumps(hello()))
    assert isinstance(minimal, Hello)
    assert (minimal.long_lived, minimal.session_key, minimal.auto_accept, minimal.extra) == (None, None, None, {})


def test_hello_reply_fields() -> None:
    text = '{"type": "hello_reply", "uuid": "' + U + '", "data": {"session_key": "k", "resumed": false}}'
    message = codec.decode(text)
    assert isinstance(message, HelloReply)
    assert (message.uuid, message.session_key, message.resumed) == (U, "k", False)
    empty = codec.decode('{"type": "hello_reply", "uuid": "' + U + '", "data": {}}')
    assert isinstance(empty, HelloReply)
    assert (empty.session_key, empty.resumed, empty.extra) == (None, None, {})
    assert codec.encode_value(HelloReply(uuid=U)) == {"type": "hello_reply", "uuid": U, "data": {}}


def test_supported_actions_are_the_seeds_36_distinct_names() -> None:
    assert len(envelope.SUPPORTED_ACTIONS) == 36
    assert len(set(envelope.SUPPORTED_ACTIONS)) == 36
    for name in ("AcceptInteractionEvent", "HoldAgentTelephoneLineEvent"):
        assert envelope.SUPPORTED_ACTIONS.count(name) == 1
    assert REGISTRY.actions() == envelope.SUPPORTED_ACTIONS


@pytest.mark.parametrize("name", envelope.SUPPORTED_ACTIONS)
def test_every_supported_action_is_accepted(name: str) -> None:
    value = action(name, interactionId="i-1", reason={"code": 3})
    decoded = codec.decode_text(json.dumps(value), strict=True)
    assert type(decoded.message) is Action
    assert decoded.message.action == name
    assert decoded.message.action_details == {"interactionId": "i-1", "reason": {"code": 3}}
    assert decoded.warnings == ()
    assert codec.encode_value(decoded.message) == value


def test_registry_has_exactly_the_14_notification_types() -> None:
    assert set(REGISTRY.notification_types()) == set(NOTIFICATION_CLASSES)
    assert len(REGISTRY.notification_types()) == 14
    for message_type, cls in NOTIFICATION_CLASSES.items():
        assert REGISTRY.notification_class(message_type) is cls
        assert message_type == cls.TYPE
    assert REGISTRY.message_classes()[:4] == (Hello, HelloReply, Action, Ack)
    assert set(REGISTRY.message_classes()[4:]) == set(NOTIFICATION_CLASSES.values())
    assert set(ALL_MESSAGE_CLASSES) == {Hello, HelloReply, Action, Ack, UnknownNotification,
                                        *NOTIFICATION_CLASSES.values()}


@pytest.mark.parametrize("message_type", sorted(NOTIFICATION_CLASSES))
def test_every_notification_type_has_an_example(message_type: str) -> None:
    examples = {p.values[0]["type"] for p in EXAMPLES}
    assert message_type in examples


# -- 2. rules that must break ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["not-a-uuid", "", U.replace("-", ""), "{" + U + "}", "urn:uuid:" + U, U + "\n", " " + U, U[:-1],
     U[:-1] + "g", U + "0", "123e4567_e89b_12d3_a456_426614174000"],
    ids=["word", "empty", "no-dashes", "braces", "urn", "newline", "space", "short", "non-hex", "long", "underscores"],
)
@pytest.mark.parametrize("base", [{"type": "ack"}, hello(), note("presence", {})], ids=["ack", "hello", "presence"])
def test_uuid_must_be_canonical(bad: str, base: dict[str, Any]) -> None:
    value = {**base, "uuid": bad}
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/uuid"
    assert info.value.code == "schema-violation"
    assert pointers_of(value, codec.message_class_for(value)) == ["/uuid"]


@pytest.mark.parametrize("value", [{"uuid": U}, {"uuid": U, "data": {}}, {"Type": "ack", "uuid": U}],
                         ids=["bare", "with-data", "capitalised"])
def test_missing_type_is_an_error(value: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/type"
    assert "missing" in info.value.detail


@pytest.mark.parametrize("bad_type", [5, True, ["ack"], {"ack": 1}, 1.5])
def test_non_string_type_is_an_error(bad_type: Any) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps({"type": bad_type, "uuid": U, "data": {}}))
    assert info.value.pointer == "/type"
    assert "expected string" in info.value.detail


def test_null_type_is_a_wrong_type_not_a_missing_member() -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode('{"type": null, "uuid": "' + U + '", "data": {}}')
    assert info.value.pointer == "/type"
    assert "missing" not in info.value.detail
    assert "expected string" in info.value.detail


@pytest.mark.parametrize("message_type", ["acme_event", "Presence", "HELLO", "", "presence "])
def test_unknown_notification_is_kept_whole_with_a_warning(message_type: str) -> None:
    value = {**note(message_type, {"a": [1, {"b": None}]}), "seq": 3}
    decoded = codec.decode_text(json.dumps(value))
    message = decoded.message
    assert type(message) is UnknownNotification
    assert isinstance(message, UnknownNotification)
    assert (message.type, message.uuid, message.data) == (message_type, U, {"a": [1, {"b": None}]})
    assert message.message_type == message_type
    assert message.extra == {"/seq": 3}
    assert [(w.code, w.pointer) for w in decoded.warnings] == [("unknown-notification", "/type")]
    assert codec.encode_value(message) == value
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value), strict=True)
    assert info.value.code == "unknown-notification"
    assert info.value.pointer == "/type"


def test_unknown_notification_near_miss_names_the_registered_type() -> None:
    (warning,) = codec.decode_value(note("Presence", {})).warnings
    assert "'presence'" in warning.detail
    (warning,) = codec.decode_value(note("acme_event", {})).warnings
    assert "did you mean" not in warning.detail


def test_unknown_notification_still_needs_an_object_data() -> None:
    for value, where in (({"type": "acme", "uuid": U}, "/data"), (note("acme", []), "/data"),  # type: ignore[arg-type]
                         ({"type": "acme", "uuid": "x", "data": {}}, "/uuid")):
        with pytest.raises(SchemaViolationError.Remote) as info:
            codec.decode_value(value)
        assert info.value.pointer == where


@pytest.mark.parametrize("name", ["AcmeWhisperEvent", "blindtransferevent", "BlindTransfer", "Blind_Transfer_Event"])
def test_unsupported_action_is_an_unknown_message(name: str) -> None:
    value = action(name, interactionId="i-1")
    with pytest.raises(UnknownMessageError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.code == "unsupported-action"
    assert info.value.pointer == "/data/action"
    assert info.value.message == value
    assert info.value.hint
    # The published schema says the same (an enum of the supported actions: docs/quirks.md S1).
    assert pointers_of(value, Action) == ["/data/action"]


def test_unsupported_action_near_miss_hint() -> None:
    with pytest.raises(UnknownMessageError.Remote) as info:
        codec.decode_value(action("blindtransferevent"))
    assert info.value.hint == "did you mean 'BlindTransferEvent'?"


@pytest.mark.parametrize("name", ["Blind Transfer", "1Event", "", "Event-1", 5, None, ["BlindTransferEvent"]])
def test_action_name_must_be_an_avro_record_name(name: Any) -> None:
    value = action(name)
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/data/action"
    assert info.value.code == "schema-violation"


@pytest.mark.parametrize("field", envelope.RESERVED_ACTION_FIELDS)
@pytest.mark.parametrize("field_value", ["x", None, True, {"a": 1}], ids=["str", "null", "bool", "object"])
def test_reserved_action_field_is_refused(field: str, field_value: Any) -> None:
    value = action("UpdateInteractionEvent", interactionId="i-1", **{field: field_value})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    error = info.value
    assert error.code == "reserved-field"
    assert error.pointer == f"/data/action_details/{field}"
    assert error.hint is not None
    assert "do not ack" in error.hint
    assert f"{field!r}" in error.detail
    assert error.message == value


@pytest.mark.parametrize(("field", "substitute"), sorted(envelope.CONTACT_ID_SUBSTITUTES.items()))
def test_agent_guid_is_refused_naming_the_contact_id(field: str, substitute: str) -> None:
    assert {"destinationAgentGuid": "destinationAgentContactId", "secondAgentGuid": "secondAgentContactId"}[
        field] == substitute
    value = action("TransferAgentTelephoneLinesEvent", **{field: "guid-1"})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    error = info.value
    assert error.code == "reserved-field"
    assert error.pointer == f"/data/action_details/{field}"
    assert error.hint is not None
    assert substitute in error.hint
    assert "do not ack" in error.hint
    # The contact id itself is fine.
    assert codec.decode(json.dumps(action("TransferAgentTelephoneLinesEvent", **{substitute: "c-1"})))


@pytest.mark.parametrize("field", [*envelope.RESERVED_ACTION_FIELDS, *envelope.CONTACT_ID_SUBSTITUTES])
def test_encoding_a_reserved_field_is_a_local_error(field: str) -> None:
    message = Action.new("BlindTransferEvent", {"interactionId": "i-1", field: "x"})
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode_value(message)
    error = info.value
    assert isinstance(error, LocalProtocolError)
    assert error.code == "reserved-field"
    assert error.pointer == f"/data/action_details/{field}"
    assert error.hint is not None
    assert "do not ack" not in error.hint
    substitute = envelope.CONTACT_ID_SUBSTITUTES.get(field)
    if substitute is not None:
        assert substitute in error.hint
    with pytest.raises(SchemaViolationError.Local):
        codec.encode(message)


def test_reserved_names_deeper_inside_action_details_are_allowed() -> None:
    value = action("UpdateInteractionEvent", context={"irInstance": "x", "source": "y"}, list=[{"agentGuid": 1}])
    message = codec.decode(json.dumps(value))
    assert isinstance(message, Action)
    assert codec.encode_value(message) == value


def test_a_non_json_value_in_action_details_is_a_plain_schema_violation() -> None:
    # Only the reserved names get the reserved-field code; another key's bad value is an ordinary violation.
    message = Action.new("BlindTransferEvent", {"when": datetime.date(2024, 1, 1)})
    with pytest.raises(SchemaViolationError.Local) as local:
        codec.encode_value(message)
    assert local.value.pointer == "/data/action_details/when"
    assert local.value.code == "schema-violation"
    assert "reserved" not in local.value.detail
    with pytest.raises(SchemaViolationError.Remote) as remote:
        codec.decode_value(action("BlindTransferEvent", note={1: "non-string key"}))
    assert remote.value.pointer == "/data/action_details/note"
    assert remote.value.code == "schema-violation"
    assert remote.value.hint is None


def test_a_notification_is_never_told_it_is_an_action_with_a_reserved_field() -> None:
    # Only an action's data.action_details has reserved fields (a non-JSON value reaches here via decode_value).
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_value(note("presence", {"action_details": {"irInstance": {1, 2}}}))
    assert info.value.pointer == "/data/action_details/irInstance"
    assert info.value.code == "schema-violation"
    assert info.value.hint is None


def test_encoding_a_notification_is_never_a_reserved_field_error() -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode_value(Presence(uuid=U, data={"action_details": {"agentGuid": b"guid"}}))
    assert info.value.pointer == "/data/action_details/agentGuid"
    assert info.value.code == "schema-violation"


# phone_validation


def test_phone_validation_has_the_seeds_six_states() -> None:
    assert [s.value for s in PhoneValidationState] == [
        "offering", "answered", "verified", "invalid", "rejected", "dropped"
    ]


@pytest.mark.parametrize("state", list(PhoneValidationState), ids=lambda s: s.value)
def test_phone_validation_state_without_timeout(state: PhoneValidationState) -> None:
    message = codec.decode_value(note("phone_validation", {"state": state.value})).message
    assert message == PhoneValidation(uuid=U, state=state)


@pytest.mark.parametrize("state", [s for s in PhoneValidationState if s is not PhoneValidationState.OFFERING],
                         ids=lambda s: s.value)
def test_phone_validation_timeout_only_when_offering(state: PhoneValidationState) -> None:
    value = note("phone_validation", {"state": state.value, "timeout": 30})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/data/timeout"
    assert "offering" in info.value.detail
    with pytest.raises(SchemaViolationError.Local) as local:
        codec.encode_value(PhoneValidation(uuid=U, state=state, timeout=30))
    assert local.value.pointer == "/data/timeout"


@pytest.mark.parametrize("timeout", [0, 1, 30, 2**40])
def test_phone_validation_offering_timeout_accepted(timeout: int) -> None:
    message = codec.decode_value(note("phone_validation", {"state": "offering", "timeout": timeout})).message
    assert message == PhoneValidation(uuid=U, state=PhoneValidationState.OFFERING, timeout=timeout)


@pytest.mark.parametrize("timeout", [-1, True, False, 1.5, 2.5e0, "30", None, [30], {}])
@pytest.mark.parametrize("message_type", ["phone_validation", "off_hook"])
def test_timeout_must_be_a_non_negative_integer(message_type: str, timeout: Any) -> None:
    value = note(message_type, {"state": "offering", "timeout": timeout})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/data/timeout"


@pytest.mark.parametrize("state", ["Offering", "OFFERING", "offered", "", 0, None, True])
def test_phone_validation_state_outside_the_enum(state: Any) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(note("phone_validation", {"state": state})))
    assert info.value.pointer == "/data/state"


# off_hook


def test_off_hook_has_eight_states() -> None:
    assert {s.value for s in OffHookState} == {
        "enabled", "disabled", "answered", "dropped", "rejected", "status", "authenticated", "offering"
    }
    assert OffHookState is quirks.OffHookState


@pytest.mark.parametrize("state", list(OffHookState), ids=lambda s: s.value)
def test_off_hook_member_rules(state: OffHookState) -> None:
    bare = note("off_hook", {"state": state.value})
    assert codec.decode_value(bare).message == OffHook(uuid=U, state=state)
    with_media = note("off_hook", {"state": state.value, "media_resource_id": "mr-1"})
    with_timeout = note("off_hook", {"state": state.value, "timeout": 10})
    if state is OffHookState.AUTHENTICATED:
        assert codec.decode_value(with_media).message == OffHook(uuid=U, state=state, media_resource_id="mr-1")
    else:
        with pytest.raises(SchemaViolationError.Remote) as info:
            codec.decode_value(with_media)
        assert info.value.pointer == "/data/media_resource_id"
        assert pointers_of(with_media, OffHook) == ["/data/media_resource_id"]
    if state is OffHookState.OFFERING:
        assert codec.decode_value(with_timeout).message == OffHook(uuid=U, state=state, timeout=10)
    else:
        with pytest.raises(SchemaViolationError.Remote) as info:
            codec.decode_value(with_timeout)
        assert info.value.pointer == "/data/timeout"
        assert pointers_of(with_timeout, OffHook) == ["/data/timeout"]


def test_off_hook_media_resource_id_is_a_string() -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_value(note("off_hook", {"state": "authenticated", "media_resource_id": 9}))
    assert info.value.pointer == "/data/media_resource_id"


# agent_phone_update


@pytest.mark.parametrize("controls", [0, 1, 2])
def test_recording_controls_accepted(controls: int) -> None:
    value = note("agent_phone_update", {"recording_controls": controls})
    message = codec.decode(json.dumps(value))
    assert message == AgentPhoneUpdate(uuid=U, recording_controls=RecordingControls(controls))
    assert codec.encode_value(message) == value


@pytest.mark.parametrize("controls", [3, -1, True, False, "1", 1.5, 3.0, None, [1]])
def test_recording_controls_rejected(controls: Any) -> None:
    value = note("agent_phone_update", {"recording_controls": controls})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/data/recording_controls"
    assert pointers_of(value, AgentPhoneUpdate) == ["/data/recording_controls"]


# provisioning


def test_provisioning_has_13_event_types_4_of_them_deletions() -> None:
    assert len(ProvisioningEventType) == 13
    assert set(quirks.PROVISIONING_DELETION_IDS) == {
        "AgentDeletedEvent", "AgentQueueDeletedEvent", "AgentGroupDeletedEvent", "QueueDeletedEvent"
    }
    assert quirks.PROVISIONING_DELETION_IDS["QueueDeletedEvent"] == ("queueId", "queueType")


@pytest.mark.parametrize("event_type", list(ProvisioningEventType), ids=lambda e: e.value)
def test_every_provisioning_event_type_is_accepted(event_type: ProvisioningEventType) -> None:
    ids = quirks.PROVISIONING_DELETION_IDS.get(event_type.value)
    event: dict[str, Any] = (
        {name: f"{name}-1" for name in ids} if ids else {"id": 5, "name": "Sales", "deltas": [{"a": None}]}
    )
    value = note("provisioning", {"event_type": event_type.value, "event": event})
    message = codec.decode(json.dumps(value))
    assert message == Provisioning(uuid=U, event_type=event_type, event=event)
    assert codec.encode_value(message) == value


@pytest.mark.parametrize("event_type", [e for e in ProvisioningEventType
                                        if e.value not in quirks.PROVISIONING_DELETION_IDS], ids=lambda e: e.value)
def test_non_deletion_events_are_open(event_type: ProvisioningEventType) -> None:
    for event in ({}, {"agentId": 5}, {"anything": {"nested": [1, 2]}}):
        value = note("provisioning", {"event_type": event_type.value, "event": event})
        assert codec.decode_value(value).message == Provisioning(uuid=U, event_type=event_type, event=event)


DELETION_CASES = [
    pytest.param(event_type, member, id=f"{event_type}-{member}")
    for event_type, ids in quirks.PROVISIONING_DELETION_IDS.items()
    for member in ids
]


@pytest.mark.parametrize(("event_type", "member"), DELETION_CASES)
@pytest.mark.parametrize("breakage", ["missing", "int", "null", "object"])
def test_deletion_event_ids_are_required_strings(event_type: str, member: str, breakage: str) -> None:
    event: dict[str, Any] = {name: "id-1" for name in quirks.PROVISIONING_DELETION_IDS[event_type]}
    if breakage == "missing":
        del event[member]
    else:
        event[member] = {"int": 7, "null": None, "object": {"id": "x"}}[breakage]
    value = note("provisioning", {"event_type": event_type, "event": event})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == f"/data/event/{member}"
    assert pointers_of(value, Provisioning) == [f"/data/event/{member}"]


@pytest.mark.parametrize(
    ("event_type", "extra_member"),
    [
        pytest.param(event_type, extra, id=f"{event_type}-{extra}")
        for event_type, ids in quirks.PROVISIONING_DELETION_IDS.items()
        for extra in ("name", "groupId", "agentId", "queueId")
        if extra not in ids
    ],
)
def test_deletion_event_carries_nothing_but_its_ids(event_type: str, extra_member: str) -> None:
    ids = quirks.PROVISIONING_DELETION_IDS[event_type]
    event = {**{name: "id-1" for name in ids}, extra_member: "x"}
    value = note("provisioning", {"event_type": event_type, "event": event})
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == f"/data/event/{extra_member}"
    assert pointers_of(value, Provisioning) == [f"/data/event/{extra_member}"]


@pytest.mark.parametrize("event_type", ["agentDeletedEvent", "AgentDeleted", "", 3, None])
def test_provisioning_event_type_outside_the_enum(event_type: Any) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(note("provisioning", {"event_type": event_type, "event": {}})))
    assert info.value.pointer == "/data/event_type"


# no coercion, no null for "absent"

#: (value, pointer): invalid JSON the decoder and the schema both reject at ``pointer`` (and only there).
INVALID: list[Any] = [
    pytest.param(hello(long_lived="false"), "/data/long_lived", id="hello-long_lived-string"),
    pytest.param(hello(long_lived=0), "/data/long_lived", id="hello-long_lived-int"),
    pytest.param(hello(auto_accept="true"), "/data/auto_accept", id="hello-auto_accept-string"),
    pytest.param(hello(auto_accept=1), "/data/auto_accept", id="hello-auto_accept-int"),
    pytest.param(hello(tenant=1), "/data/tenant", id="hello-tenant-int"),
    pytest.param(hello(tenant=["acme"]), "/data/tenant", id="hello-tenant-array"),
    pytest.param(hello(token=123), "/data/token", id="hello-token-int"),
    pytest.param(hello(session_key=5), "/data/session_key", id="hello-session_key-int"),
    pytest.param(hello(session_key=None), "/data/session_key", id="hello-session_key-null"),
    pytest.param(hello(long_lived=None), "/data/long_lived", id="hello-long_lived-null"),
    pytest.param(hello(auto_accept=None), "/data/auto_accept", id="hello-auto_accept-null"),
    pytest.param({"type": "hello", "uuid": U, "data": {"tenant": "acme"}}, "/data/token", id="hello-no-token"),
    pytest.param({"type": "hello", "uuid": U, "data": {"token": TOKEN}}, "/data/tenant", id="hello-no-tenant"),
    pytest.param({"type": "hello", "uuid": U}, "/data", id="hello-no-data"),
    pytest.param({"type": "hello", "uuid": U, "data": []}, "/data", id="hello-data-array"),
    pytest.param({"type": "hello_reply", "uuid": U}, "/data", id="hello_reply-no-data"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": None}, "/data", id="hello_reply-data-null"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"resumed": "true"}}, "/data/resumed",
                 id="hello_reply-resumed-string"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"resumed": 1}}, "/data/resumed",
                 id="hello_reply-resumed-int"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"resumed": None}}, "/data/resumed",
                 id="hello_reply-resumed-null"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"session_key": None}}, "/data/session_key",
                 id="hello_reply-session_key-null"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"session_key": 7}}, "/data/session_key",
                 id="hello_reply-session_key-int"),
    pytest.param({"type": "ack"}, "/uuid", id="ack-no-uuid"),
    pytest.param({"type": "ack", "uuid": None}, "/uuid", id="ack-uuid-null"),
    pytest.param({"type": "ack", "uuid": 5}, "/uuid", id="ack-uuid-int"),
    pytest.param({"type": "ack", "uuid": "u-1"}, "/uuid", id="ack-uuid-not-canonical"),
    pytest.param({"type": "action", "uuid": U, "data": {"action": "BlindTransferEvent"}}, "/data/action_details",
                 id="action-no-details"),
    pytest.param({"type": "action", "uuid": U, "data": {"action_details": {}}}, "/data/action", id="action-no-name"),
    pytest.param(action(5), "/data/action", id="action-name-int"),  # type: ignore[arg-type]
    pytest.param({"type": "action", "uuid": U, "data": {"action": "BlindTransferEvent", "action_details": None}},
                 "/data/action_details", id="action-details-null"),
    pytest.param({"type": "action", "uuid": U, "data": {"action": "BlindTransferEvent", "action_details": []}},
                 "/data/action_details", id="action-details-array"),
    *[pytest.param(action(**{f: "x"}), f"/data/action_details/{f}", id=f"reserved-{f}")
      for f in (*envelope.RESERVED_ACTION_FIELDS, *envelope.CONTACT_ID_SUBSTITUTES)],
    pytest.param(note("presence", []), "/data", id="presence-data-array"),  # type: ignore[arg-type]
    pytest.param({"type": "presence", "uuid": U}, "/data", id="presence-no-data"),
    pytest.param({"type": "presence", "uuid": U, "data": None}, "/data", id="presence-data-null"),
    pytest.param(note("phone_validation", {"state": "answered", "timeout": 5}), "/data/timeout",
                 id="phone_validation-timeout-not-offering"),
    pytest.param(note("phone_validation", {"state": "offering", "timeout": -1}), "/data/timeout",
                 id="phone_validation-timeout-negative"),
    pytest.param(note("phone_validation", {"state": "offering", "timeout": True}), "/data/timeout",
                 id="phone_validation-timeout-bool"),
    pytest.param(note("phone_validation", {"state": "offering", "timeout": "30"}), "/data/timeout",
                 id="phone_validation-timeout-string"),
    pytest.param(note("phone_validation", {"state": "offering", "timeout": 30.5}), "/data/timeout",
                 id="phone_validation-timeout-float"),
    pytest.param(note("phone_validation", {"state": "offering", "timeout": None}), "/data/timeout",
                 id="phone_validation-timeout-null"),
    pytest.param(note("phone_validation", {}), "/data/state", id="phone_validation-no-state"),
    pytest.param(note("phone_validation", {"state": "Offering"}), "/data/state", id="phone_validation-state-case"),
    pytest.param(note("off_hook", {"state": "enabled", "media_resource_id": "m"}), "/data/media_resource_id",
                 id="off_hook-media-not-authenticated"),
    pytest.param(note("off_hook", {"state": "authenticated", "timeout": 3}), "/data/timeout",
                 id="off_hook-timeout-not-offering"),
    pytest.param(note("off_hook", {"state": "authenticated", "media_resource_id": None}), "/data/media_resource_id",
                 id="off_hook-media-null"),
    pytest.param(note("off_hook", {"state": "on"}), "/data/state", id="off_hook-state-unknown"),
    pytest.param(note("agent_phone_update", {"recording_controls": 3}), "/data/recording_controls",
                 id="recording_controls-3"),
    pytest.param(note("agent_phone_update", {"recording_controls": "1"}), "/data/recording_controls",
                 id="recording_controls-string"),
    pytest.param(note("agent_phone_update", {}), "/data/recording_controls", id="recording_controls-missing"),
    pytest.param(note("provisioning", {"event_type": "AgentDeletedEvent"}), "/data/event", id="provisioning-no-event"),
    pytest.param(note("provisioning", {"event_type": "AgentAddedEvent", "event": []}), "/data/event",
                 id="provisioning-event-array"),
    pytest.param(note("provisioning", {"event_type": "AgentDeletedEvent", "event": {}}), "/data/event/agentId",
                 id="provisioning-deletion-missing-id"),
    pytest.param(note("provisioning", {"event_type": "AgentGroupDeletedEvent", "event": {"groupId": 4}}),
                 "/data/event/groupId", id="provisioning-deletion-int-id"),
    pytest.param(note("provisioning", {"event_type": "QueueDeletedEvent",
                                       "event": {"queueId": "q", "queueType": "t", "name": "n"}}),
                 "/data/event/name", id="provisioning-deletion-extra"),
    pytest.param(note("provisioning", {"event": {}}), "/data/event_type", id="provisioning-no-event_type"),
    pytest.param(note("acme_event", None), "/data", id="unknown-data-null"),  # type: ignore[arg-type]
    pytest.param({**hello(), "uuid": "not-a-uuid"}, "/uuid", id="hello-uuid"),
]


@pytest.mark.parametrize(("value", "where"), INVALID)
def test_invalid_json_is_rejected_at_its_pointer(value: dict[str, Any], where: str) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.pointer == where
    expected_code = "reserved-field" if where.startswith("/data/action_details/") else "schema-violation"
    assert info.value.code == expected_code
    assert info.value.message is not None


@pytest.mark.parametrize("value", [p.values[0] for p in INVALID if "null" in (p.id or "")],
                         ids=[p.id for p in INVALID if "null" in (p.id or "")])
def test_null_is_not_absent(value: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_value(value)
    assert "null" in info.value.detail


# -- 3. the schemas agree with the decoder -------------------------------------------------------


@pytest.mark.parametrize(("value", "where"), INVALID)
def test_schema_reports_the_decoders_pointer(value: dict[str, Any], where: str) -> None:
    cls = codec.message_class_for(value)
    assert pointers_of(value, cls) == [where]
    assert not validator_for(cls).is_valid(value)


@pytest.mark.parametrize(("value", "expected"), EXAMPLES)
def test_schema_accepts_the_examples(value: dict[str, Any], expected: CcebMessage) -> None:
    assert codec.message_class_for(value) is type(expected)
    validator_for(type(expected)).validate(value)


@given(cceb_messages(numbers=Numbers.EXACT))
def test_every_generated_message_validates_and_round_trips(message: CcebMessage) -> None:
    value = codec.encode_value(message)
    validator_for(type(message)).validate(value)
    assert list(iter_schema_findings(value, type(message))) == []
    decoded = codec.decode_value(copy.deepcopy(value))
    assert decoded.message == message
    assert type(decoded.message) is type(message)
    assert bool(decoded.warnings) == isinstance(message, UnknownNotification)


@given(cceb_messages(numbers=Numbers.EXACT))
def test_every_generated_message_round_trips_through_json_text(message: CcebMessage) -> None:
    text = codec.encode(message)
    assert codec.decode(text) == message
    assert codec.decode(text.encode("utf-8")) == message
    assert codec.decode(json.dumps(json.loads(text))) == message  # another writer's spacing and escapes
    assert json.loads(text) == codec.encode_value(message)


def _extension_validator(cls: type[CcebMessage]) -> Any:
    """The schema of ``cls`` as EXT publishes it: the published one lists only the built-in registry's actions."""
    schema = schema_for(cls)
    if cls is Action:
        schema["properties"]["data"]["properties"]["action"]["enum"] = list(EXT.actions())
    return jsonschema.Draft202012Validator(schema)


@given(cceb_messages(registry=EXT, unknown=False))
def test_extension_messages_round_trip_with_their_registry(message: CcebMessage) -> None:
    # (It validated against the built-in registry's schema, and failed whenever hypothesis drew the extension's
    # own action: rare enough to look order-dependent.)
    value = codec.encode_value(message)
    _extension_validator(type(message)).validate(value)
    decoded = codec.decode_text(codec.encode(message), registry=EXT, strict=True)
    assert decoded.message == message


NEAR_MISSES = st.sampled_from([
    "hello", "hello_reply", "action", "ack", "presence", "phone_validation", "off_hook", "provisioning",
    "agent_phone_update", *[s.value for s in OffHookState], *[e.value for e in ProvisioningEventType],
    "BlindTransferEvent", "blindtransferevent", 0, 1, 2, 3, U, "not-a-uuid",
])
KEYED = st.dictionaries(
    st.sampled_from([*envelope.RESERVED_ACTION_FIELDS, *envelope.CONTACT_ID_SUBSTITUTES, "agentId", "queueId",
                     "queueType", "groupId", "timeout", "media_resource_id", "state", "token", "type", "uuid"]),
    json_values() | NEAR_MISSES, max_size=3,
)


def mutated_messages() -> st.SearchStrategy[Any]:
    """A valid message's JSON with one place replaced by any JSON value, a near-miss name or a reserved member."""
    valid = st.builds(lambda m: codec.encode_value(m), cceb_messages(numbers=Numbers.EXACT))
    return mutated_json(valid, json_values() | NEAR_MISSES | KEYED)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.one_of(mutated_messages(), mutated_messages().filter(lambda v: type(v) is dict)))
@example(action("blindtransferevent"))
@example(action("BlindTransferEvent", irInstance=[1]))
@example(action("BlindTransferEvent", secondAgentGuid="g"))
@example({"type": ["ack"], "uuid": U})
@example({"type": None, "uuid": U})
@example([{"type": "ack", "uuid": U}])
@example(note("acme_event", {"a": 1}))
def test_mutated_json_never_crashes_and_agrees_with_the_schema(value: Any) -> None:
    error: ProtocolError | None = None
    try:
        decoded = codec.decode_value(copy.deepcopy(value))
    except ProtocolError as exc:  # anything else fails the test
        error = exc
    text_error: ProtocolError | None = None
    try:
        codec.decode(json.dumps(value))
    except ProtocolError as exc:
        text_error = exc
    assert type(text_error) is type(error)

    if error is None:
        message = decoded.message
        assert list(iter_schema_findings(value, type(message))) == []
        assert codec.decode(codec.encode(message)) == message
        return
    assert isinstance(error, RemoteProtocolError)
    assert isinstance(text_error, ProtocolError)
    assert text_error.pointer == error.pointer
    if isinstance(error, DecodeError):
        assert type(value) is not dict
    elif isinstance(error, UnknownMessageError):
        # The schema of Action refuses it too, at the same place (its enum of supported actions, quirk S1).
        assert error.code == "unsupported-action"
        assert type(value.get("type")) is str
        assert codec.message_class_for(value) is Action
        assert [f.pointer for f in iter_schema_findings(value, Action)] == [error.pointer]
    elif isinstance(error, SchemaViolationError):
        if type(value.get("type")) is not str:
            assert error.pointer == "/type"
            for cls in ALL_MESSAGE_CLASSES:
                assert not validator_for(cls).is_valid(value)
        else:
            pointers = pointers_of(value, codec.message_class_for(value))
            assert error.pointer in pointers


SHAPED = st.dictionaries(st.sampled_from(["type", "uuid", "data"]), json_values() | NEAR_MISSES)


@given(st.one_of(json_values(), SHAPED))
def test_arbitrary_json_decodes_or_is_a_remote_protocol_error(value: Any) -> None:
    for registry in (REGISTRY, EXT):
        for strict in (False, True):
            with contextlib.suppress(RemoteProtocolError):
                codec.decode(json.dumps(value), registry=registry, strict=strict)


# -- 4. secrets ------------------------------------------------------------------------------------


def test_secrets_never_in_model_reprs() -> None:
    message = Hello(uuid=U, token=TOKEN, tenant="acme", long_lived=True, session_key=SESSION_KEY,
                    extra={"/data/nested": {"token": TOKEN, "session_key": SESSION_KEY}, "/session_key": SESSION_KEY})
    no_canary(repr(message), str(message), f"{message}", repr([message]))
    assert message.token == TOKEN
    assert message.session_key == SESSION_KEY
    assert "acme" in repr(message)
    reply = HelloReply(uuid=U, session_key=SESSION_KEY, resumed=True)
    no_canary(repr(reply), str(reply), repr({"r": reply}))
    assert "resumed=True" in repr(reply)
    decoded = codec.decode_text(json.dumps(hello(session_key=SESSION_KEY, long_lived=True)))
    no_canary(repr(decoded), repr(decoded.message), str(decoded.message))
    fresh = Hello.new(token=TOKEN, tenant="acme", session_key=SESSION_KEY)
    no_canary(repr(fresh), str(fresh))


BROKEN_HELLOS: list[Any] = [
    pytest.param(hello(session_key=SESSION_KEY, tenant=1), id="tenant-int"),
    pytest.param({**hello(session_key=SESSION_KEY), "uuid": "bad"}, id="uuid"),
    pytest.param(hello(session_key=SESSION_KEY, long_lived="yes"), id="long_lived-string"),
    pytest.param(hello(session_key=SESSION_KEY, auto_accept=None), id="auto_accept-null"),
    pytest.param({"type": "hello", "uuid": U, "data": {"token": [TOKEN], "tenant": "acme"}}, id="token-array"),
    pytest.param({"type": "hello", "uuid": U, "data": {"token": {"jwt": TOKEN}, "tenant": "acme"}},
                 id="token-object"),
    pytest.param({"type": "hello", "uuid": U, "data": {"token": TOKEN, "session_key": SESSION_KEY}},
                 id="no-tenant"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"session_key": SESSION_KEY, "resumed": "no"}},
                 id="reply-resumed-string"),
    pytest.param({"type": "hello_reply", "uuid": U, "data": {"session_key": [SESSION_KEY]}},
                 id="reply-session_key-array"),
    pytest.param({"type": "Hello", "uuid": U, "data": {"token": TOKEN, "session_key": SESSION_KEY}},
                 id="strict-unknown-type"),
    pytest.param({"type": 5, "uuid": U, "data": {"token": TOKEN, "session_key": SESSION_KEY}}, id="type-int"),
    pytest.param(action("NoSuchEvent", token=TOKEN, session_key=SESSION_KEY), id="unsupported-action"),
    pytest.param(action("BlindTransferEvent", token=TOKEN, session_key=SESSION_KEY, irInstance="i"),
                 id="reserved-field"),
]


@pytest.mark.parametrize("value", BROKEN_HELLOS)
def test_secrets_never_in_decoding_errors(value: dict[str, Any]) -> None:
    assert TOKEN in json.dumps(value) or SESSION_KEY in json.dumps(value)
    with pytest.raises(ProtocolError) as info:
        codec.decode_value(copy.deepcopy(value), strict=True)
    error = info.value
    no_canary(str(error), repr(error), error.detail, error.hint, error.message, repr(error.message))
    assert isinstance(error.message, dict)
    data = error.message.get("data", {})
    for key in ("token", "session_key"):
        if key in data:
            assert data[key] == "***"
    with pytest.raises(ProtocolError) as info:
        codec.decode(json.dumps(value), strict=True)
    no_canary(str(info.value), repr(info.value), info.value.message)


def test_reserved_field_holding_a_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(action("BlindTransferEvent", irInstance=SESSION_KEY, token=TOKEN)))
    # irInstance is not a secret key, but the token beside it is.
    assert info.value.message["data"]["action_details"]["token"] == "***"
    no_canary(str(info.value), repr(info.value))


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(hello(session_key=SESSION_KEY))[:-3],
        json.dumps(hello(session_key=SESSION_KEY)).replace(", ", " ", 1),
        json.dumps(hello(session_key=SESSION_KEY)).replace('"tenant"', "tenant"),
        json.dumps(hello(session_key=SESSION_KEY)) + "}",
    ],
    ids=["cut", "missing-comma", "unquoted-key", "trailing-brace"],
)
def test_secrets_never_in_errors_about_broken_text(text: str) -> None:
    assert TOKEN in text
    with pytest.raises(DecodeError) as info:
        codec.decode(text)
    no_canary(str(info.value), repr(info.value), info.value.message)
    with pytest.raises(DecodeError) as info:
        codec.decode(text.encode("utf-8"))
    no_canary(str(info.value), repr(info.value), info.value.message)


def test_secrets_never_in_warnings_or_schema_findings() -> None:
    for value in (
        {"type": "Hello", "uuid": U, "data": {"token": TOKEN, "tenant": "acme", "session_key": SESSION_KEY}},
        note("acme_login", {"token": TOKEN, "nested": {"session_key": SESSION_KEY}}),
        {**note("acme_login", {}), "token": TOKEN},
    ):
        decoded = codec.decode_value(value)
        assert [w.code for w in decoded.warnings] == ["unknown-notification"]
        for warning in decoded.warnings:
            no_canary(warning.detail, repr(warning))
        no_canary(repr(decoded), repr(decoded.message), str(decoded.message))
    broken = hello(session_key={"nested": SESSION_KEY}, token={"jwt": TOKEN})
    findings = list(iter_schema_findings(broken, Hello))
    assert [f.pointer for f in findings] == ["/data/session_key", "/data/token"]
    no_canary(repr(findings), [f.detail for f in findings])


def test_secrets_never_in_local_encode_errors() -> None:
    bad = Hello(uuid="not-a-uuid", token=TOKEN, tenant="acme", session_key=SESSION_KEY)
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode(bad)
    assert info.value.pointer == "/uuid"
    no_canary(str(info.value), repr(info.value), info.value.message, repr(bad))
    wrong_type = Hello(uuid=U, token=TOKEN, tenant="acme", long_lived="yes")  # type: ignore[arg-type]
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode_value(wrong_type)
    assert info.value.pointer == "/data/long_lived"
    no_canary(str(info.value), repr(info.value))


# -- 5. the registry -------------------------------------------------------------------------------


def test_copy_is_independent() -> None:
    registry = REGISTRY.copy()
    assert registry.notification_types() == REGISTRY.notification_types()
    assert registry.actions() == REGISTRY.actions()
    registry.add_action("AcmePingEvent")

    @registry.notification("acme_ping")
    class Ping(Notification):
        """acme_ping."""

    assert registry.has_action("AcmePingEvent")
    assert not REGISTRY.has_action("AcmePingEvent")
    assert registry.notification_class("acme_ping") is Ping
    assert REGISTRY.notification_class("acme_ping") is None
    assert "acme_ping" not in REGISTRY.notification_types()
    assert len(REGISTRY.actions()) == 36
    assert len(REGISTRY.notification_types()) == 14
    # And the other way round: the original changes nothing in an earlier copy.
    assert not EXT.has_action("AcmePingEvent")
    assert EXT.notification_class("acme_ping") is None


def test_registered_notification_decodes_only_through_its_registry() -> None:
    decoded = codec.decode_text(json.dumps(WHISPER), registry=EXT)
    assert type(decoded.message) is Whisper
    assert decoded.message == Whisper(uuid=U, target="agent-7", loud=False)
    assert decoded.warnings == ()
    assert Whisper.TYPE == "acme_whisper"
    assert codec.encode_value(decoded.message) == WHISPER
    assert codec.message_class_for(WHISPER, EXT) is Whisper

    default = codec.decode_text(json.dumps(WHISPER))
    assert type(default.message) is UnknownNotification
    assert [w.code for w in default.warnings] == ["unknown-notification"]
    assert codec.message_class_for(WHISPER) is UnknownNotification
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(WHISPER), strict=True)
    assert info.value.code == "unknown-notification"

    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(note("acme_whisper", {"loud": True})), registry=EXT)
    assert info.value.pointer == "/data/target"
    assert pointers_of(note("acme_whisper", {"loud": True}), Whisper) == ["/data/target"]


@pytest.mark.parametrize("message_type", ["hello", "hello_reply", "action", "ack"])
def test_envelope_types_are_not_notification_types(message_type: str) -> None:
    registry = REGISTRY.copy()
    with pytest.raises(ValueError, match=message_type):
        registry.notification(message_type)
    with pytest.raises(ValueError, match=message_type):
        registry.notification(message_type, replace=True)
    assert message_type not in registry.notification_types()
    assert codec.message_class_for({"type": message_type}, registry) is not UnknownNotification


def test_registering_a_type_twice_needs_replace() -> None:
    registry = REGISTRY.copy()

    @registry.notification("acme_one")
    class First(Notification):
        """acme_one."""

        a: str = wire("data", "a")

    class Second(Notification):
        """acme_one, again."""

        b: int = wire("data", "b")

    with pytest.raises(ValueError, match="already registered"):
        registry.notification("acme_one")(Second)
    assert registry.notification_class("acme_one") is First
    # The same class again is fine.
    assert registry.notification("acme_one")(First) is First

    replaced = registry.notification("acme_one", replace=True)(Second)
    assert registry.notification_class("acme_one") is replaced
    message = codec.decode(json.dumps(note("acme_one", {"b": 2})), registry=registry)
    assert type(message) is replaced

    # A built-in type too: only with replace=True, and only in that registry.
    class MyPresence(Notification):
        """presence, read our way."""

        state: str = wire("data", "state")

    with pytest.raises(ValueError, match="already registered"):
        registry.notification("presence")(MyPresence)
    mine = registry.notification("presence", replace=True)(MyPresence)
    assert type(codec.decode(json.dumps(note("presence", {"state": "busy"})), registry=registry)) is mine
    assert type(codec.decode(json.dumps(note("presence", {"state": "busy"})))) is Presence


def test_add_action_makes_an_action_decodable_only_with_that_registry() -> None:
    value = action("AcmeWhisperEvent", target="agent-7")
    message = codec.decode(json.dumps(value), registry=EXT, strict=True)
    assert message == Action(uuid=U, action="AcmeWhisperEvent", action_details={"target": "agent-7"})
    with pytest.raises(UnknownMessageError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.code == "unsupported-action"
    registry = Registry()
    with pytest.raises(UnknownMessageError.Remote):
        codec.decode(json.dumps(action("BlindTransferEvent")), registry=registry)
    registry.add_action("BlindTransferEvent")
    assert codec.decode(json.dumps(action("BlindTransferEvent")), registry=registry)
    assert registry.actions() == ("BlindTransferEvent",)


@pytest.mark.parametrize("name", ["", " AcmeEvent", "AcmeEvent\n"])
def test_padded_or_empty_names_are_refused(name: str) -> None:
    registry = REGISTRY.copy()
    with pytest.raises(ValueError, match="whitespace"):
        registry.add_action(name)

    class Padded(Notification):
        """Never registered."""

    with pytest.raises(ValueError, match="whitespace"):
        registry.notification(name)(Padded)


def test_undeclared_notification_class_cannot_be_encoded() -> None:
    class Loose(Notification):
        """Never registered."""

    with pytest.raises(UnknownMessageError.Local):
        codec.encode_value(Loose(uuid=U))


# -- 6. helpers ------------------------------------------------------------------------------------


def test_hello_new_and_action_new_have_fresh_canonical_uuids() -> None:
    hellos = [Hello.new(token=TOKEN, tenant="acme") for _ in range(3)]
    actions = [Action.new("BlindTransferEvent", {"interactionId": "i-1"}) for _ in range(3)]
    uuids = [m.uuid for m in (*hellos, *actions)]
    assert len(set(uuids)) == len(uuids)
    for value in uuids:
        assert CANONICAL_UUID.match(value)
        assert str(uuid_module.UUID(value)) == value
    assert hellos[0].token == TOKEN
    assert hellos[0].tenant == "acme"
    assert actions[0].action == "BlindTransferEvent"
    assert actions[0].action_details == {"interactionId": "i-1"}
    assert Action.new("BlindTransferEvent").action_details == {}
    long_lived = Hello.new(token=TOKEN, tenant="acme", long_lived=True, auto_accept=True)
    assert (long_lived.long_lived, long_lived.auto_accept) == (True, True)
    for message in (*hellos, *actions, long_lived):
        assert codec.decode(codec.encode(message)) == message


def test_action_new_copies_its_details() -> None:
    details: dict[str, Any] = {"interactionId": "i-1"}
    message = Action.new("BlindTransferEvent", details)
    details["interactionId"] = "changed"
    assert message.action_details == {"interactionId": "i-1"}


@pytest.mark.parametrize(
    "message",
    [
        Hello(uuid=U, token=TOKEN, tenant="acme"),
        Action(uuid=U2, action="BlindTransferEvent", action_details={}),
        Presence(uuid=U, data={}),
        PhoneValidation(uuid=U2, state=PhoneValidationState.ANSWERED),
        UnknownNotification(uuid=U, type="acme", data={}),
    ],
    ids=["hello", "action", "presence", "phone_validation", "unknown"],
)
def test_ack_of_acknowledges_the_uuid(message: CcebMessage) -> None:
    ack = Ack.of(message)
    assert ack == Ack(uuid=message.uuid)
    assert codec.encode_value(ack) == {"type": "ack", "uuid": message.uuid}
    assert ack.message_type == "ack"


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({}, False),
        ({"long_lived": False}, False),
        ({"long_lived": True}, True),
        ({"session_key": SESSION_KEY}, True),
        ({"long_lived": False, "session_key": SESSION_KEY}, True),
        ({"long_lived": True, "session_key": SESSION_KEY}, True),
        ({"auto_accept": True}, False),
    ],
    ids=["nothing", "false", "true", "key", "false-with-key", "true-with-key", "auto-accept-only"],
)
def test_asks_long_lived(members: dict[str, Any], expected: bool) -> None:
    assert Hello.new(token=TOKEN, tenant="acme", **members).asks_long_lived is expected
    decoded = codec.decode(json.dumps(hello(**members)))
    assert isinstance(decoded, Hello)
    assert decoded.asks_long_lived is expected


def test_models_are_frozen_and_compared_by_value() -> None:
    message = Hello(uuid=U, token=TOKEN, tenant="acme")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.tenant = "other"  # type: ignore[misc]
    assert message == Hello(uuid=U, token=TOKEN, tenant="acme")
    assert message != attrs.evolve(message, token="other")
    assert message != attrs.evolve(message, extra={"/data/x": 1})
