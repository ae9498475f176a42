"""Checking traffic as it happens: each message is printed, checked with ``ccproto validate``'s rules and
optionally recorded, one record at a time (``ccproto serve``).

The lines are those of ``ccproto validate``'s text report: a line per record
(a redacted excerpt), the record's findings under it, and the same summary
line at the end.

Memory stays bounded however long the server runs and whatever its peers send: the report keeps the first
``max_findings`` findings (every later one is still printed and counted), and who sent each record is
remembered for the newest ``senders_kept`` records only.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import IO

from ccproto.capture.output import finding_lines, summary_line
from ccproto.capture.recording import Recording, record_line
from ccproto.capture.records import record_from
from ccproto.capture.validator import CaptureValidator
from ccproto.core.checker import ANSWER_TIMEOUT, excerpt
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Kind, Report, Severity
from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role

__all__ = ["MAX_FINDINGS", "SENDERS_KEPT", "LiveCapture"]

#: How many findings a :class:`LiveCapture`'s report keeps by default (later ones are printed and counted only).
MAX_FINDINGS = 1000
#: How many of the newest records' senders a :class:`LiveCapture` remembers by default (one byte each: 4 MiB).
SENDERS_KEPT = 1 << 22


class LiveCapture:
    """Prints, checks and (with ``record``) writes each message of live connections as it crosses.

    ``write`` receives each output line (without newline).  The recording's
    secrets are placeholders (quirk R5); printed excerpts are redacted.

    ``max_findings`` (default :data:`MAX_FINDINGS`): how many findings ``report.findings`` keeps, the first
    ones; past it each finding is still printed, counted in ``errors_by`` and in the report's counts
    (``Report.dropped_errors``, ``dropped_warnings``), but not kept, and ``report.connections`` lists only
    connections with a kept finding.  ``senders_kept`` (default :data:`SENDERS_KEPT`): how many of the
    newest records' senders are remembered to put errors down to a side (:meth:`fault_of`).
    """

    def __init__(
        self, *, write: Callable[[str], None], record: IO[str] | None = None, name: str = "live",
        strict: bool = False, limits: Limits = DEFAULT_LIMITS, max_findings: int = MAX_FINDINGS,
        senders_kept: int = SENDERS_KEPT,
    ) -> None:
        if max_findings < 0 or senders_kept < 1:
            raise ValueError(f"max_findings must be >= 0 and senders_kept >= 1, not {max_findings}, {senders_kept}")
        self.write = write
        self.file = record
        self.name = name
        self.max_findings = max_findings
        # all_connections=False: a connection is in report.connections only if it had a finding (see _take).
        self.validator = CaptureValidator(strict=strict, limits=limits, all_connections=False)
        self._recording = Recording(keep=False)
        self._records = 0
        # Who sent each of the newest records (one byte each: 1 the client, 2 the server, 0 neither), so that an
        # error found later (an answer that never came) is still put down to the right side.  A ring: record n
        # is at (n - 1) % senders_kept.  An error is found on an older record only when the answer it owed never
        # came, and that is known within request_timeout of the request, millions of records too soon to fall
        # out of the ring; one that did would be put down to neither side, which counts against the served peer
        # (attributed_summary): the ring can make a run fail, never hide the served peer's error.
        self._senders = bytearray()
        self._senders_kept = senders_kept
        # Names of connections with a kept finding (at most max_findings): the only ones report.connections keeps.
        self._kept_conns: set[str] = set()
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
        self, *, conn: str, sender: Role, protocol: str, now: float, code: int | None = None, reason: str = "",
        refused: ProtocolError | None = None,
    ) -> list[Finding]:
        """``sender`` closed ``conn``; returns the findings that closing gave (already printed).

        ``refused``: ``sender`` closed because the other side sent what the transport refused before it was a
        message (a bridge frame over ``max_message_bytes``, one cut short): an error of the other side's on
        this record, since no record can hold what never arrived whole.
        """
        record = self._recording.close(conn=conn, sender=sender, protocol=protocol, now=now, code=code, reason=reason)
        if refused is None:
            return self._take(record)
        finding = Finding(
            file=self.name, record=self._records + 1, conn=conn, severity=Severity.ERROR, kind=Kind.DECODE,
            code=refused.code, path=refused.pointer or "", message=f"the {sender.peer.value} sent {refused}",
        )
        return self._take(record, (finding, sender.peer))

    def summary(self) -> str:
        """``ccproto validate``'s summary line for everything seen so far."""
        return summary_line(self.validator.report)

    def fault_of(self, finding: Finding) -> Role | None:
        """The role whose fault ``finding`` is: the sender of its record, but for an answer that never came,
        which the validator finds on the request (the side that owed it is at fault); ``None`` if unknown (a record
        of neither side, or one older than the newest ``senders_kept``)."""
        index = finding.record - 1
        senders = self._senders
        code = senders[index % self._senders_kept] if self._records - len(senders) <= index < self._records else 0
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

    def _take(self, value: dict[str, JsonValue], extra: tuple[Finding, Role] | None = None) -> list[Finding]:
        self._records += 1
        code = {Role.CLIENT.value: 1, Role.SERVER.value: 2}.get(str(value.get("from")), 0)
        senders = self._senders
        if len(senders) < self._senders_kept:
            senders.append(code)
        else:
            senders[(self._records - 1) % self._senders_kept] = code
        if self.file is not None:
            self.file.write(record_line(value))
            self.file.flush()  # a recording must survive the server being killed
        item = record_from(self.name, self._records, value)
        assert item is not None
        report = self.validator.report
        before = len(report.findings)
        registered = len(report.connections.get(self.name, ()))
        self.validator.feed(item)
        if extra is not None:
            report.findings.append(extra[0])
        findings = report.findings[before:]
        for finding in findings:
            if finding.severity is Severity.ERROR:
                fault = extra[1] if extra is not None and finding is extra[0] else self.fault_of(finding)
                if fault is not None:
                    self.errors_by[fault] += 1
        if findings:
            self._keep(report, before)
        connections = report.connections.get(self.name)
        if connections is not None and len(connections) > registered:
            self._forget_connections(connections, len(connections) - registered)
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

    def _keep(self, report: Report, before: int) -> None:
        """Keep the new findings (from ``before`` on) within ``max_findings``; count the others as dropped."""
        bound = self.max_findings
        for finding in report.findings[before:bound]:
            if finding.conn is not None:
                self._kept_conns.add(finding.conn)
        if len(report.findings) > bound:
            for finding in report.findings[bound:]:
                report.drop(finding)
            del report.findings[bound:]

    def _forget_connections(self, connections: dict[str, str | None], added: int) -> None:
        """Unlist the ``added`` connections just registered unless they have a kept finding.

        The validator lists a connection that had findings when it ends; past ``max_findings`` a flood of
        connections with one refused message each would otherwise grow the list without bound.
        """
        # Only the newest entries: registering appends, and an entry listed again keeps its place.
        for name in [name for name in islice(reversed(connections), added) if name not in self._kept_conns]:
            del connections[name]


def _raw(value: dict[str, JsonValue]) -> str | None:
    raw = value.get("raw")
    return raw if isinstance(raw, str) else None


def _closed(close: dict[str, JsonValue]) -> str:
    code, reason = close.get("code"), close.get("reason")
    return "closed" + (f" (code {code})" if code is not None else "") + (f": {reason}" if reason else "")
