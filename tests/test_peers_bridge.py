"""The bridge reference peers: wired conversations checked by an observer, random runs, planted bugs, misbehaviour."""

from __future__ import annotations

import collections
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planted_bridge
from ccproto import bridge
from ccproto.bridge import ControlChannel, Phase, ServerStatus
from ccproto.bridge.states import STATUS_TRANSITIONS
from ccproto.core.errors import (
    DecodeError,
    InvalidTransitionError,
    ProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.limits import Limits
from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.bridge.peers import (
    DEFAULT_AGENTS,
    DEFAULT_CAPABILITIES,
    ReferenceBridge,
    ReferenceBridgeClient,
)

S, C = Role.SERVER, Role.CLIENT
IN, PAUSING, STOPPING, OUT, STARTING = (
    ServerStatus.IN_SERVICE, ServerStatus.PAUSING_SERVICE, ServerStatus.STOPPING_SERVICE,
    ServerStatus.OUT_OF_SERVICE, ServerStatus.STARTING_SERVICE,
)


class Wire:
    """A bridge and a client wired together, every text checked in order by a sticky observer channel."""

    def __init__(self, server: ReferencePeer | None = None, client: ReferencePeer | None = None) -> None:
        self.bridge = server if server is not None else ReferenceBridge()
        self.client = client if client is not None else ReferenceBridgeClient()
        self.now = 0.0
        self.observer: ControlChannel | None = None
        #: Every message of the current connection, with its sender.
        self.transcript: list[tuple[Role, bridge.BridgeMessage]] = []
        #: FAILURE answers (all connections): (request name, status the client had reported when it answered).
        self.failures: list[tuple[bridge.Name, ServerStatus | None]] = []

    def connect(self, *, deliver: bool = True) -> None:
        """Open a connection; the bridge's opening request is delivered unless ``deliver`` is false."""
        self.disconnect()
        self.observer = ControlChannel(S, sticky_errors=True)
        self.transcript = []
        assert self.client.connect(now=self.now) == []
        opening = self.bridge.connect(now=self.now)
        assert len(opening) == 1
        if deliver:
            self.flow(S, opening)
        else:
            self.see(S, opening[0])

    def disconnect(self) -> None:
        assert self.bridge.disconnect(now=self.now) == []
        assert self.client.disconnect(now=self.now) == []
        self.observer = None

    def see(self, sender: Role, text: str) -> bridge.BridgeMessage:
        message = bridge.decode(text)
        assert self.observer is not None, "a peer sent something without a connection"
        if isinstance(message, bridge.FailureResponse):
            self.failures.append((message.message_name, self.observer.server_status))
        self.observer.observe(message, sender, now=self.now)
        self.transcript.append((sender, message))
        return message

    def flow(self, sender: Role, texts: list[str]) -> None:
        """Deliver ``texts`` and every reply they cause, in order, each direction first in, first out."""
        queue = collections.deque((sender, text) for text in texts)
        while queue:
            who, text = queue.popleft()
            self.see(who, text)
            receiver = self.client if who is S else self.bridge
            queue.extend((receiver.role, reply) for reply in receiver.receive(text, now=self.now))

    def stimulate(self, who: Role, name: str) -> list[str]:
        peer = self.bridge if who is S else self.client
        texts = peer.stimulate(name, now=self.now)
        self.flow(who, texts)
        return texts

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.flow(S, self.bridge.advance(now=self.now))
        self.flow(C, self.client.advance(now=self.now))

    def sent(self, sender: Role) -> list[bridge.BridgeMessage]:
        return [message for who, message in self.transcript if who is sender]

    def answer_to(self, request: bridge.BridgeMessage) -> bridge.Response:
        assert isinstance(request, bridge.Request)
        answers = [m for m in self.sent(C) if isinstance(m, bridge.Response) and m.request_id == request.request_id]
        assert len(answers) == 1
        assert answers[0].target == request.target
        assert answers[0].message_name is request.message_name
        return answers[0]


def peers(wire: Wire) -> tuple[ReferenceBridge, ReferenceBridgeClient]:
    assert isinstance(wire.bridge, ReferenceBridge)
    assert isinstance(wire.client, ReferenceBridgeClient)
    return wire.bridge, wire.client


# -- 1. scripted conversations -----------------------------------------------------------------


def test_a_whole_conversation_answers_every_request_once() -> None:
    wire = Wire()
    wire.connect()
    server, client = peers(wire)
    # The bridge opened with serverstatus; the client answered and reported in-service.
    assert [type(m) for m in wire.sent(C)] == [bridge.ServerStatusResponse, bridge.ServerStatusChanged]
    assert server.channel is not None
    assert server.channel.phase is Phase.ACTIVE
    assert server.channel.server_status is IN
    for name in ("query-capabilities", "query-agent-info", "validate-credentials", "create-session", "request-status"):
        assert len(wire.stimulate(S, name)) == 1
    requests = wire.sent(S)
    answers = [wire.answer_to(request) for request in requests]
    capabilities, agent_info, valid, session, status = answers[1:]
    assert isinstance(capabilities, bridge.CapabilitiesResponse)
    assert capabilities.channel_groups_media_types == DEFAULT_CAPABILITIES["channel_groups_media_types"]
    assert isinstance(agent_info, bridge.AgentInfoResponse)
    assert agent_info.display_name == "Agent agent-1001"
    assert agent_info.switch_agent_id == "sw-agent-1001"
    assert isinstance(valid, bridge.ValidateAgentCredentialsResponse)
    assert isinstance(session, bridge.CreateSessionResponse)
    assert isinstance(status, bridge.ServerStatusResponse)
    assert isinstance(wire.transcript[-1][1], bridge.ServerStatusChanged)  # the status follows the answer
    assert wire.stimulate(S, "dispose")
    assert isinstance(wire.transcript[-1][1], bridge.DisposeResponse)
    assert server.channel.phase is client.channel.phase is Phase.CLOSED  # type: ignore[union-attr]
    assert wire.observer is not None
    assert wire.observer.pending_requests() == ()
    # Nothing after dispose, from either side; the client still changes (and remembers) its status.
    for name in ReferenceBridge.STIMULI:
        assert wire.stimulate(S, name) == []
    assert wire.stimulate(C, "pause") == []
    assert client.status is PAUSING
    assert server.errors == []
    assert client.errors == []


def test_requests_use_agents_round_robin_with_fresh_sessions() -> None:
    wire = Wire()
    wire.connect()
    for _ in range(4):
        wire.stimulate(S, "create-session")
        wire.stimulate(S, "validate-credentials")
    sessions = [m for m in wire.sent(S) if isinstance(m, bridge.CreateSessionRequest)]
    validations = [m for m in wire.sent(S) if isinstance(m, bridge.ValidateAgentCredentialsRequest)]
    agents = list(DEFAULT_AGENTS)
    # One cursor for every request naming an agent: create, validate, create, validate, ...
    assert [m.agent_id for m in sessions] == [agents[i % 3] for i in (0, 2, 4, 6)]
    assert [m.agent_id for m in validations] == [agents[i % 3] for i in (1, 3, 5, 7)]
    assert all(m.agent_password == DEFAULT_AGENTS[m.agent_id] for m in sessions)
    assert len({m.session_id for m in sessions}) == 4
    assert all(m.destination == f"ccproto.{m.session_id}" for m in sessions)
    assert all(isinstance(wire.answer_to(m), bridge.Response) and wire.answer_to(m).RESULT is bridge.Result.SUCCESS
               for m in sessions + validations)
    assert len({m.request_id for m in wire.sent(S) if isinstance(m, bridge.Request)}) == 9


def test_unknown_agents_and_wrong_passwords_fail_without_showing_the_password() -> None:
    wire = Wire(ReferenceBridge(agents={"ghost": "boo-secret", "agent-1001": "wrong-secret"}))
    wire.connect()
    for name in ("query-agent-info", "validate-credentials", "create-session",
                 "query-agent-info", "validate-credentials", "create-session"):
        wire.stimulate(S, name)
    answers = [wire.answer_to(m) for m in wire.sent(S)[1:]]
    # Agents alternate ghost, agent-1001, ghost, ...: ghost is unknown everywhere; agent-1001 is known
    # (info, session succeed) but its password is wrong (validation fails).
    kinds = [a.RESULT for a in answers]
    fail, ok = bridge.Result.FAILURE, bridge.Result.SUCCESS
    assert kinds == [fail, fail, fail, ok, fail, ok]
    failures = [a for a in answers if isinstance(a, bridge.FailureResponse)]
    assert "unknown agent 'ghost'" in failures[0].error_message
    assert "invalid credentials" in failures[1].error_message
    assert "agent-1001" in failures[1].error_message
    assert "not in service" not in failures[2].error_message
    assert "unknown agent 'ghost'" in failures[2].error_message
    for failure in failures:
        assert "secret" not in failure.error_message


def test_failure_messages_stay_short_whatever_the_agent_id() -> None:
    client = ReferenceBridgeClient()
    client.connect(now=0)
    client.receive(request_text("cti.request.serverstatus", rid(1)), now=0)
    long_id = "x" * 10_000
    [reply] = client.receive(request_text("cti.query.agentinfo", rid(2), agentId=long_id, requestingAgentLogin="l",
                                          requestingAgentPassword="p"), now=0)
    failure = bridge.decode(reply)
    assert isinstance(failure, bridge.FailureResponse)
    assert failure.request_id == rid(2)
    assert len(failure.error_message) < 100


def test_the_status_outlives_connections_and_is_reported_when_asked() -> None:
    wire = Wire()
    wire.connect()
    server, client = peers(wire)
    wire.disconnect()
    assert client.stimulate("fail", now=wire.now) == []  # no connection: only remembered
    assert client.status is OUT
    wire.connect()
    assert wire.transcript[-1][1] == bridge.ServerStatusChanged(status=OUT)
    wire.stimulate(S, "create-session")
    refusal = wire.transcript[-1][1]
    assert isinstance(refusal, bridge.FailureResponse)
    assert "out-of-service" in refusal.error_message
    assert len(wire.stimulate(C, "start")) == 1
    assert len(wire.stimulate(C, "resume")) == 1
    assert server.channel is not None
    assert server.channel.server_status is IN
    wire.stimulate(S, "create-session")
    assert isinstance(wire.transcript[-1][1], bridge.CreateSessionResponse)


def test_a_status_change_before_the_first_request_is_reported_by_the_answer() -> None:
    client = ReferenceBridgeClient()
    server = ReferenceBridge()
    client.connect(now=0)
    assert client.stimulate("pause", now=0) == []  # phase AWAITING_INIT: the channel may not carry it yet
    replies = client.receive(server.connect(now=0)[0], now=0)
    assert [bridge.decode(r) for r in replies][1] == bridge.ServerStatusChanged(status=PAUSING)


@pytest.mark.parametrize("status", list(ServerStatus))
@pytest.mark.parametrize("name", ReferenceBridgeClient.STIMULI)
def test_status_stimuli_follow_the_brief_and_the_table(status: ServerStatus, name: str) -> None:
    expected = {  # stimulus -> (allowed from, to)
        "pause": ({IN}, PAUSING),
        "resume": ({PAUSING, STARTING}, IN),
        "stop": ({STARTING, IN, PAUSING}, STOPPING),
        "fail": ({STARTING, IN, PAUSING, STOPPING}, OUT),
        "start": ({OUT}, STARTING),
    }
    allowed, to = expected[name]
    client = ReferenceBridgeClient(status=status)
    client.stimulate(name, now=0)
    assert client.status is (to if status in allowed else status)
    if client.status is not status:
        assert client.status in STATUS_TRANSITIONS[status]


def test_nothing_happens_before_connect_or_after_disconnect() -> None:
    server, client = ReferenceBridge(), ReferenceBridgeClient()
    for _ in range(2):
        assert all(server.stimulate(name, now=0) == [] for name in server.STIMULI)
        assert server.channel is None
        assert client.channel is None
        assert server.receive('{"x": 1}', now=0) == []
        assert client.receive("junk", now=0) == []
        server.connect(now=0)
        client.connect(now=0)
        server.disconnect(now=1)
        client.disconnect(now=1)
    assert server.errors == []
    assert client.errors == []
    with pytest.raises(ValueError, match="unknown stimulus"):
        server.stimulate("pause", now=0)
    with pytest.raises(ValueError, match="unknown stimulus"):
        client.stimulate("dispose", now=0)


def test_the_bridge_never_exceeds_max_pending() -> None:
    server = ReferenceBridge(limits=Limits(max_pending=2))
    server.connect(now=0)
    assert len(server.stimulate("query-capabilities", now=0)) == 1
    assert server.stimulate("query-capabilities", now=0) == []
    assert server.channel is not None
    assert len(server.channel.pending_requests()) == 2


def test_the_bridge_gives_up_on_late_answers() -> None:
    server, client = ReferenceBridge(), ReferenceBridgeClient()
    client.connect(now=0)
    opening = server.connect(now=0)
    assert server.advance(now=29) == []
    assert server.channel is not None
    assert len(server.channel.pending_requests()) == 1
    assert server.advance(now=31) == []
    assert server.channel.pending_requests() == ()
    for reply in client.receive(opening[0], now=31):
        server.receive(reply, now=31)
    assert len(server.errors) == 1
    assert isinstance(server.errors[0], UnknownCorrelationIdError)
    assert "expired" in str(server.errors[0])


def test_constructor_arguments_are_checked_and_secrets_stay_hidden() -> None:
    with pytest.raises(ValueError, match="CONTROL"):
        ReferenceBridge(target="no-control")
    with pytest.raises(ValueError, match="at least one agent"):
        ReferenceBridge(agents={})
    with pytest.raises(ValueError, match="capabilities"):
        ReferenceBridgeClient(capabilities={"channel_groups_max_per_agent": -1})
    with pytest.raises(ValueError, match="capabilities"):
        ReferenceBridgeClient(capabilities={"no_such_capability": 1})
    with pytest.raises(TypeError) as info:
        ReferenceBridge(agents={"a": 12345})  # type: ignore[dict-item]
    assert "12345" not in str(info.value)
    server, client = ReferenceBridge(), ReferenceBridgeClient()
    assert server.agent_ids == client.agent_ids == tuple(DEFAULT_AGENTS)
    for peer in (server, client):
        assert all(password not in repr(peer) for password in DEFAULT_AGENTS.values())


# -- 2. random runs ----------------------------------------------------------------------------

OPS = st.one_of(
    st.tuples(st.just("bridge"), st.sampled_from(ReferenceBridge.STIMULI)),
    st.tuples(st.just("client"), st.sampled_from(ReferenceBridgeClient.STIMULI)),
    st.tuples(st.sampled_from(["connect", "disconnect"]), st.just("")),
    st.tuples(st.just("advance"), st.sampled_from(["1", "45"])),
)


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from(list(ServerStatus)), ops=st.lists(OPS, max_size=50))
def test_random_runs_never_break_the_protocol(status: ServerStatus, ops: list[tuple[str, str]]) -> None:
    wire = Wire(client=ReferenceBridgeClient(status=status))
    server, client = peers(wire)
    wire.connect()  # most interesting runs start connected; ops may still disconnect and reconnect
    connected = True
    for op, arg in ops:
        if op == "connect":
            wire.connect()
            connected = True
        elif op == "disconnect":
            wire.disconnect()
            connected = False
        elif op == "advance":
            wire.advance(float(arg))
        elif op == "bridge":
            sent = wire.stimulate(S, arg)
            assert connected or sent == []
        else:
            before = client.status
            sent = wire.stimulate(C, arg)
            assert len(sent) <= 1
            assert sent == [] or client.status is not before
        assert server.errors == []
        assert client.errors == []
        if connected:
            assert wire.observer is not None
            assert server.channel is not None
            assert client.channel is not None
            assert server.channel.phase is client.channel.phase is wire.observer.phase
            assert wire.observer.pending_requests() == server.channel.pending_requests() == ()
            if wire.observer.phase is Phase.ACTIVE:
                # Every change is reported as soon as the channel can carry it.
                assert server.channel.server_status is client.status
    # With one directory on both sides, only createsession fails, and only when not in service.
    assert all(name is bridge.Name.CREATE_SESSION and reported is not IN for name, reported in wire.failures)


