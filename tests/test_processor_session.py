"""The Interaction Processor session: every (exchange, sender, input) and (report, input) pair from the tables,
direction, FIFO answers, echoes, confirm, team-status reports, invalid requests, timers, limits, sticky errors,
error context, the wire, and a property over random interleavings."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import deque
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.core.errors import (
    DecodeError,
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
    UnknownMessageError,
)
from ccproto.core.limits import Limits
from ccproto.core.model import wire
from ccproto.core.roles import Role
from ccproto.processor import (
    REGISTRY,
    AgentCredentials,
    CallJourneyRequest,
    CallJourneyStep,
    CallJourneySuccess,
    ConfirmResponse,
    Exchange,
    Failure,
    FailureResponse,
    GetCapabilitiesRequest,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MembersAddedEvent,
    MemberStatus,
    MemberStatusChangedEvent,
    MemberType,
    PendingCommand,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    ProcessorSession,
    RemovedMember,
    ReportState,
    Request,
    SessionParameters,
    SessionResource,
    SessionState,
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
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
    decode,
    encode,
    encode_value,
    failure_response,
)
from ccproto.processor.session import REPORT_NOT_ACTIVE
from ccproto.processor.states import (
    EXCHANGE_HINTS,
    EXCHANGE_LOOKUP,
    EXCHANGE_TRANSITIONS,
    JOINED_EXCHANGE_TRANSITIONS,
    JOINED_REPORT_TRANSITIONS,
    REPORT_LOOKUP,
    REPORT_TRANSITIONS,
    Effect,
    Input,
    ReportInput,
    exchange_of,
    input_of,
    report_input_of,
)
from ccproto.testing.strategies import from_model

S, C = Role.SERVER, Role.CLIENT
GC, PS, CJ = "getCapabilities", "prepareSession", "report.calljourney"
BEGIN, END = "report.teamstatus.begin", "report.teamstatus.end"
UNKNOWN = "acme.hold"
CANARY = "hunter2-canary"
AGENT = "1001"
DIRECTION_HINT = "requests flow client -> processor; responses and events flow processor -> client"


def ask(
    *, override: bool = False, model: str = "uccx", agent: str = AGENT, password: str = CANARY
) -> PrepareSessionRequest:
    return PrepareSessionRequest(
        data=SessionParameters(model=model, override=override, agent=AgentCredentials(id=agent, password=password))
    )


ASK = ask()


def prepared(request: PrepareSessionRequest, resource_id: str = "session-1") -> PrepareSessionSuccess:
    return PrepareSessionSuccess(resource=SessionResource(id=resource_id, data=request.data))


def failure(command: str, original: Any, code: str = "refused") -> FailureResponse:
    return FailureResponse(command=command, failure=Failure(code=code, message="no"), original=original)


def unknown_confirm(command: str, original: Any) -> UnknownConfirm:
    return UnknownConfirm(command=command, message="Are you sure?", extra={"/original": original})


def success_for(request: Request) -> ProcessorMessage:
    """A success that answers ``request`` correctly."""
    if isinstance(request, PrepareSessionRequest):
        return prepared(request)
    if isinstance(request, GetCapabilitiesRequest):
        return GetCapabilitiesSuccess(capabilities={"transfer": True})
    if isinstance(request, CallJourneyRequest):
        return CallJourneySuccess(call_journey=(CallJourneyStep(
            call_id=request.call_id, device="d1", device_type="Agent", description="answered", duration="00:01:02"),))
    if isinstance(request, TeamStatusBeginRequest):
        return TeamStatusBeginSuccess()
    if isinstance(request, TeamStatusEndRequest):
        return TeamStatusEndSuccess()
    assert isinstance(request, UnknownRequest)
    return UnknownSuccess(command=request.command)


def confirm_for(request: Request, original: Any) -> ProcessorMessage:
    """A confirm of ``request`` (repeating ``original``): the registered class where there is one."""
    if isinstance(request, PrepareSessionRequest):
        return PrepareSessionConfirm(message="Replace your session?", original=request)
    return unknown_confirm(request.command_name, original)


def member(member_id: str = "m1") -> TeamMember:
    return TeamMember(member_id=member_id, member_type=MemberType.AGENT, member_name="Ann",
                      status=MemberStatus.READY, reason="")


def team_events(agent_id: str = AGENT) -> list[TeamStatusEvent]:
    """One event of each team-status kind."""
    team = Team(team_id="t1", team_name="Team 1")
    changes = TeamMemberChanges(team_id="t1", team_name="Team 1", members=(member(),))
    return [
        TeamChangedEvent(agent_id=agent_id, team=team),
        TeamRemovedEvent(agent_id=agent_id, team=team),
        TeamAddedEvent(agent_id=agent_id, team=TeamWithMembers(team_id="t1", team_name="Team 1", members=())),
        MembersAddedEvent(agent_id=agent_id, team=changes),
        MemberStatusChangedEvent(agent_id=agent_id, team=changes),
        MemberRemovedEvent(agent_id=agent_id, team=TeamWithRemovedMembers(
            team_id="t1", team_name="Team 1", members=(RemovedMember(member_id="m1"),))),
    ]


def team_event(agent_id: str = AGENT) -> TeamChangedEvent:
    return TeamChangedEvent(agent_id=agent_id, team=Team(team_id="t1", team_name="Team 1"))


def deliver(session: ProcessorSession, sender: Role, message: ProcessorMessage, now: float | None = None) -> Any:
    """Through the real entry points: ``send`` for our messages, ``receive_message`` (JSON text) for the peer's."""
    if sender is session.our_role:
        return session.send(message, now=now)
    if isinstance(message, UnknownConfirm) and message.command in REGISTRY.commands():
        # No text decodes to this (a registered command without a confirm class is unknown-message): pass the model.
        return session.receive_message(message, now=now)
    return session.receive_message(encode(message), now=now)


def pair(**options: Any) -> dict[Role, ProcessorSession]:
    return {C: ProcessorSession(C, **options), S: ProcessorSession(S, **options)}


def talk(ends: dict[Role, ProcessorSession], sender: Role, message: ProcessorMessage,
         now: float | None = None) -> ProcessorMessage:
    """``sender`` sends ``message``; its peer receives the text.  Returns what the peer decoded."""
    text = ends[sender].send(message, now=now)
    assert isinstance(text, str)
    return ends[sender.peer].receive_message(text, now=now)


def side(sender: Role, our_role: Role) -> type[ProtocolError]:
    return LocalProtocolError if sender is our_role else RemoteProtocolError


# -- the exchange table ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Setup:
    """How to reach an exchange state for one command."""

    id: str
    state: Exchange
    #: A valid request of the command: outstanding (unless IDLE or invalid); the request/answers below are built on it.
    request: Request
    #: Queued with ``observe_invalid`` instead of ``request`` (state AWAITING_INVALID).
    invalid: dict[str, Any] | None = None

    @property
    def command(self) -> str:
        return self.request.command_name

    @property
    def original(self) -> Any:
        """The JSON an answer must repeat."""
        return self.invalid if self.invalid is not None else encode_value(self.request)

    def message(self, input_: Input) -> ProcessorMessage:
        """A message of ``input_`` for this command, correct in every other respect."""
        if input_ is Input.REQUEST:
            return self.request
        if input_ is Input.SUCCESS:
            return success_for(self.request)
        if input_ is Input.CONFIRM:
            return confirm_for(self.request, self.original)
        if input_ is Input.FAILURE:
            return failure(self.command, self.original)
        return team_event()


INVALID_GC = {"command": GC, "data": 5}
INVALID_PS = {"command": PS, "data": {"model": "uccx", "override": "no", "agent": {"id": AGENT, "password": CANARY}}}
SETUPS = [
    Setup("idle-getCapabilities", Exchange.IDLE, GetCapabilitiesRequest()),
    Setup("idle-prepareSession", Exchange.IDLE, ASK),
    Setup("awaiting-getCapabilities", Exchange.AWAITING, GetCapabilitiesRequest()),
    Setup("awaiting-calljourney", Exchange.AWAITING, CallJourneyRequest(call_id="c1")),
    Setup("awaiting-prepareSession-override", Exchange.AWAITING, ask(override=True)),
    Setup("confirmable-prepareSession", Exchange.AWAITING_CONFIRMABLE, ASK),
    Setup("confirmable-unknown-command", Exchange.AWAITING_CONFIRMABLE, UnknownRequest(command=UNKNOWN, data={"n": 1})),
    Setup("invalid-getCapabilities", Exchange.AWAITING_INVALID, GetCapabilitiesRequest(), INVALID_GC),
    Setup("invalid-prepareSession", Exchange.AWAITING_INVALID, ASK, INVALID_PS),
    # Joined (docs/quirks.md V12): nothing of this command requested since observing began.
    Setup("joined-getCapabilities", Exchange.JOINED, GetCapabilitiesRequest()),
]


def session_in(setup: Setup, our_role: Role, **options: Any) -> ProcessorSession:
    session = ProcessorSession(our_role, **options)
    if setup.state is Exchange.JOINED:
        session.join()
    # A running team-status report, reached through another command's exchange (which must not interfere).
    session.observe(TeamStatusBeginRequest(agent_id=AGENT), C)
    session.observe(TeamStatusBeginSuccess(), S)
    if setup.invalid is not None:
        assert session.observe_invalid(setup.invalid, C)
    elif setup.state not in (Exchange.IDLE, Exchange.JOINED):
        session.observe(setup.request, C)
    assert session.exchange_state(setup.command) is setup.state
    assert session.report_state(AGENT) is ReportState.ACTIVE
    return session


