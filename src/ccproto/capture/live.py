"""Checking traffic as it happens: each message is printed, checked with ``ccproto validate``'s rules and
optionally recorded, one record at a time (``ccproto serve``).

The lines are those of ``ccproto validate``'s text report: a line per record
(a redacted excerpt), the record's findings under it, and the same summary
line at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from ccproto.capture.checker import ANSWER_TIMEOUT, excerpt
from ccproto.capture.findings import Finding, Report, Severity
from ccproto.capture.output import finding_lines, summary_line
from ccproto.capture.recording import Recording, record_line
from ccproto.capture.records import _record
from ccproto.capture.validator import CaptureValidator
from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role

__all__ = ["LiveCapture"]


class LiveCapture:
    """Prints, checks and (with ``record``) writes each message of live connections as it crosses.

    ``write`` receives each output line (without newline).  The recording's
    secrets are placeholders (quirk R5); printed excerpts are redacted.
    """

    def __init__(
        self, *, write: Callable[[str], None], record: IO[str] | None = None, name: str = "live",
        strict: bool = False, limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.write = write
        self.file = record
        self.name = name
        self.validator = CaptureValidator(strict=strict, limits=limits, all_connections=False)
        self._recording = Recording(keep=False)
        self._records = 0
        # Who sent each record (one byte each: 1 the client, 2 the server, 0 neither), so that an error found
        # later (an answer that never came) is still put down to the right side.
        self._senders = bytearray()
        #: Errors found so far, by the role whose fault they are (see :meth:`fault_of`).
        self.errors_by: dict[Role, int] = {Role.CLIENT: 0, Role.SERVER: 0}

    @property
    def report(self) -> Report:
        """The validation report so far (findings, counts)."""
        return self.validator.report

    def message(self, *, conn: str, sender: Role, protocol: str, now: float, text: str) -> list[Finding]:
        """One message crossed ``conn``; returns its findings (already printed)."""
        return self._take(self._recording.message(conn=conn, sender=sender, protocol=protocol, now=now, text=text))

    def opened(self, *, conn: str, sender: Role, protocol: str, now: float) -> list[Finding]:
        """``sender`` opened ``conn`` (the recording then holds it from its start); returns its findings (none)."""
        return self._take(self._recording.opened(conn=conn, sender=sender, protocol=protocol, now=now))

    def close(
        self, *, conn: str, sender: Role, protocol: str, now: float, code: int | None = None, reason: str = ""
    ) -> list[Finding]:
        """``sender`` closed ``conn``; returns the findings that closing gave (already printed)."""
        record = self._recording.close(conn=conn, sender=sender, protocol=protocol, now=now, code=code, reason=reason)
        return self._take(record)

    def summary(self) -> str:
        """``ccproto validate``'s summary line for everything seen so far."""
        return summary_line(self.validator.report)

    def fault_of(self, finding: Finding) -> Role | None:
        """The role whose fault ``finding`` is: the sender of its record, but for an answer that never came,
        which the validator finds on the request (the side that owed it is at fault); ``None`` if unknown."""
        index = finding.record - 1
        code = self._senders[index] if 0 <= index < len(self._senders) else 0
        sender = {1: Role.CLIENT, 2: Role.SERVER}.get(code)
        if sender is not None and finding.code == ANSWER_TIMEOUT:
            return sender.peer
        return sender

    def attributed_summary(self, served: Role, *, fail_on_peer_errors: bool = False) -> tuple[str, bool]:
        """The summary line of a served peer playing ``served`` and whether the run failed: only the served
        peer's own errors fail it (its peers' errors, which it must refuse, are counted apart), unless
        ``fail_on_peer_errors``.  With no error at all it is :meth:`summary`."""
        report = self.validator.report
        line = summary_line(report)
        if not report.errors:
            return line, bool(report.failed)
        own, theirs = self.errors_by[served], self.errors_by[served.peer]
        unknown = report.errors - own - theirs  # a record of neither side: counted against the served peer
        failed = own > 0 or unknown > 0 or (fail_on_peer_errors and theirs > 0)
        line = ("FAILED" if failed else "OK") + line[line.index(":"):]
        mine = f"{own + unknown} error{'' if own + unknown == 1 else 's'}" if own + unknown else "clean"
        other = f"{theirs} error{'' if theirs == 1 else 's'}"
        handled = ", refused as the protocol requires" if theirs and not own + unknown else ""
        return f"{line} (served {served.value}: {mine}; its {served.peer.value}s: {other}{handled})", failed

    def _take(self, value: dict[str, JsonValue]) -> list[Finding]:
        self._records += 1
        self._senders.append({Role.CLIENT.value: 1, Role.SERVER.value: 2}.get(str(value.get("from")), 0))
        if self.file is not None:
            self.file.write(record_line(value))
            self.file.flush()  # a recording must survive the server being killed
        item = _record(self.name, self._records, value)
        assert item is not None
        report = self.validator.report
        before = len(report.findings)
        self.validator.feed(item)
        findings = report.findings[before:]
        for finding in findings:
            if finding.severity is Severity.ERROR:
                fault = self.fault_of(finding)
                if fault is not None:
                    self.errors_by[fault] += 1
        close = value.get("close")
        shown = (
            _closed(close) if isinstance(close, dict) else "opened" if "open" in value
            else excerpt(value.get("message"), _raw(value))
        )
        conn, protocol, sender = value["conn"], value["protocol"], value["from"]
        self.write(f"record {self._records} connection {conn!r} ({protocol}) {sender}: {shown}")
        for finding in findings:
            for line in finding_lines(finding):
                self.write(line)
        return list(findings)


def _raw(value: dict[str, JsonValue]) -> str | None:
    raw = value.get("raw")
    return raw if isinstance(raw, str) else None


def _closed(close: dict[str, JsonValue]) -> str:
    code, reason = close.get("code"), close.get("reason")
    return "closed" + (f" (code {code})" if code is not None else "") + (f": {reason}" if reason else "")
