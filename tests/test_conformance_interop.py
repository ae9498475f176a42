"""Implementations nobody here wrote (issue 19): what a JavaScript server writes back, and servers that never fall
silent, are legal behaviour and must pass.

* Numbers (docs/quirks.md N1, N2): where a protocol compares JSON a peer wrote back, numbers compare as IEEE 754
  doubles (``1.0`` is ``1``, ``3204925966965737984`` is ``3204925966965738000``); the strategies draw
  interoperable numbers unless a test opts in to exact ones.
* A peer that passes everything it writes through ``JSON.parse`` / ``JSON.stringify`` passes the harness, in
  every role.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import threading
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import Phase, find, given, settings

import planted_processor
from ccproto import cceb
from ccproto.capture import Severity
from ccproto.capture.validator import validate_capture
from ccproto.cceb.connection import ACKED_REFUSED_ACTION
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.core.jsonio import first_difference, json_equal, same_number
from ccproto.core.roles import Role
from ccproto.processor.models import GetCapabilitiesRequest
from ccproto.testing.conformance import run_conformance
from ccproto.testing.harness import ConformanceFailure, PeerAdapter
from ccproto.testing.live import LiveAdapter, serve_peer
from ccproto.testing.slices import reference_peer
from ccproto.testing.slices.cceb.peers import ReferenceCceb
from ccproto.testing.slices.processor.peers import ReferenceProcessor
from ccproto.testing.strategies import MAX_SAFE_INTEGER, Numbers, from_model, json_floats, json_integers, json_values
from test_capture_processor import check, client, errors, failure, req, server

#: What a CCEB must refuse in an action's details.
RESERVED = frozenset((*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES))

#: Few examples, no example database, no deadline (CI machines are slow).
FEW = settings(max_examples=12, database=None, deadline=None, derandomize=True)


# -- what JSON.parse then JSON.stringify write -------------------------------------------------------------


def _js_number(value: float) -> int | float:
    """A double as ``JSON.stringify`` writes it: integral values below 1e21 without a fraction, -0 as 0."""
    if value == 0:
        return 0
    if value.is_integer() and abs(value) < 1e21:
        # The shortest digits that read back as this double, padded with zeros: what JavaScript prints.
        return int(Decimal(repr(value)))
    return value


def _js_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _js_number(float(value))
    if isinstance(value, list):
        return [_js_value(item) for item in value]
    return {key: _js_value(item) for key, item in value.items()}


def js_round_trip(text: str) -> str:
    """``JSON.stringify(JSON.parse(text))``: every number read as a double, written as JavaScript writes it."""
    return json.dumps(_js_value(json.loads(text)), ensure_ascii=False, separators=(",", ":"))


def test_js_round_trip_writes_what_javascript_writes() -> None:
    text = '{"a":1.0,"b":3204925966965737984,"c":-0.0,"d":0.5,"e":[1e300,2e0],"f":"1.0","g":true}'
    assert json.loads(js_round_trip(text)) == {
        "a": 1, "b": 3204925966965738000, "c": 0, "d": 0.5, "e": [1e300, 2], "f": "1.0", "g": True,
    }
    assert '"b":3204925966965738000' in js_round_trip(text)  # the digits JavaScript prints


class JavaScriptPeer(PeerAdapter):
    """A reference peer whose every message goes through ``JSON.parse`` / ``JSON.stringify`` on its way out."""

    def receive(self) -> list[str]:
        return [js_round_trip(text) for text in super().receive()]


# -- 1. the rule ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    (1, 1.0), (0, -0.0), (-0.0, 0.0), (3204925966965737984, 3204925966965738000), (2**53 + 1, 2**53),
    (10**400, 10**400), (1e300, 10**300),
])
def test_the_same_number(a: int | float, b: int | float) -> None:
    assert same_number(a, b)
    assert same_number(b, a)
    assert json_equal({"x": [a]}, {"x": [b]}, numbers_by_value=True)


@pytest.mark.parametrize(("a", "b"), [
    (1, 2), (1, 1.5), (0.1, 0.1000001), (10**400, 10**400 + 1), (2**53, 2**53 + 2), (10**400, 1e300),
])
def test_not_the_same_number(a: int | float, b: int | float) -> None:
    assert not same_number(a, b)
    assert first_difference({"x": [a]}, {"x": [b]}, numbers_by_value=True) == ("x", 0)


@pytest.mark.parametrize(("a", "b"), [(True, 1), (False, 0), (1, "1"), (None, 0), ([1], 1), ({}, [])])
def test_other_types_never_equal_a_number(a: Any, b: Any) -> None:
    assert first_difference(a, b, numbers_by_value=True) == ()


def test_the_lossless_rule_stays_exact() -> None:
    assert first_difference(1, 1.0) == ()
    assert first_difference({"x": 3204925966965737984}, {"x": 3204925966965738000}) == ("x",)


def test_an_echoed_original_compares_numbers_by_value() -> None:
    # The minimal case: getCapabilities with data {"x": 1.0} answered by a failure whose original has 1.
    request = req("getCapabilities", {"x": 1.0})
    echoed = req("getCapabilities", {"x": 1})
    assert not errors(check([client(request), server(failure(echoed))]))

    big = req("getCapabilities", {"x": 3204925966965737984, "y": -0.0})
    js = json.loads(js_round_trip(json.dumps(big)))
    assert js["data"] == {"x": 3204925966965738000, "y": 0}
    assert not errors(check([client(big), server(failure(js))]))


def test_an_echoed_original_with_another_number_is_still_a_mismatch() -> None:
    request = req("getCapabilities", {"x": 1.0})
    other = dict(request, data={"x": 2})
    truth = dict(request, data={"x": True})
    for wrong in (other, truth):
        report = check([client(request), server(failure(wrong))])
        assert errors(report) == {(2, "sequence", "original-mismatch")}
        [finding] = [f for f in report.findings if f.severity is Severity.ERROR]
        assert finding.path == "/original/data/x"


# -- 2. the strategies ---------------------------------------------------------------------------------------


def _numbers_in(value: Any) -> list[int | float]:
    found: list[int | float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            found.append(item)
    return found


def _interoperable(number: int | float) -> bool:
    if isinstance(number, int):
        return abs(number) <= MAX_SAFE_INTEGER
    return math.isfinite(number) and not (number == 0 and math.copysign(1.0, number) < 0)


@settings(max_examples=200, deadline=None)
@given(json_values())
def test_json_values_are_interoperable_by_default(value: Any) -> None:
    assert all(_interoperable(number) for number in _numbers_in(value))


@settings(max_examples=100, deadline=None)
@given(from_model(GetCapabilitiesRequest))
def test_messages_are_interoperable_by_default(message: Any) -> None:
    from ccproto.processor import codec

    assert all(_interoperable(number) for number in _numbers_in(codec.encode_value(message)))


def test_exact_numbers_are_drawn_only_when_asked() -> None:
    # No example database: what an earlier run found must not make this pass.
    big = find(json_integers(Numbers.EXACT), lambda v: abs(v) > MAX_SAFE_INTEGER,
               settings=settings(max_examples=2000, database=None))
    assert abs(big) > MAX_SAFE_INTEGER
    zero = find(json_floats(Numbers.EXACT), lambda v: v == 0 and math.copysign(1.0, v) < 0,
                settings=settings(max_examples=2000, database=None))
    assert str(zero) == "-0.0"

    @settings(max_examples=300, database=None, deadline=None)
    @given(json_floats(), json_integers())
    def never(number: float, integer: int) -> None:
        assert _interoperable(number)
        assert _interoperable(integer)

    never()


# -- 3. a JavaScript implementation passes -------------------------------------------------------------------


@pytest.mark.parametrize(("protocol", "role"), [
    ("processor", "server"), ("processor", "client"), ("cceb", "server"), ("cceb", "client"),
    ("bridge", "server"), ("bridge", "client"),
])
def test_a_peer_that_writes_through_json_parse_and_stringify_passes(protocol: str, role: str) -> None:
    made: list[JavaScriptPeer] = []

    def make() -> JavaScriptPeer:
        made.append(JavaScriptPeer(reference_peer(protocol, role)))
        return made[-1]

    run_conformance(protocol, Role(role), make, settings=FEW)
    assert len(made) >= FEW.max_examples


def test_exact_numbers_against_a_javascript_processor_still_pass_within_a_double() -> None:
    # Big integers and -0.0 echoed as JavaScript writes them are the same numbers (N1): even EXACT draws pass.
    run_conformance("processor", "server", lambda: JavaScriptPeer(reference_peer("processor", "server")),
                    settings=FEW, numbers=Numbers.EXACT)



# -- 4. a server that never falls silent ---------------------------------------------------------------------


class ChattyProcessor(PeerAdapter):
    """A processor that sends a team-status event for every running report each time it is read: never silent."""

    def __init__(self) -> None:
        super().__init__(reference_peer("processor", "server"))
        self.streamed = 0

    def receive(self) -> list[str]:
        events = self.peer.stimulate("team-change", now=self.now)
        self.streamed += len(events)
        return super().receive() + events


def test_a_server_streaming_events_while_reports_run_passes() -> None:
    made: list[ChattyProcessor] = []

    def make() -> ChattyProcessor:
        made.append(ChattyProcessor())
        return made[-1]

    run_conformance("processor", "server", make, settings=settings(FEW, max_examples=30))
    assert max(adapter.streamed for adapter in made) >= 10  # reports ran, and the events kept coming


def test_a_stream_of_events_does_not_hide_a_missing_answer() -> None:
    class Mute(ChattyProcessor):
        """Streams events, and never answers getCapabilities."""

        def send(self, text: str) -> None:
            if '"getCapabilities"' not in text:
                super().send(text)

    failures = []
    try:
        run_conformance("processor", "server", Mute, settings=settings(FEW, max_examples=30))
    except Exception as exc:
        failures.append(exc)
    [failure] = failures
    assert "no answer within request_timeout" in str(failure)
    assert "getCapabilities" in str(failure)


# -- 5. one judge: the live report names the rule validate names -------------------------------------------


class AcksRefusedActions(ReferenceCceb):
    """A CCEB that acks the actions it must refuse (reserved fields in ``action_details``)."""

    def receive(self, text: str, *, now: float) -> list[str]:
        replies = super().receive(text, now=now)
        value = json.loads(text)
        details = value.get("data", {}).get("action_details") if isinstance(value, dict) else None
        if value.get("type") == "action" and isinstance(details, dict) and set(details) & RESERVED:
            replies.append(cceb.encode(cceb.Ack(uuid=value["uuid"])))
        return replies


def test_acking_a_refused_action_is_named_as_validate_names_it(tmp_path: Any) -> None:
    # The case: the live run said "ack of no action in flight (unknown uuid)", validate the real fault.
    failures: list[ConformanceFailure] = []
    try:
        run_conformance("cceb", "server", lambda: PeerAdapter(AcksRefusedActions()),
                        settings=settings(FEW, max_examples=40))
    except ConformanceFailure as failure:
        failures.append(failure)
    [failure] = failures
    assert failure.code == ACKED_REFUSED_ACTION
    capture = tmp_path / "capture.jsonl"
    capture.write_text(failure.capture, encoding="utf-8")
    report = validate_capture(capture)
    named = {f.code for f in report.findings if f.severity is Severity.ERROR and f.record == failure.record}
    assert named == {ACKED_REFUSED_ACTION}
    assert f"[{ACKED_REFUSED_ACTION}, record {failure.record}]" in str(failure)


# -- 6. live: a processor streaming team-status events every 50 ms -------------------------------------------

#: How often the live processor below sends a team-status event for each running report (seconds).
STREAM_EVERY = 0.05


class StreamingProcessor(ReferenceProcessor):
    """The reference processor, plus a team-status event per running report every ``STREAM_EVERY`` seconds."""

    streamed: ClassVar[list[int]] = [0]

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def advance(self, *, now: float) -> list[str]:
        texts = super().advance(now=now)
        if now - self._last >= STREAM_EVERY:
            self._last = now
            events = self.stimulate("team-change", now=now)
            type(self).streamed[0] += len(events)
            texts.extend(events)
        return texts


class ServedProcessor:
    """``StreamingProcessor`` served over WebSockets on an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), "the streaming processor did not start"

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        # The served loop tells the peer the time whenever the link is quiet for a tick: a short tick streams.
        server = await serve_peer("processor", StreamingProcessor, "127.0.0.1", 0, tick=STREAM_EVERY / 2)
        port = next(iter(getattr(server, "sockets", ()))).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            await asyncio.wait_for(server.wait_closed(), 10)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def test_a_live_server_streaming_events_every_50_ms_passes() -> None:
    pytest.importorskip("websockets")
    served = ServedProcessor()
    StreamingProcessor.streamed[0] = 0
    try:
        live = settings(FEW, max_examples=10, phases=[Phase.explicit, Phase.generate])
        run_conformance("processor", "server", LiveAdapter.factory(served.url), settings=live)
    finally:
        served.stop()
    assert StreamingProcessor.streamed[0] >= 5  # reports ran, and the stream really flowed while they did


