"""Messages of the Interaction Processor's JSON commands and of the UCCX report resource.

Three shapes travel, one JSON object per transport message:

* a request (client -> processor): ``{"command": C, "data": {...}}``;
* a response (processor -> client): ``{"command": C, "result": "success" | "confirm" | "failure", ...}``;
* an event (processor -> client): ``{"name": N, "data": {...}}``.

Each concrete class is declared once and registered in a :class:`Registry`
(the built-in ones in :data:`REGISTRY`) by a decorator that fixes its
``command`` / ``result`` / ``name`` constants.  Integrators add commands and
events the same way (see :class:`Registry`).  What no registry knows decodes to
an ``Unknown*`` class that keeps the whole message.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from ccproto.core.convert import encode_model
from ccproto.core.model import JsonValue, Model, model, wire
from ccproto.core.registry import declare, put
from ccproto.core.roles import Role
from ccproto.core.schema import refine_schema
from ccproto.processor import quirks

__all__ = [
    "ALL_MESSAGE_CLASSES",
    "CALL_JOURNEY",
    "GET_CAPABILITIES",
    "PREPARE_SESSION",
    "TEAM_STATUS_BEGIN",
    "TEAM_STATUS_END",
    "REGISTRY",
    "SCHEMA_CLASSES",
    "UCCX_REPORT_RESOURCE_TYPE",
    "AgentCredentials",
    "CallJourneyRequest",
    "CallJourneyStep",
    "CallJourneySuccess",
    "ConfirmResponse",
    "Event",
    "Failure",
    "FailureResponse",
    "GetCapabilitiesRequest",
    "GetCapabilitiesSuccess",
    "MemberRemovedEvent",
    "MemberStatus",
    "MemberType",
    "MembersAddedEvent",
    "MemberStatusChangedEvent",
    "PrepareSessionConfirm",
    "PrepareSessionRequest",
    "PrepareSessionSuccess",
    "ProcessorMessage",
    "Registry",
    "RemovedMember",
    "Request",
    "Response",
    "Result",
    "ServiceInformation",
    "SessionParameters",
    "SessionResource",
    "SuccessResponse",
    "Team",
    "TeamAddedEvent",
    "TeamChangedEvent",
    "TeamMember",
    "TeamRemovedEvent",
    "TeamStatusBeginRequest",
    "TeamStatusBeginSuccess",
    "TeamStatusEndRequest",
    "TeamStatusEndSuccess",
    "TeamStatusEvent",
    "TeamMemberChanges",
    "TeamWithMembers",
    "TeamWithRemovedMembers",
    "Unknown",
    "UnknownConfirm",
    "UnknownEvent",
    "UnknownRequest",
    "UnknownSuccess",
    "failure_response",
]

#: The resource type of the UCCX report server resource (seed: "UCCX Report Server Resource").
UCCX_REPORT_RESOURCE_TYPE = "com.openmethods.iserver.processor.reporting.uccx"


class Result(enum.Enum):
    """A response's ``result``."""

    SUCCESS = "success"
    CONFIRM = "confirm"
    FAILURE = "failure"


class MemberType(enum.Enum):
    """A team member's ``memberType``."""

    AGENT = "Agent"
    SUPERVISOR = "Supervisor"
    TEAM_LEAD = "TeamLead"


class MemberStatus(enum.Enum):
    """A team member's agent ``status``."""

    READY = "ready"
    NOT_READY = "not_ready"
    ACW = "ACW"


# -- bases ---------------------------------------------------------------------------------


@model
class ProcessorMessage(Model):
    """Base of every Interaction Processor message."""

    #: Who sends messages of this class.
    SENDER: ClassVar[Role]


@model
class Request(ProcessorMessage):
    """A command from the client: ``{"command": ..., "data": {...}}``; answered by one response."""

    SENDER: ClassVar[Role] = Role.CLIENT
    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("data",),)
    #: A ``result`` member would make the JSON a response.
    WIRE_FORBIDDEN: ClassVar[tuple[tuple[str, ...], ...]] = (("result",),)
    #: The ``command`` of this class (set by :meth:`Registry.request`).
    COMMAND: ClassVar[str]
    #: The resource type the command belongs to, if it was registered with one.
    RESOURCE_TYPE: ClassVar[str | None] = None

    @property
    def command_name(self) -> str:
        """The ``command`` member."""
        return self.COMMAND

    @property
    def confirmable(self) -> bool:
        """Whether this request lets the processor answer ``confirm`` (ask the user) when its command has one.

        Only commands with a registered confirm response (or unknown ones) can be
        confirmed at all; a request class narrows that further (prepareSession: only
        without ``override``).
        """
        return True


