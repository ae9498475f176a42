"""The CCEB reference peers: wired together under an observer, fed garbage, and with their planted bugs."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planted_cceb
from ccproto.cceb import (
    CcebConnection,
    ConnectionState,
    HelloReply,
    Registry,
    SessionStore,
    decode,
    new_uuid,
)
from ccproto.core.errors import (
    InvalidTransitionError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnknownCorrelationIdError,
)
from ccproto.core.jsonio import parse_object
from ccproto.core.limits import Limits
from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.cceb.peers import ReferenceCceb, ReferenceCcebClient

HOURS = 3600.0
LIFETIME = 72 * HOURS
TOKEN = "eyJ-very-secret-token"


class Wire:
    """A client and a CCEB wired together, with an observer (sticky errors) per connection seeing every text."""

    def __init__(self, client: ReferenceCcebClient, cceb: ReferenceCceb) -> None:
        self.client, self.cceb = client, cceb
        self.now = 0.0
        self.observer: CcebConnection | None = None
        #: Every text that crossed, with its sender.
        self.transcript: list[tuple[Role, str]] = []
        #: The hello_reply of each connection, in order.
        self.replies: list[HelloReply] = []

    @property
    def connected(self) -> bool:
        return self.observer is not None

    def peer(self, role: Role) -> ReferencePeer:
        return self.client if role is Role.CLIENT else self.cceb

    def observe(self, text: str, sender: Role) -> None:
        """The observer checks ``text``; a text that does not decode is noted as invalid and the error raised."""
        assert self.observer is not None
        try:
            message = decode(text)
        except ProtocolError:
            self.observer.observe_invalid(parse_object(text), sender, now=self.now)
            raise
        self.observer.observe(message, sender, now=self.now)
        if isinstance(message, HelloReply):
            self.replies.append(message)

    def run(self, texts: list[str], sender: Role) -> list[tuple[Role, str]]:
        """Deliver ``texts`` (from ``sender``) and everything they cause, in order; returns what crossed."""
        queue = collections.deque((sender, text) for text in texts)
        crossed: list[tuple[Role, str]] = []
        while queue:
            who, text = queue.popleft()
            self.transcript.append((who, text))  # first, so a text the observer refuses is still on record
            self.observe(text, who)
            crossed.append((who, text))
            receiver = who.peer
            queue.extend((receiver, reply) for reply in self.peer(receiver).receive(text, now=self.now))
        return crossed

    def connect(self) -> list[tuple[Role, str]]:
        self.observer = CcebConnection(Role.SERVER, sticky_errors=True)
        crossed = self.run(self.cceb.connect(now=self.now), Role.SERVER)
        return crossed + self.run(self.client.connect(now=self.now), Role.CLIENT)

    def disconnect(self) -> None:
        assert self.observer is not None
        self.observer.observe_close(Role.CLIENT, code=1000, now=self.now)
        assert self.client.disconnect(now=self.now) == []
        assert self.cceb.disconnect(now=self.now) == []
        self.observer = None

    def stimulate(self, role: Role, name: str) -> list[tuple[Role, str]]:
        texts = self.peer(role).stimulate(name, now=self.now)
        if self.observer is None:
            assert texts == []
            return []
        return self.run(texts, role)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        assert self.client.advance(now=self.now) == []
        assert self.cceb.advance(now=self.now) == []

    def settled(self) -> None:
        """Nothing waits for an answer and neither peer saw a protocol error."""
        assert self.client.errors == []
        assert self.cceb.errors == []
        if self.observer is not None:
            assert self.observer.in_flight() == ()


def wire(client: ReferenceCcebClient | None = None, cceb: ReferenceCceb | None = None) -> Wire:
    return Wire(client or ReferenceCcebClient(token=TOKEN, tenant="acme"), cceb or ReferenceCceb())


def values(crossed: list[tuple[Role, str]]) -> list[tuple[Role, dict[str, Any]]]:
    return [(who, json.loads(text)) for who, text in crossed]


def kinds(crossed: list[tuple[Role, str]]) -> list[str]:
    """Each crossed message's type (an action's: ``action:Name``; a phone validation's: ``pv:state``)."""
    found = []
    for _, value in values(crossed):
        kind = value["type"]
        if kind == "action":
            kind = f"action:{value['data']['action']}"
        elif kind == "phone_validation":
            kind = f"pv:{value['data']['state']}"
        found.append(kind)
    return found


