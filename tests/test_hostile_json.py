"""Hostile input (issue 9): malformed JSON, repeated keys and every bound, through the public entry points.

docs/security.md promises, for any input: only ccproto's exceptions escape; the detail names the problem and
never holds the text (which may hold a secret); the answer is the same with orjson installed and hidden; a key
repeated in one object is refused (``duplicate-key``, with its pointer) unless ``Limits(allow_duplicate_keys=True)``,
and always by the CCEB server role and the validator; going over a bound is a ``LimitExceededError`` (or a finding)
naming the bound and its value, and the rest keeps working.  Each test here holds one row of that page, through
``decode``/``decode_text`` of the three protocols, the connection objects' receive hooks, the JSON Lines reader,
``validate_capture``/``validate_message`` and ``ccproto validate``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto import bridge, cceb, processor
from ccproto.capture import BadRecord, read_jsonl, validate_capture, validate_message
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.cceb.quirks import SESSION_LIFETIME
from ccproto.cli import main
from ccproto.core import jsonio
from ccproto.core.errors import (
    DecodeError,
    LimitExceededError,
    ProtocolError,
    UnexpectedMessageError,
)
from ccproto.core.jsonio import json_equal, loads_fast, parse_object
from ccproto.core.limits import Limits
from ccproto.core.roles import Role
from ccproto.testing import strategies as ccst
from ccproto.testing.slices.bridge.strategies import bridge_messages
from ccproto.testing.slices.cceb.strategies import cceb_messages
from ccproto.testing.slices.processor.strategies import processor_messages

S, C = Role.SERVER, Role.CLIENT
CODECS: dict[str, Any] = {"bridge": bridge, "processor": processor, "cceb": cceb}
PROTOCOLS = tuple(CODECS)
ALLOW = Limits(allow_duplicate_keys=True)

#: A secret planted in every hostile text: it must appear in no detail, str, repr or redacted message.
SECRET = "s3cr3t-CANARY-pw"
#: Plain text planted beside it: a detail must not quote the input at all.
VISIBLE = "visible-CANARY-note"
TARGET = "Acme1.CONTROL"


def guid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012d}"


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


UUID = uuid(1)


#: Where each protocol's holder message keeps its open members.
WHERE = {"bridge": "/body", "processor": "/data", "cceb": "/data"}


def holder(protocol: str, value: str, n: int = 1) -> str:
    """A valid message of ``protocol`` (its id made from ``n``) whose unknown member ``x-v`` is the raw JSON ``value``.

    Bridge: a serverstatus request; processor: a getCapabilities request; CCEB: a presence notification.
    """
    members = f'"password":"{SECRET}","note":"{VISIBLE}","x-v":{value}'
    if protocol == "bridge":
        header = f'"type":"cti.request","name":"cti.request.serverstatus","target":"{TARGET}","requestId":"{guid(n)}"'
        return '{"header":{' + header + '},"body":{' + members + "}}"
    if protocol == "processor":
        return '{"command":"getCapabilities","data":{' + members + "}}"
    return '{"type":"presence","uuid":"' + uuid(n) + '","data":{' + members + "}}"


# -- orjson present and hidden ------------------------------------------------------------------------------

#: Whether orjson is installed (the fast parser answers only with it).
ORJSON = loads_fast("{}") is not None


@contextlib.contextmanager
def orjson_hidden() -> Iterator[None]:
    """The library as it runs without the ``speedups`` extra (as tests/test_core_compiled.py hides it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "_orjson", None)
        yield


