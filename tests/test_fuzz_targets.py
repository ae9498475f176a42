"""The fuzz targets (``fuzz/targets.py``) driven by hypothesis: random bytes, mutated valid messages, every seed.

The targets are the functions atheris runs (``fuzz/run.py``); each raises only when ccproto breaks its contract
with untrusted input (an exception that is not ccproto's own escapes, a reader or the validator raises at all,
an invariant of the target fails).  Library bugs found by fuzzing are pinned below as regression tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto import bridge, cceb, processor
from ccproto.capture import BadRecord, detect_protocol, read_jsonl, validate_capture, validate_message
from ccproto.core.errors import ProtocolError
from ccproto.core.framing import encode_frame

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
CAPTURES = ROOT / "examples" / "captures"
if str(FUZZ) not in sys.path:
    sys.path.insert(0, str(FUZZ))
targets: ModuleType = importlib.import_module("targets")
run_py: ModuleType = importlib.import_module("run")

TARGETS: dict[str, Callable[[bytes], None]] = targets.TARGETS
NAMES = sorted(TARGETS)
PROTOCOLS = ("bridge", "processor", "cceb")

FUZZ_SETTINGS = settings(
    max_examples=100, deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# -- material: the example captures ---------------------------------------------------------------------------


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _protocol(record: dict[str, Any]) -> str | None:
    protocol = record.get("protocol")
    return protocol if isinstance(protocol, str) else detect_protocol(record.get("message"))


JSONL = sorted(CAPTURES.glob("*.jsonl"))
RECORDS = {path.stem: _records(path) for path in JSONL}
#: (protocol, sender, compact message text) of every message record of the example captures.
MESSAGES: list[tuple[str, str, str]] = sorted({
    (protocol, str(record["from"]), json.dumps(record["message"], ensure_ascii=False, separators=(",", ":")))
    for records in RECORDS.values() for record in records
    if "message" in record and (protocol := _protocol(record)) is not None
})
#: Per protocol, one conversation as script steps (``<`` from the peer, ``>`` ours), our role being the server.
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "bridge": RECORDS["bridge-clean"], "processor": RECORDS["processor-clean"],
    "cceb": [r for r in RECORDS["cceb-clean"] if r.get("conn") == "agent-1"],
}


def _steps(protocol: str) -> list[bytes]:
    steps = []
    for record in CONVERSATIONS[protocol]:
        ours = record.get("from") == "server"
        if "close" in record:
            steps.append(b"#" + (b">" if ours else b"<") + b"1000")
        else:
            text = json.dumps(record["message"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            steps.append((b">" if ours else b"<") + text)
    return steps


def test_the_material_is_there() -> None:
    """The examples give every protocol messages from both sides, and every target the issue names exists."""
    assert {(p, s) for p, s, _ in MESSAGES} == {(p, s) for p in PROTOCOLS for s in ("client", "server")}
    assert {"bridge_decode", "processor_decode", "cceb_decode", "bridge_frames", "bridge_channel", "cceb_server",
            "processor_session", "jsonl_reader", "har_reader", "validate"} <= set(TARGETS)
    for name, target in TARGETS.items():
        assert target.__doc__, name


# -- mutations ---------------------------------------------------------------------------------------------------

_TOKENS = [b"{", b"}", b"[", b"]", b'"', b",", b":", b"null", b"\\", b"\\u", b"\\ud800", b"0", b"-", b"e9", b" "]
_ODD_BYTES = [
    b"\xef\xbb\xbf",  # a byte order mark
    b"\xed\xa0\x80",  # a surrogate written as UTF-8 (not UTF-8)
    b"\xc0\xaf",  # an overlong encoding
    b"\xff", b"\x00", b"\xe2\x80\xa8",  # U+2028
    b"\xf0\x9d\x84\x9e",  # U+1D11E, outside the BMP
]
_ODD_STRINGS = [
    "\\ud800", "\\udc00x", "\\ud83d\\ude00", "\\u0000", "\ufeff", "\u2028\u2029", "e\u0301", "\U0001d11e", "\uffff",
    "\u202e", "", " ", "\\\\", '\\"', "\x7f", "A" * 3000,
]
_ODD_NUMBERS = [
    "1" + "0" * 400, "1e400", "-1e400", "-0.0", "1E-400", str(2**64), str(-(2**63) - 1), "0.1e1", "1.0", "-1",
    str(2**53 + 1), "9" * 4400, "0e0", "1.5",
]
#: Deep nesting: ccproto's parser bounds the depth of what it reads, but ``validate_message``'s target also hands
#: over the JSON value ``json.loads`` made of its text, which reaches the checker without that bound: for that
#: target nesting stays below what trips RecursionError (pinned by test_a_deep_json_value_does_not_crash).
_DEPTHS = [17, 65, 200, 1200, 100_000]
_SHALLOW_DEPTHS = [17, 65, 200]

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


_HOLE = "\x00HOLE\x00"


def _with_hole(value: Any, path: tuple[Any, ...]) -> str:
    """The compact text of ``value`` with the value at ``path`` replaced by a marker to substitute."""
    if not path:
        return json.dumps(_HOLE)
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = _HOLE
    return json.dumps(copy, ensure_ascii=False, separators=(",", ":"))


@st.composite
def mutated_text(draw: st.DrawFn, text: str, depths: list[int]) -> bytes:
    """``text`` (a valid message) with one mutation: bytes flipped, inserted or deleted, a JSON value spliced in,
    deep nesting, a huge or odd number, an odd string or odd bytes."""
    data = text.encode("utf-8")
    kind = draw(st.sampled_from(["flip", "insert", "delete", "splice", "deep", "number", "string", "bytes"]))
    if kind in ("flip", "insert", "delete", "bytes"):
        at = draw(st.integers(0, len(data)))
        if kind == "flip":
            at = min(at, len(data) - 1)
            return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        if kind == "insert":
            inserted = draw(st.sampled_from(_TOKENS) | st.binary(min_size=1, max_size=6))
            return data[:at] + inserted + data[at:]
        if kind == "bytes":
            return data[:at] + draw(st.sampled_from(_ODD_BYTES)) + data[at:]
        return data[:at] + data[at + draw(st.integers(1, 40)) :]
    value = json.loads(text)
    path = draw(st.sampled_from(_paths(value)))
    holed = _with_hole(value, path)
    hole = json.dumps(_HOLE)
    piece: str
    if kind == "splice":
        piece = json.dumps(draw(JSON_VALUES), ensure_ascii=False)
    elif kind == "deep":
        depth = draw(st.sampled_from(depths))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        piece = opener * depth + "0" + closer * depth
    elif kind == "number":
        piece = draw(st.sampled_from(_ODD_NUMBERS))
    else:
        piece = '"' + draw(st.sampled_from(_ODD_STRINGS)) + '"'
    return holed.replace(hole, piece, 1).encode("utf-8")


@st.composite
def mutated_input(draw: st.DrawFn, name: str) -> bytes:
    """An input for target ``name`` built around one mutated message of the examples."""
    own = name.split("_")[0]
    pool = [m for m in MESSAGES if m[0] == own] if own in PROTOCOLS else MESSAGES
    protocol, sender, text = draw(st.sampled_from(pool))
    message = draw(mutated_text(text, _SHALLOW_DEPTHS if name == "validate_message" else _DEPTHS))
    flags = draw(st.integers(0, 255))
    if name.endswith("_decode"):
        return message
    if name == "validate_message":
        return bytes([PROTOCOLS.index(protocol) + 3 * (sender == "server") + 6 * (flags & 1)]) + message
    frame = len(message).to_bytes(4, "big") + message
    if name == "bridge_frames":
        return bytes([2]) + draw(st.binary(min_size=4, max_size=4)) + frame + frame
    if name == "bridge_channel":
        return bytes([flags]) + b"".join(encode_frame(s[1:]) for s in _steps("bridge")[:3] if s[:1] == b">") + frame
    if name in ("bridge_script", "processor_session", "cceb_server"):
        steps = _steps(own)
        at = draw(st.integers(0, len(steps)))
        played: bytes = targets.script(flags | 1, [*steps[:at], b"<" + message, *steps[at:]])
        return played
    record_line = json.dumps({"from": sender, "protocol": protocol, "raw": message.decode("utf-8", "replace")})
    try:
        as_value = json.dumps({"from": sender, "protocol": protocol, "message": json.loads(message)})
    except (ValueError, RecursionError):
        as_value = record_line
    capture = (record_line + "\n" + as_value + "\n").encode("utf-8")
    if name == "har_reader":
        frame_ = {"type": "send" if sender == "client" else "receive", "time": 1.5, "opcode": 1,
                  "data": message.decode("utf-8", "replace")}
        return json.dumps({"log": {"entries": [{"request": {"url": "wss://h/p?token=x"},
                                                "_webSocketMessages": [frame_]}]}}).encode("utf-8")
    if name == "jsonl_reader":
        return capture
    return bytes([flags & 0b1110_1100]) + capture  # auto-detected JSON Lines, plain


@st.composite
def mutated_capture(draw: st.DrawFn) -> bytes:
    """A whole example capture file with a few bytes flipped, inserted or deleted."""
    data = bytearray(draw(st.sampled_from([p.read_bytes() for p in sorted(CAPTURES.glob("*.*"))])))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == 1:
            data[at:at] = draw(st.sampled_from(_TOKENS + _ODD_BYTES + [b"\n"]))
        else:
            del data[at : at + draw(st.integers(1, 30))]
    return bytes(data)


# -- the properties ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@FUZZ_SETTINGS
@given(data=st.binary(max_size=600))
def test_random_bytes(name: str, data: bytes) -> None:
    """Random bytes: only ccproto's own errors, which the target catches, and no broken invariant."""
    TARGETS[name](data)