# -- scripted conversations ------------------------------------------------------------------


def test_hello_opens_a_long_lived_session() -> None:
    w = wire()
    crossed = w.connect()
    (c, hello), (s, reply) = values(crossed)
    assert (c, s) == (Role.CLIENT, Role.SERVER)
    assert hello["type"] == "hello"
    assert hello["data"]["long_lived"] is True
    assert "session_key" not in hello["data"]
    assert reply["type"] == "hello_reply"
    assert reply["uuid"] == hello["uuid"]
    assert w.client.session_key == reply["data"]["session_key"] is not None
    assert w.observer is not None
    assert w.observer.state is ConnectionState.OPEN
    w.settled()


def test_every_action_is_acked_and_generates_its_notifications() -> None:
    w = wire()
    w.connect()
    crossed = w.stimulate(Role.CLIENT, "change-state")
    assert kinds(crossed) == ["action:ChangeAgentStateEvent", "ack", "presence", "ack"]
    (_, action), (_, ack), (_, presence), (_, ack2) = values(crossed)
    assert ack["uuid"] == action["uuid"]
    assert ack2["uuid"] == presence["uuid"]
    assert presence["data"] == {"state": "Available"}
    assert kinds(w.stimulate(Role.CLIENT, "request-interactions")) == [
        "action:RequestAgentInteractionListEvent", "ack", "interactions_list", "ack",
    ]
    w.settled()


def test_phone_validation_follows_its_table() -> None:
    w = wire()
    w.connect()
    assert kinds(w.stimulate(Role.CLIENT, "enter-pin")) == ["action:PhoneVerificationPinEvent", "ack"]  # nothing runs
    crossed = w.stimulate(Role.CLIENT, "validate-phone")
    assert kinds(crossed) == ["action:PhoneValidationValidateEvent", "ack", "pv:offering", "ack"]
    assert values(crossed)[2][1]["data"]["timeout"] == ReferenceCceb.VALIDATION_TIMEOUT
    # A second validate while one is offering only gets its ack.
    assert kinds(w.stimulate(Role.CLIENT, "validate-phone")) == ["action:PhoneValidationValidateEvent", "ack"]
    crossed = w.stimulate(Role.CLIENT, "enter-pin")
    assert kinds(crossed) == [
        "action:PhoneVerificationPinEvent", "ack", "pv:answered", "pv:verified", "ack", "ack",
    ]
    assert all("timeout" not in value["data"] for _, value in values(crossed) if value["type"] == "phone_validation")
    assert kinds(w.stimulate(Role.CLIENT, "cancel-validation")) == ["action:PhoneValidationCancelEvent", "ack"]
    w.stimulate(Role.CLIENT, "validate-phone")
    assert kinds(w.stimulate(Role.CLIENT, "cancel-validation")) == [
        "action:PhoneValidationCancelEvent", "ack", "pv:rejected", "ack",
    ]
    w.settled()


def test_an_offered_interaction_is_accepted_without_reserved_fields() -> None:
    w = wire()
    w.connect()
    crossed = w.stimulate(Role.SERVER, "offer-interaction")
    assert kinds(crossed) == ["agent_interaction", "ack", "action:AcceptInteractionEvent", "ack",
                              "interaction_update", "ack"]
    offer, accept, update = values(crossed)[0][1], values(crossed)[2][1], values(crossed)[4][1]
    assert {"agentGuid", "tenantGuid", "interaction_id"} <= set(offer["data"])
    assert accept["data"]["action_details"] == {"interactionId": offer["data"]["interaction_id"]}
    assert update["data"] == {"state": "accepted", "interaction_id": offer["data"]["interaction_id"]}
    listed = values(w.stimulate(Role.CLIENT, "request-interactions"))[2][1]
    assert listed["data"] == {"interactions": [offer["data"]["interaction_id"]]}
    assert kinds(w.stimulate(Role.SERVER, "presence")) == ["presence", "ack"]
    w.settled()


