"""Messages of the Processor Bridge control destination (``{Processor_Name}.CONTROL``).

Every message is ``{"header": {...}, "body": {...}}`` on the wire.  The models
are flat: header and body members are fields of one class, each declared with
its wire location, so ``query.request_id`` and ``query.agent_id`` sit side by
side.  The header's ``type`` and ``name`` members are constants of the class (``.TYPE``, ``.message_name``).

Queries and requests flow bridge (server) -> client; responses and events flow
client -> bridge.  A response is either the success response of its request
(one class per request) or a :class:`FailureResponse` (one class for all).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from ccproto.bridge import quirks
from ccproto.core.model import JsonValue, Model, model, wire
from ccproto.core.patterns import NOT_WHITESPACE
from ccproto.core.roles import Role
from ccproto.core.schema import refine_schema

__all__ = [
    "AgentInfoQuery",
    "AgentInfoResponse",
    "BridgeMessage",
    "CapabilitiesQuery",
    "CapabilitiesResponse",
    "CreateSessionRequest",
    "CreateSessionResponse",
    "DisposeRequest",
    "DisposeResponse",
    "FailureResponse",
    "MESSAGE_CLASSES",
    "MessageType",
    "Name",
    "Request",
    "Response",
    "Result",
    "ServerStatus",
    "ServerStatusChanged",
    "ServerStatusRequest",
    "ServerStatusResponse",
    "ValidateAgentCredentialsRequest",
    "ValidateAgentCredentialsResponse",
    "failure_response",
    "new_request_id",
    "success_response",
]

#: ``requestId`` is a GUID: 8-4-4-4-12 hex digits, either case, no braces (docs/quirks.md).
GUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
#: The control destination: ``{Processor_Name}.CONTROL`` with a non-empty name and no white space (what
#: Python or ECMA-262 counts as such: the class is spelled out so both engines read it alike, quirk S3).
CONTROL_TARGET_PATTERN = rf"^{NOT_WHITESPACE}+\.CONTROL$"
#: One media type in a comma-separated list: anything but a comma (whitespace is kept).
MEDIA_TYPE_PATTERN = r"^[^,]+$"


class MessageType(enum.Enum):
    """The header ``type``: which of the four kinds of message this is."""

    QUERY = "cti.query"
    REQUEST = "cti.request"
    RESPONSE = "cti.response"
    EVENT = "cti.event"

    @property
    def sender(self) -> Role:
        """Who may send this kind: queries/requests the bridge, responses/events the client."""
        return Role.SERVER if self in (MessageType.QUERY, MessageType.REQUEST) else Role.CLIENT


class Name(enum.Enum):
    """The header ``name`` of every message the control destination defines."""

    CAPABILITIES = "cti.query.capabilities"
    AGENT_INFO = "cti.query.agentinfo"
    VALIDATE_AGENT_CREDENTIALS = "cti.request.validateagentcredentials"
    SERVER_STATUS = "cti.request.serverstatus"
    CREATE_SESSION = "cti.request.createsession"
    DISPOSE = "cti.request.dispose"
    SERVER_STATUS_CHANGED = "cti.serverstatuschanged"


class Result(enum.Enum):
    """A response's ``result``."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class ServerStatus(enum.Enum):
    """The client's ability to service requests, as reported in ``cti.serverstatuschanged``."""

    STARTING_SERVICE = "starting-service"
    IN_SERVICE = "in-service"
    PAUSING_SERVICE = "pausing-service"
    STOPPING_SERVICE = "stopping-service"
    OUT_OF_SERVICE = "out-of-service"


def new_request_id() -> str:
    """A fresh GUID for ``requestId`` (random, not time-based)."""
    return str(uuid.uuid4())


@model
class BridgeMessage(Model):
    """Base of every control-destination message."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("header",), ("body",))
    #: The header ``type`` of this class.
    TYPE: ClassVar[MessageType]
    #: The header ``name`` (``None`` for :class:`FailureResponse`, whose name varies).
    NAME: ClassVar[Name | None]

    @property
    def message_name(self) -> Name:
        """The header ``name`` of this message."""
        assert self.NAME is not None
        return self.NAME


_B = TypeVar("_B", bound=type[BridgeMessage])

#: Every concrete message class, keyed by (type, name, result) as the codec dispatches.
MESSAGE_CLASSES: dict[tuple[MessageType, Name, Result | None], type[BridgeMessage]] = {}


def _message(type_: MessageType, name: Name | None, result: Result | None = None) -> Any:
    """Declare a concrete message class: fixes its header constants and registers it."""

    def register(cls: _B) -> _B:
        cls.TYPE = type_
        cls.NAME = name
        consts: dict[tuple[str, ...], Any] = {("header", "type"): type_.value}
        if name is not None:
            consts[("header", "name")] = name.value
        if result is not None:
            consts[("header", "result")] = result.value
        cls.WIRE_CONSTS = consts
        built = model(cls)
        if name is not None:
            MESSAGE_CLASSES[(type_, name, result)] = built
        return built

    return register


@model
class Addressed(BridgeMessage):
    """A query, request or response: sent to the control destination, correlated by its ``requestId`` member."""

    target: str = wire("header", "target", pattern=CONTROL_TARGET_PATTERN, description="{Processor_Name}.CONTROL")
    request_id: str = wire(
        "header", "requestId", pattern=GUID_PATTERN, description="The request's GUID (a response repeats it)"
    )


# -- queries and requests (bridge -> client) ---------------------------------------------


@model
class Request(Addressed):
    """A query or request: addressed to the control destination, correlated by the ``requestId`` member."""

    #: The success-response class answering this request.
    RESPONSE: ClassVar[type[Response]]


@_message(MessageType.QUERY, Name.CAPABILITIES)
class CapabilitiesQuery(Request):
    """``cti.query.capabilities``: the CTI's capabilities as key/value pairs."""


