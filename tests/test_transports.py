"""The transports over real loopback sockets: the bridge over TCP (and TLS), the CCEB and the Interaction Processor
over WebSockets (and wss), each protocol role on the listening and on the connecting side; frames however the TCP
stack cuts them, size limits, protocol errors on both sides, lost connections, clean closes and timers."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest
import trustme

from ccproto import bridge, cceb, processor
from ccproto.bridge import ControlChannel, Phase, ServerStatus
from ccproto.bridge.tcp import open_bridge, serve_bridge
from ccproto.cceb import CcebConnection, ConnectionState
from ccproto.cceb.ws import connect_cceb, serve_cceb
from ccproto.core.errors import (
    ConnectionLostError,
    DecodeError,
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role
from ccproto.processor import ProcessorSession, SessionState
from ccproto.processor.ws import connect_processor, serve_processor
from ccproto.transports import Expired, MessageStream, TextLink, open_link
from ccproto.transports.tcp import serve_framed
from ccproto.transports.ws import serve_websocket

HOST = "127.0.0.1"
TARGET = "Acme1.CONTROL"
CANARY = "hunter2-canary-7d1f"  # a password / token that must never show in an error, a repr or a log
TENANT = "acme"
ACTION_NAME = "ChangeAgentStateEvent"
PROTOCOLS = ("bridge", "processor", "cceb")
#: Every test's whole conversation is bounded by this (seconds): a hang fails, it does not block the suite.
BOUND = 10.0
#: The side that listens: the protocol role of the stream there (the other side connects with the other role).
LISTENERS = [pytest.param(Role.SERVER, id="server-listens"), pytest.param(Role.CLIENT, id="client-listens")]
TLS = [pytest.param(False, id="plain"), pytest.param(True, id="tls")]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one test's conversation, bounded in time."""
    return asyncio.run(asyncio.wait_for(coroutine, BOUND))


# -- TLS material (made at test time) -----------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls(ca: trustme.CA) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for 127.0.0.1, client context trusting its CA)."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", HOST).configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


# -- making connections ---------------------------------------------------------------------------

#: Stands for "a raw link" (texts in and out, unchecked) where a role would make a checked stream.
RAW = None
Side = Role | None
End = Any  # a MessageStream or a raw TextLink


def machine(protocol: str, role: Role, limits: Limits) -> Any:
    """The protocol's sans-I/O connection object playing ``role``."""
    if protocol == "bridge":
        return ControlChannel(role, limits=limits)
    if protocol == "processor":
        return ProcessorSession(role, limits=limits)
    return CcebConnection(role, limits=limits)


def port_of(server: Any) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


def uri(protocol: str, port: int, secure: bool) -> str:
    scheme = ("tls" if secure else "tcp") if protocol == "bridge" else ("wss" if secure else "ws")
    return f"{scheme}://{HOST}:{port}"


async def listen(
    protocol: str, side: Side, handler: Callable[[End], Awaitable[None]], *, ssl_context: ssl.SSLContext | None,
    limits: Limits,
) -> Any:
    """Listen with the module's own server functions: the protocol's ``serve_*`` where one fits ``side``."""
    if protocol == "bridge":
        if side is RAW:
            return await serve_framed(handler, HOST, 0, ssl=ssl_context, limits=limits)
        return await serve_bridge(handler, HOST, 0, role=side, ssl=ssl_context, limits=limits)
    if side is Role.SERVER and protocol == "cceb":
        return await serve_cceb(handler, HOST, 0, ssl=ssl_context, limits=limits)
    if side is Role.SERVER:
        return await serve_processor(handler, HOST, 0, ssl=ssl_context, limits=limits)

    async def wrap(link: Any) -> None:  # a raw link, or a client stream on the listening side
        await handler(link if side is RAW else MessageStream(machine(protocol, side, limits), link))

    return await serve_websocket(wrap, HOST, 0, ssl=ssl_context, limits=limits)


