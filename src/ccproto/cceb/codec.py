"""Decode and encode CCEB messages (JSON text of one WebSocket text frame <-> models).

Decoding: parse the JSON (with limits), pick the class by ``type`` (the
envelope's four types, then the registry's notifications), structure it
strictly, and check what needs the registry (a supported action).  A
notification type no registry knows decodes to :class:`UnknownNotification`
with a warning; ``strict=True`` turns every warning into an error.  A reserved
field in ``action_details`` is an error with code ``reserved-field`` whose hint
says what to do about it.
"""

from __future__ import annotations

from typing import Any

from ccproto.cceb import envelope, quirks
from ccproto.cceb.models import (
    REGISTRY,
    Ack,
    Action,
    CcebMessage,
    Hello,
    HelloReply,
    Notification,
    Registry,
    Unknown,
    UnknownNotification,
)
from ccproto.core.compiled import STRUCTURE_FUNCTIONS, Fallback, structure_function
from ccproto.core.convert import decode_model, encode_model, encode_text
from ccproto.core.decoding import Decoded, message_text, parse_message, raise_if_strict, similar_name
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
from ccproto.core.model import class_cache, pointer, split_pointer
from ccproto.core.redact import redact

__all__ = [
    "RESERVED_FIELD",
    "UNSUPPORTED_ACTION",
    "check_action",
    "decode",
    "decode_compiled",
    "decode_fast",
    "decode_text",
    "decode_value",
    "encode",
    "reserved_field_error",
    "encode_value",
    "message_class_for",
]

#: Error code: ``action_details`` holds a field the CCEB sets itself (or an agent GUID a client never sends).
RESERVED_FIELD = "reserved-field"
#: Error code: ``data.action`` is not a supported action.
UNSUPPORTED_ACTION = "unsupported-action"

_ENVELOPE: dict[str, type[CcebMessage]] = {
    envelope.HELLO: Hello,
    envelope.HELLO_REPLY: HelloReply,
    envelope.ACTION: Action,
    envelope.ACK: Ack,
}
_DETAILS = (envelope.DATA, envelope.ACTION_DETAILS)
_TYPE = envelope.TYPE


def message_class_for(
    value: dict[str, Any], registry: Registry = REGISTRY, warnings: list[ProtocolWarning] | None = None
) -> type[CcebMessage]:
    """The class a JSON object decodes to, by its ``type``; an unregistered type adds a warning to ``warnings``."""
    raw = value.get(envelope.TYPE)
    if type(raw) is not str:
        detail = f"missing required member {envelope.TYPE!r}" if envelope.TYPE not in value else "expected string"
        raise SchemaViolationError.Remote(detail, pointer=pointer([envelope.TYPE]), message=redact(value))
    found = _ENVELOPE.get(raw) or registry.notification_class(raw)
    if found is not None:
        return found
    if warnings is not None:
        meant = similar_name(raw, (*registry.notification_types(), *_ENVELOPE))
        hint = f" (did you mean {meant!r}?)" if meant else ""
        warnings.append(ProtocolWarning(
            quirks.UNKNOWN_NOTIFICATION, f"notification type {raw!r} is not registered; kept as it is{hint}",
            pointer([envelope.TYPE]),
        ))
    return UnknownNotification


def _reserved_field(exc: SchemaViolationError) -> SchemaViolationError:
    """Name a reserved ``action_details`` field for what it is, with a hint for the side that is to blame."""
    named = reserved_field_error(exc.pointer, local=not isinstance(exc, SchemaViolationError.Remote))
    if named is None:
        return exc
    named.message = exc.message
    return named


def reserved_field_error(where: str, *, local: bool) -> SchemaViolationError | None:
    """The ``reserved-field`` error for a member at ``where`` (``None`` when it is no reserved field)."""
    parts = split_pointer(where)
    if len(parts) != 3 or parts[:2] != _DETAILS:
        return None
    name = parts[2]
    if name not in envelope.RESERVED_ACTION_FIELDS and name not in envelope.CONTACT_ID_SUBSTITUTES:
        return None
    substitute = envelope.CONTACT_ID_SUBSTITUTES.get(name)
    if substitute is not None:
        detail = f"a client never sends {name!r}: it sends {substitute!r} and the CCEB resolves the agent GUID"
        advice = f"send {substitute!r} (the agent's contact id) in place of {name!r}"
    else:
        detail = f"{name!r} is reserved: the CCEB sets it itself (authorization)"
        advice = f"leave {name!r} out"
    hint = advice if local else f"do not ack this action: refuse it and report it (the client should {advice})"
    side = SchemaViolationError.Local if local else SchemaViolationError.Remote
    return side(detail, pointer=where, hint=hint, code=RESERVED_FIELD)