def test_auto_accept_lets_the_cceb_accept() -> None:
    w = wire(ReferenceCcebClient(token=TOKEN, tenant="acme", auto_accept=True))
    w.connect()
    assert values(w.transcript)[0][1]["data"]["auto_accept"] is True
    assert kinds(w.stimulate(Role.SERVER, "offer-interaction")) == [
        "agent_interaction", "interaction_update", "ack", "ack",
    ]
    # A resumed session keeps what its first hello asked.
    w.disconnect()
    w.advance(HOURS)
    w.connect()
    assert w.replies[-1].resumed is True
    assert kinds(w.stimulate(Role.SERVER, "offer-interaction"))[1] == "interaction_update"
    w.settled()


@pytest.mark.parametrize(("gap", "resumed"), [(HOURS, True), (LIFETIME, True), (LIFETIME + 1, False)])
def test_a_reconnect_resumes_within_72_hours(gap: float, resumed: bool) -> None:
    store = SessionStore()
    w = wire(cceb=ReferenceCceb(store=store))
    w.connect()
    first = w.client.session_key
    w.disconnect()
    w.advance(gap)
    crossed = w.connect()
    hello = values(crossed)[0][1]
    assert hello["data"]["session_key"] == first
    reply = w.replies[-1]
    assert bool(reply.resumed) is resumed
    assert (reply.session_key == first) is resumed
    assert w.client.session_key == reply.session_key
    assert len(store) == 1  # the expired session was forgotten, not kept beside the new one
    w.settled()


def test_advance_drops_expired_sessions() -> None:
    store = SessionStore()
    w = wire(cceb=ReferenceCceb(store=store))
    w.connect()
    w.disconnect()
    w.advance(LIFETIME)
    assert len(store) == 1
    w.advance(1)
    assert len(store) == 0
    w.connect()
    assert not w.replies[-1].resumed
    w.settled()


def test_a_short_lived_client_never_gets_a_key() -> None:
    w = wire(ReferenceCcebClient(token=TOKEN, tenant="acme", long_lived=False))
    for _ in range(2):
        w.connect()
        assert w.replies[-1].session_key is None
        assert w.client.session_key is None
        assert values(w.transcript)[-2][1]["data"]["long_lived"] is False
        w.disconnect()
    w.settled()


def test_stimuli_are_no_ops_until_the_connection_is_open() -> None:
    client, cceb = ReferenceCcebClient(token=TOKEN, tenant="acme"), ReferenceCceb()
    for name in ReferenceCcebClient.STIMULI:
        assert client.stimulate(name, now=0) == []
    for name in ReferenceCceb.STIMULI:
        assert cceb.stimulate(name, now=0) == []
    assert cceb.connect(now=0) == []
    [hello] = client.connect(now=0)
    assert all(cceb.stimulate(name, now=0) == [] for name in ReferenceCceb.STIMULI)  # before hello
    assert all(client.stimulate(name, now=0) == [] for name in ReferenceCcebClient.STIMULI)  # awaiting reply
    assert client.stimulate("no-such-stimulus", now=0) == []
    [reply] = cceb.receive(hello, now=0)
    assert cceb.stimulate("no-such-stimulus", now=0) == []
    assert client.receive(reply, now=0) == []
    assert len(client.stimulate("change-state", now=0)) == 1
    client.disconnect(now=1)
    cceb.disconnect(now=1)
    assert client.stimulate("change-state", now=1) == []
    assert cceb.stimulate("presence", now=1) == []
    assert client.receive(reply, now=1) == []
    assert cceb.receive(hello, now=1) == []
    assert client.errors == []
    assert cceb.errors == []


