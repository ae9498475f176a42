"""Interaction Processor messages: the seed's examples, its quirks, the registry, secrets and properties."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from ccproto.core.convert import decode_model, encode_model
from ccproto.core.errors import (
    DecodeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnknownMessageError,
)
from ccproto.core.jsonio import json_equal, loads
from ccproto.core.model import Model, model, wire
from ccproto.core.schema import iter_schema_findings, schema_for, validator_for
from ccproto.processor import codec, quirks
from ccproto.processor.models import (
    ALL_MESSAGE_CLASSES,
    REGISTRY,
    SCHEMA_CLASSES,
    UCCX_REPORT_RESOURCE_TYPE,
    AgentCredentials,
    CallJourneyRequest,
    CallJourneyStep,
    CallJourneySuccess,
    ConfirmResponse,
    Event,
    Failure,
    FailureResponse,
    GetCapabilitiesRequest,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MembersAddedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
    MemberType,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    Registry,
    RemovedMember,
    Request,
    Response,
    ServiceInformation,
    SessionParameters,
    SessionResource,
    SuccessResponse,
    Team,
    TeamAddedEvent,
    TeamChangedEvent,
    TeamMember,
    TeamMemberChanges,
    TeamRemovedEvent,
    TeamStatusBeginRequest,
    TeamStatusBeginSuccess,
    TeamStatusEndRequest,
    TeamStatusEndSuccess,
    TeamStatusEvent,
    TeamWithMembers,
    TeamWithRemovedMembers,
    Unknown,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
    failure_response,
)
from ccproto.processor.quirks import COMMAND_PADDING
from ccproto.testing.slices.processor.strategies import (
    processor_failures,
    processor_messages,
    processor_unknown_messages,
)
from ccproto.testing.strategies import Numbers, json_values, mutated_json

#: A password that must never show up in a repr, an error or a warning.
CANARY = "canary-pw-5b1e7c93"
AGENT = "1001"
BUILTIN_COMMANDS = (
    "prepareSession",
    "getCapabilities",
    "report.calljourney",
    "report.teamstatus.begin",
    "report.teamstatus.end",
)
BUILTIN_EVENTS = (
    "report.teamstatus.teamchanged",
    "report.teamstatus.teamremoved",
    "report.teamstatus.teamadded",
    "report.teamstatus.memberadded",
    "report.teamstatus.memberstatuschanged",
    "report.teamstatus.memberremoved",
)


# -- an extension registry (never REGISTRY itself) ---------------------------------------------

EXT = REGISTRY.copy()
ACME_RESOURCE = "com.acme.processor.callcontrol"


@EXT.request("acme.hold", resource_type=ACME_RESOURCE)
class HoldRequest(Request):
    """acme.hold: put a call on hold."""

    call_id: str = wire("data", "callId")


@EXT.success("acme.hold")
class HoldSuccess(SuccessResponse):
    """acme.hold success."""

    held: bool = wire("data", "held")


@EXT.confirm("acme.hold")
class HoldConfirm(ConfirmResponse):
    """acme.hold confirm: ask the user first."""

    original: HoldRequest = wire("original")


@EXT.event("acme.held")
class HeldEvent(Event):
    """A call was held."""

    call_id: str = wire("data", "callId")
    since: int | None = wire("data", "since", default=None)


EXT_EXAMPLES: list[Any] = [
    pytest.param({"command": "acme.hold", "data": {"callId": "c1"}}, HoldRequest, UnknownRequest, id="request"),
    pytest.param(
        {"command": "acme.hold", "result": "success", "data": {"held": True}}, HoldSuccess, UnknownSuccess, id="success"
    ),
    pytest.param(
        {"command": "acme.hold", "result": "confirm", "message": "Hold?",
         "original": {"command": "acme.hold", "data": {"callId": "c1"}}},
        HoldConfirm, UnknownConfirm, id="confirm",
    ),
    pytest.param({"name": "acme.held", "data": {"callId": "c1", "since": 3}}, HeldEvent, UnknownEvent, id="event"),
]


# -- the seed's examples, one message at a time -------------------------------------------------

SESSION_DATA: dict[str, Any] = {"model": "uccx", "override": False, "agent": {"id": AGENT, "password": CANARY}}
PREPARE: dict[str, Any] = {"command": "prepareSession", "data": SESSION_DATA}
PARAMETERS = SessionParameters(model="uccx", override=False, agent=AgentCredentials(id=AGENT, password=CANARY))
PREPARE_MODEL = PrepareSessionRequest(data=PARAMETERS)
GET_CAPABILITIES = {"command": "getCapabilities", "data": {}}
CALL_JOURNEY = {"command": "report.calljourney", "data": {"CallId": "16777345"}}
TEAM_BEGIN = {"command": "report.teamstatus.begin", "data": {"agentId": AGENT}}
TEAM_END = {"command": "report.teamstatus.end", "data": {"agentId": AGENT}}
CAPABILITIES = {"callControl": True, "multimedia": False, "maxSessions": 50, "models": ["uccx"], "notes": None}
STEPS = [
    {"CallId": "16777345", "Device": "7001", "DeviceType": "Trigger", "Description": "Sales line",
     "Duration": "00:00:04"},
    {"CallId": "16777345", "Device": "ccx-csq-12", "DeviceType": "CSQ", "Description": "Queued",
     "Duration": "00:01:27"},
    {"CallId": "16777346", "Device": "1001", "DeviceType": "Agent", "Description": "Answered by John Doe",
     "Duration": "00:05:02"},
]
TEAM = {"teamId": "42", "teamName": "Sales East"}
MEMBERS = [
    {"memberId": "1001", "memberType": "Agent", "memberName": "John Doe", "status": "ready", "reason": ""},
    {"memberId": "2001", "memberType": "Supervisor", "memberName": "Jane Roe", "status": "not_ready",
     "reason": "32759"},
    {"memberId": "3001", "memberType": "TeamLead", "memberName": "Max Moe", "status": "ACW", "reason": "22"},
]
MEMBER_MODELS = (
    TeamMember(member_id="1001", member_type=MemberType.AGENT, member_name="John Doe", status=MemberStatus.READY,
               reason=""),
    TeamMember(member_id="2001", member_type=MemberType.SUPERVISOR, member_name="Jane Roe",
               status=MemberStatus.NOT_READY, reason="32759"),
    TeamMember(member_id="3001", member_type=MemberType.TEAM_LEAD, member_name="Max Moe", status=MemberStatus.ACW,
               reason="22"),
)


TRACE = "com.openmethods.AuthException: invalid credentials\n\tat Login.check(Login.java:42)"


def failure_of(command: str, original: dict[str, Any], **failure: Any) -> dict[str, Any]:
    body = {"code": "E_REPORT", "message": "report server unavailable", **failure}
    return {"command": command, "result": "failure", "failure": body, "original": original}


def event(name: str, team: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "data": {"agentId": AGENT, "team": team}}


SEED_EXAMPLES: list[Any] = [
    pytest.param(PREPARE, PrepareSessionRequest, {"data": PARAMETERS, "command_name": "prepareSession"},
                 id="prepareSession-request"),
    pytest.param(
        {"command": "prepareSession", "result": "confirm", "message": "Agent 1001 already has a session. Replace it?",
         "original": PREPARE},
        PrepareSessionConfirm,
        {"message": "Agent 1001 already has a session. Replace it?", "original": PREPARE_MODEL},
        id="prepareSession-confirm",
    ),
    pytest.param(
        {"command": "prepareSession", "result": "success", "resource": {"id": "session-4711", "data": SESSION_DATA}},
        PrepareSessionSuccess,
        {"resource": SessionResource(id="session-4711", data=PARAMETERS)},
        id="prepareSession-success",
    ),
    pytest.param(
        failure_of("prepareSession", PREPARE, code="E_AUTH", message="invalid credentials",
                   context=TRACE),
        FailureResponse,
        {"command": "prepareSession", "original": PREPARE,
         "failure": Failure(code="E_AUTH", message="invalid credentials",
                            context=TRACE)},
        id="prepareSession-failure",
    ),
    pytest.param(GET_CAPABILITIES, GetCapabilitiesRequest, {"command_name": "getCapabilities"},
                 id="getCapabilities-request"),
    pytest.param(
        {"command": " getCapabilities ", "result": "success", "data": CAPABILITIES},
        GetCapabilitiesSuccess,
        {"capabilities": CAPABILITIES, "command_name": "getCapabilities"},
        id="getCapabilities-success-padded",
    ),
    pytest.param(
        failure_of(" getCapabilities ", GET_CAPABILITIES, code="E_INTERNAL", message="not ready"),
        FailureResponse,
        {"command": "getCapabilities", "original": GET_CAPABILITIES,
         "failure": Failure(code="E_INTERNAL", message="not ready")},
        id="getCapabilities-failure-padded",
    ),
    pytest.param(CALL_JOURNEY, CallJourneyRequest, {"call_id": "16777345"}, id="calljourney-request"),
    pytest.param(
        {"command": "report.calljourney", "result": "success", "data": {"CallJourney": STEPS}},
        CallJourneySuccess,
        {"call_journey": (
            CallJourneyStep(call_id="16777345", device="7001", device_type="Trigger", description="Sales line",
                            duration="00:00:04"),
            CallJourneyStep(call_id="16777345", device="ccx-csq-12", device_type="CSQ", description="Queued",
                            duration="00:01:27"),
            CallJourneyStep(call_id="16777346", device="1001", device_type="Agent",
                            description="Answered by John Doe", duration="00:05:02"),
        )},
        id="calljourney-success",
    ),
    pytest.param(
        failure_of("report.calljourney", CALL_JOURNEY, context="java.sql.SQLException: timeout"),
        FailureResponse,
        {"command": "report.calljourney", "original": CALL_JOURNEY,
         "failure": Failure(code="E_REPORT", message="report server unavailable",
                            context="java.sql.SQLException: timeout")},
        id="calljourney-failure",
    ),
    pytest.param(TEAM_BEGIN, TeamStatusBeginRequest, {"agent_id": AGENT}, id="teamstatus-begin-request"),
    pytest.param({"command": "report.teamstatus.begin", "result": "success", "data": {}}, TeamStatusBeginSuccess,
                 {"command_name": "report.teamstatus.begin"}, id="teamstatus-begin-success"),
    pytest.param(failure_of("report.teamstatus.begin", TEAM_BEGIN), FailureResponse,
                 {"command": "report.teamstatus.begin", "original": TEAM_BEGIN,
                  "failure": Failure(code="E_REPORT", message="report server unavailable")},
                 id="teamstatus-begin-failure"),
    pytest.param(TEAM_END, TeamStatusEndRequest, {"agent_id": AGENT}, id="teamstatus-end-request"),
    pytest.param({"command": "report.teamstatus.end", "result": "success", "data": {}}, TeamStatusEndSuccess,
                 {"command_name": "report.teamstatus.end"}, id="teamstatus-end-success"),
    pytest.param(failure_of("report.teamstatus.end", TEAM_END, context=""), FailureResponse,
                 {"command": "report.teamstatus.end", "original": TEAM_END,
                  "failure": Failure(code="E_REPORT", message="report server unavailable", context="")},
                 id="teamstatus-end-failure"),
    pytest.param(event("report.teamstatus.teamchanged", TEAM), TeamChangedEvent,
                 {"agent_id": AGENT, "team": Team(team_id="42", team_name="Sales East"),
                  "event_name": "report.teamstatus.teamchanged"}, id="teamchanged"),
    pytest.param(event("report.teamstatus.teamremoved", TEAM), TeamRemovedEvent,
                 {"agent_id": AGENT, "team": Team(team_id="42", team_name="Sales East")}, id="teamremoved"),
    pytest.param(event("report.teamstatus.teamadded", {**TEAM, "members": MEMBERS}), TeamAddedEvent,
                 {"agent_id": AGENT, "team": TeamWithMembers(team_id="42", team_name="Sales East",
                                                             members=MEMBER_MODELS)}, id="teamadded"),
    pytest.param(event("report.teamstatus.memberadded", {**TEAM, "members": MEMBERS[:1]}), MembersAddedEvent,
                 {"agent_id": AGENT, "team": TeamMemberChanges(team_id="42", team_name="Sales East",
                                                               members=MEMBER_MODELS[:1])}, id="memberadded"),
    pytest.param(event("report.teamstatus.memberstatuschanged", {**TEAM, "members": MEMBERS[1:]}),
                 MemberStatusChangedEvent,
                 {"agent_id": AGENT, "team": TeamMemberChanges(team_id="42", team_name="Sales East",
                                                               members=MEMBER_MODELS[1:])}, id="memberstatuschanged"),
    pytest.param(event("report.teamstatus.memberremoved", {**TEAM, "members": [{"memberId": "2001"},
                                                                              {"memberId": "3001"}]}),
                 MemberRemovedEvent,
                 {"agent_id": AGENT, "team": TeamWithRemovedMembers(
                     team_id="42", team_name="Sales East",
                     members=(RemovedMember(member_id="2001"), RemovedMember(member_id="3001")))},
                 id="memberremoved"),
]


def trimmed(value: dict[str, Any]) -> dict[str, Any]:
    """The value with its command as ccproto writes it (the seed's padding dropped)."""
    if isinstance(value.get("command"), str):
        return {**value, "command": value["command"].strip(COMMAND_PADDING)}  # str.strip() keeps U+FEFF
    return value


def seed_text(value: dict[str, Any]) -> str:
    """The value laid out as the seed lays it out (indented, ``"key" : value``)."""
    return json.dumps(value, indent=2, separators=(",", " : "))


@pytest.mark.parametrize(("value", "cls", "fields"), SEED_EXAMPLES)
def test_seed_example_decodes_to_its_class_and_back(value: dict[str, Any], cls: type, fields: dict[str, Any]) -> None:
    decoded = codec.decode_text(seed_text(value))
    message = decoded.message
    assert type(message) is cls
    for name, expected in fields.items():
        assert getattr(message, name) == expected, name
    assert message.extra == {}
    assert decoded.value == value  # the JSON as received, padding and all
    padded = value.get("command", "") != value.get("command", "").strip()
    assert [w.code for w in decoded.warnings] == (["command-whitespace"] if padded else [])
    expected_json = trimmed(value)
    assert json_equal(json.loads(codec.encode(message)), expected_json)
    assert json_equal(codec.encode_value(message), expected_json)
    assert list(iter_schema_findings(expected_json, cls)) == []
    assert codec.decode(codec.encode(message)) == message


def test_every_registered_class_and_the_failure_have_a_seed_example() -> None:
    covered = {param.values[1] for param in SEED_EXAMPLES}
    assert covered == {*REGISTRY.message_classes(), FailureResponse}
    assert covered | {UnknownRequest, UnknownSuccess, UnknownConfirm, UnknownEvent} == set(ALL_MESSAGE_CLASSES)


def test_seed_call_journey_text_as_written_decodes() -> None:
    # The seed's own layout, with the "…" of more items dropped.
    text = """{
"command": "report.calljourney",
"result": "success",
"data" :
{
"CallJourney" :
[
{
"CallId" : "16777345",
"Device" : "7001",
"DeviceType" : "Trigger",
"Description" : "Sales line",
"Duration" : "00:00:04"
}
]
}
}"""
    message = codec.decode(text)
    assert isinstance(message, CallJourneySuccess)
    assert message.call_journey[0].duration == "00:00:04"
    assert json.loads(codec.encode(message)) == json.loads(text)


SERVICE_INFORMATION = {
    "vendor": "OpenMethods",
    "version": "4.2.1",
    "cti-vendor": "Cisco",
    "cti-version": "12.5(1)",
    "instance-domain": "east-1",
}


def test_service_information_is_read_with_colons() -> None:
    info = decode_model(SERVICE_INFORMATION, ServiceInformation)
    assert (info.vendor, info.version, info.cti_vendor, info.cti_version, info.instance_domain) == (
        "OpenMethods", "4.2.1", "Cisco", "12.5(1)", "east-1"
    )
    assert info.extra == {}
    assert encode_model(info) == SERVICE_INFORMATION
    assert list(iter_schema_findings(SERVICE_INFORMATION, ServiceInformation)) == []
    assert sorted(schema_for(ServiceInformation)["required"]) == sorted(SERVICE_INFORMATION)


def test_service_information_as_the_seed_spells_it_is_not_json() -> None:
    seed_spelling = '{"vendor", "OpenMethods", "version", "4.2.1", "cti-vendor": "Cisco", "cti-version": "12", ' \
        '"instance-domain": "east-1"}'
    with pytest.raises(DecodeError):
        loads(seed_spelling)


@pytest.mark.parametrize("member", sorted(SERVICE_INFORMATION))
def test_service_information_members_are_required_strings(member: str) -> None:
    missing = {k: v for k, v in SERVICE_INFORMATION.items() if k != member}
    with pytest.raises(SchemaViolationError) as info:
        decode_model(missing, ServiceInformation)
    assert info.value.pointer == "/" + member
    with pytest.raises(SchemaViolationError) as info:
        decode_model({**SERVICE_INFORMATION, member: 4}, ServiceInformation)
    assert info.value.pointer == "/" + member


def test_service_information_is_not_a_session_message() -> None:
    with pytest.raises(SchemaViolationError):
        codec.decode(json.dumps(SERVICE_INFORMATION))
    with pytest.raises(UnknownMessageError.Local):
        codec.encode(decode_model(SERVICE_INFORMATION, ServiceInformation))  # type: ignore[arg-type]


# -- quirks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "padded", [" getCapabilities ", "getCapabilities ", "\tgetCapabilities", "\ngetCapabilities\r"]
)
@pytest.mark.parametrize(
    ("shape", "cls"),
    [
        ({"result": "success", "data": {"a": 1}}, GetCapabilitiesSuccess),
        ({"result": "failure", "failure": {"code": "c", "message": "m"}, "original": GET_CAPABILITIES},
         FailureResponse),
        ({"data": {}}, GetCapabilitiesRequest),
    ],
    ids=["success", "failure", "request"],
)
def test_padded_command_is_read_trimmed_with_a_warning(padded: str, shape: dict[str, Any], cls: type) -> None:
    value = {"command": padded, **shape}
    decoded = codec.decode_text(json.dumps(value))
    assert type(decoded.message) is cls
    assert isinstance(decoded.message, (Request, Response))
    assert decoded.message.command_name == "getCapabilities"
    assert [(w.code, w.pointer) for w in decoded.warnings] == [(quirks.COMMAND_WHITESPACE, "/command")]
    assert "getCapabilities" in decoded.warnings[0].detail
    assert decoded.value["command"] == padded
    assert codec.encode_value(decoded.message)["command"] == "getCapabilities"
    assert value["command"] == padded  # the caller's value is not mutated
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_text(json.dumps(value), strict=True)
    assert info.value.code == "command-whitespace"
    assert info.value.pointer == "/command"


