"""The conversation strategies: every drawn conversation is accepted by fresh connections of both roles and
validates clean; over a few hundred walks every table entry is exercised; time, reprs, records and shrinking."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, seed, settings
from hypothesis import strategies as st

from ccproto.bridge import (
    AgentInfoQuery,
    ControlChannel,
    ServerStatus,
    ServerStatusChanged,
    ServerStatusRequest,
)
from ccproto.bridge import states as bridge_states
from ccproto.capture.validator import validate_capture
from ccproto.cceb import CcebConnection, Hello, HelloReply
from ccproto.cceb import states as cceb_states
from ccproto.core.findings import Severity
from ccproto.core.roles import Role
from ccproto.processor import ProcessorSession
from ccproto.processor import states as processor_states
from ccproto.processor.models import (
    AgentCredentials,
    PrepareSessionRequest,
    SessionParameters,
    failure_response,
)
from ccproto.protocols import BUILT_IN
from ccproto.testing.sequences import Conversation, Step, Transition, conversations
from ccproto.testing.slices import slice_of
from ccproto.testing.slices.bridge.conversations import bridge_conversations
from ccproto.testing.slices.cceb.conversations import cceb_conversations
from ccproto.testing.slices.processor.conversations import processor_conversations

CONNECTIONS: dict[str, Callable[..., Any]] = {
    "bridge": ControlChannel,
    "processor": ProcessorSession,
    "cceb": CcebConnection,
}

#: Warnings a valid conversation may get: requests left unanswered at the end, and extensions (unknown names).
ALLOWED_WARNINGS = {
    "unanswered-request",
    "unknown-command",
    "unknown-event",
    "unknown-notification",
    "agent-name-missing",
}

_Ex = processor_states.Exchange
#: A request that broke its schema is what puts an exchange in AWAITING_INVALID: no valid conversation has one.
NEEDS_INVALID_REQUEST = {key for key in processor_states.EXCHANGE_TRANSITIONS if key[0] is _Ex.AWAITING_INVALID}

#: What the walks must exercise between them: table name -> keys.
EXPECTED: dict[str, dict[str, set[tuple[Any, ...]]]] = {
    "bridge": {
        "PHASE_TRANSITIONS": set(bridge_states.PHASE_TRANSITIONS),
        "SERVER_STATUS": {
            *((None, status) for status in ServerStatus),
            *((last, new) for last, allowed in bridge_states.STATUS_TRANSITIONS.items() for new in allowed),
        },
    },
    "processor": {
        "EXCHANGE_TRANSITIONS": set(processor_states.EXCHANGE_TRANSITIONS) - NEEDS_INVALID_REQUEST,
        "REPORT_TRANSITIONS": set(processor_states.REPORT_TRANSITIONS),
    },
    "cceb": {
        "CONNECTION_TRANSITIONS": set(cceb_states.CONNECTION_TRANSITIONS),
        "PHONE_VALIDATION_TRANSITIONS": set(cceb_states.PHONE_VALIDATION_TRANSITIONS),
        "OFF_HOOK_TRANSITIONS": set(cceb_states.OFF_HOOK_TRANSITIONS),
    },
}

#: The protocols with a walker of valid conversations (CCT has none: no wire payloads to walk).
PROTOCOLS = tuple(name for name in BUILT_IN if slice_of(name).conversations is not None)


def replay(conversation: Conversation) -> dict[Role, Any]:
    """Play the conversation between fresh connections of both roles, through their wire forms."""
    peers = {role: CONNECTIONS[conversation.protocol](role) for role in Role}
    last = None
    for step in conversation.steps:
        assert last is None or step.now >= last, "time goes backwards"
        last = step.now
        for peer in peers.values():
            # Nothing outstanding may have expired by the time of the step (its answer would be an error).
            timer = peer.get_timer()
            assert timer is None or step.now < timer
        sender, receiver = peers[step.sender], peers[step.sender.peer]
        if step.message is None:
            assert step.close is not None
            code, reason = step.close
            sender.close(code, reason, now=step.now)
            receiver.receive_close(code, reason, now=step.now)
            continue
        assert step.close is None
        if conversation.protocol == "bridge":
            receiver.receive_data(sender.send(step.message, now=step.now))
            received = receiver.next_event(now=step.now)
        else:
            received = receiver.receive_message(sender.send(step.message, now=step.now), now=step.now)
        assert received == step.message
    return peers


def check_valid(conversation: Conversation) -> None:
    """Both roles accept it, and ``ccproto validate`` finds no error and no unexpected warning in it."""
    assert conversation.protocol in PROTOCOLS
    peers = replay(conversation)
    assert all(peer.error is None for peer in peers.values())
    report = validate_capture(io.StringIO(conversation.jsonl()), file="walk")
    assert report.records == len(conversation.steps) + 1  # and its open record
    errors = [f.to_json() for f in report.findings if f.severity is Severity.ERROR]
    assert not errors, errors
    assert {f.code for f in report.findings} <= ALLOWED_WARNINGS


def check_transitions(protocol: str, transitions: tuple[Transition, ...]) -> None:
    """Every recorded transition is an entry of the table it names."""
    for table, key in transitions:
        expected = EXPECTED[protocol][table]
        assert key in expected or (table == "SERVER_STATUS" and key[0] is key[1]), (table, key)


#: Walks per protocol and round for the coverage test (the CCEB's phase tables need the most), and their longest
#: length.  These walks cover everything after about 100 walks of each protocol, but which walks a seed gives
#: depends on what hypothesis ran before in the same process, so a round that misses an entry is followed by
#: another with another seed (at most ROUNDS): the test cannot flake with the suite's order, and still fails when
#: an entry cannot be reached at all.
WALKS = {"bridge": (200, 30), "processor": (200, 30), "cceb": (300, 40)}
ROUNDS = 5


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_walks_cover_every_table_entry_and_every_walk_is_valid(protocol: str) -> None:
    seen: dict[str, set[tuple[Any, ...]]] = {table: set() for table in EXPECTED[protocol]}
    examples, max_steps = WALKS[protocol]

    def missing() -> dict[str, list[str]]:
        gaps = {table: sorted(map(str, keys - seen[table])) for table, keys in EXPECTED[protocol].items()}
        return {table: keys for table, keys in gaps.items() if keys}

    for round_number in range(ROUNDS):
        @seed(round_number)
        @settings(max_examples=examples, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(conversations(protocol, max_steps=max_steps))
        def walk(conversation: Conversation) -> None:
            check_valid(conversation)
            check_transitions(protocol, conversation.transitions)
            for table, key in conversation.transitions:
                seen[table].add(key)

        walk()
        if not missing():
            break
    assert not missing(), f"never exercised in {ROUNDS} rounds: {missing()}"


@pytest.mark.parametrize("strategy", [bridge_conversations, processor_conversations, cceb_conversations])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_each_protocol_strategy_draws_valid_conversations(
    strategy: Callable[..., st.SearchStrategy[Conversation]], data: st.DataObject
) -> None:
    conversation = data.draw(strategy(max_steps=12))
    assert len(conversation.steps) <= 12
    check_valid(conversation)


def test_conversations_names_the_protocols() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        conversations("sip")


def test_records_and_jsonl() -> None:
    request = ServerStatusRequest(target="p1.CONTROL", request_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    status = ServerStatusChanged(status=ServerStatus.IN_SERVICE)
    bridge = Conversation(protocol="bridge", steps=(
        Step(sender=Role.SERVER, message=request, now=10.0),
        Step(sender=Role.CLIENT, message=status, now=10.5),
    ))
    assert bridge.records("c1") == [
        {"ts": 10.0, "conn": "c1", "from": "client", "protocol": "bridge", "open": {}},
        {"ts": 10.0, "conn": "c1", "from": "server", "protocol": "bridge",
         "message": {"header": {"type": "cti.request", "name": "cti.request.serverstatus", "target": "p1.CONTROL",
                                "requestId": "0f8fad5b-d9cb-469f-a165-70867728950e"}, "body": {}}},
        {"ts": 10.5, "conn": "c1", "from": "client", "protocol": "bridge",
         "message": {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                     "body": {"status": "in-service"}}},
    ]
    lines = bridge.jsonl().splitlines()
    assert [json.loads(line) for line in lines] == bridge.records()
    cceb = Conversation(protocol="cceb", steps=(
        Step(sender=Role.CLIENT, message=None, close=(1000, "bye \u2028 \U0001f600"), now=1.0),
        Step(sender=Role.SERVER, message=None, close=(None, ""), now=1.0),
    ))
    records = cceb.records(opened=False)
    assert records[0]["close"] == {"code": 1000, "reason": "bye \u2028 \U0001f600"}
    assert records[1]["close"] == {"reason": ""}
    assert cceb.records()[1:] == records
    text = cceb.jsonl()
    assert text.isascii()  # no character can split a record's line
    assert text.count("\n") == 3
    report = validate_capture(io.StringIO(text))
    assert report.records == 3
    assert report.errors == 0


def test_reprs_never_show_secrets() -> None:
    # Declared secrets; an unknown member is shown in a model's repr whatever its name (only validation excerpts
    # hide suspect names, docs/quirks.md V5).
    secrets = ["tok-SECRET-1", "key-SECRET-2", "pw-SECRET-3", "pw-SECRET-4"]
    hello = Hello(uuid="0f8fad5b-d9cb-469f-a165-70867728950e", token=secrets[0], tenant="t", session_key=secrets[1])
    reply = HelloReply(uuid=hello.uuid, session_key=secrets[1], resumed=True)
    prepare = PrepareSessionRequest(data=SessionParameters(
        model="m", override=False, agent=AgentCredentials(id="a", password=secrets[2])
    ))
    query = AgentInfoQuery(target="p.CONTROL", request_id=hello.uuid, agent_id="a", requesting_agent_login="l",
                           requesting_agent_password=secrets[3])
    conversations_ = [
        Conversation(protocol="cceb", steps=(Step(sender=Role.CLIENT, message=hello, now=0.0),
                                             Step(sender=Role.SERVER, message=reply, now=0.1))),
        Conversation(protocol="processor", steps=(
            Step(sender=Role.CLIENT, message=prepare, now=0.0),
            Step(sender=Role.SERVER, message=failure_response(prepare, "c", "m"), now=0.1),
        )),
        Conversation(protocol="bridge", steps=(
            Step(sender=Role.SERVER, message=ServerStatusRequest(target="p.CONTROL", request_id=hello.uuid), now=0),
            Step(sender=Role.SERVER, message=query, now=0.0),
        )),
    ]
    for conversation in conversations_:
        shown = repr(conversation) + repr(conversation.steps[-1])
        assert not [secret for secret in secrets if secret in shown]
        assert any(secret in conversation.jsonl() for secret in secrets)  # records are the wire: secrets included


def test_time_stays_inside_the_request_timeout() -> None:
    # A long conversation with something always outstanding: each pause is drawn below the oldest deadline.
    @settings(max_examples=10, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(processor_conversations(max_steps=120))
    def walk(conversation: Conversation) -> None:
        replay(conversation)  # asserts no timer has passed at any step

    walk()


def test_shrinks_to_the_shortest_walk_reaching_a_status_report() -> None:
    def has_status(conversation: Conversation) -> bool:
        return any(isinstance(step.message, ServerStatusChanged) for step in conversation.steps)

    # Fixed Randoms, not derandomize. Even from a fixed start, what hypothesis draws moves with unrelated code
    # (it also draws constants it finds in the modules loaded: collecting another test module changed it), and
    # from some starts the shrinker stops in a local minimum (eight steps were seen). The property is that
    # shrinking reaches the shortest walk, so it must from one of a few known starts; each start's result must
    # still be a walk to a status report.
    found = None
    for start in range(4):
        candidate = find(bridge_conversations(max_steps=10), has_status, settings=settings(
            database=None, max_examples=100, derandomize=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]), random=Random(start))
        assert type(candidate.steps[0].message) is ServerStatusRequest
        assert has_status(candidate)
        if found is None or len(candidate.steps) < len(found.steps):
            found = candidate
        if len(found.steps) <= 3:
            break
    assert found is not None
    kinds = [type(step.message) for step in found.steps]
    # Shrunk to the status request, at most one step that could not be deleted, and the first status report.
    assert kinds[0] is ServerStatusRequest, kinds
    assert kinds[-1] is ServerStatusChanged, kinds
    assert len(kinds) <= 3, kinds
    assert all(step.message is not None and not step.message.extra for step in found.steps)
    assert [step.now for step in found.steps] == [0.0] * len(kinds)
    assert found.steps[-1].message == ServerStatusChanged(status=ServerStatus.STARTING_SERVICE)


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow


def test_a_protocol_without_a_walker_says_so() -> None:
    assert set(BUILT_IN) - set(PROTOCOLS) == {"cct"}
    with pytest.raises(ValueError, match="the cct protocol's testing slice has no walker"):
        conversations("cct")
