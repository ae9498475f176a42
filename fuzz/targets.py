"""Fuzz targets: one plain function per entry point that takes outside data.

Each target takes ``data: bytes`` and feeds it (or a structure derived from it) to one of ccproto's public entry
points.  The rule every target enforces is the library's contract with untrusted input:

* the codecs and connection objects may raise only ccproto's own errors (``ProtocolError`` and its subclasses),
  which the targets catch; anything else escapes and is a finding;
* the capture readers and the validator raise nothing at all: bad input becomes ``BadRecord`` items and findings;
* nothing grows without bound: the targets assert cheap bounds (frames, pending requests, findings per record);
* where two ways of doing one thing exist, they agree (a stream split anywhere frames like the whole stream,
  ``decode`` agrees with ``decode_text``, bytes agree with their text, a decoded message re-encodes to itself,
  a model's ``repr`` and an error's words do not depend on secret values).

An ``AssertionError`` is a finding like any other escaping exception.  The same functions are driven by atheris
(``fuzz/run.py``) and by hypothesis (``tests/test_fuzz_targets.py``); ``fuzz/README.md`` says how to reproduce.

Input layouts (what the leading bytes mean) are documented on each target; :func:`seed_inputs` builds valid
inputs of every layout from a capture's records, for the seed corpus and for the tests.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import itertools
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from unittest import mock

from ccproto import bridge, cceb, processor
from ccproto.bridge.streams import read_bridge_streams
from ccproto.capture import (
    BadRecord,
    Record,
    Report,
    detect_protocol,
    read_capture,
    read_har,
    read_jsonl,
    render,
    validate_capture,
    validate_message,
    validate_records,
)
from ccproto.capture.har import looks_like_har
from ccproto.cceb import envelope
from ccproto.core.errors import LimitExceededError, ProtocolError
from ccproto.core.framing import FrameDecoder, encode_frame
from ccproto.core.jsonio import parse_object
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.redact import secret_keys
from ccproto.core.roles import Role

__all__ = [
    "SMALL_LIMITS",
    "TARGETS",
    "bridge_channel",
    "bridge_decode",
    "bridge_frames",
    "bridge_script",
    "cceb_decode",
    "cceb_server",
    "cct_soap",
    "cli_validate",
    "har_reader",
    "jsonl_reader",
    "processor_decode",
    "processor_session",
    "script",
    "seed_inputs",
    "stream_seeds",
    "validate",
    "validate_one_message",
]

#: Small bounds make limits reachable by fuzzer-sized inputs (and keep each run fast).  ``max_depth`` below the
#: fast path's bound (16 < 32) takes the depth-measuring branch of ``loads_fast``; the decode targets, the
#: validator and the CLI keep :data:`~ccproto.core.limits.DEFAULT_LIMITS`.
SMALL_LIMITS = Limits(max_message_bytes=64 * 1024, max_depth=16, max_pending=8, request_timeout=5.0)

#: Most steps one script runs (a fuzzer input of a few KB stays far below; hypothesis may go above).
MAX_STEPS = 2000
#: At most this many findings per record, plus one per input byte (``ccproto validate`` lists every schema
#: violation of a record, so one record of N bytes can give O(N) findings, never more).
FINDINGS_PER_RECORD = 8

_ROLES = (Role.CLIENT, Role.SERVER)
_Codec = Any  # one of the protocol packages: decode, decode_text, decode_value, encode


# -- shared checks --------------------------------------------------------------------------------------------


def _check_error(exc: ProtocolError) -> tuple[type[ProtocolError], str]:
    """An error's identity, after checking that it can be shown (str/repr never fail)."""
    assert isinstance(exc.code, str), exc.code
    str(exc)
    repr(exc)
    return type(exc), exc.code


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, result)`` or ``(False, (error class, code))`` for ccproto's own errors; anything else escapes."""
    try:
        return True, call()
    except ProtocolError as exc:
        return False, _check_error(exc)


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _rotate(text: str) -> str:
    """Every letter and digit replaced by the next of its kind (``a``->``b``, ``z``->``a``, ``9``->``0``)."""
    out = []
    for char in text:
        for first, size in (("a", 26), ("A", 26), ("0", 10)):
            if first <= char < chr(ord(first) + size):
                char = chr(ord(first) + (ord(char) - ord(first) + 1) % size)
                break
        out.append(char)
    return "".join(out)


