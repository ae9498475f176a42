"""Checking the records of one bridge connection: schema, then the control channel's rules."""

from __future__ import annotations

from typing import Any

from ccproto.bridge import codec
from ccproto.bridge.channel import ControlChannel
from ccproto.bridge.models import BridgeMessage
from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
from ccproto.core.errors import (
    DecodeError,
    LimitExceededError,
    ProtocolError,
    SchemaViolationError,
)
from ccproto.core.jsonio import parse_object
from ccproto.core.limits import Limits
from ccproto.core.roles import Role
from ccproto.core.schema import iter_schema_findings

__all__ = ["BridgeConnectionChecker"]


class BridgeConnectionChecker:
    """Feeds one connection's records through the codec and a non-sticky ``ControlChannel``."""

    protocol = "bridge"

    def __init__(self, *, limits: Limits, strict: bool) -> None:
        self._limits = limits
        self._strict = strict
        # The validator sees both directions: it plays no role, so errors are not sticky.
        self._channel = ControlChannel(Role.SERVER, limits=limits, sticky_errors=False)

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

        try:
            value: Any = parse_object(record.raw, limits=self._limits) if record.raw is not None else record.message
            if not isinstance(value, dict):
                raise DecodeError("a message must be a JSON object")
        except (DecodeError, LimitExceededError) as exc:
            add(Severity.ERROR, Kind.DECODE, exc.code, exc.pointer, exc.detail)
            return findings
        try:
            decoded = codec.decode_value(value)
        except SchemaViolationError as exc:
            normalised = codec.normalise(value, [])
            for pointer, detail in self._all_schema_findings(normalised, exc):
                add(Severity.ERROR, Kind.SCHEMA, exc.code, pointer, detail)
            return findings
        except ProtocolError as exc:
            message = exc.detail + (f" ({exc.hint})" if exc.hint else "")
            add(Severity.ERROR, Kind.SCHEMA, exc.code, exc.pointer, message)
            return findings
        for warning in decoded.warnings:
            severity = Severity.ERROR if self._strict else Severity.WARNING
            add(severity, Kind.SCHEMA, warning.code, warning.pointer, warning.detail)
        self._observe(decoded.message, record, add)
        return findings

    def _all_schema_findings(self, value: dict[str, Any], first: SchemaViolationError) -> list[tuple[str, str]]:
        """Every schema violation of the message, via JSON Schema (the one-pass decoder stops at the first)."""
        try:
            cls = codec.message_class_for(value)
        except ProtocolError:
            return [(first.pointer, first.detail)]
        found = [(f.pointer, f.detail) for f in iter_schema_findings(value, cls)]
        return found or [(first.pointer, first.detail)]

    def _observe(self, message: BridgeMessage, record: Record, add: Any) -> None:
        pending = {p.request_id: p for p in self._channel.pending_requests()}
        try:
            self._channel.observe(message, record.sender, now=record.ts, tag=record.number)
        except ProtocolError as exc:
            related: tuple[int, ...] = ()
            request_id = getattr(message, "request_id", None)
            if request_id in pending and isinstance(pending[request_id].tag, int):
                related = (pending[request_id].tag,)
            text = exc.detail + (f" ({exc.hint})" if exc.hint else "")
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, text, related)

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Warnings for what is still pending when the capture ends (captures get cut)."""
        return [
            Finding(
                file=file, record=pending.tag if isinstance(pending.tag, int) else last_record, conn=conn,
                severity=Severity.WARNING, kind=Kind.SEQUENCE, code="unanswered-request", path="/header/requestId",
                message=f"{pending.name.value} {pending.request_id!r} was never answered before the capture ended",
            )
            for pending in self._channel.pending_requests()
        ]
