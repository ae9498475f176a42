"""JSON text <-> JSON values, with ccproto's limits and strictness.

One place parses and one place serialises.  :func:`loads` and :func:`dumps`
use the standard library and define the exact behaviour.  The codecs' fast path
uses :func:`loads_fast` and :func:`dumps_plain`, which use ``orjson`` when it is
installed (``pip install ccproto[speedups]``) on the terms documented there; the
results are the same (docs/performance.md, quirk J1 in docs/quirks.md).
"""

from __future__ import annotations

import json
import math
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the tests that hide orjson
    _orjson = None  # type: ignore[assignment]

from ccproto.core.errors import DecodeError, LimitExceededError
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = [
    "FAST_DEPTH_BOUND",
    "JsonValue",
    "check_finite",
    "json_loads_strict",
    "check_text_size",
    "dumps",
    "dumps_plain",
    "first_difference",
    "json_equal",
    "json_type",
    "loads",
    "loads_fast",
    "parse_object",
]

#: No value the codecs' compiled path accepts nests deeper than this (:mod:`ccproto.core.compiled` makes sure):
#: :func:`loads_fast` measures the depth only when the limit is below it.
FAST_DEPTH_BOUND = 32

#: Any JSON value as Python holds it (dict, list, str, int, float, bool, None).
JsonValue = Any


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python's json accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: JsonValue) -> int:
    """Nesting depth of containers, computed without recursion."""
    deepest = 0
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def check_text_size(text: str, limits: Limits, error: type[LimitExceededError]) -> None:
    """Raise ``error`` if ``text`` is over ``limits.max_message_bytes`` once written as UTF-8."""
    # A character is at most 4 UTF-8 bytes: only encode when the text might be over.
    limit = limits.max_message_bytes
    if len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit:
        raise error(f"message exceeds max_message_bytes={limits.max_message_bytes}", code="message-too-large")


