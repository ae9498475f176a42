"""The per-message fast paths of the connection objects and codecs answer exactly what the plain paths answer.

* the earliest-deadline bookkeeping (``core.connection.EarliestDeadline``) behind ``get_timer`` and
  ``handle_timer``: each connection is run twice on the same random steps (requests, answers, expiries,
  non-monotonic, integer, NaN and missing times), once as it is and once with the bookkeeping forced to
  scan before every timer call (the scan is the code that always ran), and every answer must be the same,
  down to its ``repr``;
* the positional constructors of ``PendingRequest`` / ``PendingCommand`` / ``InFlight`` (``slot_builder``);
* the per-class caches of ``states.input_of``, and the identity hash of the table enums;
* the generated structure functions' cheaper checks (unknown members counted by length, rules only run
  when they can fail) and the connections' fast receiving and sending paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto import bridge, cceb, processor
from ccproto.bridge import states as bridge_states
from ccproto.cceb import states as cceb_states
from ccproto.core.compiled import Fallback, structure_function
from ccproto.core.connection import ConnectionBase, EarliestDeadline, slot_builder
from ccproto.core.convert import StructureError, converter
from ccproto.core.decoding import message_text
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import Limits
from ccproto.core.roles import IdentityEnum, Role
from ccproto.processor import states as processor_states

TARGET = "Acme1.CONTROL"
AGENT = "1001"

# -- the earliest deadline, against min() over what is outstanding --------------------------------------------

#: Deadlines that make min() depend on order or print differently: ties of int and float, signed zeros, NaN.
DEADLINES = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 0, 1, 1.0, 2, 2.5, 30, 30.0, math.inf, -math.inf, math.nan]),
    st.floats(min_value=-100, max_value=100, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), DEADLINES, st.integers(min_value=0, max_value=50)), max_size=40))
def test_earliest_deadline_is_exactly_min_in_scan_order_whenever_known(steps: list[tuple[bool, Any, int]]) -> None:
    timer = EarliestDeadline()
    items: list[Any] = []  # the owner's deadlines, in its scan order
    for add, deadline, index in steps:
        if add or not items:
            items.append(deadline)
            timer.added(deadline)
        else:
            gone = items.pop(index % len(items))
            timer.removed(gone, empty=not items)
        deadlines = [d for d in items if d is not None]
        expected = min(deadlines) if deadlines else None
        if timer.known:
            assert repr(timer.earliest) == repr(expected)
            assert type(timer.earliest) is type(expected)
        else:
            assert repr(timer.recompute(deadlines)) == repr(expected)
        now = 1.0
        due = any(d <= now for d in deadlines)
        assert not (timer.surely_not_due(now) and due)


class _Driver:
    """Random steps on a connection: open something that waits for an answer, answer one, or tick."""

    def __init__(self, conn: Any) -> None:
        self.conn: Any = conn
        self.counter = 0

    def fresh_id(self) -> str:
        self.counter += 1
        return f"00000000-0000-4000-8000-{self.counter:012d}"

    def open(self, now: Any) -> None:
        raise NotImplementedError

    def answer(self, index: int, now: Any) -> None:
        raise NotImplementedError


class _BridgeDriver(_Driver):
    def __init__(self, limits: Limits) -> None:
        super().__init__(bridge.ControlChannel(Role.CLIENT, limits=limits, sticky_errors=False))
        self.conn.observe(bridge.ServerStatusRequest(target=TARGET, request_id=self.fresh_id()), Role.SERVER)

    def open(self, now: Any) -> None:
        query = bridge.CapabilitiesQuery(target=TARGET, request_id=self.fresh_id())
        self.conn.observe(query, Role.SERVER, now=now)

    def answer(self, index: int, now: Any) -> None:
        pending = self.conn.outstanding()
        if pending:
            item = pending[index % len(pending)]
            query: bridge.Request = bridge.CapabilitiesQuery(target=item.target, request_id=item.request_id)
            if item.name is bridge.Name.SERVER_STATUS:
                query = bridge.ServerStatusRequest(target=item.target, request_id=item.request_id)
            self.conn.observe(bridge.failure_response(query, "no"), Role.CLIENT, now=now)


class _ProcessorDriver(_Driver):
    COMMANDS = (processor.CallJourneyRequest, processor.TeamStatusBeginRequest)

    def __init__(self, limits: Limits) -> None:
        super().__init__(processor.ProcessorSession(Role.SERVER, limits=limits, sticky_errors=False))

    def open(self, now: Any) -> None:
        if self.counter % 2:
            request: processor.Request = processor.CallJourneyRequest(call_id=self.fresh_id())
        else:
            request = processor.TeamStatusBeginRequest(agent_id=self.fresh_id())
        self.conn.observe(request, Role.CLIENT, now=now)

    def answer(self, index: int, now: Any) -> None:
        answer: processor.ProcessorMessage = (
            processor.CallJourneySuccess(call_journey=()) if index % 2 else processor.TeamStatusBeginSuccess()
        )
        self.conn.observe(answer, Role.SERVER, now=now)


class _CcebDriver(_Driver):
    def __init__(self, limits: Limits) -> None:
        super().__init__(cceb.CcebConnection(Role.SERVER, limits=limits, sticky_errors=False))
        hello = cceb.Hello.new(token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", tenant="acme")
        self.hello = attrs.evolve(hello, uuid="00000000-0000-4000-8000-ffffffffffff")  # the same in both runs

    def open(self, now: Any) -> None:
        conn = self.conn
        assert isinstance(conn, cceb.CcebConnection)
        if conn.state is cceb.ConnectionState.AWAITING_HELLO:
            conn.observe(self.hello, Role.CLIENT, now=now)
        elif self.counter % 2:
            action = cceb.Action(uuid=self.fresh_id(), action="ChangeAgentStateEvent", action_details={})
            conn.observe(action, Role.CLIENT, now=now)
        else:
            conn.observe(cceb.Presence(uuid=self.fresh_id(), data={}), Role.SERVER, now=now)

    def answer(self, index: int, now: Any) -> None:
        conn = self.conn
        assert isinstance(conn, cceb.CcebConnection)
        if conn.state is cceb.ConnectionState.AWAITING_HELLO_REPLY:
            conn.observe(cceb.HelloReply(uuid=self.hello.uuid), Role.SERVER, now=now)
            return
        pending = conn.in_flight()
        if pending:
            item = pending[index % len(pending)]
            conn.observe(cceb.Ack(uuid=item.uuid), item.sender.peer, now=now)


DRIVERS: dict[str, Callable[[Limits], _Driver]] = {
    "bridge": _BridgeDriver, "processor": _ProcessorDriver, "cceb": _CcebDriver,
}
TIMES = st.one_of(
    st.none(),
    st.sampled_from([0, 1, 5, 29, 30, 31, 60, 0.0, -0.0, 30.0, 1e9, math.nan, math.inf]),
    st.floats(min_value=-100, max_value=200, allow_nan=False),
)
STEPS = st.lists(
    st.tuples(st.sampled_from(["open", "answer", "timer", "get"]), TIMES, st.integers(min_value=0, max_value=9)),
    max_size=60,
)


def _force_scan(conn: ConnectionBase) -> None:
    """Make the connection's earliest deadline unknown: its next timer call scans, as the code always did."""
    timer = conn._timer  # type: ignore[attr-defined]
    assert isinstance(timer, EarliestDeadline)
    timer.known = False