def _with_rotated_secrets(value: Any, keys: frozenset[str]) -> tuple[Any, bool]:
    """A copy of a JSON value with every secret-keyed string rotated, and whether anything changed."""
    changed = False

    def walk(item: Any) -> Any:
        nonlocal changed
        if isinstance(item, dict):
            out = {}
            for key, child in item.items():
                if key in keys and isinstance(child, str) and _rotate(child) != child:
                    out[key] = _rotate(child)
                    changed = True
                else:
                    out[key] = walk(child)
            return out
        if isinstance(item, list):
            return [walk(child) for child in item]
        return item

    # Depth is bounded by the limits the value was parsed with (at most max_depth levels).
    return walk(value), changed


def _error_words(call: Callable[[], Any]) -> tuple[bool, Any]:
    """What a caller or a log could show of a decode: the message's repr, or the error's str, repr and value."""
    try:
        return True, repr(call())
    except ProtocolError as exc:
        return False, (type(exc), exc.code, str(exc), repr(exc), exc.pointer, exc.hint, json.dumps(exc.message))


def _check_secrets_hidden(codec: _Codec, value: dict[str, Any]) -> None:
    """Decoding ``value`` and a copy with other secret values must show the same: nothing shows a secret."""
    rotated, changed = _with_rotated_secrets(value, secret_keys())
    if not changed:
        return
    first = _error_words(lambda: codec.decode_value(value).message)
    second = _error_words(lambda: codec.decode_value(rotated).message)
    if first[0] == second[0]:  # one valid and one not: the secret's own value decides validity (e.g. a pattern)
        assert first == second, f"a secret's value shows: {first!r} != {second!r}"


# -- the codecs -----------------------------------------------------------------------------------------------


def _decode_checks(codec: _Codec, data: bytes, extra: Callable[[Any], None] | None = None) -> None:
    """``decode`` and ``decode_text``, plain and strict, on the bytes and on their text; all must agree."""
    text = _utf8(data)
    inputs: list[bytes | str] = [data] if text is None else [data, text]
    results = []
    for item in inputs:
        plain = _outcome(functools.partial(codec.decode, item))
        full = _outcome(functools.partial(codec.decode_text, item))
        strict = _outcome(functools.partial(codec.decode_text, item, strict=True))
        assert plain[0] == full[0], (plain, full)
        if not full[0]:
            assert plain[1] == full[1], (plain, full)
            assert not strict[0], strict  # strict refuses more, never less
            assert strict[1] == full[1], (strict, full)
            results.append(full)
            continue
        decoded = full[1]
        message = decoded.message
        assert plain[1] == message, (plain[1], message)
        if decoded.warnings:
            assert not strict[0], "strict accepted a message that has warnings"
            assert strict[1][1] == decoded.warnings[0].code, (strict, decoded.warnings)
        else:
            assert strict[0], strict
            assert strict[1].message == message, (strict, message)
        # A decoded message writes back, and what it writes decodes to the same message.
        encoded = codec.encode(message)
        again = codec.decode_text(encoded)
        assert again.message == message, (again.message, message)
        # Only the accepted quirks' warnings go away (the canonical spelling is written); none is added.
        assert {w.code for w in again.warnings} <= {w.code for w in decoded.warnings}, again.warnings
        if extra is not None:
            extra(message)
        results.append((True, message))
    if len(results) == 2:
        assert results[0] == results[1], f"bytes and text decode differently: {results}"
    if text is not None and len(data) <= 65536:
        try:
            value = parse_object(text)
        except ProtocolError:
            return
        _check_secrets_hidden(codec, value)


def bridge_decode(data: bytes) -> None:
    """``ccproto.bridge.decode`` / ``decode_text`` on ``data`` (bytes, and its text if UTF-8); default limits."""
    _decode_checks(bridge, data)


