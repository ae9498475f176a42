"""Keeping secrets out of reprs, errors, logs and reports.

Secret fields are declared once, on the model (``wire(..., secret=True)``);
declaring one adds its wire key here.  Redaction works on raw JSON values and
on raw text by key name, so it also protects messages that never decoded.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "REDACTED", "REDACT_DEPTH", "SECRET_HEADERS", "is_secret_header", "is_secret_key", "names_secret", "redact",
    "redact_headers", "redact_log_text", "redact_text", "redact_urls", "register_secret_key", "secret_keys",
]

#: What a secret value is replaced with.
REDACTED = "***"

# Key names that are secret in every protocol ccproto knows, even before the
# models that declare them are imported (captures may hold any of them).
_SECRET_KEYS: set[str] = {"password", "token", "session_key", "sessionKey"}
_text_pattern: re.Pattern[str] | None = None
_name_pattern: re.Pattern[str] | None = None


def register_secret_key(key: str) -> None:
    """Treat ``key`` as secret wherever it appears in a JSON object."""
    global _text_pattern, _name_pattern
    if key not in _SECRET_KEYS:
        _SECRET_KEYS.add(key)
        _text_pattern = _name_pattern = None


def secret_keys() -> frozenset[str]:
    """The wire keys currently treated as secret."""
    return frozenset(_SECRET_KEYS)


def is_secret_key(key: str) -> bool:
    """Whether values under ``key`` are secret."""
    return key in _SECRET_KEYS


#: Deeper than any message ``Limits.max_depth`` lets through; only a value given already parsed (``decode_value``,
#: ``validate_message``) can nest more, and what is below this is replaced whole (it may hold a secret).
REDACT_DEPTH = 200


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON value with every secret-keyed value replaced by ``REDACTED``.

    A string holding JSON text with a secret member (a message encoded twice, a
    vendor member carrying a JSON document) has that member redacted too.
    Containers nested deeper than :data:`REDACT_DEPTH` are replaced by ``REDACTED``
    (the recursion stays far from Python's limit).
    """
    if isinstance(value, (dict, list, tuple)) and _depth >= REDACT_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {k: (REDACTED if k in _SECRET_KEYS else redact(v, _depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, _depth + 1) for v in value]
    if isinstance(value, str) and names_secret(value):
        return redact_text(value)
    return value


#: The two-character escapes JSON has for some characters (besides ``\\uXXXX``, which it has for every one).
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t"}


def _hex_escape(code: int) -> str:
    """A pattern for ``\\uXXXX`` of one UTF-16 code unit (JSON allows either case of hexadecimal digit)."""
    return r"\\u" + "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{code:04x}")


def _spelled(char: str) -> str:
    """A pattern for ``char`` as a JSON string may write it: as itself or escaped.

    Text that does not parse is redacted by key name, so a key spelled with
    escapes (``"t\\u006fken"`` is ``"token"``) must be recognised too.
    """
    code = ord(char)
    options = [] if char in '"\\' else [re.escape(char)]
    if code > 0xFFFF:  # a surrogate pair in JSON's escapes
        code -= 0x10000
        options.append(_hex_escape(0xD800 + (code >> 10)) + _hex_escape(0xDC00 + (code & 0x3FF)))
    else:
        options.append(_hex_escape(code))
    if char in _SHORT_ESCAPES:
        options.append(re.escape(_SHORT_ESCAPES[char]))
    return "(?:" + "|".join(options) + ")"


def _spelled_keys() -> str:
    return "|".join("".join(_spelled(char) for char in key) for key in sorted(_SECRET_KEYS, key=len, reverse=True))


def _key_pattern() -> re.Pattern[str]:
    """A secret member's name (in any spelling) and its colon: where a secret value starts."""
    global _text_pattern
    if _text_pattern is None:
        # Single quotes too: text that did not parse may be a Python or JavaScript rendering of a message.
        _text_pattern = re.compile(r'(["\'])(?:' + _spelled_keys() + r')\1\s*:\s*')
    return _text_pattern


def _name_pattern_() -> re.Pattern[str]:
    """A secret member's name in any spelling, however it is quoted: a cheap test before the nested pass."""
    global _name_pattern
    if _name_pattern is None:
        _name_pattern = re.compile(_spelled_keys())
    return _name_pattern


def names_secret(text: str) -> bool:
    """Whether ``text`` holds a secret member, at the top level or in JSON text encoded in a string."""
    return _key_pattern().search(text) is not None or (
        "\\" in text and _name_pattern_().search(text) is not None and _nested(text) != text
    )


#: A bare value (a number, ``true``...): it ends at a separator, and at a quote, so that a secret member written
#: inside a string (``["'token': 12"]``) leaves the string's closing quote alone.
_SCALAR = re.compile(r"[^,}\]\s\"']*")


def _value_end(text: str, start: int) -> int:
    """Where the JSON value starting at ``start`` ends (the text's end if it is cut short)."""
    if start >= len(text):
        return start
    first = text[start]
    if first in "\"'":
        index = start + 1
        while index < len(text):
            if text[index] == "\\":
                index += 2
                continue
            if text[index] == first:
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
    match = _SCALAR.match(text, start)
    assert match is not None
    return match.end()


def redact_text(text: str) -> str:
    """Redact secret values (strings, numbers, arrays, objects) from text that may not parse as JSON.

    Members are found by name, however JSON spells the name (and in single quotes,
    as Python or JavaScript would write them); JSON text encoded in a string (a
    message encoded twice: ``"{\\"token\\": ...}"``) is redacted inside.
    """
    out: list[str] = []
    position = 0
    for match in _key_pattern().finditer(text):
        if match.start() < position:
            continue  # inside a value already redacted
        quote = match.group(1)  # the key's quotes (JSON's, or single ones) keep the text's style
        out.append(text[position : match.end()])
        out.append(quote + REDACTED + quote)
        position = _value_end(text, match.end())
    out.append(text[position:])
    redacted = "".join(out)
    if "\\" in redacted and _name_pattern_().search(redacted):
        return _nested(redacted)
    return redacted