def test_peers_never_pass_max_pending() -> None:
    """Unacked messages pile up when the other side stays silent; a peer stops adding before the limit."""
    limits = Limits(max_pending=2)
    client = ReferenceCcebClient(token=TOKEN, tenant="acme", limits=limits)
    cceb = ReferenceCceb(limits=limits)
    cceb.connect(now=0)
    [reply] = cceb.receive(client.connect(now=0)[0], now=0)
    client.receive(reply, now=0)
    sent = [cceb.stimulate("presence", now=1) for _ in range(3)]
    assert [len(texts) for texts in sent] == [1, 1, 0]
    assert [len(client.stimulate("change-state", now=1)) for _ in range(3)] == [1, 1, 0]
    assert client.errors == []
    assert cceb.errors == []


def test_a_client_sends_only_actions_its_registry_supports() -> None:
    registry = Registry()
    registry.add_action("ChangeAgentStateEvent")
    w = wire(ReferenceCcebClient(token=TOKEN, tenant="acme", registry=registry))
    w.connect()
    assert w.stimulate(Role.CLIENT, "validate-phone") == []
    assert kinds(w.stimulate(Role.SERVER, "offer-interaction")) == ["agent_interaction", "ack"]  # no accept
    assert kinds(w.stimulate(Role.CLIENT, "change-state"))[0] == "action:ChangeAgentStateEvent"
    w.settled()


def test_secrets_stay_out_of_reprs() -> None:
    w = wire()
    w.connect()
    key = w.client.session_key
    assert key is not None
    for text in (repr(w.client), repr(w.cceb), repr(w.cceb.store), *map(repr, w.cceb.store)):
        assert TOKEN not in text
        assert key not in text


# -- the property: any sequence of stimuli, reconnections and waits ----------------------------

OPS = st.one_of(
    st.tuples(st.just("client"), st.sampled_from(ReferenceCcebClient.STIMULI)),
    st.tuples(st.just("cceb"), st.sampled_from(ReferenceCceb.STIMULI)),
    st.tuples(st.just("disconnect"), st.just("")),
    st.tuples(st.just("connect"), st.just("")),
    st.tuples(st.just("advance"), st.sampled_from([1.0, HOURS, LIFETIME - 1, LIFETIME, LIFETIME + 1])),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(OPS, max_size=30),
    long_lived=st.booleans(),
    auto_accept=st.sampled_from([None, False, True]),
)
def test_any_valid_conversation_is_clean(
    ops: list[tuple[str, Any]], long_lived: bool, auto_accept: bool | None
) -> None:
    w = wire(ReferenceCcebClient(token=TOKEN, tenant="acme", long_lived=long_lived, auto_accept=auto_accept))
    w.connect()
    disconnected_at: float | None = None
    for op, arg in ops:
        if op == "client":
            w.stimulate(Role.CLIENT, arg)
        elif op == "cceb":
            w.stimulate(Role.SERVER, arg)
        elif op == "disconnect" and w.connected:
            w.disconnect()
            disconnected_at = w.now
        elif op == "connect":
            if w.connected:
                w.disconnect()
                disconnected_at = w.now
            key = w.client.session_key
            w.connect()
            reply = w.replies[-1]
            # The 72-hour rule, as seen from outside.
            expect = key is not None and disconnected_at is not None and w.now - disconnected_at <= LIFETIME
            assert bool(reply.resumed) is expect
            assert (reply.session_key is not None) is long_lived
        elif op == "advance":
            w.advance(arg)
        w.settled()


# -- planted bugs --------------------------------------------------------------------------


def bug_ack_wrong_uuid() -> None:
    w = wire(cceb=planted_cceb.AckWrongUuid())
    w.connect()
    with pytest.raises(UnknownCorrelationIdError) as caught:
        w.stimulate(Role.CLIENT, "change-state")
    assert caught.value.code == "unknown-uuid"
    assert caught.value.role is Role.SERVER