def processor_decode(data: bytes) -> None:
    """``ccproto.processor.decode`` / ``decode_text`` on ``data``; default limits."""
    _decode_checks(processor, data)


def _action_checked(message: Any) -> None:
    """An action the CCEB accepted names a supported action and sets no reserved field."""
    if isinstance(message, cceb.Action):
        assert cceb.REGISTRY.has_action(message.action), message.action
        reserved = set(envelope.RESERVED_ACTION_FIELDS) | set(envelope.CONTACT_ID_SUBSTITUTES)
        assert not reserved & set(message.action_details), sorted(reserved & set(message.action_details))


def cceb_decode(data: bytes) -> None:
    """``ccproto.cceb.decode`` / ``decode_text`` on ``data``; default limits.  Accepted actions are checked."""
    _decode_checks(cceb, data, _action_checked)


# -- the bridge's frames --------------------------------------------------------------------------------------


def _cuts(control: bytes, size: int) -> list[int]:
    """Split points in ``range(size + 1)`` from two bytes each, sorted."""
    points = [int.from_bytes(control[i : i + 2], "big") % (size + 1) for i in range(0, len(control) - 1, 2)]
    return sorted(points)


def _chunks(stream: bytes, cuts: Sequence[int]) -> list[bytes]:
    edges = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


def _frames(chunks: Iterable[bytes], limits: Limits) -> list[Any]:
    """The frames a ``FrameDecoder`` hands out for ``chunks`` (stopping at the first refused frame)."""
    decoder = FrameDecoder(limits=limits)
    out: list[Any] = []
    fed = consumed = 0
    for chunk in chunks:
        decoder.feed(chunk)
        fed += len(chunk)
        while True:
            assert decoder.buffered == fed - consumed, (decoder.buffered, fed, consumed)
            try:
                frame = decoder.next_frame()
            except LimitExceededError as exc:
                _check_error(exc)
                assert decoder.buffered == 0, "a refused frame's bytes are kept"
                out.append(("refused", exc.code))
                return out
            if frame is None:
                break
            assert len(frame) <= limits.max_message_bytes
            consumed += 4 + len(frame)
            out.append(frame)
    return out


def bridge_frames(data: bytes) -> None:
    """``FrameDecoder`` fed ``data`` in pieces: byte 0 (mod 8) is the number of cuts, each 2 bytes of offset.

    The frames must be those of the unsplit stream, must rebuild the stream's prefix exactly, and the decoder
    must hold no more than what it has not handed out.  Run with the small limits and with the defaults.
    """
    count = data[0] % 8 if data else 0
    control, stream = data[1 : 1 + 2 * count], data[1 + 2 * count :]
    pieces = _chunks(stream, _cuts(control, len(stream)))
    for limits in (SMALL_LIMITS, DEFAULT_LIMITS):
        whole = _frames([stream], limits)
        assert _frames(pieces, limits) == whole, "frames depend on where the stream was split"
        head = stream[:512]  # byte by byte: the worst split (kept short, it is the slow part)
        assert _frames([bytes([b]) for b in head], limits) == _frames([head], limits)
        payloads = [frame for frame in whole if isinstance(frame, bytes)]
        rebuilt = b"".join(encode_frame(p, limits=limits) for p in payloads)
        assert stream.startswith(rebuilt), "frames do not rebuild the stream"
        assert len(payloads) <= len(stream) // 4


_CHUNK_SIZES = (1, 2, 3, 7, 16, 64, 512, 0)  # 0: the whole stream in one piece