#: A JSON string literal (its body, then its closing quote), or one cut short by the end of the text.
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)("|\\?\Z)', re.DOTALL)
#: One escape of a string literal's body (a lone backslash at the end of a text cut short has no group).
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)?", re.DOTALL)
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape is None:
        return ""
    if len(escape) == 5:
        return chr(int(escape[1:], 16))
    return _SIMPLE_ESCAPES.get(escape, escape)  # an invalid escape (broken text) stands for its character


def _nested(text: str) -> str:
    """``text`` with the string literals that hold JSON text with secret members redacted inside (recursively).

    Decoding is lenient (broken text gets here): a literal cut short is read up to
    the cut and written back without its closing quote.
    """
    out: list[str] = []
    position = 0
    for match in _STRING.finditer(text):
        body, closed = match.group(1), match.group(2) == '"'
        if "\\" not in body:
            continue  # no escaped quote: no member name can be quoted inside
        # Escaped surrogate pairs come out as two halves: joined, they are the character they spell.
        inner = _ESCAPE.sub(_unescape, body).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
        if _name_pattern_().search(inner) is None:
            continue
        # One recursive pass per level of encoding (asking first whether it would change anything, and then
        # redacting, would double the work at every level: exponential in the depth of a hostile text).
        redacted = redact_text(inner)
        if redacted == inner:
            continue
        encoded = json.dumps(redacted, ensure_ascii=False)
        # A lone surrogate (half of a pair the cut split) is written as its escape, so the text stays encodable.
        encoded = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
        out.append(text[position : match.start()])
        out.append(encoded if closed else encoded[:-1])
        position = match.end()
    out.append(text[position:])
    return "".join(out)


# -- text meant for people (logs): URLs and HTTP headers ------------------------------------------------------------

#: HTTP headers whose values are credentials (compared without case); :func:`is_secret_header` adds look-alikes.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token",
    "x-access-token", "x-csrf-token", "x-xsrf-token",
})
#: Words that make any header name a credential's (``X-Vendor-Token``, ``X-Session-Secret``...).
_SECRET_HEADER_WORDS = ("auth", "token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "cookie",
                        "session")


def is_secret_header(name: str) -> bool:
    """Whether the value of the HTTP header ``name`` is (or may be) a credential."""
    lowered = name.strip().lower()
    return lowered in SECRET_HEADERS or any(word in lowered for word in _SECRET_HEADER_WORDS)


#: A URL's userinfo (``scheme://user:password@``): everything between the scheme and the ``@`` before the host.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#'\"<>\\]*@")
#: A URL's or a request path's query: from a ``?`` right after a path character to the next space or quote.
_QUERY = re.compile(r"(?<=[\w/.~%:-])\?[^\s'\"<>\\]+")


def redact_urls(text: str) -> str:
    """``text`` with every URL query (``/ws?token=X`` -> ``/ws?***``) and userinfo (``ws://***@host``) redacted.

    Any ``?`` right after a path character starts a query (to the next space or
    quote): a query's names are the application's, so none is known to be safe.
    """
    if "?" in text:
        text = _QUERY.sub("?" + REDACTED, text)
    if "@" in text:
        text = _USERINFO.sub(r"\1" + REDACTED + "@", text)
    return text


#: A header written ``Name: value`` (an HTTP header block, a log line): the value runs to the end of the line.
_HEADER_LINE = re.compile(r"(?<![\w'\"-])([A-Za-z][\w-]*)([ \t]*:[ \t]*)([^\r\n]*)")
#: A header in a Python rendering: ``('Name', 'value')`` or ``{'Name': 'value'}`` (either quote).
_HEADER_PAIR = re.compile(r"""(['"])([A-Za-z][\w-]*)\1(\s*[:,]\s*)(['"])((?:\\.|(?!\4)[^\\])*)\4""")
#: Parsers quote a header they refuse (websockets: ``invalid HTTP header value: ...``): it may be a credential.
_REFUSED_HEADER = re.compile(r"(?i)(header (?:line|value)s?:[ \t]*)[^\r\n]*")


def _line_value(match: re.Match[str]) -> str:
    if not is_secret_header(match.group(1)) or not match.group(3):
        return match.group()
    return match.group(1) + match.group(2) + REDACTED


def _pair_value(match: re.Match[str]) -> str:
    if not is_secret_header(match.group(2)):
        return match.group()
    quote = match.group(4)
    return match.group()[: match.start(5) - match.start()] + REDACTED + quote


def redact_headers(text: str) -> str:
    """``text`` with the values of credential headers (:func:`is_secret_header`) redacted.

    Headers are found written as HTTP writes them (``Authorization: Bearer X``, to
    the end of the line) and as Python shows them (``('Cookie', 's=X')``,
    ``{'Cookie': 's=X'}``); a header a parser quotes as refused (``invalid HTTP
    header value: ...``) is redacted whatever its name.
    """
    text = _HEADER_PAIR.sub(_pair_value, text)
    text = _HEADER_LINE.sub(_line_value, text)
    return _REFUSED_HEADER.sub(r"\1" + REDACTED, text)


def redact_log_text(text: str) -> str:
    """Text meant for people (a log line, a traceback) with secrets redacted.

    :func:`redact_text` (secret members, however written), then :func:`redact_urls`
    (queries, userinfo), then :func:`redact_headers` (credential headers).
    """
    return redact_headers(redact_urls(redact_text(text)))