async def dial(protocol: str, side: Side, port: int, *, ssl_context: ssl.SSLContext | None, secure: bool,
               limits: Limits) -> End:
    """Connect with the module's own client functions: ``open_bridge``, ``connect_cceb``, ``connect_processor``."""
    if side is RAW:
        return await open_link(uri(protocol, port, secure), ssl=ssl_context, limits=limits)
    if protocol == "bridge":
        return await open_bridge(HOST, port, role=side, ssl=ssl_context, limits=limits)
    if protocol == "cceb":
        return await connect_cceb(uri(protocol, port, secure), connection=machine(protocol, side, limits),
                                  ssl=ssl_context)
    return await connect_processor(uri(protocol, port, secure), session=machine(protocol, side, limits),
                                   ssl=ssl_context)


@contextlib.asynccontextmanager
async def connected(
    protocol: str, listening: Side, connecting: Side, *,
    tls_pair: tuple[ssl.SSLContext, ssl.SSLContext] | None = None, limits: Limits = DEFAULT_LIMITS,
) -> AsyncIterator[tuple[End, End]]:
    """One live connection: (the listening end, the connecting end), each a checked stream or a raw link (RAW)."""
    accepted: asyncio.Queue[End] = asyncio.Queue()
    finished = asyncio.Event()

    async def handler(end: End) -> None:
        await accepted.put(end)
        await finished.wait()  # the transport closes the connection when the handler returns

    server_ssl, client_ssl = tls_pair if tls_pair is not None else (None, None)
    server = await listen(protocol, listening, handler, ssl_context=server_ssl, limits=limits)
    dialled: End = None
    try:
        dialled = await dial(protocol, connecting, port_of(server), ssl_context=client_ssl,
                             secure=tls_pair is not None, limits=limits)
        yield await asyncio.wait_for(accepted.get(), BOUND), dialled
    finally:
        finished.set()
        if dialled is not None:
            with contextlib.suppress(ProtocolError, ConnectionError, ssl.SSLError):
                await dialled.close()
        server.close()
        await server.wait_closed()


def text(data: str | bytes | None) -> str:
    """What a raw link received, as text (the framed link gives bytes)."""
    assert data is not None
    return data.decode("utf-8") if isinstance(data, bytes) else data


async def quiet(link: TextLink, seconds: float = 0.1) -> bool:
    """Whether nothing arrives on ``link`` for ``seconds``."""
    try:
        await asyncio.wait_for(link.receive(), seconds)
    except TimeoutError:
        return True
    return False


# -- the messages ---------------------------------------------------------------------------------


def status_request() -> bridge.ServerStatusRequest:
    return bridge.ServerStatusRequest(target=TARGET, request_id=bridge.new_request_id())


def create_session() -> bridge.CreateSessionRequest:
    return bridge.CreateSessionRequest(
        target=TARGET, request_id=bridge.new_request_id(), agent_id="1001", agent_password=CANARY,
        session_id="s-1", destination="dest-1",
    )


def prepare_session(*, override: bool = False) -> processor.PrepareSessionRequest:
    return processor.PrepareSessionRequest(data=processor.SessionParameters(
        model="uccx", override=override, agent=processor.AgentCredentials(id="1001", password=CANARY)))


def hello() -> cceb.Hello:
    return cceb.Hello.new(token=CANARY, tenant=TENANT)


def action() -> cceb.Action:
    return cceb.Action.new(ACTION_NAME, {"state": "Ready"})


async def exchange(stream: MessageStream[Any], message: Any, peer: MessageStream[Any]) -> Any:
    """``stream`` sends ``message``; ``peer`` receives exactly it (checked by both connection objects)."""
    await stream.send(message)
    received = await peer.receive()
    assert received == message
    return received


# -- 1. a real conversation per protocol, each role on either side, with and without TLS -------------------


async def bridge_conversation(ends: dict[Role, MessageStream[ControlChannel]]) -> None:
    the_bridge, cti = ends[Role.SERVER], ends[Role.CLIENT]
    request = await exchange(the_bridge, status_request(), cti)
    await exchange(cti, bridge.success_response(request), the_bridge)
    await exchange(cti, bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE), the_bridge)
    session = await exchange(the_bridge, create_session(), cti)
    assert [p.request_id for p in cti.machine.pending_requests()] == [session.request_id]
    await exchange(cti, bridge.success_response(session), the_bridge)
    for stream in ends.values():
        assert stream.machine.phase is Phase.ACTIVE
        assert stream.machine.server_status is ServerStatus.IN_SERVICE
        assert stream.machine.outstanding() == ()
        assert stream.machine.get_timer() is None


