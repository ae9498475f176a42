"""The control channel: every (phase, sender, message) pair from the table, correlation, status, timers, chunking."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto import bridge
from ccproto.bridge import NEED_DATA, ControlChannel, Phase, ServerStatus
from ccproto.bridge.channel import CLOSED
from ccproto.bridge.states import (
    JOINED_PHASE_TRANSITIONS,
    PHASE_TRANSITIONS,
    STATUS_TRANSITIONS,
    TRANSITIONS,
    Input,
    input_of,
    status_change_allowed,
)
from ccproto.core.errors import (
    DuplicateCorrelationIdError,
    InvalidTransitionError,
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.framing import TruncatedFrameError
from ccproto.core.limits import Limits
from ccproto.core.roles import Role
from ccproto.core.timing import UntimedWarning

TARGET = "Acme1.CONTROL"
S, C = Role.SERVER, Role.CLIENT

# Most tests here check order and correlation, not time: their untimed requests are meant (the UntimedWarning
# tests below catch the warning themselves).
pytestmark = pytest.mark.filterwarnings("ignore::ccproto.core.timing.UntimedWarning")


def rid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012x}"


CAPS = {
    "channel_groups_supported": True, "channel_groups_max_per_agent": 1, "channel_groups_media_types": ("voice",),
    "single_channels_supported": False, "single_channels_media_types": (),
}
# Ids used by the setup: 1 serverstatus, 2 capabilities (left outstanding), 3 dispose.
PENDING_QUERY, DISPOSE_ID, FRESH = 2, 3, 100


def message_for(input_: Input) -> bridge.BridgeMessage:
    """A message of each table input, fitting the setup below."""
    request = {"target": TARGET, "request_id": rid(FRESH)}
    makers: dict[Input, Callable[[], bridge.BridgeMessage]] = {
        Input.CAPABILITIES_QUERY: lambda: bridge.CapabilitiesQuery(**request),
        Input.AGENT_INFO_QUERY: lambda: bridge.AgentInfoQuery(
            **request, agent_id="a", requesting_agent_login="l", requesting_agent_password="p"),
        Input.VALIDATE_CREDENTIALS_REQUEST: lambda: bridge.ValidateAgentCredentialsRequest(
            **request, agent_id="a", agent_login="l", agent_password="p"),
        Input.SERVER_STATUS_REQUEST: lambda: bridge.ServerStatusRequest(**request),
        Input.CREATE_SESSION_REQUEST: lambda: bridge.CreateSessionRequest(
            **request, agent_id="a", agent_password="p", session_id="s", destination="d"),
        Input.DISPOSE_REQUEST: lambda: bridge.DisposeRequest(**request),
        Input.RESPONSE: lambda: bridge.CapabilitiesResponse(target=TARGET, request_id=rid(PENDING_QUERY), **CAPS),
        Input.DISPOSE_RESPONSE: lambda: bridge.DisposeResponse(target=TARGET, request_id=rid(DISPOSE_ID)),
        Input.STATUS_EVENT: lambda: bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE),
    }
    message = makers[input_]()
    assert input_of(message) is input_
    return message


SETUP: list[tuple[Role, bridge.BridgeMessage]] = [
    (S, bridge.ServerStatusRequest(target=TARGET, request_id=rid(1))),
    (S, bridge.CapabilitiesQuery(target=TARGET, request_id=rid(PENDING_QUERY))),
    (C, bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE)),
    (S, bridge.DisposeRequest(target=TARGET, request_id=rid(DISPOSE_ID))),
    (C, bridge.DisposeResponse(target=TARGET, request_id=rid(DISPOSE_ID))),
]
# How many setup messages reach each phase (JOINED: none, after join()).
SETUP_STEPS = {Phase.AWAITING_INIT: 0, Phase.INITIALIZING: 2, Phase.ACTIVE: 3, Phase.DISPOSING: 4, Phase.CLOSED: 5,
               Phase.JOINED: 0}


def channel_in(phase: Phase, our_role: Role, **options: bool) -> ControlChannel:
    channel = ControlChannel(our_role, **options)  # type: ignore[arg-type]
    if phase is Phase.JOINED:
        channel.join()  # the responses of message_for() then answer requests from before observing began
    for sender, message in SETUP[: SETUP_STEPS[phase]]:
        channel.observe(message, sender)
    assert channel.phase is phase
    return channel


COMBINATIONS = list(itertools.product(SETUP_STEPS, Role, Input, Role))


@pytest.mark.parametrize(("phase", "sender", "input_", "our_role"), COMBINATIONS,
                         ids=lambda v: getattr(v, "name", str(v)))
def test_every_phase_sender_message_combination_follows_the_table(
    phase: Phase, sender: Role, input_: Input, our_role: Role
) -> None:
    channel = channel_in(phase, our_role)
    message = message_for(input_)
    expected = TRANSITIONS.get((phase, sender, input_))
    # Through the real entry points: send() for our own messages, receive_data()/next_event() for the peer's.
    if expected is not None:
        if sender is our_role:
            channel.send(message)
        else:
            channel.receive_data(encode_frame(message))
            assert channel.next_event() == message
        assert channel.phase is expected
        return
    side = LocalProtocolError if sender is our_role else RemoteProtocolError
    if sender is not our_role:
        channel.receive_data(encode_frame(message))  # buffering never fails
    with pytest.raises(UnexpectedMessageError) as info:
        channel.send(message) if sender is our_role else channel.next_event()
    assert isinstance(info.value, side)
    assert info.value.state is phase
    assert info.value.role is sender
    assert info.value.pointer == "/header/name"
    assert info.value.hint
    assert channel.phase is Phase.ERROR  # sticky
    assert channel.error is info.value


@pytest.mark.parametrize(("phase", "sender", "input_"), list(itertools.product(SETUP_STEPS, Role, Input)),
                         ids=lambda v: getattr(v, "name", str(v)))
def test_rejected_message_changes_nothing_when_errors_are_not_sticky(phase: Phase, sender: Role, input_: Input) -> None:
    if (phase, sender, input_) in TRANSITIONS:
        return
    channel = channel_in(phase, S, sticky_errors=False)
    before = channel.pending_requests()
    with pytest.raises(UnexpectedMessageError):
        channel.observe(message_for(input_), sender)
    assert channel.phase is phase
    assert channel.pending_requests() == before


def encode_frame(message: bridge.BridgeMessage) -> bytes:
    return bridge.encode_frame(bridge.encode(message).encode())


def test_table_only_lets_queries_and_requests_come_from_the_bridge() -> None:
    for (_, sender, input_), _ in TRANSITIONS.items():
        kind = message_for(input_).TYPE
        assert kind.sender is sender


def test_error_state_is_sticky_and_names_the_cause() -> None:
    channel = ControlChannel(C)
    with pytest.raises(UnexpectedMessageError) as first:
        channel.receive_message(bridge.encode(message_for(Input.DISPOSE_REQUEST)))
    for action in (
        lambda: channel.receive_data(b""),
        lambda: channel.next_event(),
        lambda: channel.receive_message(bridge.encode(message_for(Input.SERVER_STATUS_REQUEST))),
    ):
        with pytest.raises(RemoteProtocolError) as later:
            action()
        assert later.value.code == "channel-failed"
        assert later.value.__cause__ is first.value
        assert "cti.request.dispose" in str(later.value)
    with pytest.raises(LocalProtocolError) as ours:
        channel.send(message_for(Input.STATUS_EVENT))
    assert ours.value.code == "channel-failed"


def test_error_carries_the_redacted_message() -> None:
    channel = ControlChannel(C)
    request = bridge.CreateSessionRequest(target=TARGET, request_id=rid(5), agent_id="a",
                                          agent_password="hunter2-canary", session_id="s", destination="d")
    with pytest.raises(UnexpectedMessageError) as info:
        channel.receive_message(bridge.encode(request))
    assert info.value.message["body"]["agentPassword"] == "***"
    assert "hunter2-canary" not in repr(info.value.message) + str(info.value)


# -- correlation ----------------------------------------------------------------------------------


def active(our_role: Role = S, **options: object) -> ControlChannel:
    channel = ControlChannel(our_role, **options)  # type: ignore[arg-type]
    channel.observe(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)), S)
    channel.observe(bridge.ServerStatusResponse(target=TARGET, request_id=rid(1)), C)
    channel.observe(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE), C)
    return channel


def test_request_id_may_not_be_reused_while_outstanding() -> None:
    channel = active()
    query = bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7))
    channel.send(query)
    with pytest.raises(DuplicateCorrelationIdError.Local) as info:
        channel.send(query)
    assert info.value.pointer == "/header/requestId"


def test_request_id_may_be_reused_after_its_answer() -> None:
    channel = active()
    query = bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7))
    channel.send(query)
    channel.receive_message(bridge.encode(bridge.failure_response(query, "no")))
    channel.send(query)
    assert [p.request_id for p in channel.pending_requests()] == [rid(7)]


def test_duplicate_from_the_peer_is_remote() -> None:
    channel = active(C)
    query = bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7))
    channel.receive_message(bridge.encode(query))
    with pytest.raises(DuplicateCorrelationIdError.Remote):
        channel.receive_message(bridge.encode(query))


def test_unknown_and_second_responses_are_errors() -> None:
    channel = active(sticky_errors=False)
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        channel.receive_message(bridge.encode(bridge.ServerStatusResponse(target=TARGET, request_id=rid(9))))
    assert "no outstanding" in info.value.detail
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        channel.receive_message(bridge.encode(bridge.ServerStatusResponse(target=TARGET, request_id=rid(1))))
    assert "already answered" in info.value.detail


def test_response_must_match_name_and_target() -> None:
    channel = active(sticky_errors=False)
    channel.send(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7)))
    with pytest.raises(UnexpectedMessageError.Remote) as unexpected:
        channel.receive_message(bridge.DisposeResponse(target=TARGET, request_id=rid(7)))
    assert "dispose" in (unexpected.value.hint or "")
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        channel.receive_message(bridge.ServerStatusResponse(target=TARGET, request_id=rid(7)))
    assert (info.value.code, info.value.pointer) == ("mismatched-response", "/header/name")
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        channel.receive_message(bridge.CapabilitiesResponse(target="Other.CONTROL", request_id=rid(7), **CAPS))
    assert (info.value.code, info.value.pointer) == ("mismatched-response", "/header/target")
    assert [p.request_id for p in channel.pending_requests()] == [rid(7)]  # still outstanding
    channel.receive_message(bridge.CapabilitiesResponse(target=TARGET, request_id=rid(7), **CAPS))
    assert channel.pending_requests() == ()


def test_failure_response_answers_any_request() -> None:
    channel = active()
    query = bridge.AgentInfoQuery(target=TARGET, request_id=rid(7), agent_id="a", requesting_agent_login="l",
                                  requesting_agent_password="p")
    channel.send(query)
    received = channel.receive_message(bridge.encode(bridge.failure_response(query, "unknown agent")))
    assert isinstance(received, bridge.FailureResponse)
    assert channel.pending_requests() == ()


def test_pending_requests_and_timers() -> None:
    channel = active(limits=Limits(request_timeout=10.0))
    assert channel.get_timer() is None
    channel.send(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7)), now=100.0)
    channel.send(bridge.ServerStatusRequest(target=TARGET, request_id=rid(8)), now=105.0)
    channel.send(bridge.ServerStatusRequest(target=TARGET, request_id=rid(9)))  # untimed: never expires
    pending = channel.pending_requests()
    assert [(p.request_id, p.name, p.since, p.deadline) for p in pending] == [
        (rid(7), bridge.Name.CAPABILITIES, 100.0, 110.0),
        (rid(8), bridge.Name.SERVER_STATUS, 105.0, 115.0),
        (rid(9), bridge.Name.SERVER_STATUS, None, None),
    ]
    assert channel.get_timer() == 110.0
    assert channel.handle_timer(109.9) == ()
    expired = channel.handle_timer(110.0)
    assert [p.request_id for p in expired] == [rid(7)]
    assert channel.get_timer() == 115.0
    with pytest.raises(UnknownCorrelationIdError.Remote) as info:
        channel.receive_message(bridge.CapabilitiesResponse(target=TARGET, request_id=rid(7), **CAPS))
    assert "expired" in info.value.detail


def test_max_pending_is_enforced() -> None:
    channel = active(limits=Limits(max_pending=2), sticky_errors=False)
    channel.send(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7)))
    channel.send(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(8)))
    with pytest.raises(LimitExceededError.Local) as info:
        channel.send(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(9)))
    assert info.value.code == "too-many-pending"
    assert len(channel.pending_requests()) == 2
    peer = active(C, limits=Limits(max_pending=1))
    peer.receive_message(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(7)))
    with pytest.raises(LimitExceededError.Remote):
        peer.receive_message(bridge.CapabilitiesQuery(target=TARGET, request_id=rid(8)))


def test_answered_ids_are_remembered_within_bounds() -> None:
    channel = active(limits=Limits(max_pending=3), sticky_errors=False)
    for n in range(10, 20):
        query = bridge.CapabilitiesQuery(target=TARGET, request_id=rid(n))
        channel.send(query)
        channel.receive_message(bridge.failure_response(query, "x"))
    assert len(channel._finished) <= 3
    with pytest.raises(UnknownCorrelationIdError) as info:
        channel.receive_message(bridge.ServerStatusResponse(target=TARGET, request_id=rid(10)))
    assert "no outstanding" in info.value.detail  # forgotten, but still an error


# -- server status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("last", "new"), list(itertools.product(ServerStatus, ServerStatus)),
                         ids=lambda s: s.value)
def test_status_transitions_follow_the_table(last: ServerStatus, new: ServerStatus) -> None:
    channel = ControlChannel(S, sticky_errors=False)
    channel.observe(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)), S)
    channel.observe(bridge.ServerStatusChanged(status=last), C)  # the first report may be any status
    allowed = new is last or new in STATUS_TRANSITIONS[last]
    assert status_change_allowed(last, new) is allowed
    message = bridge.ServerStatusChanged(status=new)
    if allowed:
        channel.receive_message(message)
    else:
        with pytest.raises(InvalidTransitionError.Remote) as info:
            channel.receive_message(message)
        assert info.value.pointer == "/body/status"
        assert info.value.code == "invalid-status-transition"
    assert channel.server_status is new  # recorded either way: the client did report it


@pytest.mark.parametrize("status", list(ServerStatus), ids=lambda s: s.value)
def test_createsession_success_only_while_in_service(status: ServerStatus) -> None:
    channel = ControlChannel(S, sticky_errors=False)
    channel.observe(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)), S)
    channel.observe(bridge.ServerStatusChanged(status=status), C)
    request = bridge.CreateSessionRequest(target=TARGET, request_id=rid(2), agent_id="a", agent_password="p",
                                          session_id="s", destination="d")
    channel.send(request)
    if status is ServerStatus.IN_SERVICE:
        channel.receive_message(bridge.success_response(request))
    else:
        with pytest.raises(UnexpectedMessageError.Remote) as info:
            channel.receive_message(bridge.success_response(request))
        assert info.value.code == "session-while-not-in-service"
        assert "FAILURE" in (info.value.hint or "")
    # FAILURE is always a fine answer.
    channel.send(bridge.CreateSessionRequest(target=TARGET, request_id=rid(3), agent_id="a", agent_password="p",
                                             session_id="s", destination="d"))
    channel.receive_message(bridge.FailureResponse(target=TARGET, request_id=rid(3),
                                                   name=bridge.RequestName.CREATE_SESSION, error_message="busy"))


def test_client_refuses_to_send_success_while_not_in_service() -> None:
    client = ControlChannel(C)
    client.receive_message(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)))
    client.send(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE))
    request = client.receive_message(bridge.CreateSessionRequest(
        target=TARGET, request_id=rid(2), agent_id="a", agent_password="p", session_id="s", destination="d"))
    client.send(bridge.ServerStatusChanged(status=ServerStatus.PAUSING_SERVICE))
    assert isinstance(request, bridge.Request)
    with pytest.raises(LocalProtocolError):
        client.send(bridge.success_response(request))


# -- strictness, limits and the wire ------------------------------------------------------------------


def test_alternate_spelling_is_accepted_unless_strict() -> None:
    text = json.dumps({"header": {"type": "cti.response", "name": "cti.request.serverstatus", "target": TARGET,
                                  "requestId": rid(1), "cti.result": "SUCCESS"}, "body": {}})
    lenient = ControlChannel(S)
    lenient.send(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)))
    assert isinstance(lenient.receive_message(text), bridge.ServerStatusResponse)
    strict = ControlChannel(S, strict=True)
    strict.send(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)))
    with pytest.raises(SchemaViolationError.Remote) as info:
        strict.receive_message(text)
    assert info.value.code == "alternate-spelling"
    assert info.value.state is Phase.INITIALIZING
    assert info.value.role is C


def test_oversized_frames_are_refused_in_both_directions() -> None:
    limits = Limits(max_message_bytes=200)
    client = ControlChannel(C, limits=limits)
    client.receive_data((10_000).to_bytes(4, "big"))
    with pytest.raises(LimitExceededError.Remote) as info:
        client.next_event()
    assert info.value.code == "frame-too-large"
    bridge_side = ControlChannel(S, limits=limits)
    big = bridge.AgentInfoQuery(target=TARGET, request_id=rid(1), agent_id="a" * 500, requesting_agent_login="l",
                                requesting_agent_password="p")
    bridge_side.send(bridge.ServerStatusRequest(target=TARGET, request_id=rid(2)))
    with pytest.raises(LimitExceededError.Local):
        bridge_side.send_text(big)


def test_garbage_frame_is_a_remote_decode_error_with_context() -> None:
    channel = ControlChannel(C)
    channel.receive_data(bridge.encode_frame(b'{"agentPassword": "hunter2-canary", oops'))
    with pytest.raises(RemoteProtocolError) as info:
        channel.next_event()
    assert info.value.code == "decode-error"
    assert info.value.state is Phase.AWAITING_INIT
    assert "hunter2-canary" not in str(info.value.message)


def conversation() -> list[tuple[Role, bridge.BridgeMessage]]:
    """A complete valid conversation touching every message type."""
    create = bridge.CreateSessionRequest(target=TARGET, request_id=rid(6), agent_id="a", agent_password="p",
                                         session_id="s", destination="d")
    agent = bridge.AgentInfoQuery(target=TARGET, request_id=rid(4), agent_id="a", requesting_agent_login="l",
                                  requesting_agent_password="p")
    validate = bridge.ValidateAgentCredentialsRequest(target=TARGET, request_id=rid(5), agent_id="a",
                                                      agent_login="l", agent_password="p")
    return [
        (S, bridge.ServerStatusRequest(target=TARGET, request_id=rid(1))),
        (S, bridge.CapabilitiesQuery(target=TARGET, request_id=rid(2))),
        (C, bridge.ServerStatusResponse(target=TARGET, request_id=rid(1))),
        (C, bridge.ServerStatusChanged(status=ServerStatus.STARTING_SERVICE)),
        (C, bridge.CapabilitiesResponse(target=TARGET, request_id=rid(2), **CAPS)),
        (C, bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE)),
        (S, agent),
        (S, validate),
        (C, bridge.AgentInfoResponse(target=TARGET, request_id=rid(4), switch_agent_id="9", full_name="A B")),
        (C, bridge.ValidateAgentCredentialsResponse(target=TARGET, request_id=rid(5))),
        (S, create),
        (C, bridge.CreateSessionResponse(target=TARGET, request_id=rid(6))),
        (S, bridge.DisposeRequest(target=TARGET, request_id=rid(7))),
        (C, bridge.ServerStatusChanged(status=ServerStatus.STOPPING_SERVICE)),
        (C, bridge.DisposeResponse(target=TARGET, request_id=rid(7))),
    ]


def test_both_ends_agree_through_a_whole_conversation() -> None:
    ends = {S: ControlChannel(S), C: ControlChannel(C)}
    for now, (sender, message) in enumerate(conversation()):
        receiver = ends[sender.peer]
        receiver.receive_data(ends[sender].send(message, now=float(now)))
        assert receiver.next_event(now=float(now)) == message
        assert receiver.next_event() is NEED_DATA
        assert ends[S].phase is ends[C].phase
        assert ends[S].pending_requests() == ends[C].pending_requests()
    assert ends[S].phase is Phase.CLOSED


def outcomes(chunks: list[bytes]) -> list[object]:
    """What a client sees for a chunked stream: each message, or each error's code."""
    client = ControlChannel(C, sticky_errors=False)
    seen: list[object] = []
    for chunk in chunks:
        client.receive_data(chunk)
        while True:
            try:
                event = client.next_event()
            except ProtocolError as exc:
                seen.append(exc.code)
                continue
            if event is NEED_DATA:
                break
            seen.append(event)
    return seen