def expected_error(state: Exchange, sender: Role, input_: Input) -> tuple[type[ProtocolError], str, str, str | None]:
    """(kind, code, pointer, hint) of the error for a combination the table lacks."""
    if not any(key[1] is sender and key[2] is input_ for key in EXCHANGE_LOOKUP):
        return UnexpectedMessageError, "unexpected-message", "", DIRECTION_HINT
    if state is Exchange.IDLE:
        return UnknownCorrelationIdError, "no-outstanding-request", "/command", EXCHANGE_HINTS[(state, input_)]
    return UnexpectedMessageError, "answer-not-allowed", "/result", EXCHANGE_HINTS.get((state, input_))


COMBINATIONS = list(itertools.product(SETUPS, Role, Input, Role))


@pytest.mark.parametrize(("setup", "sender", "input_", "our_role"), COMBINATIONS,
                         ids=lambda v: v.id if isinstance(v, Setup) else v.name)
def test_every_exchange_sender_input_combination_follows_the_table(
    setup: Setup, sender: Role, input_: Input, our_role: Role
) -> None:
    session = session_in(setup, our_role)
    message = setup.message(input_)
    assert input_of(message) is input_
    # Events belong to no exchange: whatever requests are outstanding, an event sees IDLE.
    seen = Exchange.IDLE if input_ is Input.EVENT else setup.state
    action = EXCHANGE_LOOKUP.get((seen, sender, input_))
    before = session.pending_for(setup.command)
    if action is not None:
        deliver(session, sender, message)
        assert session.state is SessionState.OPEN
        assert session.error is None
        after = session.pending_for(setup.command)
        if action is Effect.OPEN:
            assert len(after) == len(before) + 1
            assert after[-1].request == message
            assert after[-1].sender is sender
            # An exchange already waiting stays as it is (the new request queues); IDLE moves to the request's state.
            opened = exchange_of(setup.request, command_confirms=REGISTRY.confirm_class(setup.command) is not None)
            fresh = setup.state in (Exchange.IDLE, Exchange.JOINED)
            assert session.exchange_state(setup.command) is (opened if fresh else setup.state)
        elif action is Effect.ANSWER:
            assert after == before[1:]
            assert session.exchange_state(setup.command) is Exchange.IDLE
        else:
            assert after == before
        return
    kind, code, where, hint = expected_error(setup.state, sender, input_)
    with pytest.raises(ProtocolError) as info:
        deliver(session, sender, message)
    error = info.value
    assert isinstance(error, kind)
    assert isinstance(error, side(sender, our_role))
    assert (error.code, error.pointer, error.hint) == (code, where, hint)
    assert error.role is sender
    assert error.state is SessionState.OPEN
    assert error.message is not None
    assert CANARY not in str(error) + json.dumps(error.message)
    assert session.state is SessionState.ERROR  # sticky
    assert session.error is error


@pytest.mark.parametrize(("setup", "sender", "input_"), list(itertools.product(SETUPS, Role, Input)),
                         ids=lambda v: v.id if isinstance(v, Setup) else v.name)
def test_rejected_message_changes_nothing_when_errors_are_not_sticky(
    setup: Setup, sender: Role, input_: Input
) -> None:
    seen = Exchange.IDLE if input_ is Input.EVENT else setup.state
    if (seen, sender, input_) in EXCHANGE_LOOKUP:
        return
    session = session_in(setup, S, sticky_errors=False)
    before = session.pending_requests()
    with pytest.raises(ProtocolError):
        session.observe(setup.message(input_), sender)
    assert session.state is SessionState.OPEN
    assert session.error is None
    assert session.pending_requests() == before
    assert session.exchange_state(setup.command) is setup.state
    # Still usable: a correct message goes through.
    session.observe(setup.request, C)


def test_the_table_names_every_state_and_is_keyed_by_sender_not_by_our_role() -> None:
    assert {state for state, _, _ in EXCHANGE_LOOKUP} == set(Exchange)
    assert {state for state, _, _ in EXCHANGE_TRANSITIONS} == set(Exchange) - {Exchange.JOINED}
    assert {state for state, _, _ in JOINED_EXCHANGE_TRANSITIONS} == {Exchange.JOINED}
    assert {setup.state for setup in SETUPS} == set(Exchange)  # the table test reaches every state
    for (_, sender, input_), action in EXCHANGE_LOOKUP.items():
        assert (sender is C) is (input_ is Input.REQUEST)
        assert (action is Effect.OPEN) is (input_ is Input.REQUEST)
    # Every absent server-sent answer has a hint.
    for state, input_ in itertools.product(Exchange, (Input.SUCCESS, Input.CONFIRM, Input.FAILURE)):
        if (state, S, input_) not in EXCHANGE_LOOKUP:
            assert EXCHANGE_HINTS[(state, input_)]


def test_exchange_of_and_input_of() -> None:
    assert exchange_of(None, command_confirms=True) is Exchange.AWAITING_INVALID
    assert exchange_of(ASK, command_confirms=True) is Exchange.AWAITING_CONFIRMABLE
    assert exchange_of(ask(override=True), command_confirms=True) is Exchange.AWAITING
    assert exchange_of(GetCapabilitiesRequest(), command_confirms=False) is Exchange.AWAITING
    assert exchange_of(GetCapabilitiesRequest(), command_confirms=True) is Exchange.AWAITING_CONFIRMABLE
    assert input_of(failure(GC, {})) is Input.FAILURE
    assert input_of(UnknownEvent(name="acme.ping", data={})) is Input.EVENT
    assert input_of(unknown_confirm(UNKNOWN, {})) is Input.CONFIRM
    assert report_input_of(team_event("9"), None) == (ReportInput.EVENT, "9")
    assert report_input_of(TeamStatusBeginSuccess(), TeamStatusBeginRequest(agent_id="9")) == (
        ReportInput.BEGIN_SUCCEEDED, "9")
    assert report_input_of(TeamStatusEndSuccess(), TeamStatusEndRequest(agent_id="9")) == (
        ReportInput.END_SUCCEEDED, "9")
    assert report_input_of(failure(BEGIN, {}), TeamStatusBeginRequest(agent_id="9")) is None
    assert report_input_of(UnknownEvent(name="acme.ping", data={"agentId": "9"}), None) is None


# -- the report table -----------------------------------------------------------------------------

REPORT_SETUPS: dict[str, tuple[ReportState, list[tuple[Role, ProcessorMessage]]]] = {
    "never-begun": (ReportState.INACTIVE, []),
    "ended": (ReportState.INACTIVE, [(C, TeamStatusBeginRequest(agent_id=AGENT)), (S, TeamStatusBeginSuccess()),
                                (C, TeamStatusEndRequest(agent_id=AGENT)), (S, TeamStatusEndSuccess())]),
    "begin-failed": (ReportState.INACTIVE, [(C, TeamStatusBeginRequest(agent_id=AGENT)),
                                       (S, failure_response(TeamStatusBeginRequest(agent_id=AGENT), "no", "no"))]),
    "active": (ReportState.ACTIVE, [(C, TeamStatusBeginRequest(agent_id=AGENT)), (S, TeamStatusBeginSuccess())]),
    "active-end-failed": (ReportState.ACTIVE, [
        (C, TeamStatusBeginRequest(agent_id=AGENT)), (S, TeamStatusBeginSuccess()),
        (C, TeamStatusEndRequest(agent_id=AGENT)),
        (S, failure_response(TeamStatusEndRequest(agent_id=AGENT), "no", "no")),
    ]),
}
#: Joined (docs/quirks.md V12): the report was never mentioned.
JOINED_REPORT = "joined-unknown"
REPORT_SETUPS[JOINED_REPORT] = (ReportState.UNKNOWN, [])
REPORT_INPUTS: dict[ReportInput, list[tuple[Role, ProcessorMessage]]] = {
    ReportInput.BEGIN_SUCCEEDED: [(C, TeamStatusBeginRequest(agent_id=AGENT)), (S, TeamStatusBeginSuccess())],
    ReportInput.END_SUCCEEDED: [(C, TeamStatusEndRequest(agent_id=AGENT)), (S, TeamStatusEndSuccess())],
    ReportInput.EVENT: [(S, team_event())],
}


@pytest.mark.parametrize(("setup", "input_", "our_role"),
                         list(itertools.product(REPORT_SETUPS, ReportInput, Role)),
                         ids=lambda v: getattr(v, "name", str(v)))
def test_every_report_input_combination_follows_the_table(setup: str, input_: ReportInput, our_role: Role) -> None:
    state, steps = REPORT_SETUPS[setup]
    session = ProcessorSession(our_role)
    if setup == JOINED_REPORT:
        session.join()
    for sender, message in steps:
        deliver(session, sender, message)
    assert session.report_state(AGENT) is state
    *leading, (last_sender, last) = REPORT_INPUTS[input_]
    for sender, message in leading:
        deliver(session, sender, message)
    if state is ReportState.UNKNOWN and input_ is ReportInput.BEGIN_SUCCEEDED:
        state = ReportState.INACTIVE  # the begin request made the report known: not running until it succeeds
    assert session.report_state(AGENT) is state
    assert report_input_of(last, None if input_ is ReportInput.EVENT else leading[-1][1]) == (input_, AGENT)
    target = REPORT_LOOKUP.get((state, input_))
    if target is not None:
        deliver(session, last_sender, last)
        assert session.report_state(AGENT) is target
        assert (AGENT in session.active_reports) is (target is ReportState.ACTIVE)
        return
    with pytest.raises(UnexpectedMessageError) as info:
        deliver(session, last_sender, last)
    assert isinstance(info.value, side(last_sender, our_role))
    assert (info.value.code, info.value.pointer) == (REPORT_NOT_ACTIVE, "/data/agentId")
    assert info.value.hint
    assert info.value.role is last_sender
    assert session.report_state(AGENT) is state


