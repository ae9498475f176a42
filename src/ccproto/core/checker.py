"""What every protocol's capture checker shares: decode, list every schema violation, apply the sequence rules."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ccproto.core.coverage import Coverage
from ccproto.core.decoding import Decoded
from ccproto.core.errors import DecodeError, LimitExceededError, ProtocolError, SchemaViolationError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.jsonio import loads_fast, parse_object
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.record import Record
from ccproto.core.redact import REDACTED, redact, secret_keys
from ccproto.core.roles import Role
from ccproto.core.schema import iter_schema_findings

#: Finding code: a request, action or notification a later record shows went unanswered past ``request_timeout``.
ANSWER_TIMEOUT = "answer-timeout"
#: Finding code: a message in a binary WebSocket frame (a warning; an error with ``--strict``).
BINARY_FRAME = "binary-frame"
#: Finding code: the capture holds a connection from the middle of its conversation, not from its start.
JOINED = "joined-mid-conversation"


class Start(enum.Enum):
    """What the capture says about where a connection's first record stands in its conversation."""

    #: The capture holds the connection from its start: an ``open`` record, or a source that holds
    #: connections whole (a HAR entry, raw bridge streams).  Never read as joined.
    OPENED = "opened"
    #: Nothing says: the first record tells.  If it cannot open a connection, the capture joined the
    #: connection mid-conversation (a finding: an error, a warning with ``--partial``).
    UNKNOWN = "unknown"
    #: ccproto stopped tracking the connection (a bound: evicted, or idle too long) and it went on: read
    #: as joined unless its next record opens a connection, with no finding (the bound was ours).
    RESUMED = "resumed"

__all__ = [
    "ANSWER_TIMEOUT",
    "BINARY_FRAME",
    "COVERAGE_KEY",
    "EXCERPT_LENGTH",
    "JOINED",
    "SUSPECT_NAME_PARTS",
    "AddFinding",
    "MessageChecker",
    "Start",
    "excerpt",
]

#: ``add(severity, kind, code, path, message, related=())``: records one finding for the current record.
AddFinding = Callable[..., None]

#: Key of the shared ``capture`` dict under which a :class:`Coverage` collects what the records exercised.
COVERAGE_KEY = "coverage"
#: Longest excerpt of a message shown with a finding, in characters.
EXCERPT_LENGTH = 100


def _shorten(text: str) -> str:
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "\u2026"


#: Parts of a member name that make the excerpt hide its value even when no model declares it secret:
#: vendor extensions and unknown messages may carry credentials under any name.
SUSPECT_NAME_PARTS = ("key", "token", "secret", "pass", "pwd", "auth", "credential", "cookie", "signature")


def _suspect(name: str) -> bool:
    folded = name.casefold()
    return any(part in folded for part in SUSPECT_NAME_PARTS)


def _may_hold_secret(text: str) -> bool:
    """Whether text names a secret or suspect member anywhere (e.g. JSON encoded inside a string)."""
    folded = text.casefold()
    return _suspect(folded) or any(key.casefold() in folded for key in secret_keys())


