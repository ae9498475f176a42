"""JSON text <-> values: strictness, size and depth limits, and the Limits record itself."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccproto.core.errors import DecodeError, LimitExceededError, RemoteProtocolError
from ccproto.core.jsonio import dumps, loads, parse_object
from ccproto.core.limits import DEFAULT_LIMITS, Limits

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


# -- decoding errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"\xff", b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b'"\x80abc"', b"\xc0\xaf"],
    ids=["ff", "truncated-sequence", "encoded-surrogate", "lone-continuation", "overlong"],
)
def test_invalid_utf8_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        loads(data)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}', "[1, Infinity]", '{"x": [-Infinity]}'])
def test_non_finite_constants_are_rejected(text: str) -> None:
    with pytest.raises(DecodeError):
        loads(text)
    with pytest.raises(DecodeError):
        loads(text.encode())


@pytest.mark.parametrize("text", ["1e999", "-1e999", '{"a": 1e400}', "[0, [2E+999]]"])
def test_overflowing_numbers_are_rejected(text: str) -> None:
    with pytest.raises(DecodeError, match="out of range"):
        loads(text)


def test_big_integers_are_kept_exactly() -> None:
    big = 2**64 + 1
    value = loads(f'{{"n": {big}, "m": [-{big}]}}')
    assert value == {"n": big, "m": [-big]}
    assert type(value["n"]) is int
    assert value["n"] == 18446744073709551617
    assert loads(str(2**200).encode()) == 2**200


def test_floats_and_ints_keep_their_types() -> None:
    value = loads("[1, 1.0, 1e2, -0.5]")
    assert [type(v) for v in value] == [int, float, float, float]


@pytest.mark.parametrize(
    "text",
    ['{"a": 1', '{"a": "hunter2-canary', "[1, 2", '{"agentPassword": "hunter2-canary"', '{"a"', ""],
)
def test_truncated_json_is_a_decode_error_without_the_input(text: str) -> None:
    with pytest.raises(DecodeError) as info:
        loads(text)
    rendered = str(info.value) + repr(info.value) + info.value.detail
    assert "hunter2-canary" not in rendered
    if text:
        assert text not in rendered
    assert info.value.message is None


def test_decode_error_is_remote() -> None:
    with pytest.raises(RemoteProtocolError):
        loads("{")


@pytest.mark.parametrize("text", ["[]", "1", '"x"', "null", "true", "[{}]", "2.5"])
def test_parse_object_rejects_non_objects(text: str) -> None:
    assert loads(text) == json.loads(text)
    with pytest.raises(DecodeError, match="JSON object"):
        parse_object(text)
    with pytest.raises(DecodeError, match="JSON object"):
        parse_object(text.encode())


def test_parse_object_accepts_objects() -> None:
    assert parse_object('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert parse_object(b"{}") == {}
    assert parse_object(bytearray(b'{"k": "v"}')) == {"k": "v"}
    assert parse_object(memoryview(b'{"k": "\xc3\xa9"}')) == {"k": "\u00e9"}


# -- size limit ------------------------------------------------------------------------------


def test_message_over_size_limit_str_and_bytes() -> None:
    limits = Limits(max_message_bytes=10)
    at_limit = '"12345678"'
    assert len(at_limit) == 10
    assert loads(at_limit, limits=limits) == "12345678"
    assert loads(at_limit.encode(), limits=limits) == "12345678"
    over = '"123456789"'
    for data in (over, over.encode()):
        with pytest.raises(LimitExceededError.Remote) as info:
            loads(data, limits=limits)
        assert info.value.code == "message-too-large"
        assert isinstance(info.value, RemoteProtocolError)


def test_size_limit_counts_utf8_bytes_of_str() -> None:
    limits = Limits(max_message_bytes=8)
    text = '"\u00e9\u00e9\u00e9"'  # 5 characters, 8 bytes
    assert loads(text, limits=limits) == "\u00e9\u00e9\u00e9"
    longer = '"\u00e9\u00e9\u00e9\u00e9"'  # 6 characters, 10 bytes: over although 6 <= 8
    with pytest.raises(LimitExceededError) as info:
        loads(longer, limits=limits)
    assert info.value.code == "message-too-large"
    with pytest.raises(LimitExceededError) as info:
        parse_object('{"a":"\U0001f600"}', limits=Limits(max_message_bytes=9))
    assert info.value.code == "message-too-large"


def test_size_limit_checked_before_utf8_and_json() -> None:
    # Over the limit and not even UTF-8: the size is what's reported.
    with pytest.raises(LimitExceededError) as info:
        loads(b"\xff" * 20, limits=Limits(max_message_bytes=10))
    assert info.value.code == "message-too-large"


# -- depth limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("[[1]]", 2),
        ("[[[1]]]", 3),
        ('{"a": {"b": {"c": 1}}}', 3),
        ('[{"a": [1]}]', 3),
        ("[[], [[], [[]]]]", 4),
        ('{"a": [], "b": {"c": [[{}]]}}', 5),
    ],
)
def test_depth_limit(text: str, depth: int) -> None:
    assert loads(text, limits=Limits(max_depth=depth)) is not None
    with pytest.raises(LimitExceededError.Remote) as info:
        loads(text, limits=Limits(max_depth=depth - 1))
    assert info.value.code == "too-deep"


def test_depth_one() -> None:
    assert loads("[1, 2]", limits=Limits(max_depth=1)) == [1, 2]
    assert loads("1", limits=Limits(max_depth=1)) == 1
    with pytest.raises(LimitExceededError) as info:
        loads("[[]]", limits=Limits(max_depth=1))
    assert info.value.code == "too-deep"


def test_brackets_inside_strings_do_not_count() -> None:
    text = '["[[[[[[[[[[", "{{{{{{{{{{"]'
    assert loads(text, limits=Limits(max_depth=1)) == ["[[[[[[[[[[", "{{{{{{{{{{"]


def test_default_depth_limit() -> None:
    depth = DEFAULT_LIMITS.max_depth
    assert loads("[" * depth + "]" * depth) is not None
    with pytest.raises(LimitExceededError) as info:
        loads("[" * (depth + 1) + "]" * (depth + 1))
    assert info.value.code == "too-deep"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,  # truncated as well as deep
    ],
    ids=["arrays", "objects", "unclosed"],
)
def test_very_deep_nesting_is_a_limit_error_not_a_crash(text: str) -> None:
    with pytest.raises((LimitExceededError, DecodeError)) as info:
        loads(text)
    if text.endswith(("]", "}")):
        assert isinstance(info.value, LimitExceededError.Remote)
        assert info.value.code == "too-deep"


def test_very_deep_nesting_as_bytes() -> None:
    with pytest.raises(LimitExceededError) as info:
        parse_object(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert info.value.code == "too-deep"


# -- dumps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, {"a": [math.nan]}])
def test_dumps_rejects_non_finite(value: object) -> None:
    with pytest.raises(ValueError, match="JSON"):
        dumps(value)


def test_dumps_is_compact_and_keeps_unicode() -> None:
    assert dumps({"a": [1, 2], "b": "\u00e9\U0001f600"}) == '{"a":[1,2],"b":"\u00e9\U0001f600"}'


@given(json_values)
def test_dumps_loads_round_trip(value: object) -> None:
    text = dumps(value)
    assert loads(text, limits=Limits(max_depth=1000)) == value
    assert loads(text.encode("utf-8"), limits=Limits(max_depth=1000)) == value


# -- Limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max_message_bytes", "max_depth", "max_pending"])
@pytest.mark.parametrize("bad", [0, -1, True, 1.5, 2.0, "10", None])
def test_int_limits_must_be_positive_ints(name: str, bad: object) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, 0.0, -1, -0.5, True, "30", None, math.nan])
def test_request_timeout_must_be_positive(bad: object) -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        Limits(request_timeout=bad)  # type: ignore[arg-type]


def test_valid_limits() -> None:
    limits = Limits(max_message_bytes=1, max_depth=1, max_pending=1, request_timeout=0.001)
    assert (limits.max_message_bytes, limits.max_depth, limits.max_pending) == (1, 1, 1)
    assert Limits(request_timeout=5).request_timeout == 5
    assert Limits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_message_bytes == 1024 * 1024
    assert DEFAULT_LIMITS.max_depth == 64
