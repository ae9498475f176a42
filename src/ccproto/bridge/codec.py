"""Decode and encode control-destination messages (JSON text <-> models).

Decoding is one pass: parse the JSON (with limits), normalise the quirks of
:mod:`ccproto.bridge.quirks`, pick the message class from the header's
``type``/``name``/``result``, and structure it strictly (which validates it
fully).  Encoding unstructures the model and re-checks it, so nothing invalid
is ever written.
"""

from __future__ import annotations

from typing import Any

from ccproto.bridge import quirks
from ccproto.bridge.models import (
    MESSAGE_CLASSES,
    AgentInfoResponse,
    BridgeMessage,
    MessageType,
    Name,
    Result,
)
from ccproto.core.compiled import STRUCTURE_FUNCTIONS, Fallback, structure_function
from ccproto.core.convert import decode_model, encode_model, encode_text
from ccproto.core.decoding import Decoded, message_text, parse_message, raise_if_strict
from ccproto.core.errors import (
    DecodeError,
    ProtocolError,
    ProtocolWarning,
    SchemaViolationError,
    UnknownMessageError,
)
from ccproto.core.hooks import StructureError
from ccproto.core.jsonio import loads_fast
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.redact import redact

__all__ = [
    "Decoded",
    "decode",
    "decode_compiled",
    "decode_fast",
    "decode_text",
    "decode_value",
    "encode",
    "encode_value",
    "message_class_for",
    "normalise",
]

_NAMES = {name.value: name for name in Name}
_TYPES = {kind.value: kind for kind in MessageType}
_RESULTS = {result.value: result for result in Result}
_KNOWN_NAMES = frozenset(_NAMES)
_CLASSES = frozenset(MESSAGE_CLASSES.values())
_MISSING: Any = object()


def _schema_error(detail: str, pointer: str, value: Any) -> SchemaViolationError:
    return SchemaViolationError.Remote(detail, pointer=pointer, message=redact(value))


def normalise(value: dict[str, Any], warnings: list[ProtocolWarning]) -> dict[str, Any]:
    """Apply the accepted alternate spellings (without mutating ``value``), noting each in ``warnings``."""
    header = value.get("header")
    if type(header) is not dict or header.get("type") != MessageType.RESPONSE.value:
        return value
    renames = [
        (alt, canonical)
        for alt, canonical in quirks.ALTERNATE_RESPONSE_HEADER_KEYS.items()
        if alt in header and canonical not in header
    ]
    if not renames:
        return value
    header = dict(header)
    for alt, canonical in renames:
        header[canonical] = header.pop(alt)
        warnings.append(
            ProtocolWarning(
                quirks.ALTERNATE_SPELLING,
                f"header key {alt!r} is an alternate spelling of {canonical!r}",
                f"/header/{alt}",
            )
        )
    return {**value, "header": header}


def _header_member(header: dict[str, Any], key: str, allowed: dict[str, Any], value: dict[str, Any]) -> Any:
    """Look up a discriminating header member; a missing or ill-typed one is a schema violation."""
    raw = header.get(key, _MISSING)
    if raw is _MISSING:
        raise _schema_error(f"missing required member {key!r}", f"/header/{key}", value)
    found = allowed.get(raw) if type(raw) is str else None
    if found is None:
        raise _schema_error("expected one of " + ", ".join(repr(v) for v in allowed), f"/header/{key}", value)
    return found


def message_class_for(value: dict[str, Any]) -> type[BridgeMessage]:
    """The message class a (normalised) JSON object claims to be, from its header."""
    header = value.get("header", _MISSING)
    if type(header) is not dict:
        detail = "missing required member 'header'" if header is _MISSING else "expected object"
        raise _schema_error(detail, "/header", value)
    type_: MessageType = _header_member(header, "type", _TYPES, value)
    raw_name = header.get("name", _MISSING)
    if type(raw_name) is not str:
        detail = "missing required member 'name'" if raw_name is _MISSING else "expected string"
        raise _schema_error(detail, "/header/name", value)
    name = _NAMES.get(raw_name)
    if name is None:
        meant = quirks.misspelled_name(raw_name, _KNOWN_NAMES)
        raise UnknownMessageError.Remote(
            f"unknown message name {raw_name!r}",
            pointer="/header/name",
            message=redact(value),
            hint=f"did you mean {meant!r}?" if meant else None,
        )
    result: Result | None = None
    if type_ is MessageType.RESPONSE:
        result = _header_member(header, "result", _RESULTS, value)
    cls = MESSAGE_CLASSES.get((type_, name, result))
    if cls is None:
        raise UnknownMessageError.Remote(
            f"{raw_name!r} is not a {type_.value} message", pointer="/header/name", message=redact(value)
        )
    return cls


