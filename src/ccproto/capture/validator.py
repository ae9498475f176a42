"""``ccproto validate``'s engine: records in, findings out; a finding never stops the run.

Validation streams: records are checked one at a time and only per-connection
state is kept.  A connection is finished when both sides have closed it (two
close records); its end-of-capture checks run then and its state is dropped,
so memory follows the connections open at once, not the length of the
capture.  A later record naming the same connection starts a new one.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import attrs

from ccproto.capture.bridge import BridgeConnectionChecker
from ccproto.capture.cceb import CcebConnectionChecker
from ccproto.capture.checker import COVERAGE_KEY, MessageChecker
from ccproto.capture.coverage import Coverage
from ccproto.capture.findings import Finding, Kind, Report, Severity
from ccproto.capture.har import looks_like_har, read_har
from ccproto.capture.processor import ProcessorConnectionChecker
from ccproto.capture.records import (
    BadRecord,
    Record,
    _record,
    bounded_lines,
    detect_protocol,
    read_jsonl,
    record_bytes,
)
from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import loads
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.roles import Role

__all__ = [
    "CHECKERS",
    "INPUT_KINDS",
    "CaptureValidator",
    "ConnectionChecker",
    "read_capture",
    "validate_capture",
    "validate_files",
    "validate_message",
    "validate_records",
]


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

#: What a capture file may be: ``auto`` tells JSON Lines and HAR apart by their first line.
INPUT_KINDS = ("auto", "jsonl", "har")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 4096


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


@attrs.define
class _Connection:
    """What the validator holds for one open connection."""

    protocol: str | None = None
    checker: ConnectionChecker | None = None
    last: int = 0
    closed_by: set[Role] = attrs.Factory(set)
    #: How many findings its records gave (a connection without any is not kept in the report unless asked).
    findings: int = 0
    #: Close records seen before any record revealed the protocol (replayed once it is known).
    early_closes: list[Record] = attrs.Factory(list)


class CaptureValidator:
    """Validates the records of one capture as they come; findings go to ``report``.

    ``checkers`` maps a protocol to a checker factory (default :data:`CHECKERS`),
    called as ``factory(limits=, strict=, capture=)`` where ``capture`` is a dict
    the checkers of one capture share; pass e.g. ``{**CHECKERS, "processor":
    functools.partial(ProcessorConnectionChecker, registry=my_registry)}`` to
    check vendor extensions.  ``coverage=True`` collects protocol coverage in
    ``report.coverage``.  ``report.connections`` lists every connection and its
    protocol; with ``all_connections=False`` only those that had findings, so
    that memory does not grow with the number of connections (``ccproto
    validate`` does that except for JUnit output, which has a test case for each).
    """

    def __init__(
        self,
        *,
        report: Report | None = None,
        strict: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
        coverage: bool = False,
        all_connections: bool = True,
    ) -> None:
        self.report = report if report is not None else Report()
        self._all_connections = all_connections
        self._strict = strict
        # A capture with a repeated key is reported whatever the limits allow: the validator's job is to find
        # what two parsers could read differently (docs/security.md).
        self._limits = attrs.evolve(limits, allow_duplicate_keys=False)
        self._factories = CHECKERS if checkers is None else checkers
        self._shared: dict[str, Any] = {}  # what the checkers of this capture share (cross-connection rules)
        if coverage:
            if self.report.coverage is None:
                self.report.coverage = Coverage()
            self._shared[COVERAGE_KEY] = self.report.coverage
        self._open: dict[str, _Connection] = {}
        self._file: str | None = None

    def _protocols(self, file: str) -> dict[str, str | None]:
        return self.report.connections.setdefault(file, {})

    def _add(self, findings: Iterable[Finding]) -> None:
        self.report.findings.extend(findings)

    def feed(self, item: Record | BadRecord) -> None:
        """Check one record (or note a bad one)."""
        report = self.report
        report.records += 1
        if self._file is None:
            self._file = item.file
            self._protocols(item.file)
        if isinstance(item, BadRecord):
            report.findings.append(Finding(
                file=item.file, record=item.number, conn=item.conn, severity=Severity.ERROR, kind=Kind.DECODE,
                code="bad-record", path="", message=item.detail, location=item.location,
            ))
            if item.conn is not None and item.conn in self._open:
                self._open[item.conn].findings += 1
            return
        conn = self._open.pop(item.conn, None)  # re-inserted below: the one idle longest stays first
        if conn is None:
            conn = _Connection()
            if len(self._open) >= self._limits.max_connections:
                self._drop_idlest(item.file)
        self._open[item.conn] = conn
        conn.last = item.number
        before = len(report.findings)
        self._check(item, conn)
        conn.findings += len(report.findings) - before
        if item.close is not None:
            self._closed(item, conn)

    def _drop_idlest(self, file: str) -> None:
        """Stop tracking the connection idle longest, with a finding saying so (memory stays bounded)."""
        name, conn = next(iter(self._open.items()))
        self.report.findings.append(Finding(
            file=file, record=conn.last, conn=name, severity=Severity.ERROR, kind=Kind.DECODE,
            code="too-many-connections", path="",
            message=f"more than max_connections={self._limits.max_connections} connections open at once: this one,"
                    " idle longest, is no longer checked (a later record of it starts a new connection)",
        ))
        conn.findings += 1
        self._end(name, file)

    def _check(self, item: Record, conn: _Connection) -> None:
        if conn.protocol is None:
            if item.close is not None and item.protocol is None:
                conn.early_closes.append(item)  # says nothing about the protocol: replayed once known
                return
            if not self._start(item, conn):
                return
        elif item.protocol is not None and item.protocol != conn.protocol:
            self._finding(item, Severity.ERROR, "protocol-changed",
                          f"record says {item.protocol!r} but the connection is {conn.protocol!r}")
            return
        if conn.checker is not None:
            self._add(conn.checker.check(item))

    def _finding(self, item: Record, severity: Severity, code: str, message: str) -> None:
        self.report.findings.append(Finding(
            file=item.file, record=item.number, conn=item.conn, severity=severity, kind=Kind.DECODE,
            code=code, path="", message=message, location=item.location,
        ))

    def _start(self, item: Record, conn: _Connection) -> bool:
        """Tell the connection's protocol from ``item`` and make its checker; whether ``item`` is then checked."""
        # Until a record reveals the protocol, each record is tried again (one bad first record
        # must not hide the rest of the connection).
        protocol = _guess(item, self._limits)
        if protocol is None:
            self._finding(item, Severity.ERROR, "unknown-protocol",
                          "cannot tell the message's protocol from its shape: give 'protocol' in the record")
            return False
        conn.protocol = protocol
        factory = self._factories.get(protocol)
        if factory is None:
            self._finding(item, Severity.WARNING, "protocol-not-checked",
                          f"ccproto does not check {protocol} traffic yet; the connection is skipped")
            return False
        conn.checker = factory(limits=self._limits, strict=self._strict, capture=self._shared)
        for close in conn.early_closes:
            self._add(conn.checker.check(close))
        conn.early_closes.clear()
        return True

    def _closed(self, item: Record, conn: _Connection) -> None:
        conn.closed_by.add(item.sender)
        if len(conn.closed_by) == len(Role):
            self._end(item.conn, item.file)  # closed by both sides (even with no message to tell its protocol)

    def _end(self, name: str, file: str) -> None:
        conn = self._open.pop(name)
        if conn.checker is not None:
            before = len(self.report.findings)
            self._add(conn.checker.finish(file, name, conn.last))
            conn.findings += len(self.report.findings) - before
        if conn.findings or self._all_connections:
            self._protocols(file)[name] = conn.protocol

    def finish(self) -> Report:
        """End of the capture: what is still open is reported (captures get cut) and dropped."""
        for name in list(self._open):
            self._end(name, self._file or "")
        return self.report