def _channel_events(role: Role, strict: bool, sticky: bool, chunks: Iterable[bytes]) -> list[Any]:
    """What a ``ControlChannel`` makes of ``chunks``: messages, errors, expiries, in order."""
    channel = bridge.ControlChannel(role, limits=SMALL_LIMITS, strict=strict, sticky_errors=sticky)
    events: list[Any] = []
    for chunk in chunks:
        try:
            channel.receive_data(chunk)
        except ProtocolError as exc:
            events.append(("error", _check_error(exc)))
            return events
        for _ in range(len(chunk) + 2):  # each step consumes a frame (4 bytes at least) or stops
            now = float(len(events))  # time follows the events, not the calls: the same whatever the chunking
            try:
                event = channel.next_event(now=now)
            except ProtocolError as exc:
                events.append(("error", _check_error(exc)))
                if sticky or exc.code == "frame-too-large":
                    return events  # a failed channel refuses everything; a bad length prefix ends the stream
                continue
            if event is bridge.NEED_DATA or event is bridge.CLOSED:  # an empty chunk ends the stream (as in h11)
                break
            events.append(event)
            expired = channel.handle_timer(now)
            if expired:
                events.append(("expired", tuple(p.request_id for p in expired)))
            assert len(channel.pending_requests()) <= SMALL_LIMITS.max_pending
        else:
            raise AssertionError("next_event makes no progress")
    return events


def bridge_channel(data: bytes) -> None:
    """A ``ControlChannel``'s receive side fed raw bytes; byte 0: bit 0 our role is the bridge (server), bit 1
    strict, bit 2 sticky errors, bits 3-5 the chunk size.  The events must not depend on the chunking.
    """
    flags = data[0] if data else 0
    role = _ROLES[flags & 1]
    strict, sticky = bool(flags & 2), bool(flags & 4)
    size = _CHUNK_SIZES[(flags >> 3) & 7]
    stream = data[1:]
    pieces = [stream[i : i + size] for i in range(0, len(stream), size)] if size else [stream]
    assert _channel_events(role, strict, sticky, pieces) == _channel_events(role, strict, sticky, [stream])


# -- the WebSocket protocols' connection objects: scripts -----------------------------------------------------


def script(flags: int, steps: Iterable[bytes]) -> bytes:
    """A script input: ``flags``, then one step a line (see :func:`_run_script`)."""
    return bytes([flags]) + b"\n".join(steps)


def _steps(data: bytes) -> tuple[int, list[bytes]]:
    flags = data[0] if data else 0
    return flags, data[1:].split(b"\n")[:MAX_STEPS]


def _run_script(connection: Any, codec: _Codec, flags: int, steps: Sequence[bytes],
                check: Callable[[Any], None]) -> None:
    """Play a script on a connection object (never sticky here unless flag bit 2 says so).

    A step is one line: ``<TEXT`` the peer sends TEXT (``receive_message``), ``>TEXT`` we send TEXT (decoded, then
    ``send``), ``~N`` time passes (``handle_timer``), ``#<`` / ``#>`` the peer / we close (``receive_close`` /
    ``close``, then a code), anything else is received as it is.  Flag bit 3 passes ``now`` (one second per step),
    bit 4 gives received texts as ``str`` rather than ``bytes``.
    """
    timed, as_text = bool(flags & 8), bool(flags & 16)
    now = 0.0
    for step in steps:
        now += 1.0
        when = now if timed else None
        op, body = step[:1], step[1:]
        try:
            if op == b">":
                try:
                    message = codec.decode(body)
                except ProtocolError as exc:
                    _check_error(exc)
                    continue
                sent = connection.send(message, now=when)
                assert isinstance(sent, (str, bytes))
            elif op == b"~":
                now += 1.0 + 4 * len(body)
                for item in connection.handle_timer(now):
                    repr(item)
            elif op == b"#":
                code = int(body[1:5]) if body[1:5].isdigit() else None
                close = connection.receive_close if body[:1] == b"<" else connection.close
                repr(close(code, body[5:].decode("utf-8", "replace"), now=when))
            else:
                raw = body if op == b"<" else step
                text = _utf8(raw) if as_text else None
                check(connection.receive_message(text if text is not None else raw, now=when))
        except ProtocolError as exc:
            _check_error(exc)
        assert len(connection.outstanding()) <= SMALL_LIMITS.max_pending + 1  # + a hello waiting for its reply
        timer = connection.get_timer()
        assert timer is None or timer == timer  # never NaN