def _semantic_warnings(message: BridgeMessage, warnings: list[ProtocolWarning]) -> None:
    if isinstance(message, AgentInfoResponse) and message.display_name is None:
        warnings.append(
            ProtocolWarning(
                quirks.AGENT_NAME_MISSING,
                "agentinfo gives neither 'full-name' nor both 'first-name' and 'last-name'",
                "/body",
            )
        )


def decode_value(value: dict[str, Any], *, strict: bool = False) -> Decoded[BridgeMessage]:
    """Decode an already-parsed JSON object.  ``strict`` turns warnings into errors."""
    if type(value) is not dict:
        raise DecodeError("a message must be a JSON object")
    warnings: list[ProtocolWarning] = []
    normalised = normalise(value, warnings)
    cls = message_class_for(normalised)
    try:
        message = decode_model(normalised, cls)
    except ProtocolError as exc:
        exc.message = redact(value)
        raise
    _semantic_warnings(message, warnings)
    raise_if_strict(warnings, value, strict)
    return Decoded(message, value, tuple(warnings))


def decode(data: str | bytes, *, limits: Limits = DEFAULT_LIMITS, strict: bool = False) -> BridgeMessage:
    """Decode one message from JSON text (or UTF-8 bytes); raises a ``RemoteProtocolError``."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, strict)
        if found is not None:
            return found[0]
    return decode_value(parse_message(data, limits), strict=strict).message


def decode_text(
    data: str | bytes, *, limits: Limits = DEFAULT_LIMITS, strict: bool = False
) -> Decoded[BridgeMessage]:
    """Like :func:`decode`, keeping the warnings and the raw JSON value."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, strict)
        if found is not None:
            return Decoded(found[0], value, found[1])
    return decode_value(parse_message(data, limits), strict=strict)


#: Every message class by the raw strings of its header's type, name and (for a response) result.
_BY_WIRE: dict[tuple[Any, Any, Any], type[BridgeMessage]] = {
    (type_.value, name.value, None if result is None else result.value): cls
    for (type_, name, result), cls in MESSAGE_CLASSES.items()
}
_ALTERNATE_KEYS = frozenset(quirks.ALTERNATE_RESPONSE_HEADER_KEYS)


def decode_fast(value: dict[str, Any], *, strict: bool = False) -> Decoded[BridgeMessage] | None:
    """:func:`decode_value` for the common case only: a value parsed from text by a fast parser, or ``None``.

    ``None`` whenever the exact path must decide (an error, a quirk, an unknown name, a float): it never
    answers anything :func:`decode_value` would not, and is several times faster on what it answers.
    """
    found = decode_compiled(value, strict)
    return Decoded(found[0], value, found[1]) if found is not None else None


def decode_compiled(
    value: dict[str, Any], strict: bool
) -> tuple[BridgeMessage, tuple[ProtocolWarning, ...]] | None:
    """The message and its warnings by the compiled path (a fast-parsed value); ``None`` leaves it to the exact path.

    Only the common case is handled here: a canonical header naming a known message.  Everything else
    (an alternate spelling, an unknown name, any error) is for :func:`decode_value` to decide and report.
    """
    header = value.get("header")
    if header.__class__ is not dict or not _ALTERNATE_KEYS.isdisjoint(header):
        return None
    kind = header.get("type")
    try:
        cls = _BY_WIRE.get((kind, header.get("name"), header.get("result") if kind == "cti.response" else None))
    except TypeError:  # an unhashable (array or object) where a string belongs
        return None
    if cls is None:
        return None
    # convert.structure_compiled, inlined (it runs for every message): None whenever the compiled path defers.
    function = STRUCTURE_FUNCTIONS.get(cls) or structure_function(cls)
    try:
        message = function(value)
    except (Fallback, StructureError):
        return None
    if isinstance(message, AgentInfoResponse) and message.display_name is None:
        warnings: list[ProtocolWarning] = []
        _semantic_warnings(message, warnings)
        return None if strict else (message, tuple(warnings))
    return message, ()


def encode_value(message: BridgeMessage) -> dict[str, Any]:
    """The JSON value of a message; raises ``LocalProtocolError`` if the model is invalid."""
    if type(message) not in _CLASSES:
        raise UnknownMessageError.Local(f"not a control-destination message: {type(message).__name__}")
    return encode_model(message)


def encode(message: BridgeMessage) -> str:
    """The JSON text of a message (compact, UTF-8 safe)."""
    if type(message) in _CLASSES:
        text = encode_text(message)
        if text is not None:
            return text
    return message_text(encode_value(message))
