"""The conformance harness's own parts: the recorded capture and its secrets, the failure, the adapters (peer,
async, minimal), ``machine_for`` and its settings, runaway and late-talking SUTs, ``simplest`` and the fast
pattern strategies, the lazy ``ccproto.testing`` exports, and the validator's ``answer-timeout`` (V9).

The full planted-bug check lives in ``tests/test_conformance_mutations.py``; here one planted peer drives one
real failure.  Machines are sometimes driven by hand (their ``start_connection`` / ``transmit`` methods, with
``data=None``) where a deterministic conversation says more than a hypothesis run.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import ccproto.testing
import planted_cceb
from ccproto import bridge, cceb, processor
from ccproto.capture.validator import validate_capture
from ccproto.core.checker import ANSWER_TIMEOUT
from ccproto.core.convert import decode_model, encode_model
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Report, Severity
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.redact import is_secret_key
from ccproto.core.roles import Role
from ccproto.processor.models import AgentCredentials, PrepareSessionConfirm, PrepareSessionRequest
from ccproto.testing.conformance import INHERENT_HEALTH_CHECKS, MACHINES, harness_settings, machine_for, run_conformance
from ccproto.testing.harness import (
    EPOCH,
    Adapter,
    BaseAdapter,
    Capture,
    ConformanceFailure,
    PeerAdapter,
    sync_adapter,
)
from ccproto.testing.peers import ReferencePeer
from ccproto.testing.slices import reference_peer
from ccproto.testing.slices.cceb.conformance import CcebServerConformance
from ccproto.testing.slices.cceb.peers import ReferenceCcebClient
from ccproto.testing.slices.processor.conformance import ProcessorServerConformance
from ccproto.testing.strategies import FAST_PATTERNS, SIMPLEST_MATCHES, simplest

ROOT = Path(__file__).resolve().parent.parent
#: Secrets planted in what the tests send; none may ever show in a capture or a failure.
TOKEN = "tok-canary-4b1f"
PASSWORD = "pw-canary-90ce"
OTHER = "pw-canary-other-13aa"
KEY = "sk-canary-e77d"

#: Few examples, no example database (no run replays another's), no deadline (CI machines are slow).
FEW = settings(max_examples=8, database=None, deadline=None, derandomize=True)


def first_failure(run: Callable[[], Any]) -> ConformanceFailure | None:
    """The ConformanceFailure ``run`` raised (the first, if hypothesis reports several), or ``None``."""
    try:
        run()
    except ConformanceFailure as failure:
        return failure
    except BaseExceptionGroup as group:
        found = group.subgroup(ConformanceFailure)
        if found is None:
            raise
        first = found.exceptions[0]
        assert isinstance(first, ConformanceFailure)
        return first
    return None


def records_of(jsonl: str) -> list[dict[str, Any]]:
    """The records of a JSON Lines text (every line must parse to an object)."""
    assert jsonl.endswith("\n")
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


# -- 1. Capture ----------------------------------------------------------------------------------


def test_capture_records_have_the_record_members_and_jsonl_is_json_lines() -> None:
    capture = Capture("bridge", name="run")
    assert capture.conn(3) == "run-3"
    request = bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id())
    capture.message(conn="run-1", sender=Role.SERVER, now=EPOCH, text=bridge.encode(request))
    capture.message(conn="run-1", sender=Role.CLIENT, now=EPOCH + 1, text="not json at all")
    capture.message(conn="run-1", sender=Role.CLIENT, now=EPOCH + 2, text="[1, 2]")  # JSON, not an object
    capture.close(conn="run-1", sender=Role.CLIENT, now=EPOCH + 3, code=1000, reason="bye")
    capture.close(conn="run-1", sender=Role.SERVER, now=EPOCH + 4)
    records = records_of(capture.jsonl())
    assert records == capture.records
    assert len(records) == 5
    for record in records:
        assert {"ts", "conn", "from", "protocol"} <= set(record)
        assert record["protocol"] == "bridge"
        assert record["conn"] == "run-1"
        assert sum(member in record for member in ("message", "raw", "close")) == 1
    assert [r["from"] for r in records] == ["server", "client", "client", "client", "server"]
    assert [r["ts"] for r in records] == [EPOCH + n for n in range(5)]
    assert records[0]["message"] == bridge.encode_value(request)
    assert records[1]["raw"] == "not json at all"
    assert records[2]["raw"] == "[1, 2]"
    assert records[3]["close"] == {"code": 1000, "reason": "bye"}
    assert records[4]["close"] == {"reason": ""}
    # One record a line: a message holding a newline in a string stays on its line.
    capture.message(conn="run-2", sender=Role.CLIENT, now=EPOCH, text='{"a": "line\\nbreak", "b": "\u00e9\U0001f600"}')
    assert len(capture.jsonl().splitlines()) == 6
    assert records_of(capture.jsonl())[-1]["message"] == {"a": "line\nbreak", "b": "\u00e9\U0001f600"}


def test_capture_replaces_secrets_by_stable_distinct_placeholders() -> None:
    capture = Capture("cceb")
    first = cceb.Hello.new(token=TOKEN, tenant="tenant-a", session_key=KEY)
    again = cceb.Hello.new(token=TOKEN, tenant="tenant-a", session_key=KEY)
    other = cceb.Hello.new(token=OTHER, tenant="tenant-a")
    reply = cceb.HelloReply(uuid=first.uuid, session_key=KEY, resumed=True)
    for hello in (first, reply, again, other):
        capture.message(conn="c-1", sender=Role.CLIENT, now=EPOCH, text=cceb.encode(hello))
    data = [record["message"]["data"] for record in capture.records]
    token, key = data[0]["token"], data[0]["session_key"]
    assert re.fullmatch(r"secret-\d+", token)
    assert re.fullmatch(r"secret-\d+", key)
    assert token != key
    assert data[1]["session_key"] == key  # the same secret under the same name, in another message
    assert data[2]["token"] == token
    assert data[2]["session_key"] == key
    assert data[3]["token"] not in (token, key)  # a different secret: a different placeholder
    assert re.fullmatch(r"secret-\d+", data[3]["token"])
    # Non-secret members are untouched.
    assert data[0]["tenant"] == "tenant-a"
    assert capture.records[0]["message"]["uuid"] == first.uuid
    assert data[1]["resumed"] is True
    for secret in (TOKEN, KEY, OTHER):
        assert secret not in capture.jsonl()


def test_capture_hides_secrets_nested_in_original_objects_and_lists() -> None:
    capture = Capture("processor")
    base = simplest(PrepareSessionRequest)
    request = attrs.evolve(base, data=attrs.evolve(base.data, agent=AgentCredentials(id="agent-7", password=PASSWORD)))
    confirm = PrepareSessionConfirm(message="Destroy the existing session?", original=request)
    capture.message(conn="p-1", sender=Role.CLIENT, now=EPOCH, text=processor.encode(request))
    capture.message(conn="p-1", sender=Role.SERVER, now=EPOCH, text=processor.encode(confirm))
    # Vendor members: a list of objects with secrets, a secret holding a list and an object, every secret name.
    vendor = {
        "accounts": [{"password": PASSWORD, "user": "u1"}, {"password": OTHER, "user": "u2"}],
        "token": [TOKEN, {"inner": KEY}],
        "agentPassword": PASSWORD,
        "requestingAgentPassword": OTHER,
        "sessionKey": KEY,
        "plain": "visible-value",
        "count": 3,
    }
    capture.message(conn="p-1", sender=Role.CLIENT, now=EPOCH, text=json.dumps(vendor))
    request_value, confirm_value, vendor_value = (r["message"] for r in capture.records)
    placeholder = request_value["data"]["agent"]["password"]
    assert re.fullmatch(r"secret-\d+", placeholder)
    assert confirm_value["original"]["data"]["agent"]["password"] == placeholder
    assert confirm_value["original"]["data"]["agent"]["id"] == "agent-7"
    assert vendor_value["accounts"][0] == {"password": placeholder, "user": "u1"}
    other = vendor_value["accounts"][1]["password"]
    assert other != placeholder
    assert re.fullmatch(r"secret-\d+", other)
    token, inner = vendor_value["token"][0], vendor_value["token"][1]["inner"]
    assert len({placeholder, other, token, inner}) == 4
    assert vendor_value["agentPassword"] == placeholder
    assert vendor_value["requestingAgentPassword"] == other
    assert vendor_value["sessionKey"] == inner
    assert vendor_value["plain"] == "visible-value"
    assert vendor_value["count"] == 3
    assert {name for name in vendor if is_secret_key(name)} == {
        "token", "agentPassword", "requestingAgentPassword", "sessionKey",
    }
    jsonl = capture.jsonl()
    for secret in (TOKEN, PASSWORD, OTHER, KEY):
        assert secret not in jsonl


def test_capture_redacts_secrets_in_raw_text() -> None:
    capture = Capture("cceb")
    cut = '{"type": "hello", "data": {"token": "' + TOKEN + '", "tenant": "t"'  # cut short: not JSON
    capture.message(conn="c-1", sender=Role.CLIENT, now=EPOCH, text=cut)
    record = capture.records[0]
    assert "message" not in record
    assert isinstance(record["raw"], str)
    assert TOKEN not in record["raw"]
    assert '"tenant": "t"' in record["raw"]  # the rest of the text stays
    assert TOKEN not in capture.jsonl()


def test_capture_hides_a_secret_that_is_not_a_string() -> None:
    capture = Capture("cceb")
    capture.message(conn="c-1", sender=Role.CLIENT, now=EPOCH, text='{"type": "hello", "data": {"token": 987654321}}')
    assert "987654321" not in capture.jsonl()


# -- 2. ConformanceFailure -------------------------------------------------------------------------


def test_conformance_failure_text_names_protocol_role_and_replay() -> None:
    capture = '{"a":1}\n{"b":2}\n'
    failure = ConformanceFailure("it did X", protocol="processor", role=Role.CLIENT, capture=capture,
                                 code="answer-timeout", record=2)
    text = str(failure)
    assert isinstance(failure, AssertionError)
    # The rule and the record are the ones `ccproto validate` names (one judge, quirk T9).
    assert text.startswith("the processor client under test broke the protocol: it did X [answer-timeout, record 2]\n")
    assert "ccproto validate capture.jsonl" in text
    assert "2 lines" in text
    assert text.endswith(capture)
    assert failure.reason == "it did X"
    assert failure.error is None


def test_a_planted_bug_fails_with_a_replayable_capture_and_no_secret(tmp_path: Path) -> None:
    peers: list[ReferenceCcebClient] = []

    def make() -> PeerAdapter:
        peer = planted_cceb.EchoesReservedField(token=TOKEN, tenant="tenant-q")
        peers.append(peer)
        return PeerAdapter(peer)

    failure = first_failure(
        lambda: run_conformance("cceb", Role.CLIENT, make, settings=settings(FEW, max_examples=40))
    )
    assert failure is not None, "the planted echoes-reserved-field bug survived"
    text = str(failure)
    assert failure.protocol == "cceb"
    assert failure.role is Role.CLIENT
    assert "the cceb client under test broke the protocol" in text
    assert "ccproto validate" in text
    assert failure.capture in text
    assert isinstance(failure.error, ProtocolError)
    assert TOKEN not in text
    assert TOKEN not in repr(failure)
    keys = {peer.session_key for peer in peers if peer.session_key is not None}
    assert keys, "the harness gave the client a session key"
    for key in keys:  # the long-lived session keys the harness issued are secrets too
        assert key not in text
    records = records_of(failure.capture)
    assert records[0]["open"] == {}  # the capture holds the connection from its start
    assert records[1]["message"]["type"] == "hello"
    assert re.fullmatch(r"secret-\d+", records[1]["message"]["data"]["token"])
    path = tmp_path / "capture.jsonl"
    path.write_text(failure.capture, encoding="utf-8")
    report = validate_capture(path)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    assert errors, failure.capture
    assert "reserved-field" in {f.code for f in errors}


class GarbageClient:
    """A CCEB client that says hello, then sends cut-off JSON holding its password (send and receive only)."""

    def __init__(self) -> None:
        self.outbox = [cceb.encode(cceb.Hello.new(token=TOKEN, tenant="t"))]

    def send(self, text: str) -> None:
        if '"hello_reply"' in text:
            self.outbox.append('{"type": "action", "data": {"password": "' + PASSWORD + '", ')

    def receive(self) -> list[str]:
        out, self.outbox = self.outbox, []
        return out


def test_a_hand_written_misbehaving_sut_fails_without_leaking_secrets(tmp_path: Path) -> None:
    failure = first_failure(lambda: run_conformance("cceb", "client", GarbageClient, settings=FEW))
    assert failure is not None
    text = str(failure)
    assert "cceb client" in text
    for secret in (TOKEN, PASSWORD):
        assert secret not in text
        assert secret not in failure.reason
    last = records_of(failure.capture)[-1]
    assert last["from"] == "client"  # the capture ends with the offending record
    assert "raw" in last
    path = tmp_path / "capture.jsonl"
    path.write_text(failure.capture, encoding="utf-8")
    last_record = len(failure.capture.splitlines())
    assert any(f.severity is Severity.ERROR and f.record == last_record for f in validate_capture(path).findings)


# -- 3. PeerAdapter ----------------------------------------------------------------------------------


class FakePeer(ReferencePeer):
    """Answers every call with one text naming the call and the time it was given."""

    STIMULI: ClassVar[tuple[str, ...]] = ("wave", "nod")

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, float]] = []

    def _say(self, what: str, now: float) -> list[str]:
        self.calls.append((what, now))
        return [f"{what}@{now:g}"]

    def connect(self, *, now: float) -> list[str]:
        return self._say("connect", now)

    def receive(self, text: str, *, now: float) -> list[str]:
        return self._say("got " + text, now)

    def stimulate(self, name: str, *, now: float) -> list[str]:
        return self._say("did " + name, now)

    def disconnect(self, *, now: float) -> list[str]:
        return self._say("bye", now)

    def advance(self, *, now: float) -> list[str]:
        return self._say("tick", now)


def test_peer_adapter_queues_what_the_peer_sends() -> None:
    peer = FakePeer()
    adapter = PeerAdapter(peer, now=100.0)
    assert isinstance(adapter, Adapter)
    assert adapter.stimuli == frozenset({"wave", "nod"})
    assert adapter.receive() == []
    adapter.connect()
    adapter.send("hi")
    adapter.stimulate("wave")
    assert adapter.receive() == ["connect@100", "got hi@100", "did wave@100"]
    assert adapter.receive() == []  # emptied
    assert adapter.advance(5.0) is True
    assert adapter.now == 105.0
    adapter.close()
    assert adapter.receive() == ["tick@105", "bye@105"]
    assert peer.calls[-2:] == [("tick", 105.0), ("bye", 105.0)]
    assert adapter.receive() == []


def test_peer_adapter_starts_at_the_epoch_and_drives_a_real_peer() -> None:
    client = ReferenceCcebClient(token=TOKEN, tenant="t")
    adapter = PeerAdapter(client)
    assert adapter.now == EPOCH
    assert adapter.stimuli == frozenset(ReferenceCcebClient.STIMULI)
    adapter.connect()
    (hello,) = adapter.receive()
    assert json.loads(hello)["type"] == "hello"
    adapter.send(cceb.encode(cceb.HelloReply(uuid=json.loads(hello)["uuid"])))
    assert adapter.receive() == []  # the client acks notifications, not the reply
    adapter.stimulate("change-state")
    (action,) = adapter.receive()
    assert json.loads(action)["data"]["action"] == "ChangeAgentStateEvent"


def test_base_adapter_defaults() -> None:
    adapter = BaseAdapter()
    assert adapter.stimuli == frozenset()
    assert adapter.advance(10.0) is False
    adapter.connect()
    adapter.close()
    adapter.stimulate("anything")
    with pytest.raises(NotImplementedError):
        adapter.send("x")
    with pytest.raises(NotImplementedError):
        adapter.receive()


# -- 4. sync_adapter -------------------------------------------------------------------------------------


class AsyncPeer:
    """An async adapter around a peer: coroutine send/receive/close/advance, a plain connect, no stimulate."""

    def __init__(self, peer: ReferencePeer) -> None:
        self._inner = PeerAdapter(peer)
        self.stimuli = self._inner.stimuli

    def connect(self) -> None:
        self._inner.connect()

    async def send(self, text: str) -> None:
        await asyncio.sleep(0)  # a real suspension point
        self._inner.send(text)

    async def receive(self) -> list[str]:
        await asyncio.sleep(0)
        return self._inner.receive()

    async def close(self) -> None:
        self._inner.close()

    async def advance(self, seconds: float) -> bool:
        return self._inner.advance(seconds)


def run_with(runner: asyncio.Runner) -> Callable[[Awaitable[Any]], Any]:
    """``runner.run``, as ``sync_adapter`` documents it.

    Typed as ``Any`` on purpose: ``sync_adapter`` declares ``run: Callable[[Awaitable[Any]], Any]``, which
    ``asyncio.Runner.run`` (it takes a ``Coroutine``) does not satisfy under ``mypy --strict``.
    """
    run: Any = runner.run
    return run  # type: ignore[no-any-return]


def test_sync_adapter_behaves_like_the_sync_adapter() -> None:
    sync = PeerAdapter(FakePeer())
    with asyncio.Runner() as runner:
        made = sync_adapter(AsyncPeer(FakePeer()), run_with(runner))
        assert isinstance(made, Adapter)
        wrapped: Any = made
        assert wrapped.stimuli == sync.stimuli
        adapters: tuple[Any, ...] = (sync, wrapped)
        for adapter in adapters:
            adapter.connect()
            adapter.send("one")
        assert wrapped.receive() == sync.receive() == ["connect@1.8e+09", "got one@1.8e+09"]
        assert wrapped.advance(2.0) is sync.advance(2.0) is True
        wrapped.close()
        sync.close()
        assert wrapped.receive() == sync.receive()
        assert wrapped.receive() == []
        wrapped.stimulate("wave")  # absent on the async adapter: a no-op
        assert wrapped.receive() == []


def test_sync_adapter_copes_with_missing_optional_methods() -> None:
    class Bare:
        def __init__(self) -> None:
            self.sent: list[str] = []

        async def send(self, text: str) -> None:
            self.sent.append(text)

        async def receive(self) -> list[str]:
            return ["x"] if self.sent else []

    bare = Bare()
    with asyncio.Runner() as runner:
        wrapped: Any = sync_adapter(bare, run_with(runner))
        assert wrapped.stimuli == frozenset()
        wrapped.connect()
        wrapped.close()
        wrapped.stimulate("wave")
        assert wrapped.advance(1.0) is False
        assert wrapped.receive() == []
        wrapped.send("hello")
        assert bare.sent == ["hello"]
        assert wrapped.receive() == ["x"]


def test_run_conformance_passes_a_reference_peer_behind_an_async_adapter() -> None:
    made: list[AsyncPeer] = []

    def make(runner: asyncio.Runner) -> Adapter:
        adapter = AsyncPeer(reference_peer("cceb", "server"))
        made.append(adapter)
        return sync_adapter(adapter, run_with(runner))

    with asyncio.Runner() as runner:
        run_conformance("cceb", "server", lambda: make(runner), settings=FEW)
    assert len(made) >= FEW.max_examples
    assert any(adapter._inner.now > EPOCH for adapter in made)  # advance (a coroutine) reached the peer


# -- 5. machine_for and harness_settings -----------------------------------------------------------------


def test_machine_for_an_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: bridge, cceb, processor") as raised:
        machine_for("sip", "server", BaseAdapter)
    assert "'sip'" in str(raised.value)
    with pytest.raises(ValueError, match="observer"):
        machine_for("cceb", "observer", BaseAdapter)


@pytest.mark.parametrize("role", ["server", Role.SERVER])
def test_machine_for_binds_the_factory_and_keeps_the_base_name(role: Role | str) -> None:
    made: list[PeerAdapter] = []

    def make() -> PeerAdapter:
        made.append(PeerAdapter(reference_peer("processor", "server")))
        return made[-1]

    limits = Limits(request_timeout=7.0)
    bound = machine_for("processor", role, make, limits=limits)
    assert bound is not ProcessorServerConformance
    assert issubclass(bound, ProcessorServerConformance)
    assert bound.__name__ == bound.__qualname__ == "ProcessorServerConformance"
    assert bound.limits is limits
    assert bound.sut_role is Role.SERVER
    assert bound.protocol == "processor"
    machine = bound()
    assert machine.adapter is made[0]
    assert bound().adapter is made[1]  # one adapter per machine (per example)
    # The base stays unbound: binding never leaks into MACHINES.
    assert MACHINES[("processor", Role.SERVER)] is ProcessorServerConformance
    assert "make_adapter" not in ProcessorServerConformance.__dict__


def test_machine_for_covers_every_protocol_and_role() -> None:
    for (protocol, role), base in MACHINES.items():
        bound = machine_for(protocol, role.value, BaseAdapter)
        assert issubclass(bound, base)
        assert bound.__name__ == base.__name__
        assert bound.protocol == protocol
        assert bound.sut_role is role
    assert machine_for("cceb", Role.SERVER, BaseAdapter).__mro__[1] is CcebServerConformance


def test_harness_settings_keep_the_parents_and_add_the_inherent_health_checks() -> None:
    parent = settings(
        max_examples=17, derandomize=True, database=None, suppress_health_check=[HealthCheck.filter_too_much]
    )
    result = harness_settings(parent)
    assert result.max_examples == 17
    assert result.derandomize is True
    assert result.database is None
    assert set(result.suppress_health_check) == {HealthCheck.filter_too_much, *INHERENT_HEALTH_CHECKS}
    assert {HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example} <= set(
        result.suppress_health_check
    )
    # No settings: the current profile's.
    default = harness_settings()
    assert default.max_examples == settings().max_examples
    assert set(INHERENT_HEALTH_CHECKS) <= set(default.suppress_health_check)


# -- 6. a minimal adapter (send and receive only) ---------------------------------------------------------


class Minimal:
    """An adapter with only ``send`` and ``receive``, wrapping a reference peer it connects itself."""

    def __init__(self, protocol: str, role: str) -> None:
        self.peer = reference_peer(protocol, role)
        self.outbox = list(self.peer.connect(now=EPOCH))
        self.received = 0

    def send(self, text: str) -> None:
        self.received += 1
        self.outbox.extend(self.peer.receive(text, now=EPOCH))

    def receive(self) -> list[str]:
        out, self.outbox = self.outbox, []
        return out


@pytest.mark.parametrize(("protocol", "role"), [("cceb", "server"), ("processor", "server"), ("bridge", "server")])
def test_a_minimal_adapter_passes_against_a_reference_peer(protocol: str, role: str) -> None:
    made: list[Minimal] = []

    def make() -> Minimal:
        made.append(Minimal(protocol, role))
        return made[-1]

    for name in ("connect", "close", "advance", "stimulate", "stimuli"):
        assert not hasattr(Minimal, name)
    run_conformance(protocol, role, make, settings=FEW)
    assert len(made) >= FEW.max_examples
    assert any(adapter.received for adapter in made)  # the examples talked to their peers


@pytest.mark.parametrize(("protocol", "role"), [("processor", "client"), ("bridge", "client")])
def test_a_minimal_adapter_for_a_client_role(protocol: str, role: str) -> None:
    run_conformance(protocol, role, lambda: Minimal(protocol, role), settings=settings(FEW, max_examples=30))


# -- 7. runaway and late SUTs ------------------------------------------------------------------------------------


class FlappingBridgeClient(PeerAdapter):
    """A bridge client that, once it answered the first request, reports a status change on every receive()."""

    def __init__(self) -> None:
        super().__init__(reference_peer("bridge", "client"))
        self.flip = False
        self.started = False

    def send(self, text: str) -> None:
        super().send(text)
        self.started = True

    def receive(self) -> list[str]:
        out = super().receive()
        if self.started and not out:
            self.flip = not self.flip
            status = bridge.ServerStatus.PAUSING_SERVICE if self.flip else bridge.ServerStatus.IN_SERVICE
            out.append(bridge.encode(bridge.ServerStatusChanged(status=status)))
        return out


def test_a_sut_reporting_its_status_on_every_read_is_not_a_fault() -> None:
    # Status reports may come at any time (B11) and nothing bounds their rate: the harness takes what came and
    # goes on instead of waiting for a silence that never comes (issue 19).
    machine = machine_for("bridge", "client", FlappingBridgeClient)()
    machine.start_connection(None)
    request = bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id())
    machine.transmit(request, None)
    machine.transmit(bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id()), None)
    assert not machine.failed
    statuses = [r for r in records_of(machine.capture.jsonl()) if r.get("message", {}).get("header", {}).get(
        "type") == "cti.event"]
    assert len(statuses) >= 2  # each step took the flaps that had come, checked them, and moved on


class RunawayProcessorClient(PeerAdapter):
    """A processor client that sends one more getCapabilities request each time it is read: every answer of the
    harness gets another request, so the exchange never ends."""

    def __init__(self) -> None:
        super().__init__(reference_peer("processor", "client"))

    def receive(self) -> list[str]:
        return super().receive() + self.peer.stimulate("get-capabilities", now=self.now)


def test_a_sut_that_keeps_sending_fails_clearly() -> None:
    machine = machine_for("processor", "client", RunawayProcessorClient)()
    with pytest.raises(ConformanceFailure, match="kept sending") as raised:
        machine.start_connection(None)
    failure = raised.value
    assert failure.protocol == "processor"
    assert failure.role is Role.CLIENT
    records = records_of(failure.capture)
    assert len(records) > 1000  # every round is recorded: the capture shows what it kept sending
    assert machine.failed


def test_run_conformance_reports_a_sut_that_keeps_sending() -> None:
    quick = settings(FEW, max_examples=1, phases=[Phase.generate])  # no shrinking of a 1,000-record capture
    failure = first_failure(lambda: run_conformance("processor", "client", RunawayProcessorClient, settings=quick))
    assert failure is not None
    assert "kept sending" in failure.reason


class ChattyCceb(PeerAdapter):
    """A CCEB that, once the hello is answered, sends one more presence notification on every receive()."""

    def __init__(self) -> None:
        super().__init__(reference_peer("cceb", "server"))
        self.greeted = False

    def send(self, text: str) -> None:
        super().send(text)
        self.greeted = True

    def close(self) -> None:
        super().close()
        self.greeted = False  # the connection is gone, and its stream with it

    def receive(self) -> list[str]:
        out = super().receive()
        if self.greeted:
            out.append(cceb.encode(cceb.Presence(uuid=cceb.new_uuid(), data={"state": "Available"})))
        return out


def test_a_sut_streaming_notifications_the_harness_acks_is_not_a_fault() -> None:
    machine = machine_for("cceb", "server", ChattyCceb)()
    machine.start_connection(None)
    machine.transmit(cceb.Hello.new(token=TOKEN, tenant="t"), None)
    assert not machine.failed
    assert first_failure(lambda: run_conformance("cceb", "server", ChattyCceb, settings=FEW)) is None


class TalksAfterClose(PeerAdapter):
    """A CCEB that sends a notification after the harness closed the connection."""

    def __init__(self) -> None:
        super().__init__(reference_peer("cceb", "server"))

    def close(self) -> None:
        super().close()
        self._outbox.append(cceb.encode(cceb.Presence(uuid=cceb.new_uuid(), data={"state": "Away"})))


def test_a_message_after_the_harness_closed_is_reported() -> None:
    machine = machine_for("cceb", "server", TalksAfterClose)()
    machine.start_connection(None)
    machine.transmit(cceb.Hello.new(token=TOKEN, tenant="t"), None)
    # Named as `ccproto validate` names it: a notification on a closed connection.
    with pytest.raises(ConformanceFailure, match="the connection is closed") as raised:
        machine.end_connection()  # the harness listens once more after closing
    last = records_of(raised.value.capture)[-1]
    assert last["message"]["type"] == "presence"
    assert last["from"] == "server"
    assert TOKEN not in str(raised.value)
    # Through run_conformance too (the harness reconnects on its own).
    assert first_failure(lambda: run_conformance("cceb", "server", TalksAfterClose, settings=FEW)) is not None


def test_a_message_after_close_is_blamed_on_the_closed_connection() -> None:
    machine = machine_for("cceb", "server", TalksAfterClose)()
    machine.start_connection(None)
    machine.transmit(cceb.Hello.new(token=TOKEN, tenant="t"), None)

    def close_and_reconnect() -> None:
        machine.end_connection()
        machine.start_connection(None)

    with pytest.raises(ConformanceFailure, match="the connection is closed") as raised:
        close_and_reconnect()
    assert records_of(raised.value.capture)[-1]["conn"] == machine.capture.conn(1)


def test_a_message_after_the_final_close_is_reported() -> None:
    machine = machine_for("cceb", "server", TalksAfterClose)()
    machine.start_connection(None)
    machine.transmit(cceb.Hello.new(token=TOKEN, tenant="t"), None)
    with pytest.raises(ConformanceFailure):
        machine.teardown()


# -- 8. simplest, FAST_PATTERNS, SIMPLEST_MATCHES ---------------------------------------------------------------

Codec = tuple[Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any]]
CODECS: dict[str, Codec] = {
    "bridge": (bridge.encode_value, lambda value: bridge.codec.decode_value(value).message),
    "processor": (processor.encode_value, lambda value: processor.codec.decode_value(value).message),
    "cceb": (cceb.encode_value, lambda value: cceb.codec.decode_value(value).message),
}
CLASSES: list[tuple[str, type[Model]]] = [
    *(("bridge", cls) for cls in bridge.ALL_MESSAGE_CLASSES),
    *(("processor", cls) for cls in processor.models.SCHEMA_CLASSES if cls is not processor.ServiceInformation),
    *(("cceb", cls) for cls in cceb.REGISTRY.message_classes() if cls is not cceb.Action),
]


@pytest.mark.parametrize(("protocol", "cls"), CLASSES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_simplest_instance_encodes_and_round_trips(protocol: str, cls: type[Model]) -> None:
    encode_value, decode_value = CODECS[protocol]
    message = simplest(cls)
    assert type(message) is cls
    value = encode_value(message)
    assert decode_value(json.loads(json.dumps(value))) == message


def test_the_classes_cover_every_protocol() -> None:
    assert len(CLASSES) == (
        len(bridge.ALL_MESSAGE_CLASSES) + len(processor.models.SCHEMA_CLASSES) - 1
        + len(cceb.REGISTRY.message_classes()) - 1
    )
    assert {protocol for protocol, _ in CLASSES} == set(CODECS)


def test_simplest_service_information_round_trips_through_the_model_layer() -> None:
    # ServiceInformation has a schema but is not a message: the processor codec refuses it by design.
    info = simplest(processor.ServiceInformation)
    with pytest.raises(ProtocolError, match="not a declared"):
        processor.encode_value(info)
    assert decode_model(encode_model(info), processor.ServiceInformation) == info


def test_simplest_action_names_an_unsupported_action() -> None:
    # The simplest name the action pattern allows is "A": valid on the wire, but not one of the supported actions,
    # so it encodes and a decoder refuses it.  The harness therefore never sends simplest(Action) as is.
    action = simplest(cceb.Action)
    assert action.action == SIMPLEST_MATCHES[cceb.envelope.ACTION_NAME_PATTERN] == "A"
    assert action.action not in cceb.REGISTRY.actions()
    value = cceb.encode_value(action)
    with pytest.raises(ProtocolError, match="not a supported action"):
        cceb.codec.decode_value(value)
    supported = attrs.evolve(action, action=cceb.REGISTRY.actions()[0])
    assert cceb.codec.decode_value(cceb.encode_value(supported)).message == supported


@pytest.mark.parametrize("pattern", sorted(SIMPLEST_MATCHES))
def test_simplest_matches_match_their_pattern(pattern: str) -> None:
    assert re.fullmatch(pattern, SIMPLEST_MATCHES[pattern])


def test_every_fast_pattern_has_a_simplest_match() -> None:
    assert set(SIMPLEST_MATCHES) == set(FAST_PATTERNS)


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data())
def test_fast_pattern_strategies_only_produce_matches(data: st.DataObject) -> None:
    pattern = data.draw(st.sampled_from(sorted(FAST_PATTERNS)), label="pattern")
    value = data.draw(FAST_PATTERNS[pattern], label="value")
    assert isinstance(value, str)
    assert re.fullmatch(pattern, value), (pattern, value)


# -- 9. lazy exports -----------------------------------------------------------------------------------------------


def test_every_lazy_export_resolves() -> None:
    exports: dict[str, str] = ccproto.testing._EXPORTS
    assert ccproto.testing.__all__ == sorted(exports)
    for name in ccproto.testing.__all__:
        # Each name is the defining module's object itself, not a copy or a stand-in.
        assert getattr(ccproto.testing, name) is getattr(importlib.import_module(exports[name]), name), name
    assert ccproto.testing.PeerAdapter is PeerAdapter
    assert ccproto.testing.run_conformance is run_conformance
    assert ccproto.testing.simplest is simplest


def test_mutations_is_always_the_module() -> None:
    # The package does not export a function named like its submodule: whatever was imported first,
    # ``ccproto.testing.mutations`` is the module; a protocol's strategy is its slice's (issue 23).
    script = """
