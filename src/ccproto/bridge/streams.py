"""Reading raw Processor Bridge streams: length-prefixed frames, one file per direction of a TCP connection.

Each file holds the bytes one side sent, as they crossed the wire (e.g. from
a proxy's log or ``tcpflow``); the frame codec cuts them into messages.  Two
such files carry no times, so how the two directions interleaved is not
recorded: :func:`read_bridge_streams` rebuilds the order from causality
(docs/quirks.md, B15): the bridge opens the channel, then each of the
client's frames is placed as early as it can be, a response only after the
request it answers.  Rules that depend only on one side's own order (the
server-status lifecycle, the answer to each request) are exact; an order
between the two sides that causality does not fix is a best guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ccproto.core.errors import LimitExceededError
from ccproto.core.framing import FrameDecoder
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.record import BadRecord, Record
from ccproto.core.roles import Role

__all__ = ["STREAM_CONN", "read_bridge_streams"]

#: The connection name of records read from raw bridge streams.
STREAM_CONN = "bridge-stream"


class _Frame:
    """One frame of one direction: its text (or why it has none) and where it was."""

    __slots__ = ("detail", "location", "request_id", "sender", "text")

    def __init__(self, sender: Role, location: str, text: str | None, detail: str = "") -> None:
        self.sender, self.location, self.text, self.detail = sender, location, text, detail
        self.request_id: str | None = None
        if text is not None and sender is Role.CLIENT:
            self.request_id = _answered_request_id(text)


def _correlation(text: str) -> tuple[str | None, str | None]:
    """A frame's header ``type`` and ``requestId`` (``None`` where absent or not a string)."""
    try:
        header: Any = json.loads(text)["header"]
        kind, request_id = header.get("type"), header.get("requestId")
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return None, None
    return (kind if isinstance(kind, str) else None), (request_id if isinstance(request_id, str) else None)


def _answered_request_id(text: str) -> str | None:
    """The ``requestId`` a client frame answers (``None`` unless it is a response)."""
    kind, request_id = _correlation(text)
    return request_id if kind == "cti.response" else None


def _frames(chunks: Iterable[bytes], sender: Role, *, limits: Limits) -> Iterator[_Frame]:
    """The frames of one direction, from its bytes in chunks of any size."""
    decoder = FrameDecoder(limits=limits)
    offset, count = 0, 0
    side = sender.value

    def frame(payload: bytes) -> _Frame:
        nonlocal offset, count
        count += 1
        location = f"{side} stream, frame {count} at byte {offset}"
        offset += 4 + len(payload)
        try:
            return _Frame(sender, location, payload.decode("utf-8"))
        except UnicodeDecodeError:
            return _Frame(sender, location, None, "the frame's payload is not valid UTF-8")

    for chunk in chunks:
        decoder.feed(chunk)
        while True:
            try:
                payload = decoder.next_frame()
            except LimitExceededError as exc:
                # The length prefix cannot be trusted: nothing after it can be framed.
                count += 1
                yield _Frame(sender, f"{side} stream, frame {count} at byte {offset}", None,
                             exc.detail + "; the rest of the stream cannot be framed")
                return
            if payload is None:
                break
            yield frame(payload)
    if decoder.buffered:
        count += 1
        yield _Frame(sender, f"{side} stream, frame {count} at byte {offset}", None,
                     f"the stream ends {decoder.buffered} byte(s) into a frame (cut short?)")


def read_bridge_streams(
    client: Iterable[bytes] | None,
    server: Iterable[bytes] | None,
    *,
    file: str,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Record | BadRecord]:
    """Records of one bridge connection from its two directions' raw bytes (either may be missing)."""
    empty: Iterator[_Frame] = iter(())
    client_frames = _frames(client, Role.CLIENT, limits=limits) if client is not None else empty
    server_frames = _frames(server, Role.SERVER, limits=limits) if server is not None else empty
    client_head, server_head = next(client_frames, None), next(server_frames, None)
    requested: set[str] = set()
    number = 0
    opened = False
    started = False
    while client_head is not None or server_head is not None:
        take_client = client_head is not None and (
            server_head is None
            or (opened and (client_head.request_id is None or client_head.request_id in requested))
        )
        if take_client:
            assert client_head is not None
            current, client_head = client_head, next(client_frames, None)
            if current.request_id is not None:
                requested.discard(current.request_id)
        else:
            assert server_head is not None
            current, server_head = server_head, next(server_frames, None)
            opened = True
            if current.text is not None:
                _, request_id = _correlation(current.text)
                if request_id is not None:
                    requested.add(request_id)
        number += 1
        if current.text is None:
            yield BadRecord(file=file, number=number, conn=STREAM_CONN, detail=current.detail,
                            location=current.location)
        else:
            # The two streams hold the connection from its start: its first record opens it.
            yield Record(file=file, number=number, ts=None, conn=STREAM_CONN, sender=current.sender,
                         protocol="bridge", message=None, raw=current.text, location=current.location,
                         starts_connection=not started)
            started = True