def _hide_suspects(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _suspect(k) else _hide_suspects(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_suspects(v) for v in value]
    if isinstance(value, str) and _may_hold_secret(value):
        return REDACTED  # e.g. a message double-encoded as a JSON string: it cannot be redacted member by member
    return value


def excerpt(value: Any, raw: str | None = None) -> str:
    """A short, secret-free excerpt of a message: its JSON ``value``, or else ``raw`` text that did not parse.

    Values of secret members are hidden, and so are those of any member whose
    name suggests a credential (:data:`SUSPECT_NAME_PARTS`) and any string that
    names one (JSON encoded in a string).  Text that did not parse cannot be
    redacted reliably, so it is shown only when no such name appears anywhere in it.
    """
    if value is not None:
        try:
            return _shorten(json.dumps(_hide_suspects(redact(value)), ensure_ascii=False, separators=(",", ":")))
        except (TypeError, ValueError, RecursionError):
            return ""
    if raw is None:
        return ""
    if _may_hold_secret(raw) or "\\u" in raw:  # an escape could spell a secret member's name
        return "(not shown: it may hold a secret)"
    return _shorten(json.dumps(raw[: EXCERPT_LENGTH * 2], ensure_ascii=False)[1:-1])


class MessageChecker:
    """Checks one connection's records: decoding, then schema (every violation), then the protocol's rules.

    Subclasses supply the protocol's decoder, how to find a value's model class,
    and how to apply the connection's rules (``_observe``) and report what is left
    at the end (``finish``).
    """

    protocol = ""
    #: Seconds of capture time without a record after which the validator finishes a connection as at the
    #: end of the capture (``None``: never).  Each protocol sets its own (``--idle-timeout`` overrides).
    idle_timeout: float | None = None
    #: The codec's compiled decoding of a parsed message ((model, extras) or ``None`` to take the exact way), which
    #: ``validate_message`` uses for this exact class (a subclass, e.g. with a vendor's registry, goes through the
    #: checker): set by each protocol's checker.
    compiled: Callable[[dict[str, Any]], tuple[Any, Any] | None] | None = None

    def __init__(self, *, limits: Limits, strict: bool, capture: dict[str, Any] | None = None) -> None:
        self._limits = limits
        self._strict = strict
        #: State shared by the checkers of one capture, keyed by protocol (cross-connection rules).
        self._capture = capture if capture is not None else {}
        self._coverage: Coverage | None = self._capture.get(COVERAGE_KEY)
        #: Whether the connection's rules apply (off: decoding and schema only, e.g. one message on its own).
        self.check_sequence = True
        self._start = Start.OPENED
        self._partial = False
        self._history_until: float | None = None
        #: Whether the first message has been seen (and the connection read as opened or joined).
        self._placed = True
        #: Whether the connection is read as joined mid-conversation.
        self.joined = False
        # The record being checked, its message's JSON value and excerpt, its findings (see check()).
        self._record: Record
        self._value: Any = None
        self._shown: str | None = None
        self._found: list[Finding] = []

    def begin(self, start: Start, *, partial: bool = False, history_until: float | None = None) -> None:
        """Say where the connection's first record stands (the validator calls this before any record).

        ``history_until``: the capture time until which a message may still answer one sent before the
        capture began (the capture's first time plus ``Limits.request_timeout``; ``None``: unbounded).
        """
        self._start = start
        self._partial = partial
        self._history_until = history_until
        self._placed = start is Start.OPENED

    # -- joining a connection mid-conversation (each protocol says what can open a connection) ----------

    def _opens(self, value: dict[str, Any], sender: Role) -> bool:
        """Whether a message (its JSON value, sent by ``sender``) can be the first of a connection."""
        return True

    def _join(self) -> None:
        """Read the connection as joined mid-conversation from now on (the connection object relaxes)."""
        self.joined = True

    @staticmethod
    def _what(value: dict[str, Any]) -> str:
        """A few words naming a message (for the joined finding), never its content."""
        return "a message"

    def _joined_finding(self, add: AddFinding, value: dict[str, Any], sender: Role) -> None:
        severity = Severity.WARNING if self._partial else Severity.ERROR
        hint = (
            "the capture began after the connection opened (--partial)" if self._partial else
            "if the capture began after the connection opened (a rotated, sampled or late-started capture), "
            "pass --partial; otherwise its first message is missing"
        )
        add(severity, Kind.CAPTURE, JOINED, "",
            f"the capture joins this {self.protocol} connection mid-conversation: its first record is "
            f"{self._what(value)} from the {sender.value}, which cannot open a connection ({hint})")

    def _place(self, value: dict[str, Any], record: Record, add: AddFinding) -> None:
        """Read the connection as opened or joined, from its first message."""
        self._placed = True
        if self._opens(value, record.sender):
            return
        self._join()
        if self._start is Start.UNKNOWN:
            self._joined_finding(add, value, record.sender)

    def _declare_coverage(self) -> None:
        """Declare this protocol's universe to the capture's coverage (call at the end of ``__init__``)."""
        if self._coverage is not None:
            self._coverage.declare(self.protocol, self.universe())

    def universe(self) -> Mapping[str, Sequence[str]]:
        """Everything there is to exercise, by category (``"message types"``, ``"transitions"``, ...)."""
        return {}

    def _cover(self, category: str, label: str) -> None:
        """Note that the current record exercised ``label`` (when coverage is collected)."""
        if self._coverage is not None:
            self._coverage.hit(self.protocol, category, label)

    # -- what a protocol supplies ------------------------------------------------------------

    def _decode(self, value: dict[str, Any]) -> Decoded[Any]:
        raise NotImplementedError

    def _decode_fast(self, value: dict[str, Any]) -> Decoded[Any] | None:
        """The compiled path's decoding of a fast-parsed value, or ``None`` (the exact path decides)."""
        return None

    def _normalised(self, value: dict[str, Any]) -> dict[str, Any]:
        """``value`` with the protocol's accepted quirks undone (they are warnings, not schema violations)."""
        return value

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        """The model class a normalised ``value`` claims to be (raises ``ProtocolError`` when it cannot tell)."""
        raise NotImplementedError

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        raise NotImplementedError

    def _message_parsed(self, value: dict[str, Any], record: Record) -> None:
        """A record's message parsed as a JSON object (before it is decoded); nothing by default."""

    def _invalid(self, value: dict[str, Any], record: Record) -> None:
        """Note a message that could not be decoded (e.g. so its answer is recognised); nothing by default."""

    def _schema_finding(self, value: dict[str, Any], pointer: str, detail: str) -> tuple[str, str]:
        """The code and words of a schema violation the decoder did not stop at (the protocol may name it)."""
        return SchemaViolationError.code, detail

    def _closed(self, record: Record, add: AddFinding) -> None:
        """Note that ``record.sender`` closed the connection; nothing by default."""

    def finish(self, file: str, conn: str, last_record: int, *, ended: str = "the capture ended") -> list[Finding]:
        """Findings for what is still open when the connection's part of the capture ends.

        ``ended`` says why, in words that follow "before" (``"the capture ended"``; the validator also
        finishes a connection that went idle or that it stopped tracking).
        """
        raise NotImplementedError

    @staticmethod
    def _unanswered(
        file: str, conn: str, last_record: int, open_requests: list[tuple[Any, str, str]],
        ended: str = "the capture ended",
    ) -> list[Finding]:
        """Warnings for requests still open at the end: ``(tag, pointer, what)`` each (captures get cut)."""
        return [
            Finding(
                file=file, record=tag if isinstance(tag, int) else last_record, conn=conn, severity=Severity.WARNING,
                kind=Kind.SEQUENCE, code="unanswered-request", path=path,
                message=f"{what} was never answered before {ended}",
            )
            for tag, path, what in open_requests
        ]

    def _expire(self, now: float) -> list[tuple[Any, str, str]]:
        """Expire what has waited ``Limits.request_timeout`` or more by ``now``: ``(tag, pointer, what)`` each."""
        return []

    def _timeouts(self, record: Record) -> list[Finding]:
        """Errors for what a record's time proves went unanswered too long (docs/quirks.md V9).

        A later record on the same connection shows the connection was still
        there when the answer was due, so this is not a capture cut short.
        """
        assert record.ts is not None
        return [
            Finding(
                file=record.file, record=tag if isinstance(tag, int) else record.number, conn=record.conn,
                severity=Severity.ERROR, kind=Kind.SEQUENCE, code=ANSWER_TIMEOUT, path=path,
                message=f"{what} was not answered within request_timeout={self._limits.request_timeout:g} s"
                f" (record {record.number} is later)",
                related=(record.number,) if isinstance(tag, int) else (),
            )
            for tag, path, what in self._expire(record.ts)
        ]

    # -- the shared part ---------------------------------------------------------------------

    def _deadline(self) -> float | None:
        """The earliest time something of the connection's is due (``None``: nothing; no expiry at all)."""
        return None

    def _add(
        self, severity: Severity, kind: Kind, code: str, path: str, message: str, related: tuple[int, ...] = ()
    ) -> None:
        """Record one finding for the record being checked (see :data:`AddFinding`)."""
        record = self._record
        shown = self._shown
        if shown is None:
            value = self._value
            shown = self._shown = (
                excerpt(value, record.raw if value is None else None) if record.close is None else ""
            )
        self._found.append(Finding(
            file=record.file, record=record.number, conn=record.conn, severity=severity, kind=kind,
            code=code, path=path, message=message, related=related, excerpt=shown, location=record.location,
        ))

    def check(self, record: Record) -> list[Finding]:
        """Findings for one record, in order: decoding, schema, then sequence."""
        # Per-record state lives on the checker (no closure per record: this runs for every record).
        found: list[Finding] = []
        self._found, self._record, self._value, self._shown = found, record, None, None
        add = self._add
        ts = record.ts
        if ts is not None and self.check_sequence:
            due = self._deadline()
            if due is not None and due <= ts:
                found.extend(self._timeouts(record))
        if record.close is not None:
            self._closed(record, add)
            return found
        if record.open is not None:
            return found  # the validator reads it (the connection starts here): nothing to check
        decoded: Decoded[Any] | None = None
        value: Any
        try:
            if record.raw is not None:
                fast = loads_fast(record.raw, self._limits)
                decoded = self._decode_fast(fast) if fast is not None else None
                value = fast if decoded is not None else parse_object(record.raw, limits=self._limits)
            else:
                value = record.message
                if record.source is not None and value.__class__ is dict:
                    decoded = self._decode_fast(value)
                    if decoded is None:
                        value = record.exact_message()  # orjson read it: where it could differ, read it again
                if not isinstance(value, dict):
                    self._value = value  # a JSON value, not an object: safe to show redacted
                    raise DecodeError("a message must be a JSON object")
        except (DecodeError, LimitExceededError) as exc:
            if record.binary:
                self._binary(record, add)
            add(Severity.ERROR, Kind.DECODE, exc.code, exc.pointer, exc.detail)
            return found
        self._value = value
        if record.binary:
            self._binary(record, add)
        if self.check_sequence:
            if not self._placed:
                self._place(value, record, add)
            if self._wants_values:
                self._message_parsed(value, record)
        if decoded is None:
            try:
                decoded = self._decode(value)
            except SchemaViolationError as exc:
                for pointer, detail in self._all_schema_findings(value, exc):
                    # Where the decoder stopped, its own words (and hint) say more than the schema's.
                    code, detail = (exc.code, describe(exc)) if pointer == exc.pointer else self._schema_finding(
                        value, pointer, detail
                    )
                    add(Severity.ERROR, Kind.SCHEMA, code, pointer, detail)
                if self.check_sequence:
                    self._invalid(value, record)
                return found
            except ProtocolError as exc:
                add(Severity.ERROR, Kind.SCHEMA, exc.code, exc.pointer, describe(exc))
                if self.check_sequence:
                    self._invalid(value, record)
                return found
        if decoded.warnings:
            severity = Severity.ERROR if self._strict else Severity.WARNING
            for warning in decoded.warnings:
                add(severity, Kind.SCHEMA, warning.code, warning.pointer, warning.detail)
        if self.check_sequence:
            self._observe(decoded, record, add)
        return found

    #: Whether :meth:`_message_parsed` does anything (it is called for every record only if so).
    _wants_values = False

    def _binary(self, record: Record, add: AddFinding) -> None:
        add(Severity.ERROR if self._strict else Severity.WARNING, Kind.DECODE, BINARY_FRAME, "",
            "the message came in a binary WebSocket frame; the protocol sends text frames")

    def _all_schema_findings(self, value: dict[str, Any], first: SchemaViolationError) -> list[tuple[str, str]]:
        """Every schema violation of the message, via JSON Schema (the one-pass decoder stops at the first)."""
        normalised = self._normalised(value)
        try:
            cls = self._schema_class(normalised)
        except ProtocolError:
            return [(first.pointer, first.detail)]
        found = [(f.pointer, f.detail) for f in iter_schema_findings(normalised, cls)]
        return found or [(first.pointer, first.detail)]


def describe(exc: ProtocolError) -> str:
    """An error's detail and, when it has one, its hint."""
    return exc.detail + (f" ({exc.hint})" if exc.hint else "")
