"""The Interaction Processor reference peers: wired together, under random stimuli, with planted bugs, and abused."""

from __future__ import annotations

import collections
import json
import random
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planted_processor
from ccproto.core.errors import (
    DecodeError,
    LimitExceededError,
    ProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.jsonio import json_equal
from ccproto.core.limits import Limits
from ccproto.core.model import wire
from ccproto.core.roles import Role
from ccproto.processor import (
    REGISTRY,
    CallJourneySuccess,
    FailureResponse,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MemberStatusChangedEvent,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    ProcessorSession,
    Request,
    TeamAddedEvent,
    TeamStatusBeginSuccess,
    TeamStatusEndSuccess,
    decode,
    decode_text,
    encode,
)
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.processor.peers import DEFAULT_CAPABILITIES, ReferenceProcessor, ReferenceProcessorClient

C, S = Role.CLIENT, Role.SERVER


class Wire:
    """A processor and a client connected, with an observer checking every text in the order it travels."""

    def __init__(self, processor: ReferencePeer, client: ReferencePeer) -> None:
        self.processor = processor
        self.client = client
        self.observer: ProcessorSession | None = None
        self.now = 0.0
        #: (sender, decoded message) of everything that travelled, in order.
        self.transcript: list[tuple[Role, ProcessorMessage]] = []

    @property
    def connected(self) -> bool:
        return self.observer is not None

    def connect(self) -> None:
        self.observer = ProcessorSession(C, sticky_errors=True)
        self.deliver(S, self.processor.connect(now=self.now))
        self.deliver(C, self.client.connect(now=self.now))

    def disconnect(self) -> None:
        assert self.processor.disconnect(now=self.now) == []
        assert self.client.disconnect(now=self.now) == []
        self.observer = None

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.deliver(S, self.processor.advance(now=self.now))
        self.deliver(C, self.client.advance(now=self.now))

    def peer(self, role: Role) -> ReferencePeer:
        return self.processor if role is S else self.client

    def stimulate(self, role: Role, *names: str) -> list[ProcessorMessage]:
        """Stimulate one peer (several names: their texts travel together); returns what travelled."""
        texts = [text for name in names for text in self.peer(role).stimulate(name, now=self.now)]
        return self.deliver(role, texts)

    def deliver(self, sender: Role, texts: Iterable[str]) -> list[ProcessorMessage]:
        """Carry texts (and every reply they cause) until both sides are quiet; returns what travelled."""
        start = len(self.transcript)
        queue = collections.deque((sender, text) for text in texts)
        while queue:
            origin, text = queue.popleft()
            assert self.observer is not None, "a peer sent something while disconnected"
            decoded = decode_text(text)
            self.observer.observe(decoded.message, origin, now=self.now, value=decoded.value)
            self.transcript.append((origin, decoded.message))
            receiver = self.peer(origin.peer)
            queue.extend((receiver.role, reply) for reply in receiver.receive(text, now=self.now))
        return [message for _, message in self.transcript[start:]]


def wired(processor: ReferencePeer | None = None, client: ReferencePeer | None = None) -> Wire:
    pair = Wire(processor or ReferenceProcessor(), client or ReferenceProcessorClient())
    pair.connect()
    return pair


def kinds(messages: Iterable[ProcessorMessage]) -> list[type[ProcessorMessage]]:
    return [type(message) for message in messages]


def assert_clean(pair: Wire) -> None:
    assert pair.processor.errors == []
    assert pair.client.errors == []


# -- 1. scripted conversations between clean peers ------------------------------------------------


def test_prepare_session_then_confirm_then_override() -> None:
    pair = wired()
    first = pair.stimulate(C, "prepare-session")
    assert kinds(first) == [PrepareSessionRequest, PrepareSessionSuccess]
    request, success = first
    assert isinstance(request, PrepareSessionRequest)
    assert isinstance(success, PrepareSessionSuccess)
    assert (request.data.agent.id, request.data.override) == ("1001", False)
    assert success.resource.data == request.data
    assert kinds(pair.stimulate(C, "prepare-session")) == [PrepareSessionRequest, PrepareSessionSuccess]  # 1002
    again = pair.stimulate(C, "prepare-session")  # 1001 again: it has a session
    assert kinds(again) == [PrepareSessionRequest, PrepareSessionConfirm, PrepareSessionRequest, PrepareSessionSuccess]
    asked, confirm, repeated, replaced = again
    assert isinstance(confirm, PrepareSessionConfirm)
    assert isinstance(repeated, PrepareSessionRequest)
    assert isinstance(replaced, PrepareSessionSuccess)
    assert confirm.original == asked
    assert repeated == confirm.original.with_override()
    assert replaced.resource.id != success.resource.id
    assert replaced.resource.data.override is True
    processor = pair.processor
    assert isinstance(processor, ReferenceProcessor)
    assert processor.sessions["1001"] == replaced.resource.id
    assert_clean(pair)


def test_capabilities_and_call_journey() -> None:
    pair = wired()
    _, capabilities = pair.stimulate(C, "get-capabilities")
    assert isinstance(capabilities, GetCapabilitiesSuccess)
    assert dict(capabilities.capabilities) == dict(DEFAULT_CAPABILITIES)
    _, journey = pair.stimulate(C, "call-journey")
    assert isinstance(journey, CallJourneySuccess)
    assert len(journey.call_journey) >= 2
    assert {step.call_id for step in journey.call_journey} == {"call-1"}
    assert_clean(pair)


def test_custom_capabilities_are_a_private_copy() -> None:
    mine: dict[str, Any] = {"acme": {"hold": True}}
    pair = wired(ReferenceProcessor(capabilities=mine))
    mine["acme"]["hold"] = False
    _, capabilities = pair.stimulate(C, "get-capabilities")
    assert isinstance(capabilities, GetCapabilitiesSuccess)
    assert capabilities.capabilities == {"acme": {"hold": True}}


def test_team_status_report_lifecycle() -> None:
    pair = wired()
    assert pair.stimulate(S, "team-change") == []  # no report running
    begun = pair.stimulate(C, "begin-report")
    assert kinds(begun[1:]) == [TeamStatusBeginSuccess, TeamAddedEvent]
    added = begun[2]
    assert isinstance(added, TeamAddedEvent)
    assert added.agent_id == "1001"
    assert len(added.team.members) >= 2
    changed = pair.stimulate(S, "team-change")
    assert kinds(changed) == [MemberStatusChangedEvent]
    assert kinds(pair.stimulate(S, "members-removed")) == [MemberRemovedEvent]
    # A repeated begin: success, no second teamadded, still one report.
    pair.stimulate(C, "begin-report")  # 1002
    assert kinds(pair.stimulate(C, "begin-report")[1:]) == [TeamStatusBeginSuccess]  # 1001 again
    assert [getattr(m, "agent_id", None) for m in pair.stimulate(S, "team-change")] == ["1001", "1002"]
    assert kinds(pair.stimulate(C, "end-report")[1:]) == [TeamStatusEndSuccess]  # 1001
    assert [getattr(m, "agent_id", None) for m in pair.stimulate(S, "members-removed")] == ["1002"]
    pair.stimulate(C, "end-report")
    assert pair.stimulate(C, "end-report") == []  # nothing left that it began
    assert pair.stimulate(S, "team-change") == []
    assert pair.stimulate(S, "members-removed") == []
    assert pair.observer is not None
    assert pair.observer.active_reports == {}
    assert_clean(pair)


def test_team_change_cycles_the_member_status() -> None:
    pair = wired()
    pair.stimulate(C, "begin-report")
    statuses = []
    for _ in range(4):
        (event,) = pair.stimulate(S, "team-change")
        assert isinstance(event, MemberStatusChangedEvent)
        statuses.append(event.team.members[0].status)
    assert statuses[0] != statuses[1]
    assert statuses[0] == statuses[3]


def test_several_requests_outstanding_are_answered_in_order() -> None:
    pair = wired()
    travelled = pair.stimulate(
        C, "prepare-session", "prepare-session", "prepare-session", "get-capabilities", "begin-report", "end-report"
    )
    responses = [type(message).__name__ for message in travelled if not isinstance(message, Request)]
    assert responses == [
        "PrepareSessionSuccess", "PrepareSessionSuccess", "PrepareSessionConfirm", "GetCapabilitiesSuccess",
        "TeamStatusBeginSuccess", "TeamAddedEvent", "TeamStatusEndSuccess", "PrepareSessionSuccess",
    ]
    assert pair.observer is not None
    assert pair.observer.pending_requests() == ()
    assert_clean(pair)


def test_sessions_outlive_connections_and_reports_do_not() -> None:
    pair = wired()
    pair.stimulate(C, "prepare-session")
    pair.stimulate(C, "begin-report")
    pair.disconnect()
    for role, names in ((S, ReferenceProcessor.STIMULI), (C, ReferenceProcessorClient.STIMULI)):
        for name in names:
            assert pair.peer(role).stimulate(name, now=pair.now) == []  # nothing to send on no connection
    pair.connect()
    assert pair.stimulate(S, "team-change") == []  # the report ended with its connection
    assert pair.stimulate(C, "end-report") == []  # the client began nothing on this connection
    assert PrepareSessionConfirm in kinds(pair.stimulate(C, "prepare-session", "prepare-session", "prepare-session"))
    assert_clean(pair)


def test_stimuli_before_the_first_connect_are_no_ops() -> None:
    for peer in (ReferenceProcessor(), ReferenceProcessorClient()):
        for name in peer.STIMULI:
            assert peer.stimulate(name, now=0.0) == []
        with pytest.raises(ValueError, match="unknown stimulus"):
            peer.stimulate("no-such-thing", now=0.0)


def test_peers_are_deterministic() -> None:
    def run() -> list[str]:
        pair = wired()
        pair.stimulate(C, "prepare-session", "prepare-session", "prepare-session", "call-journey", "begin-report")
        pair.stimulate(S, "team-change")
        return [encode(message) for _, message in pair.transcript]

    assert run() == run()


def test_passwords_stay_out_of_reprs_and_errors() -> None:
    client = ReferenceProcessorClient({"7": "hunter2-secret"})
    assert "hunter2" not in repr(client)
    processor = ReferenceProcessor()
    processor.connect(now=0.0)
    bad = {"command": "prepareSession", "data": {"model": 5, "override": False,
                                                 "agent": {"id": "7", "password": "hunter2-secret"}}}
    processor.receive(json.dumps(bad), now=0.0)
    (error,) = processor.errors
    assert isinstance(error, ProtocolError)
    assert "hunter2" not in str(error) + repr(error) + repr(error.message)


# -- 2. random stimuli, reconnections and clock moves ---------------------------------------------

_OPS: st.SearchStrategy[tuple[str, list[str]]] = st.one_of(
    st.tuples(st.just("client"), st.lists(st.sampled_from(ReferenceProcessorClient.STIMULI), min_size=1, max_size=3)),
    st.tuples(st.just("processor"), st.lists(st.sampled_from(ReferenceProcessor.STIMULI), min_size=1, max_size=1)),
    st.tuples(st.just("disconnect"), st.just([])),
    st.tuples(st.just("connect"), st.just([])),
    st.tuples(st.just("advance"), st.just([])),
)


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(_OPS, max_size=30), agents=st.integers(1, 3))
def test_random_conversations_stay_valid(ops: list[tuple[str, list[str]]], agents: int) -> None:
    processor = ReferenceProcessor()
    client = ReferenceProcessorClient({f"10{i}": f"pw{i}" for i in range(agents)})
    pair = Wire(processor, client)
    for op, names in ops:
        if op == "connect":
            if pair.connected:
                pair.disconnect()
            pair.connect()
        elif op == "disconnect":
            pair.disconnect()
        elif op == "advance":
            pair.advance(7.5)
        elif not pair.connected:
            for name in names:
                assert pair.peer(C if op == "client" else S).stimulate(name, now=pair.now) == []
        else:
            pair.stimulate(C if op == "client" else S, *names)
        assert_clean(pair)
        if pair.observer is not None:
            # The processor's own idea of the running reports is what the wire shows.
            assert set(processor.reports) == set(pair.observer.active_reports)
            assert pair.observer.pending_requests() == ()