def test_only_events_need_a_running_report() -> None:
    known = set(ReportState) - {ReportState.UNKNOWN}
    assert set(REPORT_TRANSITIONS) == set(itertools.product(known, ReportInput)) - {
        (ReportState.INACTIVE, ReportInput.EVENT)}
    # Joined: a report never mentioned may be running until an end success says it stopped.
    assert JOINED_REPORT_TRANSITIONS == {
        (ReportState.UNKNOWN, ReportInput.EVENT): ReportState.UNKNOWN,
        (ReportState.UNKNOWN, ReportInput.END_SUCCEEDED): ReportState.INACTIVE,
    }


def test_joined_answers_from_before_pass_until_history_until() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.join(history_until=30.0)
    assert session.exchange_state(GC, now=29.0) is Exchange.JOINED
    session.observe(GetCapabilitiesSuccess(capabilities={}), S, now=29.0)  # a request from before
    with pytest.raises(UnknownCorrelationIdError) as info:
        session.observe(GetCapabilitiesSuccess(capabilities={}), S, now=31.0)
    assert info.value.code == "no-outstanding-request"
    session.observe(ASK, C, now=1.0)
    session.observe(prepared(ASK), S, now=2.0)
    with pytest.raises(UnknownCorrelationIdError):  # prepareSession was requested since: nothing from before
        session.observe(prepared(ASK), S, now=3.0)
    assert not session.has_requested(GC)
    assert session.has_requested(PS)


# -- direction --------------------------------------------------------------------------------------

WRONG_WAY = [
    pytest.param(S, GetCapabilitiesRequest(), id="processor-sends-request"),
    pytest.param(S, ASK, id="processor-sends-prepareSession"),
    pytest.param(C, GetCapabilitiesSuccess(capabilities={}), id="client-sends-success"),
    pytest.param(C, PrepareSessionConfirm(message="?", original=ASK), id="client-sends-confirm"),
    pytest.param(C, failure(GC, encode_value(GetCapabilitiesRequest())), id="client-sends-failure"),
    pytest.param(C, team_event(), id="client-sends-event"),
    pytest.param(C, UnknownEvent(name="acme.ping", data={}), id="client-sends-unknown-event"),
]


@pytest.mark.parametrize(("sender", "message"), WRONG_WAY)
@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_messages_flowing_the_wrong_way_are_refused(sender: Role, message: ProcessorMessage, our_role: Role) -> None:
    session = ProcessorSession(our_role)
    # Give every response something to answer and every event a running report, so only the direction is wrong.
    for setup_sender, setup_message in [(C, GetCapabilitiesRequest()), (C, ASK),
                                        *REPORT_SETUPS["active"][1]]:
        session.observe(setup_message, setup_sender)
    with pytest.raises(UnexpectedMessageError) as info:
        deliver(session, sender, message)
    assert isinstance(info.value, side(sender, our_role))
    assert info.value.code == "unexpected-message"
    assert info.value.hint == DIRECTION_HINT
    assert info.value.role is sender
    assert "never sends" in info.value.detail


def test_messages_flowing_the_right_way_are_accepted() -> None:
    ends = pair()
    assert talk(ends, C, GetCapabilitiesRequest()) == GetCapabilitiesRequest()
    assert talk(ends, S, GetCapabilitiesSuccess(capabilities={"a": 1})) == GetCapabilitiesSuccess(capabilities={"a": 1})
    talk(ends, C, TeamStatusBeginRequest(agent_id=AGENT))
    talk(ends, S, TeamStatusBeginSuccess())
    for event in team_events():
        assert talk(ends, S, event) == event
    assert talk(ends, S, UnknownEvent(name="acme.ping", data={"x": [1]})) == UnknownEvent(name="acme.ping",
                                                                                            data={"x": [1]})


# -- answers: the oldest outstanding request of the command -------------------------------------------


@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_a_response_with_nothing_outstanding_is_an_unknown_correlation(our_role: Role) -> None:
    session = ProcessorSession(our_role, sticky_errors=False)
    session.observe(CallJourneyRequest(call_id="c1"), C)  # another command's request does not help
    for message in (GetCapabilitiesSuccess(capabilities={}), failure(GC, encode_value(GetCapabilitiesRequest())),
                    prepared(ASK), PrepareSessionConfirm(message="?", original=ASK)):
        with pytest.raises(UnknownCorrelationIdError) as info:
            deliver(session, S, message)
        assert isinstance(info.value, side(S, our_role))
        assert (info.value.code, info.value.pointer) == ("no-outstanding-request", "/command")
        assert "answers no outstanding request" in info.value.detail
        assert "expired" not in info.value.detail
    assert [p.command for p in session.pending_requests()] == [CJ]


def test_a_second_answer_to_one_request_is_refused() -> None:
    ends = pair(sticky_errors=False)
    talk(ends, C, GetCapabilitiesRequest())
    talk(ends, S, GetCapabilitiesSuccess(capabilities={}))
    with pytest.raises(UnknownCorrelationIdError.Local) as info:
        ends[S].send(GetCapabilitiesSuccess(capabilities={}))
    assert info.value.code == "no-outstanding-request"
    with pytest.raises(UnknownCorrelationIdError.Remote):
        ends[C].receive_message(encode(GetCapabilitiesSuccess(capabilities={})))


def test_requests_of_one_command_are_answered_in_order() -> None:
    ends = pair()
    requests = [CallJourneyRequest(call_id=f"c{n}") for n in range(3)]
    for request in requests:
        talk(ends, C, request)
    for end in ends.values():
        assert [p.request for p in end.pending_for(CJ)] == requests
        assert end.exchange_state(CJ) is Exchange.AWAITING
    for n, request in enumerate(requests):
        # The failure repeats the oldest: accepted on both ends (a wrong order would be an original-mismatch).
        talk(ends, S, failure_response(request, "unknown-call", "no such call"))
        assert [p.request for p in ends[C].pending_for(CJ)] == requests[n + 1 :]
    assert ends[S].exchange_state(CJ) is Exchange.IDLE


def test_answering_a_younger_request_first_is_out_of_order() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.observe(CallJourneyRequest(call_id="c1"), C)
    session.observe(CallJourneyRequest(call_id="c2"), C)
    with pytest.raises(UnexpectedMessageError.Local) as info:
        session.send(failure_response(CallJourneyRequest(call_id="c2"), "x", "y"))
    # Its original is the younger request's: the fault is the order (issue 19), not a wrong original.
    assert (info.value.code, info.value.pointer) == ("answer-out-of-order", "")
    assert info.value.hint == "answer the oldest outstanding report.calljourney request first"
    # The answer counts for the request it repeats: c1 is what is left, and its own answer then fits.
    assert [p.request for p in session.pending_requests()] == [CallJourneyRequest(call_id="c1")]
    session.send(failure_response(CallJourneyRequest(call_id="c1"), "x", "y"))
    assert session.pending_requests() == ()


def test_an_original_repeating_no_outstanding_request_is_an_original_mismatch() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.observe(CallJourneyRequest(call_id="c1"), C)
    session.observe(CallJourneyRequest(call_id="c2"), C)
    with pytest.raises(UnknownCorrelationIdError.Local) as info:
        session.send(failure_response(CallJourneyRequest(call_id="c3"), "x", "y"))
    assert (info.value.code, info.value.pointer) == ("original-mismatch", "/original/data/CallId")


def test_requests_of_other_commands_do_not_interfere() -> None:
    ends = pair()
    talk(ends, C, CallJourneyRequest(call_id="c1"))
    talk(ends, C, GetCapabilitiesRequest())
    talk(ends, C, ASK)
    talk(ends, C, CallJourneyRequest(call_id="c2"))
    assert [p.command for p in ends[C].pending_requests()] == [CJ, GC, PS, CJ]
    talk(ends, S, prepared(ASK))
    talk(ends, S, GetCapabilitiesSuccess(capabilities={}))
    assert [p.command for p in ends[S].pending_requests()] == [CJ, CJ]
    talk(ends, S, success_for(CallJourneyRequest(call_id="c1")))
    assert [p.request for p in ends[C].pending_requests()] == [CallJourneyRequest(call_id="c2")]
    assert ends[C].pending_requests() == ends[S].pending_requests()


# -- echoes ---------------------------------------------------------------------------------------------


def outstanding(request_text: str, our_role: Role = S) -> ProcessorSession:
    session = ProcessorSession(our_role, sticky_errors=False)
    if our_role is S:
        session.receive_message(request_text)
    else:
        session.send(decode(request_text))
    return session