# The bridge's half of the conversation: the client never answers, so some of it is (deliberately) an error too.
STREAM = b"".join(encode_frame(message) for sender, message in conversation() if sender is S)


def test_the_whole_stream_gives_every_bridge_message() -> None:
    bridge_half = [m for sender, m in conversation() if sender is S]
    create = next(m for m in bridge_half if isinstance(m, bridge.CreateSessionRequest))
    # Without a status report from the client, createsession is refused; everything else is accepted.
    assert outcomes([STREAM]) == ["unexpected-message" if m is create else m for m in bridge_half]


@settings(max_examples=150)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_any_chunking_of_the_stream_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted({*cuts, 0, len(STREAM)})
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert outcomes(chunks) == outcomes([STREAM])


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    assert outcomes([STREAM[i : i + 1] for i in range(len(STREAM))]) == outcomes([STREAM])


@settings(max_examples=100)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=1, max_value=50), max_size=10))
def test_arbitrary_bytes_only_raise_remote_protocol_errors(data: bytes, sizes: list[int]) -> None:
    channel = ControlChannel(C, limits=Limits(max_message_bytes=256))
    position = 0
    try:
        for size in [*sizes, len(data)]:
            channel.receive_data(data[position : position + size])
            position += size
            while channel.next_event() not in (NEED_DATA, CLOSED):  # an empty chunk ends the stream
                pass
    except RemoteProtocolError:
        pass  # the only kind of error allowed; anything else fails the test