@pytest.mark.parametrize("command", [" acme.reboot ", "acme.reboot\t", " getcapabilities "])
def test_padded_unregistered_command_is_kept_as_written(command: str) -> None:
    value = {"command": command, "data": {"now": True}}
    decoded = codec.decode_value(value)
    assert type(decoded.message) is UnknownRequest
    assert decoded.message.command == command
    assert [w.code for w in decoded.warnings] == ["unknown-command"]
    assert codec.encode_value(decoded.message) == value


def test_wrong_case_command_is_unknown_with_a_hint() -> None:
    value = {"command": "getcapabilities", "data": {}}
    decoded = codec.decode_text(json.dumps(value))
    assert type(decoded.message) is UnknownRequest
    assert decoded.message.command == "getcapabilities"
    assert decoded.message.data == {}
    (warning,) = decoded.warnings
    assert (warning.code, warning.pointer) == ("unknown-command", "/command")
    assert "'getCapabilities'" in warning.detail
    assert codec.encode_value(decoded.message) == value
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value), strict=True)
    assert info.value.code == "unknown-command"


def test_unknown_command_without_a_near_miss_has_no_hint() -> None:
    (warning,) = codec.decode_value({"command": "acme.reboot", "data": {}}).warnings
    assert "did you mean" not in warning.detail


