"""Reference peers of the Interaction Processor: the processor (with the UCCX report resource) and its client.

Both are pure: texts in, texts out, time passed in as ``now``.  Every text
they return comes from their own :class:`~ccproto.processor.ProcessorSession`'s
``send``, so a clean peer cannot emit what the session refuses.  Each decision
("confirm or prepare?", "what does a begin do?") is one small method, so a
planted-bug subclass overrides one of them.
"""

from __future__ import annotations

import collections
import copy
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar

from ccproto.core.errors import LimitExceededError, ProtocolError, SchemaViolationError
from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.processor import (
    REGISTRY,
    UCCX_REPORT_RESOURCE_TYPE,
    AgentCredentials,
    CallJourneyRequest,
    CallJourneyStep,
    CallJourneySuccess,
    Failure,
    FailureResponse,
    GetCapabilitiesRequest,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
    MemberType,
    PendingCommand,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    ProcessorSession,
    Registry,
    RemovedMember,
    Request,
    SessionParameters,
    SessionResource,
    TeamAddedEvent,
    TeamMember,
    TeamMemberChanges,
    TeamStatusBeginRequest,
    TeamStatusBeginSuccess,
    TeamStatusEndRequest,
    TeamStatusEndSuccess,
    TeamWithMembers,
    TeamWithRemovedMembers,
    Unknown,
)
from ccproto.testing.peers.base import ReferencePeer

__all__ = [
    "AgentSessions",
    "DEFAULT_AGENTS",
    "DEFAULT_CAPABILITIES",
    "INVALID_REQUEST",
    "UNKNOWN_COMMAND",
    "UNSUPPORTED_COMMAND",
    "ReferenceProcessor",
    "ReferenceProcessorClient",
]

#: What :class:`ReferenceProcessor` answers getCapabilities with, unless told otherwise.
DEFAULT_CAPABILITIES: Mapping[str, JsonValue] = {
    "resourceTypes": [UCCX_REPORT_RESOURCE_TYPE],
    "reports": ["report.calljourney", "report.teamstatus"],
    "sessionOverride": True,
}

#: The agents :class:`ReferenceProcessorClient` prepares sessions for, unless told otherwise (id -> password).
DEFAULT_AGENTS: Mapping[str, str] = {"1001": "secret-1001", "1002": "secret-1002"}

#: The member statuses a ``"team-change"`` stimulus cycles through.
_STATUS_CYCLE = (MemberStatus.NOT_READY, MemberStatus.ACW, MemberStatus.READY)

# Failure codes: the seed names none, so these say what went wrong.
#: Failure code: no registry knows the command.
UNKNOWN_COMMAND = "unknown-command"
#: Failure code: a registry declares the command, but this processor does not carry it out.
UNSUPPORTED_COMMAND = "unsupported-command"
#: Failure code: the request broke its schema.
INVALID_REQUEST = "invalid-request"


class AgentSessions(collections.OrderedDict[str, str]):
    """Agent id -> resource id of its session, oldest first; ``created`` numbers the resource ids.

    One table may be shared by the peers of one Interaction Processor (``ccproto serve``
    makes a peer per connection), so sessions outlive connections there too.
    """

    def __init__(self) -> None:
        super().__init__()
        #: How many sessions were created (the next resource id is ``session-<created + 1>``).
        self.created = 0