from ccproto.testing import cceb_mutations
from ccproto.testing import mutations
import ccproto.testing.mutations as module
from ccproto.testing.slices.cceb import mutations as own
print("MODULE" if mutations is module else "OTHER", cceb_mutations is own.cceb_mutations)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MODULE", "True"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        ccproto.testing.no_such_name  # noqa: B018
    assert not hasattr(ccproto.testing, "ConformanceMachinery")


def test_without_hypothesis_the_plugin_imports_and_names_say_which_extra() -> None:
    script = """
import sys
sys.modules["hypothesis"] = None  # as if it were not installed
import ccproto.testing.pytest_plugin
import ccproto.testing
assert callable(ccproto.testing.pytest_plugin.conformance_test)
try:
    ccproto.testing.from_model
except ImportError as exc:
    print("IMPORT-ERROR:", exc)
else:
    print("NO ERROR")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "IMPORT-ERROR:" in result.stdout
    assert "ccproto[testing]" in result.stdout


# -- 10. the validator's answer-timeout (V9) ------------------------------------------------------------------------

T0 = 1_800_000_000.0


def record(conn: str, sender: str, value: dict[str, Any], ts: float | None, protocol: str) -> dict[str, Any]:
    """One JSON Lines record (``ts`` omitted when ``None``)."""
    out: dict[str, Any] = {"conn": conn, "from": sender, "protocol": protocol, "message": value}
    if ts is not None:
        out["ts"] = ts
    return out


def timeouts(records: list[dict[str, Any]], **options: Any) -> list[Finding]:
    """The ``answer-timeout`` findings of an in-memory capture."""
    report: Report = validate_capture(records, **options)
    return [f for f in report.findings if f.code == ANSWER_TIMEOUT]


def status_request() -> dict[str, Any]:
    """A serverstatus request's JSON value (the bridge's first message)."""
    return bridge.encode_value(bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id()))


def status_report() -> dict[str, Any]:
    """The client's status report (any later message on the connection)."""
    return bridge.encode_value(bridge.ServerStatusChanged(status=bridge.ServerStatus.IN_SERVICE))


