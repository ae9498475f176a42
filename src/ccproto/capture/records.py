"""Reading captures: JSON Lines, one record a line.

A record is ``{"ts", "conn", "from", "protocol", "message"}`` (or ``"raw"``
text in place of ``"message"``; ``"close": {"code", "reason"}`` when the
side ``from`` closed the connection, e.g. a WebSocket close frame; ``"open": {...}``
when the side ``from`` opened it, so the capture holds the connection from its start).
``ts`` is an RFC 3339 string or epoch seconds; ``conn`` defaults to one connection;
``protocol`` may be left out and is then detected from the message's shape.  Blank
lines are allowed and keep their line numbers, so record numbers are line numbers.

Lines are parsed with orjson where it provably gives what the standard parser gives
(``core.jsonio.loads_object_fast``), and with the standard parser otherwise.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import (
    DUPLICATE_KEY,
    JsonValue,
    check_parsed,
    json_error,
    json_loads_strict,
    loads_object_fast,
)
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.record import BadRecord, Record
from ccproto.core.roles import Role
from ccproto.protocols import KNOWN, recognize

__all__ = [
    "PROTOCOLS", "BadRecord", "Record", "bounded_lines", "detect_protocol", "parse_timestamp", "read_jsonl",
    "record_bytes", "record_from",
]

#: The record's ``from``.
_SENDERS = {role.value: role for role in Role}
#: Floats of smaller magnitude are read alike by orjson and the standard parser (larger ones may have been
#: integers beyond 64 bits in the text).
_EXACT_FLOAT = 2.0**53

#: The protocols a record may name: the registered ones (a live view of ``ccproto.protocols``).
PROTOCOLS = KNOWN
#: The connection a record without ``conn`` belongs to.
DEFAULT_CONN = "default"


def parse_timestamp(value: Any) -> float:
    """Epoch seconds from an RFC 3339 string or a number; raises ``ValueError``."""
    kind = value.__class__
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        raise ValueError("ts must be an RFC 3339 string or epoch seconds")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        parsed = datetime.datetime.fromisoformat(value.replace("z", "Z"))
        if parsed.tzinfo is None:
            raise ValueError("ts needs a time zone offset (RFC 3339)")
        return parsed.timestamp()
    raise ValueError("ts must be an RFC 3339 string or epoch seconds")


def detect_protocol(message: JsonValue) -> str | None:
    """Guess a message's protocol from its shape (``None`` when nothing fits): the first registered protocol whose
    spec recognizes it (``ccproto.protocols.recognize``)."""
    return recognize(message)


def record_from(file: str, number: int, value: Any, source: bytes | None = None) -> Record | BadRecord | None:
    """The record (or bad record) a parsed line holds.

    With ``source`` (orjson parsed the line) ``None`` means: read the line again with the standard parser
    (a value whose reading could differ, i.e. an integer beyond 64 bits read as a float where a record
    member must be an integer).
    """
    if not isinstance(value, dict):
        return BadRecord(file=file, number=number, conn=None, detail="a record must be a JSON object")
    conn = value.get("conn", DEFAULT_CONN)
    if not isinstance(conn, str):
        return BadRecord(file=file, number=number, conn=None, detail="'conn' must be a string")

    def bad(detail: str) -> BadRecord:
        return BadRecord(file=file, number=number, conn=conn, detail=detail)

    sender = value.get("from")
    sender = _SENDERS.get(sender) if sender.__class__ is str else None
    if sender is None:
        return bad("'from' must be 'client' or 'server'")
    protocol = value.get("protocol")
    if protocol is not None and not (protocol.__class__ is str and protocol in PROTOCOLS):
        return bad("'protocol' must be one of " + ", ".join(repr(p) for p in PROTOCOLS))
    ts: float | None = None
    if "ts" in value:
        stamp = value["ts"]
        if stamp.__class__ is float and source is not None and not -_EXACT_FLOAT < stamp < _EXACT_FLOAT:
            return None  # perhaps an integer beyond 64 bits, read as a float: the standard parser decides
        try:
            ts = parse_timestamp(stamp)
        except (ValueError, OverflowError):
            return bad("'ts' must be an RFC 3339 string (with offset) or epoch seconds")
    if ("message" in value) + ("raw" in value) + ("close" in value) + ("open" in value) != 1:
        return bad("a record has exactly one of 'message', 'raw', 'close' and 'open'")
    raw = value.get("raw")
    if "raw" in value and not isinstance(raw, str):
        return bad("'raw' must be a string")
    close: tuple[int | None, str] | None = None
    if "close" in value:
        spec = value["close"]
        code = spec.get("code") if isinstance(spec, dict) else None
        reason = spec.get("reason", "") if isinstance(spec, dict) else None
        if source is not None and code.__class__ is float:
            return None  # perhaps an integer beyond 64 bits: the standard parser decides
        if not isinstance(spec, dict) or (code is not None and type(code) is not int) or not isinstance(reason, str):
            return bad("'close' must be an object with an optional integer 'code' and string 'reason'")
        close = (code, reason)
    opened = value.get("open")
    if "open" in value and not isinstance(opened, dict):
        return bad("'open' must be an object")
    return Record(
        file=file, number=number, ts=ts, conn=conn, sender=sender, protocol=protocol,
        message=value.get("message"), raw=raw, close=close, open=opened, source=source,
    )


_new = object.__new__


def _fast_record(file: str, number: int, value: dict[str, Any], line: bytes) -> Record | BadRecord | None:
    """:func:`record_from` of a line orjson read: the common shape (a message, epoch ``ts``) built field by field.

    At capture speed, ``Record(...)``'s keyword call costs as much as the rest; any other shape takes
    :func:`record_from`.
    """
    if len(value) <= 5:
        message = value.get("message")
        conn = value.get("conn", DEFAULT_CONN)
        sender = value.get("from")
        sender = _SENDERS.get(sender) if sender.__class__ is str else None
        stamp = value.get("ts")
        protocol = value.get("protocol")
        if (
            message.__class__ is dict and conn.__class__ is str and sender is not None
            and (
                (stamp.__class__ is float and -_EXACT_FLOAT < stamp < _EXACT_FLOAT)
                or (stamp is None and "ts" not in value)
            )
            and (
                (protocol is None and "protocol" not in value) or (protocol.__class__ is str and protocol in PROTOCOLS)
            )
            and len(value) == 2 + ("conn" in value) + ("ts" in value) + ("protocol" in value)
        ):
            record: Record = _new(Record)
            record.file, record.number, record.ts, record.conn, record.sender = file, number, stamp, conn, sender
            record.protocol, record.message, record.raw, record.close, record.location = (
                protocol, message, None, None, None)
            record.binary, record.open, record.starts_connection, record.source = False, None, False, line
            record.http = None  # every slot set: repr, evolve and == read them all
            return record
    return record_from(file, number, value, line)


def record_bytes(limits: Limits) -> int:
    """The longest line a JSON Lines capture may hold: a record around a message of ``max_message_bytes``.

    A message's raw text, written as a JSON string, may grow up to six times (``\\u001f`` for one byte).
    """
    return 6 * limits.max_message_bytes + 65536


class _Overlong(bytes):
    """What :func:`bounded_lines` gives for a line over its bound (nothing of it is kept)."""

    length = 0
    limit = 0


#: How much of a capture is read at once (lines are cut from it in C, not read one by one).
_CHUNK = 1 << 20


def _overlong(length: int, limit: int) -> _Overlong:
    marker = _Overlong(b"")
    marker.length, marker.limit = length, limit
    return marker


def bounded_lines(stream: Any, limit: int) -> Iterator[bytes]:
    """The lines of a binary stream (without their ``\\n``), none longer than ``limit`` bytes held in memory.

    A longer line is read past in pieces and given as a marker that :func:`read_jsonl` reports as a bad
    record, so one huge line neither exhausts memory nor stops the lines after it.
    """
    rest = b""
    skipping = 0  # bytes of an overlong line read past so far (its end not seen yet)
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                skipping += len(chunk)
                continue
            yield _overlong(skipping + end + 1, limit)
            skipping = 0
            chunk = chunk[end + 1:]
        lines = (rest + chunk if rest else chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line if len(line) < limit else _overlong(len(line) + 1, limit)
        if len(rest) > limit:
            skipping, rest = len(rest), b""
    if skipping:
        yield _overlong(skipping, limit)
    elif rest:
        yield rest if len(rest) <= limit else _overlong(len(rest), limit)


def read_jsonl(
    lines: Iterable[str | bytes], *, file: str, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record | BadRecord]:
    """Records (or bad records) from the lines of a JSON Lines capture (text, or bytes decoded as UTF-8).

    A record's ``message`` gets the checks a message's text gets after parsing (``limits.max_depth``, lone
    surrogates): breaking one makes the record a bad record naming it.
    """
    for number, line in enumerate(lines, start=1):
        if line.__class__ is bytes:
            # The fast path: orjson, where it provably reads what the standard parser reads (no repeated key).
            fast = loads_object_fast(line, limits)
            if fast is not None:
                found = _fast_record(file, number, fast, line)
                if found is not None:
                    yield found
                    continue
        elif isinstance(line, _Overlong):
            yield BadRecord(file=file, number=number, conn=None,
                            detail=f"line of {line.length} bytes is over the {line.limit} a record may have"
                                   " (6 x max_message_bytes + 64 KiB); skipped")
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield BadRecord(file=file, number=number, conn=None, detail="line is not valid UTF-8")
                continue
        elif number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            # Same strictness as message decoding: no NaN/Infinity, no numbers that overflow.
            line = line.rstrip("\r\n")  # so an error's position is in the line (the line break is not JSON)
            value = json_loads_strict(line)
        except RecursionError:
            yield BadRecord(file=file, number=number, conn=None, detail="line is not valid JSON: nested too deep")
            continue
        except ValueError as exc:
            # What is wrong and where (a repeated key, a truncated line), never the line itself.
            error = json_error(exc, line)
            where = f" at {error.pointer}" if error.pointer else ""
            what = error.detail.removeprefix("not valid JSON: ")
            detail = f"line refused: {what}" if error.code == DUPLICATE_KEY else f"line is not valid JSON: {what}"
            yield BadRecord(file=file, number=number, conn=None, detail=detail + where)
            continue
        item = record_from(file, number, value)
        assert item is not None  # only a record read by orjson is read again
        if isinstance(item, Record) and item.message is not None:
            try:
                check_parsed(item.message, line, limits)
            except ProtocolError as exc:
                where = f" at /message{exc.pointer}" if exc.pointer else ""
                detail = f"message refused: {exc.detail}{where}"
                item = BadRecord(file=file, number=number, conn=item.conn, detail=detail)
        yield item