@model
class Response(ProcessorMessage):
    """An answer to the oldest outstanding request with the same ``command`` member (there is no correlation id)."""

    SENDER: ClassVar[Role] = Role.SERVER
    COMMAND: ClassVar[str]
    RESULT: ClassVar[Result]

    @property
    def command_name(self) -> str:
        """The ``command`` member: the command of the request this answers."""
        return self.COMMAND


@model
class SuccessResponse(Response):
    """``result: success``: the command was carried out."""

    RESULT: ClassVar[Result] = Result.SUCCESS


@model
class ConfirmResponse(Response):
    """``result: confirm``: the processor asks the user first; the ``original`` member repeats the request."""

    RESULT: ClassVar[Result] = Result.CONFIRM

    message: str = wire("message", description="The confirmation prompt to show the user")


@model
class Event(ProcessorMessage):
    """An event from the processor: ``{"name": ..., "data": {...}}``."""

    SENDER: ClassVar[Role] = Role.SERVER
    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("data",),)
    #: A ``command`` member would make the JSON a request or response.
    WIRE_FORBIDDEN: ClassVar[tuple[tuple[str, ...], ...]] = (("command",),)
    #: The ``name`` of this class (set by :meth:`Registry.event`).
    NAME: ClassVar[str]

    @property
    def event_name(self) -> str:
        """The ``name`` member."""
        return self.NAME


class Unknown:
    """Marks the classes of messages no registry knows (decoded whole; validation warns)."""

    __slots__ = ()


# -- the registry --------------------------------------------------------------------------

_T = TypeVar("_T", bound=type[ProcessorMessage])


