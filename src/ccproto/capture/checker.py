"""What every protocol's capture checker shares: decode, list every schema violation, apply the sequence rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
from ccproto.core.decoding import Decoded
from ccproto.core.errors import DecodeError, LimitExceededError, ProtocolError, SchemaViolationError
from ccproto.core.jsonio import parse_object
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.schema import iter_schema_findings

__all__ = ["AddFinding", "MessageChecker"]

#: ``add(severity, kind, code, path, message, related=())``: records one finding for the current record.
AddFinding = Callable[..., None]


class MessageChecker:
    """Checks one connection's records: decoding, then schema (every violation), then the protocol's rules.

    Subclasses supply the protocol's decoder, how to find a value's model class,
    and how to apply the connection's rules (``_observe``) and report what is left
    at the end (``finish``).
    """

    protocol = ""

    def __init__(self, *, limits: Limits, strict: bool, capture: dict[str, Any] | None = None) -> None:
        self._limits = limits
        self._strict = strict
        #: State shared by the checkers of one capture, keyed by protocol (cross-connection rules).
        self._capture = capture if capture is not None else {}

    # -- what a protocol supplies ------------------------------------------------------------

    def _decode(self, value: dict[str, Any]) -> Decoded[Any]:
        raise NotImplementedError

    def _normalised(self, value: dict[str, Any]) -> dict[str, Any]:
        """``value`` with the protocol's accepted quirks undone (they are warnings, not schema violations)."""
        return value

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        """The model class a normalised ``value`` claims to be (raises ``ProtocolError`` when it cannot tell)."""
        raise NotImplementedError

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        raise NotImplementedError

    def _invalid(self, value: dict[str, Any], record: Record) -> None:
        """Note a message that could not be decoded (e.g. so its answer is recognised); nothing by default."""

    def _schema_finding(self, value: dict[str, Any], pointer: str, detail: str) -> tuple[str, str]:
        """The code and words of a schema violation the decoder did not stop at (the protocol may name it)."""
        return SchemaViolationError.code, detail

    def _closed(self, record: Record, add: AddFinding) -> None:
        """Note that ``record.sender`` closed the connection; nothing by default."""

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Findings for what is still open when the capture ends."""
        raise NotImplementedError

    @staticmethod
    def _unanswered(
        file: str, conn: str, last_record: int, open_requests: list[tuple[Any, str, str]]
    ) -> list[Finding]:
        """Warnings for requests still open at the end: ``(tag, pointer, what)`` each (captures get cut)."""
        return [
            Finding(
                file=file, record=tag if isinstance(tag, int) else last_record, conn=conn, severity=Severity.WARNING,
                kind=Kind.SEQUENCE, code="unanswered-request", path=path,
                message=f"{what} was never answered before the capture ended",
            )
            for tag, path, what in open_requests
        ]

    # -- the shared part ---------------------------------------------------------------------

    def check(self, record: Record) -> list[Finding]:
        """Findings for one record, in order: decoding, schema, then sequence."""
        findings: list[Finding] = []

        def add(
            severity: Severity, kind: Kind, code: str, path: str, message: str, related: tuple[int, ...] = ()
        ) -> None:
            findings.append(Finding(
                file=record.file, record=record.number, conn=record.conn, severity=severity, kind=kind,
                code=code, path=path, message=message, related=related,
            ))

        if record.close is not None:
            self._closed(record, add)
            return findings
        try:
            value: Any = parse_object(record.raw, limits=self._limits) if record.raw is not None else record.message
            if not isinstance(value, dict):
                raise DecodeError("a message must be a JSON object")
        except (DecodeError, LimitExceededError) as exc:
            add(Severity.ERROR, Kind.DECODE, exc.code, exc.pointer, exc.detail)
            return findings
        try:
            decoded = self._decode(value)
        except SchemaViolationError as exc:
            for pointer, detail in self._all_schema_findings(value, exc):
                # Where the decoder stopped, its own words (and hint) say more than the schema's.
                code, detail = (exc.code, describe(exc)) if pointer == exc.pointer else self._schema_finding(
                    value, pointer, detail
                )
                add(Severity.ERROR, Kind.SCHEMA, code, pointer, detail)
            self._invalid(value, record)
            return findings
        except ProtocolError as exc:
            add(Severity.ERROR, Kind.SCHEMA, exc.code, exc.pointer, describe(exc))
            self._invalid(value, record)
            return findings
        for warning in decoded.warnings:
            severity = Severity.ERROR if self._strict else Severity.WARNING
            add(severity, Kind.SCHEMA, warning.code, warning.pointer, warning.detail)
        self._observe(decoded, record, add)
        return findings

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