def modes() -> list[Callable[[], contextlib.AbstractContextManager[None]]]:
    """One context per way the library can run here: with orjson (when installed) and without."""
    found: list[Callable[[], contextlib.AbstractContextManager[None]]] = [orjson_hidden]
    if ORJSON:
        found.insert(0, contextlib.nullcontext)
    return found


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What ``call`` gives: ``("ok", result)`` or ``("error", class, code, detail, pointer)``.

    Only ccproto's errors are caught: anything else fails the test (docs/security.md, promise 1).
    """
    try:
        result = call()
    except ProtocolError as exc:
        return ("error", type(exc), exc.code, exc.detail, exc.pointer)
    if isinstance(result, bridge.Decoded):  # Decoded has no __eq__: compare what it holds
        result = (result.message, result.warnings, json.dumps(result.value, sort_keys=True))
    return ("ok", result)


def every_way(call: Callable[[], Any]) -> tuple[Any, ...]:
    """``outcome(call)`` with orjson present and hidden, which must be the same; returns it."""
    found = []
    for mode in modes():
        with mode():
            found.append(outcome(call))
    assert all(item == found[0] for item in found), found
    return found[0]


def error_of(call: Callable[[], Any]) -> ProtocolError:
    """The error ``call`` raises (the same with and without orjson); ``call`` is run more than once."""
    every_way(call)
    with pytest.raises(ProtocolError) as info:
        call()
    return info.value


def assert_clean(exc: ProtocolError, data: str | bytes) -> None:
    """The error never shows the input: no secret anywhere, no quoted text in its detail."""
    for shown in (exc.detail, str(exc), repr(exc)):
        assert SECRET not in shown
        assert VISIBLE not in shown
        if isinstance(data, str) and len(data) >= 8:
            assert data not in shown
    assert SECRET not in str(exc.message)  # the excerpt attached to it is redacted


# -- 1. the malformed-JSON catalogue ------------------------------------------------------------------------


def _bad_utf8(sequence: bytes) -> Callable[[str], bytes]:
    return lambda p: holder(p, '"@@"').encode().replace(b"@@", sequence)


NESTED_ARRAYS = "[" * 100_000 + "]" * 100_000
NESTED_OBJECTS = '{"a":' * 100_000 + "1" + "}" * 100_000


class Bad(NamedTuple):
    """One malformed input: how to make it for a protocol, and the answer every entry point must give."""

    id: str
    make: Callable[[str], str | bytes]
    error: type[ProtocolError]
    code: str
    keyword: str  # the detail names the problem with this (case-insensitive)
    pointer: Callable[[str], str]  # where, from the protocol


TOP: Callable[[str], str] = lambda p: ""  # noqa: E731
AT_VALUE: Callable[[str], str] = lambda p: WHERE[p] + "/x-v"  # noqa: E731

CATALOGUE = (
    Bad("utf8-ff", _bad_utf8(b"\xff"), DecodeError, "decode-error", "not valid UTF-8", TOP),
    Bad("utf8-cut-sequence", _bad_utf8(b"\xc3"), DecodeError, "decode-error", "not valid UTF-8", TOP),
    Bad("utf8-overlong", _bad_utf8(b"\xc0\xaf"), DecodeError, "decode-error", "not valid UTF-8", TOP),
    Bad("utf8-encoded-surrogate", _bad_utf8(b"\xed\xa0\x80"), DecodeError, "decode-error", "not valid UTF-8", TOP),
    Bad("surrogate-escaped-high", lambda p: holder(p, '"\\ud800"'), DecodeError, "lone-surrogate", "surrogate",
        AT_VALUE),
    Bad("surrogate-escaped-low", lambda p: holder(p, '"a\\uDFFFb"'), DecodeError, "lone-surrogate", "surrogate",
        AT_VALUE),
    Bad("surrogate-reversed-pair", lambda p: holder(p, '"\\ude00\\ud83d"'), DecodeError, "lone-surrogate",
        "surrogate", AT_VALUE),
    Bad("surrogate-high-then-letter", lambda p: holder(p, '"\\ud83dA"'), DecodeError, "lone-surrogate", "surrogate",
        AT_VALUE),
    Bad("surrogate-raw-in-str", lambda p: holder(p, '"\ud800"'), DecodeError, "lone-surrogate", "surrogate",
        AT_VALUE),
    Bad("surrogate-in-array", lambda p: holder(p, '["ok","\\ud800"]'), DecodeError, "lone-surrogate", "surrogate",
        lambda p: WHERE[p] + "/x-v/1"),
    Bad("surrogate-escaped-in-key", lambda p: holder(p, '{"\\udc00":1}'), DecodeError, "lone-surrogate",
        "surrogate", AT_VALUE),
    Bad("surrogate-raw-in-key", lambda p: holder(p, '{"k\udc00":1}'), DecodeError, "lone-surrogate", "surrogate",
        AT_VALUE),
    Bad("bom-str", lambda p: "\ufeff" + holder(p, "1"), DecodeError, "decode-error", "byte order mark", TOP),
    Bad("bom-bytes", lambda p: b"\xef\xbb\xbf" + holder(p, "1").encode(), DecodeError, "decode-error",
        "byte order mark", TOP),
    Bad("nan", lambda p: holder(p, "NaN"), DecodeError, "decode-error", "NaN is not a JSON number", TOP),
    Bad("infinity", lambda p: holder(p, "Infinity"), DecodeError, "decode-error", "Infinity is not a JSON number",
        TOP),
    Bad("minus-infinity", lambda p: holder(p, "[-Infinity]"), DecodeError, "decode-error",
        "-Infinity is not a JSON number", TOP),
    Bad("overflow", lambda p: holder(p, "1e999999"), DecodeError, "decode-error", "out of range", TOP),
    Bad("overflow-negative", lambda p: holder(p, "-1e999999"), DecodeError, "decode-error", "out of range", TOP),
    Bad("overflow-bytes", lambda p: holder(p, "1.5e400").encode(), DecodeError, "decode-error", "out of range", TOP),
    Bad("integer-5000-digits", lambda p: holder(p, "9" * 5000), DecodeError, "decode-error", "4300 digits", TOP),
    Bad("integer-4301-digits-negative", lambda p: holder(p, "-" + "1" * 4301), DecodeError, "decode-error",
        "4300 digits", TOP),
    Bad("nested-arrays-100000", lambda p: NESTED_ARRAYS, LimitExceededError.Remote, "too-deep", "max_depth=64", TOP),
    Bad("nested-arrays-100000-in-message", lambda p: holder(p, NESTED_ARRAYS), LimitExceededError.Remote,
        "too-deep", "max_depth=64", TOP),
    Bad("nested-objects-100000", lambda p: holder(p, NESTED_OBJECTS).encode(), LimitExceededError.Remote,
        "too-deep", "max_depth=64", TOP),
    Bad("empty", lambda p: "", DecodeError, "decode-error", "empty", TOP),
    Bad("empty-bytes", lambda p: b"", DecodeError, "decode-error", "empty", TOP),
    Bad("blank", lambda p: " \r\n\t", DecodeError, "decode-error", "empty", TOP),
    Bad("truncated", lambda p: holder(p, "1")[:-1], DecodeError, "decode-error", "truncated", TOP),
    Bad("truncated-in-a-string", lambda p: holder(p, '"abc"')[:-4], DecodeError, "decode-error", "truncated", TOP),
    Bad("not-an-object", lambda p: f'[{{"password":"{SECRET}","note":"{VISIBLE}"}}]', DecodeError, "decode-error",
        "JSON object", TOP),
)


def catalogue_params() -> list[Any]:
    return [pytest.param(case, protocol, id=f"{case.id}-{protocol}") for case in CATALOGUE for protocol in PROTOCOLS]


@pytest.mark.parametrize(("case", "protocol"), catalogue_params())
@pytest.mark.parametrize("entry", ["decode", "decode_text"])
def test_catalogue_decode(case: Bad, protocol: str, entry: str) -> None:
    data = case.make(protocol)
    call = getattr(CODECS[protocol], entry)
    exc = error_of(lambda: call(data))
    assert type(exc) is case.error
    assert exc.code == case.code
    assert case.keyword.lower() in exc.detail.lower()
    assert exc.pointer == case.pointer(protocol)
    assert_clean(exc, data)


def receive_hooks(protocol: str) -> list[tuple[Role, Callable[[str | bytes], Any]]]:
    """Every receive hook of ``protocol``'s connection objects (each on a fresh connection), with the peer's role."""
    if protocol == "bridge":
        def framed(data: str | bytes) -> Any:
            channel = bridge.ControlChannel(C)
            payload = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
            channel.receive_data(bridge.encode_frame(payload))
            return channel.next_event()

        return [(S, lambda data: bridge.ControlChannel(C).receive_message(data)), (S, framed)]
    if protocol == "processor":
        return [(C, lambda data: processor.ProcessorSession(S).receive_message(data)),
                (S, lambda data: processor.ProcessorSession(C).receive_message(data))]
    return [(C, lambda data: cceb.CcebConnection(S).receive_message(data)),
            (C, lambda data: cceb.CcebConnection(S, limits=ALLOW).receive_message(data)),
            (S, lambda data: cceb.CcebConnection(C).receive_message(data)),
            (S, lambda data: cceb.CcebConnection(C, limits=ALLOW).receive_message(data))]


def utf8_encodable(data: str | bytes) -> bool:
    if isinstance(data, bytes):
        return True
    try:
        data.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(("case", "protocol"), catalogue_params())
def test_catalogue_receive_hooks(case: Bad, protocol: str) -> None:
    """Each connection's receive hook answers as ``decode`` does, blaming the peer."""
    data = case.make(protocol)
    expected = every_way(lambda: CODECS[protocol].decode(data))
    for index, (peer, hook) in enumerate(receive_hooks(protocol)):
        if protocol == "bridge" and index == 1 and not utf8_encodable(data):
            continue  # a raw surrogate cannot be put in a frame's UTF-8 payload (that is the invalid-UTF-8 row)
        exc = error_of(functools.partial(hook, data))
        assert ("error", type(exc), exc.code, exc.detail, exc.pointer) == expected
        assert exc.role is peer
        assert_clean(exc, data)


@pytest.mark.parametrize(("case", "protocol"), catalogue_params())
def test_catalogue_validate_message(case: Bad, protocol: str) -> None:
    data = case.make(protocol)
    if isinstance(data, bytes):
        return  # validate_message takes text (or a JSON value); the bytes rows are decode's
    exc = error_of(lambda: CODECS[protocol].decode(data))
    direction = "client" if protocol == "processor" else "server"
    for mode in modes():
        with mode():
            findings = validate_message(data, protocol=protocol, direction=direction)
        assert [(f.code, f.path, f.message) for f in findings] == [(exc.code, exc.pointer, exc.detail)]
        assert all(SECRET not in f.excerpt and SECRET not in f.message for f in findings)


@pytest.mark.parametrize(("case", "protocol"), catalogue_params())
def test_catalogue_in_a_capture_raw_record(case: Bad, protocol: str) -> None:
    """A JSON Lines record whose ``raw`` text is malformed gives the finding decode's error words."""
    data = case.make(protocol)
    if isinstance(data, bytes):
        return  # a raw record holds text
    exc = error_of(lambda: CODECS[protocol].decode(data))
    line = json.dumps({"conn": "c1", "from": "server", "protocol": protocol, "raw": data})
    report = validate_capture(io.BytesIO(line.encode() + b"\n"), file="hostile.jsonl")
    decode_findings = [f for f in report.findings if f.kind.value == "decode"]
    assert [(f.code, f.path, f.message) for f in decode_findings] == [(exc.code, exc.pointer, exc.detail)]
    assert all(SECRET not in f.excerpt for f in report.findings)


#: Lines of a JSON Lines capture the reader refuses as a whole, and what the bad record's detail names.
BAD_LINES = (
    pytest.param(b'{"from":"client","message":{"x":NaN}}', "NaN is not a JSON number", id="nan"),
    pytest.param(b'{"from":"client","message":{"x":-Infinity}}', "-Infinity is not a JSON number", id="-infinity"),
    pytest.param(b'{"from":"client","message":{"x":1e999999}}', "out of range", id="overflow"),
    pytest.param(b'{"from":"client","message":{"x":' + b"7" * 5000 + b"}}", "4300 digits", id="huge-integer"),
    pytest.param(b'{"from":"client","message":{"x":' + NESTED_ARRAYS.encode() + b"}}", "nested too deep",
                 id="nested-100000"),
    pytest.param(b'{"from":"client","message":{"x":"\xff"}}', "not valid UTF-8", id="invalid-utf8"),
    pytest.param(b'{"from":"client","message":{"password":"' + SECRET.encode() + b'"', "truncated", id="truncated"),
    pytest.param(b'{"from":"client","message":{"x":1,"x":2}}', "duplicate key 'x'", id="repeated-key"),
)


@pytest.mark.parametrize(("line", "keyword"), BAD_LINES)
def test_json_lines_reader_names_the_problem_and_reads_on(line: bytes, keyword: str) -> None:
    good = json.dumps({"from": "client", "protocol": "processor", "message": {"command": "getCapabilities",
                                                                             "data": {}}}).encode()
    items = list(read_jsonl(io.BytesIO(line + b"\n" + good + b"\n"), file="f.jsonl"))
    assert isinstance(items[0], BadRecord)
    assert keyword.lower() in items[0].detail.lower()
    assert SECRET not in items[0].detail
    assert not isinstance(items[1], BadRecord)  # the next line is read as usual


