"""Length-prefixed framing: a 4-byte unsigned big-endian length, then that many bytes.

Sans-I/O: :class:`FrameDecoder` buffers whatever chunks arrive and hands out
whole frames; the result never depends on where the stream was split.  A frame
whose announced length is over the limit is refused as soon as its 4-byte
prefix is seen, before any of it is buffered.
"""

from __future__ import annotations

import struct

from ccproto.core.errors import LimitExceededError
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["FrameDecoder", "encode_frame"]

_PREFIX = struct.Struct(">I")
_MAX_ENCODABLE = 2**32 - 1


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
