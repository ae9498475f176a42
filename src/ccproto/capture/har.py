"""Reading HAR files exported by Chromium-based browsers' DevTools: their WebSocket frames and SOAP calls.

Every ``log.entries[i]._webSocketMessages[j]`` becomes one record: ``type``
``send`` is the client, ``receive`` the server; ``time`` is epoch seconds;
``opcode`` 1 is a text frame, 2 a binary one (``data`` base64, decoded and
read as UTF-8 text, with a warning: the protocols use text frames).  Such a
connection is named by the entry's URL and index, ``wss://host/path #i``.

An HTTP entry (no ``_webSocketMessages``) is read only when it is a SOAP call:
a ``POST`` whose request has a ``SOAPAction`` header (any case), or whose
``postData.mimeType`` is ``text/xml`` or ``application/soap+xml`` and whose text
starts with ``<`` (after white space and a byte order mark).  It gives two records
of the protocol whose transport is HTTP (``ccproto.protocols``): the client's,
``raw`` = ``request.postData.text`` at ``startedDateTime``, and the server's,
``raw`` = ``response.content.text`` (base64 decoded when ``content.encoding`` says
so) at ``startedDateTime`` + ``time`` ms; both carry an
:class:`~ccproto.core.record.HttpExchange` (the entry's index, which pairs them,
the ``SOAPAction`` header and the response's status).  A response with no text
and a status outside 2xx (DevTools writes 0 for a request that got no answer)
has ``raw`` ``""``: a failed call.  Every SOAP call to one endpoint,
``https://host[:port]``, is one connection: one client's calls to one server.
Other HTTP entries are skipped.

Of a URL only the scheme, host, port (and for a WebSocket, the path) are kept:
its query string, fragment and user info may hold a token.  Of an HTTP entry
only the method, the ``SOAPAction`` header, the body's MIME type and text, the
status, ``startedDateTime`` and ``time`` are read; no other header, cookie or
timing is read at all, so none of it can reach a report.

Records are numbered 1, 2, ... in the order they crossed (by time, records of
equal time in file order); each record's ``location`` names it exactly:
``/log/entries/3/_webSocketMessages/7``, ``/log/entries/4/request/postData/text``.
A HAR is one JSON document, so it is read whole (DevTools holds it in memory too).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from ccproto.capture.records import BadRecord, Record, parse_timestamp
from ccproto.core.record import HttpExchange
from ccproto.core.roles import Role
from ccproto.protocols import registered

__all__ = ["SOAP_MIME_TYPES", "connection_name", "endpoint_name", "looks_like_har", "read_har"]

_SENDERS = {"send": Role.CLIENT, "receive": Role.SERVER}
_TEXT, _BINARY = 1, 2
_OPENS_WITH_LOG = re.compile(rb'\{\s*"log"\s*:')
#: The body types of a SOAP request without a ``SOAPAction`` header (SOAP 1.1 and SOAP 1.2).
SOAP_MIME_TYPES = frozenset({"text/xml", "application/soap+xml"})
_SOAP_ACTION = "soapaction"
_LEADING = "\ufeff \t\r\n"
#: What makes one record: its number in, the record (or bad record) out.
_Make = Callable[[int], "Record | BadRecord"]


def _seconds(time: Any) -> float | None:
    """A frame's ``time`` as finite epoch seconds (``None`` if it is not a usable number)."""
    if isinstance(time, bool) or not isinstance(time, (int, float)):
        return None
    try:
        seconds = float(time)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def _origin(url: Any) -> tuple[str, str] | str:
    """``(scheme://host[:port], path)`` of a URL, or why there is none: nothing that may hold a secret (the query
    string, fragment and user info are dropped)."""
    if not isinstance(url, str):
        return "(no url)"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(unreadable url)"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{parts.scheme}://{host}{port}", parts.path


def connection_name(url: Any, index: int) -> str:
    """``scheme://host[:port]/path #index``: the URL without what may hold a secret."""
    origin = _origin(url)
    return f"{origin} #{index}" if isinstance(origin, str) else f"{origin[0]}{origin[1]} #{index}"


def endpoint_name(url: Any) -> str:
    """``scheme://host[:port]``: the endpoint of a SOAP call (no path, query, fragment or user info)."""
    origin = _origin(url)
    return origin if isinstance(origin, str) else origin[0]


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
    """Records (or bad records) for every WebSocket frame and every SOAP call of a HAR document."""
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
    # The protocol of SOAP calls, looked up by its transport: capture names no protocol (one protocol, one place).
    soap_protocol = next((spec.name for spec in registered() if spec.transport == "http"), None)
    # (time, file order, conn, make): unusable times sort last (they are bad records).
    items: list[tuple[float, int, str, _Make]] = []
    for index, entry in enumerate(entries):
        messages = entry.get("_webSocketMessages") if isinstance(entry, dict) else None
        if not isinstance(messages, list):
            if soap_protocol is not None and _is_soap_call(entry):
                for order, conn, make in _soap_call(file, index, entry, soap_protocol):
                    items.append((order, len(items), conn, make))
            continue  # any other HTTP entry is skipped
        request = entry.get("request")
        conn = connection_name(request.get("url") if isinstance(request, dict) else None, index)
        for position, frame in enumerate(messages):
            seconds = _seconds(frame.get("time")) if isinstance(frame, dict) else None
            order = seconds if seconds is not None else math.inf
            location = f"/log/entries/{index}/_webSocketMessages/{position}"
            items.append((order, len(items), conn, functools.partial(_record, file, location, conn, frame)))
    items.sort(key=lambda item: (item[0], item[1]))
    started: set[str] = set()  # a HAR holds each connection from its start: its first record opens it
    for number, (_, _, conn, make) in enumerate(items, start=1):
        item = make(number)
        if isinstance(item, Record) and conn not in started:
            started.add(conn)
            item.starts_connection = True
        yield item