def test_unknown_event_is_kept_whole_with_a_warning() -> None:
    value = {"name": "report.teamstatus.TeamChanged", "data": {"agentId": AGENT}, "seq": 7}
    decoded = codec.decode_text(json.dumps(value))
    assert type(decoded.message) is UnknownEvent
    assert decoded.message.name == "report.teamstatus.TeamChanged"
    assert decoded.message.data == {"agentId": AGENT}
    assert decoded.message.extra == {"/seq": 7}
    (warning,) = decoded.warnings
    assert (warning.code, warning.pointer) == ("unknown-event", "/name")
    assert "'report.teamstatus.teamchanged'" in warning.detail
    assert codec.encode_value(decoded.message) == value
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value), strict=True)
    assert info.value.code == "unknown-event"


def test_unknown_commands_success_and_confirm() -> None:
    success = {"command": "acme.reboot", "result": "success", "data": {"eta": 30}}
    decoded = codec.decode_value(success)
    assert type(decoded.message) is UnknownSuccess
    assert decoded.message.command == "acme.reboot"
    assert decoded.message.extra == {"/data": {"eta": 30}}
    assert [w.code for w in decoded.warnings] == ["unknown-command"]
    assert codec.encode_value(decoded.message) == success

    confirm = {"command": "acme.reboot", "result": "confirm", "message": "Reboot?", "original": {"command": "x"}}
    decoded = codec.decode_value(confirm)
    assert type(decoded.message) is UnknownConfirm
    assert (decoded.message.command, decoded.message.message) == ("acme.reboot", "Reboot?")
    assert [w.code for w in decoded.warnings] == ["unknown-command"]
    assert codec.encode_value(decoded.message) == confirm


def test_unknown_confirm_needs_a_message() -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_value({"command": "acme.reboot", "result": "confirm", "original": {}})
    assert info.value.pointer == "/message"


def test_failure_of_an_unknown_command_is_a_failure_response_without_warning() -> None:
    value = failure_of("acme.reboot", {"command": "acme.reboot", "data": {}})
    decoded = codec.decode_value(value)
    assert type(decoded.message) is FailureResponse
    assert decoded.warnings == ()
    assert codec.encode_value(decoded.message) == value


def test_get_capabilities_is_never_confirmed() -> None:
    value = {"command": "getCapabilities", "result": "confirm", "message": "Sure?", "original": GET_CAPABILITIES}
    with pytest.raises(UnknownMessageError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/result"
    assert info.value.hint is not None


def test_success_of_a_command_with_no_registered_success_is_kept_with_a_warning() -> None:
    registry = Registry()

    @registry.request("acme.ping")
    class PingRequest(Request):
        """acme.ping."""

    assert codec.decode_value({"command": "acme.ping", "data": {}}, registry=registry).message == PingRequest()
    decoded = codec.decode_value({"command": "acme.ping", "result": "success", "data": {}}, registry=registry)
    assert type(decoded.message) is UnknownSuccess
    assert [(w.code, w.pointer) for w in decoded.warnings] == [("unregistered-response", "/result")]
    with pytest.raises(UnknownMessageError.Remote):
        codec.decode_value({"command": "acme.ping", "result": "confirm", "message": "m", "original": {}},
                           registry=registry)


@pytest.mark.parametrize("result", ["SUCCESS", "Success", "ok", "", 1, None, True, ["success"], {"v": "success"}])
def test_bad_result_is_a_schema_violation(result: Any) -> None:
    value = {"command": "getCapabilities", "result": result, "data": {}}
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/result"


@pytest.mark.parametrize("command", [5, None, True, ["getCapabilities"], {"name": "getCapabilities"}, 1.5])
@pytest.mark.parametrize("shape", [{"data": {}}, {"result": "success", "data": {}}, {"result": "failure"}],
                         ids=["request", "success", "failure"])
def test_non_string_command_is_a_schema_violation(command: Any, shape: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps({"command": command, **shape}))
    assert info.value.pointer == "/command"


@pytest.mark.parametrize("name", [5, None, False, ["report.teamstatus.teamchanged"], {}])
def test_non_string_event_name_is_a_schema_violation(name: Any) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps({"name": name, "data": {}}))
    assert info.value.pointer == "/name"


@pytest.mark.parametrize("value", [{}, {"data": {}}, {"result": "success", "data": {}}, {"Command": "getCapabilities"}])
def test_neither_command_nor_name_is_an_error(value: dict[str, Any]) -> None:
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == "/command"
    assert "name" in info.value.detail


SEED_FAILURE_WITHOUT_COMMA = """{
"command": "report.calljourney",
"result": "failure",
"failure":
{
"code": "E_REPORT",
"message": "report server unavailable",
"context": "trace"
}
"original":
{"command": "report.calljourney", "data": {"CallId": "16777345"}}
}"""


def test_seed_failure_without_the_comma_is_not_json() -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(SEED_FAILURE_WITHOUT_COMMA)
    assert "delimiter" in info.value.detail
    # With the comma (the reading of P2) it is an ordinary failure.
    fixed = SEED_FAILURE_WITHOUT_COMMA.replace('}\n"original"', '},\n"original"')
    message = codec.decode(fixed)
    assert isinstance(message, FailureResponse)
    assert message.original == CALL_JOURNEY


@pytest.mark.parametrize("text", [b"\xff\xfe", "[]", "5", '"x"', "null", "{", "", "NaN", '{"command": NaN}', "1e999"])
def test_not_a_message_is_a_decode_error(text: str | bytes) -> None:
    with pytest.raises(DecodeError):
        codec.decode(text)


@pytest.mark.parametrize("value", [[], "x", 5, None, [{"command": "getCapabilities", "data": {}}]])
def test_decode_value_of_a_non_object_is_a_decode_error(value: Any) -> None:
    with pytest.raises(DecodeError):
        codec.decode_value(value)


def test_members_on_teamchanged_are_kept_as_unknown_members() -> None:
    value = event("report.teamstatus.teamchanged", {**TEAM, "members": MEMBERS[:1]})
    message = codec.decode(json.dumps(value))
    assert isinstance(message, TeamChangedEvent)
    assert message.team.extra == {"/members": MEMBERS[:1]}
    assert codec.encode_value(message) == value