@pytest.mark.parametrize("name", NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_messages(name: str, data: st.DataObject) -> None:
    """A valid message of the examples, mutated, in the target's input layout."""
    TARGETS[name](data.draw(mutated_input(name)))


@pytest.mark.parametrize("name", ["jsonl_reader", "har_reader", "validate", "cli_validate"])
@settings(FUZZ_SETTINGS, max_examples=40)
@given(data=st.data())
def test_mutated_captures(name: str, data: st.DataObject) -> None:
    """A whole example capture, mutated (the flag byte of the validator's layout picks auto-detection)."""
    capture = data.draw(mutated_capture())
    TARGETS[name](capture if name.endswith("_reader") else bytes([data.draw(st.sampled_from([0, 4, 8]))]) + capture)


@pytest.mark.parametrize("name", NAMES)
def test_every_seed(name: str) -> None:
    """Every committed seed runs through its target cleanly."""
    seeds = sorted((FUZZ / "seeds" / name).iterdir())
    assert seeds, f"no seeds for {name}"
    for seed in seeds:
        TARGETS[name](seed.read_bytes())


def test_the_seed_corpus_is_built_from_the_examples_and_small(tmp_path: Path) -> None:
    """``run.py --make-seeds`` rebuilds exactly the committed corpus, which stays under 500 KB."""
    assert run_py.make_seeds(tmp_path) == 0
    built = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(FUZZ / "seeds"): p.read_bytes() for p in (FUZZ / "seeds").rglob("*") if p.is_file()}
    assert built == committed, "the examples changed: rebuild the seeds with python fuzz/run.py --make-seeds"
    assert sum(len(data) for data in committed.values()) < 500 * 1024


