"""Decode and encode Interaction Processor messages (JSON text <-> models).

Decoding: parse the JSON (with limits), tell a request, response or event apart
by its members (``command`` without ``result``, ``command`` with ``result``,
``name``), trim the seed's padded command names (:mod:`.quirks`), pick the class
from the registry and structure it strictly.  A command or event no registry
knows decodes to an ``Unknown*`` class holding the whole message, with a
warning; ``strict=True`` turns every warning into an error.
"""

from __future__ import annotations

from typing import Any

from ccproto.core.compiled import STRUCTURE_FUNCTIONS, Fallback, structure_function
from ccproto.core.convert import decode_model, encode_model, encode_text, unstructure_compiled
from ccproto.core.decoding import Decoded, message_text, parse_message, raise_if_strict, similar_name
from ccproto.core.errors import (
    DecodeError,
    ProtocolError,
    ProtocolWarning,
    SchemaViolationError,
    UnknownMessageError,
)
from ccproto.core.hooks import StructureError
from ccproto.core.jsonio import dumps_plain, loads_fast
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import class_cache
from ccproto.core.redact import redact
from ccproto.processor import quirks
from ccproto.processor.models import (
    REGISTRY,
    ConfirmResponse,
    Event,
    FailureResponse,
    ProcessorMessage,
    Registry,
    Request,
    Response,
    Result,
    SuccessResponse,
    Unknown,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
)

__all__ = [
    "decode", "decode_compiled", "decode_fast", "decode_text", "decode_value", "encode", "encode_value",
    "message_class_for", "normalise",
]

_RESULTS = {result.value: result for result in Result}
_MISSING: Any = object()
_FAILURE, _SUCCESS, _CONFIRM = Result.FAILURE.value, Result.SUCCESS.value, Result.CONFIRM.value


def _schema_error(detail: str, pointer: str, value: Any) -> SchemaViolationError:
    return SchemaViolationError.Remote(detail, pointer=pointer, message=redact(value))


def _string_member(value: dict[str, Any], key: str) -> str:
    raw = value[key]
    if type(raw) is not str:
        raise _schema_error("expected string", f"/{key}", value)
    return raw


def normalise(
    value: dict[str, Any], warnings: list[ProtocolWarning], registry: Registry = REGISTRY
) -> dict[str, Any]:
    """Trim a padded registered command (without mutating ``value``), noting it in ``warnings``."""
    command = value.get("command")
    if type(command) is not str:
        return value
    trimmed = quirks.trimmed_command(command, registry.has_command)
    if trimmed is None:
        return value
    warnings.append(ProtocolWarning(
        quirks.COMMAND_WHITESPACE, f"command {command!r} has surrounding whitespace; read as {trimmed!r}", "/command"
    ))
    return {**value, "command": trimmed}


def _unknown_warning(code: str, what: str, name: str, known: tuple[str, ...], pointer: str) -> ProtocolWarning:
    meant = similar_name(name, known)
    hint = f" (did you mean {meant!r}?)" if meant else ""
    return ProtocolWarning(code, f"{what} {name!r} is not registered; kept as it is{hint}", pointer)


def message_class_for(
    value: dict[str, Any], registry: Registry = REGISTRY, warnings: list[ProtocolWarning] | None = None
) -> type[ProcessorMessage]:
    """The class a (normalised) JSON object decodes to; unregistered names add a warning to ``warnings``."""
    noted = warnings if warnings is not None else []
    if "command" in value:
        command = _string_member(value, "command")
        known = registry.commands()
        if "result" not in value:
            cls: type[ProcessorMessage] | None = registry.request_class(command)
            if cls is None:
                noted.append(_unknown_warning(quirks.UNKNOWN_COMMAND, "command", command, known, "/command"))
                return UnknownRequest
            return cls
        raw_result = value["result"]
        result = _RESULTS.get(raw_result) if type(raw_result) is str else None
        if result is None:
            raise _schema_error("expected one of " + ", ".join(repr(r) for r in _RESULTS), "/result", value)
        if result is Result.FAILURE:
            return FailureResponse
        cls = registry.success_class(command) if result is Result.SUCCESS else registry.confirm_class(command)
        if cls is not None:
            return cls
        if command not in known:
            noted.append(_unknown_warning(quirks.UNKNOWN_COMMAND, "command", command, known, "/command"))
        elif result is Result.CONFIRM:
            raise UnknownMessageError.Remote(
                f"{command!r} is never answered with 'confirm'",
                pointer="/result", message=redact(value), hint="answer with 'success' or 'failure'",
            )
        else:
            noted.append(ProtocolWarning(
                quirks.UNREGISTERED_RESPONSE, f"no success response is registered for {command!r}; kept as it is",
                "/result",
            ))
        return UnknownSuccess if result is Result.SUCCESS else UnknownConfirm
    if "name" in value:
        name = _string_member(value, "name")
        event_cls = registry.event_class(name)
        if event_cls is None:
            noted.append(_unknown_warning(quirks.UNKNOWN_EVENT, "event", name, registry.events(), "/name"))
            return UnknownEvent
        return event_cls
    raise _schema_error(
        "missing required member 'command' (a request or response) or 'name' (an event)", "/command", value
    )