def test_unknown_members_are_kept_at_every_level() -> None:
    value = copy.deepcopy(PREPARE)
    value["trace"] = "t-1"
    value["data"]["locale"] = "en"
    value["data"]["agent"]["extension"] = "7001"
    message = codec.decode(json.dumps(value))
    assert isinstance(message, PrepareSessionRequest)
    assert message.extra == {"/trace": "t-1"}
    assert message.data.extra == {"/locale": "en"}
    assert message.data.agent.extra == {"/extension": "7001"}
    assert codec.encode_value(message) == value


# -- strictness: no coercion, exact pointers -------------------------------------------------------


def _set(path: tuple[Any, ...], new: Any) -> Any:
    def mutate(value: Any) -> None:
        node = value
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = new

    return mutate


def _drop(path: tuple[Any, ...]) -> Any:
    def mutate(value: Any) -> None:
        node = value
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


MEMBERADDED = event("report.teamstatus.memberadded", {**TEAM, "members": MEMBERS})
MEMBERSTATUS = event("report.teamstatus.memberstatuschanged", {**TEAM, "members": MEMBERS})
MEMBERREMOVED = event("report.teamstatus.memberremoved", {**TEAM, "members": [{"memberId": "2001"}]})
TEAMADDED = event("report.teamstatus.teamadded", {**TEAM, "members": MEMBERS})
JOURNEY = {"command": "report.calljourney", "result": "success", "data": {"CallJourney": STEPS}}
PREPARE_FAILURE = failure_of("prepareSession", PREPARE, context="trace")

STRICTNESS: list[Any] = [
    pytest.param(PREPARE, _set(("data", "override"), "false"), "/data/override", id="override-string"),
    pytest.param(PREPARE, _set(("data", "override"), 0), "/data/override", id="override-zero"),
    pytest.param(PREPARE, _set(("data", "override"), None), "/data/override", id="override-null"),
    pytest.param(PREPARE, _drop(("data", "override")), "/data/override", id="override-missing"),
    pytest.param(PREPARE, _set(("data", "agent", "id"), 1001), "/data/agent/id", id="agent-id-int"),
    pytest.param(PREPARE, _set(("data", "agent", "password"), 1234), "/data/agent/password", id="password-int"),
    pytest.param(PREPARE, _set(("data", "agent"), "1001"), "/data/agent", id="agent-string"),
    pytest.param(PREPARE, _set(("data",), []), "/data", id="prepare-data-array"),
    pytest.param(PREPARE, _drop(("data",)), "/data", id="prepare-data-missing"),
    pytest.param(TEAM_BEGIN, _set(("data", "agentId"), 1001), "/data/agentId", id="begin-agentId-int"),
    pytest.param(TEAM_END, _set(("data", "agentId"), 1001.0), "/data/agentId", id="end-agentId-float"),
    pytest.param(TEAM_BEGIN, _set(("data",), "1001"), "/data", id="begin-data-string"),
    pytest.param(CALL_JOURNEY, _set(("data", "CallId"), 16777345), "/data/CallId", id="callid-int"),
    pytest.param(CALL_JOURNEY, _set(("data",), None), "/data", id="calljourney-data-null"),
    pytest.param(CALL_JOURNEY, _set(("data",), ["16777345"]), "/data", id="calljourney-data-array"),
    pytest.param(CALL_JOURNEY, _drop(("data", "CallId")), "/data/CallId", id="callid-missing"),
    pytest.param(GET_CAPABILITIES, _set(("data",), []), "/data", id="getcap-data-array"),
    pytest.param(GET_CAPABILITIES, _drop(("data",)), "/data", id="getcap-data-missing"),
    pytest.param({"command": "getCapabilities", "result": "success", "data": {}}, _set(("data",), "x"), "/data",
                 id="getcap-success-data-string"),
    pytest.param({"command": "report.teamstatus.begin", "result": "success", "data": {}}, _drop(("data",)), "/data",
                 id="begin-success-data-missing"),
    pytest.param({"command": "acme.reboot", "data": {}}, _set(("data",), 5), "/data", id="unknown-data-int"),
    pytest.param({"name": "acme.rebooted", "data": {}}, _set(("data",), [1]), "/data", id="unknown-event-data"),
    pytest.param(MEMBERADDED, _set(("data", "team", "members", 0, "memberType"), "agent"),
                 "/data/team/members/0/memberType", id="memberType-lowercase"),
    pytest.param(MEMBERADDED, _set(("data", "team", "members", 2, "memberType"), "Team Lead"),
                 "/data/team/members/2/memberType", id="memberType-spaced"),
    pytest.param(MEMBERSTATUS, _set(("data", "team", "members", 0, "status"), "Ready"),
                 "/data/team/members/0/status", id="status-capitalised"),
    pytest.param(MEMBERSTATUS, _set(("data", "team", "members", 1, "status"), "acw"),
                 "/data/team/members/1/status", id="status-acw-lowercase"),
    pytest.param(TEAMADDED, _set(("data", "team", "members", 1, "reason"), 32759),
                 "/data/team/members/1/reason", id="reason-int"),
    pytest.param(TEAMADDED, _drop(("data", "team", "members", 0, "reason")),
                 "/data/team/members/0/reason", id="reason-missing"),
    pytest.param(MEMBERADDED, _set(("data", "team", "members"), []), "/data/team/members", id="memberadded-empty"),
    pytest.param(MEMBERSTATUS, _set(("data", "team", "members"), []), "/data/team/members",
                 id="memberstatuschanged-empty"),
    pytest.param(MEMBERREMOVED, _set(("data", "team", "members"), []), "/data/team/members", id="memberremoved-empty"),
    pytest.param(MEMBERREMOVED, _set(("data", "team", "members", 0), {"memberName": "x"}),
                 "/data/team/members/0/memberId", id="memberremoved-no-id"),
    pytest.param(MEMBERREMOVED, _set(("data", "team", "members"), {"memberId": "2001"}), "/data/team/members",
                 id="members-object"),
    pytest.param(TEAMADDED, _drop(("data", "team", "members")), "/data/team/members", id="teamadded-no-members"),
    pytest.param(event("report.teamstatus.teamchanged", TEAM), _set(("data", "team", "teamId"), 42),
                 "/data/team/teamId", id="teamId-int"),
    pytest.param(event("report.teamstatus.teamchanged", TEAM), _drop(("data", "agentId")), "/data/agentId",
                 id="event-agentId-missing"),
    pytest.param(JOURNEY, _drop(("data", "CallJourney", 1, "Duration")), "/data/CallJourney/1/Duration",
                 id="journey-duration-missing"),
    pytest.param(JOURNEY, _drop(("data", "CallJourney", 0, "DeviceType")), "/data/CallJourney/0/DeviceType",
                 id="journey-devicetype-missing"),
    pytest.param(JOURNEY, _set(("data", "CallJourney", 0, "Duration"), 4), "/data/CallJourney/0/Duration",
                 id="journey-duration-int"),
    pytest.param(JOURNEY, _set(("data", "CallJourney"), STEPS[0]), "/data/CallJourney", id="journey-object"),
    pytest.param(PREPARE_FAILURE, _set(("failure", "context"), None), "/failure/context", id="context-null"),
    pytest.param(PREPARE_FAILURE, _set(("failure", "code"), 401), "/failure/code", id="code-int"),
    pytest.param(PREPARE_FAILURE, _drop(("failure", "message")), "/failure/message", id="failure-message-missing"),
    pytest.param(PREPARE_FAILURE, _drop(("original",)), "/original", id="original-missing"),
    pytest.param(PREPARE_FAILURE, _set(("original",), "prepareSession"), "/original", id="original-string"),
    pytest.param(
        {"command": "prepareSession", "result": "confirm", "message": "m", "original": PREPARE},
        _set(("original", "data", "override"), "true"), "/original/data/override", id="confirm-original-override",
    ),
    pytest.param(
        {"command": "prepareSession", "result": "confirm", "message": "m", "original": PREPARE},
        _set(("original", "command"), "getCapabilities"), "/original/command", id="confirm-original-command",
    ),
    pytest.param(
        {"command": "prepareSession", "result": "success", "resource": {"id": "s", "data": SESSION_DATA}},
        _set(("resource", "data", "override"), 1), "/resource/data/override", id="success-resource-override",
    ),
]


@pytest.mark.parametrize(("base", "mutate", "pointer"), STRICTNESS)
def test_invalid_value_is_rejected_at_the_right_pointer(base: dict[str, Any], mutate: Any, pointer: str) -> None:
    value = copy.deepcopy(base)
    mutate(value)
    cls = codec.message_class_for(value)
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode(json.dumps(value))
    assert info.value.pointer == pointer
    assert info.value.code == "schema-violation"
    # JSON Schema agrees that it is invalid, at the same place.
    assert pointer in {f.pointer for f in iter_schema_findings(value, cls)}


def test_teamadded_may_list_no_members() -> None:
    value = event("report.teamstatus.teamadded", {**TEAM, "members": []})
    message = codec.decode(json.dumps(value))
    assert isinstance(message, TeamAddedEvent)
    assert message.team.members == ()
    assert codec.encode_value(message) == value