def test_a_long_seeded_run_reaches_every_message_kind() -> None:
    """The random walk is not stuck in a corner: every built-in message kind travels, all of it valid."""
    chooser = random.Random(3)
    pair = wired(client=ReferenceProcessorClient({"1": "a", "2": "b"}))
    for _ in range(300):
        roll = chooser.random()
        if roll < 0.05:
            pair.disconnect()
            pair.connect()
        elif roll < 0.3:
            pair.stimulate(S, chooser.choice(ReferenceProcessor.STIMULI))
        else:
            pair.stimulate(C, *chooser.choices(ReferenceProcessorClient.STIMULI, k=chooser.randint(1, 3)))
    assert_clean(pair)
    seen = {type(message) for _, message in pair.transcript}
    assert seen >= {
        PrepareSessionRequest, PrepareSessionConfirm, PrepareSessionSuccess, GetCapabilitiesSuccess,
        CallJourneySuccess, TeamStatusBeginSuccess, TeamStatusEndSuccess, TeamAddedEvent,
        MemberStatusChangedEvent, MemberRemovedEvent,
    }


# -- 3. planted bugs: each is caught ----------------------------------------------------------------


def caught(pair: Wire, role: Role, *names: str) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        pair.stimulate(role, *names)
    return info.value


def test_the_planted_bugs_are_registered() -> None:
    assert set(planted_processor.BUGS) == {
        "confirms-override", "event-after-end", "original-differs", "wrong-resource-data"
    }
    for cls in planted_processor.BUGS.values():
        assert issubclass(cls, ReferenceProcessor)
        assert cls.__doc__