def test_a_random_split_bridge_stream_frames_as_a_whole() -> None:
    """The frame target's own oracle works: cut points in the input do not change the frames."""
    stream = (CAPTURES / "bridge-stream.client.bin").read_bytes()
    rng = random.Random(7)
    for _ in range(20):
        cuts = b"".join(rng.randrange(65536).to_bytes(2, "big") for _ in range(7))
        targets.bridge_frames(bytes([7]) + cuts + stream)


def test_the_targets_catch_only_ccprotos_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-ccproto exception from the library escapes a target (that is what makes it a finding)."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("planted")

    monkeypatch.setattr(bridge, "decode", broken)
    with pytest.raises(KeyError, match="planted"):
        targets.bridge_decode(b"{}")


def test_the_decode_targets_notice_a_secret_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret oracle works: a hello whose repr showed its token would be a finding."""
    hello = next(t for p, s, t in MESSAGES if p == "cceb" and '"type":"hello"' in t).encode("utf-8")
    targets.cceb_decode(hello)
    monkeypatch.setattr(cceb.Hello, "__repr__", lambda self: f"Hello(token={self.token!r})")
    with pytest.raises(AssertionError, match="a secret's value shows"):
        targets.cceb_decode(hello)


def test_reproduce_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``run.py --reproduce`` re-runs one input: 0 without a finding, 1 and the traceback with one."""
    seed = next(iter(sorted((FUZZ / "seeds" / "cceb_decode").iterdir())))
    assert run_py.main(["--reproduce", "cceb_decode", str(seed)]) == 0
    assert "no finding" in capsys.readouterr().out

    def broken(data: bytes) -> None:
        raise IndexError("planted")

    monkeypatch.setitem(TARGETS, "cceb_decode", broken)
    assert run_py.main(["--reproduce", "cceb_decode", str(seed)]) == 1
    captured = capsys.readouterr()
    assert "IndexError: planted" in captured.err
    assert "FINDING" in captured.out