def _step(driver: _Driver, action: str, now: Any, index: int) -> str:
    """Run one step; what it answered (or raised), as text."""
    conn = driver.conn
    try:
        if action == "open":
            driver.open(now)
        elif action == "answer":
            driver.answer(index, now)
        elif action == "timer":
            return repr(conn.handle_timer(now if now is not None else 0.0))
        else:
            return repr(conn.get_timer())
    except ProtocolError as exc:
        return f"{type(exc).__qualname__} {exc}"
    return ""


@pytest.mark.parametrize("protocol", sorted(DRIVERS))
@pytest.mark.parametrize("timeout", [30.0, 30, 0.5], ids=repr)
def test_timers_answer_as_a_full_scan_does(protocol: str, timeout: float) -> None:
    limits = Limits(request_timeout=timeout, max_pending=8)

    @settings(max_examples=150, deadline=None)
    @given(STEPS)
    def check(steps: list[tuple[str, Any, int]]) -> None:
        fast, scanning = DRIVERS[protocol](limits), DRIVERS[protocol](limits)
        for action, now, index in steps:
            _force_scan(scanning.conn)
            assert _step(fast, action, now, index) == _step(scanning, action, now, index)
            assert repr(fast.conn.outstanding()) == repr(scanning.conn.outstanding())
            _force_scan(scanning.conn)
            assert repr(fast.conn.get_timer()) == repr(scanning.conn.get_timer())

    check()