def decode_value(
    value: dict[str, Any], *, registry: Registry = REGISTRY, strict: bool = False
) -> Decoded[ProcessorMessage]:
    """Decode an already-parsed JSON object.  ``strict`` turns warnings into errors."""
    if type(value) is not dict:
        raise DecodeError("a message must be a JSON object")
    warnings: list[ProtocolWarning] = []
    normalised = normalise(value, warnings, registry)
    cls = message_class_for(normalised, registry, warnings)
    try:
        message = decode_model(normalised, cls)
    except ProtocolError as exc:
        exc.message = redact(value)
        raise
    raise_if_strict(warnings, value, strict)
    return Decoded(message, value, tuple(warnings))


def decode(
    data: str | bytes, *, registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS, strict: bool = False
) -> ProcessorMessage:
    """Decode one message from JSON text (or UTF-8 bytes); raises a ``RemoteProtocolError``."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, registry, strict)
        if found is not None:
            return found[0]
    return decode_value(parse_message(data, limits), registry=registry, strict=strict).message


def decode_text(
    data: str | bytes, *, registry: Registry = REGISTRY, limits: Limits = DEFAULT_LIMITS, strict: bool = False
) -> Decoded[ProcessorMessage]:
    """Like :func:`decode`, keeping the warnings and the raw JSON value."""
    value = loads_fast(data, limits)
    if value is not None:
        found = decode_compiled(value, registry, strict)
        if found is not None:
            return Decoded(found[0], value, found[1])
    return decode_value(parse_message(data, limits), registry=registry, strict=strict)


def decode_fast(
    value: dict[str, Any], *, registry: Registry = REGISTRY, strict: bool = False
) -> Decoded[ProcessorMessage] | None:
    """:func:`decode_value` for the common case only: a value parsed from text by a fast parser, or ``None``.

    ``None`` whenever the exact path must decide (an error, a quirk, an unknown name, a float): it never
    answers anything :func:`decode_value` would not, and is several times faster on what it answers.
    """
    found = decode_compiled(value, registry, strict)
    return Decoded(found[0], value, found[1]) if found is not None else None


def decode_compiled(
    value: dict[str, Any], registry: Registry, strict: bool
) -> tuple[ProcessorMessage, tuple[ProtocolWarning, ...]] | None:
    """The message by the compiled path (a fast-parsed value); ``None`` leaves it to the exact path.

    Only the common case is handled here: a registered command without surrounding whitespace, or a
    registered event, so there is nothing to normalise and no warning.  Everything else (an unknown name,
    a padded command, any error) is for :func:`decode_value` to decide, warn about and report.
    """
    command = value.get("command", _MISSING)
    cls: type[ProcessorMessage] | None
    if command is _MISSING:
        name = value.get("name")
        if name.__class__ is not str:
            return None
        cls = registry.event_class(name)
    elif command.__class__ is not str or quirks.is_padded(command):
        return None
    else:
        result = value.get("result", _MISSING)
        if result is _MISSING:
            cls = registry.request_class(command)
        elif result == _FAILURE:
            cls = FailureResponse
        elif result == _SUCCESS:
            cls = registry.success_class(command)
        elif result == _CONFIRM:
            cls = registry.confirm_class(command)
        else:
            return None
    if cls is None:
        return None
    # convert.structure_compiled, inlined (it runs for every message): None whenever the compiled path defers.
    function = STRUCTURE_FUNCTIONS.get(cls) or structure_function(cls)
    try:
        return function(value), ()
    except (Fallback, StructureError):
        return None


def _is_declared(cls: type[Any]) -> bool:
    if issubclass(cls, (Unknown, FailureResponse)):
        return True
    if issubclass(cls, (Request, SuccessResponse, ConfirmResponse)):
        return "COMMAND" in cls.__dict__
    return issubclass(cls, Event) and "NAME" in cls.__dict__


@class_cache
def _encodable(cls: type[Any]) -> bool:
    return issubclass(cls, (Request, Response, Event)) and _is_declared(cls)


def encode_value(message: ProcessorMessage) -> dict[str, Any]:
    """The JSON value of a message; raises ``LocalProtocolError`` if the model is invalid."""
    cls = type(message)
    if not _encodable(cls):
        raise UnknownMessageError.Local(f"not a declared Interaction Processor message: {cls.__name__}")
    return encode_model(message)


def encode(message: ProcessorMessage) -> str:
    """The JSON text of a message (compact, UTF-8 safe)."""
    if _encodable(type(message)):
        text = encode_text(message)
        if text is not None:
            return text
    return message_text(encode_value(message))


def _value_and_text(message: ProcessorMessage) -> tuple[dict[str, Any], str]:
    """``encode_value(message)`` and ``message_text`` of it (what a session sends), by the compiled path if it answers.

    Its value is the one :func:`encode_value` returns, and holds no float: ``dumps_plain`` writes the same text.
    """
    if _encodable(type(message)):
        value = unstructure_compiled(message)
        if value is not None:
            text = dumps_plain(value)
            if text is not None:
                return value, text
    value = encode_value(message)
    return value, message_text(value)
