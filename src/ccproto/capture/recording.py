"""Writing captures: messages as they cross become JSON Lines records; secrets become stable placeholders.

Each distinct secret value (a member whose name is a secret's, e.g.
``password``, ``token``, ``session_key``) is replaced by ``secret-1``,
``secret-2``, ... consistently, so equal secrets stay equal and the recording
validates exactly as the real conversation did (quirks T4 and R5).  Numbers keep
their JSON type, so a replay breaks (or keeps) the schema the same way.

The secrets themselves are not kept: the table that numbers them is keyed by a
keyed digest (BLAKE2b with a random key of each ``Recording``, so the digests
cannot be matched against guesses elsewhere), and it holds the last
:data:`MAX_PLACEHOLDERS` distinct secrets only (least recently seen first out):
equal secrets stay equal within the last 10,000 distinct ones, and a secret
seen again after it was dropped gets a new number (a client sending a new token
in every message must not grow a server's memory).

A message is parsed as the codecs parse it (``core.jsonio.loads`` with the
recording's ``Limits``): text they refuse (too deep, a repeated key, ``NaN``,
lone surrogates) is kept as ``raw`` redacted text, exactly as it crossed, so
``ccproto validate`` finds in the capture what the connection object refused.
A string holding JSON text with a secret member (a message encoded twice) has
that member redacted inside it, as ``core.redact`` does for reports.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import JsonValue, loads
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.redact import is_secret_key, names_secret, redact_text
from ccproto.core.roles import Role

__all__ = ["MAX_PLACEHOLDERS", "Recording", "record_line"]

#: How many distinct secrets a :class:`Recording` numbers consistently (the most recently seen ones).
MAX_PLACEHOLDERS = 10_000


#: A lone surrogate: what ``surrogateescape`` makes of each byte that is not UTF-8 (serve keeps them so).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def record_line(record: dict[str, JsonValue]) -> str:
    """One record as a JSON Lines line (with its newline).

    A lone surrogate (a byte that was not UTF-8, as it crossed) cannot be written as UTF-8; it is written as its
    ``\\u`` escape, which reads back as the same string, and which ``ccproto validate`` refuses as the
    connection object refused the bytes.
    """
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if _LONE_SURROGATE.search(line):
        line = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", line)
    return line + "\n"


class Recording:
    """Makes capture records of opens, messages and closes, with secrets replaced (kept in ``records`` if ``keep``)."""

    def __init__(self, *, keep: bool = True, limits: Limits = DEFAULT_LIMITS) -> None:
        self.keep = keep
        self.limits = limits
        self.records: list[dict[str, JsonValue]] = []
        # Digest -> placeholder, least recently seen first; the key makes the digests this recording's own.
        self._placeholders: OrderedDict[bytes, Any] = OrderedDict()
        self._digest_key = os.urandom(16)
        self._numbered = 0  # placeholders made so far: a secret seen again after eviction gets a new number

    def message(self, *, conn: str, sender: Role, protocol: str, now: float, text: str) -> dict[str, JsonValue]:
        """The record of one message as it crossed (text that is not a JSON object is kept as ``raw``)."""
        record: dict[str, JsonValue] = {"ts": now, "conn": conn, "from": sender.value, "protocol": protocol}
        value: JsonValue = None
        # The codecs' parser and bounds, not json.loads: what the recording keeps as parsed is what they
        # accepted as JSON, and its depth is bounded (_hide recurses).
        with contextlib.suppress(ProtocolError):
            value = loads(text, limits=self.limits)
        if isinstance(value, dict):
            record["message"] = self._hide(value)
        else:
            record["raw"] = redact_text(text)
        return self._kept(record)

    def opened(self, *, conn: str, sender: Role, protocol: str, now: float) -> dict[str, JsonValue]:
        """The record of ``sender`` opening the connection: the capture holds it from its start."""
        return self._kept({"ts": now, "conn": conn, "from": sender.value, "protocol": protocol, "open": {}})

    def close(
        self, *, conn: str, sender: Role, protocol: str, now: float, code: int | None = None, reason: str = ""
    ) -> dict[str, JsonValue]:
        """The record of ``sender`` closing the connection."""
        close: dict[str, JsonValue] = {"reason": reason} if code is None else {"code": code, "reason": reason}
        return self._kept({"ts": now, "conn": conn, "from": sender.value, "protocol": protocol, "close": close})

    def jsonl(self) -> str:
        """The kept records as JSON Lines (one record a line, ending with a newline)."""
        return "".join(map(record_line, self.records))

    def _kept(self, record: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if self.keep:
            self.records.append(record)
        return record

    def _hide(self, value: Any, secret: bool = False) -> Any:
        if isinstance(value, dict):
            return {k: self._hide(v, secret or is_secret_key(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._hide(v, secret) for v in value]
        if secret and isinstance(value, str):
            return self._placeholder(value, lambda n: f"secret-{n}")
        if isinstance(value, str) and names_secret(value):
            return redact_text(value)  # JSON text in a string (a message encoded twice) with a secret member
        if secret and isinstance(value, (int, float)) and not isinstance(value, bool):
            return self._placeholder(value, int if isinstance(value, int) else float)
        return value

    def _placeholder(self, value: Any, make: Callable[[int], Any]) -> Any:
        # The type is part of what is digested: the string "1", the integer 1 and the number 1.0 differ.
        digest = hashlib.blake2b(repr((type(value).__name__, value)).encode("utf-8", "surrogatepass"),
                                 key=self._digest_key, digest_size=16).digest()
        placeholder = self._placeholders.get(digest)
        if placeholder is not None:
            self._placeholders.move_to_end(digest)
            return placeholder
        if len(self._placeholders) >= MAX_PLACEHOLDERS:
            self._placeholders.popitem(last=False)
        self._numbered += 1
        placeholder = self._placeholders[digest] = make(self._numbered)
        return placeholder