@pytest.mark.parametrize(("request_text", "original", "where"), [
    pytest.param('{"command":"report.calljourney","data":{"CallId":"c1"}}',
                 {"command": CJ, "data": {"CallId": "c2"}}, "/original/data/CallId", id="other-value"),
    pytest.param('{"command":"getCapabilities","data":{"x":1}}',
                 {"command": GC, "data": {"x": 1.5}}, "/original/data/x", id="1-is-not-1.5"),
    pytest.param('{"command":"getCapabilities","data":{"x":true}}',
                 {"command": GC, "data": {"x": 1}}, "/original/data/x", id="true-is-not-1"),
    pytest.param('{"command":"getCapabilities","data":{"x":[1,2]}}',
                 {"command": GC, "data": {"x": [1, 2, 3]}}, "/original/data/x", id="longer-array"),
    pytest.param('{"command":"getCapabilities","data":{"x":[1,2]}}',
                 {"command": GC, "data": {"x": [1, "2"]}}, "/original/data/x/1", id="array-item"),
    pytest.param('{"command":"getCapabilities","data":{}}',
                 {"command": GC, "data": {"extra": None}}, "/original/data/extra", id="extra-member"),
    pytest.param('{"command":"getCapabilities","data":{"a":1}}',
                 {"command": GC}, "/original/data", id="missing-member"),
    pytest.param('{"command":"acme.hold","data":{"n":1}}',
                 {"command": "acme.hold ", "data": {"n": 1}}, "/original/command", id="unknown-command-not-trimmed"),
])
@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_a_failure_must_repeat_its_request(request_text: str, original: dict[str, Any], where: str,
                                           our_role: Role) -> None:
    session = outstanding(request_text, our_role)
    command = json.loads(request_text)["command"]
    with pytest.raises(UnknownCorrelationIdError) as info:
        deliver(session, S, failure(command, original))
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer) == ("original-mismatch", where)
    assert where in info.value.detail
    assert info.value.hint == "copy the request it answers into /original unchanged"
    # Matched by position: the request was answered even though its echo was wrong.
    assert session.pending_requests() == ()
    with pytest.raises(UnknownCorrelationIdError) as again:
        deliver(session, S, failure(command, json.loads(request_text)))
    assert again.value.code == "no-outstanding-request"


@pytest.mark.parametrize(("request_text", "original"), [
    pytest.param('{"command":"getCapabilities","data":{"x":1,"y":[1.5,{"z":null}]}}',
                 {"data": {"y": [1.5, {"z": None}], "x": 1}, "command": GC}, id="key-order"),
    # Numbers by value, as doubles (quirks N1): what JSON.parse then JSON.stringify write back.
    pytest.param('{"command":"getCapabilities","data":{"x":1.0,"y":3204925966965737984,"z":-0.0}}',
                 {"command": GC, "data": {"x": 1, "y": 3204925966965738000, "z": 0}}, id="numbers-by-value"),
    pytest.param('{"command":" getCapabilities ","data":{}}', {"command": GC, "data": {}}, id="padded-request"),
    pytest.param('{"command":"getCapabilities","data":{}}', {"command": " getCapabilities ", "data": {}},
                 id="padded-original"),
    pytest.param('{"command":" getCapabilities","data":{}}', {"command": "getCapabilities  ", "data": {}},
                 id="padded-both"),
    pytest.param('{"command":"acme.hold ","data":{"n":1}}', {"command": "acme.hold ", "data": {"n": 1}},
                 id="unknown-command-as-written"),
    pytest.param('{"command":"getCapabilities","data":{"big":123456789012345678901234567890}}',
                 {"command": GC, "data": {"big": 123456789012345678901234567890}}, id="big-integer"),
])
def test_a_failure_repeating_its_request_is_accepted(request_text: str, original: dict[str, Any]) -> None:
    ends = pair()
    ends[S].receive_message(request_text)
    ends[C].send(decode(request_text))
    command = ends[S].pending_requests()[0].command
    assert talk(ends, S, failure(command, original)) == failure(command, original)
    assert ends[S].pending_requests() == ends[C].pending_requests() == ()


def test_failure_response_helper_repeats_the_request() -> None:
    ends = pair()
    request = decode('{"command":"report.calljourney","data":{"CallId":"c1","x-trace":[1,1.0]},"x-top":true}')
    assert isinstance(request, CallJourneyRequest)
    talk(ends, C, request)
    talk(ends, S, failure_response(request, "no", "no", context="trace"))
    assert ends[C].pending_requests() == ()


@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_a_confirm_must_repeat_its_request(our_role: Role) -> None:
    session = ProcessorSession(our_role, sticky_errors=False)
    session.observe(ASK, C)
    with pytest.raises(UnknownCorrelationIdError) as info:
        deliver(session, S, PrepareSessionConfirm(message="?", original=ask(model="other")))
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer) == ("original-mismatch", "/original/data/model")
    assert session.pending_requests() == ()
    session.observe(ASK, C)
    with pytest.raises(UnknownCorrelationIdError) as info:
        deliver(session, S, PrepareSessionConfirm(message="?", original=ask(password="other")))
    assert info.value.pointer == "/original/data/agent/password"
    assert CANARY not in str(info.value) + json.dumps(info.value.message)


def test_an_unknown_confirm_without_original_is_a_mismatch() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.observe(UnknownRequest(command=UNKNOWN, data={}), C)
    with pytest.raises(UnknownCorrelationIdError.Local) as info:
        session.send(UnknownConfirm(command=UNKNOWN, message="?"))
    assert (info.value.code, info.value.pointer) == ("original-mismatch", "/original")


# -- prepareSession: resource.data ------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "where"), [
    pytest.param(ask(override=True).data, "/resource/data/override", id="override"),
    pytest.param(ask(agent="1002").data, "/resource/data/agent/id", id="agent-id"),
    pytest.param(ask(password="other").data, "/resource/data/agent/password", id="password"),
    pytest.param(attrs.evolve(ASK.data, extra={"/x-more": 1}), "/resource/data/x-more", id="extra"),
])
@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_prepare_session_success_must_repeat_the_data(data: SessionParameters, where: str, our_role: Role) -> None:
    session = ProcessorSession(our_role, sticky_errors=False)
    session.observe(ASK, C)
    with pytest.raises(UnknownCorrelationIdError) as info:
        deliver(session, S, PrepareSessionSuccess(resource=SessionResource(id="s", data=data)))
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer) == ("resource-data-mismatch", where)
    assert info.value.hint == "copy the request's data into /resource/data unchanged"
    assert CANARY not in str(info.value) + json.dumps(info.value.message)
    assert session.pending_requests() == ()


def test_prepare_session_success_repeating_the_data_is_accepted() -> None:
    ends = pair()
    request = decode(json.dumps({"command": PS, "data": {"agent": {"password": CANARY, "id": AGENT, "x-a": 1},
                                                         "override": False, "model": "uccx", "x-b": [None]}}))
    assert isinstance(request, PrepareSessionRequest)
    talk(ends, C, request)
    assert talk(ends, S, prepared(request)) == prepared(request)
    assert ends[C].pending_requests() == ()


# -- confirm ---------------------------------------------------------------------------------------------------


def test_confirm_then_override_then_success() -> None:
    ends = pair()
    talk(ends, C, ASK)
    assert ends[C].exchange_state(PS) is Exchange.AWAITING_CONFIRMABLE
    confirm = PrepareSessionConfirm(message="Replace your session?", original=ASK)
    assert talk(ends, S, confirm) == confirm
    assert ends[C].confirmation == ends[S].confirmation == confirm
    # Answers to other commands leave it alone.
    talk(ends, C, GetCapabilitiesRequest())
    talk(ends, S, GetCapabilitiesSuccess(capabilities={}))
    assert ends[C].confirmation == confirm
    again = confirm.original.with_override()
    assert again.data.override is True
    assert again.data.agent == ASK.data.agent
    talk(ends, C, again)
    assert ends[S].exchange_state(PS) is Exchange.AWAITING
    assert ends[C].confirmation == confirm  # until the answer
    done = prepared(again)
    assert talk(ends, S, done) == done
    assert ends[C].confirmation is None
    assert ends[S].confirmation is None


def test_a_failure_to_prepare_session_clears_the_confirmation() -> None:
    ends = pair()
    talk(ends, C, ASK)
    talk(ends, S, PrepareSessionConfirm(message="?", original=ASK))
    talk(ends, C, ASK.with_override())
    talk(ends, S, failure_response(ASK.with_override(), "gone", "no"))
    assert ends[C].confirmation is None


@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_the_repeated_request_may_not_be_confirmed_again(our_role: Role) -> None:
    session = ProcessorSession(our_role)
    session.observe(ASK, C)
    session.observe(PrepareSessionConfirm(message="?", original=ASK), S)
    session.observe(ASK.with_override(), C)
    with pytest.raises(UnexpectedMessageError) as info:
        deliver(session, S, PrepareSessionConfirm(message="?", original=ASK.with_override()))
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer) == ("answer-not-allowed", "/result")
    assert info.value.hint == EXCHANGE_HINTS[(Exchange.AWAITING, Input.CONFIRM)]


@pytest.mark.parametrize("request_", [
    pytest.param(GetCapabilitiesRequest(), id="getCapabilities"),
    pytest.param(CallJourneyRequest(call_id="c1"), id="calljourney"),
    pytest.param(TeamStatusBeginRequest(agent_id=AGENT), id="teamstatus-begin"),
])
@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_commands_without_a_confirm_class_cannot_be_confirmed(request_: Request, our_role: Role) -> None:
    session = ProcessorSession(our_role)
    session.observe(request_, C)
    assert session.exchange_state(request_.command_name) is Exchange.AWAITING
    with pytest.raises(UnexpectedMessageError) as info:
        session.observe(unknown_confirm(request_.command_name, encode_value(request_)), S)
    assert isinstance(info.value, side(S, our_role))
    assert info.value.code == "answer-not-allowed"
    assert [p.request for p in session.pending_requests()] == [request_]