# -- 7. what the SUT streams is taken out of a failure's capture where the verdict does not need it ---------


class ChattyEventAfterEnd(PeerAdapter):
    """The planted bug ``event-after-end`` (a report that keeps running after its end), streaming a team-status
    event per running report on every read: shrinking cannot remove those events, the trimming can."""

    def __init__(self) -> None:
        super().__init__(planted_processor.EventAfterEnd())

    def receive(self) -> list[str]:
        return super().receive() + self.peer.stimulate("team-change", now=self.now)


def _sut_events(capture: str) -> int:
    records = [json.loads(line) for line in capture.splitlines()]
    return sum(1 for r in records if r.get("from") == "server" and "name" in r.get("message", {}))


def test_a_streaming_servers_failure_keeps_only_the_events_the_verdict_needs(tmp_path: Any) -> None:
    failures: list[ConformanceFailure] = []
    try:
        run_conformance("processor", "server", ChattyEventAfterEnd, settings=settings(FEW, max_examples=60))
    except ConformanceFailure as failure:
        failures.append(failure)
    [failure] = failures
    assert failure.code == "report-not-active"
    # The event after the end is the last record; the events the report sent while running are gone but the
    # one its begin needs (the team's members), if any.
    assert _sut_events(failure.capture) <= 2, failure.capture
    capture = tmp_path / "capture.jsonl"
    capture.write_text(failure.capture, encoding="utf-8")
    report = validate_capture(capture)
    errors = {(f.record, f.code) for f in report.findings if f.severity is Severity.ERROR}
    assert errors == {(failure.record, "report-not-active")}
    assert failure.record == len(failure.capture.splitlines())