# -- SOAP calls ---------------------------------------------------------------------------------------------


def _header(headers: Any, name: str) -> tuple[bool, str | None]:
    """Whether ``headers`` (a HAR list) has ``name`` (any case), and its first value if that is a string.

    Only the one header asked for is looked at: the others may hold credentials.
    """
    if not isinstance(headers, list):
        return False, None
    for header in headers:
        if isinstance(header, dict) and isinstance(header.get("name"), str) and header["name"].lower() == name:
            value = header.get("value")
            return True, value if isinstance(value, str) else None
    return False, None


def _is_soap_call(entry: Any) -> bool:
    """Whether an HTTP entry is a SOAP call (see the module's docstring)."""
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict):
        return False
    method = request.get("method")
    if not isinstance(method, str) or method.upper() != "POST":
        return False
    if _header(request.get("headers"), _SOAP_ACTION)[0]:
        return True
    post = request.get("postData")
    if not isinstance(post, dict):
        return False
    mime, text = post.get("mimeType"), post.get("text")
    return (
        isinstance(mime, str) and mime.split(";", 1)[0].strip().lower() in SOAP_MIME_TYPES
        and isinstance(text, str) and text.lstrip(_LEADING).startswith("<")
    )


def _response_text(content: Any) -> str | None:
    """``response.content.text``, base64 decoded when ``encoding`` says so; ``None`` if absent or unreadable."""
    if not isinstance(content, dict) or not isinstance(content.get("text"), str):
        return None
    text: str = content["text"]
    if content.get("encoding") != "base64":
        return text
    try:
        body = base64.b64decode(text, validate=True)
        # WS-I Basic Profile R1012: UTF-8 or UTF-16 (a UTF-16 body starts with its byte order mark).
        return body.decode("utf-16") if body[:2] in (b"\xff\xfe", b"\xfe\xff") else body.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _soap_call(file: str, index: int, entry: dict[str, Any], protocol: str) -> list[tuple[float, str, _Make]]:
    """The two records of a SOAP call (request, response), or a bad record where the entry cannot give one.

    No detail quotes the entry: it names what is missing.
    """
    request: dict[str, Any] = entry["request"]
    conn = endpoint_name(request.get("url"))
    base = f"/log/entries/{index}"
    exchange = str(index)

    def bad(order: float, location: str, detail: str) -> tuple[float, str, _Make]:
        return order, conn, lambda number: BadRecord(
            file=file, number=number, conn=conn, detail=detail, location=f"{base}/{location}")

    start: float | None
    try:
        started = entry.get("startedDateTime")
        start = parse_timestamp(started) if isinstance(started, str) else None
    except (ValueError, OverflowError):
        start = None
    if start is None or not math.isfinite(start):
        return [bad(math.inf, "startedDateTime", "a SOAP call's 'startedDateTime' must be an RFC 3339 time")]
    post = request.get("postData")
    sent = post.get("text") if isinstance(post, dict) else None
    if not isinstance(sent, str):
        return [bad(start, "request/postData/text", "a SOAP call's request has no text ('postData.text')")]
    action = _header(request.get("headers"), _SOAP_ACTION)[1]
    calls = [(start, conn, _soap_record(
        file, f"{base}/request/postData/text", conn, Role.CLIENT, start, sent, protocol,
        HttpExchange(exchange=exchange, soap_action=action)))]
    elapsed = _seconds(entry.get("time"))
    if elapsed is None or elapsed < 0:
        calls.append(bad(math.inf, "time", "a SOAP call's 'time' must be a number of milliseconds"))
        return calls
    answered = start + elapsed / 1000
    response = entry.get("response")
    response = response if isinstance(response, dict) else {}
    status = response.get("status")
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    content = response.get("content")
    text = _response_text(content)
    if text is None:
        if isinstance(content, dict) and content.get("encoding") == "base64" and isinstance(content.get("text"), str):
            calls.append(bad(answered, "response/content/text",
                             "a SOAP call's base64 response is not UTF-8 or UTF-16 text"))
            return calls
        if status is None or 200 <= status < 300:
            calls.append(bad(answered, "response/content/text",
                             "a SOAP call's response has no text ('content.text')"))
            return calls
        text = ""  # no answer, or an error status without a body: a failed call
    calls.append((answered, conn, _soap_record(
        file, f"{base}/response/content/text", conn, Role.SERVER, answered, text, protocol,
        HttpExchange(exchange=exchange, soap_action=action, status=status))))
    return calls


def _soap_record(
    file: str, location: str, conn: str, sender: Role, ts: float, raw: str, protocol: str, http: HttpExchange,
) -> _Make:
    return lambda number: Record(
        file=file, number=number, ts=ts, conn=conn, sender=sender, protocol=protocol, message=None, raw=raw,
        location=location, http=http,
    )


# -- WebSocket frames ---------------------------------------------------------------------------------------


def _record(file: str, location: str, conn: str, frame: Any, number: int) -> Record | BadRecord:
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