class _FramedChannel:
    """A ``ControlChannel`` whose received messages go through its byte side (frames, ``next_event``)."""

    def __init__(self, channel: bridge.ControlChannel) -> None:
        self.channel = channel
        self.send = channel.send
        self.handle_timer = channel.handle_timer
        self.get_timer = channel.get_timer
        self.outstanding = channel.outstanding
        self.close = channel.close
        self.receive_close = channel.receive_close

    def receive_message(self, data: bytes | str, *, now: float | None) -> Any:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        frame = encode_frame(raw, limits=SMALL_LIMITS)
        half = len(frame) // 2
        self.channel.receive_data(frame[:half])
        assert self.channel.next_event(now=now) is bridge.NEED_DATA or half >= 4 + len(raw)
        self.channel.receive_data(frame[half:])
        event = self.channel.next_event(now=now)
        assert event is not bridge.NEED_DATA, "a whole frame was buffered but next_event needs data"
        assert self.channel.next_event(now=now) is bridge.NEED_DATA
        return event


def bridge_script(data: bytes) -> None:
    """A ``ControlChannel`` playing a script (as :func:`processor_session`, same flags): received steps are framed,
    fed to ``receive_data`` in two halves and read back with ``next_event``; sent steps go through ``send``.
    """
    flags, steps = _steps(data)
    channel = bridge.ControlChannel(_ROLES[flags & 1], limits=SMALL_LIMITS, strict=bool(flags & 2),
                                    sticky_errors=bool(flags & 4))

    def check(message: Any) -> None:
        assert isinstance(message, bridge.BridgeMessage)

    _run_script(_FramedChannel(channel), bridge, flags, steps, check)


def processor_session(data: bytes) -> None:
    """A ``ProcessorSession`` playing a script: byte 0 bit 0 our role is the processor (server), bit 1 strict,
    bit 2 sticky errors, bits 3-4 as :func:`_run_script`; then one step a line.  Small limits.
    """
    flags, steps = _steps(data)
    session = processor.ProcessorSession(_ROLES[flags & 1], limits=SMALL_LIMITS, strict=bool(flags & 2),
                                         sticky_errors=bool(flags & 4))

    def check(message: Any) -> None:
        assert isinstance(message, processor.ProcessorMessage)

    _run_script(session, processor, flags, steps, check)


def cceb_server(data: bytes) -> None:
    """A ``CcebConnection`` in the CCEB's role (server) playing a script, byte 0 as :func:`processor_session`
    (bit 0 unused).  Every action it accepts from the client names a supported action and sets no reserved field.
    """
    flags, steps = _steps(data)
    connection = cceb.CcebConnection(Role.SERVER, limits=SMALL_LIMITS, strict=bool(flags & 2),
                                     sticky_errors=bool(flags & 4))

    def check(message: Any) -> None:
        assert isinstance(message, cceb.CcebMessage)
        _action_checked(message)

    _run_script(connection, cceb, flags, steps, check)


# -- the capture readers --------------------------------------------------------------------------------------


def _check_items(items: Sequence[Any]) -> None:
    for item in items:
        assert isinstance(item, (Record, BadRecord)), type(item)
        repr(item)
        if isinstance(item, Record):
            assert item.sender in _ROLES
            assert (item.message is not None or item.raw is not None) + (item.close is not None) <= 1