def loads(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> JsonValue:
    """Parse one JSON text, enforcing size and depth limits; raise ``DecodeError``."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > limits.max_message_bytes:
            raise LimitExceededError.Remote(
                f"message of {len(data)} bytes exceeds max_message_bytes={limits.max_message_bytes}",
                code="message-too-large",
            )
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"message is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = data
        check_text_size(text, limits, LimitExceededError.Remote)
    try:
        value = json_loads_strict(text)
    except _OutOfRange:
        raise DecodeError(_OUT_OF_RANGE) from None
    except RecursionError:
        raise LimitExceededError.Remote(
            f"JSON nesting exceeds max_depth={limits.max_depth}", code="too-deep"
        ) from None
    except ValueError as exc:
        raise DecodeError(f"not valid JSON: {_describe_json_error(exc)}") from None
    # Counting brackets is a cheap upper bound on the depth; only walk when it might be over.
    if text.count("[") + text.count("{") > limits.max_depth and _depth(value) > limits.max_depth:
        raise LimitExceededError.Remote(f"JSON nesting exceeds max_depth={limits.max_depth}", code="too-deep")
    return value


_OUT_OF_RANGE = "number out of range (overflows a double)"


class _OutOfRange(ValueError):
    """A number that overflowed to infinity (``1e999``)."""


def _finite_float(text: str) -> float:
    # Checked as each number is parsed: cheaper than walking the parsed value afterwards.
    number = float(text)
    if not math.isfinite(number):
        raise _OutOfRange(_OUT_OF_RANGE)
    return number


#: Built once: ``json.loads`` with hooks would build a new decoder for every call.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def json_loads_strict(text: str | bytes) -> Any:
    """``json.loads`` refusing ``NaN``/``Infinity`` and numbers that overflow a double (``ValueError``)."""
    if not isinstance(text, str):
        # As json.loads: detect the encoding of bytes (UTF-8, -16 or -32) before decoding.
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _STRICT_DECODER.decode(text)


def check_finite(value: JsonValue) -> None:
    """Reject numbers that overflowed to infinity (``1e999``): they cannot round-trip."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise DecodeError(_OUT_OF_RANGE)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _describe_json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        # msg + position only: the document itself may hold a secret.
        return f"{exc.msg} (line {exc.lineno} column {exc.colno})"
    return str(exc)


def parse_object(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, JsonValue]:
    """Parse one JSON text that must be an object (every ccproto message is one)."""
    value = loads(data, limits=limits)
    if not isinstance(value, dict):
        raise DecodeError(f"a message must be a JSON object, not {json_type(value)}")
    return value


def loads_fast(data: str | bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, JsonValue] | None:
    """One JSON object parsed by ``orjson``, or ``None`` whenever :func:`parse_object` must decide.

    ``None`` when orjson is not installed, the text is near or over the size limit, or orjson refuses it
    (the standard parser then gives the canonical error, and still accepts what only it accepts: lone
    surrogate escapes).  On what orjson accepts, both parsers agree except that orjson turns integers
    beyond 64 bits into floats: so a caller trusts the result only if it holds no float (the compiled
    structure functions defer every float) and otherwise parses again with :func:`parse_object`.
    The depth is measured only when ``limits.max_depth`` is below :data:`FAST_DEPTH_BOUND`; a caller
    refuses anything deeper than that bound (the compiled structure functions do).
    """
    if _orjson is None:
        return None
    kind = data.__class__
    if kind is str:
        if len(data) * 4 > limits.max_message_bytes:
            return None
    elif kind is not bytes or len(data) > limits.max_message_bytes:
        return None
    try:
        value = _orjson.loads(data)
    except _orjson.JSONDecodeError:
        return None
    if value.__class__ is not dict:
        return None
    result: dict[str, JsonValue] = value
    if limits.max_depth < FAST_DEPTH_BOUND:
        text = data if isinstance(data, str) else data.decode("utf-8")
        if text.count("[") + text.count("{") > limits.max_depth:  # cheap bound; near the limit, measure exactly
            return None
    return result


def dumps_plain(value: JsonValue) -> str | None:
    """:func:`dumps` of a value known to hold no float (what the compiled encoders write), or ``None``.

    With orjson installed it writes the text (on a value without floats, the same text as :func:`dumps`:
    test_jsonio checks it); ``None`` when orjson refuses the value (an integer beyond 64 bits, a lone
    surrogate, a non-string key) or, without orjson, when the text is not valid UTF-8: the caller's exact
    path decides those.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return None
    try:
        text = dumps(value)
        text.encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return text


def dumps(value: JsonValue) -> str:
    """Serialise compactly; refuses NaN/Infinity so we never emit invalid JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_type(value: object) -> str:
    """The JSON type name of a Python value, for error messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def json_equal(a: JsonValue, b: JsonValue) -> bool:
    """JSON equality without Python's ``1 == 1.0 == True`` (ccproto's models tell these apart)."""
    return first_difference(a, b) is None


def first_difference(a: JsonValue, b: JsonValue) -> tuple[str | int, ...] | None:
    """The path to the first place where two JSON values differ (``None`` when they are equal).

    Arrays are compared item by item and objects key by key (order ignored); a
    type difference (``1`` against ``1.0``) is a difference.  Iterative, so deep
    values cannot exhaust the stack.
    """
    stack: list[tuple[JsonValue, JsonValue, tuple[str | int, ...]]] = [(a, b, ())]
    while stack:
        x, y, path = stack.pop()
        if type(x) is not type(y):
            return path
        if isinstance(x, dict):
            if x.keys() != y.keys():
                missing = sorted(set(x).symmetric_difference(y))
                return (*path, missing[0])
            stack.extend((x[k], y[k], (*path, k)) for k in reversed(list(x)))
        elif isinstance(x, list):
            if len(x) != len(y):
                return path
            stack.extend((x[i], y[i], (*path, i)) for i in reversed(range(len(x))))
        elif x != y:
            return path
    return None
