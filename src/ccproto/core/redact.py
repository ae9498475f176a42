"""Keeping secrets out of reprs, errors, logs and reports.

Secret fields are declared once, on the model (``wire(..., secret=True)``);
declaring one adds its wire key here.  Redaction works on raw JSON values and
on raw text by key name, so it also protects messages that never decoded.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REDACTED", "is_secret_key", "redact", "redact_text", "register_secret_key", "secret_keys"]

#: What a secret value is replaced with.
REDACTED = "***"

# Key names that are secret in every protocol ccproto knows, even before the
# models that declare them are imported (captures may hold any of them).
_SECRET_KEYS: set[str] = {"password", "token", "session_key", "sessionKey"}
_text_pattern: re.Pattern[str] | None = None


def register_secret_key(key: str) -> None:
    """Treat ``key`` as secret wherever it appears in a JSON object."""
    global _text_pattern
    if key not in _SECRET_KEYS:
        _SECRET_KEYS.add(key)
        _text_pattern = None


def secret_keys() -> frozenset[str]:
    """The wire keys currently treated as secret."""
    return frozenset(_SECRET_KEYS)


def is_secret_key(key: str) -> bool:
    """Whether values under ``key`` are secret."""
    return key in _SECRET_KEYS


def redact(value: Any) -> Any:
    """A copy of a JSON value with every secret-keyed value replaced by ``REDACTED``."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in _SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def _key_pattern() -> re.Pattern[str]:
    global _text_pattern
    if _text_pattern is None:
        keys = "|".join(re.escape(k) for k in sorted(_SECRET_KEYS, key=len, reverse=True))
        _text_pattern = re.compile(r'"(?:' + keys + r')"\s*:\s*')
    return _text_pattern


def _value_end(text: str, start: int) -> int:
    """Where the JSON value starting at ``start`` ends (the text's end if it is cut short)."""
    if start >= len(text):
        return start
    first = text[start]
    if first == '"':
        index = start + 1
        while index < len(text):
            if text[index] == "\\":
                index += 2
                continue
            if text[index] == '"':
                return index + 1
            index += 1
        return len(text)
    if first in "[{":
        depth, index, in_string = 0, start, False
        while index < len(text):
            char = text[index]
            if in_string:
                if char == "\\":
                    index += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
        return len(text)
    match = re.compile(r"[^,}\]\s]*").match(text, start)
    assert match is not None
    return match.end()


def redact_text(text: str) -> str:
    """Redact secret values (strings, numbers, arrays, objects) from text that may not parse as JSON."""
    out: list[str] = []
    position = 0
    for match in _key_pattern().finditer(text):
        if match.start() < position:
            continue  # inside a value already redacted
        out.append(text[position : match.end()])
        out.append('"' + REDACTED + '"')
        position = _value_end(text, match.end())
    out.append(text[position:])
    return "".join(out)