# -- 8. the emulation of JSON.parse / JSON.stringify against the real thing (Node.js, where installed) --------

_NODE_ROUND_TRIP = (
    "const lines = require('fs').readFileSync(0, 'utf8').split('\\n').filter(Boolean);"
    "process.stdout.write(lines.map((l) => JSON.stringify(JSON.parse(l))).join('\\n'));"
)


def test_the_emulation_writes_what_node_writes() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the emulation is checked against it where it is")
    texts = [json.dumps(value, ensure_ascii=False) for value in (
        {"a": 1.0, "b": 3204925966965737984, "c": -0.0, "d": [0.5, 1e300, 2e-7, 1e21, 123456789012345678901]},
        {"x": [2**53 + 1, -(2**63), 0.1, 5e-324, 1.7976931348623157e308, 100.0, 1e20]},
    )]
    # And drawn ones: every JSON value the EXACT strategies make (big integers and -0.0 included).
    draws: list[str] = []

    @settings(max_examples=200, database=None, deadline=None, derandomize=True)
    @given(json_values(numbers=Numbers.EXACT))
    def collect(value: Any) -> None:
        draws.append(json.dumps({"v": value}, ensure_ascii=False))

    collect()
    texts += draws
    done = subprocess.run([node, "-e", _NODE_ROUND_TRIP], input="\n".join(texts) + "\n", capture_output=True,
                          text=True, encoding="utf-8", timeout=60, check=True)
    from_node = done.stdout.split("\n")
    assert len(from_node) == len(texts)
    for text, written in zip(texts, from_node, strict=True):
        # Same JSON value (Python's reading of both texts): the digits of every number as JavaScript writes them.
        assert json.loads(js_round_trip(text)) == json.loads(written), (text, written)
        assert same_shape(json.loads(js_round_trip(text)), json.loads(written))


def same_shape(a: Any, b: Any) -> bool:
    """Equal with the type of every number too (``1`` is not ``1.0`` here)."""
    return first_difference(a, b) is None


#: Subprocesses, sockets or long runs: in the full run only (tests/conftest.py).
pytestmark = pytest.mark.slow
