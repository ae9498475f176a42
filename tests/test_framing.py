"""Length-prefixed framing: round trips, split-independence, limits and buffering."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccproto.core.errors import LimitExceededError, LocalProtocolError, RemoteProtocolError
from ccproto.core.framing import FrameDecoder, TruncatedFrameError, encode_frame
from ccproto.core.limits import Limits


def drain(decoder: FrameDecoder) -> list[bytes]:
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    return frames


def feed_chunks(chunks: list[bytes], *, limits: Limits | None = None) -> tuple[list[bytes], FrameDecoder]:
    decoder = FrameDecoder() if limits is None else FrameDecoder(limits=limits)
    frames: list[bytes] = []
    for chunk in chunks:
        decoder.feed(chunk)
        frames.extend(drain(decoder))
    return frames, decoder


def test_encode_frame_layout() -> None:
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"
    payload = bytes(range(256)) * 3
    assert encode_frame(payload) == struct.pack(">I", 768) + payload


def test_round_trip_single_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b'{"header":{}}'))
    assert decoder.next_frame() == b'{"header":{}}'
    assert decoder.next_frame() is None
    assert decoder.buffered == 0


def test_zero_length_frames() -> None:
    assert encode_frame(b"") == b"\x00\x00\x00\x00"
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"") + encode_frame(b"x") + encode_frame(b""))
    # An empty frame is b"", distinct from None ("need more data").
    assert decoder.next_frame() == b""
    assert decoder.next_frame() == b"x"
    assert decoder.next_frame() == b""
    assert decoder.next_frame() is None
    assert decoder.buffered == 0


def test_partial_prefix_and_payload() -> None:
    data = encode_frame(b"hello")
    decoder = FrameDecoder()
    for index, byte in enumerate(data[:-1]):
        decoder.feed(bytes([byte]))
        assert decoder.next_frame() is None
        assert decoder.buffered == index + 1
    decoder.feed(data[-1:])
    assert decoder.buffered == len(data)
    assert decoder.next_frame() == b"hello"
    assert decoder.buffered == 0


def test_buffered_counts_unreturned_bytes() -> None:
    decoder = FrameDecoder()
    assert decoder.buffered == 0
    first, second = encode_frame(b"one"), encode_frame(b"second")
    decoder.feed(first + second[:5])
    assert decoder.buffered == len(first) + 5
    assert decoder.next_frame() == b"one"
    assert decoder.buffered == 5
    assert decoder.next_frame() is None
    assert decoder.buffered == 5
    decoder.feed(second[5:])
    assert decoder.buffered == len(second)
    assert decoder.next_frame() == b"second"
    assert decoder.buffered == 0


def test_feeding_empty_bytes_changes_nothing() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"")
    assert decoder.buffered == 0
    assert decoder.next_frame() is None
    data = encode_frame(b"abc")
    decoder.feed(data[:2])
    decoder.feed(b"")
    assert decoder.buffered == 2
    assert decoder.next_frame() is None
    decoder.feed(data[2:])
    decoder.feed(b"")
    assert decoder.buffered == len(data)
    assert decoder.next_frame() == b"abc"
    decoder.feed(b"")
    assert decoder.next_frame() is None
    assert decoder.buffered == 0


def test_feed_accepts_bytearray_and_memoryview() -> None:
    decoder = FrameDecoder()
    data = encode_frame(b"abc") + encode_frame(b"de")
    decoder.feed(bytearray(data[:3]))
    decoder.feed(memoryview(data)[3:])
    assert drain(decoder) == [b"abc", b"de"]


def test_frames_are_bytes_independent_of_input_buffer() -> None:
    chunk = bytearray(encode_frame(b"abc"))
    decoder = FrameDecoder()
    decoder.feed(chunk)
    chunk[-1] = ord("z")  # mutating what we fed must not change the frame
    frame = decoder.next_frame()
    assert frame == b"abc"
    assert type(frame) is bytes


payload_lists = st.lists(st.binary(max_size=40), max_size=15)


@given(payloads=payload_lists, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_split_points_do_not_matter(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    assert b"".join(chunks) == stream

    whole, whole_decoder = feed_chunks([stream])
    split, split_decoder = feed_chunks(chunks)
    assert whole == payloads
    assert split == payloads
    assert whole_decoder.buffered == split_decoder.buffered == 0


@settings(max_examples=50, deadline=None)
@given(payloads=payload_lists)
def test_one_byte_at_a_time(payloads: list[bytes]) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    frames, decoder = feed_chunks([stream[i : i + 1] for i in range(len(stream))])
    assert frames == payloads
    assert decoder.buffered == 0


@given(payloads=payload_lists, cut=st.integers(min_value=1, max_value=10_000))
def test_incomplete_tail_stays_buffered(payloads: list[bytes], cut: int) -> None:
    last = encode_frame(b"tail-frame")
    stream = b"".join(encode_frame(p) for p in payloads) + last
    cut = cut % len(last) or 1  # keep at least one byte of the last frame back
    frames, decoder = feed_chunks([stream[:-cut]])
    assert frames == payloads
    assert decoder.buffered == len(last) - cut
    decoder.feed(stream[-cut:])
    assert drain(decoder) == [b"tail-frame"]


def test_oversized_frame_refused_on_prefix() -> None:
    limits = Limits(max_message_bytes=16)
    decoder = FrameDecoder(limits=limits)
    decoder.feed(struct.pack(">I", 17))  # announced, but no payload sent yet
    with pytest.raises(LimitExceededError.Remote) as info:
        decoder.next_frame()
    assert info.value.code == "frame-too-large"
    assert isinstance(info.value, RemoteProtocolError)
    assert decoder.buffered == 0


def test_oversized_frame_refused_after_earlier_frames() -> None:
    limits = Limits(max_message_bytes=16)
    decoder = FrameDecoder(limits=limits)
    decoder.feed(encode_frame(b"ok", limits=limits) + struct.pack(">I", 2**32 - 1) + b"partial payload")
    assert decoder.next_frame() == b"ok"
    with pytest.raises(LimitExceededError) as info:
        decoder.next_frame()
    assert info.value.code == "frame-too-large"
    assert decoder.buffered == 0


def test_oversized_frame_refused_when_prefix_arrives_bytewise() -> None:
    decoder = FrameDecoder(limits=Limits(max_message_bytes=100))
    prefix = struct.pack(">I", 101)
    for byte in prefix[:3]:
        decoder.feed(bytes([byte]))
        assert decoder.next_frame() is None
    decoder.feed(prefix[3:])
    with pytest.raises(LimitExceededError.Remote) as info:
        decoder.next_frame()
    assert info.value.code == "frame-too-large"
    assert decoder.buffered == 0


def test_frame_at_the_limit_is_accepted() -> None:
    limits = Limits(max_message_bytes=16)
    payload = b"x" * 16
    data = encode_frame(payload, limits=limits)
    decoder = FrameDecoder(limits=limits)
    decoder.feed(data)
    assert decoder.next_frame() == payload


def test_default_limit_applies_to_decoder() -> None:
    decoder = FrameDecoder()
    decoder.feed(struct.pack(">I", 1024 * 1024 + 1))
    with pytest.raises(LimitExceededError) as info:
        decoder.next_frame()
    assert info.value.code == "frame-too-large"


def test_encode_frame_over_limit_is_local() -> None:
    limits = Limits(max_message_bytes=16)
    with pytest.raises(LimitExceededError.Local) as info:
        encode_frame(b"x" * 17, limits=limits)
    assert isinstance(info.value, LocalProtocolError)
    assert info.value.code == "frame-too-large"
    with pytest.raises(LimitExceededError.Local):
        encode_frame(b"x" * (1024 * 1024 + 1))


def test_many_frames_exercise_compaction() -> None:
    payloads = [f"frame-{i:05d}-".encode() + bytes([i % 251]) * 80 for i in range(2000)]
    stream = b"".join(encode_frame(p) for p in payloads)
    assert len(stream) > 2 * 65536

    frames, decoder = feed_chunks([stream])
    assert frames == payloads
    assert decoder.buffered == 0
    decoder.feed(encode_frame(b"after"))
    assert decoder.next_frame() == b"after"

    # Chunks that cut frames, with reads in between, across many compactions.
    chunks = [stream[i : i + 997] for i in range(0, len(stream), 997)]
    frames, decoder = feed_chunks(chunks)
    assert frames == payloads
    assert decoder.buffered == 0


def test_compaction_keeps_a_partial_frame() -> None:
    payloads = [bytes([i % 256]) * 100 for i in range(1000)]
    stream = b"".join(encode_frame(p) for p in payloads)
    cut = len(stream) - 50  # the last frame is incomplete
    decoder = FrameDecoder()
    decoder.feed(stream[:cut])
    assert drain(decoder) == payloads[:-1]
    assert decoder.buffered == len(encode_frame(payloads[-1])) - 50
    decoder.feed(stream[cut:])
    assert drain(decoder) == payloads[-1:]
    assert decoder.buffered == 0
    # Consumed bytes were dropped rather than kept forever.
    assert len(decoder._buffer) < len(stream)


# -- the end of the stream ------------------------------------------------------------------------------------


def test_check_end_accepts_a_clean_end_and_whole_frames_left() -> None:
    decoder = FrameDecoder()
    decoder.check_end()  # nothing received at all
    decoder.feed(encode_frame(b"abc"))
    decoder.check_end()  # a whole frame left is for next_frame, not an error
    assert decoder.next_frame() == b"abc"
    decoder.check_end()


@given(st.binary(min_size=1, max_size=40), st.data())
def test_check_end_refuses_any_cut_inside_a_frame(payload: bytes, data: st.DataObject) -> None:
    frame = encode_frame(payload)
    cut = data.draw(st.integers(min_value=1, max_value=len(frame) - 1), label="cut")
    decoder = FrameDecoder()
    decoder.feed(frame[:cut])
    assert decoder.next_frame() is None
    with pytest.raises(TruncatedFrameError) as caught:
        decoder.check_end()
    assert isinstance(caught.value, RemoteProtocolError)
    assert caught.value.code == "truncated-frame"



def test_a_truncated_frame_names_sizes_never_content() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b'{"agentPassword": "hunter2-canary"}')[:-3])
    with pytest.raises(TruncatedFrameError) as caught:
        decoder.check_end()
    assert "hunter2" not in str(caught.value)
    assert "of its 35 payload bytes" in str(caught.value)


def test_the_tcp_link_refuses_a_stream_that_ends_inside_a_frame() -> None:
    """``FramedLink.receive`` (ccproto.transports.tcp) used to return ``None`` there, as for a clean end."""
    import asyncio

    from ccproto.transports.tcp import FramedLink

    async def receive_all(data: bytes) -> list[bytes | None]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        link = FramedLink(reader, writer=None)  # type: ignore[arg-type]  # receive never writes
        return [await link.receive(), await link.receive()]

    whole = encode_frame(b"abc")
    assert asyncio.run(receive_all(whole)) == [b"abc", None]
    with pytest.raises(TruncatedFrameError):
        asyncio.run(receive_all(whole + whole[:-1]))


def test_check_end_looks_past_whole_frames_to_a_truncated_last_one() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"one") + encode_frame(b"two")[:-1])
    with pytest.raises(TruncatedFrameError):
        decoder.check_end()
    assert decoder.next_frame() == b"one"  # checking consumed nothing
