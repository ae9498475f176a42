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
import re
import sys
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by the tests that hide orjson
    _orjson = None  # type: ignore[assignment]

from ccproto.core.errors import DecodeError, LimitExceededError, ProtocolError
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import pointer

__all__ = [
    "DUPLICATE_KEY",
    "FAST_DEPTH_BOUND",
    "JsonValue",
    "LONE_SURROGATE",
    "check_finite",
    "check_parsed",
    "json_error",
    "json_loads_strict",
    "check_text_size",
    "dumps",
    "dumps_plain",
    "first_difference",
    "json_equal",
    "json_type",
    "loads",
    "loads_fast",
    "loads_object_fast",
    "no_repeated_key",
    "parse_object",
]

#: No value the codecs' compiled path accepts nests deeper than this (:mod:`ccproto.core.compiled` makes sure):
#: :func:`loads_fast` measures the depth only when the limit is below it.
FAST_DEPTH_BOUND = 32

#: Any JSON value as Python holds it (dict, list, str, int, float, bool, None).
JsonValue = Any


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; Python's json accepts them by default.
    raise ValueError(f"{name} is not a JSON number")


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
    # Every character is at least one byte: a text longer than the limit is refused without encoding it
    # (a 100 MB string must not cost another 100 MB to measure).
    if len(text) > limit or (len(text) * 4 > limit and len(text.encode("utf-8", "surrogatepass")) > limit):
        raise error(f"message exceeds max_message_bytes={limits.max_message_bytes}", code="message-too-large")