def test_an_unanswered_bridge_request_past_the_timeout_is_an_error_on_its_record() -> None:
    request = status_request()
    found = timeouts([
        record("a", "server", request, T0, "bridge"), record("a", "client", status_report(), T0 + 31, "bridge"),
    ])
    assert len(found) == 1
    (finding,) = found
    assert finding.severity is Severity.ERROR
    assert finding.record == 1
    assert finding.related == (2,)
    assert finding.conn == "a"
    assert request["header"]["requestId"] in finding.message


def test_a_late_answer_shows_the_timeout_too() -> None:
    request = bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id())
    answer = bridge.encode_value(bridge.success_response(request))
    found = timeouts([
        record("a", "server", bridge.encode_value(request), T0, "bridge"),
        record("a", "client", answer, T0 + 45, "bridge"),
    ])
    assert [(f.record, f.related) for f in found] == [(1, (2,))]


def test_an_answer_in_time_gives_no_timeout() -> None:
    request = bridge.ServerStatusRequest(target="a.CONTROL", request_id=bridge.new_request_id())
    records = [
        record("a", "server", bridge.encode_value(request), T0, "bridge"),
        record("a", "client", bridge.encode_value(bridge.success_response(request)), T0 + 29, "bridge"),
        record("a", "client", status_report(), T0 + 500, "bridge"),
    ]
    assert timeouts(records) == []
    assert not [f for f in validate_capture(records).findings if f.severity is Severity.ERROR]