def _opened_three(protocol: str) -> tuple[ConnectionBase, Callable[[], None]]:
    """A connection waiting for three answers, sent at 10, 5 (a capture out of order) and 20; and a function
    answering the one sent at 5 (whose deadline is the earliest)."""
    if protocol == "bridge":
        channel = bridge.ControlChannel(Role.CLIENT, sticky_errors=False)
        queries = [bridge.CapabilitiesQuery(target=TARGET, request_id=bridge.new_request_id()) for _ in range(3)]
        channel.observe(bridge.ServerStatusRequest(target=TARGET, request_id=bridge.new_request_id()), Role.SERVER)
        # (the status request has no deadline: it was given no time)
        for query, now in zip(queries, (10.0, 5.0, 20.0), strict=True):
            channel.observe(query, Role.SERVER, now=now)
        return channel, lambda: channel.observe(bridge.failure_response(queries[1], "no"), Role.CLIENT, now=21.0)
    if protocol == "processor":
        session = processor.ProcessorSession(Role.SERVER)
        session.observe(processor.TeamStatusBeginRequest(agent_id=AGENT), Role.CLIENT, now=10.0)
        session.observe(processor.CallJourneyRequest(call_id="c"), Role.CLIENT, now=5.0)
        session.observe(processor.TeamStatusEndRequest(agent_id=AGENT), Role.CLIENT, now=20.0)
        return session, lambda: session.observe(processor.CallJourneySuccess(call_journey=()), Role.SERVER, now=21.0)
    conn = cceb.CcebConnection(Role.SERVER)
    hello = cceb.Hello.new(token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", tenant="acme")
    conn.observe(hello, Role.CLIENT, now=10.0)  # its reply is awaited too
    conn.observe(cceb.HelloReply(uuid=hello.uuid), Role.SERVER, now=10.0)
    conn.observe(cceb.Action(uuid=(first := cceb.new_uuid()), action="ChangeAgentStateEvent", action_details={}),
                 Role.CLIENT, now=10.0)
    action = cceb.Action(uuid=cceb.new_uuid(), action="ChangeAgentStateEvent", action_details={})
    conn.observe(action, Role.CLIENT, now=5.0)
    conn.observe(cceb.Presence(uuid=cceb.new_uuid(), data={}), Role.SERVER, now=20.0)
    assert conn.in_flight()[0].uuid == first
    return conn, lambda: conn.observe(cceb.Ack.of(action), Role.SERVER, now=21.0)


@pytest.mark.parametrize("protocol", sorted(DRIVERS))
def test_answering_the_earliest_then_expiring_is_exact(protocol: str) -> None:
    conn, answer_earliest = _opened_three(protocol)
    assert conn.get_timer() == 35.0
    assert conn.handle_timer(34.9) == ()
    answer_earliest()
    assert conn.get_timer() == 40.0  # the one sent at 10
    assert conn.handle_timer(39.0) == ()
    (expired,) = conn.handle_timer(40.0)
    assert expired.deadline == 40.0
    assert conn.get_timer() == 50.0
    assert conn.handle_timer(math.nan) == ()
    assert conn.handle_timer(49.0) == ()
    assert len(conn.handle_timer(1e12)) == 1
    assert conn.get_timer() is None
    assert conn.handle_timer(1e12) == ()


# -- the positional constructors --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [bridge.PendingRequest, processor.PendingCommand, cceb.InFlight])
def test_slot_builder_builds_what_init_builds(cls: type[Any]) -> None:
    names = [field.name for field in attrs.fields(cls)]
    values = [object() if name in ("tag", "value", "message", "request") else f"<{name}>" for name in names]
    built = slot_builder(cls)(*values)
    made = cls(**dict(zip(names, values, strict=True)))
    assert built == made
    assert repr(built) == repr(made)
    assert all(getattr(built, name) is value for name, value in zip(names, values, strict=True))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.since = 1.0


def test_slot_builder_refuses_a_class_whose_init_does_more() -> None:
    @attrs.frozen
    class Checked:
        value: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Converted:
        value: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        value: int

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Checked, Converted, Hooked):
        with pytest.raises(TypeError, match="does more than set its fields"):
            slot_builder(cls)


# -- classification caches and enum hashes ----------------------------------------------------------------------