class Registry:
    """Which classes decode which commands and events.

    The built-in messages live in :data:`REGISTRY`; take a :meth:`copy` to add
    your own without touching it, or register into it to extend every default
    decoder (and ``ccproto validate --extension MODULE``)::

        registry = REGISTRY.copy()

        @registry.request("acme.hold")
        class HoldRequest(Request):
            call_id: str = wire("data", "callId")

        @registry.success("acme.hold")
        class HoldSuccess(SuccessResponse):
            held: bool = wire("data", "held")

    The decorators make the class a frozen attrs model, fix its wire constants
    and register it; its JSON Schema, strategy and checks follow from it.
    """

    def __init__(self) -> None:
        self._requests: dict[str, type[Request]] = {}
        self._successes: dict[str, type[SuccessResponse]] = {}
        self._confirms: dict[str, type[ConfirmResponse]] = {}
        self._events: dict[str, type[Event]] = {}
        self._resource_types: dict[str, str] = {}

    def copy(self) -> Registry:
        """An independent registry with the same entries."""
        other = Registry()
        other._requests = dict(self._requests)
        other._successes = dict(self._successes)
        other._confirms = dict(self._confirms)
        other._events = dict(self._events)
        other._resource_types = dict(self._resource_types)
        return other

    def request(
        self, command: str, *, resource_type: str | None = None, replace: bool = False
    ) -> Callable[[_T], _T]:
        """Class decorator: ``cls`` (a :class:`Request` subclass) is the request of ``command``."""

        def register(cls: _T) -> _T:
            built = declare(cls, Request, {("command",): command}, COMMAND=command)
            if resource_type is not None:
                typing.cast(type[Request], built).RESOURCE_TYPE = resource_type  # remembered for add()
            put(self._requests, command, built, replace)
            if resource_type is not None:
                self._resource_types[command] = resource_type
            return built

        return register

    def success(self, command: str, *, replace: bool = False) -> Callable[[_T], _T]:
        """Class decorator: ``cls`` (a :class:`SuccessResponse` subclass) answers ``command`` with success."""

        def register(cls: _T) -> _T:
            built = declare(
                cls, SuccessResponse, {("command",): command, ("result",): Result.SUCCESS.value}, COMMAND=command
            )
            put(self._successes, command, built, replace)
            return built

        return register

    def confirm(self, command: str, *, replace: bool = False) -> Callable[[_T], _T]:
        """Class decorator: ``cls`` (a :class:`ConfirmResponse` subclass) answers ``command`` with confirm."""

        def register(cls: _T) -> _T:
            built = declare(
                cls, ConfirmResponse, {("command",): command, ("result",): Result.CONFIRM.value}, COMMAND=command
            )
            put(self._confirms, command, built, replace)
            return built

        return register

    def event(self, name: str, *, replace: bool = False) -> Callable[[_T], _T]:
        """Class decorator: ``cls`` (an :class:`Event` subclass) is the event ``name``."""

        def register(cls: _T) -> _T:
            built = declare(cls, Event, {("name",): name}, NAME=name)
            put(self._events, name, built, replace)
            return built

        return register

    def add(self, *classes: type[ProcessorMessage], replace: bool = False) -> None:
        """Register classes already declared (by another registry's decorators) under their own constants."""
        for cls in classes:
            declared = "COMMAND" in cls.__dict__ or "NAME" in cls.__dict__
            if "__attrs_attrs__" not in cls.__dict__ or not declared or issubclass(cls, (Unknown, FailureResponse)):
                raise TypeError(f"{cls.__name__} is not a declared command or event class")
            if issubclass(cls, Request):
                self.request(cls.COMMAND, resource_type=cls.RESOURCE_TYPE, replace=replace)(cls)
            elif issubclass(cls, SuccessResponse):
                self.success(cls.COMMAND, replace=replace)(cls)
            elif issubclass(cls, ConfirmResponse):
                self.confirm(cls.COMMAND, replace=replace)(cls)
            elif issubclass(cls, Event):
                self.event(cls.NAME, replace=replace)(cls)
            else:
                raise TypeError(f"{cls.__name__} is not a declared command or event class")

    # -- lookups -------------------------------------------------------------------------

    def request_class(self, command: str) -> type[Request] | None:
        """The request class of ``command`` (``None``: unregistered)."""
        return self._requests.get(command)

    def success_class(self, command: str) -> type[SuccessResponse] | None:
        """The success-response class of ``command`` (``None``: unregistered)."""
        return self._successes.get(command)

    def confirm_class(self, command: str) -> type[ConfirmResponse] | None:
        """The confirm-response class of ``command`` (``None``: the command is never confirmed)."""
        return self._confirms.get(command)

    def event_class(self, name: str) -> type[Event] | None:
        """The class of event ``name`` (``None``: unregistered)."""
        return self._events.get(name)

    def resource_type(self, command: str) -> str | None:
        """The resource type a command belongs to, when it was registered with one."""
        return self._resource_types.get(command)

    def commands(self) -> tuple[str, ...]:
        """Every registered command, in registration order."""
        return tuple(dict.fromkeys([*self._requests, *self._successes, *self._confirms]))

    def has_command(self, command: str) -> bool:
        """Whether ``command`` has a registered request, success or confirm class (cheap: for every message)."""
        return command in self._requests or command in self._successes or command in self._confirms

    def events(self) -> tuple[str, ...]:
        """Every registered event name, in registration order."""
        return tuple(self._events)

    def message_classes(self) -> tuple[type[ProcessorMessage], ...]:
        """Every registered class: per command its request, success and confirm; then the events."""
        found: dict[type[ProcessorMessage], None] = {}
        for command in self.commands():
            for table in (self._requests, self._successes, self._confirms):
                if command in table:
                    found.setdefault(table[command])
        for cls in self._events.values():
            found.setdefault(cls)
        return tuple(found)

    def __iter__(self) -> Iterator[type[ProcessorMessage]]:
        return iter(self.message_classes())


#: The built-in commands and events (prepareSession, getCapabilities, the UCCX report resource).
REGISTRY = Registry()


# -- the generic failure -------------------------------------------------------------------


@model
class Failure(Model):
    """Why a command failed: the common ``failure`` object of every command."""

    code: str = wire("code", description="Error code for the failure")
    message: str = wire("message", description="Error message")
    context: str | None = wire("context", default=None, description="Stack trace, if applicable")