# -- the joined reading (docs/quirks.md V10) ------------------------------------------------------------------


def test_joined_rows_start_only_from_joined_and_allow_what_some_phase_allows() -> None:
    assert set(JOINED_PHASE_TRANSITIONS).isdisjoint(PHASE_TRANSITIONS)
    for (phase, sender, input_), target in JOINED_PHASE_TRANSITIONS.items():
        assert phase is Phase.JOINED
        allowed_in = {p for (p, s, i) in PHASE_TRANSITIONS if s is sender and i is input_}
        assert allowed_in - {Phase.AWAITING_INIT}, (sender, input_)
        assert target is Phase.JOINED or target in {PHASE_TRANSITIONS[(p, sender, input_)] for p in allowed_in}


def test_joined_answers_from_before_pass_until_history_until() -> None:
    channel = ControlChannel(S, sticky_errors=False)
    channel.join(history_until=130.0)
    response = bridge.CapabilitiesResponse(target=TARGET, request_id=rid(7), **CAPS)
    channel.observe(response, C, now=120.0)
    with pytest.raises(UnknownCorrelationIdError, match="already answered"):
        channel.observe(response, C, now=121.0)
    late = bridge.CapabilitiesResponse(target=TARGET, request_id=rid(8), **CAPS)
    with pytest.raises(UnknownCorrelationIdError, match="names no outstanding request"):
        channel.observe(late, C, now=130.5)