def check_action(action: Action, registry: Registry, *, local: bool) -> None:
    """Raise ``UnknownMessageError`` when ``action.action`` is not one of ``registry``'s supported actions."""
    if registry.has_action(action.action):
        return
    meant = similar_name(action.action, registry.actions())
    side = UnknownMessageError.Local if local else UnknownMessageError.Remote
    raise side(
        f"{action.action!r} is not a supported action", pointer=pointer((envelope.DATA, envelope.ACTION_NAME)),
        hint=f"did you mean {meant!r}?" if meant else "send one of the supported actions (docs/cceb.md)",
        code=UNSUPPORTED_ACTION,
    )


def decode_value(
    value: dict[str, Any], *, registry: Registry = REGISTRY, strict: bool = False
) -> Decoded[CcebMessage]:
    """Decode an already-parsed JSON object.  ``strict`` turns warnings into errors."""
    if type(value) is not dict:
        raise DecodeError("a message must be a JSON object")
    warnings: list[ProtocolWarning] = []
    cls = message_class_for(value, registry, warnings)
    try:
        message = decode_model(value, cls)
        if isinstance(message, Action):
            check_action(message, registry, local=False)
    except SchemaViolationError as exc:
        error = _reserved_field(exc) if cls is Action else exc
        error.message = redact(value)
        raise error from None
    except ProtocolError as exc:
        exc.message = redact(value)
        raise
    raise_if_strict(warnings, value, strict)
    return Decoded(message, value, tuple(warnings))


def decode(
    data: str | bytes, *, registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS, strict: bool = False
) -> CcebMessage:
    """Decode one message from JSON text (or UTF-8 bytes); raises a ``RemoteProtocolError``."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, registry, strict)
        if found is not None:
            return found[0]
    return decode_value(parse_message(data, limits), registry=registry, strict=strict).message


def decode_text(
    data: str | bytes, *, registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS, strict: bool = False
) -> Decoded[CcebMessage]:
    """Like :func:`decode`, keeping the warnings and the raw JSON value."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, registry, strict)
        if found is not None:
            return Decoded(found[0], value, found[1])
    return decode_value(parse_message(data, limits), registry=registry, strict=strict)


def decode_fast(
    value: dict[str, Any], *, registry: Registry = REGISTRY, strict: bool = False
) -> Decoded[CcebMessage] | None:
    """:func:`decode_value` for the common case only: a value parsed from text by a fast parser, or ``None``.

    ``None`` whenever the exact path must decide (an error, a quirk, an unknown name, a float): it never
    answers anything :func:`decode_value` would not, and is several times faster on what it answers.
    """
    found = decode_compiled(value, registry, strict)
    return Decoded(found[0], value, found[1]) if found is not None else None


def decode_compiled(
    value: dict[str, Any], registry: Registry, strict: bool
) -> tuple[CcebMessage, tuple[ProtocolWarning, ...]] | None:
    """The message and its warnings by the compiled path (a fast-parsed value); ``None`` leaves it to the exact path."""
    raw = value.get(_TYPE)
    if raw.__class__ is not str:
        return None
    cls = _ENVELOPE.get(raw) or registry.notification_class(raw)
    if cls is None:  # an unregistered notification type: a warning, and the exact path words it
        return None
    # convert.structure_compiled, inlined (it runs for every message): None whenever the compiled path defers.
    function = STRUCTURE_FUNCTIONS.get(cls) or structure_function(cls)
    try:
        message = function(value)
    except (Fallback, StructureError):
        return None
    if isinstance(message, Action) and not registry.has_action(message.action):
        return None
    return message, ()


def _is_declared(cls: type[Any]) -> bool:
    if cls in _ENVELOPE.values() or issubclass(cls, Unknown):
        return True
    return issubclass(cls, Notification) and isinstance(cls.__dict__.get("TYPE"), str)


@class_cache
def _encodable(cls: type[Any]) -> bool:
    return issubclass(cls, CcebMessage) and _is_declared(cls)


def encode_value(message: CcebMessage) -> dict[str, Any]:
    """The JSON value of a message; raises ``LocalProtocolError`` if the model is invalid."""
    cls = type(message)
    if not _encodable(cls):
        raise UnknownMessageError.Local(f"not a declared CCEB message: {cls.__name__}")
    try:
        return encode_model(message)
    except SchemaViolationError as exc:
        if not isinstance(message, Action):
            raise
        raise _reserved_field(exc) from None


def encode(message: CcebMessage) -> str:
    """The JSON text of a message (compact, UTF-8 safe)."""
    text = _compiled_text(message)
    return text if text is not None else message_text(encode_value(message))


def _compiled_text(message: CcebMessage) -> str | None:
    """The JSON text of a message by the compiled path, or ``None``: ``message_text(encode_value(message))`` decides.

    When it answers, ``encode_value`` would succeed and ``message_text`` would write the same text.
    """
    return encode_text(message) if _encodable(type(message)) else None