@model
class FailureResponse(Response):
    """``result: failure``: any command failed; ``original`` repeats the whole request.

    One class answers every command (registered or not): the failure shape is common.
    """

    RESULT: ClassVar[Result] = Result.FAILURE
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("result",): Result.FAILURE.value}

    command: str = wire("command", description="The command of the request that failed")
    failure: Failure = wire("failure")
    original: Mapping[str, JsonValue] = wire("original", description="The whole request that failed")

    @property
    def command_name(self) -> str:
        """The ``command`` member."""
        return self.command


# -- messages no registry knows ------------------------------------------------------------


@model
class UnknownRequest(Request, Unknown):
    """A request whose command no registry knows; everything but ``command`` and ``data`` is in ``extra``."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()
    command: str = wire("command")
    data: Mapping[str, JsonValue] = wire("data")

    @property
    def command_name(self) -> str:
        """The ``command`` member."""
        return self.command


@model
class UnknownSuccess(SuccessResponse, Unknown):
    """A success response to a command no registry knows (kept whole)."""

    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("result",): Result.SUCCESS.value}
    command: str = wire("command")

    @property
    def command_name(self) -> str:
        """The ``command`` member."""
        return self.command


@model
class UnknownConfirm(ConfirmResponse, Unknown):
    """A confirm response to a command no registry knows (kept whole)."""

    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {("result",): Result.CONFIRM.value}
    command: str = wire("command")

    @property
    def command_name(self) -> str:
        """The ``command`` member."""
        return self.command


@model
class UnknownEvent(Event, Unknown):
    """An event no registry knows; everything but ``name`` and ``data`` is in ``extra``."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()
    name: str = wire("name")
    data: Mapping[str, JsonValue] = wire("data")

    @property
    def event_name(self) -> str:
        """The ``name`` member."""
        return self.name


# -- service information -------------------------------------------------------------------


@model
class ServiceInformation(Model):
    """What every Interaction Processor must provide about itself (docs/quirks.md P4, P5)."""

    vendor: str = wire("vendor")
    version: str = wire("version")
    cti_vendor: str = wire("cti-vendor")
    cti_version: str = wire("cti-version")
    instance_domain: str = wire(
        "instance-domain", description="Groups processors on separate platforms serving the same pool of clients"
    )


# -- prepareSession ------------------------------------------------------------------------

PREPARE_SESSION = "prepareSession"
GET_CAPABILITIES = "getCapabilities"


@model
class AgentCredentials(Model):
    """The agent a session is prepared for."""

    id: str = wire("id", description="The agent's id")
    password: str = wire("password", secret=True, description="The agent's password")


@model
class SessionParameters(Model):
    """prepareSession's ``data`` (echoed whole in the success's ``resource.data``)."""

    model: str = wire("model", description="Name of the call model")
    override: bool = wire("override", description="Destroy an existing session of the agent without asking")
    agent: AgentCredentials = wire("agent")