def bug_never_acks() -> None:
    w = wire(cceb=planted_cceb.NeverAcks())
    w.connect()
    assert kinds(w.stimulate(Role.CLIENT, "change-state")) == ["action:ChangeAgentStateEvent", "presence", "ack"]
    assert w.observer is not None
    [waiting] = w.observer.unacked_actions()
    assert waiting.message_type == "action"
    assert w.observer.handle_timer(w.now + w.observer.limits.request_timeout) == (waiting,)


def bug_resumes_after_72h() -> None:
    w = wire(cceb=planted_cceb.ResumesAfter72h())
    w.connect()
    key = w.client.session_key
    w.disconnect()
    w.advance(LIFETIME + 1)
    w.connect()  # each connection on its own is fine: the bug shows only across them
    assert w.replies[-1].resumed is True
    assert w.replies[-1].session_key == key


def bug_timeout_on_answered() -> None:
    w = wire(cceb=planted_cceb.TimeoutOnAnswered())
    w.connect()
    w.stimulate(Role.CLIENT, "validate-phone")
    with pytest.raises(SchemaViolationError) as caught:
        w.stimulate(Role.CLIENT, "enter-pin")
    assert caught.value.pointer == "/data/timeout"


def bug_echoes_reserved_field() -> None:
    w = wire(planted_cceb.EchoesReservedField(token=TOKEN, tenant="acme"))
    w.connect()
    with pytest.raises(SchemaViolationError) as caught:
        w.stimulate(Role.SERVER, "offer-interaction")
    assert caught.value.code == "reserved-field"
    # The clean CCEB refuses it: an error recorded, no ack.
    who, action = w.transcript[-1]
    assert who is Role.CLIENT
    assert "agentGuid" in json.loads(action)["data"]["action_details"]
    assert w.cceb.receive(action, now=w.now) == []
    assert w.cceb.errors
    assert getattr(w.cceb.errors[-1], "code", None) == "reserved-field"


BUG_SCENARIOS: dict[str, Callable[[], None]] = {
    "ack-wrong-uuid": bug_ack_wrong_uuid,
    "never-acks": bug_never_acks,
    "resumes-after-72h": bug_resumes_after_72h,
    "timeout-on-answered": bug_timeout_on_answered,
    "echoes-reserved-field": bug_echoes_reserved_field,
}


def test_every_planted_bug_has_a_scenario() -> None:
    assert set(BUG_SCENARIOS) == set(planted_cceb.BUGS)
    for bug_id, cls in planted_cceb.BUGS.items():
        assert cls.__doc__
        assert bug_id in cls.__doc__
        assert issubclass(cls, (ReferenceCceb, ReferenceCcebClient))


@pytest.mark.parametrize("bug_id", sorted(BUG_SCENARIOS))
def test_planted_bug_is_caught(bug_id: str) -> None:
    BUG_SCENARIOS[bug_id]()


def test_the_clean_cceb_never_resumes_after_72h() -> None:
    w = wire()
    w.connect()
    key = w.client.session_key
    w.disconnect()
    w.advance(LIFETIME + 1)
    w.connect()
    assert not w.replies[-1].resumed
    assert w.replies[-1].session_key != key


# -- the other side misbehaves ---------------------------------------------------------------


def _action(name: str, details: Any, **extra: Any) -> str:
    data = {"action": name, "action_details": details} if details is not None else {"action": name}
    return json.dumps({"type": "action", "uuid": new_uuid(), "data": data, **extra})


def _opened_cceb() -> tuple[ReferenceCceb, str]:
    cceb, client = ReferenceCceb(), ReferenceCcebClient(token=TOKEN, tenant="acme")
    cceb.connect(now=0)
    [hello] = client.connect(now=0)
    assert len(cceb.receive(hello, now=0)) == 1
    return cceb, hello