def test_memberremoved_members_need_only_an_id() -> None:
    message = codec.decode(json.dumps(MEMBERREMOVED))
    assert isinstance(message, MemberRemovedEvent)
    assert message.team.members == (RemovedMember(member_id="2001"),)
    # A full member object is fine too: the other members are kept as unknown members.
    full = event("report.teamstatus.memberremoved", {**TEAM, "members": MEMBERS[:1]})
    message = codec.decode(json.dumps(full))
    assert isinstance(message, MemberRemovedEvent)
    assert message.team.members[0].member_id == "1001"
    assert set(message.team.members[0].extra) == {"/memberType", "/memberName", "/status", "/reason"}
    assert codec.encode_value(message) == full


def test_empty_call_journey_and_empty_reason_are_valid() -> None:
    message = codec.decode(json.dumps({"command": "report.calljourney", "result": "success",
                                       "data": {"CallJourney": []}}))
    assert isinstance(message, CallJourneySuccess)
    assert message.call_journey == ()


def test_failure_context_is_optional() -> None:
    value = failure_of("prepareSession", PREPARE)
    message = codec.decode(json.dumps(value))
    assert isinstance(message, FailureResponse)
    assert message.failure.context is None
    assert "context" not in codec.encode_value(message)["failure"]


def test_failure_original_may_be_any_object() -> None:
    # A request may fail because it broke its schema: its echo is not checked against it.
    original = {"command": "prepareSession", "data": {"override": "maybe"}}
    message = codec.decode(json.dumps(failure_of("prepareSession", original)))
    assert isinstance(message, FailureResponse)
    assert message.original == original


# -- secrets ---------------------------------------------------------------------------------------


def _no_canary(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text


def test_password_never_in_repr_or_str_of_models() -> None:
    confirm = PrepareSessionConfirm(message="Replace?", original=PREPARE_MODEL)
    success = PrepareSessionSuccess(resource=SessionResource(id="session-1", data=PARAMETERS))
    failure = failure_response(PREPARE_MODEL, "E_AUTH", "bad password")
    unknown = codec.decode_value({
        "command": "acme.login",
        "data": {"password": CANARY, "users": [{"id": "a", "password": CANARY}]},
        "password": CANARY,
        "x-more": {"password": CANARY},
    }).message
    unknown_event = codec.decode_value({"name": "acme.loggedin", "data": {"password": CANARY}}).message
    assert isinstance(unknown, UnknownRequest)
    for obj in (PREPARE_MODEL, PARAMETERS, PARAMETERS.agent, confirm, success, success.resource, failure, unknown,
                unknown_event, PREPARE_MODEL.with_override()):
        _no_canary(repr(obj), str(obj))
    # The values themselves are intact: only their display hides them.
    assert failure.original["data"]["agent"]["password"] == CANARY
    assert unknown.data["password"] == CANARY
    assert unknown.extra["/password"] == CANARY
    for message in (PREPARE_MODEL, confirm, success, failure, unknown):
        decoded = codec.decode_text(codec.encode(message))
        _no_canary(repr(decoded), repr(decoded.message), repr(decoded.warnings))
        assert CANARY in codec.encode(decoded.message)


def _prepare_with(mutate: Any) -> dict[str, Any]:
    value = copy.deepcopy(PREPARE)
    mutate(value)
    return value


INVALID_WITH_PASSWORD: list[Any] = [
    pytest.param(_prepare_with(_set(("data", "override"), "false")), id="override-string"),
    pytest.param(_prepare_with(_set(("data", "agent", "id"), 1001)), id="agent-id-int"),
    pytest.param(_prepare_with(_drop(("data", "model"))), id="model-missing"),
    pytest.param(_prepare_with(_set(("data", "agent", "extra"), {1, 2})), id="not-json"),
    pytest.param({"command": "prepareSession", "result": "confirm", "message": 5, "original": PREPARE},
                 id="confirm-message-int"),
    pytest.param({"command": "prepareSession", "result": "confirm", "message": "m",
                  "original": _prepare_with(_set(("data", "override"), 0))}, id="confirm-original-invalid"),
    pytest.param({"command": "prepareSession", "result": "success",
                  "resource": {"id": 7, "data": SESSION_DATA}}, id="success-id-int"),
    pytest.param(failure_of("prepareSession", PREPARE, context=None), id="failure-context-null"),
    pytest.param({"command": "getCapabilities", "result": "confirm", "message": "m", "original": PREPARE},
                 id="never-confirmed"),
    pytest.param({"command": "prepareSession", "result": "maybe", "original": PREPARE}, id="bad-result"),
    pytest.param({"command": 5, "data": SESSION_DATA}, id="command-int"),
    pytest.param({"data": SESSION_DATA}, id="no-command"),
    pytest.param({**PREPARE, "command": " prepareSession "}, id="strict-padded"),
    pytest.param({**PREPARE, "command": "preparesession"}, id="strict-unknown"),
]


@pytest.mark.parametrize("value", INVALID_WITH_PASSWORD)
def test_password_never_in_errors(value: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        codec.decode_value(value, strict=True)
    error = info.value
    _no_canary(str(error), repr(error), error.detail, repr(error.message), repr(error.hint))
    assert error.message is not None
    try:
        text = json.dumps(value)
    except TypeError:
        return  # not JSON at all (a set): only decode_value can see it
    with pytest.raises(ProtocolError) as info:
        codec.decode(text, strict=True)
    _no_canary(str(info.value), repr(info.value), repr(info.value.message))


def test_password_never_in_decode_errors_of_broken_text() -> None:
    text = SEED_FAILURE_WITHOUT_COMMA.replace(json.dumps(CALL_JOURNEY["data"]), json.dumps(SESSION_DATA))
    assert CANARY in text
    with pytest.raises(DecodeError) as info:
        codec.decode(text)
    _no_canary(str(info.value), repr(info.value), repr(info.value.message))
    cut = json.dumps(PREPARE)[:-3]  # not even complete
    with pytest.raises(DecodeError) as info:
        codec.decode(cut.encode("utf-8"))
    _no_canary(str(info.value), repr(info.value.message))


def test_password_never_in_warnings_or_schema_findings() -> None:
    for value in (
        {**PREPARE, "command": " prepareSession "},
        {"command": "acme.login", "data": {"password": CANARY}},
        {"name": "acme.loggedin", "data": {"agent": {"password": CANARY}}},
        {"command": "acme.login", "result": "success", "password": CANARY},
    ):
        decoded = codec.decode_value(value)
        assert decoded.warnings
        for warning in decoded.warnings:
            _no_canary(warning.detail, repr(warning))
    broken = _prepare_with(_set(("data", "agent", "password"), {"nested": CANARY}))
    findings = list(iter_schema_findings(broken, PrepareSessionRequest))
    assert [f.pointer for f in findings] == ["/data/agent/password"]
    _no_canary(repr(findings))


def test_password_never_in_local_encode_errors() -> None:
    bad = PrepareSessionRequest(data=attrs.evolve(PARAMETERS, override="false"))  # type: ignore[arg-type]
    assert CANARY not in repr(bad)
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode(bad)
    assert info.value.pointer == "/data/override"
    _no_canary(str(info.value), repr(info.value), repr(info.value.message))


# -- the registry ----------------------------------------------------------------------------------


def test_builtin_registry_contents() -> None:
    assert REGISTRY.commands() == BUILTIN_COMMANDS
    assert REGISTRY.events() == BUILTIN_EVENTS
    assert REGISTRY.message_classes() == (
        PrepareSessionRequest, PrepareSessionSuccess, PrepareSessionConfirm,
        GetCapabilitiesRequest, GetCapabilitiesSuccess,
        CallJourneyRequest, CallJourneySuccess,
        TeamStatusBeginRequest, TeamStatusBeginSuccess,
        TeamStatusEndRequest, TeamStatusEndSuccess,
        TeamChangedEvent, TeamRemovedEvent, TeamAddedEvent, MembersAddedEvent, MemberStatusChangedEvent,
        MemberRemovedEvent,
    )
    assert tuple(REGISTRY) == REGISTRY.message_classes()
    assert REGISTRY.request_class("prepareSession") is PrepareSessionRequest
    assert REGISTRY.success_class("prepareSession") is PrepareSessionSuccess
    assert REGISTRY.confirm_class("prepareSession") is PrepareSessionConfirm
    assert REGISTRY.confirm_class("getCapabilities") is None
    assert REGISTRY.request_class(" getCapabilities ") is None
    assert REGISTRY.event_class("report.teamstatus.memberremoved") is MemberRemovedEvent
    assert REGISTRY.event_class("acme.held") is None
    for cls in REGISTRY.message_classes():
        assert not issubclass(cls, Unknown)
        if issubclass(cls, Event):
            assert issubclass(cls, TeamStatusEvent)
            assert cls.NAME in BUILTIN_EVENTS
        else:
            assert cls.COMMAND in BUILTIN_COMMANDS  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "resource"),
    [
        ("report.calljourney", UCCX_REPORT_RESOURCE_TYPE),
        ("report.teamstatus.begin", UCCX_REPORT_RESOURCE_TYPE),
        ("report.teamstatus.end", UCCX_REPORT_RESOURCE_TYPE),
        ("prepareSession", None),
        ("getCapabilities", None),
        ("acme.hold", None),
    ],
)
def test_resource_types(command: str, resource: str | None) -> None:
    assert UCCX_REPORT_RESOURCE_TYPE == "com.openmethods.iserver.processor.reporting.uccx"
    assert REGISTRY.resource_type(command) == resource
    assert REGISTRY.copy().resource_type(command) == resource
    assert EXT.resource_type(command) == (ACME_RESOURCE if command == "acme.hold" else resource)