@pytest.mark.parametrize("secure", TLS)
@pytest.mark.parametrize("listener", LISTENERS)
def test_bridge_conversation_over_tcp(listener: Role, secure: bool, tls: Any) -> None:
    async def main() -> None:
        async with connected("bridge", listener, listener.peer, tls_pair=tls if secure else None) as (there, here):
            ends = {listener: there, listener.peer: here}
            await bridge_conversation(ends)
            await here.close()  # a clean close with nothing outstanding: the other side's loop just ends
            assert [message async for message in there] == []
            assert await there.receive() is None

    run(main())


async def processor_conversation(ends: dict[Role, MessageStream[ProcessorSession]]) -> None:
    the_processor, client = ends[Role.SERVER], ends[Role.CLIENT]
    first = await exchange(client, prepare_session(), the_processor)
    await exchange(the_processor, processor.PrepareSessionConfirm(message="Replace it?", original=first), client)
    again = await exchange(client, first.with_override(), the_processor)
    success = processor.PrepareSessionSuccess(resource=processor.SessionResource(id="session-1", data=again.data))
    await exchange(the_processor, success, client)
    await exchange(client, processor.GetCapabilitiesRequest(), the_processor)
    await exchange(the_processor, processor.GetCapabilitiesSuccess(capabilities={"transfer": True}), client)
    for stream in ends.values():
        assert stream.machine.state is SessionState.OPEN
        assert stream.machine.pending_requests() == ()


async def cceb_conversation(ends: dict[Role, MessageStream[CcebConnection]]) -> None:
    the_cceb, client = ends[Role.SERVER], ends[Role.CLIENT]
    first = await exchange(client, hello(), the_cceb)
    assert client.machine.pending_hello is not None
    await exchange(the_cceb, cceb.HelloReply(uuid=first.uuid), client)
    sent = await exchange(client, action(), the_cceb)
    assert [item.uuid for item in the_cceb.machine.unacked_actions()] == [sent.uuid]
    await exchange(the_cceb, cceb.Ack.of(sent), client)
    notification = await exchange(the_cceb, cceb.Presence(uuid=cceb.new_uuid(), data={"status": "Available"}), client)
    await exchange(client, cceb.Ack.of(notification), the_cceb)
    for stream in ends.values():
        assert stream.machine.state is ConnectionState.OPEN
        assert stream.machine.in_flight() == ()


@pytest.mark.parametrize("secure", TLS)
@pytest.mark.parametrize("listener", LISTENERS)
@pytest.mark.parametrize("protocol", ["processor", "cceb"])
def test_websocket_conversation(protocol: str, listener: Role, secure: bool, tls: Any) -> None:
    conversation = processor_conversation if protocol == "processor" else cceb_conversation

    async def main() -> None:
        async with connected(protocol, listener, listener.peer, tls_pair=tls if secure else None) as (there, here):
            ends = {listener: there, listener.peer: here}
            await conversation(ends)
            await here.close()
            assert [message async for message in there] == []
            assert there.link.close_code == 1000

    run(main())


def test_the_default_machines_of_the_websocket_functions_play_their_documented_roles() -> None:
    async def main() -> None:
        for protocol, kind in (("cceb", CcebConnection), ("processor", ProcessorSession)):
            async with connected(protocol, Role.SERVER, Role.CLIENT) as (there, _):
                assert isinstance(there.machine, kind)
                assert there.machine.our_role is Role.SERVER
            server = await (serve_cceb if protocol == "cceb" else serve_processor)(lambda s: asyncio.sleep(0), HOST, 0)
            try:
                connect = connect_cceb if protocol == "cceb" else connect_processor
                stream = await connect(uri(protocol, port_of(server), False))
                assert isinstance(stream.machine, kind)
                assert stream.machine.our_role is Role.CLIENT
                await stream.close()
            finally:
                server.close()
                await server.wait_closed()

    run(main())


# -- 2. frames as the TCP stack delivers them -----------------------------------------------------------


def frame(message: bridge.BridgeMessage) -> bytes:
    return bridge.encode_frame(bridge.encode(message).encode("utf-8"))