def _lines_of(text: str) -> list[str]:
    """``text`` cut at ``\\n`` only, as a binary file iterates (``str.splitlines`` cuts at more)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def jsonl_reader(data: bytes) -> None:
    """``read_jsonl`` on ``data`` as a binary file's lines, and on its text's lines; it must never raise.

    Records are numbered by line, in order, at most one per line, and the text gives what the bytes give.
    """
    items = list(read_jsonl(io.BytesIO(data), file="fuzz"))
    _check_items(items)
    numbers = [item.number for item in items]
    assert numbers == sorted(set(numbers)), numbers
    assert not numbers or numbers[-1] <= data.count(b"\n") + 1
    text = _utf8(data)
    if text is not None:
        assert list(read_jsonl(_lines_of(text), file="fuzz")) == items, "text and bytes read differently"


def har_reader(data: bytes) -> None:
    """``read_har`` on ``data`` (and its text); it must never raise.  Records are numbered 1..n; a connection's
    name never keeps a URL's query string or user info; ``looks_like_har`` answers for any head.
    """
    assert looks_like_har(data[:4096]) in (True, False)
    items = list(read_har(data, file="fuzz"))
    _check_items(items)
    assert [item.number for item in items] == list(range(1, len(items) + 1))
    for item in items:
        if isinstance(item, Record):
            assert "?" not in item.conn, "a HAR connection name keeps a query string"
            assert item.ts is not None
            assert item.ts == item.ts  # not NaN
            assert isinstance(item.raw, str)
    text = _utf8(data)
    # json.loads reads bytes as UTF-8, -16 or -32 (by their first bytes, a BOM allowed): compare plain UTF-8 only.
    if text is not None and json.detect_encoding(data) == "utf-8":
        assert list(read_har(text, file="fuzz")) == items, "text and bytes read differently"


# -- the validator and ``ccproto validate`` -------------------------------------------------------------------

_KINDS = ("auto", "jsonl", "har")
_FORMATS = ("text", "json", "junit")


def _check_report(report: Report, size: int) -> None:
    assert report.records >= 0
    bound = FINDINGS_PER_RECORD * report.records + size + 16
    assert len(report.findings) <= bound, f"{len(report.findings)} findings for {report.records} records"
    for fmt in _FORMATS:
        out = render(report, fmt)
        if fmt == "json":
            assert json.loads(out)["summary"]["records"] == report.records
        elif fmt == "junit":
            ET.fromstring(out.encode("utf-8"))  # well-formed XML, whatever the input held


def _gzipped(body: bytes, flags: int) -> bytes:
    if not flags & 16:
        return body
    packed = gzip.compress(body, mtime=0)
    return packed[: len(packed) // 2] if flags & 32 else packed  # bit 5: cut short


def _stream_chunks(stream: bytes, size: int) -> Iterator[bytes]:
    return iter([stream[i : i + size] for i in range(0, len(stream), size)] if size else [stream])


def validate(data: bytes) -> None:
    """The validator on ``data`` as a capture; it must never raise.  Byte 0: bits 0-1 the input (0 auto, 1 jsonl,
    2 har, 3 raw bridge streams), bit 2 strict, bit 3 coverage, bit 4 gzip it, bit 5 cut the gzip stream short.

    Capture file: ``validate_capture`` on a binary file object (the path ``ccproto validate FILE`` takes), and
    ``report.records`` is the number of items ``read_capture`` reads.  Raw bridge streams (``--bridge-stream``):
    bytes 1-2 are the length of the client's stream, the server's follows; byte 3 picks a chunk size (bit 7: no
    client stream, bit 6: no server stream) and the report must not depend on it.  Findings are bounded by the
    records and the input's size, and every output format renders (JUnit as well-formed XML).
    """
    flags = data[0] if data else 0
    mode, strict, coverage = flags & 3, bool(flags & 4), bool(flags & 8)
    body = data[1:]
    if mode < 3:
        kind = _KINDS[mode]
        source = _gzipped(body, flags)
        report = validate_capture(io.BytesIO(source), kind=kind, strict=strict, coverage=coverage, file="fuzz")
        assert report.records == sum(1 for _ in read_capture(io.BytesIO(source), file="fuzz", kind=kind))
        _check_report(report, len(data))
        return
    split = int.from_bytes(body[:2], "big") if len(body) >= 2 else 0
    choice = body[2] if len(body) >= 3 else 0
    rest = body[3:]
    client, server = rest[:split], rest[split:]

    def run(size: int) -> Report:
        return validate_records(
            read_bridge_streams(
                None if choice & 128 else _stream_chunks(client, size),
                None if choice & 64 else _stream_chunks(server, size),
                file="streams",
            ),
            strict=strict, coverage=coverage,
        )

    whole = run(0)
    _check_report(whole, len(data))
    size = _CHUNK_SIZES[choice & 7] or 65536
    assert run(size).to_json() == whole.to_json(), "the report depends on how the streams were read"


def validate_one_message(data: bytes) -> None:
    """``validate_message`` on one message text (and its JSON value); it must never raise.  Byte 0 mod 12:
    protocol (bridge, processor, cceb), sender (client, server), strict.
    """
    flags = (data[0] if data else 0) % 12
    protocol = ("bridge", "processor", "cceb")[flags % 3]
    direction = _ROLES[(flags // 3) % 2]
    strict = flags >= 6
    text = _utf8(data[1:])
    if text is None:
        return
    findings = validate_message(text, protocol=protocol, direction=direction, strict=strict)
    assert len(findings) <= FINDINGS_PER_RECORD + len(data)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return
    if isinstance(value, dict):
        again = validate_message(value, protocol=protocol, direction=direction, strict=strict)
        assert len(again) <= FINDINGS_PER_RECORD + len(data)


class _Stdin:
    """Stands in for ``sys.stdin``: ``ccproto validate -`` reads ``sys.stdin.buffer``."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