# -- 3. planted bugs ---------------------------------------------------------------------------

#: bug id -> (script, the code the observer reports).  Script steps: (who, stimulus) or ("connect", "held").
BUG_SCRIPTS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "createsession-while-pausing": (
        [("connect", ""), ("client", "pause"), ("bridge", "create-session")], "session-while-not-in-service"),
    "another-request-id": ([("connect", ""), ("bridge", "query-agent-info")], "unknown-correlation-id"),
    "stopping-to-in-service": (
        [("connect", ""), ("client", "stop"), ("client", "resume")], "invalid-status-transition"),
    "response-to-unsent-request": ([("connect", "")], "unknown-correlation-id"),
    "createsession-before-status": ([("connect", "held"), ("bridge", "create-session")], "unexpected-message"),
}


def run_script(wire: Wire, script: list[tuple[str, str]]) -> None:
    for who, arg in script:
        if who == "connect":
            wire.connect(deliver=arg != "held")
        else:
            wire.stimulate(S if who == "bridge" else C, arg)


def test_every_planted_bug_has_a_script_and_names_itself() -> None:
    assert set(planted_bridge.BUGS) == set(BUG_SCRIPTS)
    for bug_id, cls in planted_bridge.BUGS.items():
        assert cls.__doc__ is not None
        assert bug_id in cls.__doc__
        assert issubclass(cls, (ReferenceBridge, ReferenceBridgeClient))