def test_copy_is_independent() -> None:
    registry = REGISTRY.copy()
    assert registry.commands() == REGISTRY.commands()
    assert registry.message_classes() == REGISTRY.message_classes()

    @registry.request("acme.park", resource_type="com.acme")
    class ParkRequest(Request):
        """acme.park."""

    @registry.event("acme.parked")
    class ParkedEvent(Event):
        """acme.parked."""

    @registry.request("prepareSession", replace=True)
    class MyPrepare(Request):
        """A replacement prepareSession."""

    assert registry.request_class("acme.park") is ParkRequest
    assert registry.request_class("prepareSession") is MyPrepare
    assert registry.resource_type("acme.park") == "com.acme"
    assert REGISTRY.request_class("acme.park") is None
    assert REGISTRY.event_class("acme.parked") is None
    assert REGISTRY.request_class("prepareSession") is PrepareSessionRequest
    assert REGISTRY.resource_type("acme.park") is None
    assert REGISTRY.commands() == BUILTIN_COMMANDS
    assert REGISTRY.events() == BUILTIN_EVENTS
    assert ParkRequest not in REGISTRY.message_classes()
    assert registry.commands() == (*BUILTIN_COMMANDS, "acme.park")
    assert registry.events() == (*BUILTIN_EVENTS, "acme.parked")
    # And the other way round: a copy does not see what is registered later in its source.
    source = Registry()
    snapshot = source.copy()
    source.event("acme.late")(type("LateEvent", (Event,), {"__doc__": "late"}))
    assert snapshot.events() == ()


def test_extension_registry_lists_its_classes() -> None:
    assert EXT.commands() == (*BUILTIN_COMMANDS, "acme.hold")
    assert EXT.events() == (*BUILTIN_EVENTS, "acme.held")
    builtin = REGISTRY.message_classes()
    # Per command its request, success and confirm; then the events.
    assert EXT.message_classes() == (*builtin[:11], HoldRequest, HoldSuccess, HoldConfirm, *builtin[11:], HeldEvent)
    assert (HoldRequest.COMMAND, HoldSuccess.COMMAND, HoldConfirm.COMMAND, HeldEvent.NAME) == (
        "acme.hold", "acme.hold", "acme.hold", "acme.held"
    )
    assert HoldRequest(call_id="c").command_name == "acme.hold"
    assert HeldEvent(call_id="c").event_name == "acme.held"


@pytest.mark.parametrize(("value", "cls", "unknown_cls"), EXT_EXAMPLES)
def test_registered_extension_decodes_only_with_its_registry(
    value: dict[str, Any], cls: type, unknown_cls: type
) -> None:
    decoded = codec.decode_text(json.dumps(value), registry=EXT)
    assert type(decoded.message) is cls
    assert decoded.warnings == ()
    assert decoded.message.extra == {}
    assert codec.encode_value(decoded.message) == value
    assert list(iter_schema_findings(value, cls)) == []
    default = codec.decode_text(json.dumps(value))
    assert type(default.message) is unknown_cls
    assert [w.code for w in default.warnings] == ["unknown-event" if "name" in value else "unknown-command"]
    assert codec.encode_value(default.message) == value
    with pytest.raises(SchemaViolationError.Remote):
        codec.decode(json.dumps(value), strict=True)
    assert type(codec.decode(json.dumps(value), registry=EXT, strict=True)) is cls


def test_extension_padded_command_is_trimmed_only_with_its_registry() -> None:
    value = {"command": " acme.hold ", "result": "success", "data": {"held": False}}
    decoded = codec.decode_value(value, registry=EXT)
    assert decoded.message == HoldSuccess(held=False)
    assert [w.code for w in decoded.warnings] == ["command-whitespace"]
    default = codec.decode_value(value)
    assert type(default.message) is UnknownSuccess
    assert default.message.command == " acme.hold "


def test_extension_schema_requires_its_members() -> None:
    schema = schema_for(HoldRequest)
    assert schema["title"] == "HoldRequest"
    assert schema["properties"]["command"] == {"const": "acme.hold"}
    assert sorted(schema["required"]) == ["command", "data"]
    assert schema["properties"]["data"]["required"] == ["callId"]
    assert schema["properties"]["data"]["properties"]["callId"] == {"type": "string"}
    validator = validator_for(HoldRequest)
    assert validator.is_valid({"command": "acme.hold", "data": {"callId": "c"}})
    assert not validator.is_valid({"command": "acme.hold", "data": {}})
    assert not validator.is_valid({"command": "acme.unhold", "data": {"callId": "c"}})
    success = schema_for(HoldSuccess)
    assert success["properties"]["result"] == {"const": "success"}
    assert success["properties"]["data"]["properties"]["held"] == {"type": "boolean"}
    assert success["properties"]["data"]["required"] == ["held"]
    event_schema = schema_for(HeldEvent)
    assert event_schema["properties"]["name"] == {"const": "acme.held"}
    assert event_schema["properties"]["data"]["required"] == ["callId"]  # ``since`` is optional
    confirm = schema_for(HoldConfirm)
    assert sorted(confirm["required"]) == ["command", "message", "original", "result"]
    assert confirm["properties"]["original"]["properties"]["command"] == {"const": "acme.hold"}
    with pytest.raises(SchemaViolationError.Remote) as info:
        codec.decode_value({"command": "acme.hold", "data": {}}, registry=EXT)
    assert info.value.pointer == "/data/callId"


@pytest.mark.parametrize("kind", ["request", "success", "confirm", "event"])
def test_registering_a_name_twice_needs_replace(kind: str) -> None:
    registry = REGISTRY.copy()
    bases = {"request": Request, "success": SuccessResponse, "confirm": ConfirmResponse, "event": Event}
    decorate = getattr(registry, kind)
    first = decorate("acme.twice")(type("First", (bases[kind],), {"__doc__": "first"}))
    again = decorate("acme.twice")(first)  # the same class again is fine
    assert again is first
    with pytest.raises(ValueError, match="already registered"):
        decorate("acme.twice")(type("Second", (bases[kind],), {"__doc__": "second"}))
    lookup = {"request": registry.request_class, "success": registry.success_class,
              "confirm": registry.confirm_class, "event": registry.event_class}[kind]
    assert lookup("acme.twice") is first
    third = decorate("acme.twice", replace=True)(type("Third", (bases[kind],), {"__doc__": "third"}))
    assert lookup("acme.twice") is third


def test_builtin_names_cannot_be_taken_without_replace() -> None:
    registry = REGISTRY.copy()
    with pytest.raises(ValueError, match="prepareSession"):
        registry.request("prepareSession")(type("Mine", (Request,), {}))
    with pytest.raises(ValueError, match="already registered"):
        registry.event("report.teamstatus.teamchanged")(type("MineEvent", (Event,), {}))
    assert registry.request_class("prepareSession") is PrepareSessionRequest


@pytest.mark.parametrize("name", ["", " acme.x", "acme.x ", "\tacme.x", "acme.x\n", " "])
@pytest.mark.parametrize("kind", ["request", "success", "confirm", "event"])
def test_names_with_surrounding_whitespace_or_empty_are_refused(name: str, kind: str) -> None:
    registry = Registry()
    bases = {"request": Request, "success": SuccessResponse, "confirm": ConfirmResponse, "event": Event}
    with pytest.raises(ValueError, match="whitespace"):
        getattr(registry, kind)(name)(type("Odd", (bases[kind],), {}))
    assert registry.commands() == ()
    assert registry.events() == ()


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("request", HoldSuccess),
        ("request", Event),
        ("request", object),
        ("success", HoldRequest),
        ("success", ConfirmResponse),
        ("confirm", HoldSuccess),
        ("event", HoldRequest),
        ("event", int),
    ],
)
def test_decorating_a_class_of_the_wrong_kind_is_a_type_error(kind: str, cls: type) -> None:
    registry = Registry()
    with pytest.raises(TypeError):
        getattr(registry, kind)("acme.wrong")(cls)
    assert registry.message_classes() == ()


