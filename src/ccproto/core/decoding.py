"""What every protocol's codec shares: the decoded result, text parsing with redacted excerpts, strictness."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from ccproto.core.errors import ProtocolError, ProtocolWarning, SchemaViolationError
from ccproto.core.jsonio import dumps, parse_object
from ccproto.core.limits import Limits
from ccproto.core.redact import redact, redact_text

__all__ = ["EXCERPT", "Decoded", "message_text", "parse_message", "raise_if_strict", "similar_name"]

#: Longest raw text kept in an error (the rest is cut: errors must stay small).
EXCERPT = 2000

_T = TypeVar("_T")


class Decoded(Generic[_T]):
    """A decoded message, the JSON value it came from and the warnings its decoding raised."""

    __slots__ = ("message", "value", "warnings")

    def __init__(self, message: _T, value: dict[str, Any], warnings: tuple[ProtocolWarning, ...]) -> None:
        self.message = message
        #: The JSON value as received (before quirk normalisation).
        self.value = value
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"Decoded({self.message!r}, warnings={self.warnings!r})"


def parse_message(data: str | bytes, limits: Limits) -> dict[str, Any]:
    """Parse one message's JSON text; on failure the error carries a short, redacted excerpt."""
    try:
        return parse_object(data, limits=limits)
    except ProtocolError as exc:
        text = data if isinstance(data, str) else bytes(data[:EXCERPT]).decode("utf-8", "replace")
        exc.message = redact_text(text[:EXCERPT])
        raise


def message_text(value: dict[str, Any]) -> str:
    """A message's JSON text (compact, UTF-8 safe); a value that cannot be written is a local schema error."""
    try:
        text = dumps(value)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        raise SchemaViolationError.Local(f"cannot serialise: {type(exc).__name__}") from None
    return text


def raise_if_strict(warnings: Sequence[ProtocolWarning], value: dict[str, Any], strict: bool) -> None:
    """Under ``strict``, the first warning becomes a ``SchemaViolationError`` keeping the warning's code."""
    if strict and warnings:
        first = warnings[0]
        raise SchemaViolationError.Remote(first.detail, pointer=first.pointer, message=redact(value), code=first.code)


#: How alike (difflib's ratio, 0-1) a name must be to a known one to be suggested: 0.8 takes one or two typos in a
#: command name ("getCapabilites", "presense") and no unrelated name that merely shares a prefix ("cti.request.").
_SIMILARITY_CUTOFF = 0.8


def similar_name(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` was probably meant to be: equal once whitespace is removed and case ignored, else
    the closest one by ``difflib`` (the standard library's fuzzy matcher), if close enough."""
    squashed = "".join(name.split()).lower()
    by_squashed: dict[str, str] = {}
    for candidate in known:
        by_squashed.setdefault("".join(candidate.split()).lower(), candidate)
    if squashed in by_squashed:
        return by_squashed[squashed]
    close = difflib.get_close_matches(squashed, by_squashed, n=1, cutoff=_SIMILARITY_CUTOFF)
    return by_squashed[close[0]] if close else None