def test_bridge_frames_split_byte_by_byte_and_merged_arrive_once_each() -> None:
    async def main() -> None:
        streams: asyncio.Queue[MessageStream[ControlChannel]] = asyncio.Queue()
        done = asyncio.Event()

        async def handler(stream: MessageStream[ControlChannel]) -> None:
            await streams.put(stream)
            await done.wait()

        # The CTI client listens here; the raw side plays the bridge, one byte per write.
        server = await serve_bridge(handler, HOST, 0, role=Role.CLIENT)
        reader, writer = await asyncio.open_connection(HOST, port_of(server))
        try:
            cti = await streams.get()
            first = status_request()
            data = frame(first)
            pending = asyncio.create_task(cti.receive())
            for byte in data[:-1]:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.001)  # Nagle is off in asyncio: each byte goes as its own segment
            await asyncio.sleep(0.05)
            assert not pending.done()  # nothing before the frame's last byte
            writer.write(data[-1:])
            assert await pending == first
            # Two whole frames and the first half of a third in one write, the rest in another.
            query = bridge.CapabilitiesQuery(target=TARGET, request_id=bridge.new_request_id())
            again, last = status_request(), status_request()
            third = frame(last)
            writer.write(frame(query) + frame(again) + third[:7])
            assert await cti.receive() == query
            assert await cti.receive() == again
            pending = asyncio.create_task(cti.receive())
            await asyncio.sleep(0.05)
            assert not pending.done()
            writer.write(third[7:])
            assert await pending == last
            assert len(cti.machine.pending_requests()) == 4  # each one arrived once
            # The answers, sent by the stream, arrive whole on the raw side.
            await cti.send(bridge.success_response(first))
            assert await reader.readexactly(len(frame(bridge.success_response(first)))) == frame(
                bridge.success_response(first))
        finally:
            done.set()
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

    run(main())


def test_a_bridge_frame_at_the_limit_passes_and_one_byte_over_is_a_limit_error_on_the_listening_side() -> None:
    message = status_request()
    size = len(bridge.encode(message).encode("utf-8"))

    async def receive_with(limit: int) -> Any:
        async with connected("bridge", Role.CLIENT, RAW, limits=Limits(max_message_bytes=limit)) as (cti, raw):
            # FramedLink refuses to *send* a frame over its own limit, so the raw side writes the bytes itself.
            raw.writer.write(frame(message))
            try:
                return await cti.receive()
            except ProtocolError as exc:
                return exc

    async def main() -> None:
        assert await receive_with(size) == message
        error = await receive_with(size - 1)
        assert isinstance(error, LimitExceededError)
        assert isinstance(error, RemoteProtocolError)
        assert error.code == "frame-too-large"
        assert f"announces {size} bytes" in str(error)

    run(main())


def test_an_oversized_bridge_frame_on_the_connecting_side_is_a_limit_error_and_the_server_lives_on() -> None:
    limits = Limits(max_message_bytes=64)

    async def main() -> None:
        served: list[str] = []

        async def handler(link: Any) -> None:  # a raw bridge with the default (1 MiB) limit
            served.append("connection")
            await link.send_text(bridge.encode(status_request()))  # about 150 bytes
            await link.receive()

        server = await serve_framed(handler, HOST, 0)
        try:
            for _ in range(2):  # the listening side survives the first connection's error
                cti = await open_bridge(HOST, port_of(server), limits=limits)
                with pytest.raises(LimitExceededError) as info:
                    await cti.receive()
                assert isinstance(info.value, RemoteProtocolError)
                assert "max_message_bytes=64" in str(info.value)
                await cti.close()
            assert served == ["connection", "connection"]
        finally:
            server.close()
            await server.wait_closed()

    run(main())


# -- 3. TLS: a client that does not trust the certificate fails in the handshake -----------------------------------


@pytest.mark.parametrize(
    ("protocol", "connecting"),
    [("bridge", Role.CLIENT), ("bridge", Role.SERVER), ("cceb", Role.CLIENT), ("processor", Role.CLIENT)],
    ids=["bridge-cti-connects", "bridge-bridge-connects", "cceb", "processor"],
)
def test_a_client_that_does_not_trust_the_ca_fails_with_an_ssl_error(
    protocol: str, connecting: Role, tls: Any
) -> None:
    server_ssl, _ = tls

    async def main() -> None:
        handled: list[Any] = []

        async def handler(end: Any) -> None:
            handled.append(end)

        server = await listen(protocol, connecting.peer, handler, ssl_context=server_ssl, limits=DEFAULT_LIMITS)
        try:
            untrusting = ssl.create_default_context()  # the system's CAs only
            with pytest.raises(ssl.SSLCertVerificationError):
                await dial(protocol, connecting, port_of(server), ssl_context=untrusting, secure=True,
                           limits=DEFAULT_LIMITS)
            await asyncio.sleep(0.05)
            assert handled == []  # no handler ran: the connection never got past the handshake
        finally:
            server.close()
            await server.wait_closed()

    run(main())