def test_a_declared_class_keeps_its_constants() -> None:
    registry = Registry()
    with pytest.raises(TypeError, match="already declared"):
        registry.request("acme.other")(HoldRequest)
    with pytest.raises(TypeError, match="already declared"):
        registry.event("report.teamstatus.teamadded2")(TeamAddedEvent)
    assert registry.message_classes() == ()
    assert HoldRequest.COMMAND == "acme.hold"


def test_add_registers_classes_declared_elsewhere() -> None:
    registry = Registry()
    registry.add(HoldRequest, HoldSuccess, HoldConfirm, HeldEvent, CallJourneyRequest)
    assert registry.commands() == ("acme.hold", "report.calljourney")
    assert registry.events() == ("acme.held",)
    assert registry.message_classes() == (HoldRequest, HoldSuccess, HoldConfirm, CallJourneyRequest, HeldEvent)
    for param in EXT_EXAMPLES:
        value, cls, _ = param.values
        assert type(codec.decode(json.dumps(value), registry=registry)) is cls
    assert type(codec.decode(json.dumps(CALL_JOURNEY), registry=registry)) is CallJourneyRequest
    # Only what was added: prepareSession is unknown to this registry.
    assert type(codec.decode(json.dumps(PREPARE), registry=registry)) is UnknownRequest
    registry.add(HoldRequest)  # again: nothing changes
    assert registry.commands() == ("acme.hold", "report.calljourney")
    with pytest.raises(ValueError, match="already registered"):
        registry.request("acme.hold")(type("Other", (Request,), {}))
    assert registry.request_class("acme.hold") is HoldRequest


def test_add_refuses_what_is_not_a_declared_command_or_event() -> None:
    registry = Registry()

    class Undeclared(Request):
        """Never decorated."""

    for cls in (UnknownRequest, UnknownSuccess, UnknownConfirm, UnknownEvent, FailureResponse, Undeclared, Response,
                ProcessorMessage):
        with pytest.raises(TypeError, match="not a declared command or event class"):
            registry.add(cls)
    assert registry.message_classes() == ()


@pytest.mark.parametrize(
    "cls", [Request, SuccessResponse, ConfirmResponse, Event, TeamStatusEvent, "ModelButUnregistered"],
    ids=lambda c: c if isinstance(c, str) else c.__name__,
)
def test_add_refuses_undeclared_model_classes_with_a_type_error(cls: Any) -> None:
    cls = globals()[cls] if isinstance(cls, str) else cls
    registry = Registry()
    with pytest.raises(TypeError, match="not a declared command or event class"):
        registry.add(cls)
    assert registry.message_classes() == ()


def test_add_with_replace() -> None:
    registry = Registry()

    @registry.request("acme.hold")
    class MyHold(Request):
        """Another acme.hold."""

    with pytest.raises(ValueError, match="already registered"):
        registry.add(HoldRequest)
    registry.add(HoldRequest, replace=True)
    assert registry.request_class("acme.hold") is HoldRequest
    assert MyHold.COMMAND == "acme.hold"


def test_team_status_event_subclass_is_a_team_status_event() -> None:
    registry = REGISTRY.copy()

    @registry.event("acme.teamstatus.teamrenamed")
    class TeamRenamed(TeamStatusEvent):
        """A team was renamed."""

        team: Team = wire("data", "team")

    value = event("acme.teamstatus.teamrenamed", TEAM)
    message = codec.decode(json.dumps(value), registry=registry)
    assert isinstance(message, TeamRenamed)
    assert isinstance(message, TeamStatusEvent)
    assert message.agent_id == AGENT
    assert sorted(schema_for(TeamRenamed)["properties"]["data"]["required"]) == ["agentId", "team"]


# -- helpers on the models -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_message",
    [
        PREPARE_MODEL,
        GetCapabilitiesRequest(),
        CallJourneyRequest(call_id="16777345"),
        TeamStatusBeginRequest(agent_id=AGENT, extra={"/data/team": "42"}),
        TeamStatusEndRequest(agent_id=AGENT),
        UnknownRequest(command="acme.reboot", data={"now": True}, extra={"/trace": 1}),
        HoldRequest(call_id="c1"),
    ],
    ids=lambda m: type(m).__name__,
)
def test_failure_response_repeats_the_request(request_message: Request) -> None:
    failure = failure_response(request_message, "E_X", "it failed", context="trace")
    assert failure.command == request_message.command_name
    assert failure.command_name == request_message.command_name
    assert failure.failure == Failure(code="E_X", message="it failed", context="trace")
    assert failure.original == codec.encode_value(request_message)
    assert json_equal(dict(failure.original), codec.encode_value(request_message))
    value = codec.encode_value(failure)
    assert value["result"] == "failure"
    assert value["original"] == codec.encode_value(request_message)
    assert codec.decode(codec.encode(failure), registry=EXT) == failure
    without_context = failure_response(request_message, "E_X", "it failed")
    assert without_context.failure.context is None


def test_with_override_and_confirmable() -> None:
    assert PREPARE_MODEL.data.override is False
    assert PREPARE_MODEL.confirmable is True
    again = PREPARE_MODEL.with_override()
    assert again.data.override is True
    assert again.confirmable is False
    assert again.data.agent == PREPARE_MODEL.data.agent
    assert again.data.model == PREPARE_MODEL.data.model
    assert PREPARE_MODEL.data.override is False  # frozen: a new request
    assert again.with_override() == again
    assert codec.encode_value(again)["data"]["override"] is True
    kept = codec.decode(json.dumps({**PREPARE, "trace": 1, "data": {**SESSION_DATA, "locale": "en"}}))
    assert isinstance(kept, PrepareSessionRequest)
    assert kept.with_override().extra == {"/trace": 1}
    assert kept.with_override().data.extra == {"/locale": "en"}
    overriding = codec.decode(json.dumps({**PREPARE, "data": {**SESSION_DATA, "override": True}}))
    assert isinstance(overriding, PrepareSessionRequest)
    assert overriding.confirmable is False
    for other in (GetCapabilitiesRequest(), CallJourneyRequest(call_id="c"), UnknownRequest(command="x", data={})):
        assert other.confirmable is True


# -- encoding what is not a message ---------------------------------------------------------------


class NeverDeclared(Request):
    """A Request subclass no registry decorated."""


@model
class ModelButUnregistered(Request):
    """Made a model, but never registered."""

    call_id: str = wire("data", "callId")


