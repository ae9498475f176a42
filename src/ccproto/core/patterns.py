"""Regular expressions that mean the same in Python's ``re`` and in ECMA-262 (what JSON Schema validators run).

A published schema's ``pattern`` is read by ajv, check-jsonschema and the AsyncAPI tools as an ECMA-262
regular expression with the ``u`` flag; ccproto applies the same text with Python's ``re``.  The two engines
disagree on the shorthand classes: ``\\s`` is ``str.isspace`` in Python (which takes U+001C-U+001F and U+0085)
and Unicode's white space plus U+FEFF in ECMA-262; ``\\d`` and ``\\w`` take every script's digits and letters in
Python, only ASCII in ECMA-262; ``.`` differs on line terminators.  So ccproto's patterns never use them:
they spell each class out with ``\\xHH`` / ``\\uHHHH`` escapes, which both engines read alike
(docs/quirks.md S3).  A final ``$`` is read as ECMA-262 reads it (:func:`ccproto.core.hooks.compile_pattern`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ECMA_WHITESPACE",
    "NOT_WHITESPACE",
    "PYTHON_WHITESPACE",
    "WHITESPACE",
    "WHITESPACE_CLASS",
    "char_class",
    "literal",
]

#: What ``str.isspace`` (and so ``str.strip()`` and Python's ``\s``) counts as white space.
PYTHON_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)

#: What ECMA-262's ``\s`` (and ``String.prototype.trim``) counts as white space: WhiteSpace and LineTerminator.
ECMA_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029"
    "\u202f\u205f\u3000\ufeff"
)

#: White space for ccproto: what either engine counts as such, so neither reading lets any through.
WHITESPACE = PYTHON_WHITESPACE | ECMA_WHITESPACE

#: Characters a pattern must escape to stand for themselves (in either engine, inside or outside a class).
_SYNTAX = frozenset("^$\\.*+?()[]{}|/")  # ECMA-262 (u flag) refuses any other escape, "\\-" included


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\u{{{code:x}}}"


def char_class(chars: Iterable[str], *, negated: bool = False) -> str:
    """A character class of ``chars`` (BMP only), each as an escape both engines read the same way."""
    codes = sorted({ord(c) for c in chars})
    if any(code >= 0x10000 for code in codes):
        raise ValueError("char_class: only BMP characters (Python and ECMA-262 escape the rest differently)")
    parts: list[str] = []
    start = 0
    while start < len(codes):
        end = start
        while end + 1 < len(codes) and codes[end + 1] == codes[end] + 1:
            end += 1
        first, last = codes[start], codes[end]
        parts.append(_escape(first) if first == last else f"{_escape(first)}-{_escape(last)}")
        start = end + 1
    return ("[^" if negated else "[") + "".join(parts) + "]"


def literal(text: str) -> str:
    """``text`` as a pattern matching exactly it (ASCII syntax characters escaped, the rest as is)."""
    return "".join("\\" + c if c in _SYNTAX else c for c in text)


#: One white-space character (either engine's reading).
WHITESPACE_CLASS = char_class(WHITESPACE)

#: One character that is white space to neither engine (the portable ``\S``).
NOT_WHITESPACE = char_class(WHITESPACE, negated=True)