def test_a_confirm_of_a_registered_command_without_confirm_class_does_not_decode() -> None:
    session = ProcessorSession(C)
    session.send(CallJourneyRequest(call_id="c1"))
    text = encode(unknown_confirm(CJ, encode_value(CallJourneyRequest(call_id="c1"))))
    with pytest.raises(UnknownMessageError.Remote) as info:
        session.receive_message(text)
    assert (info.value.code, info.value.pointer) == ("unknown-message", "/result")


def test_an_unknown_command_may_be_confirmed() -> None:
    ends = pair()
    request = UnknownRequest(command=UNKNOWN, data={"callId": "c1"})
    talk(ends, C, request)
    assert ends[S].exchange_state(UNKNOWN) is Exchange.AWAITING_CONFIRMABLE
    talk(ends, S, unknown_confirm(UNKNOWN, encode_value(request)))
    assert ends[C].pending_requests() == ends[S].pending_requests() == ()
    assert ends[C].confirmation is None  # only prepareSession's confirm is kept


# -- team-status reports ---------------------------------------------------------------------------------------

BEGIN_REQ, END_REQ = TeamStatusBeginRequest(agent_id=AGENT), TeamStatusEndRequest(agent_id=AGENT)
REFUSED_EVENTS = {
    "before-begin": [],
    "while-begin-outstanding": [(C, BEGIN_REQ)],
    "after-failed-begin": [(C, BEGIN_REQ), (S, failure_response(BEGIN_REQ, "no", "no"))],
    "after-end-succeeded": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, END_REQ), (S, TeamStatusEndSuccess())],
    "other-agent": [(C, TeamStatusBeginRequest(agent_id="2002")), (S, TeamStatusBeginSuccess())],
    "begin-expired": [(C, BEGIN_REQ)],
}
ACCEPTED_EVENTS = {
    "after-begin": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess())],
    "after-repeated-begin": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, BEGIN_REQ),
                             (S, TeamStatusBeginSuccess())],
    "repeated-begin-outstanding": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, BEGIN_REQ)],
    "after-failed-end": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, END_REQ),
                         (S, failure_response(END_REQ, "no", "no"))],
    "while-end-outstanding": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, END_REQ)],
    "after-begin-again": [(C, BEGIN_REQ), (S, TeamStatusBeginSuccess()), (C, END_REQ), (S, TeamStatusEndSuccess()),
                          (C, BEGIN_REQ), (S, TeamStatusBeginSuccess())],
    "end-of-nothing-then-begin": [(C, END_REQ), (S, TeamStatusEndSuccess()), (C, BEGIN_REQ),
                                  (S, TeamStatusBeginSuccess())],
}