# -- 4. protocol errors surface as ccproto exceptions -------------------------------------------------------

#: (protocol, the stream's role, whether the stream listens, what the raw peer sends first, the error expected).
REMOTE_CASES = [
    pytest.param("bridge", Role.CLIENT, False, [bridge.encode(bridge.DisposeRequest(
        target=TARGET, request_id=bridge.new_request_id()))], UnexpectedMessageError.Remote, id="bridge-order"),
    pytest.param("bridge", Role.SERVER, True, ['{"header": {"type": "cti.event"'], DecodeError, id="bridge-not-json"),
    pytest.param("bridge", Role.SERVER, True, [
        '{"header":{"type":"cti.event","name":"cti.serverstatuschanged"},"body":{"status":"asleep"}}'],
        SchemaViolationError.Remote, id="bridge-schema"),
    pytest.param("processor", Role.SERVER, True, ['{"command":"prepareSession","data":{}}'],
                 SchemaViolationError.Remote, id="processor-schema"),
    pytest.param("processor", Role.CLIENT, False, [processor.encode(processor.PrepareSessionRequest(
        data=processor.SessionParameters(model="m", override=True, agent=processor.AgentCredentials(
            id="1", password=CANARY))))], UnexpectedMessageError.Remote, id="processor-direction"),
    pytest.param("cceb", Role.SERVER, True, [cceb.encode(cceb.Action.new(ACTION_NAME, {}))],
                 UnexpectedMessageError.Remote, id="cceb-action-before-hello"),
    pytest.param("cceb", Role.CLIENT, False, [cceb.encode(cceb.Ack(uuid=cceb.new_uuid()))],
                 UnknownCorrelationIdError.Remote, id="cceb-ack-of-nothing"),
]


@pytest.mark.parametrize(("protocol", "role", "listens", "texts", "expected"), REMOTE_CASES)
def test_an_invalid_message_from_the_peer_raises_the_remote_error_from_receive(
    protocol: str, role: Role, listens: bool, texts: list[str], expected: type[RemoteProtocolError]
) -> None:
    async def main() -> None:
        pair = (role, RAW) if listens else (RAW, role)
        async with connected(protocol, *pair) as ends:
            stream, raw = ends if listens else ends[::-1]
            if protocol == "cceb" and role is Role.CLIENT:
                await stream.send(hello())  # an ack is only out of place once the connection is open
                reply = cceb.HelloReply(uuid=cceb.decode_text(await raw.receive()).message.uuid)
                await raw.send_text(cceb.encode(reply))
                assert await stream.receive() == reply
            for text in texts:
                await raw.send_text(text)
            with pytest.raises(RemoteProtocolError) as info:
                await stream.receive()
            assert type(info.value) is expected
            assert info.value.role is role.peer
            assert stream.machine.error is info.value  # sticky: the machine says what went wrong
            assert CANARY not in str(info.value) + repr(info.value) + repr(info.value.message)

    run(main())


#: (protocol, the stream's role, a message that role may not send now, the error expected).
LOCAL_CASES = [
    pytest.param("bridge", Role.CLIENT, bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE),
                 UnexpectedMessageError.Local, id="bridge-status-before-request"),
    pytest.param("bridge", Role.SERVER, bridge.ServerStatusRequest(target=TARGET, request_id="not-a-guid"),
                 SchemaViolationError.Local, id="bridge-schema"),
    pytest.param("processor", Role.CLIENT, processor.GetCapabilitiesSuccess(capabilities={}),
                 UnexpectedMessageError.Local, id="processor-direction"),
    pytest.param("processor", Role.SERVER, processor.GetCapabilitiesSuccess(capabilities={}),
                 UnknownCorrelationIdError.Local, id="processor-answer-of-nothing"),
    pytest.param("cceb", Role.CLIENT, cceb.Action.new(ACTION_NAME, {"state": "Ready"}),
                 UnexpectedMessageError.Local, id="cceb-action-before-hello"),
    pytest.param("cceb", Role.SERVER, cceb.HelloReply(uuid=cceb.new_uuid()),
                 UnexpectedMessageError.Local, id="cceb-reply-before-hello"),
]


