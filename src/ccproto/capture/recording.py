"""Writing captures: messages as they cross become JSON Lines records; secrets become stable placeholders.

Each distinct secret value (a member whose name is a secret's, e.g.
``password``, ``token``, ``session_key``) is replaced by ``secret-1``,
``secret-2``, ... consistently, so equal secrets stay equal and the recording
validates exactly as the real conversation did (quirks T4 and R5).  Numbers keep
their JSON type, so a replay breaks (or keeps) the schema the same way.

A message is parsed as the codecs parse it (``core.jsonio.loads`` with the
recording's ``Limits``): text they refuse (too deep, a repeated key, ``NaN``,
lone surrogates) is kept as ``raw`` redacted text, exactly as it crossed, so
``ccproto validate`` finds in the capture what the connection object refused.
A string holding JSON text with a secret member (a message encoded twice) has
that member redacted inside it, as ``core.redact`` does for reports.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import JsonValue, loads
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.redact import is_secret_key, names_secret, redact_text
from ccproto.core.roles import Role

__all__ = ["Recording", "record_line"]


def record_line(record: dict[str, JsonValue]) -> str:
    """One record as a JSON Lines line (with its newline)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


class Recording:
    """Makes capture records of opens, messages and closes, with secrets replaced (kept in ``records`` if ``keep``)."""

    def __init__(self, *, keep: bool = True, limits: Limits = DEFAULT_LIMITS) -> None:
        self.keep = keep
        self.limits = limits
        self.records: list[dict[str, JsonValue]] = []
        self._placeholders: dict[tuple[type, Any], Any] = {}

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
        key = (type(value), value)
        if key not in self._placeholders:
            self._placeholders[key] = make(len(self._placeholders) + 1)
        return self._placeholders[key]