@_message(MessageType.QUERY, Name.AGENT_INFO)
class AgentInfoQuery(Request):
    """``cti.query.agentinfo``: basic information about an agent, asked with the requester's credentials."""

    agent_id: str = wire("body", "agentId", description="Id of the agent whose info is queried")
    requesting_agent_login: str = wire("body", "requestingAgentLogin", description="Login of the requesting agent")
    requesting_agent_password: str = wire(
        "body", "requestingAgentPassword", secret=True, description="Password of the requesting agent"
    )


@_message(MessageType.REQUEST, Name.VALIDATE_AGENT_CREDENTIALS)
class ValidateAgentCredentialsRequest(Request):
    """``cti.request.validateagentcredentials``: check an agent's credentials without side effects."""

    agent_id: str = wire("body", "agentId", description="Id of the agent being validated")
    agent_login: str = wire("body", "agentLogin", description="Login name of the agent")
    agent_password: str = wire("body", "agentPassword", secret=True, description="Password of the agent")


@_message(MessageType.REQUEST, Name.SERVER_STATUS)
class ServerStatusRequest(Request):
    """``cti.request.serverstatus``: the client should report its status; starts initialization."""


@_message(MessageType.REQUEST, Name.CREATE_SESSION)
class CreateSessionRequest(Request):
    """``cti.request.createsession``: prepare a new agent session on ``destination``."""

    agent_id: str = wire("body", "agentId", description="Id of the agent")
    agent_password: str = wire("body", "agentPassword", secret=True, description="Password of the agent")
    session_id: str = wire("body", "sessionId", description="Id of the new session")
    destination: str = wire("body", "destination", description="Target destination for the session")


@_message(MessageType.REQUEST, Name.DISPOSE)
class DisposeRequest(Request):
    """``cti.request.dispose``: the bridge is ending service; release CTI resources after responding."""


# -- responses (client -> bridge) ---------------------------------------------------------


@model
class Response(Addressed):
    """A response: names the request it answers by the ``name``, ``target`` and ``requestId`` members."""

    #: The header ``result`` of this class (``SUCCESS`` except for :class:`FailureResponse`).
    RESULT: ClassVar[Result] = Result.SUCCESS


@_message(MessageType.RESPONSE, Name.CAPABILITIES, Result.SUCCESS)
class CapabilitiesResponse(Response):
    """Successful answer to ``cti.query.capabilities``."""

    channel_groups_supported: bool = wire("body", "channel-groups-supported")
    channel_groups_max_per_agent: int = wire(
        "body", "channel-groups-max-per-agent", minimum=0, description="Most channel groups an agent can log into"
    )
    channel_groups_media_types: tuple[str, ...] = wire(
        "body", "channel-groups-media-types", comma_list=True, pattern=MEDIA_TYPE_PATTERN
    )
    single_channels_supported: bool = wire("body", "single-channels-supported")
    single_channels_media_types: tuple[str, ...] = wire(
        "body", "single-channels-media-types", comma_list=True, pattern=MEDIA_TYPE_PATTERN
    )


@_message(MessageType.RESPONSE, Name.AGENT_INFO, Result.SUCCESS)
class AgentInfoResponse(Response):
    """Successful answer to ``cti.query.agentinfo``."""

    switch_agent_id: str = wire("body", "switch-agent-id", description="Login id the agent uses with the switch")
    first_name: str | None = wire("body", "first-name", default=None)
    last_name: str | None = wire("body", "last-name", default=None)
    full_name: str | None = wire("body", "full-name", default=None)
    cti_specific: Mapping[str, JsonValue] | None = wire(
        "body", "cti-specific", default=None, description="Platform-specific agent data, passed through as-is"
    )

    @property
    def display_name(self) -> str | None:
        """The agent's name by the seed's rule: ``full-name`` wins over ``first-name``/``last-name``."""
        if self.full_name is not None:
            return self.full_name
        if self.first_name is not None and self.last_name is not None:
            return f"{self.first_name} {self.last_name}"
        return None


@_message(MessageType.RESPONSE, Name.VALIDATE_AGENT_CREDENTIALS, Result.SUCCESS)
class ValidateAgentCredentialsResponse(Response):
    """Successful answer to ``cti.request.validateagentcredentials``: the credentials are valid."""