def test_capture_message_with_a_lone_surrogate_is_a_finding() -> None:
    line = '{"from":"client","protocol":"processor","message":{"command":"getCapabilities","data":{"x":"\\ud800"}}}'
    report = validate_capture(io.BytesIO(line.encode() + b"\n"))
    assert any("surrogate" in f.message or f.code == "lone-surrogate" for f in report.findings)


def test_capture_message_nested_over_max_depth_is_a_finding() -> None:
    nested = "[" * 100 + "]" * 100
    line = ('{"from":"client","protocol":"processor","message":{"command":"getCapabilities","data":{"x":'
            + nested + "}}}")
    with pytest.raises(LimitExceededError):
        processor.decode(json.dumps(json.loads(line)["message"]))
    report = validate_capture(io.BytesIO(line.encode() + b"\n"))
    assert any(f.code == "too-deep" or "max_depth" in f.message for f in report.findings)


# -- accepted: valid JSON that looks hostile -----------------------------------------------------------------

ACCEPTED = (
    pytest.param(str(2**64 + 1), 2**64 + 1, id="2**64+1"),
    pytest.param(str(-(2**64 + 1)), -(2**64 + 1), id="-(2**64+1)"),
    pytest.param(str(2**64), 2**64, id="2**64"),
    pytest.param(str(2**63), 2**63, id="2**63"),
    pytest.param(str(-(2**63) - 1), -(2**63) - 1, id="-(2**63)-1"),
    pytest.param("9" * 4300, int("9" * 4300), id="4300-digits"),
    pytest.param('"\\ud83d\\ude00"', "\U0001f600", id="surrogate-pair-escaped"),
    pytest.param('"\\uD83D\\uDE00"', "\U0001f600", id="surrogate-pair-upper-case"),
    pytest.param('"\U0001f600"', "\U0001f600", id="non-bmp-raw"),
    pytest.param('"\\\\ud800"', "\\ud800", id="escaped-backslash-not-a-surrogate"),
    pytest.param('"\ufeff"', "\ufeff", id="bom-inside-a-string"),
    pytest.param('["\\ud800\\udc00", {"\\udbff\\udfff": 1}]', ["\U00010000", {"\U0010ffff": 1}], id="pairs-edges"),
)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_valid_but_awkward_json_is_kept_exactly(protocol: str, value: str, expected: Any, as_bytes: bool) -> None:
    codec = CODECS[protocol]
    text = holder(protocol, value)
    data: str | bytes = text.encode() if as_bytes else text
    found = every_way(lambda: codec.decode(data))
    assert found[0] == "ok", found
    message = found[1]
    kept = codec.encode_value(message)[WHERE[protocol][1:]]["x-v"]  # in ``extra``, or the open ``data``
    assert json_equal(kept, expected)
    written = every_way(lambda: codec.encode(message))
    assert written[0] == "ok"
    # decode -> encode keeps it, digit for digit (json_equal tells 1 from 1.0)
    assert json_equal(json.loads(written[1]), json.loads(text))
    if isinstance(expected, int):
        assert str(expected) in written[1]
    assert every_way(lambda: codec.decode(written[1])) == ("ok", message)


# -- truncated texts ----------------------------------------------------------------------------------------