@pytest.mark.parametrize(
    "message",
    [
        NeverDeclared(),
        ModelButUnregistered(call_id="c"),
        Request(),
        Event(),
        SuccessResponse(),
        ConfirmResponse(message="m"),
        TeamStatusEvent(agent_id=AGENT),
        ProcessorMessage(),
        Team(team_id="1", team_name="n"),
        object(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_encoding_an_undeclared_class_is_a_local_unknown_message_error(message: Any) -> None:
    with pytest.raises(UnknownMessageError.Local):
        codec.encode_value(message)
    with pytest.raises(UnknownMessageError.Local):
        codec.encode(message)


@pytest.mark.parametrize(
    ("message", "pointer"),
    [
        (CallJourneyRequest(call_id=5), "/data/CallId"),  # type: ignore[arg-type]
        (TeamStatusBeginRequest(agent_id=None), "/data/agentId"),  # type: ignore[arg-type]
        (TeamChangedEvent(agent_id=AGENT, team=Team(team_id=42, team_name="n")),  # type: ignore[arg-type]
         "/data/team/teamId"),
        (MembersAddedEvent(agent_id=AGENT, team=TeamMemberChanges(team_id="1", team_name="n", members=())),
         "/data/team/members"),
        (TeamAddedEvent(agent_id=AGENT, team=TeamWithMembers(team_id="1", team_name="n", members=(
            attrs.evolve(MEMBER_MODELS[0], member_type="Agent"),))),  # type: ignore[arg-type]
         "/data/team/members/0/memberType"),
        (FailureResponse(command="x", failure=Failure(code="c", message="m"), original={"a": {1, 2}}), "/original/a"),
        (GetCapabilitiesRequest(extra={"/command": "acme.x"}), "/command"),
        (GetCapabilitiesRequest(extra={"/nowhere/x": 1}), "/nowhere/x"),
        (PrepareSessionRequest(data=attrs.evolve(PARAMETERS, extra={"/agent": {}})), "/data/agent"),
    ],
)
def test_encoding_an_invalid_model_is_a_local_schema_violation(message: ProcessorMessage, pointer: str) -> None:
    with pytest.raises(SchemaViolationError.Local) as info:
        codec.encode_value(message)
    assert isinstance(info.value, LocalProtocolError)
    assert info.value.pointer == pointer
    with pytest.raises(SchemaViolationError.Local):
        codec.encode(message)


def test_encoding_a_value_json_cannot_hold_is_a_local_schema_violation() -> None:
    with pytest.raises(SchemaViolationError.Local):
        codec.encode(GetCapabilitiesSuccess(capabilities={"ratio": float("nan")}))
    with pytest.raises(SchemaViolationError.Local):
        codec.encode(UnknownRequest(command="acme.x", data={"s": "\ud800"}))


# -- members that change what kind of message a JSON object is (forbidden: WIRE_FORBIDDEN) ------------------------


DISCRIMINATED: list[Any] = [
    pytest.param({"command": "getCapabilities", "data": {}, "result": "success"}, GetCapabilitiesRequest,
                 id="request-with-result-success"),
    pytest.param({"command": "report.teamstatus.begin", "data": {"agentId": AGENT}, "result": "ok"},
                 TeamStatusBeginRequest, id="request-with-result-bad"),
    pytest.param({**event("report.teamstatus.teamchanged", TEAM), "command": "acme.x"}, TeamChangedEvent,
                 id="event-with-command"),
    pytest.param({"name": "acme.rebooted", "data": {}, "command": 5}, UnknownEvent, id="unknown-event-with-command"),
]


@pytest.mark.parametrize(("value", "cls"), DISCRIMINATED)
def test_a_member_that_makes_json_another_kind_of_message_is_outside_the_schema(
    value: dict[str, Any], cls: type[Model]
) -> None:
    # The codec reads these as another kind of message, so the published schema of `cls` must not admit them.
    assert not validator_for(cls).is_valid(value)
    assert {f.detail for f in iter_schema_findings(value, cls)} >= {"member not allowed here"}
    with pytest.raises(SchemaViolationError):
        decode_model(value, cls)


@pytest.mark.parametrize(
    "message",
    [
        GetCapabilitiesRequest(extra={"/result": "success"}),
        UnknownRequest(command="acme.x", data={}, extra={"/result": "confirm"}),
        TeamChangedEvent(agent_id=AGENT, team=Team(team_id="42", team_name="n"), extra={"/command": "acme.x"}),
    ],
    ids=lambda m: type(m).__name__,
)
def test_encoded_message_decodes_back_or_encode_refuses(message: ProcessorMessage) -> None:
    try:
        text = codec.encode(message)
    except LocalProtocolError:
        return  # refusing is a fine answer
    try:
        again: Any = codec.decode(text)
    except ProtocolError as exc:
        again = exc
    assert again == message


# -- properties ------------------------------------------------------------------------------------


@given(processor_messages(numbers=Numbers.EXACT))
def test_model_to_json_to_model_is_the_identity(message: ProcessorMessage) -> None:
    assert codec.decode(codec.encode(message)) == message
    assert codec.decode(codec.encode(message).encode("utf-8")) == message


@given(processor_messages(numbers=Numbers.EXACT))
def test_every_encoded_model_validates_against_its_schema(message: ProcessorMessage) -> None:
    value = codec.encode_value(message)
    validator_for(type(message)).validate(value)
    assert list(iter_schema_findings(value, type(message))) == []


@given(processor_messages(numbers=Numbers.EXACT))
def test_decode_then_encode_gives_the_same_json_value(message: ProcessorMessage) -> None:
    text = json.dumps(codec.encode_value(message))  # json.dumps: another writer's spacing and escapes
    decoded = codec.decode_text(text)
    assert json_equal(codec.encode_value(decoded.message), json.loads(text))
    assert json.loads(codec.encode(decoded.message)) == json.loads(text)
    # Unknown names warn; nothing else does for a valid message.
    assert {w.code for w in decoded.warnings} <= {"unknown-command", "unknown-event"}
    assert bool(decoded.warnings) == isinstance(message, Unknown)


@given(processor_messages(registry=EXT))
def test_extension_messages_round_trip_with_their_registry(message: ProcessorMessage) -> None:
    decoded = codec.decode_text(codec.encode(message), registry=EXT)
    assert decoded.message == message
    validator_for(type(message)).validate(codec.encode_value(message))


@given(processor_unknown_messages())
def test_unknown_messages_keep_everything(message: ProcessorMessage) -> None:
    decoded = codec.decode_text(codec.encode(message))
    assert decoded.message == message
    assert isinstance(decoded.message, Unknown)
    assert len(decoded.warnings) == 1
    assert decoded.warnings[0].code in ("unknown-command", "unknown-event")


@given(processor_failures())
def test_failures_of_any_command_round_trip(message: FailureResponse) -> None:
    decoded = codec.decode_text(codec.encode(message))
    assert decoded.message == message
    assert decoded.warnings == ()


def _routed_elsewhere(cls: type[Model], value: dict[str, Any]) -> bool:
    """Whether the codec reads ``value`` as another class than ``cls`` for reasons no schema of ``cls`` states.

    The kind of a message is told by its members (``command`` without ``result``: a request; with it: a
    response; ``name``: an event), which a schema that admits unknown members cannot exclude (see the xfail
    tests above); and an ``Unknown*`` class is whatever the registry does not know.
    """
    if issubclass(cls, Request) and "result" in value:
        return True
    if issubclass(cls, Event) and "command" in value:
        return True
    if issubclass(cls, Unknown):
        name = value["name"] if issubclass(cls, UnknownEvent) else value["command"]
        return name.strip(COMMAND_PADDING) in REGISTRY.commands() or name in REGISTRY.events()
    return False


@pytest.mark.quick_sample(8)
@pytest.mark.parametrize("cls", SCHEMA_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_json_generated_from_the_schema_decodes(cls: type[Model], data: st.DataObject) -> None:
    value: Any = data.draw(from_schema(schema_for(cls)))
    if cls is ServiceInformation:
        info = decode_model(value, ServiceInformation)
        assert encode_model(info) == value
        return
    assume(not _routed_elsewhere(cls, value))
    try:
        decoded = codec.decode_value(value)
    except RemoteProtocolError as exc:
        # Warnings never raise here; anything raised is a disagreement between model and schema.
        raise AssertionError(f"schema-valid JSON rejected: {exc!r}") from exc
    assert type(decoded.message) is cls
    codes = [w.code for w in decoded.warnings]
    if issubclass(cls, Unknown):
        assert codes == ["unknown-event" if issubclass(cls, UnknownEvent) else "unknown-command"]
    else:
        assert set(codes) <= {"command-whitespace"}  # only a padded (registered) command, on a failure
    expected = trimmed(value) if "command-whitespace" in codes else value
    assert json.loads(codec.encode(decoded.message)) == expected


def mutated_messages() -> st.SearchStrategy[Any]:
    """A valid message's JSON with one value somewhere replaced by an arbitrary JSON value or a near-miss name."""
    names = st.sampled_from([*BUILTIN_COMMANDS, *BUILTIN_EVENTS, " getCapabilities ", "success", "confirm",
                             "failure", "Agent", "ready"])
    return mutated_json(
        st.builds(codec.encode_value, processor_messages(numbers=Numbers.EXACT)), json_values() | names
    )


@settings(max_examples=200)
@given(mutated_messages())
def test_mutated_json_decodes_or_is_a_remote_protocol_error(value: Any) -> None:
    text = json.dumps(value)
    try:
        decoded = codec.decode_text(text)
    except RemoteProtocolError:
        return
    message = decoded.message
    # Whatever decoded agrees with its schema (once the padding is read away) and round-trips.
    assert list(iter_schema_findings(codec.normalise(value, []), type(message))) == []
    again = codec.decode(codec.encode(message))
    assert again == message


_KEYS = st.sampled_from(["command", "name", "result", "data", "failure", "original", "message", "resource", "x"])
_SHAPED = st.dictionaries(_KEYS, json_values() | st.sampled_from([*BUILTIN_COMMANDS, *BUILTIN_EVENTS, "success",
                                                                   "confirm", "failure", {}]))


@given(st.one_of(json_values(), _SHAPED))
def test_arbitrary_json_decodes_or_is_a_remote_protocol_error(value: Any) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(json.dumps(value))
    with contextlib.suppress(RemoteProtocolError):
        codec.decode_value(value)
    with contextlib.suppress(RemoteProtocolError):
        codec.decode_value(value, registry=EXT, strict=True)


@given(st.text(max_size=200))
def test_arbitrary_text_decodes_or_raises_remote_protocol_error(text: str) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(text)
    with contextlib.suppress(RemoteProtocolError):
        codec.decode('{"command": ' + text + ', "data": {}}')


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_remote_protocol_error(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(data)


@given(
    st.from_type(PrepareSessionRequest),
    st.from_type(TeamAddedEvent),
    st.from_type(FailureResponse),
    st.from_type(ServiceInformation),
    st.from_type(ProcessorMessage),
)
def test_registered_with_from_type(
    request_message: PrepareSessionRequest,
    team_added: TeamAddedEvent,
    failure: FailureResponse,
    info: ServiceInformation,
    any_message: ProcessorMessage,
) -> None:
    assert type(request_message) is PrepareSessionRequest
    assert type(team_added) is TeamAddedEvent
    assert type(failure) is FailureResponse
    assert type(info) is ServiceInformation
    assert type(any_message) in ALL_MESSAGE_CLASSES
    for message in (request_message, team_added, failure, any_message):
        assert codec.decode(codec.encode(message)) == message
    assert decode_model(encode_model(info), ServiceInformation) == info