@pytest.mark.parametrize("bug_id", sorted(BUG_SCRIPTS))
def test_the_observer_catches_each_planted_bug(bug_id: str) -> None:
    script, code = BUG_SCRIPTS[bug_id]
    # The same script between clean peers is fine ...
    clean = Wire()
    run_script(clean, script)
    assert clean.bridge.errors == []
    assert clean.client.errors == []
    # ... and with the bug planted, the observer reports it.
    bug = planted_bridge.BUGS[bug_id]
    wire = Wire(server=bug()) if bug.role is S else Wire(client=bug())
    with pytest.raises(ProtocolError) as info:
        run_script(wire, script)
    assert info.value.code == code


def test_the_clean_client_refuses_sessions_while_pausing() -> None:
    wire = Wire()
    run_script(wire, BUG_SCRIPTS["createsession-while-pausing"][0])
    refusal = wire.transcript[-1][1]
    assert isinstance(refusal, bridge.FailureResponse)
    assert "pausing-service" in refusal.error_message


def test_the_clean_bridge_waits_for_the_first_status_before_createsession() -> None:
    wire = Wire()
    wire.connect(deliver=False)
    server, _ = peers(wire)
    assert server.stimulate("create-session", now=0) == []
    # Queries are allowed during initialization.
    assert len(wire.stimulate(S, "query-capabilities")) == 1