def test_bridge_failures_are_classified_by_their_name_not_cached_by_class() -> None:
    dispose = bridge.DisposeRequest(target=TARGET, request_id=bridge.new_request_id())
    query = bridge.CapabilitiesQuery(target=TARGET, request_id=bridge.new_request_id())
    for _ in range(2):
        assert bridge_states.input_of(bridge.failure_response(dispose, "x")) is bridge_states.Input.DISPOSE_RESPONSE
        assert bridge_states.input_of(bridge.failure_response(query, "x")) is bridge_states.Input.RESPONSE
        assert bridge_states.input_of(bridge.success_response(dispose)) is bridge_states.Input.DISPOSE_RESPONSE
        assert bridge_states.input_of(query) is bridge_states.Input.CAPABILITIES_QUERY


def test_input_of_is_the_same_on_the_first_and_later_messages_of_a_class() -> None:
    messages: list[tuple[Callable[[Any], Any], Any]] = [
        (processor_states.input_of, processor.CallJourneyRequest(call_id="c")),
        (processor_states.input_of, processor.TeamStatusBeginSuccess()),
        (processor_states.input_of, processor.FailureResponse(
            command="x", original={}, failure=processor.Failure(code="E", message="no"))),
        (cceb_states.input_of, cceb.Ack(uuid=cceb.new_uuid())),
        (cceb_states.input_of, cceb.Presence(uuid=cceb.new_uuid(), data={})),
    ]
    first = [classify(message) for classify, message in messages]
    assert [classify(message) for classify, message in messages] == first
    assert first == [
        processor_states.Input.REQUEST, processor_states.Input.SUCCESS, processor_states.Input.FAILURE,
        cceb_states.Input.ACK, cceb_states.Input.NOTIFICATION,
    ]


@pytest.mark.parametrize("enum_cls", [
    Role, bridge_states.Phase, bridge_states.Input, processor_states.Exchange, processor_states.Effect,
    processor_states.ReportState, cceb_states.ConnectionState, cceb_states.Effect, cceb_states.OffHookPhase,
])
def test_table_enums_hash_by_identity_and_keep_their_order(enum_cls: type[IdentityEnum]) -> None:
    assert issubclass(enum_cls, IdentityEnum)
    members = list(enum_cls)
    assert [m.name for m in members] == list(enum_cls.__members__)
    for member in members:
        assert hash(member) == object.__hash__(member)
        assert enum_cls(member.value) is member
        assert {member: 1}[enum_cls[member.name]] == 1


# -- the generated structure functions' cheaper checks ----------------------------------------------------------


def _agree(cls: type[Any], value: dict[str, Any]) -> bool:
    """The compiled function answers what the reference answers, or defers; True when it answered."""
    try:
        got = structure_function(cls)(value)
    except (Fallback, StructureError):
        return False
    assert got == converter.structure(value, cls)
    assert got.extra == converter.structure(value, cls).extra
    return True


@pytest.mark.parametrize("timeout", [None, 5])
@pytest.mark.parametrize("media", [None, "m-1"])
@pytest.mark.parametrize("unknown", [{}, {"x": 1}, {"x": None, "y": [True]}])
def test_unknown_members_are_kept_whichever_optional_members_are_present(
    timeout: int | None, media: str | None, unknown: dict[str, Any]
) -> None:
    data: dict[str, Any] = {"state": "offering" if timeout is not None else "authenticated", **unknown}
    if timeout is not None:
        data["timeout"] = timeout
    if media is not None:
        data["media_resource_id"] = media
    value = {"type": "off_hook", "uuid": cceb.new_uuid(), "data": data, **unknown}
    answered = _agree(cceb.OffHook, value)
    assert answered == (media is None or timeout is None)  # both at once break a rule: the reference decides
    if answered:
        got = structure_function(cceb.OffHook)(value)
        assert set(got.extra) == {f"/{k}" for k in unknown} | {f"/data/{k}" for k in unknown}


@pytest.mark.parametrize("event_type", ["AgentDeletedEvent", "AgentCreatedEvent", "QueueDeletedEvent"])
@pytest.mark.parametrize("event", [{"agentId": "ag-9"}, {"queueId": "q-1"}, {"agentId": "ag-9", "more": "x"}])
def test_rules_run_whenever_they_can_fail(event_type: str, event: dict[str, Any]) -> None:
    value = {"type": "provisioning", "uuid": cceb.new_uuid(), "data": {"event_type": event_type, "event": event}}
    provisioning = cceb.REGISTRY.notification_class("provisioning")
    assert provisioning is not None
    try:
        converter.structure(value, provisioning)
        valid = True
    except StructureError:
        valid = False
    assert _agree(provisioning, value) == valid