#: Valid messages of each protocol, with a secret in each.
SAMPLES = {
    "bridge": json.dumps({
        "header": {"type": "cti.request", "name": "cti.request.createsession", "target": TARGET,
                   "requestId": guid(2)},
        "body": {"agentId": "bob", "agentPassword": SECRET, "sessionId": "s2", "destination": "Acme1.bob.s2",
                 "x-list": [1, 22, {"k": "v\\\"é"}], "x-empty": {}},
    }, ensure_ascii=False),
    "processor": json.dumps({
        "command": "acme.hold", "data": {"agent": {"id": "1001", "password": SECRET}, "n": [7, 80, []]},
    }, indent=1),
    "cceb": json.dumps({
        "type": "hello", "uuid": UUID, "data": {"token": SECRET, "tenant": "acme", "x": {"a": ["", "\U0001f600"]}},
    }, separators=(",", ":"), ensure_ascii=False),
}
#: The same with every kind of token (literals, negative and fractional numbers, escapes) to cut inside.
SAMPLES_WITH_LITERALS = {
    "bridge": json.dumps({
        "header": {"type": "cti.request", "name": "cti.request.serverstatus", "target": TARGET, "requestId": guid(3)},
        "body": {"x-t": True, "x-f": False, "x-n": -1.5e3, "x-z": None, "x-u": "\u00e9", "password": SECRET},
    }),
    "processor": '{"command":"prepareSession","data":{"model":"uccx","override":false,"agent":{"id":"1001",'
                 f'"password":"{SECRET}"}},"x":[1,-2,3.5,null,true]}}}}',
    "cceb": f'{{"type":"hello","uuid":"{UUID}","data":{{"token":"{SECRET}","tenant":"acme","long_lived":true,'
            '"x":"\\u00e9"}}',
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("samples", [SAMPLES, SAMPLES_WITH_LITERALS], ids=["plain", "literals"])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_truncated_at_every_position_is_a_decode_error(protocol: str, samples: dict[str, str], as_bytes: bool) -> None:
    codec = CODECS[protocol]
    text = samples[protocol]
    assert every_way(lambda: codec.decode(text))[0] == "ok"
    encoded = text.encode()
    for cut in range(len(encoded) if as_bytes else len(text)):
        data: str | bytes = encoded[:cut] if as_bytes else text[:cut]
        exc = error_of(functools.partial(codec.decode, data))  # the same with and without orjson
        assert type(exc) is DecodeError, (cut, exc)
        assert exc.code == "decode-error"
        assert exc.detail.startswith(("not valid JSON: ", "message is not valid UTF-8")), (cut, exc.detail)
        assert SECRET not in str(exc) + repr(exc) + str(exc.message), cut


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_truncated_text_says_so(protocol: str) -> None:
    """Cut anywhere between tokens or inside a string: the detail says the text is empty or ends too early."""
    codec = CODECS[protocol]
    text = SAMPLES[protocol]
    for cut in range(len(text)):
        exc = error_of(functools.partial(codec.decode, text[:cut]))
        assert "truncated" in exc.detail or "empty" in exc.detail, (cut, text[:cut][-15:], exc.detail)


#: Texts cut inside a literal, a number or a \\u escape: protocol -> what the cut text ends with.
CUTS_INSIDE_A_TOKEN = {
    "bridge": [": t", ": tru", ": fals", ": n", ": nul", ": -", ": -1500.", '"\\u00'],
    "processor": ['"override":fa', "[1,-", "-2,3.", ",nu", ",tr"],
    "cceb": ['"long_lived":t', '"long_lived":tr', '"x":"\\u', '"x":"\\u00e'],
}


def test_text_cut_inside_a_token_says_truncated() -> None:
    missed = []
    for protocol, endings in CUTS_INSIDE_A_TOKEN.items():
        sample = SAMPLES_WITH_LITERALS[protocol]
        for ending in endings:
            cut = sample[: sample.index(ending) + len(ending)]
            exc = error_of(functools.partial(CODECS[protocol].decode, cut))
            assert type(exc) is DecodeError  # it is refused: only the wording misses the truncation
            if "truncated" not in exc.detail:
                missed.append((protocol, ending, exc.detail))
    assert missed == []


def test_a_100_mb_message_is_refused_by_the_size_limit() -> None:
    """Bytes and str, through every decoder and receive hook: ``message-too-large`` before any parsing."""
    text = '{"command":"getCapabilities","data":{"password":"' + SECRET + '","x":"' + "a" * 100_000_000 + '"}}'
    data = text.encode()
    for protocol, codec in CODECS.items():
        # (A frame is refused by its length prefix, below: encode_frame would refuse to write this one.)
        hooks = [hook for _, hook in receive_hooks(protocol) if hook.__name__ != "framed"]
        for entry in (codec.decode, codec.decode_text, *hooks):
            for item in (text, data):
                exc = error_of(lambda: entry(item))  # noqa: B023 - called at once
                assert type(exc) is LimitExceededError.Remote
                assert exc.code == "message-too-large"
                assert "max_message_bytes=1048576" in str(exc)
                assert_clean(exc, item)
    # The frame's length prefix alone is refused: nothing of the payload needs to arrive.
    channel = bridge.ControlChannel(C)
    channel.receive_data(struct.pack(">I", len(data)))
    with pytest.raises(LimitExceededError) as info:
        channel.next_event()
    exc = info.value
    assert (type(exc), exc.code) == (LimitExceededError.Remote, "frame-too-large")
    assert f"{len(data)} bytes" in exc.detail
    assert "max_message_bytes=1048576" in exc.detail


# -- 2. repeated keys ---------------------------------------------------------------------------------------


class Members(list[tuple[str, Any]]):
    """A JSON object as written: its members in order, a key possibly more than once."""


def as_members(value: Any) -> Any:
    """``value`` with every object turned into :class:`Members` (so a key can be repeated in it)."""
    if isinstance(value, dict):
        return Members((key, as_members(child)) for key, child in value.items())
    if isinstance(value, list):
        return [as_members(child) for child in value]
    return value


def write(value: Any, *, pretty: bool = False, ascii_only: bool = False, indent: str = "") -> str:
    """JSON text of ``value`` (objects as :class:`Members`): compact, or pretty-printed as ``indent=2`` does."""
    inner = indent + "  "

    def scalar(item: Any) -> str:
        return json.dumps(item, ensure_ascii=ascii_only)

    if isinstance(value, Members):
        if not value:
            return "{}"
        parts = [scalar(key) + (": " if pretty else ":") + write(child, pretty=pretty, ascii_only=ascii_only,
                                                                  indent=inner) for key, child in value]
        return ("{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}") if pretty else (
            "{" + ",".join(parts) + "}")
    if isinstance(value, list):
        if not value:
            return "[]"
        parts = [write(child, pretty=pretty, ascii_only=ascii_only, indent=inner) for child in value]
        return ("[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]") if pretty else (
            "[" + ",".join(parts) + "]")
    return scalar(value)


def json_pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901, written here rather than imported: the library's pointers are what is under test."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


class Repeated(NamedTuple):
    id: str
    protocol: str
    value: Any  # Members somewhere
    pointer: str


def _m(*pairs: tuple[str, Any]) -> Members:
    return Members(pairs)


BRIDGE_HEADER = (("type", "cti.request"), ("name", "cti.request.serverstatus"), ("target", TARGET),
                 ("requestId", guid(1)))
ACTION = "ChangeAgentStateEvent"


def _action(*details: tuple[str, Any]) -> Members:
    return _m(("type", "action"), ("uuid", uuid(5)), ("data", _m(("action", ACTION), ("action_details", _m(*details)))))


_DEEP = _m(("b", _m(("c", 1), ("d", 2), ("c", 1))))
_ITEMS = [_m(("k", 1)), _m(("k", 1), ("j", 0), ("k", 2))]
_AWKWARD = [[], [_m(), _m(("a/b~c", 1), ("a/b~c", None))]]
_SMUGGLED_FIRST = _m(("action", ACTION), ("action_details", _m(("agentGuid", "victim"), ("state", "Available"))),
                     ("action_details", _m(("state", "Available"))))
_SMUGGLED_LAST = _m(("action", ACTION), ("action_details", _m(("state", "Available"))),
                    ("action_details", _m(("agentGuid", "victim"), ("state", "Available"))))
_TWO_ACTIONS = _m(("action", ACTION), ("action_details", _m()), ("action", "HangupAgentTelephoneLineEvent"))
_AGENT = _m(("id", "1001"), ("password", SECRET), ("password", SECRET + "-2"))
_CREATE_HEADER = _m(("type", "cti.request"), ("name", "cti.request.createsession"), ("target", TARGET),
                    ("requestId", guid(2)))
_CREATE_BODY = _m(("agentId", "bob"), ("agentPassword", SECRET), ("sessionId", "s2"), ("destination", "Acme1.bob.s2"),
                  ("agentPassword", SECRET + "-2"))

REPEATED = (
    Repeated("top-level", "processor",
             _m(("command", "getCapabilities"), ("data", _m()), ("command", "getCapabilities")), "/command"),
    Repeated("top-level-type", "cceb", _m(*_action(("state", "Available")), ("type", "ack")), "/type"),
    Repeated("top-level-uuid", "cceb", _m(("type", "ack"), ("uuid", uuid(5)), ("uuid", uuid(6))), "/uuid"),
    Repeated("nested-header", "bridge", _m(("header", _m(*BRIDGE_HEADER, ("requestId", guid(9)))), ("body", _m())),
             "/header/requestId"),
    Repeated("nested-deeper", "processor", _m(("command", "acme.x"), ("data", _m(("a", _DEEP)))), "/data/a/b/c"),
    Repeated("in-an-array-item", "processor", _m(("command", "acme.x"), ("data", _m(("list", _ITEMS)))),
             "/data/list/1/k"),
    Repeated("in-a-nested-array", "cceb", _m(("type", "presence"), ("uuid", UUID), ("data", _m(("x", _AWKWARD)))),
             "/data/x/1/1/a~1b~0c"),
    Repeated("bridge-body", "bridge", _m(("header", _m(*BRIDGE_HEADER)), ("body", _m(("x-a", 1), ("x-a", "1")))),
             "/body/x-a"),
    Repeated("reserved-smuggled-in-first-action-details", "cceb",
             _m(("type", "action"), ("uuid", uuid(5)), ("data", _SMUGGLED_FIRST)), "/data/action_details"),
    Repeated("reserved-smuggled-in-last-action-details", "cceb",
             _m(("type", "action"), ("uuid", uuid(5)), ("data", _SMUGGLED_LAST)), "/data/action_details"),
    Repeated("action-name", "cceb", _m(("type", "action"), ("uuid", uuid(5)), ("data", _TWO_ACTIONS)), "/data/action"),
    *(Repeated(f"reserved-{field}", "cceb", _action(("state", "Available"), (field, "a"), (field, "b")),
               f"/data/action_details/{field}") for field in (*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES)),
    Repeated("secret-password", "processor", _m(("command", "prepareSession"), ("data", _m(
        ("model", "uccx"), ("override", False), ("agent", _AGENT)))), "/data/agent/password"),
    Repeated("secret-agent-password", "bridge", _m(("header", _CREATE_HEADER), ("body", _CREATE_BODY)),
             "/body/agentPassword"),
    Repeated("secret-token", "cceb", _m(("type", "hello"), ("uuid", UUID), ("data", _m(
        ("token", SECRET), ("tenant", "acme"), ("token", SECRET + "-2")))), "/data/token"),
)
#: How a test writes a text: (pretty-printed, ``\\u``-escaped).
FORMATS = {"compact": (False, False), "pretty": (True, False), "ascii": (False, True), "pretty-ascii": (True, True)}


@pytest.mark.parametrize("case", REPEATED, ids=[case.id for case in REPEATED])
@pytest.mark.parametrize("form", FORMATS)
def test_repeated_key_is_refused_with_its_pointer(case: Repeated, form: str) -> None:
    codec = CODECS[case.protocol]
    pretty, ascii_only = FORMATS[form]
    text = write(case.value, pretty=pretty, ascii_only=ascii_only)
    for data in (text, text.encode()):
        for entry in (codec.decode, codec.decode_text):
            exc = error_of(lambda: entry(data))  # noqa: B023 - called at once
            assert type(exc) is DecodeError
            assert exc.code == jsonio.DUPLICATE_KEY == "duplicate-key"
            assert exc.pointer == case.pointer
            assert "duplicate key" in exc.detail
            assert SECRET not in str(exc)
            assert SECRET not in repr(exc)
            assert SECRET not in str(exc.message)
        # The fast parser never vouches for a text with a repeated key; the exact one finds it.
        assert loads_fast(data) is None
        with pytest.raises(DecodeError) as info:
            parse_object(data)
        assert (info.value.code, info.value.pointer) == ("duplicate-key", case.pointer)


@pytest.mark.parametrize("case", REPEATED, ids=[case.id for case in REPEATED])
@pytest.mark.parametrize("form", FORMATS)
def test_allow_duplicate_keys_keeps_the_last_value(case: Repeated, form: str) -> None:
    """With the opt-out, every path reads the text as Python's ``json`` does: the last value wins."""
    codec = CODECS[case.protocol]
    pretty, ascii_only = FORMATS[form]
    text = write(case.value, pretty=pretty, ascii_only=ascii_only)
    last_wins = json.dumps(json.loads(text))  # json keeps the last value, at the first one's place
    for data in (text, text.encode()):
        assert every_way(lambda: codec.decode(data, limits=ALLOW)) == every_way(  # noqa: B023
            lambda: codec.decode(last_wins))
        assert every_way(lambda: codec.decode_text(data, limits=ALLOW)) == every_way(  # noqa: B023
            lambda: codec.decode_text(last_wins))
        assert json_equal(parse_object(data, limits=ALLOW), json.loads(text))
        fast = loads_fast(data, ALLOW)
        if ORJSON:
            assert fast is not None
            assert json_equal(fast, json.loads(text))
        else:
            assert fast is None


@pytest.mark.parametrize(("members", "pointer"), [
    pytest.param('"k":1,"\\u006b":2', "/data/k", id="escaped-ascii"),
    pytest.param('"\u00e9":1,"\\u00e9":2', "/data/\u00e9", id="raw-and-escaped"),
    pytest.param('"\U0001f600":1,"\\ud83d\\ude00":2', "/data/\U0001f600", id="raw-and-escaped-pair"),
    pytest.param('"a/b":1,"a\\/b":2', "/data/a~1b", id="escaped-solidus"),
])
def test_a_key_spelled_two_ways_is_one_key_repeated(members: str, pointer: str) -> None:
    text = '{"command":"getCapabilities","data":{' + members + "}}"
    for data in (text, text.encode()):
        exc = error_of(functools.partial(processor.decode, data))
        assert (type(exc), exc.code, exc.pointer) == (DecodeError, "duplicate-key", pointer)


def test_repeated_key_with_a_secret_value_is_refused_without_showing_it() -> None:
    text = ('{"command":"prepareSession","data":{"model":"uccx","override":false,'
            f'"agent":{{"id":"1001","password":"{SECRET}","password":"{VISIBLE}"}}}}}}')
    exc = error_of(lambda: processor.decode(text))
    assert exc.pointer == "/data/agent/password"
    for shown in (exc.detail, str(exc), repr(exc), str(exc.message)):
        assert SECRET not in shown
        assert VISIBLE not in shown
    assert "'password'" in exc.detail  # the key is named: it is no secret


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
@pytest.mark.parametrize("limits", [Limits(), ALLOW], ids=["default", "allow_duplicate_keys"])
def test_cceb_server_role_always_refuses_repeated_keys(limits: Limits, sticky: bool) -> None:
    """The CCEB must never let a client smuggle a reserved field past its checks (quirk H1)."""
    server = cceb.CcebConnection(S, limits=limits, sticky_errors=sticky)
    hello = cceb.Hello.new(token=SECRET, tenant="acme")
    server.receive_message(cceb.encode(hello), now=0.0)
    server.send(cceb.HelloReply(uuid=hello.uuid), now=0.0)
    smuggled = next(case.value for case in REPEATED if case.id == "reserved-smuggled-in-first-action-details")
    for data in (write(smuggled), write(smuggled).encode(), write(smuggled, pretty=True)):
        with pytest.raises(DecodeError) as info:
            server.receive_message(data, now=1.0)
        assert (info.value.code, info.value.pointer, info.value.role) == ("duplicate-key", "/data/action_details", C)
        assert server.unacked_actions() == ()  # nothing of it is kept: no ack is owed
        if sticky:
            break
    if sticky:
        with pytest.raises(UnexpectedMessageError) as failed:
            server.receive_message(cceb.encode(cceb.Action.new(ACTION, {"state": "Available"})), now=2.0)
        assert failed.value.code == "channel-failed"
        server = cceb.CcebConnection(S, limits=limits)  # another connection is served as usual
        server.receive_message(cceb.encode(hello), now=2.0)
        server.send(cceb.HelloReply(uuid=hello.uuid), now=2.0)
    action = cceb.Action.new(ACTION, {"state": "Available"})
    assert server.receive_message(cceb.encode(action), now=3.0) == action


@pytest.mark.parametrize("case", [c for c in REPEATED if c.protocol == "cceb"], ids=lambda c: c.id)
def test_cceb_server_role_refuses_every_repeated_key_whatever_the_limits(case: Repeated) -> None:
    server = cceb.CcebConnection(S, limits=ALLOW, sticky_errors=False)
    if case.value[0] != ("type", "hello"):
        hello = cceb.Hello.new(token=SECRET, tenant="acme")
        server.receive_message(cceb.encode(hello), now=0.0)
        server.send(cceb.HelloReply(uuid=hello.uuid), now=0.0)
    for pretty in (False, True):
        with pytest.raises(DecodeError) as info:
            server.receive_message(write(case.value, pretty=pretty), now=1.0)
        assert (info.value.code, info.value.pointer, info.value.role) == ("duplicate-key", case.pointer, C)
        assert SECRET not in str(info.value) + repr(info.value) + str(info.value.message)
    assert server.in_flight() == ()
    # The client role with the same limits reads what the server refuses (last value wins).
    client_view = every_way(lambda: cceb.decode(write(case.value), limits=ALLOW))
    assert client_view == every_way(lambda: cceb.decode(json.dumps(json.loads(write(case.value)))))


def test_cceb_client_role_follows_allow_duplicate_keys() -> None:
    """The client's side may opt out (a CCEB that cannot be fixed); then the last value wins, as in decode."""
    hello = cceb.Hello.new(token=SECRET, tenant="acme")
    reply = '{"type":"hello_reply","uuid":"' + hello.uuid + '","data":{"x-a":1,"x-a":2}}'
    strict = cceb.CcebConnection(C)
    strict.send(hello, now=0.0)
    with pytest.raises(DecodeError) as info:
        strict.receive_message(reply, now=0.0)
    assert (info.value.code, info.value.pointer, info.value.role) == ("duplicate-key", "/data/x-a", S)
    relaxed = cceb.CcebConnection(C, limits=ALLOW)
    relaxed.send(hello, now=0.0)
    received = relaxed.receive_message(reply, now=0.0)
    assert received == cceb.HelloReply(uuid=hello.uuid, extra={"/data/x-a": 2})
    assert cceb.encode_value(received)["data"]["x-a"] == 2
    presence = '{"type":"presence","uuid":"' + uuid(7) + '","data":{"status":"Away","status":"Available"}}'
    assert relaxed.receive_message(presence, now=1.0) == cceb.Presence(uuid=uuid(7), data={"status": "Available"})


def test_other_connections_follow_allow_duplicate_keys() -> None:
    text = ('{"command":"getCapabilities","data":{},"data":{"x-a":1}}',
            '{"command":"getCapabilities","data":{"x-a":1}}')
    with pytest.raises(DecodeError):
        processor.ProcessorSession(S).receive_message(text[0])
    assert processor.ProcessorSession(S, limits=ALLOW).receive_message(text[0]) == processor.decode(text[1])
    request = write(_m(("header", _m(*BRIDGE_HEADER)), ("body", _m(("x-a", 1))), ("body", _m())))
    with pytest.raises(DecodeError):
        bridge.ControlChannel(C).receive_message(request)
    channel = bridge.ControlChannel(C, limits=ALLOW)
    channel.receive_data(bridge.encode_frame(request.encode()))
    assert channel.next_event() == bridge.ServerStatusRequest(target=TARGET, request_id=guid(1))


def jsonl(*records: dict[str, Any] | str) -> io.BytesIO:
    """A JSON Lines capture (a record given as a str is written as is)."""
    return io.BytesIO(b"".join((r if isinstance(r, str) else json.dumps(r)).encode() + b"\n" for r in records))


def repeated_in_message(conn: str = "c1") -> str:
    """A capture line whose message repeats a key inside ``data``."""
    return ('{"conn":"' + conn + '","from":"client","protocol":"processor","message":{"command":"getCapabilities",'
            '"data":{"password":"' + SECRET + '","password":"' + VISIBLE + '"}}}')


@pytest.mark.parametrize("limits", [Limits(), ALLOW], ids=["default", "allow_duplicate_keys"])
def test_validator_always_reports_repeated_keys(limits: Limits) -> None:
    good = {"conn": "c2", "from": "client", "protocol": "processor",
            "message": {"command": "getCapabilities", "data": {}}}
    raw = {"conn": "c3", "from": "client", "protocol": "processor",
           "raw": '{"command":"getCapabilities","data":{"x":1},"data":{}}'}
    report = validate_capture(jsonl(repeated_in_message(), good, raw), limits=limits, file="dup.jsonl")
    by_record = {f.record: f for f in report.findings if f.kind.value == "decode"}
    assert by_record[1].code == "bad-record"
    assert by_record[1].message == ("line refused: duplicate key 'password' in one JSON object: parsers disagree "
                                    "on which value counts at /message/data/password")
    assert (by_record[3].code, by_record[3].path) == ("duplicate-key", "/data")
    assert 2 not in by_record  # the line between is checked as usual
    for finding in report.findings:
        assert SECRET not in finding.message + finding.excerpt
        assert VISIBLE not in finding.message + finding.excerpt
    findings = validate_message(f'{{"type":"ack","uuid":"{uuid(1)}","uuid":"{uuid(2)}"}}', protocol="cceb",
                                direction="client", limits=limits)
    assert [(f.code, f.path) for f in findings] == [("duplicate-key", "/uuid")]
    assert "duplicate key 'uuid'" in findings[0].message


def test_ccproto_validate_reports_a_repeated_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(repeated_in_message() + "\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "duplicate key 'password'" in out
    assert "/message/data/password" in out
    assert SECRET not in out
    assert VISIBLE not in out


#: A repeated key, then something only the re-parse that locates it trips over.
REPEATED_THEN_BROKEN = (
    pytest.param(',"command":', id="then-truncated"),
    pytest.param(',"command":"getCapabilities","y":' + "1" * 5000 + "}", id="then-5000-digit-integer"),
    pytest.param(',"command":"getCapabilities","y":' + NESTED_ARRAYS + "}", id="then-100000-nested-arrays"),
)


def _repeated_then(tail: str) -> str:
    return '{"data":{"password":"' + SECRET + '","password":"' + VISIBLE + '"}' + tail


@pytest.mark.parametrize("tail", REPEATED_THEN_BROKEN)
def test_repeated_key_before_a_broken_rest_is_a_decode_error(tail: str) -> None:
    text = _repeated_then(tail)
    with pytest.raises(DecodeError):
        processor.decode(text)


@pytest.mark.parametrize("tail", REPEATED_THEN_BROKEN)
def test_repeated_key_before_a_broken_rest_on_a_connection(tail: str) -> None:
    text = _repeated_then(tail)
    with pytest.raises(DecodeError):
        processor.ProcessorSession(S).receive_message(text)
    with pytest.raises(DecodeError):
        cceb.CcebConnection(S).receive_message(text)


@pytest.mark.parametrize("tail", REPEATED_THEN_BROKEN)
def test_repeated_key_before_a_broken_rest_in_a_capture(tail: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    line = '{"from":"client","protocol":"processor","message":' + _repeated_then(tail) + "}"
    items = list(read_jsonl([line], file="f.jsonl"))
    assert isinstance(items[0], BadRecord)
    path = tmp_path / "broken.jsonl"
    path.write_text(line + "\n")
    assert main(["validate", str(path)]) == 1
    assert SECRET not in capsys.readouterr().out


# -- repeated keys in any message (hypothesis) ---------------------------------------------------------------

STRATEGIES = {"bridge": bridge_messages(), "processor": processor_messages(), "cceb": cceb_messages()}


def objects_in(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Members]]:
    """Every non-empty object of ``value`` (as :class:`Members`) with its path, in document order."""
    if isinstance(value, Members):
        if value:
            yield path, value
        for key, child in value:
            yield from objects_in(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from objects_in(child, (*path, index))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocol=st.sampled_from(PROTOCOLS), data=st.data(), pretty=st.booleans(), ascii_only=st.booleans(),
       after=st.booleans(), as_bytes=st.booleans())
def test_any_message_with_one_member_repeated_is_refused(
    protocol: str, data: st.DataObject, pretty: bool, ascii_only: bool, after: bool, as_bytes: bool
) -> None:
    codec = CODECS[protocol]
    message = data.draw(STRATEGIES[protocol], label="message")
    tree = as_members(json.loads(codec.encode(message)))
    path, members = data.draw(st.sampled_from(list(objects_in(tree))), label="object")
    index = data.draw(st.integers(0, len(members) - 1), label="member")
    key, old = members[index]
    new = data.draw(ccst.json_values(max_leaves=3).filter(lambda v: not json_equal(v, old)), label="other value")
    members.insert(index + 1 if after else index, (key, as_members(new)))
    text = write(tree, pretty=pretty, ascii_only=ascii_only)
    payload: str | bytes = text.encode() if as_bytes else text
    found = every_way(lambda: codec.decode(payload))
    assert found[:3] == ("error", DecodeError, "duplicate-key")
    assert found[4] == json_pointer((*path, key))
    assert every_way(lambda: codec.decode_text(payload))[:3] == ("error", DecodeError, "duplicate-key")
    # The opt-out reads it as json does: the last value wins (before the original: the message itself).
    relaxed = every_way(lambda: codec.decode(payload, limits=ALLOW))
    assert relaxed == every_way(lambda: codec.decode(json.dumps(json.loads(text))))
    if not after:
        assert relaxed == ("ok", message)


# -- 3. bounds: over each, a clear error, and the rest keeps working ------------------------------------------


def padded(protocol: str, size: int, filler: str = "a", n: int = 1) -> str:
    """A holder message whose UTF-8 text is at most ``size`` bytes, as close to it as ``filler`` allows."""
    base = len(holder(protocol, '""', n).encode())
    count = (size - base) // len(filler.encode())
    return holder(protocol, '"' + filler * count + '"', n)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("filler", ["a", "\u00e9", "\u20ac", "\U0001f600"], ids=["ascii", "2-byte", "3-byte", "4-byte"])
def test_max_message_bytes_on_decode(protocol: str, filler: str) -> None:
    codec = CODECS[protocol]
    limit = 600
    fits = padded(protocol, limit, filler)
    over = holder(protocol, '"' + filler * (fits.count(filler) + 1) + '"')
    assert len(fits.encode()) <= limit < len(over.encode())
    if filler == "a":
        assert len(fits) == limit  # exactly at the bound: still accepted
    for data in (fits, fits.encode()):
        assert every_way(lambda: codec.decode(data, limits=Limits(max_message_bytes=limit)))[0] == "ok"  # noqa: B023
    for data in (over, over.encode()):
        exc = error_of(lambda: codec.decode(data, limits=Limits(max_message_bytes=limit)))  # noqa: B023
        assert (type(exc), exc.code) == (LimitExceededError.Remote, "message-too-large")
        assert f"max_message_bytes={limit}" in str(exc)
        assert_clean(exc, data)
    if filler != "a":
        assert len(over) <= limit  # fewer characters than the bound: what counts is its UTF-8 bytes


def nested(kind: str, levels: int) -> str:
    """``levels`` nested arrays or objects (``levels`` deep on their own)."""
    if kind == "arrays":
        return "[" * levels + "]" * levels
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("max_depth", [3, 5, 31, 32, 33, 64])
@pytest.mark.parametrize("kind", ["arrays", "objects"])
def test_max_depth_on_decode(protocol: str, max_depth: int, kind: str) -> None:
    codec = CODECS[protocol]
    limits = Limits(max_depth=max_depth)
    # The holder itself is 2 deep (the message, then its body or data): x-v adds the rest.
    fits, over = holder(protocol, nested(kind, max_depth - 2)), holder(protocol, nested(kind, max_depth - 1))
    for data in (fits, fits.encode()):
        assert every_way(lambda: codec.decode(data, limits=limits))[0] == "ok"  # noqa: B023
    for data in (over, over.encode()):
        exc = error_of(lambda: codec.decode(data, limits=limits))  # noqa: B023
        assert (type(exc), exc.code) == (LimitExceededError.Remote, "too-deep")
        assert f"max_depth={max_depth}" in str(exc)
        assert_clean(exc, data)


def open_connection(protocol: str, limits: Limits, sticky: bool) -> Any:
    """A connection ready to receive holder messages from its peer."""
    if protocol == "bridge":
        return bridge.ControlChannel(C, limits=limits, sticky_errors=sticky)
    if protocol == "processor":
        return processor.ProcessorSession(S, limits=limits, sticky_errors=sticky)
    connection = cceb.CcebConnection(C, limits=limits, sticky_errors=sticky)
    hello = cceb.Hello.new(token=SECRET, tenant="acme")
    connection.send(hello, now=0.0)
    connection.receive_message(cceb.encode(cceb.HelloReply(uuid=hello.uuid)), now=0.0)
    return connection


PEER = {"bridge": S, "processor": C, "cceb": S}
OVER_A_BOUND = {
    # bound -> (limits, a holder value that breaks it, the error's code, the bound named in the error)
    "max_message_bytes": (Limits(max_message_bytes=500), '"' + "a" * 500 + '"', "message-too-large",
                          "max_message_bytes=500"),
    "max_depth": (Limits(max_depth=6), nested("arrays", 5), "too-deep", "max_depth=6"),
    "max_depth-100000-nested": (Limits(max_depth=6), NESTED_ARRAYS, "too-deep", "max_depth=6"),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("bound", OVER_A_BOUND)
@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_message_bounds_on_receive(protocol: str, bound: str, sticky: bool, as_bytes: bool) -> None:
    limits, value, code, named = OVER_A_BOUND[bound]
    connection = open_connection(protocol, limits, sticky)
    bad, good = holder(protocol, value, n=2), holder(protocol, "[[1]]", n=3)
    with pytest.raises(LimitExceededError) as info:
        connection.receive_message(bad.encode() if as_bytes else bad, now=1.0)
    exc = info.value
    assert (type(exc), exc.code, exc.role) == (LimitExceededError.Remote, code, PEER[protocol])
    assert named in str(exc)
    assert_clean(exc, bad)
    assert connection.outstanding() == ()  # nothing of it is kept
    if sticky:
        with pytest.raises(UnexpectedMessageError) as failed:
            connection.receive_message(good, now=2.0)
        assert failed.value.code == "channel-failed"
        connection = open_connection(protocol, limits, sticky)  # another connection is served as usual
    assert connection.receive_message(good, now=2.0) == CODECS[protocol].decode(good)


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_bridge_frame_bound(sticky: bool) -> None:
    limit = 400
    limits = Limits(max_message_bytes=limit)
    good = padded("bridge", limit).encode()
    assert len(good) <= limit
    over = holder("bridge", '"' + "a" * limit + '"', n=2).encode()
    # The decoder alone: a frame of exactly the limit passes, one byte more is refused by its prefix.
    decoder = bridge.FrameDecoder(limits=limits)
    decoder.feed(bridge.encode_frame(good, limits=limits))
    assert decoder.next_frame() == good
    decoder.feed(struct.pack(">I", limit + 1) + b"x" * 100)
    with pytest.raises(LimitExceededError) as info:
        decoder.next_frame()
    assert (type(info.value), info.value.code) == (LimitExceededError.Remote, "frame-too-large")
    assert f"{limit + 1} bytes" in str(info.value)
    assert f"max_message_bytes={limit}" in str(info.value)
    assert decoder.buffered == 0  # nothing over the bound is kept
    decoder.feed(bridge.encode_frame(good, limits=limits))
    assert decoder.next_frame() == good
    with pytest.raises(LimitExceededError) as local:
        bridge.encode_frame(over, limits=limits)  # and we never write one
    assert (type(local.value), local.value.code) == (LimitExceededError.Local, "frame-too-large")
    # The channel: the same, then the rest of the stream.
    channel = bridge.ControlChannel(C, limits=limits, sticky_errors=sticky)
    channel.receive_data(struct.pack(">I", len(over)) + over)
    with pytest.raises(LimitExceededError) as info:
        channel.next_event(now=0.0)
    assert (info.value.code, info.value.role) == ("frame-too-large", S)
    if sticky:
        with pytest.raises(UnexpectedMessageError):
            channel.receive_data(bridge.encode_frame(good))
        channel = bridge.ControlChannel(C, limits=limits)
    channel.receive_data(bridge.encode_frame(good))
    assert channel.next_event(now=1.0) == bridge.decode(good)
    assert channel.next_event(now=1.0) is bridge.NEED_DATA


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_bridge_max_pending(sticky: bool) -> None:
    limits = Limits(max_pending=2)
    first = bridge.ServerStatusRequest(target=TARGET, request_id=guid(1))
    second = bridge.CapabilitiesQuery(target=TARGET, request_id=guid(2))
    third = bridge.CapabilitiesQuery(target=TARGET, request_id=guid(3))
    channel = bridge.ControlChannel(C, limits=limits, sticky_errors=sticky)
    channel.receive_message(bridge.encode(first))
    channel.receive_message(bridge.encode(second))
    with pytest.raises(LimitExceededError) as info:
        channel.receive_message(bridge.encode(third))
    exc = info.value
    assert (type(exc), exc.code, exc.role) == (LimitExceededError.Remote, "too-many-pending", S)
    assert "max_pending=2" in str(exc)
    assert [p.request_id for p in channel.pending_requests()] == [guid(1), guid(2)]  # the third is not kept
    if sticky:
        assert channel.error is exc
        channel = bridge.ControlChannel(C, limits=limits)
        channel.receive_message(bridge.encode(first))
    else:
        channel.send(bridge.success_response(first))
    assert channel.receive_message(bridge.encode(third)) == third
    # Our own side is bounded the same way (Local: nothing is sent).
    ours = bridge.ControlChannel(S, limits=limits)
    ours.send(first)
    ours.send(second)
    with pytest.raises(LimitExceededError) as local:
        ours.send(third)
    assert (type(local.value), local.value.code) == (LimitExceededError.Local, "too-many-pending")


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_processor_max_pending(sticky: bool) -> None:
    limits = Limits(max_pending=2)
    request = processor.encode(processor.GetCapabilitiesRequest())
    session = processor.ProcessorSession(S, limits=limits, sticky_errors=sticky)
    session.receive_message(request)
    session.receive_message(request)
    with pytest.raises(LimitExceededError) as info:
        session.receive_message(request)
    exc = info.value
    assert (type(exc), exc.code, exc.role) == (LimitExceededError.Remote, "too-many-pending", C)
    assert "max_pending=2" in str(exc)
    assert len(session.pending_requests()) == 2
    if sticky:
        session = processor.ProcessorSession(S, limits=limits)
    else:
        session.send(processor.GetCapabilitiesSuccess(capabilities={}))
    session.receive_message(request)
    assert len(session.pending_requests()) == (1 if sticky else 2)


def begin(session: processor.ProcessorSession, agent: str) -> None:
    session.send(processor.TeamStatusBeginRequest(agent_id=agent))
    session.receive_message(processor.encode(processor.TeamStatusBeginSuccess()))


def team_event(agent: str) -> str:
    return processor.encode(processor.TeamChangedEvent(agent_id=agent, team=processor.Team(team_id="t1",
                                                                                         team_name="Team 1")))


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_processor_running_reports_bound(sticky: bool) -> None:
    limits = Limits(max_pending=2)
    client = processor.ProcessorSession(C, limits=limits, sticky_errors=sticky)
    begin(client, "a1")
    begin(client, "a2")
    with pytest.raises(LimitExceededError) as info:
        begin(client, "a3")
    exc = info.value
    assert (type(exc), exc.code, exc.role, exc.pointer) == (LimitExceededError.Remote, "too-many-reports", S,
                                                            "/data/agentId")
    assert "max_pending=2" in str(exc)
    assert set(client.active_reports) == {"a1", "a2"}
    assert client.pending_requests() == ()
    if sticky:
        client = processor.ProcessorSession(C, limits=limits)
    else:
        with pytest.raises(UnexpectedMessageError) as late:
            client.receive_message(team_event("a3"))  # the refused report was not started
        assert late.value.code == "report-not-active"
        client.receive_message(team_event("a1"))
        client.send(processor.TeamStatusEndRequest(agent_id="a1"))
        client.receive_message(processor.encode(processor.TeamStatusEndSuccess()))
    begin(client, "a3")
    client.receive_message(team_event("a3"))
    assert "a3" in client.active_reports
    # The processor's own side: its third success would start one report too many.
    server = processor.ProcessorSession(S, limits=limits)
    for agent in ("a1", "a2", "a3"):
        server.receive_message(processor.encode(processor.TeamStatusBeginRequest(agent_id=agent)))
        if agent == "a3":
            with pytest.raises(LimitExceededError) as local:
                server.send(processor.TeamStatusBeginSuccess())
            assert (type(local.value), local.value.code) == (LimitExceededError.Local, "too-many-reports")
        else:
            server.send(processor.TeamStatusBeginSuccess())


def open_cceb(role: Role, limits: Limits, sticky: bool = True) -> cceb.CcebConnection:
    connection = cceb.CcebConnection(role, limits=limits, sticky_errors=sticky)
    hello = cceb.Hello.new(token=SECRET, tenant="acme")
    reply = cceb.HelloReply(uuid=hello.uuid)
    if role is S:
        connection.receive_message(cceb.encode(hello), now=0.0)
        connection.send(reply, now=0.0)
    else:
        connection.send(hello, now=0.0)
        connection.receive_message(cceb.encode(reply), now=0.0)
    return connection


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_cceb_unacked_actions_bound(sticky: bool) -> None:
    limits = Limits(max_pending=2)
    actions = [cceb.Action(uuid=uuid(10 + i), action=ACTION, action_details={"state": "Available"}) for i in range(3)]
    server = open_cceb(S, limits, sticky)
    server.receive_message(cceb.encode(actions[0]), now=1.0)
    server.receive_message(cceb.encode(actions[1]), now=1.0)
    with pytest.raises(LimitExceededError) as info:
        server.receive_message(cceb.encode(actions[2]), now=1.0)
    exc = info.value
    assert (type(exc), exc.code, exc.role) == (LimitExceededError.Remote, "too-many-pending", C)
    assert "max_pending=2" in str(exc)
    assert [item.uuid for item in server.unacked_actions()] == [uuid(10), uuid(11)]
    if sticky:
        server = open_cceb(S, limits)
    else:
        server.send(cceb.Ack.of(actions[0]), now=2.0)
    assert server.receive_message(cceb.encode(actions[2]), now=2.0) == actions[2]


@pytest.mark.parametrize("sticky", [True, False], ids=["sticky", "non-sticky"])
def test_cceb_unacked_notifications_bound(sticky: bool) -> None:
    limits = Limits(max_pending=2)
    notes = [cceb.Presence(uuid=uuid(20 + i), data={"status": "Available"}) for i in range(3)]
    client = open_cceb(C, limits, sticky)
    client.receive_message(cceb.encode(notes[0]), now=1.0)
    client.receive_message(cceb.encode(notes[1]), now=1.0)
    with pytest.raises(LimitExceededError) as info:
        client.receive_message(cceb.encode(notes[2]), now=1.0)
    exc = info.value
    assert (type(exc), exc.code, exc.role) == (LimitExceededError.Remote, "too-many-pending", S)
    assert "max_pending=2" in str(exc)
    assert [item.uuid for item in client.unacked_notifications()] == [uuid(20), uuid(21)]
    if sticky:
        client = open_cceb(C, limits)
    else:
        client.send(cceb.Ack.of(notes[0]), now=2.0)
    assert client.receive_message(cceb.encode(notes[2]), now=2.0) == notes[2]
    # Our own side: one action too many is refused before it is sent.
    ours = open_cceb(C, Limits(max_pending=1))
    ours.send(cceb.Action.new(ACTION, {"state": "Available"}), now=3.0)
    with pytest.raises(LimitExceededError) as local:
        ours.send(cceb.Action.new(ACTION, {"state": "Available"}), now=3.0)
    assert (type(local.value), local.value.code) == (LimitExceededError.Local, "too-many-pending")


# -- the validator's and the session store's bounds ------------------------------------------------------------

GET = {"command": "getCapabilities", "data": {}}
GOT = {"command": "getCapabilities", "result": "success", "data": {"capabilities": {}}}


def _rec(conn: str, sender: str, message: Any = None, *, close: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"conn": conn, "from": sender, "protocol": "processor"}
    if close:
        record["close"] = {"code": 1000}
    else:
        record["message"] = message
    return record


#: Three connections, at most two open at once allowed: C's first record drops B (the one idle longest).
CROWDED = [
    _rec("A", "client", GET),    # 1
    _rec("B", "client", GET),    # 2  B's request: never answered while B is tracked
    _rec("A", "server", GOT),    # 3
    _rec("C", "client", GET),    # 4  a third connection: B, idle since record 2, is dropped
    _rec("A", "server", GOT),    # 5  A still checked: answers nothing
    _rec("A", "client", close=True), _rec("A", "server", close=True),  # 6, 7: A ends
    _rec("B", "server", GOT),    # 8  B again: a new connection, whose first record answers nothing
    _rec("C", "server", GOT),    # 9
    _rec("C", "server", GOT),    # 10 C still checked: answers nothing
]


def test_validator_max_connections() -> None:
    report = validate_capture(CROWDED, limits=Limits(max_connections=2))
    found = {(f.record, f.conn, f.code) for f in report.findings}
    assert found == {
        (2, "B", "too-many-connections"),
        (2, "B", "unanswered-request"),  # its end-of-capture findings follow
        (5, "A", "no-outstanding-request"),
        # B again (record 8): the connection ccproto stopped tracking goes on, read as joined mid-conversation
        # (its answer may answer the request of record 2), with no finding: the bound was ours (issue 18)
        (10, "C", "no-outstanding-request"),
    }
    dropped = next(f for f in report.findings if f.code == "too-many-connections")
    assert (dropped.severity.value, dropped.kind.value) == ("warning", "capture")
    assert "max_connections=2" in dropped.message
    # Under the default bound the same capture only has its own faults (B's answer answers B's request).
    default = validate_capture(CROWDED)
    assert {(f.record, f.conn, f.code) for f in default.findings} == {
        (5, "A", "no-outstanding-request"), (10, "C", "no-outstanding-request"),
    }


def test_validator_max_connections_keeps_going_under_churn() -> None:
    """Many connections never closed, two at most tracked: one finding per drop, every record still checked."""
    records = [_rec(f"c{i}", "client", {"command": "getCapabilities", "data": []}) for i in range(50)]
    report = validate_capture(records, limits=Limits(max_connections=2))
    codes = [f.code for f in report.findings]
    assert codes.count("too-many-connections") == 48
    assert codes.count("schema-violation") == 50  # every record was checked, dropped connection or not
    assert len(report.connections["capture"]) == 50


def test_json_lines_line_bound() -> None:
    limits = Limits(max_message_bytes=1000)
    bound = 6 * 1000 + 65536
    huge = {"from": "client", "protocol": "processor", "raw": "x" * bound}
    report = validate_capture(jsonl(huge, _rec("c1", "client", GET)), limits=limits)
    by_code = {f.code: f for f in report.findings}
    assert by_code["bad-record"].record == 1
    assert f"over the {bound}" in by_code["bad-record"].message
    assert by_code["unanswered-request"].record == 2  # the next line was read and checked


def test_session_store_max_sessions() -> None:
    keys = iter(f"key-{SECRET}-{n}" for n in range(100))
    store = cceb.SessionStore(limits=Limits(max_sessions=2), new_key=lambda: next(keys))

    def hello(**members: Any) -> cceb.Hello:
        return cceb.Hello.new(token=SECRET, tenant="acme", **members)

    first, _ = store.open_session(hello(long_lived=True), now=0.0)
    second, _ = store.open_session(hello(long_lived=True), now=0.0)
    assert first is not None
    assert second is not None
    with pytest.raises(LimitExceededError) as info:
        store.open_session(hello(long_lived=True), now=1.0)
    exc = info.value
    assert (type(exc), exc.code) == (LimitExceededError.Remote, "too-many-sessions")
    assert "max_sessions=2" in str(exc)
    assert "1013" in str(exc)
    assert SECRET not in str(exc)
    assert SECRET not in repr(exc)
    assert len(store) == 2
    assert store.find(first.key, 1.0) is first
    # While full: a resume still works, and a hello that asks for no long-lived session needs no room.
    assert store.open_session(hello(long_lived=True, session_key=first.key), now=1.0) == (first, True)
    assert store.reply(hello(), now=1.0).session_key is None
    # An expired session makes room; at exactly 72 h it is still resumable, so it still holds its place.
    store.disconnected(second.key, now=10.0)
    with pytest.raises(LimitExceededError):
        store.open_session(hello(long_lived=True), now=10.0 + SESSION_LIFETIME)
    third, resumed = store.open_session(hello(long_lived=True), now=math.nextafter(10.0 + SESSION_LIFETIME, math.inf))
    assert third is not None
    assert not resumed
    assert store.find(second.key, 11.0) is None
    assert len(store) == 2