def validate_records(
    records: Iterable[Record | BadRecord],
    *,
    report: Report | None = None,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    all_connections: bool = True,
) -> Report:
    """Check the records of one capture, one state machine per connection; add findings to ``report``.

    See :class:`CaptureValidator` for ``checkers``, ``coverage`` and ``all_connections``.
    """
    validator = CaptureValidator(report=report, strict=strict, limits=limits, checkers=checkers, coverage=coverage,
                                 all_connections=all_connections)
    for item in records:
        validator.feed(item)
    return validator.finish()


def read_capture(
    handle: IO[bytes], *, file: str, kind: str = "auto", limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record | BadRecord]:
    """Records of a capture file opened in binary mode: JSON Lines or HAR, gzip-compressed or not.

    ``kind`` is one of :data:`INPUT_KINDS`; ``auto`` tells them apart by the
    first line (a HAR, as DevTools writes it, opens with a lone ``{``).  A gzip
    stream is recognised by its magic bytes, whatever the file's name.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(INPUT_KINDS)}, not {kind!r}")
    stream: Any = handle if hasattr(handle, "peek") else io.BufferedReader(handle)
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    number = 0
    try:
        head = stream.peek(_SNIFF)[:_SNIFF]
        if kind == "har" or (kind == "auto" and looks_like_har(head)):
            yield from read_har(stream.read(), file=file)
            return
        for item in read_jsonl(bounded_lines(stream, record_bytes(limits)), file=file, limits=limits):
            number = item.number
            yield item
    except (EOFError, gzip.BadGzipFile, zlib.error):
        yield BadRecord(file=file, number=number + 1, conn=None,
                        detail="the compressed stream is corrupt or cut short; the rest cannot be read")


def validate_files(
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    all_connections: bool = True,
) -> Report:
    """Validate capture files (JSON Lines or HAR, plain or gzip); raises ``OSError`` for an unreadable file."""
    report = Report()
    for path in paths:
        path = Path(path)
        with path.open("rb") as handle:
            validate_records(
                read_capture(handle, file=str(path), kind=kind, limits=limits),
                report=report, strict=strict, limits=limits, checkers=checkers, coverage=coverage,
                all_connections=all_connections,
            )
    report.sort()
    return report


def _records_of(items: Iterable[Any], file: str) -> Iterator[Record | BadRecord]:
    for number, item in enumerate(items, start=1):
        yield item if isinstance(item, (Record, BadRecord)) else _record(file, number, item)


def validate_capture(
    source: str | Path | IO[bytes] | IO[str] | Iterable[Any],
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    file: str | None = None,
) -> Report:
    """Validate one capture and return its :class:`Report` (the findings ``ccproto validate`` prints).

    ``source`` is a path, a file object (binary: JSON Lines or HAR, plain or
    gzip; text: JSON Lines) or an iterable of records (:class:`Record`
    objects, or dicts as in a JSON Lines capture).  ``file`` names the source
    in findings (default: the path, the file object's name, or ``"capture"``).
    """
    options: dict[str, Any] = {"strict": strict, "limits": limits, "checkers": checkers, "coverage": coverage}
    if isinstance(source, (str, Path)):
        with Path(source).open("rb") as handle:
            report = validate_records(
                read_capture(handle, file=file or str(source), kind=kind, limits=limits), **options
            )
        report.sort()
        return report
    name = file or str(getattr(source, "name", None) or "capture")
    if isinstance(source, io.TextIOBase):
        report = validate_records(read_jsonl(source, file=name, limits=limits), **options)
    elif hasattr(source, "read"):
        binary: IO[bytes] = source  # type: ignore[assignment]
        report = validate_records(read_capture(binary, file=name, kind=kind, limits=limits), **options)
    else:
        report = validate_records(_records_of(source, name), **options)
    report.sort()
    return report


def validate_message(
    obj: Any,
    *,
    protocol: str,
    direction: Role | str,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Finding]:
    """Findings for one message on its own (``direction``: who sent it, ``client`` or ``server``).

    ``obj`` is the message as a JSON value or as text.  It is checked against
    its schema only: decoding, schema and quirk warnings (a message on its own has no
    conversation whose order it could break).
    """
    sender = Role(direction)
    if protocol not in CHECKERS:
        raise ValueError(f"protocol must be one of {', '.join(CHECKERS)}, not {protocol!r}")
    text = obj if isinstance(obj, str) else None
    record = Record(file="message", number=1, ts=None, conn="message", sender=sender, protocol=protocol,
                    message=None if text is not None else obj, raw=text)
    limits = attrs.evolve(limits, allow_duplicate_keys=False)  # repeated keys are always findings
    checker = CHECKERS[protocol](limits=limits, strict=strict, capture={})
    if isinstance(checker, MessageChecker):
        checker.check_sequence = False  # one message has no conversation to be out of order in
    return checker.check(record)