def test_joined_createsession_needs_a_status_only_once_one_was_seen() -> None:
    channel = ControlChannel(S, sticky_errors=False)
    channel.join()
    request = bridge.CreateSessionRequest(target=TARGET, request_id=rid(1), agent_id="a", agent_password="p",
                                          session_id="s", destination="d")
    channel.observe(request, S)
    assert channel.phase is Phase.ACTIVE
    channel.observe(bridge.CreateSessionResponse(target=TARGET, request_id=rid(1)), C)  # status came before
    channel.observe(bridge.ServerStatusChanged(status=ServerStatus.PAUSING_SERVICE), C)
    channel.observe(dataclasses_replace(request, request_id=rid(2)), S)
    with pytest.raises(UnexpectedMessageError, match="pausing-service"):
        channel.observe(bridge.CreateSessionResponse(target=TARGET, request_id=rid(2)), C)


def test_join_comes_first() -> None:
    channel = ControlChannel(S)
    channel.observe(bridge.ServerStatusRequest(target=TARGET, request_id=rid(1)), S)
    with pytest.raises(RuntimeError):
        channel.join()


def dataclasses_replace(message: bridge.CreateSessionRequest, **changes: str) -> bridge.CreateSessionRequest:
    import attrs

    return attrs.evolve(message, **changes)


