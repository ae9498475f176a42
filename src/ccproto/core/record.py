"""One captured message as every checker reads it: a :class:`Record` (or a :class:`BadRecord` where a line is not
one).

Here, below the protocol packages, because each protocol's capture checker (``ccproto.<protocol>.checker``) reads
records; the readers that make them (JSON Lines, HAR, raw streams) are in :mod:`ccproto.capture`.
"""

from __future__ import annotations

import attrs

from ccproto.core.jsonio import JsonValue, json_loads_strict
from ccproto.core.roles import Role

__all__ = ["BadRecord", "HttpExchange", "Record"]


@attrs.frozen(kw_only=True)
class HttpExchange:
    """The HTTP facts of one SOAP call that a record carries (a HAR's SOAP entry gives them).

    Only these are read from an HTTP exchange: its other headers, cookies and query string may hold a secret.
    """

    #: What pairs a request and its response (a HAR entry's index), the same on both records.
    exchange: str
    #: The request's ``SOAPAction`` header as written, also on the response's record: a response is read with it.
    soap_action: str | None = None
    #: The response's HTTP status (``None`` on the request's record).
    status: int | None = None


@attrs.define(kw_only=True)
class Record:
    """One message as captured (or one side closing or opening its connection).

    Not frozen: a capture is read at millions of records a second and a frozen
    class's ``__init__`` costs as much as parsing the record.  Treat it as read-only.
    """

    file: str
    number: int
    ts: float | None
    conn: str
    sender: Role
    protocol: str | None
    #: The message as JSON (``None`` when the record gave ``raw`` text instead).
    message: JsonValue = attrs.field(repr=False)
    #: The text as seen on the wire, when the record gave it (``message`` is then ``None``).
    raw: str | None = attrs.field(repr=False)
    #: For a close record: ``(code, reason)`` (``message`` and ``raw`` are then ``None``).
    close: tuple[int | None, str] | None = None
    #: Where the record is in its source when the record number alone does not say (HAR, frame streams).
    location: str | None = None
    #: The text arrived in a binary WebSocket frame (the protocols use text frames).
    binary: bool = False
    #: For an open record: the ``open`` object as written (the capture holds the connection from here).
    open: dict[str, JsonValue] | None = attrs.field(default=None, repr=False)
    #: The source holds this record's connection from its start and this is its first record (HAR, raw streams).
    starts_connection: bool = False
    #: The line this record was read from, when orjson parsed it: ``message`` holds what orjson read, which
    #: differs from the standard parser's reading only in integers beyond 64 bits (read as floats), so a
    #: checker that meets a float in ``message`` reads the message again from here (``exact_message``).
    source: bytes | None = attrs.field(default=None, repr=False, eq=False)
    #: For one side of an HTTP call (a SOAP request or its response): what pairs them, the SOAPAction, the status.
    http: HttpExchange | None = None

    def exact_message(self) -> JsonValue:
        """``message`` as the standard parser reads it (the same object unless orjson read the line)."""
        if self.source is None:
            return self.message
        value = json_loads_strict(self.source)
        return value.get("message") if isinstance(value, dict) else None


@attrs.frozen(kw_only=True)
class BadRecord:
    """A line that is not a valid capture record; ``detail`` never quotes the line."""

    file: str
    number: int
    conn: str | None
    detail: str
    #: Where the record is in its source when the record number alone does not say.
    location: str | None = None