def test_bug_confirms_override() -> None:
    pair = wired(planted_processor.BUGS["confirms-override"]())
    pair.stimulate(C, "prepare-session")  # 1001 now has a session
    error = caught(pair, C, "prepare-session", "prepare-session")  # 1002, then 1001: confirm, override, confirm
    assert isinstance(error, UnexpectedMessageError)
    assert error.code == "answer-not-allowed"


def test_bug_event_after_end() -> None:
    pair = wired(planted_processor.BUGS["event-after-end"]())
    pair.stimulate(C, "begin-report")
    pair.stimulate(S, "team-change")  # fine while it runs
    pair.stimulate(C, "end-report")
    error = caught(pair, S, "team-change")
    assert isinstance(error, UnexpectedMessageError)
    assert error.code == "report-not-active"


def test_bug_original_differs_in_a_confirm() -> None:
    pair = wired(planted_processor.BUGS["original-differs"]())
    pair.stimulate(C, "prepare-session")
    error = caught(pair, C, "prepare-session", "prepare-session")
    assert isinstance(error, UnknownCorrelationIdError)
    assert error.code == "original-mismatch"
    assert error.pointer == "/original/data/model"


def test_bug_original_differs_in_a_failure() -> None:
    pair = wired(planted_processor.BUGS["original-differs"]())
    with pytest.raises(UnknownCorrelationIdError, match="original"):
        pair.deliver(C, [json.dumps({"command": "acme.hold", "data": {}})])