@REGISTRY.request(PREPARE_SESSION)
class PrepareSessionRequest(Request):
    """``prepareSession``: prepare an agent session; without ``override`` the processor may ask first."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()  # ``data`` is a declared member here
    data: SessionParameters = wire("data")

    @property
    def confirmable(self) -> bool:
        """A prepareSession may be answered with confirm only when ``override`` is false."""
        return not self.data.override

    def with_override(self) -> PrepareSessionRequest:
        """The same request with ``override: true`` (the user confirmed the prompt)."""
        return attrs.evolve(self, data=attrs.evolve(self.data, override=True))


@REGISTRY.confirm(PREPARE_SESSION)
class PrepareSessionConfirm(ConfirmResponse):
    """prepareSession ``confirm``: an existing session would be destroyed; ask the user, then repeat with override."""

    original: PrepareSessionRequest = wire("original", description="The prepareSession request being confirmed")


@model
class SessionResource(Model):
    """The session resource prepareSession created."""

    id: str = wire("id", description="The resource id")
    data: SessionParameters = wire("data", description="The request's data, repeated")


@REGISTRY.success(PREPARE_SESSION)
class PrepareSessionSuccess(SuccessResponse):
    """prepareSession ``success``: the session resource is ready."""

    resource: SessionResource = wire("resource")


# -- getCapabilities -----------------------------------------------------------------------


@REGISTRY.request(GET_CAPABILITIES)
class GetCapabilitiesRequest(Request):
    """``getCapabilities``: discover what this processor can do (the ``data`` member is ``{}``)."""


@REGISTRY.success(GET_CAPABILITIES)
class GetCapabilitiesSuccess(SuccessResponse):
    """getCapabilities ``success``: capability key/value pairs (any JSON values)."""

    capabilities: Mapping[str, JsonValue] = wire("data", description="Capability key/value pairs")


# -- the UCCX report resource --------------------------------------------------------------

CALL_JOURNEY = "report.calljourney"
TEAM_STATUS_BEGIN = "report.teamstatus.begin"
TEAM_STATUS_END = "report.teamstatus.end"


@REGISTRY.request(CALL_JOURNEY, resource_type=UCCX_REPORT_RESOURCE_TYPE)
class CallJourneyRequest(Request):
    """``report.calljourney``: which devices a call touched, and for how long."""

    call_id: str = wire("data", "CallId", description="UCCX id of the call")


@model
class CallJourneyStep(Model):
    """One device a call touched."""

    call_id: str = wire("CallId", description="Source call id")
    device: str = wire("Device", description="Device id")
    device_type: str = wire("DeviceType")
    description: str = wire("Description")
    duration: str = wire("Duration", description="Formatted time value")


@REGISTRY.success(CALL_JOURNEY)
class CallJourneySuccess(SuccessResponse):
    """report.calljourney ``success``."""

    call_journey: tuple[CallJourneyStep, ...] = wire("data", "CallJourney")


@REGISTRY.request(TEAM_STATUS_BEGIN, resource_type=UCCX_REPORT_RESOURCE_TYPE)
class TeamStatusBeginRequest(Request):
    """``report.teamstatus.begin``: start team-status events for an agent's teams."""

    agent_id: str = wire("data", "agentId", description="UCCX id of the agent")


@REGISTRY.success(TEAM_STATUS_BEGIN)
class TeamStatusBeginSuccess(SuccessResponse):
    """report.teamstatus.begin ``success`` (an empty ``data`` member): events for the agent may now flow."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("data",),)


@REGISTRY.request(TEAM_STATUS_END, resource_type=UCCX_REPORT_RESOURCE_TYPE)
class TeamStatusEndRequest(Request):
    """``report.teamstatus.end``: stop team-status events for an agent."""

    agent_id: str = wire("data", "agentId", description="UCCX id of the agent")


@REGISTRY.success(TEAM_STATUS_END)
class TeamStatusEndSuccess(SuccessResponse):
    """report.teamstatus.end ``success`` (an empty ``data`` member): no more events for the agent."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("data",),)


@model
class Team(Model):
    """A team, without its members."""

    team_id: str = wire("teamId", description="UCCX id of the team")
    team_name: str = wire("teamName")


@model
class TeamMember(Model):
    """A team member and its agent status."""

    member_id: str = wire("memberId", description="UCCX id of the member")
    member_type: MemberType = wire("memberType")
    member_name: str = wire("memberName")
    status: MemberStatus = wire("status")
    reason: str = wire("reason", description="UCCX reason code")


@model
class TeamWithMembers(Model):
    """A team with (some of) its members."""

    team_id: str = wire("teamId", description="UCCX id of the team")
    team_name: str = wire("teamName")
    members: tuple[TeamMember, ...] = wire("members")


@model
class RemovedMember(Model):
    """A member removed from a team: only its id."""

    member_id: str = wire("memberId", description="UCCX id of the member")


@model
class TeamWithRemovedMembers(Model):
    """A team and the members removed from it."""

    team_id: str = wire("teamId", description="UCCX id of the team")
    team_name: str = wire("teamName")
    members: tuple[RemovedMember, ...] = wire("members", min_items=1)


@model
class TeamStatusEvent(Event):
    """Base of the team-status events: valid only between a successful begin and a successful end."""

    agent_id: str = wire("data", "agentId", description="UCCX id of the agent the report runs for")


