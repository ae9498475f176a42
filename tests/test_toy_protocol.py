"""Adding a protocol is one protocol package, one testing slice and one registry line (issue 23).

A toy fourth protocol (ping/pong, two states) lives in this directory only: ``toy_protocol.py`` (models, codec,
transition table, connection object, capture checker, spec), ``toy_slice.py`` (reference peers, conformance
machines), ``toy_walker.py`` and ``toy_mutations.py`` (what the walker and the mutation engine need).  Registered at
run time, it gets ``ccproto validate``, strategies, mutations, conversations and conformance runs with no change to
ccproto.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toy_protocol
import toy_slice
from ccproto import cli, protocols
from ccproto.capture import validate_capture
from ccproto.core.errors import ProtocolError
from ccproto.core.roles import Role
from ccproto.testing import ConformanceFailure, PeerAdapter, run_conformance
from ccproto.testing.mutations import RULES_BY_PROTOCOL, Rule, mutations
from ccproto.testing.sequences import Conversation, conversations
from ccproto.testing.slices import reference_peer, slice_of
from ccproto.testing.strategies import from_model
from toy_protocol import Ping, Pong, ToyConnection

FEW = settings(max_examples=20, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    registration = toy_protocol.register()
    try:
        yield
    finally:
        registration.undo()


def capture(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


CLEAN = capture(
    {"ts": 1, "conn": "c", "from": "client", "protocol": "toy", "open": {}},
    {"ts": 1, "conn": "c", "from": "client", "protocol": "toy", "message": {"type": "ping", "id": "0000000a"}},
    {"ts": 2, "conn": "c", "from": "server", "protocol": "toy", "message": {"type": "pong", "id": "0000000a"}},
    # No "protocol": the registered spec recognizes the shape.
    {"ts": 3, "conn": "c", "from": "client", "message": {"type": "ping", "id": "0000000b"}},
    {"ts": 4, "conn": "c", "from": "server", "message": {"type": "pong", "id": "0000000b"}},
    {"ts": 5, "conn": "c", "from": "client", "protocol": "toy", "close": {"code": 1000, "reason": ""}},
)
BROKEN = capture(
    {"ts": 1, "conn": "c", "from": "client", "protocol": "toy", "open": {}},
    {"ts": 1, "conn": "c", "from": "client", "protocol": "toy", "message": {"type": "ping", "id": "0000000a"}},
    {"ts": 2, "conn": "c", "from": "server", "protocol": "toy", "message": {"type": "pong", "id": "0000000b"}},
    {"ts": 3, "conn": "c", "from": "client", "protocol": "toy", "message": {"type": "ping", "id": "zz"}},
)


def test_the_registry_knows_the_toy_and_forgets_it() -> None:
    assert protocols.get("toy") is toy_protocol.PROTOCOL
    assert protocols.names()[-1] == "toy"
    assert protocols.recognize({"type": "ping", "id": "0000000a"}) == "toy"
    with pytest.raises(ValueError, match="built in"):
        protocols.unregister("bridge")
    with pytest.raises(ValueError, match="registered already"):
        protocols.register(toy_protocol.PROTOCOL.__class__(**{**_fields(toy_protocol.PROTOCOL)}))


def _fields(spec: object) -> dict[str, object]:
    import attrs

    return attrs.asdict(spec, recurse=False)  # type: ignore[arg-type]


def test_ccproto_validate_checks_a_toy_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not validate_capture(io.BytesIO(CLEAN)).findings
    report = validate_capture(io.BytesIO(BROKEN))
    assert {(f.record, f.code) for f in report.findings if f.severity.value == "error"} == {
        (3, "unexpected-message"), (4, "schema-violation")}
    path = tmp_path / "toy.jsonl"
    path.write_bytes(BROKEN)
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "connection 'c' (toy)" in out
    assert "the pong's id '0000000b' is not the ping's" in out
    assert cli.main(["validate", "--format", "json", str(path)]) == 1


def test_without_the_registry_line_the_toy_is_unknown(tmp_path: Path) -> None:
    protocols.unregister("toy")
    try:
        report = validate_capture(io.BytesIO(CLEAN))
        assert report.failed  # 'protocol' must be one of the registered ones
    finally:
        protocols.register(toy_protocol.PROTOCOL)


@FEW
@given(st.data())
def test_strategies_draw_valid_toy_messages(data: st.DataObject) -> None:
    ping = data.draw(from_model(Ping))
    pong = data.draw(from_model(Pong, with_extra=True))
    for message in (ping, pong):
        assert toy_protocol.decode(toy_protocol.encode(message)) == message


def test_the_slice_gives_reference_peers_that_talk() -> None:
    assert type(reference_peer("toy", "server")) is toy_slice.ToyServer
    assert slice_of("toy").machine(Role.CLIENT) is toy_slice.ToyClientConformance
    client, server = reference_peer("toy", Role.CLIENT), reference_peer("toy", Role.SERVER)
    client.connect(now=0)
    server.connect(now=0)
    (ping,) = client.stimulate("ping", now=1)
    (pong,) = server.receive(ping, now=1)
    assert client.receive(pong, now=2) == []
    assert client.errors == []
    assert server.errors == []


def test_a_conformance_run_passes_the_reference_peers_and_finds_a_planted_bug() -> None:
    run_conformance("toy", "server", lambda: PeerAdapter(toy_slice.ToyServer()), settings=FEW)
    run_conformance("toy", "client", lambda: PeerAdapter(toy_slice.ToyClient()), settings=FEW)
    with pytest.raises(ConformanceFailure) as caught:
        run_conformance("toy", "server", lambda: PeerAdapter(toy_slice.WrongIdServer()), settings=FEW)
    failure = caught.value
    assert failure.code == "unexpected-message"
    # The shrunk capture replays under ccproto validate with the same rule.
    replay = validate_capture(io.BytesIO(failure.capture.encode()))
    assert any(f.code == "unexpected-message" for f in replay.findings)


def test_the_toy_connection_object_blames_the_right_side() -> None:
    client = ToyConnection(Role.CLIENT)
    client.send(Ping(id="0000000a"))
    with pytest.raises(ProtocolError) as caught:
        client.receive_message('{"type":"pong","id":"0000000b"}')
    assert caught.value.code == "unexpected-message"
    assert caught.value.pointer == "/id"


@FEW
@given(st.data())
def test_the_walker_draws_valid_toy_conversations(data: st.DataObject) -> None:
    conversation: Conversation = data.draw(conversations("toy"))  # drawn once the fixture registered the toy
    assert conversation.protocol == "toy"
    report = validate_capture(io.BytesIO(conversation.jsonl().encode()))
    assert not [f for f in report.findings if f.severity.value == "error"], report.findings


@FEW
@given(st.data())
def test_mutations_of_the_toy_are_refused_by_its_connection_object(data: st.DataObject) -> None:
    mutation = data.draw(mutations("toy"))  # drawn once the fixture registered the toy
    assert mutation.protocol == "toy"
    conn = ToyConnection(mutation.sender.peer)
    for sender, value in mutation.context:
        text = json.dumps(value)
        if sender is conn.our_role:
            conn.send(toy_protocol.decode(text))
        else:
            conn.receive_message(text)
    with pytest.raises(ProtocolError):
        conn.receive_message(json.dumps(mutation.value))


def test_the_toy_has_the_rules_its_messages_can_break() -> None:
    assert Rule.WRONG_CORRELATION_ID in RULES_BY_PROTOCOL["toy"]
    assert Rule.RESERVED_FIELD not in RULES_BY_PROTOCOL["toy"]  # the CCEB's own