def test_bug_wrong_resource_data() -> None:
    pair = wired(planted_processor.BUGS["wrong-resource-data"]())
    error = caught(pair, C, "prepare-session")
    assert isinstance(error, UnknownCorrelationIdError)
    assert error.code == "resource-data-mismatch"


@pytest.mark.parametrize("bug", sorted(planted_processor.BUGS))
def test_a_planted_bug_behaves_until_its_moment(bug: str) -> None:
    """Each bug is one misbehaviour: what does not reach it stays valid."""
    pair = wired(planted_processor.BUGS[bug]())
    pair.stimulate(C, "get-capabilities", "call-journey", "begin-report")
    pair.stimulate(S, "team-change", "members-removed")
    assert_clean(pair)


# -- 4. the other side misbehaves ---------------------------------------------------------------


def processor_and_checker(**kwargs: Any) -> tuple[ReferenceProcessor, ProcessorSession]:
    processor = ReferenceProcessor(**kwargs)
    assert processor.connect(now=0.0) == []
    return processor, ProcessorSession(C, registry=kwargs.get("registry", REGISTRY))


def test_the_processor_survives_garbage_and_misdirected_messages() -> None:
    processor, _ = processor_and_checker()
    assert processor.receive("{not json", now=0.0) == []
    assert processor.receive("[1, 2]", now=0.0) == []
    assert processor.receive('{"command": 5, "data": {}}', now=0.0) == []  # not request-shaped: not queued
    assert processor.receive('{"command": "getCapabilities", "result": "success", "data": {}}', now=0.0) == []
    assert processor.receive('{"name": "report.teamstatus.teamchanged", "data": {}}', now=0.0) == []
    kinds_ = [type(error) for error in processor.errors]
    assert kinds_[:2] == [DecodeError, DecodeError]
    assert issubclass(kinds_[2], SchemaViolationError)
    assert all(issubclass(kind, ProtocolError) for kind in kinds_)
    assert len(kinds_) == 5
    (reply,) = processor.receive(encode(decode('{"command": "getCapabilities", "data": {}}')), now=1.0)
    assert isinstance(decode(reply), GetCapabilitiesSuccess)