# -- the connections' fast receiving and sending paths ---------------------------------------------------------


def test_processor_session_receives_text_by_either_path_alike() -> None:
    request = processor.CallJourneyRequest(call_id="call-1")
    compact = processor.encode(request)
    spaced = json.dumps(json.loads(compact), indent=1)
    for text in (compact, spaced, compact.encode()):
        session = processor.ProcessorSession(Role.SERVER)
        assert session.receive_message(text, now=1.0) == request
        (pending,) = session.outstanding()
        assert pending.value == json.loads(compact)
        assert pending.deadline == 31.0


def test_processor_session_still_notes_a_request_that_broke_its_schema() -> None:
    session = processor.ProcessorSession(Role.SERVER, sticky_errors=False)
    broken = {"command": "report.calljourney", "data": {"CallId": 5}}
    with pytest.raises(ProtocolError):
        session.receive_message(json.dumps(broken, separators=(",", ":")), now=1.0)
    (pending,) = session.outstanding()
    assert pending.request is None
    assert pending.value == broken


def test_cceb_connection_sends_and_receives_text_by_either_path_alike() -> None:
    client, server = cceb.CcebConnection(Role.CLIENT), cceb.CcebConnection(Role.SERVER)
    hello = cceb.Hello.new(token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", tenant="acme")
    text = client.send(hello, now=0.0)
    assert text == message_text(cceb.encode_value(hello))
    assert server.receive_message(text, now=0.0) == hello
    reply = cceb.HelloReply(uuid=hello.uuid)
    assert client.receive_message(server.send(reply, now=0.0).encode(), now=0.0) == reply
    action = cceb.Action(uuid=cceb.new_uuid(), action="ChangeAgentStateEvent", action_details={"state": "Ready"})
    spaced = json.dumps(cceb.encode_value(action), indent=2)
    assert server.receive_message(spaced, now=1.0) == action
    assert [item.uuid for item in server.unacked_actions()] == [action.uuid]


def test_cceb_connection_still_refuses_an_unsupported_action_it_could_encode() -> None:
    client = cceb.CcebConnection(Role.CLIENT)
    hello = cceb.Hello.new(token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln", tenant="acme")
    client.send(hello, now=0.0)
    client.receive_message(cceb.encode(cceb.HelloReply(uuid=hello.uuid)), now=0.0)
    with pytest.raises(ProtocolError) as raised:
        client.send(cceb.Action(uuid=cceb.new_uuid(), action="NoSuchAction", action_details={}), now=1.0)
    assert raised.value.code == "unsupported-action"
    server = cceb.CcebConnection(Role.SERVER, sticky_errors=False)
    server.receive_message(cceb.encode(hello), now=0.0)
    server.send(cceb.HelloReply(uuid=hello.uuid), now=0.0)
    uuid = cceb.new_uuid()
    refused = {"type": "action", "uuid": uuid, "data": {"action": "NoSuchAction", "action_details": {}}}
    with pytest.raises(ProtocolError) as raised:
        server.receive_message(json.dumps(refused, separators=(",", ":")), now=1.0)
    assert raised.value.code == "unsupported-action"
    with pytest.raises(ProtocolError) as raised:
        server.send(cceb.Ack(uuid=uuid), now=2.0)  # it was noted as refused
    assert raised.value.code == "acked-refused-action"


def test_equal_deadlines_that_print_differently_are_answered_in_scan_order() -> None:
    # The session scans command by command, not in the order requests came: 30 (int) is met before 30.0.
    session = processor.ProcessorSession(Role.SERVER, limits=Limits(request_timeout=30))
    session.observe(processor.TeamStatusBeginRequest(agent_id=AGENT), Role.CLIENT, now=5)
    session.observe(processor.CallJourneyRequest(call_id="c"), Role.CLIENT, now=0.0)
    session.observe(processor.TeamStatusEndRequest(agent_id=AGENT), Role.CLIENT, now=0)
    session.observe(processor.TeamStatusBeginRequest(agent_id=AGENT), Role.CLIENT, now=0)
    assert repr(session.get_timer()) == "30"
    assert [p.deadline for p in session.handle_timer(30)] == [30.0, 30, 30]
    assert repr(session.get_timer()) == "35"
