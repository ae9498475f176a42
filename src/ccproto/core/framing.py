"""Length-prefixed framing: a 4-byte unsigned big-endian length, then that many bytes.

Sans-I/O: :class:`FrameDecoder` buffers whatever chunks arrive and hands out
whole frames; the result never depends on where the stream was split.  A frame
whose announced length is over the limit is refused as soon as its 4-byte
prefix is seen, before any of it is buffered.  When the stream ends,
:meth:`FrameDecoder.check_end` tells a clean end from one inside a frame
(:class:`TruncatedFrameError`).
"""

from __future__ import annotations

import struct

from ccproto.core.errors import DecodeError, LimitExceededError
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["FrameDecoder", "TruncatedFrameError", "encode_frame"]

_PREFIX = struct.Struct(">I")
_MAX_ENCODABLE = 2**32 - 1


class TruncatedFrameError(DecodeError):
    """The byte stream ended inside a frame: its prefix, or part of its payload, arrived and the rest never did."""

    code = "truncated-frame"


def encode_frame(payload: bytes, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Prefix ``payload`` with its length; refuse payloads over the limit."""
    size = len(payload)
    if size > limits.max_message_bytes or size > _MAX_ENCODABLE:
        raise LimitExceededError.Local(
            f"frame of {size} bytes exceeds max_message_bytes={limits.max_message_bytes}", code="frame-too-large"
        )
    return _PREFIX.pack(size) + payload


class FrameDecoder:
    """Turns a byte stream, in chunks of any size, into frames (payload bytes)."""

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._start = 0  # consumed bytes at the front of _buffer, dropped lazily

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes (b"" is allowed and changes nothing)."""
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned in a frame."""
        return len(self._buffer) - self._start

    def check_end(self) -> None:
        """The stream ended: raise :class:`TruncatedFrameError` if what is buffered ends inside a frame.

        Whole frames still buffered are not an error (``next_frame`` returns them); only an incomplete last one is.
        """
        position, end = self._start, len(self._buffer)
        while position < end:
            available = end - position
            if available < 4:
                raise TruncatedFrameError(f"the stream ended inside a length prefix ({available} of 4 bytes)")
            (size,) = _PREFIX.unpack_from(self._buffer, position)
            if available < 4 + size:
                # Sizes only: the payload may hold secrets.
                raise TruncatedFrameError(
                    f"the stream ended inside a frame: {available - 4} of its {size} payload bytes arrived"
                )
            position += 4 + size

    def next_frame(self) -> bytes | None:
        """The next whole frame's payload, or ``None`` until more data arrives."""
        available = len(self._buffer) - self._start
        if available < 4:
            return None
        (size,) = _PREFIX.unpack_from(self._buffer, self._start)
        if size > self._limits.max_message_bytes:
            # Drop what we hold: the stream cannot be resynchronised after this.
            self._buffer.clear()
            self._start = 0
            raise LimitExceededError.Remote(
                f"frame announces {size} bytes, over max_message_bytes={self._limits.max_message_bytes}",
                code="frame-too-large",
            )
        if available < 4 + size:
            return None
        begin = self._start + 4
        payload = bytes(self._buffer[begin : begin + size])
        self._start = begin + size
        if self._start > 65536 and self._start * 2 > len(self._buffer):
            # Compact occasionally so consumed bytes don't pile up.
            del self._buffer[: self._start]
            self._start = 0
        return payload