@pytest.mark.parametrize("value", [
    pytest.param({"command": "prepareSession", "data": {"model": "m", "override": "no",
                                                        "agent": {"id": "1", "password": "pw"}}}, id="prepare"),
    pytest.param({"command": " report.calljourney ", "data": {"CallId": 5}, "n": 1.0}, id="padded-journey"),
    pytest.param({"command": "acme.unknown", "data": 7}, id="unknown-command"),
    pytest.param({"command": "getCapabilities"}, id="no-data"),
])
def test_a_request_that_breaks_its_schema_gets_a_failure_repeating_it(value: dict[str, Any]) -> None:
    processor, checker = processor_and_checker()
    assert checker.observe_invalid(value, C)
    (reply,) = processor.receive(json.dumps(value), now=0.0)
    failure = checker.receive_message(reply)  # raises if it does not answer (and repeat) the invalid request
    assert isinstance(failure, FailureResponse)
    assert json_equal(failure.original, value)
    assert failure.failure.code == "invalid-request"
    assert isinstance(processor.errors[-1], SchemaViolationError)
    assert processor.session is not None
    assert processor.session.pending_requests() == ()


def test_an_unknown_command_fails_repeating_the_request_exactly() -> None:
    processor, checker = processor_and_checker()
    text = '{"command": "acme.hold", "data": {"callId": "c", "n": [1, 1.0]}, "extra": {"x": null}}'
    checker.observe(decode(text), C, value=json.loads(text))  # what the client sent, as it sent it
    (reply,) = processor.receive(text, now=0.0)
    failure = checker.receive_message(reply)
    assert isinstance(failure, FailureResponse)
    assert failure.failure.code == "unknown-command"
    assert json_equal(failure.original, json.loads(text))
    assert failure.command == "acme.hold"
    assert processor.errors == []  # an unknown command is a warning, not a protocol error


def test_a_registered_command_the_processor_does_not_carry_out_fails() -> None:
    registry = REGISTRY.copy()

    @registry.request("acme.hold")
    class HoldRequest(Request):
        call_id: str = wire("data", "callId")

    processor, checker = processor_and_checker(registry=registry)
    (reply,) = processor.receive(checker.send(HoldRequest(call_id="c")), now=0.0)
    failure = checker.receive_message(reply)
    assert isinstance(failure, FailureResponse)
    assert failure.failure.code == "unsupported-command"


def test_resource_data_repeats_unknown_members_exactly() -> None:
    processor, checker = processor_and_checker()
    text = json.dumps({"command": "prepareSession", "x": 1, "data": {
        "model": "m", "override": True, "site": 2.0, "agent": {"id": "1", "password": "pw", "ext": [1]}}})
    (reply,) = processor.receive(checker.send(decode(text)), now=0.0)
    success = checker.receive_message(reply)  # raises on resource-data-mismatch
    assert isinstance(success, PrepareSessionSuccess)
    assert json_equal(json.loads(reply)["resource"]["data"], json.loads(text)["data"])