def loads(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> JsonValue:
    """Parse one JSON text, enforcing size and depth limits; raise ``DecodeError``.

    Refused besides what is not JSON at all: ``NaN``/``Infinity``, numbers that overflow a double,
    integers of more than 4,300 digits, a byte order mark, lone surrogates (not Unicode: they cannot
    be written back as UTF-8) and, unless ``limits.allow_duplicate_keys``, a key repeated in one object
    (docs/security.md).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > limits.max_message_bytes:
            raise LimitExceededError.Remote(
                f"message of {len(data)} bytes exceeds max_message_bytes={limits.max_message_bytes}",
                code="message-too-large",
            )
        # Errors are raised outside the except blocks: the parser's exception, kept as __context__ even when
        # suppressed, holds the whole text (a secret, perhaps) in its .object or .doc.
        error: ProtocolError | None = None
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            error = DecodeError(f"message is not valid UTF-8 (byte {exc.start})")
        if error is not None:
            raise error
    else:
        text = data
        check_text_size(text, limits, LimitExceededError.Remote)
    failure: ProtocolError | None = None
    try:
        value = json_loads_strict(text, allow_duplicate_keys=limits.allow_duplicate_keys)
    except RecursionError:
        failure = LimitExceededError.Remote(f"JSON nesting exceeds max_depth={limits.max_depth}", code="too-deep")
    except ValueError as exc:
        failure = json_error(exc, text)
    if failure is not None:
        raise failure
    check_parsed(value, text, limits)
    return value


def check_parsed(value: JsonValue, text: str, limits: Limits) -> None:
    """What :func:`loads` checks after parsing ``text`` into ``value``: the depth and lone surrogates.

    Also for a value parsed as part of a larger text (a capture record's ``message``): ``text`` is only
    looked at to skip the walks when they cannot find anything.
    """
    # Counting brackets is a cheap upper bound on the depth; only walk when it might be over.
    if text.count("[") + text.count("{") > limits.max_depth and _depth(value) > limits.max_depth:
        raise LimitExceededError.Remote(f"JSON nesting exceeds max_depth={limits.max_depth}", code="too-deep")
    if _may_hold_surrogates(text):
        _check_no_surrogates(value)


#: The ``code`` of the error for a key repeated in one JSON object.
DUPLICATE_KEY = "duplicate-key"
#: The ``code`` of the error for a lone surrogate (``"\\ud800"``) in a string or key.
LONE_SURROGATE = "lone-surrogate"


class _DuplicateKey(ValueError):
    """A key repeated in one object (where it is, is found afterwards: only the error path pays)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The C scanner calls this once per object with its members in order; a dict shorter than the
    # list of pairs means a key came twice.  json's default keeps the last value silently, which lets
    # two parsers read different messages from one text (docs/security.md).
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


class _Pairs(list[tuple[str, Any]]):
    """An object's members as parsed, duplicates kept (only to find where a duplicate key is)."""


def _duplicate_key_error(exc: _DuplicateKey, text: str) -> DecodeError:
    """The error for the repeated key the parser met first, with the pointer to it when it can be found."""
    shown = exc.key if len(exc.key) <= 40 else exc.key[:40] + "..."
    detail = f"duplicate key {shown!r} in one JSON object: parsers disagree on which value counts"
    try:
        # The text may be broken after the repeated key (the parser stopped there): then no pointer.
        root = _PAIRS_DECODER.decode(text)
    except (ValueError, RecursionError):
        return DecodeError(detail, code=DUPLICATE_KEY)
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, _Pairs):
            seen: set[str] = set()
            for key, _ in item:
                if key in seen:
                    return DecodeError(detail, pointer=pointer((*path, key)), code=DUPLICATE_KEY)
                seen.add(key)
            stack.extend((child, (*path, key)) for key, child in reversed(item))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in reversed(list(enumerate(item))))
    return DecodeError(detail, code=DUPLICATE_KEY)  # pragma: no cover - the parser saw one


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _may_hold_surrogates(text: str) -> bool:
    """Whether a parsed ``text`` may hold a lone surrogate (cheap; false positives are checked)."""
    # Raw ones only in a str given to us (UTF-8 bytes never decode to one); escaped ones only as \uD8xx-\uDFxx.
    return (not text.isascii() and _SURROGATE.search(text) is not None) or (
        "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    )


def _check_no_surrogates(value: JsonValue) -> None:
    """Raise on the first string or key holding a lone surrogate (a valid pair parses to one character)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                raise DecodeError(
                    f"lone surrogate U+{ord(found.group()):04X} in a string: not Unicode, cannot be written as UTF-8",
                    pointer=pointer(path), code=LONE_SURROGATE,
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key) is not None:
                    raise DecodeError(
                        "lone surrogate in a key: not Unicode, cannot be written as UTF-8",
                        pointer=pointer(path), code=LONE_SURROGATE,
                    )
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))


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
_STRICT_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_object
)
_LAST_WINS_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
#: Parses every object as its list of members: only to find where a repeated key is.
_PAIRS_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_Pairs
)


def json_loads_strict(text: str | bytes, *, allow_duplicate_keys: bool = False) -> Any:
    """``json.loads`` refusing ``NaN``/``Infinity``, numbers that overflow a double and repeated keys.

    Raises ``ValueError`` (the caller words it).  ``allow_duplicate_keys`` keeps the last of a repeated
    key's values, as ``json`` does.
    """
    if not isinstance(text, str):
        # As json.loads: detect the encoding of bytes (UTF-8, -16 or -32) before decoding.
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("the text starts with a byte order mark (U+FEFF), which JSON does not allow",
                                   text, 0)
    return (_LAST_WINS_DECODER if allow_duplicate_keys else _STRICT_DECODER).decode(text)


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


#: What is left after json's error position when a text was cut inside a token (json reports the token's start).
_PARTIAL_TOKEN = re.compile(
    r"-?(?:\d+)?(?:\.\d*)?(?:[eE][+-]?\d*)?|t(?:ru?)?|f(?:a(?:ls?)?)?|n(?:ul?)?|u[0-9a-fA-F]{0,3}"
)


def _ends_early(exc: json.JSONDecodeError, text: str) -> bool:
    """Whether the text stops inside what json was reading (truncated), rather than going on wrongly."""
    if exc.msg.startswith("Unterminated string"):
        return True
    rest = text[exc.pos:].rstrip()
    return not rest or _PARTIAL_TOKEN.fullmatch(rest) is not None


def json_error(exc: ValueError, text: str) -> DecodeError:
    """The ``DecodeError`` for the ``ValueError`` :func:`json_loads_strict` raised on ``text``.

    It names the problem and where it is, never the text itself (which may hold a secret).
    """
    if isinstance(exc, _OutOfRange):
        return DecodeError(_OUT_OF_RANGE)
    if isinstance(exc, _DuplicateKey):
        return _duplicate_key_error(exc, text)
    if isinstance(exc, json.JSONDecodeError):
        where = f"{exc.msg} (line {exc.lineno} column {exc.colno})"
        if not text.strip():
            where = "the text is empty"
        elif _ends_early(exc, text):
            where += ": the text ends too early (truncated?)"
        return DecodeError(f"not valid JSON: {where}")
    if "integer string conversion" in str(exc):
        # Python refuses to convert integers this long (quadratic time); its message suggests changing a global.
        return DecodeError(f"not valid JSON: an integer of more than {sys.get_int_max_str_digits()} digits")
    return DecodeError(f"not valid JSON: {exc}")


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
    Unless ``limits.allow_duplicate_keys``, only a text that is byte for byte orjson's own compact writing
    of the result is accepted (so no key can be repeated): that is what most peers send.
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
    # orjson keeps the last of a repeated key silently: trust it only where no key can have repeated (J4).
    if not limits.allow_duplicate_keys:
        raw = data.encode() if isinstance(data, str) else data
        try:
            written = _orjson.dumps(result)
        except TypeError:  # deeper than orjson writes
            return None
        # no_repeated_key(result, raw), inline: this runs for every message
        if written != raw and (written.count(b":") != raw.count(b":") or _COLON_ESCAPE in raw):
            return None
    if limits.max_depth < FAST_DEPTH_BOUND:
        text = data if isinstance(data, str) else data.decode("utf-8")
        if text.count("[") + text.count("{") > limits.max_depth:  # cheap bound; near the limit, measure exactly
            return None
    return result


#: How a ':' can be written inside a JSON string other than as itself (``\\u003a``, ``\\u003A``; the other
#: ``\\u003X`` escapes are counted in too, which only sends a few more texts to the exact parser).
_COLON_ESCAPE = b"\\u003"


def no_repeated_key(value: dict[str, JsonValue], data: bytes) -> bool:
    """Whether ``data``, which orjson parsed into ``value``, provably repeats no key in any object (quirk J4).

    orjson keeps the last of a repeated key without a word.  Outside strings, every object member holds
    exactly one ``:``; inside a string a ``:`` is written as itself or as a ``\\u003a`` escape.  So when the
    text has no such escape, its ``:`` count is at least the members it holds plus the ``:`` in the strings
    that were kept, which is exactly the ``:`` count of orjson's own writing of ``value``; the two counts are
    equal only if no member was dropped, i.e. no key was repeated.  (Spaces, other escapes, key order and
    number spelling do not matter; a text that is byte for byte orjson's writing is accepted at once.)
    """
    assert _orjson is not None
    try:
        written = _orjson.dumps(value)
    except TypeError:  # orjson writes at most 254 levels (it reads more): too deep to prove anything
        return False
    return written == data or (written.count(b":") == data.count(b":") and _COLON_ESCAPE not in data)


def loads_object_fast(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, JsonValue] | None:
    """One JSON object parsed by orjson, or ``None`` whenever the exact parser must decide (quirk J2).

    For texts that hold other texts' values (a capture's record around a message): no size limit is applied
    and floats are not deferred here (orjson turns integers beyond 64 bits into floats: a caller that
    structures a value parsed this way trusts it only where no float is seen, as the compiled functions do,
    and parses the text again with :func:`json_loads_strict` otherwise).  ``None`` when orjson is not
    installed, refuses the text (the exact parser words the error), the value is not an object, a key may
    be repeated (whatever ``limits.allow_duplicate_keys`` says: the capture reader refuses them always), or
    the text nests deeper than ``limits.max_depth``.
    """
    if _orjson is None:
        return None
    try:
        value = _orjson.loads(data)
        written = _orjson.dumps(value)  # (TypeError: deeper than orjson writes, 254 levels)
    except (_orjson.JSONDecodeError, TypeError):
        return None
    if value.__class__ is not dict:
        return None
    # no_repeated_key(value, data), inline: this runs for every line of a capture.
    if written != data and (written.count(b":") != data.count(b":") or _COLON_ESCAPE in data):
        return None
    max_depth = limits.max_depth
    if data.count(b"[") + data.count(b"{") > max_depth and _depth(value) > max_depth:
        return None  # the exact parser words the error
    result: dict[str, JsonValue] = value
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


def same_number(x: int | float, y: int | float) -> bool:
    """Whether two JSON numbers are the same number under the protocols' comparisons (docs/quirks.md N1).

    They are when they are equal as IEEE 754 doubles, the only numbers RFC 8259 section 6 and I-JSON (RFC 7493)
    say interoperate: ``1`` is ``1.0``, ``-0.0`` is ``0``, and ``3204925966965737984`` is
    ``3204925966965738000`` (what ``JSON.parse`` then ``JSON.stringify`` writes).  Numbers beyond a double's
    range compare exactly.  ``True`` is not a number here (callers check the JSON type first).
    """
    if x == y:  # exact, also between int and float (Python compares them mathematically)
        return True
    try:
        return float(x) == float(y)
    except OverflowError:  # an integer beyond a double's range: only its exact self is the same
        return False


def json_equal(a: JsonValue, b: JsonValue, *, numbers_by_value: bool = False) -> bool:
    """JSON equality without Python's ``1 == 1.0 == True`` (see :func:`first_difference`)."""
    return first_difference(a, b, numbers_by_value=numbers_by_value) is None


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def first_difference(
    a: JsonValue, b: JsonValue, *, numbers_by_value: bool = False
) -> tuple[str | int, ...] | None:
    """The path to the first place where two JSON values differ (``None`` when they are equal).

    Arrays are compared item by item and objects key by key (order ignored).  By
    default a type difference (``1`` against ``1.0``) is a difference: that is the
    lossless rule for what ccproto itself writes.  With ``numbers_by_value``,
    numbers compare by :func:`same_number`, the rule wherever a protocol compares
    values a peer wrote back (an echoed ``original``, ``resource.data``).  ``True``
    is never ``1`` either way.  Iterative, so deep values cannot exhaust the stack.
    """
    stack: list[tuple[JsonValue, JsonValue, tuple[str | int, ...]]] = [(a, b, ())]
    while stack:
        x, y, path = stack.pop()
        if type(x) is not type(y):
            if numbers_by_value and _is_number(x) and _is_number(y) and same_number(x, y):
                continue
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
            if numbers_by_value and _is_number(x) and same_number(x, y):
                continue
            return path
    return None