@pytest.mark.parametrize(("protocol", "role", "message", "expected"), LOCAL_CASES)
@pytest.mark.parametrize("listens", [True, False], ids=["stream-listens", "stream-connects"])
def test_sending_an_invalid_message_raises_the_local_error_and_sends_nothing(
    protocol: str, role: Role, message: Any, expected: type[LocalProtocolError], listens: bool
) -> None:
    async def main() -> None:
        pair = (role, RAW) if listens else (RAW, role)
        async with connected(protocol, *pair) as ends:
            stream, raw = ends if listens else ends[::-1]
            with pytest.raises(LocalProtocolError) as info:
                await stream.send(message)
            assert type(info.value) is expected
            assert info.value.role is role
            await stream.close()
            assert await raw.receive() is None  # the close is the first thing the peer sees

    run(main())


# -- 5. connections lost mid-conversation, clean closes, sending on a dead link ---------------------------


async def bridge_with_session_outstanding(stream: MessageStream[Any], raw: TextLink) -> tuple[str, ...]:
    """The bridge stream gets to ACTIVE and sends a createsession (with a password) the raw CTI never answers."""
    request = status_request()
    await stream.send(request)
    await raw.receive()
    await raw.send_text(bridge.encode(bridge.success_response(request)))
    await raw.send_text(bridge.encode(bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE)))
    await stream.receive()
    await stream.receive()
    session = create_session()
    await stream.send(session)
    assert CANARY in text(await raw.receive())  # it did cross the wire
    return (session.request_id,)


async def processor_with_prepare_outstanding(stream: MessageStream[Any], raw: TextLink) -> tuple[str, ...]:
    await stream.send(processor.GetCapabilitiesRequest())
    await raw.send_text(processor.encode(processor.GetCapabilitiesSuccess(capabilities={})))
    await stream.receive()
    await stream.send(prepare_session())
    await raw.receive()
    await raw.receive()
    return ("prepareSession",)


async def cceb_with_action_outstanding(stream: MessageStream[Any], raw: TextLink) -> tuple[str, ...]:
    first = hello()
    await stream.send(first)
    await raw.receive()
    await raw.send_text(cceb.encode(cceb.HelloReply(uuid=first.uuid, session_key="k" * 43)))
    await stream.receive()
    sent = action()
    await stream.send(sent)
    await raw.receive()
    return (sent.uuid,)


#: protocol -> (the stream's role, how to get something outstanding, how to name an outstanding item).
LOSSES: dict[str, tuple[Role, Callable[[MessageStream[Any], TextLink], Awaitable[tuple[str, ...]]],
                        Callable[[Any], str]]] = {
    "bridge": (Role.SERVER, bridge_with_session_outstanding, lambda item: item.request_id),
    "processor": (Role.CLIENT, processor_with_prepare_outstanding, lambda item: item.command),
    "cceb": (Role.CLIENT, cceb_with_action_outstanding, lambda item: item.uuid),
}