@pytest.mark.parametrize("history", list(REFUSED_EVENTS))
@pytest.mark.parametrize("event", team_events(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_team_status_events_without_a_running_report_are_refused(
    history: str, event: TeamStatusEvent, our_role: Role
) -> None:
    ends = pair(limits=Limits(request_timeout=5.0))
    for sender, message in REFUSED_EVENTS[history]:
        talk(ends, sender, message, now=0.0)
    if history == "begin-expired":
        assert len(ends[our_role].handle_timer(5.0)) == 1
    session = ends[our_role]
    with pytest.raises(UnexpectedMessageError) as info:
        deliver(session, S, event)
    assert isinstance(info.value, side(S, our_role))
    assert (info.value.code, info.value.pointer) == (REPORT_NOT_ACTIVE, "/data/agentId")
    assert info.value.role is S
    assert "begin" in (info.value.hint or "")
    assert repr(AGENT) in info.value.detail
    assert ("(its report was ended)" in info.value.detail) is (history == "after-end-succeeded")
    assert session.state is SessionState.ERROR


@pytest.mark.parametrize("history", list(ACCEPTED_EVENTS))
@pytest.mark.parametrize("event", team_events(), ids=lambda e: type(e).__name__)
def test_team_status_events_with_a_running_report_are_accepted(history: str, event: TeamStatusEvent) -> None:
    ends = pair()
    for sender, message in ACCEPTED_EVENTS[history]:
        talk(ends, sender, message)
    assert ends[C].report_state(AGENT) is ends[S].report_state(AGENT) is ReportState.ACTIVE
    assert talk(ends, S, event) == event
    assert ends[C].pending_requests() == ends[S].pending_requests()


def test_unknown_events_need_no_report() -> None:
    ends = pair()
    event = UnknownEvent(name="report.teamstatus.somethingnew", data={"agentId": AGENT})
    assert talk(ends, S, event) == event


def test_active_reports_and_their_tags() -> None:
    session = ProcessorSession(S)
    assert session.active_reports == {}
    assert session.ended_report_tag(AGENT) is None
    session.observe(BEGIN_REQ, C, tag=1)
    session.observe(TeamStatusBeginSuccess(), S, tag=2)
    session.observe(TeamStatusBeginRequest(agent_id="2002"), C, tag=3)
    session.observe(TeamStatusBeginSuccess(), S, tag=4)
    assert session.active_reports == {AGENT: 2, "2002": 4}
    session.observe(BEGIN_REQ, C, tag=5)
    session.observe(TeamStatusBeginSuccess(), S, tag=6)  # a repeated begin keeps the report (and its tag)
    assert session.active_reports == {AGENT: 2, "2002": 4}
    session.observe(END_REQ, C, tag=7)
    session.observe(TeamStatusEndSuccess(), S, tag=8)
    assert session.active_reports == {"2002": 4}
    assert session.report_state(AGENT) is ReportState.INACTIVE
    assert session.ended_report_tag(AGENT) == 8
    session.observe(END_REQ, C)
    session.observe(TeamStatusEndSuccess(), S, tag=9)  # ending nothing ends nothing
    assert session.ended_report_tag(AGENT) == 8
    session.observe(BEGIN_REQ, C)
    session.observe(TeamStatusBeginSuccess(), S, tag=10)
    assert session.ended_report_tag(AGENT) is None
    assert session.active_reports == {"2002": 4, AGENT: 10}
    # The returned mapping is a copy.
    reports = session.active_reports
    assert isinstance(reports, dict)
    reports.clear()  # type: ignore[attr-defined]
    assert session.report_state(AGENT) is ReportState.ACTIVE


def test_ended_reports_are_remembered_within_bounds() -> None:
    session = ProcessorSession(S, limits=Limits(max_pending=2))
    for n in range(5):
        session.observe(TeamStatusBeginRequest(agent_id=f"a{n}"), C)
        session.observe(TeamStatusBeginSuccess(), S)
        session.observe(TeamStatusEndRequest(agent_id=f"a{n}"), C)
        session.observe(TeamStatusEndSuccess(), S, tag=n)
    assert [session.ended_report_tag(f"a{n}") for n in range(5)] == [None, None, None, 3, 4]


# -- invalid requests ---------------------------------------------------------------------------------------------

BAD_CALLJOURNEY = '{"command":"report.calljourney","data":{"CallId":5}}'


def invalid_received(text: str = BAD_CALLJOURNEY) -> ProcessorSession:
    session = ProcessorSession(S, sticky_errors=False)
    with pytest.raises(SchemaViolationError.Remote) as info:
        session.receive_message(text)
    assert info.value.role is C
    (pending,) = session.pending_requests()
    assert pending.request is None
    assert pending.exchange is Exchange.AWAITING_INVALID
    assert pending.sender is C
    return session


def test_an_invalid_request_is_answered_only_by_a_failure_repeating_it() -> None:
    session = invalid_received()
    assert session.exchange_state(CJ) is Exchange.AWAITING_INVALID
    with pytest.raises(UnexpectedMessageError.Local) as info:
        session.send(CallJourneySuccess(call_journey=()))
    assert (info.value.code, info.value.hint) == (
        "answer-not-allowed", EXCHANGE_HINTS[(Exchange.AWAITING_INVALID, Input.SUCCESS)])
    with pytest.raises(UnexpectedMessageError.Local) as info:
        session.observe(unknown_confirm(CJ, json.loads(BAD_CALLJOURNEY)), S)
    assert info.value.code == "answer-not-allowed"
    assert session.exchange_state(CJ) is Exchange.AWAITING_INVALID  # refused answers leave it waiting
    # The failure must repeat what was received, not a corrected version.
    with pytest.raises(UnknownCorrelationIdError.Local) as info:
        session.send(failure(CJ, {"command": CJ, "data": {"CallId": "5"}}))
    assert (info.value.code, info.value.pointer) == ("original-mismatch", "/original/data/CallId")
    session = invalid_received()
    session.send(failure(CJ, json.loads(BAD_CALLJOURNEY)))
    assert session.pending_requests() == ()


def test_an_invalid_prepare_session_cannot_be_confirmed() -> None:
    session = invalid_received(json.dumps(INVALID_PS))
    with pytest.raises(UnexpectedMessageError.Local) as info:
        session.send(PrepareSessionConfirm(message="?", original=ASK))
    assert info.value.code == "answer-not-allowed"
    with pytest.raises(UnexpectedMessageError.Local):
        session.send(prepared(ASK))
    session.send(failure(PS, INVALID_PS))
    assert session.pending_requests() == ()
    assert CANARY not in repr(session.pending_requests())


def test_the_client_side_notes_its_invalid_request_with_observe_invalid() -> None:
    client = ProcessorSession(C)
    assert client.observe_invalid(json.loads(BAD_CALLJOURNEY), C, now=1.0, tag="r1") is True
    (pending,) = client.pending_requests()
    assert (pending.command, pending.request, pending.since, pending.tag) == (CJ, None, 1.0, "r1")
    assert pending.deadline == 1.0 + Limits().request_timeout
    with pytest.raises(UnexpectedMessageError.Remote):
        client.receive_message(encode(CallJourneySuccess(call_journey=())))
    client = ProcessorSession(C)
    client.observe_invalid(json.loads(BAD_CALLJOURNEY), C)
    assert isinstance(client.receive_message(encode(failure(CJ, json.loads(BAD_CALLJOURNEY)))), FailureResponse)
    assert client.pending_requests() == ()


@pytest.mark.parametrize(("value", "sender"), [
    pytest.param({"command": CJ, "data": 5}, S, id="sent-by-the-processor"),
    pytest.param({"command": 5, "data": {}}, C, id="command-not-a-string"),
    pytest.param({"data": {}}, C, id="no-command"),
    pytest.param({"command": CJ, "result": "success", "data": 5}, C, id="response-shaped"),
])
def test_observe_invalid_queues_only_a_clients_request_shaped_value(value: dict[str, Any], sender: Role) -> None:
    session = ProcessorSession(S)
    assert session.observe_invalid(value, sender) is False
    assert session.pending_requests() == ()


def test_an_invalid_padded_request_is_queued_under_the_trimmed_command() -> None:
    session = ProcessorSession(S)
    assert session.observe_invalid({"command": " report.calljourney ", "data": 5}, C)
    assert session.exchange_state(CJ) is Exchange.AWAITING_INVALID
    assert session.exchange_state(" report.calljourney ") is Exchange.IDLE


def test_an_invalid_request_from_the_processor_is_not_queued() -> None:
    client = ProcessorSession(C, sticky_errors=False)
    with pytest.raises(SchemaViolationError.Remote):
        client.receive_message(BAD_CALLJOURNEY)
    assert client.pending_requests() == ()


def test_invalid_requests_queue_behind_valid_ones() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.receive_message(encode(CallJourneyRequest(call_id="c1")))
    with pytest.raises(SchemaViolationError):
        session.receive_message(BAD_CALLJOURNEY)
    assert session.exchange_state(CJ) is Exchange.AWAITING
    session.send(success_for(CallJourneyRequest(call_id="c1")))
    assert session.exchange_state(CJ) is Exchange.AWAITING_INVALID


# -- timers -------------------------------------------------------------------------------------------------------


def test_timers_expire_requests_oldest_first() -> None:
    client = ProcessorSession(C, limits=Limits(request_timeout=10.0))
    assert client.get_timer() is None
    client.send(CallJourneyRequest(call_id="c1"), now=0.0)
    client.send(GetCapabilitiesRequest(), now=0.0)
    client.send(CallJourneyRequest(call_id="c2"), now=5.0)
    client.send(GetCapabilitiesRequest())  # no now: no deadline
    assert [(p.command, p.since, p.deadline) for p in client.pending_requests()] == [
        (CJ, 0.0, 10.0), (GC, 0.0, 10.0), (CJ, 5.0, 15.0), (GC, None, None)]
    assert client.get_timer() == 10.0
    assert client.handle_timer(9.999) == ()
    expired = client.handle_timer(10.0)
    assert [(p.command, p.since) for p in expired] == [(CJ, 0.0), (GC, 0.0)]
    assert client.get_timer() == 15.0
    assert [p.since for p in client.handle_timer(1000.0)] == [5.0]
    assert client.get_timer() is None
    assert [p.command for p in client.pending_requests()] == [GC]  # the untimed one never expires


def test_an_answer_after_every_request_of_its_command_expired_says_how_many() -> None:
    client = ProcessorSession(C, limits=Limits(request_timeout=1.0), sticky_errors=False)
    client.send(GetCapabilitiesRequest(), now=0.0)
    client.send(GetCapabilitiesRequest(), now=0.5)
    client.send(CallJourneyRequest(call_id="c1"), now=10.0)
    assert len(client.handle_timer(2.0)) == 2
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        client.receive_message(encode(GetCapabilitiesSuccess(capabilities={})))
    assert info.value.code == "no-outstanding-request"
    assert "2 expired" in info.value.detail
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        client.receive_message(encode(prepared(ASK)))
    assert "expired" not in info.value.detail  # nothing of prepareSession expired


def test_a_late_answer_answers_the_next_request_of_its_command() -> None:
    client = ProcessorSession(C, limits=Limits(request_timeout=1.0))
    client.send(CallJourneyRequest(call_id="old"), now=0.0)
    client.send(CallJourneyRequest(call_id="new"), now=5.0)
    client.handle_timer(1.0)
    # docs/quirks.md P9: without an id, the late success is taken as the answer to "new".
    client.receive_message(encode(success_for(CallJourneyRequest(call_id="old"))))
    assert client.pending_requests() == ()
    assert client.get_timer() is None


def test_an_answer_removes_the_deadline_and_a_zero_now_counts() -> None:
    ends = pair(limits=Limits(request_timeout=3.0))
    talk(ends, C, GetCapabilitiesRequest(), now=0.0)
    assert ends[C].get_timer() == ends[S].get_timer() == 3.0
    talk(ends, S, GetCapabilitiesSuccess(capabilities={}), now=1.0)
    assert ends[C].get_timer() is ends[S].get_timer() is None
    assert ends[C].handle_timer(100.0) == ()


def test_expired_requests_free_their_place_under_max_pending() -> None:
    client = ProcessorSession(C, limits=Limits(request_timeout=1.0, max_pending=1))
    client.send(GetCapabilitiesRequest(), now=0.0)
    client.handle_timer(1.0)
    client.send(GetCapabilitiesRequest(), now=2.0)
    assert len(client.pending_requests()) == 1


# -- limits ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_max_pending_is_enforced(our_role: Role) -> None:
    session = ProcessorSession(our_role, limits=Limits(max_pending=3), sticky_errors=False)
    deliver(session, C, GetCapabilitiesRequest())
    deliver(session, C, CallJourneyRequest(call_id="c1"))
    assert session.observe_invalid({"command": CJ, "data": 5}, C)
    with pytest.raises(LimitExceededError) as info:
        deliver(session, C, ASK)
    assert isinstance(info.value, side(C, our_role))
    assert info.value.code == "too-many-pending"
    assert "max_pending=3" in info.value.detail
    assert info.value.role is C
    assert CANARY not in str(info.value) + json.dumps(info.value.message)
    assert len(session.pending_requests()) == 3
    assert session.exchange_state(PS) is Exchange.IDLE  # nothing was queued
    assert session.observe_invalid({"command": CJ, "data": 5}, C) is False
    # An answer makes room.
    deliver(session, S, GetCapabilitiesSuccess(capabilities={}))
    deliver(session, C, ASK)
    assert len(session.pending_requests()) == 3


# -- sticky errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("our_role", list(Role), ids=lambda r: r.name)
def test_the_first_error_stops_the_session(our_role: Role) -> None:
    session = ProcessorSession(our_role)
    with pytest.raises(UnknownCorrelationIdError) as first:
        deliver(session, S, GetCapabilitiesSuccess(capabilities={}))
    assert session.state is SessionState.ERROR
    assert session.error is first.value
    later_attempts = [
        (C, lambda: deliver(session, C, GetCapabilitiesRequest())),
        (S, lambda: deliver(session, S, team_event())),
        (C, lambda: session.observe(GetCapabilitiesRequest(), C)),
        (S, lambda: session.observe(GetCapabilitiesSuccess(capabilities={}), S)),
        (session.their_role, lambda: session.receive_message(b"garbage")),
        (session.their_role, lambda: session.receive_message(GetCapabilitiesRequest())),
    ]
    for sender, attempt in later_attempts:
        with pytest.raises(ProtocolError) as later:
            attempt()
        assert later.value.code == "channel-failed"
        assert isinstance(later.value, side(sender, our_role))
        assert later.value.role is sender
        assert later.value.state is SessionState.ERROR
        assert later.value.__cause__ is first.value
        assert "failed earlier" in str(later.value)
    assert session.error is first.value  # the first error stays the cause


@pytest.mark.parametrize("bad", [
    pytest.param(b"\xff", id="not-utf8"),
    pytest.param("[1]", id="not-an-object"),
    pytest.param('{"command":', id="not-json"),
    pytest.param('{"command":"getCapabilities","result":"maybe"}', id="bad-result"),
])
def test_undecodable_input_is_a_sticky_remote_error(bad: str | bytes) -> None:
    session = ProcessorSession(C)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_message(bad)
    assert isinstance(info.value, (DecodeError, SchemaViolationError))
    assert info.value.role is S
    assert info.value.state is SessionState.OPEN
    assert session.state is SessionState.ERROR
    assert session.error is info.value


def test_without_sticky_errors_the_session_keeps_working() -> None:
    ends = pair(sticky_errors=False)
    for attempt in (
        lambda: ends[S].send(GetCapabilitiesSuccess(capabilities={})),
        lambda: ends[C].receive_message(encode(GetCapabilitiesSuccess(capabilities={}))),
        lambda: ends[C].receive_message("not json"),
        lambda: ends[S].send(team_event()),
        lambda: ends[S].receive_message(BAD_CALLJOURNEY),
    ):
        with pytest.raises(ProtocolError):
            attempt()
        assert ends[C].state is ends[S].state is SessionState.OPEN
        assert ends[C].error is ends[S].error is None
    ends[C].observe_invalid(json.loads(BAD_CALLJOURNEY), C)
    talk(ends, S, failure(CJ, json.loads(BAD_CALLJOURNEY)))
    talk(ends, C, GetCapabilitiesRequest())
    talk(ends, S, GetCapabilitiesSuccess(capabilities={}))
    assert ends[C].pending_requests() == ends[S].pending_requests() == ()


# -- error context and redaction -------------------------------------------------------------------------------


def canary_errors() -> list[tuple[str, Any]]:
    """Ways to make an error whose message holds the canary password."""
    with_secret = encode_value(ASK)

    def direction() -> None:
        ProcessorSession(S).send(ASK)

    def received_direction() -> None:
        ProcessorSession(C).receive_message(encode(ASK))

    def unanswered_failure() -> None:
        ProcessorSession(C).receive_message(encode(failure(PS, with_secret)))

    def mismatched_confirm() -> None:
        session = ProcessorSession(C)
        session.send(ask(password="other"))
        session.receive_message(encode(PrepareSessionConfirm(message="?", original=ASK)))

    def mismatched_data() -> None:
        session = ProcessorSession(S)
        session.receive_message(encode(ask(password="other")))
        session.send(prepared(ASK))

    def schema_violation() -> None:
        ProcessorSession(S).receive_message(json.dumps(INVALID_PS))

    def not_json() -> None:
        ProcessorSession(S).receive_message('{"command":"prepareSession","data":{"agent":{"password":"' + CANARY + '"}')

    def too_many() -> None:
        session = ProcessorSession(C, limits=Limits(max_pending=1))
        session.send(GetCapabilitiesRequest())
        session.send(ASK)

    def too_large() -> None:
        ProcessorSession(S, limits=Limits(max_message_bytes=100)).receive_message(
            encode(ask(model="m" * 200)).encode())

    def strict_padded() -> None:
        padded = {**encode_value(ASK), "command": " prepareSession"}
        ProcessorSession(S, strict=True).receive_message(json.dumps(padded))

    return [(f.__name__, f) for f in (direction, received_direction, unanswered_failure, mismatched_confirm,
                                       mismatched_data, schema_violation, not_json, too_many, too_large,
                                       strict_padded)]


@pytest.mark.parametrize(("name", "make"), canary_errors(), ids=[n for n, _ in canary_errors()])
def test_errors_never_show_a_secret(name: str, make: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        make()
    error = info.value
    shown = str(error) + repr(error) + error.detail + json.dumps(error.message) + str(error.hint)
    assert CANARY not in shown
    assert error.message is not None
    assert "***" in json.dumps(error.message) or name == "too_large"
    assert error.state is SessionState.OPEN
    assert error.role in (C, S)


def test_the_channel_failed_error_does_not_leak_the_secret_either() -> None:
    session = ProcessorSession(S)
    with pytest.raises(ProtocolError):
        session.send(ASK)
    with pytest.raises(ProtocolError) as later:
        session.send(ASK)
    assert CANARY not in str(later.value) + repr(later.value) + json.dumps(later.value.message)


def test_pending_requests_and_confirmations_do_not_show_the_secret() -> None:
    ends = pair()
    talk(ends, C, ASK)
    talk(ends, S, PrepareSessionConfirm(message="?", original=ASK))
    talk(ends, C, ASK.with_override())
    for end in ends.values():
        assert CANARY not in repr(end.pending_requests()) + repr(end.confirmation)
        assert end.pending_requests()[0].value["data"]["agent"]["password"] == CANARY  # kept, for comparison


def test_errors_carry_role_state_pointer_and_hint() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.receive_message(encode(CallJourneyRequest(call_id="c1")))
    with pytest.raises(UnexpectedMessageError.Local) as info:
        session.send(unknown_confirm(CJ, encode_value(CallJourneyRequest(call_id="c1"))))
    error = info.value
    assert (error.role, error.state, error.pointer) == (S, SessionState.OPEN, "/result")
    assert error.hint == EXCHANGE_HINTS[(Exchange.AWAITING, Input.CONFIRM)]
    assert error.message == encode_value(unknown_confirm(CJ, encode_value(CallJourneyRequest(call_id="c1"))))
    assert "at /result" in str(error)
    assert "in state OPEN" in str(error)
    assert "hint:" in str(error)


# -- the wire --------------------------------------------------------------------------------------------------


def test_send_returns_json_text_the_peer_accepts() -> None:
    ends = pair()
    text = ends[C].send(GetCapabilitiesRequest(), now=1.0)
    assert isinstance(text, str)
    assert json.loads(text) == {"command": GC, "data": {}}
    assert ends[S].receive_message(text, now=1.0) == GetCapabilitiesRequest()
    assert ends[C].pending_requests() == ends[S].pending_requests()
    answer = ends[S].send(GetCapabilitiesSuccess(capabilities={"n": 1.5}))
    assert json.loads(answer) == {"command": GC, "result": "success", "data": {"n": 1.5}}


@pytest.mark.parametrize("form", ["str", "bytes", "model"])
def test_receive_message_accepts_text_bytes_or_a_model(form: str) -> None:
    session = ProcessorSession(S)
    message = CallJourneyRequest(call_id="c1")
    data: Any = {"str": encode(message), "bytes": encode(message).encode(), "model": message}[form]
    assert session.receive_message(data, now=2.0) == message
    (pending,) = session.pending_requests()
    assert (pending.request, pending.since, pending.sender) == (message, 2.0, C)


def test_the_documented_conversation() -> None:
    client, processor = ProcessorSession(C), ProcessorSession(S)
    request = ask(password="pw")
    processor.receive_message(client.send(request, now=0.0), now=0.0)
    assert client.pending_requests() == processor.pending_requests()
    client.receive_message(processor.send(PrepareSessionConfirm(message="Replace your session?", original=request)))
    assert client.confirmation is not None
    again = client.confirmation.original.with_override()
    processor.receive_message(client.send(again))
    done = PrepareSessionSuccess(resource=SessionResource(id="session-1", data=again.data))
    assert client.receive_message(processor.send(done)) == done
    assert client.pending_requests() == processor.pending_requests() == ()
    assert client.state is processor.state is SessionState.OPEN


def whole_conversation() -> list[tuple[Role, ProcessorMessage]]:
    """A valid conversation touching every kind of message."""
    hold = UnknownRequest(command=UNKNOWN, data={"callId": "c9"})
    begin, end = TeamStatusBeginRequest(agent_id=AGENT), TeamStatusEndRequest(agent_id=AGENT)
    journey = CallJourneyRequest(call_id="c1")
    return [
        (C, GetCapabilitiesRequest()),
        (C, ASK),
        (S, GetCapabilitiesSuccess(capabilities={"reports": ["uccx"]})),
        (S, PrepareSessionConfirm(message="Replace your session?", original=ASK)),
        (C, ASK.with_override()),
        (C, journey),
        (C, begin),
        (S, prepared(ASK.with_override())),
        (S, success_for(journey)),
        (S, TeamStatusBeginSuccess()),
        *[(S, event) for event in team_events()],
        (C, hold),
        (C, hold),
        (S, unknown_confirm(UNKNOWN, encode_value(hold))),
        (S, UnknownSuccess(command=UNKNOWN, extra={"/data": {"held": True}})),
        (S, UnknownEvent(name="acme.ping", data={})),
        (C, end),
        (S, team_event()),  # the end has not succeeded yet
        (S, failure_response(end, "busy", "try again")),
        (S, team_event()),
        (C, end),
        (S, TeamStatusEndSuccess()),
    ]


def test_both_ends_agree_through_a_whole_conversation() -> None:
    ends = pair(strict=False)
    for now, (sender, message) in enumerate(whole_conversation()):
        assert talk(ends, sender, message, now=float(now)) == message
        assert ends[C].pending_requests() == ends[S].pending_requests()
        assert ends[C].active_reports.keys() == ends[S].active_reports.keys()
        assert ends[C].confirmation == ends[S].confirmation
    for end in ends.values():
        assert end.pending_requests() == ()
        assert end.active_reports == {}
        assert end.state is SessionState.OPEN


def test_strict_sessions_refuse_a_padded_command() -> None:
    padded_request = '{"command":" getCapabilities ","data":{}}'
    padded_success = '{"command":" getCapabilities ","result":"success","data":{}}'
    server = ProcessorSession(S, strict=True)
    with pytest.raises(SchemaViolationError.Remote) as info:
        server.receive_message(padded_request)
    assert (info.value.code, info.value.pointer) == ("command-whitespace", "/command")
    client = ProcessorSession(C, strict=True)
    client.send(GetCapabilitiesRequest())
    with pytest.raises(SchemaViolationError.Remote) as info:
        client.receive_message(padded_success)
    assert info.value.code == "command-whitespace"
    # Lenient sessions read the seed's padded command as the trimmed one.
    ends = pair()
    assert ends[S].receive_message(padded_request) == GetCapabilitiesRequest()
    ends[C].send(GetCapabilitiesRequest())
    assert ends[C].receive_message(padded_success) == GetCapabilitiesSuccess(capabilities={})
    assert ends[S].exchange_state(GC) is Exchange.AWAITING


def test_unknown_commands_pass_unless_strict_and_are_correlated() -> None:
    ends = pair()
    request = UnknownRequest(command=UNKNOWN, data={"n": 1})
    assert talk(ends, C, request) == request
    assert talk(ends, C, request) == request
    assert [p.command for p in ends[S].pending_requests()] == [UNKNOWN, UNKNOWN]
    talk(ends, S, UnknownSuccess(command=UNKNOWN))
    talk(ends, S, failure(UNKNOWN, encode_value(request)))
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        ends[C].receive_message(encode(UnknownSuccess(command=UNKNOWN)))
    assert info.value.code == "no-outstanding-request"
    strict = ProcessorSession(S, strict=True)
    with pytest.raises(SchemaViolationError.Remote) as strict_info:
        strict.receive_message(encode(request))
    assert strict_info.value.code == "unknown-command"


CUSTOM = REGISTRY.copy()


@CUSTOM.request("acme.park")
class ParkRequest(Request):
    call_id: str = wire("data", "callId")


@CUSTOM.success("acme.park")
class ParkSuccess(SuccessResponse):
    parked: bool = wire("data", "parked")


@CUSTOM.request("acme.drop")
class DropRequest(Request):
    call_id: str = wire("data", "callId")


@CUSTOM.confirm("acme.drop")
class DropConfirm(ConfirmResponse):
    original: DropRequest = wire("original")


def test_a_custom_registry_gives_commands_their_rules() -> None:
    registry = CUSTOM
    ends = pair(registry=registry, strict=True)
    talk(ends, C, ParkRequest(call_id="c1"))
    assert ends[S].exchange_state("acme.park") is Exchange.AWAITING
    with pytest.raises(UnexpectedMessageError.Local):
        ends[S].observe(unknown_confirm("acme.park", encode_value(ParkRequest(call_id="c1"))), S)
    ends = pair(registry=registry, strict=True)
    talk(ends, C, ParkRequest(call_id="c1"))
    talk(ends, S, ParkSuccess(parked=True))
    talk(ends, C, DropRequest(call_id="c2"))
    assert ends[C].exchange_state("acme.drop") is Exchange.AWAITING_CONFIRMABLE
    talk(ends, S, DropConfirm(message="Drop it?", original=DropRequest(call_id="c2")))
    assert ends[C].pending_requests() == ends[S].pending_requests() == ()


# -- property: random interleavings of valid conversations -------------------------------------------------------

AGENTS = ("1001", "2002")
UNKNOWN_COMMANDS = ("acme.hold", "acme.park")
REQUESTS: st.SearchStrategy[Request] = st.one_of(
    from_model(GetCapabilitiesRequest),
    from_model(CallJourneyRequest),
    from_model(PrepareSessionRequest),
    st.builds(TeamStatusBeginRequest, agent_id=st.sampled_from(AGENTS)),
    st.builds(TeamStatusEndRequest, agent_id=st.sampled_from(AGENTS)),
    st.builds(UnknownRequest, command=st.sampled_from(UNKNOWN_COMMANDS),
              data=st.dictionaries(st.sampled_from(["a", "b"]), st.integers() | st.floats(allow_nan=False,
                                                                                          allow_infinity=False))),
)


class Expected:
    """What a correct session holds: per command, its outstanding requests in order; the running reports."""

    def __init__(self) -> None:
        self.queues: dict[str, deque[tuple[int, Request]]] = {}
        self.order = 0
        self.active: set[str] = set()

    def pending(self) -> list[Request]:
        everything = sorted(item for queue in self.queues.values() for item in queue)
        return [request for _, request in everything]  # type: ignore[misc]

    def open(self, request: Request) -> None:
        self.order += 1
        self.queues.setdefault(request.command_name, deque()).append((self.order, request))

    def answer(self, command: str, succeeded: bool) -> None:
        _, request = self.queues[command].popleft()
        if not self.queues[command]:
            del self.queues[command]
        if succeeded and isinstance(request, TeamStatusBeginRequest):
            self.active.add(request.agent_id)
        if succeeded and isinstance(request, TeamStatusEndRequest):
            self.active.discard(request.agent_id)


def answers(request: Request, confirmable: bool) -> list[tuple[str, ProcessorMessage]]:
    original = encode_value(request)
    found = [("success", success_for(request)), ("failure", failure(request.command_name, original))]
    if confirmable:
        found.append(("confirm", confirm_for(request, original)))
    return found


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_interleavings_never_raise_and_both_ends_agree(data: st.DataObject) -> None:
    ends = pair()
    model = Expected()
    steps = data.draw(st.integers(min_value=1, max_value=30), label="steps")
    for step in range(steps):
        now = float(step)
        choices = ["request"] if len(model.pending()) < 8 else []
        if model.queues:
            choices.append("answer")
        choices.append("event")
        kind = data.draw(st.sampled_from(choices), label="kind")
        if kind == "request":
            request = data.draw(REQUESTS, label="request")
            assert talk(ends, C, request, now=now) == request
            model.open(request)
        elif kind == "answer":
            command = data.draw(st.sampled_from(sorted(model.queues)), label="command")
            _, oldest = model.queues[command][0]
            confirmable = ends[S].exchange_state(command) is Exchange.AWAITING_CONFIRMABLE
            assert confirmable is (oldest.confirmable and (
                isinstance(oldest, UnknownRequest) or REGISTRY.confirm_class(command) is not None))
            result, answer = data.draw(st.sampled_from(answers(oldest, confirmable)), label="answer")
            talk(ends, S, answer, now=now)
            model.answer(command, result == "success")
        elif model.active and data.draw(st.booleans(), label="team event"):
            agent = data.draw(st.sampled_from(sorted(model.active)), label="agent")
            event = data.draw(st.sampled_from(team_events(agent)), label="event")
            assert talk(ends, S, event, now=now) == event
        else:
            talk(ends, S, UnknownEvent(name="acme.ping", data={"step": step}), now=now)
        client, server = ends[C].pending_requests(), ends[S].pending_requests()
        assert client == server
        assert [p.request for p in server] == model.pending()
        assert all(p.since is not None and p.deadline == p.since + Limits().request_timeout for p in server)
        assert set(ends[C].active_reports) == set(ends[S].active_reports) == model.active
        assert ends[C].confirmation == ends[S].confirmation
        for command in model.queues:
            assert ends[C].exchange_state(command) is ends[S].exchange_state(command)
    assert ends[C].state is ends[S].state is SessionState.OPEN


@settings(max_examples=50, deadline=None)
@given(st.lists(REQUESTS, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_answers_in_any_order_across_commands_but_fifo_within_one(requests: list[Request], rng: Any) -> None:
    ends = pair()
    for request in requests:
        talk(ends, C, request)
    # Shuffle the answers, then restore FIFO order inside each command.
    by_command: dict[str, deque[Request]] = {}
    for request in requests:
        by_command.setdefault(request.command_name, deque()).append(request)
    commands = [request.command_name for request in requests]
    rng.shuffle(commands)
    for command in commands:
        request = by_command[command].popleft()
        talk(ends, S, failure_response(request, "no", "no"))
        assert ends[C].pending_requests() == ends[S].pending_requests()
    assert ends[S].pending_requests() == ()


# -- regressions (bugs these tests found) -------------------------------------------------------------


def test_a_failure_answering_an_invalid_prepare_session_clears_the_confirmation() -> None:
    session = ProcessorSession(S)
    session.observe(ASK, C)
    session.observe(PrepareSessionConfirm(message="Replace your session?", original=ASK), S)
    assert session.confirmation is not None
    assert session.observe_invalid(INVALID_PS, C)
    session.send(failure(PS, INVALID_PS))  # the next prepareSession answer
    assert session.confirmation is None


def test_observe_invalid_is_refused_after_a_sticky_error() -> None:
    session = ProcessorSession(S)
    with pytest.raises(ProtocolError):
        session.send(GetCapabilitiesSuccess(capabilities={}))
    assert session.state is SessionState.ERROR
    # Like observe(): refused with channel-failed, and nothing queued.
    with pytest.raises(UnexpectedMessageError.Remote) as info:
        session.observe_invalid(INVALID_GC, C)
    assert info.value.code == "channel-failed"
    assert session.pending_requests() == ()


def test_a_failure_with_a_padded_command_answers_the_trimmed_command() -> None:
    raw = {"command": " getCapabilities ", "data": 5}  # as received: padded, and broke its schema
    ends = pair()
    ends[S].observe_invalid(raw, C)
    ends[C].observe_invalid(raw, C)
    answer = failure(str(raw["command"]), raw)  # a processor echoing the command as it was received
    # The client accepts the text ...
    ends[C].receive_message(encode(answer))
    assert ends[C].pending_requests() == ()
    # ... so the processor's own session must let it be sent.
    ends[S].send(answer)
    assert ends[S].pending_requests() == ()


def test_pending_command_equality_ignores_bookkeeping() -> None:
    a = PendingCommand(command=GC, request=None, sender=C, since=None, deadline=None, tag=1, value={"x": 1}, order=1)
    b = PendingCommand(command=GC, request=None, sender=C, since=None, deadline=None, tag=2, value={}, order=9)
    assert a == b
    assert "value" not in repr(a)


def test_a_confirm_whose_original_is_wrong_is_not_kept_as_the_confirmation() -> None:
    session = ProcessorSession(S, sticky_errors=False)
    session.observe(ASK, C)
    wrong = PrepareSessionConfirm(message="Replace your session?", original=ASK.with_override())
    with pytest.raises(ProtocolError) as info:
        session.observe(wrong, S)
    assert info.value.code == "original-mismatch"
    assert session.confirmation is None  # the client must not repeat an original that was not its request