# -- the end of the stream (receive_data(b""), as in h11) ------------------------------------------------------


def _status_query(number: int = 1) -> bridge.ServerStatusRequest:
    return bridge.ServerStatusRequest(target=TARGET_FOR_EOF, request_id=f"00000000-0000-0000-0000-{number:012d}")


TARGET_FOR_EOF = "Acme1.CONTROL"


def test_empty_data_ends_the_stream_after_the_whole_messages_left() -> None:
    client = ControlChannel(C)
    client.receive_data(encode_frame(_status_query(1)) + encode_frame(_status_query(2)))
    client.receive_data(b"")
    assert client.eof
    assert client.next_event(now=0.0) == _status_query(1)
    assert client.next_event(now=0.0) == _status_query(2)
    assert client.next_event(now=0.0) is CLOSED
    assert client.next_event(now=0.0) is CLOSED  # and it stays closed
    assert list(client) == []  # iterating stops at the end too


def test_without_the_end_an_empty_buffer_still_needs_data() -> None:
    client = ControlChannel(C)
    assert client.next_event(now=0.0) is NEED_DATA
    assert not client.eof


@pytest.mark.parametrize("cut", [1, 3, 4, 10])
def test_the_stream_ending_inside_a_frame_is_a_truncated_frame(cut: int) -> None:
    frame = encode_frame(_status_query())
    client = ControlChannel(C)
    client.receive_data(frame[:cut])
    client.receive_data(b"")
    with pytest.raises(TruncatedFrameError) as caught:
        client.next_event(now=0.0)
    assert isinstance(caught.value, RemoteProtocolError)
    assert caught.value.code == "truncated-frame"
    assert caught.value.role is S  # the bridge sent the broken stream
    assert client.phase is Phase.ERROR  # sticky, like every protocol error


