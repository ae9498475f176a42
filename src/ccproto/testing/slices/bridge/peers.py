"""Reference peers of the Processor Bridge control destination: the bridge and its CTI client.

Both speak unframed JSON text through a :class:`~ccproto.bridge.ControlChannel`
(``send_text`` / ``receive_message``); framing is the transport's business.
Every decision about *order* is looked up in the channel's own tables
(``PHASE_TRANSITIONS``, ``STATUS_TRANSITIONS``), so a clean peer sends only what
its channel accepts, and a stimulus the current phase does not allow is a no-op.
Each behaviour is a small method so that a planted-bug subclass overrides one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ccproto.bridge import (
    AgentInfoQuery,
    BridgeMessage,
    CapabilitiesQuery,
    CapabilitiesResponse,
    ControlChannel,
    CreateSessionRequest,
    DisposeRequest,
    Request,
    ServerStatus,
    ServerStatusChanged,
    ServerStatusRequest,
    ValidateAgentCredentialsRequest,
    encode,
    failure_response,
    new_request_id,
    success_response,
)
from ccproto.bridge.states import PHASE_TRANSITIONS, STATUS_TRANSITIONS, Input, input_of
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer

__all__ = ["DEFAULT_AGENTS", "DEFAULT_CAPABILITIES", "ReferenceBridge", "ReferenceBridgeClient"]

#: The agent directory both peers use by default: agent id -> password (the passwords are secrets).
DEFAULT_AGENTS: Mapping[str, str] = {
    "agent-1001": "s3cret-1001",
    "agent-1002": "s3cret-1002",
    "agent-1003": "s3cret-1003",
}

#: What the client answers to ``cti.query.capabilities`` by default (``CapabilitiesResponse`` field names).
DEFAULT_CAPABILITIES: Mapping[str, Any] = {
    "channel_groups_supported": True,
    "channel_groups_max_per_agent": 4,
    "channel_groups_media_types": ("voice", "chat", "email"),
    "single_channels_supported": True,
    "single_channels_media_types": ("voice",),
}

_CONTROL_SUFFIX = ".CONTROL"
# Long agent ids are cut in failure messages, so an answer can never outgrow the request it answers.
_MAX_ID_IN_MESSAGE = 64


def _sends(channel: ControlChannel, message: BridgeMessage) -> bool:
    """Whether the phase table lets our side of ``channel`` send ``message`` now."""
    return (channel.phase, channel.our_role, input_of(message)) in PHASE_TRANSITIONS


def _shown(agent_id: str) -> str:
    """An agent id as a failure message shows it (quoted, bounded)."""
    if len(agent_id) > _MAX_ID_IN_MESSAGE:
        return repr(agent_id[:_MAX_ID_IN_MESSAGE]) + "..."
    return repr(agent_id)


def _directory(agents: Mapping[str, str] | None) -> dict[str, str]:
    directory = dict(DEFAULT_AGENTS if agents is None else agents)
    for agent_id, password in directory.items():
        if not isinstance(agent_id, str) or not isinstance(password, str):
            # Never show the value: it may be a password.
            raise TypeError("agent ids and passwords must be strings")
    return directory


class ReferenceBridge(ReferencePeer):
    """The Processor Bridge (``Role.SERVER``): opens the channel, then queries and requests on stimuli.

    ``connect`` sends ``cti.request.serverstatus``; each stimulus sends one
    request when the channel's phase allows it (``create-session`` only once the
    client has reported a status; nothing after ``dispose``).  Agents are taken
    from ``agents`` round-robin, always with their right password.  The bridge
    never replies.  ``advance`` expires requests left unanswered longer than
    ``limits.request_timeout`` (a later answer to one is then recorded as an error).
    """

    protocol: ClassVar[str] = "bridge"
    role: ClassVar[Role] = Role.SERVER
    STIMULI: ClassVar[tuple[str, ...]] = (
        "query-capabilities",
        "query-agent-info",
        "validate-credentials",
        "request-status",
        "create-session",
        "dispose",
    )

    def __init__(
        self,
        *,
        target: str = "ccproto.CONTROL",
        agents: Mapping[str, str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__()
        try:
            encode(ServerStatusRequest(target=target, request_id=new_request_id()))
        except ProtocolError:
            raise ValueError(f"target must be '{{Processor_Name}}.CONTROL', got {target!r}") from None
        self._target = target
        self._agents = _directory(agents)
        if not self._agents:
            raise ValueError("the bridge needs at least one agent")
        self._limits = limits
        self._channel: ControlChannel | None = None
        self._next_agent = 0
        self._sessions = 0
        self._builders: dict[str, Callable[[], Request]] = {
            "query-capabilities": self.capabilities_query,
            "query-agent-info": self.agent_info_query,
            "validate-credentials": self.validate_credentials_request,
            "request-status": self.server_status_request,
            "create-session": self.create_session_request,
            "dispose": self.dispose_request,
        }

    # -- inspection ------------------------------------------------------------------------

    @property
    def channel(self) -> ControlChannel | None:
        """The current connection's channel (``None`` when not connected)."""
        return self._channel

    @property
    def target(self) -> str:
        """The control destination every request is addressed to."""
        return self._target

    @property
    def agent_ids(self) -> tuple[str, ...]:
        """The agents of the directory, in round-robin order (never their passwords)."""
        return tuple(self._agents)

    @property
    def limits(self) -> Limits:
        """The bounds of every channel this peer opens."""
        return self._limits

    # -- the peer contract -----------------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """Open a fresh channel and start initialization with ``cti.request.serverstatus``."""
        self._channel = ControlChannel(Role.SERVER, limits=self._limits, sticky_errors=False)
        return [self.send(self.server_status_request(), now)]

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Check the client's answer or event; errors are recorded, and the bridge never replies."""
        channel = self._channel
        if channel is None:
            return []  # nothing can arrive without a connection
        try:
            channel.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
        return []

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """Send the request ``name`` stands for, if the channel's phase allows it now."""
        builder = self._builders.get(name)
        if builder is None:
            raise ValueError(f"unknown stimulus {name!r}; expected one of {', '.join(self.STIMULI)}")
        channel = self._channel
        if channel is None or not self.may_request(channel, name):
            return []
        return [self.send(builder(), now)]

    def disconnect(self, *, now: float) -> list[str]:
        """Drop the channel (outstanding requests die with it)."""
        self._channel = None
        return []

    def advance(self, *, now: float) -> list[str]:
        """Give up on requests unanswered for longer than ``limits.request_timeout``; sends nothing."""
        if self._channel is not None:
            self._channel.handle_timer(now)
        return []

    # -- decisions (overridable) -----------------------------------------------------------

    def may_request(self, channel: ControlChannel, name: str) -> bool:
        """Whether the bridge may send the request of stimulus ``name`` now: the phase table decides."""
        if len(channel.pending_requests()) >= self._limits.max_pending:
            return False  # the channel would refuse one more outstanding request
        return (channel.phase, Role.SERVER, _STIMULUS_INPUTS[name]) in PHASE_TRANSITIONS

    def send(self, message: BridgeMessage, now: float) -> str:
        """The text of ``message``, checked (and recorded) by the channel."""
        assert self._channel is not None
        return self._channel.send_text(message, now=now)

    def take_agent(self) -> tuple[str, str]:
        """The next agent of the directory, round-robin: (agent id, password)."""
        agent_ids = tuple(self._agents)
        agent_id = agent_ids[self._next_agent % len(agent_ids)]
        self._next_agent = (self._next_agent + 1) % len(agent_ids)
        return agent_id, self._agents[agent_id]

    # -- the requests ----------------------------------------------------------------------

    def capabilities_query(self) -> Request:
        """A ``cti.query.capabilities``."""
        return CapabilitiesQuery(target=self._target, request_id=new_request_id())

    def agent_info_query(self) -> Request:
        """A ``cti.query.agentinfo`` about the next agent, asked with that agent's own credentials."""
        agent_id, password = self.take_agent()
        return AgentInfoQuery(
            target=self._target, request_id=new_request_id(), agent_id=agent_id,
            requesting_agent_login=agent_id, requesting_agent_password=password,
        )

    def validate_credentials_request(self) -> Request:
        """A ``cti.request.validateagentcredentials`` for the next agent, with its right password."""
        agent_id, password = self.take_agent()
        return ValidateAgentCredentialsRequest(
            target=self._target, request_id=new_request_id(), agent_id=agent_id,
            agent_login=agent_id, agent_password=password,
        )

    def server_status_request(self) -> Request:
        """A ``cti.request.serverstatus``."""
        return ServerStatusRequest(target=self._target, request_id=new_request_id())

    def create_session_request(self) -> Request:
        """A ``cti.request.createsession`` for the next agent, with a fresh session id."""
        agent_id, password = self.take_agent()
        self._sessions += 1
        session_id = f"session-{self._sessions}"
        processor = self._target[: -len(_CONTROL_SUFFIX)]
        return CreateSessionRequest(
            target=self._target, request_id=new_request_id(), agent_id=agent_id, agent_password=password,
            session_id=session_id, destination=f"{processor}.{session_id}",
        )

    def dispose_request(self) -> Request:
        """A ``cti.request.dispose``."""
        return DisposeRequest(target=self._target, request_id=new_request_id())