def test_a_later_record_on_another_connection_does_not_count() -> None:
    records = [
        record("a", "server", status_request(), T0, "bridge"),
        record("b", "server", status_request(), T0 + 100, "bridge"),
        record("b", "client", status_report(), T0 + 101, "bridge"),
    ]
    assert timeouts(records) == []
    # Each request is only a warning: the capture may have been cut.
    assert {f.code for f in validate_capture(records).findings} == {"unanswered-request"}


@pytest.mark.parametrize(("first", "later"), [(None, None), (T0, None), (None, T0 + 100)])
def test_records_without_ts_never_cause_a_timeout(first: float | None, later: float | None) -> None:
    records = [
        record("a", "server", status_request(), first, "bridge"),
        record("a", "client", status_report(), later, "bridge"),
    ]
    assert timeouts(records) == []


def test_the_timeout_follows_the_limits() -> None:
    records = [
        record("a", "server", status_request(), T0, "bridge"),
        record("a", "client", status_report(), T0 + 6, "bridge"),
    ]
    assert timeouts(records) == []
    assert len(timeouts(records, limits=Limits(request_timeout=5.0))) == 1


def test_a_close_record_later_proves_the_wait_expired() -> None:
    # What the harness records when it gives up waiting (demand_answers).
    records = [
        record("a", "server", status_request(), T0, "bridge"),
        {"conn": "a", "from": "client", "protocol": "bridge", "ts": T0 + 31, "close": {"code": 1000, "reason": ""}},
    ]
    assert [(f.record, f.related) for f in timeouts(records)] == [(1, (2,))]