class ReferenceProcessor(ReferencePeer):
    """The Interaction Processor with the UCCX report resource (``Role.SERVER``).

    Agent sessions (agent id -> resource id) outlive connections; team-status
    reports belong to one connection.  Every request is answered at once, in
    the order received.  ``STIMULI``: ``"team-change"`` (a member's status
    changes: a memberstatuschanged event per running report) and
    ``"members-removed"`` (a memberremoved event per running report).
    """

    protocol: ClassVar[str] = "processor"
    role: ClassVar[Role] = Role.SERVER
    STIMULI: ClassVar[tuple[str, ...]] = ("team-change", "members-removed")

    def __init__(
        self,
        *,
        registry: Registry = REGISTRY,
        limits: Limits = DEFAULT_LIMITS,
        capabilities: Mapping[str, JsonValue] | None = None,
        max_sessions: int = 1024,
        sessions: AgentSessions | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.limits = limits
        #: getCapabilities' answer (a private copy: the caller's dict may change later).
        self.capabilities: dict[str, JsonValue] = copy.deepcopy(
            dict(DEFAULT_CAPABILITIES if capabilities is None else capabilities)
        )
        #: Most agent sessions kept; the oldest is forgotten beyond it (state must stay bounded).
        self.max_sessions = max_sessions
        #: Agent id -> resource id of its session (outlives connections; may be shared with other peers).
        self.sessions = AgentSessions() if sessions is None else sessions
        #: The current connection's session (``None`` while disconnected).
        self.session: ProcessorSession | None = None
        #: Agent ids whose team-status report runs on the current connection, in the order they began.
        self.reports: dict[str, None] = {}
        self._turn = 0

    # -- the peer contract -----------------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """A new connection: a fresh session, no report running; the processor says nothing first."""
        self.session = ProcessorSession(
            Role.SERVER, registry=self.registry, limits=self.limits, sticky_errors=False
        )
        self.reports = {}
        return []

    def disconnect(self, *, now: float) -> list[str]:
        """The connection ended: its reports stop; agent sessions stay."""
        self.session = None
        self.reports = {}
        return []

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Answer one request (plus what it triggers); broken input is recorded and, if it was a request, failed."""
        session = self._session()
        before = len(session.pending_requests())
        try:
            message = session.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
            if isinstance(exc, SchemaViolationError):
                pending = session.pending_requests()
                if len(pending) > before:
                    # The session queued it (a request-shaped value with a string command): only a failure
                    # repeating it answers it (docs/quirks.md P13).
                    return self._emit_all([self.answer_invalid(pending[-1], exc)], now)
            return []
        if not isinstance(message, Request):  # pragma: no cover - the session refuses what a client cannot send
            return []
        # What ``original`` must repeat: the request's JSON as it crossed the wire (the newest request queued).
        original = session.pending_requests()[-1].value
        return self._emit_all(self.answer(message, original), now)

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """``"team-change"`` / ``"members-removed"``: one event per running report (none while disconnected)."""
        if name not in self.STIMULI:
            raise ValueError(f"unknown stimulus {name!r}; expected one of {self.STIMULI}")
        if self.session is None:
            return []
        agents = list(self.reports)
        if name == "team-change":
            self._turn += 1
            events: list[ProcessorMessage] = [self.member_status_changed_event(agent) for agent in agents]
        else:
            events = [self.member_removed_event(agent) for agent in agents]
        return self._emit_all(events, now)

    # -- sending ---------------------------------------------------------------------------

    def _session(self) -> ProcessorSession:
        if self.session is None:
            # A text arrived, so a connection is open even though nobody said so.
            self.connect(now=0.0)
        assert self.session is not None
        return self.session

    def emit(self, message: ProcessorMessage, *, now: float) -> str:
        """The text of one message, checked by this connection's session (which raises if it breaks a rule)."""
        assert self.session is not None
        return self.session.send(message, now=now)

    def _emit_all(self, messages: Sequence[ProcessorMessage], now: float) -> list[str]:
        texts: list[str] = []
        for message in messages:
            try:
                texts.append(self.emit(message, now=now))
            except LimitExceededError as exc:
                # An answer repeating a request close to max_message_bytes cannot fit in one message: record it
                # and give the request up (as a timer would), so the command's next request is answered normally.
                self._refused(exc)
                assert self.session is not None
                self.session.handle_timer(math.inf)
                break
        return texts

    # -- answering requests ----------------------------------------------------------------

    def answer(self, request: Request, original: Mapping[str, JsonValue]) -> list[ProcessorMessage]:
        """The messages answering ``request`` (its response first), ``original`` being its JSON as received."""
        if isinstance(request, Unknown):
            return [self.failure(request.command_name, original, UNKNOWN_COMMAND, "no such command")]
        if isinstance(request, PrepareSessionRequest):
            return [self.answer_prepare_session(request)]
        if isinstance(request, GetCapabilitiesRequest):
            return [self.answer_get_capabilities(request)]
        if isinstance(request, CallJourneyRequest):
            return [self.answer_call_journey(request)]
        if isinstance(request, TeamStatusBeginRequest):
            return self.answer_team_status_begin(request)
        if isinstance(request, TeamStatusEndRequest):
            return [self.answer_team_status_end(request)]
        # A command some registry declares but this processor does not carry out.
        return [self.failure(request.command_name, original, UNSUPPORTED_COMMAND, "command not supported")]

    def should_confirm(self, request: PrepareSessionRequest) -> bool:
        """Whether to ask first: the agent already has a session and the request does not override it."""
        return request.data.agent.id in self.sessions and not request.data.override

    def answer_prepare_session(self, request: PrepareSessionRequest) -> PrepareSessionConfirm | PrepareSessionSuccess:
        """Confirm (an existing session would be destroyed) or prepare the session."""
        if self.should_confirm(request):
            return self.confirm_prepare_session(request)
        return self.start_session(request)

    def confirm_prepare_session(self, request: PrepareSessionRequest) -> PrepareSessionConfirm:
        """Ask the user before replacing the agent's session; ``original`` repeats the request."""
        return PrepareSessionConfirm(
            message=f"Agent {request.data.agent.id} already has a session; replace it?", original=request
        )

    def start_session(self, request: PrepareSessionRequest) -> PrepareSessionSuccess:
        """Create (or replace) the agent's session under a fresh resource id; ``resource.data`` repeats ``data``."""
        self.sessions.created += 1
        resource_id = f"session-{self.sessions.created}"
        agent_id = request.data.agent.id
        self.sessions.pop(agent_id, None)
        self.sessions[agent_id] = resource_id
        while len(self.sessions) > self.max_sessions:
            self.sessions.popitem(last=False)
        return PrepareSessionSuccess(resource=SessionResource(id=resource_id, data=request.data))

    def answer_get_capabilities(self, request: GetCapabilitiesRequest) -> GetCapabilitiesSuccess:
        """This processor's capabilities."""
        return GetCapabilitiesSuccess(capabilities=copy.deepcopy(self.capabilities))

    def answer_call_journey(self, request: CallJourneyRequest) -> CallJourneySuccess:
        """A short plausible journey: the call queued on a route point, then rang an agent's phone."""
        call_id = request.call_id
        return CallJourneySuccess(call_journey=(
            CallJourneyStep(
                call_id=call_id, device="8000", device_type="RoutePoint", description="Main queue", duration="00:00:12"
            ),
            CallJourneyStep(
                call_id=call_id, device="1001", device_type="Agent", description="Agent phone", duration="00:03:05"
            ),
        ))

    def answer_team_status_begin(self, request: TeamStatusBeginRequest) -> list[ProcessorMessage]:
        """Success; a report that was not running starts and reports the agent's team (a teamadded event)."""
        started = self.start_report(request.agent_id)
        answer: list[ProcessorMessage] = [TeamStatusBeginSuccess()]
        if started:
            answer.append(self.team_added_event(request.agent_id))
        return answer

    def answer_team_status_end(self, request: TeamStatusEndRequest) -> TeamStatusEndSuccess:
        """Success; the agent's report stops (ending one that is not running ends nothing, quirk P11)."""
        self.end_report(request.agent_id)
        return TeamStatusEndSuccess()

    def start_report(self, agent_id: str) -> bool:
        """Run ``agent_id``'s report; whether it was not running before."""
        if agent_id in self.reports:
            return False
        self.reports[agent_id] = None
        return True

    def end_report(self, agent_id: str) -> None:
        """Stop ``agent_id``'s report: no team-status event for it afterwards."""
        self.reports.pop(agent_id, None)

    def failure(
        self, command: str, original: Mapping[str, JsonValue], code: str, message: str
    ) -> FailureResponse:
        """A failure of ``command`` whose ``original`` repeats the request exactly as it was received."""
        return FailureResponse(command=command, failure=Failure(code=code, message=message), original=original)

    def answer_invalid(self, pending: PendingCommand, error: ProtocolError) -> FailureResponse:
        """The failure answering a request that broke its schema (``pending.value`` is its JSON as received)."""
        where = error.pointer or "/"
        # Only the code and pointer: never the value, which may hold a secret.
        return self.failure(pending.command, pending.value, INVALID_REQUEST, f"{error.code} at {where}")

    # -- team-status events ----------------------------------------------------------------

    def team_id(self, agent_id: str) -> str:
        """The id of the team the agent belongs to (every agent is in the same one)."""
        # Not derived from the agent id: an event already repeats it once, and must stay within the size limit.
        return "team-1"

    def team_members(self) -> tuple[TeamMember, ...]:
        """The members of every team (a supervisor and an agent)."""
        return (
            TeamMember(
                member_id="2001", member_type=MemberType.SUPERVISOR, member_name="Sam Supervisor",
                status=MemberStatus.READY, reason="",
            ),
            TeamMember(
                member_id="2002", member_type=MemberType.AGENT, member_name="Alex Agent",
                status=MemberStatus.NOT_READY, reason="7",
            ),
        )

    def team_added_event(self, agent_id: str) -> TeamAddedEvent:
        """The agent's team, with its members (sent when its report starts)."""
        return TeamAddedEvent(agent_id=agent_id, team=TeamWithMembers(
            team_id=self.team_id(agent_id), team_name="Support", members=self.team_members()
        ))

    def member_status_changed_event(self, agent_id: str) -> MemberStatusChangedEvent:
        """The team's agent member changed status (cycling through the statuses, one step per stimulus)."""
        member = self.team_members()[-1]
        status = _STATUS_CYCLE[self._turn % len(_STATUS_CYCLE)]
        changed = TeamMember(
            member_id=member.member_id, member_type=member.member_type, member_name=member.member_name,
            status=status, reason="" if status is MemberStatus.READY else member.reason,
        )
        return MemberStatusChangedEvent(agent_id=agent_id, team=TeamMemberChanges(
            team_id=self.team_id(agent_id), team_name="Support", members=(changed,)
        ))

    def member_removed_event(self, agent_id: str) -> MemberRemovedEvent:
        """The team's agent member was removed."""
        member = self.team_members()[-1]
        return MemberRemovedEvent(agent_id=agent_id, team=TeamWithRemovedMembers(
            team_id=self.team_id(agent_id), team_name="Support", members=(RemovedMember(member_id=member.member_id),)
        ))


class ReferenceProcessorClient(ReferencePeer):
    """A client of the Interaction Processor (``Role.CLIENT``) with a small pool of agents.

    ``STIMULI``: ``"prepare-session"`` (the next agent, round robin, ``override:
    false``), ``"get-capabilities"``, ``"call-journey"``, ``"begin-report"`` (the
    next agent, round robin), ``"end-report"`` (the oldest report this
    connection began and has not ended; none: no-op).  A prepareSession
    confirm is accepted at once: the request is repeated with ``override: true``
    (quirk P10).  Successes, failures and events need no reply.
    """

    protocol: ClassVar[str] = "processor"
    role: ClassVar[Role] = Role.CLIENT
    STIMULI: ClassVar[tuple[str, ...]] = (
        "prepare-session", "get-capabilities", "call-journey", "begin-report", "end-report"
    )

    def __init__(
        self,
        agents: Mapping[str, str] | None = None,
        *,
        limits: Limits = DEFAULT_LIMITS,
        registry: Registry = REGISTRY,
        model: str = "uccx",
    ) -> None:
        super().__init__()
        pool = dict(DEFAULT_AGENTS if agents is None else agents)
        if not pool:
            raise ValueError("a client needs at least one agent")
        # Passwords stay in here: never in a repr, an error or a log.
        self._agents = pool
        self._agent_ids = tuple(pool)
        self.limits = limits
        self.registry = registry
        #: The call model prepareSession asks for.
        self.model = model
        #: The current connection's session (``None`` while disconnected).
        self.session: ProcessorSession | None = None
        #: Agent ids whose report this connection began and has not ended, oldest first.
        self.began: dict[str, None] = {}
        self._next_session = 0
        self._next_report = 0
        self._calls = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agents={list(self._agent_ids)!r})"

    # -- the peer contract -----------------------------------------------------------------

    def connect(self, *, now: float) -> list[str]:
        """A new connection: a fresh session; the client says nothing until stimulated."""
        self.session = ProcessorSession(
            Role.CLIENT, registry=self.registry, limits=self.limits, sticky_errors=False
        )
        self.began = {}
        return []

    def disconnect(self, *, now: float) -> list[str]:
        """The connection ended: its reports and outstanding requests went with it."""
        self.session = None
        self.began = {}
        return []

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """Check one message from the processor; a prepareSession confirm is answered by repeating with override."""
        if self.session is None:
            self.connect(now=now)  # a text arrived, so a connection is open
        assert self.session is not None
        try:
            message = self.session.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
            return []
        return self._send_all(self.react(message), now)

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """Send the request ``name`` asks for (nothing while disconnected or with too much outstanding)."""
        if name not in self.STIMULI:
            raise ValueError(f"unknown stimulus {name!r}; expected one of {self.STIMULI}")
        if self.session is None or len(self.session.pending_requests()) >= self.limits.max_pending:
            return []  # disconnected, or a processor that answers nothing: more would break max_pending
        request: Request | None
        if name == "prepare-session":
            request = self.prepare_session_request()
        elif name == "get-capabilities":
            request = GetCapabilitiesRequest()
        elif name == "call-journey":
            request = self.call_journey_request()
        elif name == "begin-report":
            request = self.begin_report_request()
        else:
            request = self.end_report_request()
        return self._send_all([] if request is None else [request], now)

    # -- decisions -------------------------------------------------------------------------

    def react(self, message: ProcessorMessage) -> list[Request]:
        """What to send in reply: only a confirm gets one (the user agrees; repeat with override, quirk P10)."""
        if isinstance(message, PrepareSessionConfirm):
            return [message.original.with_override()]
        return []

    def prepare_session_request(self) -> PrepareSessionRequest:
        """prepareSession for the next agent of the pool, without override (as the seed recommends)."""
        agent_id = self._agent_ids[self._next_session % len(self._agent_ids)]
        self._next_session += 1
        return PrepareSessionRequest(data=SessionParameters(
            model=self.model, override=False, agent=AgentCredentials(id=agent_id, password=self._agents[agent_id])
        ))

    def call_journey_request(self) -> CallJourneyRequest:
        """report.calljourney for a new call id."""
        self._calls += 1
        return CallJourneyRequest(call_id=f"call-{self._calls}")

    def begin_report_request(self) -> TeamStatusBeginRequest:
        """report.teamstatus.begin for the next agent of the pool."""
        agent_id = self._agent_ids[self._next_report % len(self._agent_ids)]
        self._next_report += 1
        self.began[agent_id] = None
        return TeamStatusBeginRequest(agent_id=agent_id)

    def end_report_request(self) -> TeamStatusEndRequest | None:
        """report.teamstatus.end for the oldest report this connection began (``None``: none began)."""
        if not self.began:
            return None
        agent_id = next(iter(self.began))
        del self.began[agent_id]
        return TeamStatusEndRequest(agent_id=agent_id)

    # -- sending ---------------------------------------------------------------------------

    def _send_all(self, requests: Sequence[Request], now: float) -> list[str]:
        assert self.session is not None
        texts: list[str] = []
        for request in requests:
            texts.append(self.session.send(request, now=now))
        return texts