def cli_validate(data: bytes) -> None:
    """``ccproto validate -`` (``ccproto.cli.main``) with ``data`` on standard input.  Byte 0: bits 0-1 the
    format (text, json, junit), bit 2 ``--strict``, bit 3 ``--coverage``, bits 4-5 ``--input-format``, bit 6
    ``--max-findings 3``.  The exit status is 0 or 1 (2 would be a usage error), never an exception.
    """
    from ccproto import cli

    flags = data[0] if data else 0
    fmt = _FORMATS[(flags & 3) % 3]
    argv = ["validate", "-", "--format", fmt, "--input-format", _KINDS[((flags >> 4) & 3) % 3]]
    argv += ["--strict"] * bool(flags & 4) + ["--coverage"] * bool(flags & 8)
    argv += ["--max-findings", "3"] * bool(flags & 64)
    out, err = io.StringIO(), io.StringIO()
    with (mock.patch.object(sys, "stdin", _Stdin(data[1:])), contextlib.redirect_stdout(out),
          contextlib.redirect_stderr(err)):
        status = cli.main(argv)
    assert status in (cli.EXIT_OK, cli.EXIT_FINDINGS), (status, err.getvalue()[-500:])
    text = out.getvalue()
    if fmt == "json":
        json.loads(text)
    elif fmt == "junit":
        ET.fromstring(text.encode("utf-8"))


#: Every target, by name (``python fuzz/run.py NAME``).
def cct_soap(data: bytes) -> None:
    """``ccproto.cct.soap.read_soap`` on the bytes and on their text: only ccproto's errors escape."""
    from ccproto.cct.soap import read_soap

    for value in (data, _utf8(data)):
        if value is not None:
            _outcome(functools.partial(read_soap, value, limits=SMALL_LIMITS))


def _soap_seeds() -> list[bytes]:
    """A CCT login request, its response with a session token, and a fault (built from the catalogue's names)."""
    from ccproto.cct.catalogue import service

    login = next(op for op in service("SessionService").operations if op.name == "LogInToCCTServer")
    envelope = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{}</s:Body></s:Envelope>'
    request = login.request
    assert login.response is not None
    response = login.response
    token = f'<ssoToken xmlns="{response.namespace}"><token xmlns="http://www.nortel.com/soa/oi/cct/types">x</token></ssoToken>'
    return [
        envelope.format(f'<r:{request.local} xmlns:r="{request.namespace}"/>').encode("utf-8"),
        envelope.format(f'<r:{response.local} xmlns:r="{response.namespace}">{token}</r:{response.local}>').encode(),
        envelope.format("<s:Fault><faultcode>s:Server</faultcode><faultstring>no</faultstring></s:Fault>").encode(),
    ]


TARGETS: dict[str, Callable[[bytes], None]] = {
    "bridge_decode": bridge_decode,
    "processor_decode": processor_decode,
    "cceb_decode": cceb_decode,
    "bridge_frames": bridge_frames,
    "bridge_channel": bridge_channel,
    "bridge_script": bridge_script,
    "processor_session": processor_session,
    "cceb_server": cceb_server,
    "jsonl_reader": jsonl_reader,
    "har_reader": har_reader,
    "validate": validate,
    "validate_message": validate_one_message,
    "cli_validate": cli_validate,
    "cct_soap": cct_soap,
}