@_message(MessageType.RESPONSE, Name.SERVER_STATUS, Result.SUCCESS)
class ServerStatusResponse(Response):
    """Successful answer to ``cti.request.serverstatus``."""


@_message(MessageType.RESPONSE, Name.CREATE_SESSION, Result.SUCCESS)
class CreateSessionResponse(Response):
    """Successful answer to ``cti.request.createsession``: the session is ready."""


@_message(MessageType.RESPONSE, Name.DISPOSE, Result.SUCCESS)
class DisposeResponse(Response):
    """Successful answer to ``cti.request.dispose``."""


_REQUEST_NAMES = tuple(n for n in Name if n is not Name.SERVER_STATUS_CHANGED)


class RequestName(enum.Enum):
    """The names a response may carry: those of queries and requests."""

    CAPABILITIES = Name.CAPABILITIES.value
    AGENT_INFO = Name.AGENT_INFO.value
    VALIDATE_AGENT_CREDENTIALS = Name.VALIDATE_AGENT_CREDENTIALS.value
    SERVER_STATUS = Name.SERVER_STATUS.value
    CREATE_SESSION = Name.CREATE_SESSION.value
    DISPOSE = Name.DISPOSE.value


@_message(MessageType.RESPONSE, None, Result.FAILURE)
class FailureResponse(Response):
    """A ``FAILURE`` answer to any query or request; the body is free-form (kept in ``extra``)."""

    RESULT: ClassVar[Result] = Result.FAILURE

    name: RequestName = wire("header", "name", description="Name of the original request")
    error_message: str = wire(
        "header", "errorMessage", description="Why the request failed; logged and may be shown to an agent"
    )

    @property
    def message_name(self) -> Name:
        """The header ``name``: the request this failure answers."""
        return Name(self.name.value)


for _name in _REQUEST_NAMES:
    MESSAGE_CLASSES[(MessageType.RESPONSE, _name, Result.FAILURE)] = FailureResponse

# -- events (client -> bridge) --------------------------------------------------------------


@_message(MessageType.EVENT, Name.SERVER_STATUS_CHANGED)
class ServerStatusChanged(BridgeMessage):
    """``cti.serverstatuschanged``: the client's ability to service requests changed (or was asked)."""

    status: ServerStatus = wire("body", "status")


for _request_cls, _response_cls in (
    (CapabilitiesQuery, CapabilitiesResponse),
    (AgentInfoQuery, AgentInfoResponse),
    (ValidateAgentCredentialsRequest, ValidateAgentCredentialsResponse),
    (ServerStatusRequest, ServerStatusResponse),
    (CreateSessionRequest, CreateSessionResponse),
    (DisposeRequest, DisposeResponse),
):
    _request_cls.RESPONSE = _response_cls

def success_response(request: Request, **body: Any) -> Response:
    """The success response answering ``request`` (same target and requestId); ``body`` fills its fields."""
    return request.RESPONSE(target=request.target, request_id=request.request_id, **body)


def failure_response(request: Request, error_message: str, **extra: JsonValue) -> FailureResponse:
    """A ``FAILURE`` response answering ``request``."""
    return FailureResponse(
        target=request.target,
        request_id=request.request_id,
        name=RequestName(request.message_name.value),
        error_message=error_message,
        extra={f"/body/{k}": v for k, v in extra.items()},
    )


def _all_classes() -> tuple[type[BridgeMessage], ...]:
    seen: dict[type[BridgeMessage], None] = {}
    for cls in MESSAGE_CLASSES.values():
        seen.setdefault(cls)
    return tuple(seen)


#: Every concrete message class, in declaration order.
ALL_MESSAGE_CLASSES: tuple[type[BridgeMessage], ...] = _all_classes()


# -- what the published schemas add to the declarations (docs/quirks.md B1, S4) ---------------------------------


def _alternate_spellings_allowed(schema: dict[str, Any]) -> None:
    """A response's header may spell ``result`` / ``errorMessage`` the serverstatus way (B1): ``deprecated``.

    The alternate key counts only when the canonical one is absent (if both are there, the canonical one wins
    and the other is an unknown member, any value), so each pair is an ``anyOf``: the canonical key, or the
    alternate one meeting the canonical key's schema.
    """
    header = schema["properties"]["header"]
    for alternate, canonical in quirks.ALTERNATE_RESPONSE_HEADER_KEYS.items():
        if canonical not in header["properties"]:
            continue  # an undeclared member: its alternate spelling is an unknown member too
        instead: dict[str, Any] = {
            "type": "object", "properties": {alternate: {**header["properties"][canonical], "deprecated": True}},
        }
        if canonical in header.get("required", ()):
            header["required"].remove(canonical)
            instead["required"] = [alternate]
        # ({} restates the canonical member beside its `required`, as ajv's strictRequired wants.)
        written = {"type": "object", "properties": {canonical: {}}, "required": [canonical]}
        header.setdefault("allOf", []).append({"anyOf": [written, instead]})


for _cls in ALL_MESSAGE_CLASSES:
    if _cls.WIRE_CONSTS.get(("header", "type")) == MessageType.RESPONSE.value:
        refine_schema(_cls, _alternate_spellings_allowed)
del _cls