#: The smallest input that crashed ``bridge_decode`` before 18defd3 (test_a_repeated_key_then_bad_json_...).
KNOWN_CRASH = b'{"a":{"b":0,"b":0},}'


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris (the fuzz extra) is not installed")
def test_atheris_runs_a_target(tmp_path: Path) -> None:
    """``python fuzz/run.py --seconds 5 bridge_decode`` fuzzes, reports one line, and finds nothing.

    The input of a crash fuzzing found is planted in the corpus: libFuzzer runs the corpus first, so the run
    fails for sure, not by luck, should that crash come back.
    """
    corpus = tmp_path / "corpus" / "bridge_decode"
    corpus.mkdir(parents=True)
    for seed in (FUZZ / "seeds" / "bridge_decode").iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    (corpus / "known-crash").write_bytes(KNOWN_CRASH)
    done = subprocess.run(
        [sys.executable, str(FUZZ / "run.py"), "--seconds", "5", "--work", str(tmp_path), "bridge_decode"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr + (tmp_path / "logs" / "bridge_decode.log").read_text()
    assert done.stdout.startswith("bridge_decode ")
    assert "no finding" in done.stdout
    assert any((tmp_path / "corpus" / "bridge_decode").iterdir())


# -- library bugs found by fuzzing -----------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [bridge, processor, cceb], ids=PROTOCOLS)
def test_a_repeated_key_then_bad_json_is_a_decode_error(codec: Any) -> None:
    """Found by bridge_decode (fixed in 18defd3): json.JSONDecodeError escaped when a repeated key came before
    a syntax error (the repeated key's error re-parsed text that is not JSON)."""
    with pytest.raises(ProtocolError):
        codec.decode(KNOWN_CRASH)


def test_a_repeated_key_then_bad_json_is_a_bad_record() -> None:
    """The same input as a capture line: a BadRecord, not a crash (found by jsonl_reader; fixed in 18defd3)."""
    items = list(read_jsonl(io.BytesIO(KNOWN_CRASH + b"\n"), file="capture"))
    assert [type(item) for item in items] == [BadRecord]
    assert validate_capture(io.BytesIO(KNOWN_CRASH + b"\n")).failed


DEEP = "[" * 500 + "]" * 500


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_deep_message_record_is_a_finding(protocol: str) -> None:
    """A JSON Lines record whose message nests 500 deep: a finding, not a RecursionError (fixed in 18defd3)."""
    line = b'{"from":"client","protocol":"%s","message":{"x":%s}}\n' % (protocol.encode(), DEEP.encode())
    assert validate_capture(io.BytesIO(line)).failed


def _validate_dict_record(protocol: str, value: Any) -> Any:
    return validate_capture([{"from": "client", "protocol": protocol, "message": value}]).failed


def _validate_message_value(protocol: str, value: Any) -> Any:
    return validate_message(value, protocol=protocol, direction="client")


def _decode_value(protocol: str, value: Any) -> Any:
    codec = {"bridge": bridge, "processor": processor, "cceb": cceb}[protocol]
    with pytest.raises(ProtocolError):
        codec.decode_value(value)
    return True


# Found by fuzzing: a RecursionError escaped here (core.redact.redact recursed); redact now stops at REDACT_DEPTH.
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("entry", [_validate_dict_record, _validate_message_value, _decode_value],
                         ids=["validate_capture-dicts", "validate_message-value", "decode_value"])
def test_a_deep_json_value_does_not_crash(entry: Callable[[str, Any], Any], protocol: str) -> None:
    assert entry(protocol, {"x": json.loads(DEEP)})
