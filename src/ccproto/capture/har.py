"""Reading HAR files exported by Chromium-based browsers' DevTools (their WebSocket frames).

Every ``log.entries[i]._webSocketMessages[j]`` becomes one record: ``type``
``send`` is the client, ``receive`` the server; ``time`` is epoch seconds;
``opcode`` 1 is a text frame, 2 a binary one (``data`` base64, decoded and
read as UTF-8 text, with a warning: the protocols use text frames).  HTTP
entries (no ``_webSocketMessages``) are skipped.

The connection is named by the entry's URL and index, ``wss://host/path #i``.
Only the scheme, host, port and path of the URL are kept: its query string,
fragment and user info may hold a token.  Nothing else of the HAR (headers,
cookies, timings, bodies) is read at all, so none of it can reach a report.

Records are numbered 1, 2, ... in the order the frames crossed (by ``time``,
frames of equal time in file order); each record's ``location`` names the
frame exactly: ``/log/entries/3/_webSocketMessages/7``.  A HAR is one JSON
document, so it is read whole (DevTools holds it in memory too).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from ccproto.capture.records import BadRecord, Record
from ccproto.core.roles import Role

__all__ = ["connection_name", "looks_like_har", "read_har"]

_SENDERS = {"send": Role.CLIENT, "receive": Role.SERVER}
_TEXT, _BINARY = 1, 2
_OPENS_WITH_LOG = re.compile(rb'\{\s*"log"\s*:')


def _seconds(time: Any) -> float | None:
    """A frame's ``time`` as finite epoch seconds (``None`` if it is not a usable number)."""
    if isinstance(time, bool) or not isinstance(time, (int, float)):
        return None
    try:
        seconds = float(time)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def connection_name(url: Any, index: int) -> str:
    """``scheme://host[:port]/path #index``: the URL without what may hold a secret."""
    if not isinstance(url, str):
        return f"(no url) #{index}"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return f"(unreadable url) #{index}"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{parts.scheme}://{host}{port}{parts.path} #{index}"


def looks_like_har(head: bytes) -> bool:
    """Whether the start of a file is a HAR document rather than JSON Lines.

    DevTools writes a HAR pretty-printed: its first line is a lone ``{``.  A
    one-line HAR is told apart by its ``"log"`` member.
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first_line = text.split(b"\n", 1)[0].strip()
    if first_line == b"{":
        return True
    try:
        value = json.loads(first_line)
    except (ValueError, RecursionError):
        # A line longer than the sniffed head: a one-line HAR opens with its "log" member.
        return _OPENS_WITH_LOG.match(first_line) is not None
    return isinstance(value, dict) and isinstance(value.get("log"), dict) and "from" not in value


def read_har(data: bytes | str, *, file: str) -> Iterator[Record | BadRecord]:
    """Records (or bad records) for every WebSocket frame of a HAR document."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        yield BadRecord(file=file, number=1, conn=None, detail="the HAR file is not valid JSON")
        return
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        yield BadRecord(file=file, number=1, conn=None, detail="a HAR file has a 'log' object with an 'entries' list")
        return
    frames: list[tuple[float, int, int, int, str, Any]] = []
    for index, entry in enumerate(entries):
        messages = entry.get("_webSocketMessages") if isinstance(entry, dict) else None
        if not isinstance(messages, list):
            continue  # an HTTP entry
        request = entry.get("request")
        conn = connection_name(request.get("url") if isinstance(request, dict) else None, index)
        for position, frame in enumerate(messages):
            seconds = _seconds(frame.get("time")) if isinstance(frame, dict) else None
            order = seconds if seconds is not None else math.inf  # unusable times last (they are bad records)
            frames.append((order, index, position, len(frames), conn, frame))
    frames.sort(key=lambda item: (item[0], item[3]))
    started: set[str] = set()  # a HAR entry holds its WebSocket from the start: its first record opens it
    for number, (_, index, position, _, conn, frame) in enumerate(frames, start=1):
        item = _record(file, number, f"/log/entries/{index}/_webSocketMessages/{position}", conn, frame)
        if isinstance(item, Record) and conn not in started:
            started.add(conn)
            item.starts_connection = True
        yield item


def _record(file: str, number: int, location: str, conn: str, frame: Any) -> Record | BadRecord:
    def bad(detail: str) -> BadRecord:
        return BadRecord(file=file, number=number, conn=conn, detail=detail, location=location)

    if not isinstance(frame, dict):
        return bad("a WebSocket message must be a JSON object")
    kind = frame.get("type")
    sender = _SENDERS.get(kind) if isinstance(kind, str) else None
    if sender is None:
        return bad("a WebSocket message's 'type' must be 'send' or 'receive'")
    time = _seconds(frame.get("time"))
    if time is None:
        return bad("a WebSocket message's 'time' must be epoch seconds")
    opcode, data = frame.get("opcode"), frame.get("data")
    if not isinstance(data, str):
        return bad("a WebSocket message's 'data' must be a string")
    if opcode == _BINARY:
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return bad("a binary WebSocket message whose data is not base64 of UTF-8 text")
    elif opcode != _TEXT:
        return bad("a WebSocket message's 'opcode' must be 1 (text) or 2 (binary)")
    return Record(
        file=file, number=number, ts=time, conn=conn, sender=sender, protocol=None,
        message=None, raw=data, location=location, binary=opcode == _BINARY,
    )
