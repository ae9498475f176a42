"""``ccproto validate``'s engine: records in, findings out; a finding never stops the run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from ccproto.capture.bridge import BridgeConnectionChecker
from ccproto.capture.cceb import CcebConnectionChecker
from ccproto.capture.findings import Finding, Kind, Report, Severity
from ccproto.capture.processor import ProcessorConnectionChecker
from ccproto.capture.records import BadRecord, Record, detect_protocol, read_jsonl
from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import loads
from ccproto.core.limits import DEFAULT_LIMITS, Limits

__all__ = ["CHECKERS", "ConnectionChecker", "validate_files", "validate_records"]


class ConnectionChecker(Protocol):
    """Checks the records of one connection of one protocol."""

    def check(self, record: Record) -> list[Finding]: ...

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]: ...


#: protocol -> factory of a checker for one connection.  Protocols add themselves here.
CHECKERS: dict[str, Callable[..., ConnectionChecker]] = {
    "bridge": BridgeConnectionChecker,
    "processor": ProcessorConnectionChecker,
    "cceb": CcebConnectionChecker,
}


def _guess(record: Record, limits: Limits) -> str | None:
    if record.protocol is not None:
        return record.protocol
    message = record.message
    if record.raw is not None:
        try:
            message = loads(record.raw, limits=limits)
        except ProtocolError:
            return None
    return detect_protocol(message)


def validate_records(
    records: Iterable[Record | BadRecord],
    *,
    report: Report | None = None,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
) -> Report:
    """Check records (of one file), one state machine per connection; add findings to ``report``.

    ``checkers`` maps a protocol to a checker factory (default :data:`CHECKERS`),
    called as ``factory(limits=, strict=, capture=)`` where ``capture`` is a dict
    the checkers of one capture share;
    pass e.g. ``{**CHECKERS, "processor": functools.partial(ProcessorConnectionChecker,
    registry=my_registry)}`` to check vendor extensions.
    """
    factories = CHECKERS if checkers is None else checkers
    report = report if report is not None else Report()
    shared: dict[str, Any] = {}  # what the checkers of this capture share (cross-connection rules)
    early_closes: dict[str, list[Record]] = {}
    connections: dict[str, ConnectionChecker | None] = {}
    protocols: dict[str, str | None] = {}
    last: dict[str, int] = {}
    file = ""
    for item in records:
        report.records += 1
        file = item.file
        if isinstance(item, BadRecord):
            report.findings.append(Finding(
                file=item.file, record=item.number, conn=item.conn, severity=Severity.ERROR, kind=Kind.DECODE,
                code="bad-record", path="", message=item.detail,
            ))
            continue
        conn = item.conn
        last[conn] = item.number
        if protocols.get(conn) is None and item.close is not None and item.protocol is None:
            early_closes.setdefault(conn, []).append(item)  # says nothing about the protocol: replayed once known
            continue
        if protocols.get(conn) is None:
            # Until a record reveals the protocol, each record is tried again (one bad first record
            # must not hide the rest of the connection).
            protocols[conn] = _guess(item, limits)
            if protocols[conn] is None:
                report.findings.append(Finding(
                    file=item.file, record=item.number, conn=conn, severity=Severity.ERROR, kind=Kind.DECODE,
                    code="unknown-protocol", path="",
                    message="cannot tell the message's protocol from its shape: give 'protocol' in the record",
                ))
                continue
            factory = factories.get(protocols[conn] or "")
            created = connections[conn] = factory(limits=limits, strict=strict, capture=shared) if factory else None
            for close in early_closes.pop(conn, []):
                if created is not None:
                    report.findings.extend(created.check(close))
            if factory is None:
                report.findings.append(Finding(
                    file=item.file, record=item.number, conn=conn, severity=Severity.WARNING, kind=Kind.DECODE,
                    code="protocol-not-checked", path="",
                    message=f"ccproto does not check {protocols[conn]} traffic yet; the connection is skipped",
                ))
        elif item.protocol is not None and item.protocol != protocols[conn]:
            report.findings.append(Finding(
                file=item.file, record=item.number, conn=conn, severity=Severity.ERROR, kind=Kind.DECODE,
                code="protocol-changed", path="",
                message=f"record says {item.protocol!r} but the connection is {protocols[conn]!r}",
            ))
            continue
        checker = connections[conn]
        if checker is not None:
            report.findings.extend(checker.check(item))
    for conn, checker in connections.items():
        if checker is not None:
            report.findings.extend(checker.finish(file, conn, last[conn]))
    report.connections.setdefault(file, {}).update(protocols)
    return report


def validate_files(
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
) -> Report:
    """Validate JSON Lines capture files; raises ``OSError`` for an unreadable file."""
    report = Report()
    for path in paths:
        path = Path(path)
        with path.open("rb") as handle:
            validate_records(
                read_jsonl(handle, file=str(path)), report=report, strict=strict, limits=limits, checkers=checkers
            )
    report.findings.sort(key=lambda f: (f.file, f.record))
    return report