@REGISTRY.event("report.teamstatus.teamchanged")
class TeamChangedEvent(TeamStatusEvent):
    """The team's name changed."""

    team: Team = wire("data", "team")


@REGISTRY.event("report.teamstatus.teamremoved")
class TeamRemovedEvent(TeamStatusEvent):
    """The agent was removed from the team, or the team was removed from UCCX."""

    team: Team = wire("data", "team")


@REGISTRY.event("report.teamstatus.teamadded")
class TeamAddedEvent(TeamStatusEvent):
    """The agent was added to a new team (with its members)."""

    team: TeamWithMembers = wire("data", "team")


@model
class TeamMemberChanges(TeamWithMembers):
    """A team and the one or more members an event is about."""

    members: tuple[TeamMember, ...] = wire("members", min_items=1)


@REGISTRY.event("report.teamstatus.memberadded")
class MembersAddedEvent(TeamStatusEvent):
    """One or more members were added to a team."""

    team: TeamMemberChanges = wire("data", "team")


@REGISTRY.event("report.teamstatus.memberstatuschanged")
class MemberStatusChangedEvent(TeamStatusEvent):
    """One or more members' status changed."""

    team: TeamMemberChanges = wire("data", "team")


@REGISTRY.event("report.teamstatus.memberremoved")
class MemberRemovedEvent(TeamStatusEvent):
    """One or more members were removed from a team (only their ids)."""

    team: TeamWithRemovedMembers = wire("data", "team")


def failure_response(request: Request, code: str, message: str, *, context: str | None = None) -> FailureResponse:
    """The failure answering ``request``, with ``original`` set to the request as it is encoded."""
    return FailureResponse(
        command=request.command_name,
        failure=Failure(code=code, message=message, context=context),
        original=encode_model(request),
    )


#: Every built-in message class: the registered ones, the common failure, and the unknown-message classes.
ALL_MESSAGE_CLASSES: tuple[type[ProcessorMessage], ...] = (
    *REGISTRY.message_classes(),
    FailureResponse,
    UnknownRequest,
    UnknownSuccess,
    UnknownConfirm,
    UnknownEvent,
)

#: Every class with a published schema: the messages and the service information.
SCHEMA_CLASSES: tuple[type[Model], ...] = (*ALL_MESSAGE_CLASSES, ServiceInformation)


# -- what the published schemas add to the declarations (docs/quirks.md P1, S4) ----------------------------------


def _padded_command_allowed(schema: dict[str, Any]) -> None:
    """A registered command's schema takes it padded too (ccproto reads it so, with a warning): ``deprecated``."""
    command = schema["properties"]["command"]["const"]
    schema["properties"]["command"] = {"anyOf": [
        {"const": command},
        {"type": "string", "pattern": quirks.commands_pattern([command]), "deprecated": True},
    ]}


def _commands_excluded(commands: Callable[[], Iterable[str]]) -> Callable[[dict[str, Any]], None]:
    """A catch-all's schema refuses the commands another class takes (as written or padded)."""

    def refine(schema: dict[str, Any]) -> None:
        excluded = tuple(commands())
        if excluded:
            schema["properties"]["command"]["not"] = {"pattern": quirks.commands_pattern(excluded)}

    return refine


def _events_excluded(schema: dict[str, Any]) -> None:
    schema["properties"]["name"]["not"] = {"enum": list(REGISTRY.events())}


for _cls in REGISTRY.message_classes():
    if issubclass(_cls, (Request, SuccessResponse, ConfirmResponse)):
        refine_schema(_cls, _padded_command_allowed)
# A catch-all takes exactly what ccproto decodes to it (codec.message_class_for): a success of a command with
# no registered success class, a confirm of a command no registry knows (a known one is never confirmed
# unless it is registered so: an error), a request of a command with no request class, an unregistered event.
refine_schema(UnknownRequest, _commands_excluded(lambda: filter(REGISTRY.request_class, REGISTRY.commands())))
refine_schema(UnknownSuccess, _commands_excluded(lambda: filter(REGISTRY.success_class, REGISTRY.commands())))
refine_schema(UnknownConfirm, _commands_excluded(REGISTRY.commands))
refine_schema(UnknownEvent, _events_excluded)
del _cls