def test_receive_close_inside_a_frame_raises_instead_of_returning_none() -> None:
    client = ControlChannel(C, sticky_errors=False)
    client.receive_data(encode_frame(_status_query())[:-1])
    with pytest.raises(TruncatedFrameError) as caught:
        client.receive_close()
    assert caught.value.code == "truncated-frame"
    assert "payload bytes arrived" in str(caught.value)


def test_receive_close_after_whole_frames_leaves_them_for_next_event() -> None:
    client = ControlChannel(C)
    client.receive_data(encode_frame(_status_query()))
    assert client.receive_close() is None
    assert client.next_event(now=0.0) == _status_query()
    assert client.next_event(now=0.0) is CLOSED


def test_data_after_the_end_is_a_usage_error() -> None:
    client = ControlChannel(C)
    client.receive_data(b"")
    client.receive_data(b"")  # saying it twice is fine
    with pytest.raises(RuntimeError, match="after the end of the stream"):
        client.receive_data(encode_frame(_status_query()))


# -- leaving out `now` is loud: UntimedWarning, once per channel -----------------------------------------------


def test_a_request_sent_without_now_warns_once_and_arms_no_deadline() -> None:
    import warnings

    bridge_side = ControlChannel(S)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bridge_side.send(_status_query(1))
        bridge_side.send(_status_query(2))
    untimed = [w for w in caught if issubclass(w.category, UntimedWarning)]
    assert len(untimed) == 1
    assert "without `now`" in str(untimed[0].message)
    assert untimed[0].filename == __file__  # it points at the caller's line, not into ccproto
    assert bridge_side.get_timer() is None


def test_a_request_received_without_now_warns() -> None:
    client = ControlChannel(C)
    client.receive_data(encode_frame(_status_query()))
    with pytest.warns(UntimedWarning) as caught:
        client.next_event()
    assert caught[0].filename == __file__


def test_with_now_or_when_observing_nothing_warns() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UntimedWarning)
        timed = ControlChannel(S)
        timed.send(_status_query(), now=1.0)
        assert timed.get_timer() == 1.0 + Limits().request_timeout
        observer = ControlChannel(S, sticky_errors=False)  # a validator: captures may have no timestamps
        observer.observe(_status_query(), S)
        assert observer.get_timer() is None


def test_receive_close_sees_a_truncated_frame_behind_whole_ones() -> None:
    client = ControlChannel(C)
    client.receive_data(encode_frame(_status_query(1)) + encode_frame(_status_query(2))[:-2])
    with pytest.raises(TruncatedFrameError):
        client.receive_close()


def test_receive_close_after_an_error_adds_nothing() -> None:
    client = ControlChannel(C)
    with pytest.raises(UnexpectedMessageError):
        client.receive_message(bridge.encode(message_for(Input.DISPOSE_REQUEST)))
    assert client.receive_close() is None  # the transport closing after a failure is no new error