# -- valid inputs of every layout, from a capture's records ---------------------------------------------------


def _text(record: Mapping[str, Any]) -> str | None:
    if "raw" in record and isinstance(record["raw"], str):
        return str(record["raw"])
    if "message" in record:
        return json.dumps(record["message"], ensure_ascii=False, separators=(",", ":"))
    return None


def _protocol(record: Mapping[str, Any]) -> str | None:
    protocol = record.get("protocol")
    if isinstance(protocol, str):
        return protocol
    text = _text(record)
    try:
        return detect_protocol(json.loads(text)) if text is not None else None
    except ValueError:
        return None


def _conversations(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """The records of each (protocol, connection), in order."""
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        protocol = _protocol(record)
        if protocol is not None:
            found.setdefault((protocol, str(record.get("conn", "default"))), []).append(record)
    return found


def _script_steps(records: Sequence[Mapping[str, Any]], ours: str) -> list[bytes]:
    steps = []
    for record in records:
        mine = record.get("from") == ours
        if "close" in record:
            steps.append(b"#" + (b">" if mine else b"<") + b"1000")
            continue
        text = _text(record)
        if text is not None:
            steps.append((b">" if mine else b"<") + text.encode("utf-8"))
    return steps


def seed_inputs(name: str, records: Sequence[Mapping[str, Any]], capture: bytes = b"") -> list[bytes]:
    """Inputs for target ``name`` built from the records of one capture (and the capture file's bytes)."""
    texts = [(str(_protocol(r)), str(r.get("from")), t) for r in records if (t := _text(r)) is not None]
    conversations = _conversations(records)
    if name in ("bridge_decode", "processor_decode", "cceb_decode"):
        protocol = name.split("_")[0]
        return [t.encode("utf-8") for p, _, t in texts if p == protocol]
    if name == "validate_message":
        protocols = ("bridge", "processor", "cceb")
        return [bytes([protocols.index(p) + 3 * (sender == "server")]) + t.encode("utf-8")
                for p, sender, t in texts if p in protocols]
    if name in ("bridge_frames", "bridge_channel"):
        out = []
        for (protocol, _), conv in conversations.items():
            if protocol != "bridge":
                continue
            for role, flag in (("server", 1), ("client", 0)):
                stream = b"".join(encode_frame(t.encode("utf-8")) for r in conv
                                  if r.get("from") != role and (t := _text(r)) is not None)
                out.append(bytes([0]) + stream if name == "bridge_frames" else bytes([flag | 8 * 5]) + stream)
        return out
    if name in ("bridge_script", "processor_session", "cceb_server"):
        protocol = name.split("_")[0]
        out = []
        for (proto, _), conv in conversations.items():
            if proto != protocol:
                continue
            for ours, flag in (("server", 1), ("client", 0)):
                if name == "cceb_server" and ours == "client":
                    continue
                out.append(script(flag | 8, _script_steps(conv, ours)))
        return out
    if name == "jsonl_reader":
        return [capture] if capture and not looks_like_har(capture[:4096]) else []
    if name == "har_reader":
        return [capture] if capture and looks_like_har(capture[:4096]) else []
    if name == "validate":
        return [bytes([0]) + capture, bytes([8 | 16]) + capture] if capture else []
    if name == "cli_validate":
        return [bytes([1]) + capture, bytes([2 | 4]) + capture] if capture else []
    if name == "cct_soap":
        return _soap_seeds()
    raise KeyError(name)


def stream_seeds(client: bytes, server: bytes) -> list[tuple[str, bytes]]:
    """``(target, input)`` pairs from two raw bridge streams (``--bridge-stream client=... server=...``)."""
    return [
        ("validate", bytes([3]) + len(client).to_bytes(2, "big") + bytes([2]) + client + server),
        ("bridge_frames", bytes([2]) + b"\x00\x05\x00\x63" + client),
        ("bridge_channel", bytes([1 | 8 * 4]) + client),  # the bridge reads what the client sent
        ("bridge_channel", bytes([0 | 8 * 4]) + server),
    ]