def test_an_answer_too_large_to_send_gives_the_request_up() -> None:
    processor, _ = processor_and_checker(limits=Limits(max_message_bytes=300))
    big = json.dumps({"command": "acme.big", "data": {"blob": "x" * 200}})
    assert processor.receive(big, now=0.0) == []  # the failure repeating it would exceed 300 bytes
    assert isinstance(processor.errors[-1], LimitExceededError)
    small = {"command": "acme.big", "data": {}}
    (reply,) = processor.receive(json.dumps(small), now=1.0)
    assert json_equal(json.loads(reply)["original"], small)  # answers the new request, not the given-up one


def test_a_padded_command_is_answered_as_the_registered_one() -> None:
    """Quirk P1: `" getCapabilities "` is getCapabilities; the answer is written trimmed."""
    processor, checker = processor_and_checker()
    text = '{"command": " getCapabilities ", "data": {}}'
    checker.observe(decode(text), C, value=json.loads(text))
    (reply,) = processor.receive(text, now=0.0)
    assert isinstance(checker.receive_message(reply), GetCapabilitiesSuccess)
    assert json.loads(reply)["command"] == "getCapabilities"
    assert processor.errors == []


def test_a_text_before_connect_opens_a_connection() -> None:
    processor = ReferenceProcessor()
    (reply,) = processor.receive('{"command": "getCapabilities", "data": {}}', now=0.0)
    assert isinstance(decode(reply), GetCapabilitiesSuccess)


def test_the_client_survives_a_misbehaving_processor() -> None:
    client = ReferenceProcessorClient()
    client.connect(now=0.0)
    processor_side = ProcessorSession(S, sticky_errors=False)
    assert client.receive("not json", now=0.0) == []
    assert client.receive(encode(TeamStatusEndSuccess()), now=0.0) == []  # answers nothing outstanding
    event = {"name": "report.teamstatus.memberremoved",
             "data": {"agentId": "1001", "team": {"teamId": "t", "teamName": "n", "members": [{"memberId": "m"}]}}}
    assert client.receive(json.dumps(event), now=0.0) == []  # no report running
    assert [type(error) for error in client.errors][:1] == [DecodeError]
    assert [getattr(error, "code", None) for error in client.errors[1:]] == [
        "no-outstanding-request", "report-not-active"
    ]
    # An unknown event is only a warning: ignored.
    assert client.receive('{"name": "acme.tick", "data": {}}', now=0.0) == []
    assert len(client.errors) == 3
    # A confirm whose original is not the request: recorded, and not repeated with override.
    (asked,) = client.stimulate("prepare-session", now=0.0)
    request = processor_side.receive_message(asked)
    assert isinstance(request, PrepareSessionRequest)
    wrong = PrepareSessionConfirm(message="?", original=planted_processor._other_model(request))
    assert client.receive(encode(wrong), now=0.0) == []
    assert isinstance(client.errors[-1], UnknownCorrelationIdError)
    # Still working: a proper confirm is repeated with override.
    processor_side = ProcessorSession(S)  # the first one still waits for an answer it never sent
    (asked,) = client.stimulate("prepare-session", now=1.0)
    request = processor_side.receive_message(asked)
    assert isinstance(request, PrepareSessionRequest)
    (repeated,) = client.receive(processor_side.send(PrepareSessionConfirm(message="?", original=request)), now=1.0)
    assert processor_side.receive_message(repeated) == request.with_override()


def test_the_client_stops_asking_when_nothing_is_answered() -> None:
    client = ReferenceProcessorClient(limits=Limits(max_pending=2))
    client.connect(now=0.0)
    assert len(client.stimulate("get-capabilities", now=0.0)) == 1
    assert len(client.stimulate("call-journey", now=0.0)) == 1
    assert client.stimulate("begin-report", now=0.0) == []  # a third would break max_pending
    assert client.began == {}