def test_stopping_status_cannot_resume_in_a_clean_client() -> None:
    wire = Wire()
    run_script(wire, BUG_SCRIPTS["stopping-to-in-service"][0])
    _, client = peers(wire)
    assert client.status is STOPPING
    assert wire.stimulate(C, "fail")
    assert client.status is OUT


# -- 4. the other side misbehaves --------------------------------------------------------------

TARGET = "ccproto.CONTROL"


def request_text(name: str, request_id: str, **body: str) -> str:
    kind = "cti.query" if name.startswith("cti.query") else "cti.request"
    header = {"type": kind, "name": name, "target": TARGET, "requestId": request_id}
    return json.dumps({"header": header, "body": body})


def rid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012x}"


def test_the_client_records_errors_and_keeps_answering() -> None:
    client = ReferenceBridgeClient()
    client.connect(now=0)
    bad = [
        "not json",
        request_text("cti.request.serverstatus", "not-a-guid"),
        request_text("cti.request.createsession", rid(1), agentId="a", agentPassword="p", sessionId="s",
                     destination="d"),  # before serverstatus
        json.dumps({"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                    "body": {"status": "in-service"}}),  # the client's own kind of message
    ]
    for text in bad:
        assert client.receive(text, now=0) == []
    kinds = (DecodeError, SchemaViolationError, UnexpectedMessageError, UnexpectedMessageError)
    assert len(client.errors) == 4
    assert all(isinstance(e, k) for e, k in zip(client.errors, kinds, strict=True))
    replies = [bridge.decode(t) for t in client.receive(request_text("cti.request.serverstatus", rid(2)), now=0)]
    assert replies == [bridge.ServerStatusResponse(target=TARGET, request_id=rid(2)),
                       bridge.ServerStatusChanged(status=IN)]
    # A request reusing an id that is still outstanding cannot happen (answered at once); a reused answered id is fine.
    assert len(client.receive(request_text("cti.query.capabilities", rid(2)), now=0)) == 1
    assert len(client.receive(request_text("cti.request.dispose", rid(3)), now=0)) == 1
    assert client.receive(request_text("cti.query.capabilities", rid(4)), now=0) == []  # after dispose
    assert len(client.errors) == 5
    assert isinstance(client.errors[-1], UnexpectedMessageError)
    assert all("secret" not in str(e) for e in client.errors)


def test_the_bridge_records_errors_and_keeps_going() -> None:
    server = ReferenceBridge()
    opening = bridge.decode(server.connect(now=0)[0])
    assert isinstance(opening, bridge.ServerStatusRequest)
    stray = bridge.CapabilitiesResponse(target=TARGET, request_id=rid(9), **DEFAULT_CAPABILITIES)
    texts = [
        "[1, 2",
        bridge.encode(stray),
        bridge.encode(bridge.ServerStatusChanged(status=STOPPING)),  # fine: the first report
        bridge.encode(bridge.ServerStatusChanged(status=IN)),  # stopping -> in-service is forbidden
        request_text("cti.query.capabilities", rid(10)),  # a request from the client
    ]
    for text in texts:
        assert server.receive(text, now=0) == []
    kinds = (DecodeError, UnknownCorrelationIdError, InvalidTransitionError, UnexpectedMessageError)
    assert len(server.errors) == 4
    assert all(isinstance(e, k) for e, k in zip(server.errors, kinds, strict=True))
    assert server.channel is not None
    assert server.channel.phase is Phase.ACTIVE
    # Still working: its own requests go out, and the right answer closes the opening request.
    assert len(server.stimulate("create-session", now=0)) == 1
    server.receive(bridge.encode(bridge.success_response(opening)), now=0)
    assert len(server.errors) == 4
    assert [p.name for p in server.channel.pending_requests()] == [bridge.Name.CREATE_SESSION]