@pytest.mark.parametrize(("text", "code"), [
    ("not json", "decode-error"),
    (_action("AcceptInteractionEvent", {"interactionId": "i-1", "agentGuid": "g"}), "reserved-field"),
    (_action("TransferAgentTelephoneLinesEvent", {"destinationAgentGuid": "g"}), "reserved-field"),
    (_action("NoSuchEvent", {}), "unsupported-action"),
    (_action("ChangeAgentStateEvent", None), "schema-violation"),
    (json.dumps({"type": "ack", "uuid": "00000000-0000-4000-8000-000000000001"}), "unknown-uuid"),
    (json.dumps({"type": "presence", "uuid": "00000000-0000-4000-8000-000000000002", "data": {}}), "wrong-direction"),
])
def test_the_cceb_refuses_without_acking_and_keeps_going(text: str, code: str) -> None:
    cceb, _ = _opened_cceb()
    assert cceb.receive(text, now=1) == []
    assert [getattr(error, "code", None) for error in cceb.errors] == [code]
    valid = _action("ChangeAgentStateEvent", {"state": "Away"})
    replies = [json.loads(reply) for reply in cceb.receive(valid, now=2)]
    assert [reply["type"] for reply in replies] == ["ack", "presence"]
    assert replies[0]["uuid"] == json.loads(valid)["uuid"]
    assert replies[1]["data"] == {"state": "Away"}
    assert len(cceb.errors) == 1


def test_the_cceb_refuses_a_second_hello_and_a_broken_one() -> None:
    cceb, hello = _opened_cceb()
    assert cceb.receive(hello, now=1) == []
    assert isinstance(cceb.errors[-1], RemoteProtocolError)
    assert cceb.errors[-1].code == "out-of-order"
    fresh = ReferenceCceb()
    fresh.connect(now=0)
    assert fresh.receive(json.dumps({"type": "hello", "uuid": new_uuid(), "data": {"tenant": "acme"}}), now=0) == []
    assert len(fresh.errors) == 1
    assert TOKEN not in str(fresh.errors[0])


def _opened_client() -> ReferenceCcebClient:
    client, cceb = ReferenceCcebClient(token=TOKEN, tenant="acme"), ReferenceCceb()
    cceb.connect(now=0)
    [hello] = client.connect(now=0)
    [reply] = cceb.receive(hello, now=0)
    assert client.receive(reply, now=0) == []
    return client


def test_the_client_acks_notifications_that_break_a_rule() -> None:
    client = _opened_client()
    broken = new_uuid()
    [ack] = client.receive(json.dumps({"type": "presence", "uuid": broken, "data": 5}), now=1)
    assert json.loads(ack) == {"type": "ack", "uuid": broken}
    assert isinstance(client.errors[-1], SchemaViolationError)
    phase = new_uuid()  # answered before any offering: the phase table refuses it, but it was received
    [ack] = client.receive(json.dumps({"type": "phone_validation", "uuid": phase, "data": {"state": "answered"}}),
                           now=1)
    assert json.loads(ack)["uuid"] == phase
    assert isinstance(client.errors[-1], InvalidTransitionError)
    assert client.connection is not None
    assert client.connection.unacked_notifications() == ()


@pytest.mark.parametrize(("text", "code"), [
    ("[1, 2", "decode-error"),
    (json.dumps({"type": "presence", "uuid": "not-a-uuid", "data": {}}), "schema-violation"),
    (json.dumps({"type": "ack", "uuid": "00000000-0000-4000-8000-000000000006"}), "unknown-uuid"),
    (json.dumps({"type": "hello_reply", "uuid": "00000000-0000-4000-8000-000000000007", "data": {}}), "out-of-order"),
    (json.dumps({"type": "action", "uuid": "00000000-0000-4000-8000-000000000008",
                 "data": {"action": "ChangeAgentStateEvent", "action_details": {}}}), "wrong-direction"),
])
def test_the_client_records_errors_and_keeps_going(text: str, code: str) -> None:
    client = _opened_client()
    assert client.receive(text, now=1) == []
    assert [getattr(error, "code", None) for error in client.errors] == [code]
    offering = new_uuid()
    replies = client.receive(json.dumps({"type": "phone_validation", "uuid": offering,
                                         "data": {"state": "offering", "timeout": 5}}), now=2)
    assert [json.loads(reply) for reply in replies] == [{"type": "ack", "uuid": offering}]
    assert len(client.errors) == 1