def cceb_opening(conn: str) -> list[dict[str, Any]]:
    """A hello and its reply."""
    hello = cceb.Hello.new(token=TOKEN, tenant="t")
    return [
        record(conn, "client", cceb.encode_value(hello), T0, "cceb"),
        record(conn, "server", cceb.encode_value(cceb.HelloReply(uuid=hello.uuid)), T0 + 0.5, "cceb"),
    ]


def test_an_unacked_cceb_action_past_the_timeout_is_an_error() -> None:
    action = cceb.Action.new("ChangeAgentStateEvent", {"state": "Available"})
    records = [
        *cceb_opening("c"),
        record("c", "client", cceb.encode_value(action), T0 + 1, "cceb"),
        record("c", "client", cceb.encode_value(cceb.Action.new("ChangeAgentStateEvent", {})), T0 + 40, "cceb"),
    ]
    found = timeouts(records)
    assert [(f.record, f.related, f.severity) for f in found] == [(3, (4,), Severity.ERROR)]
    # Acked in time: nothing.
    acked = [*records[:3], record("c", "server", cceb.encode_value(cceb.Ack.of(action)), T0 + 2, "cceb"), records[3]]
    assert timeouts(acked) == []  # the second action has no later record: at most a warning (a cut capture)


def test_a_processor_request_never_gets_a_timeout() -> None:
    # Documented exception: processor answers match requests by position, not by an id the validator could expire.
    records = [
        record("p", "client", processor.encode_value(processor.GetCapabilitiesRequest()), T0, "processor"),
        record("p", "client", processor.encode_value(processor.GetCapabilitiesRequest()), T0 + 100, "processor"),
        record("p", "client", processor.encode_value(processor.GetCapabilitiesRequest()), T0 + 1000, "processor"),
    ]
    assert timeouts(records) == []
    assert {f.code for f in validate_capture(records).findings} == {"unanswered-request"}


def test_quirk_v9_is_documented() -> None:
    quirks = (ROOT / "docs" / "quirks.md").read_text(encoding="utf-8")
    assert re.search(r"^\| V9 \|", quirks, re.MULTILINE)
    assert ANSWER_TIMEOUT in quirks