_STIMULUS_INPUTS: dict[str, Input] = {
    "query-capabilities": Input.CAPABILITIES_QUERY,
    "query-agent-info": Input.AGENT_INFO_QUERY,
    "validate-credentials": Input.VALIDATE_CREDENTIALS_REQUEST,
    "request-status": Input.SERVER_STATUS_REQUEST,
    "create-session": Input.CREATE_SESSION_REQUEST,
    "dispose": Input.DISPOSE_REQUEST,
}


class ReferenceBridgeClient(ReferencePeer):
    """The bridge's CTI client (``Role.CLIENT``): answers every request exactly once and reports its status.

    ``status`` is the CTI link's status; it outlives connections.  Stimuli move
    it along ``STATUS_TRANSITIONS`` (a change the table forbids is a no-op) and
    report it with ``cti.serverstatuschanged`` when the channel may carry one;
    otherwise the next ``cti.request.serverstatus`` reports it.
    ``createsession`` succeeds only while the status last reported *on this
    channel* is ``in-service`` and the agent is known.
    """

    protocol: ClassVar[str] = "bridge"
    role: ClassVar[Role] = Role.CLIENT
    STIMULI: ClassVar[tuple[str, ...]] = ("pause", "resume", "stop", "fail", "start")
    #: The status each stimulus moves to; allowed only from the statuses ``STATUS_TRANSITIONS`` lets reach it.
    STATUS_STIMULI: ClassVar[Mapping[str, ServerStatus]] = {
        "pause": ServerStatus.PAUSING_SERVICE,
        "resume": ServerStatus.IN_SERVICE,
        "stop": ServerStatus.STOPPING_SERVICE,
        "fail": ServerStatus.OUT_OF_SERVICE,
        "start": ServerStatus.STARTING_SERVICE,
    }

    def __init__(
        self,
        *,
        agents: Mapping[str, str] | None = None,
        status: ServerStatus = ServerStatus.IN_SERVICE,
        capabilities: Mapping[str, Any] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__()
        self._agents = _directory(agents)
        self._status = ServerStatus(status)
        self._capabilities = {**DEFAULT_CAPABILITIES, **(capabilities or {})}
        try:
            # Check the values once, here, rather than failing in the middle of a conversation.
            encode(CapabilitiesResponse(target="x.CONTROL", request_id=new_request_id(), **self._capabilities))
        except (TypeError, ProtocolError) as exc:
            raise ValueError(f"invalid capabilities: {exc}") from None
        self._limits = limits
        self._channel: ControlChannel | None = None

    # -- inspection ------------------------------------------------------------------------

    @property
    def channel(self) -> ControlChannel | None:
        """The current connection's channel (``None`` when not connected)."""
        return self._channel

    @property
    def status(self) -> ServerStatus:
        """The CTI link's status now (reported or not)."""
        return self._status

    @property
    def agent_ids(self) -> tuple[str, ...]:
        """The agents this client knows (never their passwords)."""
        return tuple(self._agents)

    @property
    def limits(self) -> Limits:
        """The bounds of every channel this peer opens."""
        return self._limits

    # -- the peer contract -----------------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """Open a fresh channel; the client waits for the bridge's ``cti.request.serverstatus``."""
        self._channel = ControlChannel(Role.CLIENT, limits=self._limits, sticky_errors=False)
        return []

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Answer a request at once; anything the channel refuses is recorded and left unanswered."""
        channel = self._channel
        if channel is None:
            return []  # nothing can arrive without a connection
        try:
            message = channel.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
            return []
        if not isinstance(message, Request):
            return []  # unreachable: the channel only accepts requests from the bridge
        return [self.send(reply, now) for reply in self.answer(message)]

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """Change the CTI link's status as ``name`` says, reporting it if the channel may carry a report now."""
        if name not in self.STATUS_STIMULI:
            raise ValueError(f"unknown stimulus {name!r}; expected one of {', '.join(self.STIMULI)}")
        new = self.status_change(name)
        if new is None:
            return []
        self._status = new
        return self.report_status(now)

    def disconnect(self, *, now: float) -> list[str]:
        """Drop the channel; the status stays."""
        self._channel = None
        return []

    # -- decisions (overridable) -----------------------------------------------------------

    def status_change(self, name: str) -> ServerStatus | None:
        """The status stimulus ``name`` moves to from the current one (``None``: not allowed, a no-op)."""
        new = self.STATUS_STIMULI[name]
        return new if new in STATUS_TRANSITIONS[self._status] else None

    def report_status(self, now: float) -> list[str]:
        """A ``cti.serverstatuschanged`` with the current status, if the channel may carry one now."""
        event = ServerStatusChanged(status=self._status)
        channel = self._channel
        if channel is None or not _sends(channel, event):
            return []  # remembered; the next cti.request.serverstatus reports it
        return [self.send(event, now)]

    def send(self, message: BridgeMessage, now: float) -> str:
        """The text of ``message``, checked (and recorded) by the channel."""
        assert self._channel is not None
        return self._channel.send_text(message, now=now)

    def answer(self, request: Request) -> list[BridgeMessage]:
        """Everything to send in answer to ``request``: its response first."""
        if isinstance(request, ServerStatusRequest):
            return self.answer_server_status(request)
        if isinstance(request, CapabilitiesQuery):
            return self.answer_capabilities(request)
        if isinstance(request, AgentInfoQuery):
            return self.answer_agent_info(request)
        if isinstance(request, ValidateAgentCredentialsRequest):
            return self.answer_validate_credentials(request)
        if isinstance(request, CreateSessionRequest):
            return self.answer_create_session(request)
        if isinstance(request, DisposeRequest):
            return self.answer_dispose(request)
        return [failure_response(request, "unsupported request")]  # no other request exists today

    def answer_server_status(self, request: ServerStatusRequest) -> list[BridgeMessage]:
        """Success, then the current status."""
        return [success_response(request), ServerStatusChanged(status=self._status)]

    def answer_capabilities(self, request: CapabilitiesQuery) -> list[BridgeMessage]:
        """The configured capabilities."""
        return [success_response(request, **self._capabilities)]

    def answer_agent_info(self, request: AgentInfoQuery) -> list[BridgeMessage]:
        """The agent's details, or FAILURE for an unknown agent."""
        if request.agent_id not in self._agents:
            return [failure_response(request, f"unknown agent {_shown(request.agent_id)}")]
        return [success_response(request, **self.agent_details(request.agent_id))]

    def answer_validate_credentials(self, request: ValidateAgentCredentialsRequest) -> list[BridgeMessage]:
        """Success iff the agent is known and the password is its own (the login is not checked)."""
        if not self.password_matches(request.agent_id, request.agent_password):
            return [failure_response(request, f"invalid credentials for agent {_shown(request.agent_id)}")]
        return [success_response(request)]

    def answer_create_session(self, request: CreateSessionRequest) -> list[BridgeMessage]:
        """Success, or FAILURE saying why (see :meth:`create_session_refusal`)."""
        reason = self.create_session_refusal(request)
        return [failure_response(request, reason) if reason is not None else success_response(request)]

    def answer_dispose(self, request: DisposeRequest) -> list[BridgeMessage]:
        """Success; the channel then carries nothing more."""
        return [success_response(request)]

    def create_session_refusal(self, request: CreateSessionRequest) -> str | None:
        """Why ``request`` fails (``None``: it succeeds): the status reported on this channel, then the agent."""
        reported = self._channel.server_status if self._channel is not None else None
        if reported is not ServerStatus.IN_SERVICE:
            shown = reported.value if reported is not None else "not reported yet"
            return f"the CTI link is not in service (last reported status: {shown})"
        if request.agent_id not in self._agents:
            return f"unknown agent {_shown(request.agent_id)}"
        return None

    def password_matches(self, agent_id: str, password: str) -> bool:
        """Whether ``agent_id`` is known and ``password`` is its password."""
        expected = self._agents.get(agent_id)
        # compare_digest: a reference CTI should not leak how much of a password matched.
        return expected is not None and hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8"))

    def agent_details(self, agent_id: str) -> dict[str, Any]:
        """The ``AgentInfoResponse`` fields describing a known agent."""
        return {"switch_agent_id": f"sw-{agent_id}", "full_name": f"Agent {agent_id}"}