@pytest.mark.parametrize("abrupt", [False, True], ids=["closed", "dropped"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_connection_lost_with_something_outstanding_raises_connection_lost(protocol: str, abrupt: bool) -> None:
    role, setup, name = LOSSES[protocol]

    async def main() -> None:
        async with connected(protocol, RAW, role) as (raw, stream):
            names = await setup(stream, raw)
            if abrupt:  # no close frame, no FIN handshake: the TCP connection is reset
                transport = raw.writer.transport if protocol == "bridge" else raw.websocket.transport
                transport.abort()
            else:
                await raw.close()
            with pytest.raises(ConnectionLostError) as info:
                await stream.receive()
            lost = info.value
            assert tuple(name(item) for item in lost.outstanding) == names
            assert lost.outstanding == stream.machine.outstanding()  # still inspectable
            assert f"with {len(names)} message(s) still waiting" in str(lost)
            assert "closed" in str(lost)
            assert lost.code == "connection-lost"
            assert CANARY not in str(lost) + repr(lost) + repr(lost.outstanding)
            if protocol == "bridge":
                assert stream.machine.pending_requests() == lost.outstanding
                assert stream.machine.phase is Phase.ACTIVE
            elif protocol == "processor":
                assert stream.machine.pending_requests() == lost.outstanding
            else:
                assert stream.machine.in_flight() == lost.outstanding
                assert stream.machine.closed is not None
                assert stream.machine.closed.code == (1006 if abrupt else 1000)
                assert stream.machine.closed.in_flight == lost.outstanding

    run(main())


async def bridge_answered(stream: MessageStream[Any], raw: TextLink) -> list[Any]:
    request = status_request()
    await stream.send(request)
    await raw.receive()
    answers = [bridge.success_response(request), bridge.ServerStatusChanged(status=ServerStatus.IN_SERVICE)]
    for answer in answers:
        await raw.send_text(bridge.encode(answer))
    return answers


async def processor_answered(stream: MessageStream[Any], raw: TextLink) -> list[Any]:
    await stream.send(processor.GetCapabilitiesRequest())
    await raw.receive()
    answer = processor.GetCapabilitiesSuccess(capabilities={"transfer": True})
    await raw.send_text(processor.encode(answer))
    return [answer]


async def cceb_answered(stream: MessageStream[Any], raw: TextLink) -> list[Any]:
    first = hello()
    await stream.send(first)
    await raw.receive()
    answers = [cceb.HelloReply(uuid=first.uuid), cceb.Presence(uuid=cceb.new_uuid(), data={})]
    for answer in answers:
        await raw.send_text(cceb.encode(answer))
    return answers


ANSWERED: dict[str, tuple[Role, Callable[[MessageStream[Any], TextLink], Awaitable[list[Any]]]]] = {
    "bridge": (Role.SERVER, bridge_answered),
    "processor": (Role.CLIENT, processor_answered),
    "cceb": (Role.CLIENT, cceb_answered),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_clean_close_with_nothing_outstanding_ends_async_for(protocol: str) -> None:
    role, setup = ANSWERED[protocol]

    async def main() -> None:
        async with connected(protocol, RAW, role) as (raw, stream):
            answers = await setup(stream, raw)
            if protocol == "cceb":  # the notification is acked, so nothing is owed when the CCEB closes
                await raw.send_text(cceb.encode(cceb.Presence(uuid=cceb.new_uuid(), data={})))
            received: list[Any] = []
            async for message in stream:
                received.append(message)
                if protocol == "cceb" and isinstance(message, cceb.Presence):
                    await stream.send(cceb.Ack.of(message))
                if len(received) == len(answers) + (protocol == "cceb"):
                    await raw.close()
            assert received[: len(answers)] == answers
            assert stream.machine.outstanding() == ()
            assert await stream.receive() is None  # and it stays ended

    run(main())


def test_a_cceb_closing_before_hello_reply_is_an_authentication_failure_not_a_lost_connection() -> None:
    # docs/quirks.md: the CCEB refuses a hello by closing, so the close answers the hello (nothing is lost).
    async def main() -> None:
        async with connected("cceb", RAW, Role.CLIENT) as (raw, stream):
            await stream.send(hello())
            await raw.receive()
            await raw.close(4001, "unauthorized")
            assert await stream.receive() is None
            closed = stream.machine.closed
            assert closed is not None
            assert closed.authentication_failed
            assert (closed.code, closed.reason) == (4001, "unauthorized")
            assert stream.machine.outstanding() == ()
            assert CANARY not in repr(closed)

    run(main())


#: protocol -> (the stream's role, the next message it could send once the exchange of ANSWERED is over).
NEXT: dict[str, Callable[[], Any]] = {
    "bridge": lambda: bridge.ServerStatusRequest(target=TARGET, request_id=bridge.new_request_id()),
    "processor": lambda: processor.GetCapabilitiesRequest(),
    "cceb": lambda: cceb.Action.new(ACTION_NAME, {"state": "Ready"}),
}


@pytest.mark.parametrize("protocol", ["bridge", "processor", "cceb"])
def test_sending_after_the_peer_closed_raises_connection_lost(protocol: str) -> None:
    role, setup = ANSWERED[protocol]

    async def main() -> None:
        async with connected(protocol, RAW, role) as (raw, stream):
            for answer in await setup(stream, raw):
                message = await stream.receive()
                assert message == answer
                if isinstance(message, cceb.Notification):
                    await stream.send(cceb.Ack.of(message))  # nothing owed when the peer closes
            await raw.close()
            assert await stream.receive() is None
            # On TCP the peer's FIN leaves our half open: the bytes would be taken and lost, so the stream refuses.
            with pytest.raises(ConnectionLostError) as info:
                await stream.send(NEXT[protocol]())
            assert "could not send" in str(info.value)
            assert stream.machine.outstanding() == ()  # the refused message is not waiting for anything

    run(main())


def test_sending_on_a_dropped_websocket_raises_connection_lost_and_keeps_the_machine() -> None:
    async def main() -> None:
        async with connected("processor", RAW, Role.CLIENT) as (raw, stream):
            await stream.send(prepare_session())
            await raw.close()
            await asyncio.sleep(0.05)  # the close handshake completes
            with pytest.raises(ConnectionLostError) as info:
                await stream.send(processor.GetCapabilitiesRequest())
            assert "could not send" in str(info.value)
            assert CANARY not in str(info.value) + repr(info.value.outstanding)
            assert stream.machine.pending_for("prepareSession") != ()

    run(main())


# -- 6. timers: an unanswered request expires ---------------------------------------------------------------

TIMEOUT = 0.2
#: protocol -> (the stream's role, a request its peer owes an answer to, how an expired item names it).
REQUESTS: dict[str, tuple[Role, Callable[[], Any], Callable[[Any, Any], bool]]] = {
    "bridge": (Role.SERVER, status_request, lambda item, sent: item.request_id == sent.request_id),
    "processor": (Role.CLIENT, prepare_session, lambda item, sent: item.request == sent),
    "cceb": (Role.CLIENT, hello, lambda item, sent: item.uuid == sent.uuid and item.message_type == "hello"),
}


@pytest.mark.parametrize("listens", [True, False], ids=["stream-listens", "stream-connects"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unanswered_request_comes_back_as_expired(protocol: str, listens: bool) -> None:
    role, make, names = REQUESTS[protocol]
    limits = Limits(request_timeout=TIMEOUT)

    async def main() -> None:
        pair = (role, RAW) if listens else (RAW, role)
        async with connected(protocol, *pair, limits=limits) as ends:
            stream, raw = ends if listens else ends[::-1]
            sent = make()
            before = time.monotonic()
            await stream.send(sent)
            event = await stream.receive()
            waited = time.monotonic() - before
            assert isinstance(event, Expired)
            assert len(event.items) == 1
            assert names(event.items[0], sent)
            assert TIMEOUT * 0.9 <= waited < TIMEOUT + 2.0
            assert stream.machine.outstanding() == ()
            assert stream.machine.get_timer() is None
            assert await raw.receive() is not None  # the request itself did go out
            assert await quiet(raw, 0.05)  # and nothing else (an expiry is not sent anywhere)

    run(main())


def test_a_late_bridge_answer_after_expiry_is_an_unknown_correlation_error() -> None:
    async def main() -> None:
        async with connected("bridge", Role.SERVER, RAW, limits=Limits(request_timeout=TIMEOUT)) as (stream, raw):
            request = status_request()
            await stream.send(request)
            assert isinstance(await stream.receive(), Expired)
            await raw.send_text(bridge.encode(bridge.success_response(request)))
            with pytest.raises(UnknownCorrelationIdError.Remote) as info:
                await stream.receive()
            assert "expired" in str(info.value)

    run(main())


def test_the_stream_reads_the_clock_it_is_given() -> None:
    # A frozen clock never reaches the deadline: receive() keeps waiting for the answer (no busy Expired loop).
    async def main() -> None:
        async with connected("processor", RAW, Role.CLIENT, limits=Limits(request_timeout=TIMEOUT)) as (raw, stream):
            stream.clock = lambda: 1000.0
            await stream.send(processor.GetCapabilitiesRequest())
            assert stream.machine.get_timer() == 1000.0 + TIMEOUT
            receiving = asyncio.create_task(stream.receive())
            await asyncio.sleep(TIMEOUT * 2)
            assert not receiving.done()
            answer = processor.GetCapabilitiesSuccess(capabilities={})
            await raw.send_text(processor.encode(answer))
            assert await receiving == answer

    run(main())
