"""``ccproto validate``'s engine: records in, findings out; a finding never stops the run.

Validation streams: records are checked one at a time and only per-connection
state is kept.  A connection is finished when both sides have closed it (two
close records), when another ``open`` record starts a connection of the same
name, when it has been idle (by capture time) longer than its protocol's idle
bound, or, past ``Limits.max_connections`` open at once, when it is the one idle
longest; its end-of-capture checks run then and its state is dropped, so memory
follows the connections open at once, not the length of the capture.

A connection whose first record cannot open it was joined mid-conversation by
the capture (``joined-mid-conversation``: an error, a warning with ``partial``);
it is then checked as far as the capture allows (each protocol's joined reading,
docs/quirks.md).  A later record of a connection the validator stopped tracking
(idle, evicted) is read the same way, without a finding: the bound was ours.

``shard=(k, n)`` checks only the connections whose name hashes to ``k`` of ``n``
while following every connection's life, so that ``n`` processes each given one
shard of the same capture together give the report one process gives
(``ccproto validate --jobs n`` on one file): see :func:`merge_shards`.
"""

from __future__ import annotations

import collections
import functools
import gzip
import hashlib
import io
import math
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import IO, Any, Protocol

import attrs

from ccproto.capture.har import looks_like_har, read_har
from ccproto.capture.records import (
    BadRecord,
    Record,
    bounded_lines,
    detect_protocol,
    read_jsonl,
    record_bytes,
    record_from,
)
from ccproto.core.checker import COVERAGE_KEY, MessageChecker, Start
from ccproto.core.coverage import Coverage
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Kind, Report, Severity
from ccproto.core.jsonio import loads, loads_fast
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.protocol import ProtocolSpec
from ccproto.core.roles import Role
from ccproto.protocols import KNOWN

__all__ = [
    "CHECKERS",
    "INPUT_KINDS",
    "CaptureValidator",
    "ConnectionChecker",
    "default_idle_timeouts",
    "merge_shards",
    "read_capture",
    "shard_of",
    "ShardResult",
    "validate_capture",
    "validate_files",
    "validate_message",
    "validate_records",
    "validate_shard",
    "validate_sources",
]


class ConnectionChecker(Protocol):
    """Checks the records of one connection of one protocol.

    A checker may also have ``begin(start, *, partial, history_until)`` (called before its first record:
    see :class:`~ccproto.core.checker.MessageChecker`); every built-in checker does.
    """

    def check(self, record: Record) -> list[Finding]: ...

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]: ...


class _Registered(MutableMapping[str, Callable[..., Any]]):
    """A live view protocol name -> one part of every registered protocol (``ccproto.protocols``), in which a
    caller may put its own part for a protocol (``CHECKERS["processor"] = partial(...)``: a vendor's registry),
    taking precedence until it is deleted."""

    def __init__(self, load: Callable[[ProtocolSpec], Callable[..., Any] | None]) -> None:
        self._load = load
        self._overrides: dict[str, Callable[..., Any]] = {}

    def _registered(self, name: str) -> Callable[..., Any] | None:
        spec = KNOWN.get(name)
        return None if spec is None else self._load(spec)

    def __getitem__(self, name: str) -> Callable[..., Any]:
        found = self._overrides.get(name) or self._registered(name)
        if found is None:
            raise KeyError(name)
        return found

    def __setitem__(self, name: str, part: Callable[..., Any]) -> None:
        if part is self._registered(name):
            self._overrides.pop(name, None)  # the registry's own again
        else:
            self._overrides[name] = part

    def __delitem__(self, name: str) -> None:
        del self._overrides[name]

    def __iter__(self) -> Iterator[str]:
        names = [spec.name for spec in tuple(KNOWN.values()) if self._load(spec) is not None]
        return iter([*names, *(name for name in self._overrides if name not in names)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self)})"


#: protocol -> factory of a checker for one connection: each registered protocol's (``ProtocolSpec.checker``).
#: Pass e.g. ``{**CHECKERS, name: functools.partial(...)}`` to a validator to check a protocol another way.
CHECKERS: MutableMapping[str, Callable[..., ConnectionChecker]] = _Registered(ProtocolSpec.load_checker)

#: protocol -> what follows a connection that another shard checks, for rules across connections (the CCEB's
#: long-lived sessions): every shard keeps that shared state alike (``--jobs`` on one file).
SHADOWS: MutableMapping[str, Callable[..., Any]] = _Registered(ProtocolSpec.load_shadow)

#: What a capture file may be: ``auto`` tells JSON Lines and HAR apart by their first line.
INPUT_KINDS = ("auto", "jsonl", "har")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 4096

#: Record numbers of the n-th file of a series are ``n << _FILE_SHIFT | line``: one number names a record
#: across files (what a connection keeps), and the report gives each file its own line numbers again.
_FILE_SHIFT = 40
_LINE_MASK = (1 << _FILE_SHIFT) - 1

#: Why a connection's part of the capture ended (the words follow "before").
_ENDED = "the capture ended"
_EVICTED = "ccproto stopped tracking the connection (--max-connections)"


def _idle_words(seconds: float) -> str:
    return f"the connection went idle for over {seconds:g} s (its idle bound: the validator finished it)"


def _factory_attribute(factory: Callable[..., Any], name: str) -> Any:
    """A class attribute of the checker class behind ``factory`` (a class or a ``functools.partial`` of one)."""
    while isinstance(factory, functools.partial):
        factory = factory.func
    return getattr(factory, name, None)


def default_idle_timeouts(
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
) -> dict[str, float | None]:
    """Each protocol's idle bound: seconds of capture time after which a silent connection is finished."""
    return {protocol: _factory_attribute(factory, "idle_timeout")
            for protocol, factory in (CHECKERS if checkers is None else checkers).items()}


def shard_of(conn: str, shards: int) -> int:
    """Which of ``shards`` checks connection ``conn`` (the same in every process: no salted hash)."""
    return zlib.crc32(conn.encode("utf-8", "surrogatepass")) % shards if shards > 1 else 0


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


@attrs.define(eq=False)
class _Connection:
    """What the validator holds for one open connection."""

    name: str
    start: Start
    #: Whether this process checks it (``shard``); otherwise only its life (and a shadow) is followed.
    owned: bool
    protocol: str | None = None
    checker: ConnectionChecker | None = None
    #: A stand-in for rules across connections, when another shard checks it.
    shadow: Any = None
    #: Record number of its latest record (the validator's numbering: see ``_FILE_SHIFT``).
    last: int = 0
    #: The validator's sequence number of its latest record (the idlest connection has the lowest).
    seq: int = 0
    #: Latest ``ts`` of its records (``None``: none had one yet).
    last_ts: float | None = None
    first_ts: float | None = None
    #: Which sides sent a close record.
    closed_by: set[Role] = attrs.Factory(set)
    #: How many findings its records gave (a connection without any is not kept in the report unless asked).
    findings: int = 0
    #: Close records seen before any record revealed the protocol (replayed once it is known).
    early_closes: list[Record] = attrs.Factory(list)
    #: Files (series index) its findings are in.
    files: set[int] = attrs.Factory(set)
    #: The lane it is in: its protocol's once a record had a time (idle bounds), else the untimed one.
    lane: collections.OrderedDict[str, Any] = attrs.Factory(collections.OrderedDict)


#: The lane of connections no record with a time has touched yet (never idle).
_UNTIMED = "(untimed)"


class _NameFilter:
    """A Bloom filter of connection names: fixed memory, no false negatives, rare false positives.

    Remembers the names of connections the validator finished by one of its own bounds (idle, evicted), so
    that their later records read as a connection that went on (joined, no finding) however many there
    are.  A false positive only makes a connection the capture cut read as one that went on: its cut is
    then not reported, but it is still checked the same way (docs/quirks.md V13).
    """

    #: 2**26 bits (8 MiB, allocated on first use) and 4 hashes: about 1 false positive in 100,000 names
    #: looked up after a million were added, 1 in 20 after ten million.
    BITS = 1 << 26
    HASHES = 4

    def __init__(self) -> None:
        self._bits: bytearray | None = None

    def _positions(self, name: str) -> list[int]:
        digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=4 * self.HASHES).digest()
        return [int.from_bytes(digest[i:i + 4], "little") % self.BITS for i in range(0, 4 * self.HASHES, 4)]

    def add(self, name: str) -> None:
        if self._bits is None:
            self._bits = bytearray(self.BITS // 8)
        bits = self._bits
        for position in self._positions(name):
            bits[position >> 3] |= 1 << (position & 7)

    def __contains__(self, name: str) -> bool:
        bits = self._bits
        return bits is not None and all(bits[p >> 3] & (1 << (p & 7)) for p in self._positions(name))


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

    ``partial=True`` says the capture may begin after connections opened (a
    rotated or sampled capture): a connection joined mid-conversation is then a
    warning, not an error.  ``idle_timeouts`` overrides protocols' idle bounds
    (seconds; ``None``: never idle).  Records of several files read as one capture
    (``--series``) are fed after :meth:`begin_file` for each file.
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
        partial: bool = False,
        idle_timeouts: Mapping[str, float | None] | None = None,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.report = report if report is not None else Report()
        self._all_connections = all_connections
        self._strict = strict
        self._partial = partial
        # A capture with a repeated key is reported whatever the limits allow: the validator's job is to find
        # what two parsers could read differently (docs/security.md).
        self._limits = attrs.evolve(limits, allow_duplicate_keys=False)
        self._factories = CHECKERS if checkers is None else checkers
        self._idle = {**default_idle_timeouts(self._factories), **(idle_timeouts or {})}
        self._shared: dict[str, Any] = {}  # what the checkers of this capture share (cross-connection rules)
        if coverage:
            if self.report.coverage is None:
                self.report.coverage = Coverage()
            self._shared[COVERAGE_KEY] = self.report.coverage
        self._shard, self._shards = shard
        self._open: dict[str, _Connection] = {}
        # Open connections by protocol (each its own idle bound), least recently active first.
        self._lanes: dict[str | None, collections.OrderedDict[str, _Connection]] = {}
        #: Names of connections ended by one of our bounds (a later record resumes them, read as joined).
        self._forgotten = _NameFilter()
        self._files: list[str] = []
        self._file: str | None = None
        self._index = 0
        self._latest = -math.inf  # the latest time seen (capture time)
        self._first = math.inf  # the earliest time seen: the capture's start, as far as it shows
        self._sweep_at = float("inf")  # no idle connection can be due before this time
        self._seq = 0
        self._step = 0
        #: With shards: (sequence, step, index) of each finding, to merge shards in one process's order.
        self.keys: list[tuple[int, int, int]] | None = [] if self._shards > 1 else None
        #: With shards: (sequence, step) at which each connection was registered in the report.
        self.ended: list[tuple[str, str, tuple[int, int]]] | None = [] if self._shards > 1 else None

    # -- files ---------------------------------------------------------------------------------------------

    def begin_file(self, file: str) -> None:
        """The records that follow come from ``file`` (the next of a series read as one capture)."""
        if file in self._files:
            self._index = self._files.index(file)
        else:
            self._index = len(self._files)
            self._files.append(file)
        self._file = file
        self.report.connections.setdefault(file, {})

    def _protocols(self, file: str) -> dict[str, str | None]:
        return self.report.connections.setdefault(file, {})

    def _tag(self, number: int) -> int:
        return number | self._index << _FILE_SHIFT if self._index else number

    def _place(self, number: int) -> tuple[str, int]:
        """(file, line) of a record number."""
        index = number >> _FILE_SHIFT
        return (self._files[index] if index < len(self._files) else self._file or ""), number & _LINE_MASK

    # -- findings ------------------------------------------------------------------------------------------

    def _emit(self, findings: Iterable[Finding], conn: _Connection | None = None) -> None:
        """Add findings to the report (the current step of the current record emitted them)."""
        out = self.report.findings
        keys = self.keys
        for index, finding in enumerate(findings):
            file, line = self._place(finding.record)
            if file != finding.file or line != finding.record or any(r > _LINE_MASK for r in finding.related):
                finding = self._relocated(finding, file, line)
            out.append(finding)
            if keys is not None:
                keys.append((self._seq, self._step, index))
            if conn is not None:
                conn.findings += 1
                if self._files:
                    conn.files.add(self._files.index(finding.file) if finding.file in self._files else 0)

    def _relocated(self, finding: Finding, file: str, line: int) -> Finding:
        """The finding with its record numbers back in their files' own numbering (series)."""
        related: list[int] = []
        elsewhere: list[str] = []
        for number in finding.related:
            where, at = self._place(number)
            if where == file:
                related.append(at)
            else:
                elsewhere.append(f"record {at} of {where}")
        message = finding.message + (f" (see {', '.join(elsewhere)})" if elsewhere else "")
        return attrs.evolve(finding, file=file, record=line, related=tuple(related), message=message)

    def _finding(self, item: Record | BadRecord, severity: Severity, kind: Kind, code: str, message: str,
                 conn: _Connection | None = None) -> None:
        self._emit([Finding(
            file=item.file, record=item.number, conn=item.conn, severity=severity, kind=kind,
            code=code, path="", message=message, location=item.location,
        )], conn)

    # -- records -------------------------------------------------------------------------------------------

    def feed(self, item: Record | BadRecord) -> None:
        """Check one record (or note a bad one)."""
        report = self.report
        report.records += 1
        self._seq += 1
        self._step = 0
        if self._file is None:
            self.begin_file(item.file)
        if self._index:
            item = attrs.evolve(item, number=self._tag(item.number))
        if isinstance(item, BadRecord):
            conn = self._open.get(item.conn) if item.conn is not None else None
            if (conn.owned if conn is not None else shard_of(item.conn or "", self._shards) == self._shard):
                self._finding(item, Severity.ERROR, Kind.DECODE, "bad-record", item.detail, conn)
            return
        ts = item.ts
        if ts is not None:
            if ts > self._latest:
                self._latest = ts
                if ts > self._sweep_at:
                    self._sweep(ts)
            if ts < self._first:
                self._first = ts
        name = item.conn
        conn = self._open.get(name)
        if conn is None or item.open is not None:
            if conn is not None:
                self._end(conn, "another connection of the same name opened")
            start = Start.OPENED if item.open is not None or item.starts_connection else (
                Start.RESUMED if name in self._forgotten else Start.UNKNOWN
            )
            conn = self._new(name, start)
        conn.last = item.number
        conn.seq = self._seq
        if ts is not None:
            last_ts = conn.last_ts
            if last_ts is None:
                conn.first_ts = conn.last_ts = ts
                self._move(conn, conn.protocol)  # out of the untimed lane: it can go idle now
            elif ts > last_ts:
                conn.last_ts = ts
        conn.lane.move_to_end(name)
        self._step += 1
        checker = conn.checker
        if checker is not None and (item.protocol is None or item.protocol == conn.protocol):
            found = checker.check(item)  # the common case, without the calls of _check
            if found:
                self._emit(found, conn)
        else:
            self._check(item, conn)
        if item.close is not None:
            conn.closed_by.add(item.sender)
            if len(conn.closed_by) == len(Role):
                self._end(conn, _ENDED)  # closed by both sides (even with no message to tell its protocol)

    def _move(self, conn: _Connection, key: str | None) -> None:
        """Put ``conn`` last in the lane ``key`` (its protocol's, once it has a time; else the untimed one)."""
        conn.lane.pop(conn.name, None)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = collections.OrderedDict()
        if not lane and key != _UNTIMED and conn.last_ts is not None:
            bound = self._idle.get(key) if key is not None else None
            if bound is not None:
                self._sweep_at = min(self._sweep_at, conn.last_ts + bound)
        lane[conn.name] = conn
        conn.lane = lane

    def _new(self, name: str, start: Start) -> _Connection:
        if len(self._open) >= self._limits.max_connections:
            self._evict()
        conn = _Connection(name=name, start=start, owned=shard_of(name, self._shards) == self._shard)
        self._open[name] = conn
        self._move(conn, _UNTIMED)
        return conn

    def _evict(self) -> None:
        """Stop tracking the connection idle longest, with a warning saying so (memory stays bounded)."""
        heads = [next(iter(lane.values())) for lane in self._lanes.values() if lane]
        conn = min(heads, key=lambda c: c.seq)
        self._step += 1
        if conn.owned and conn.start is not Start.RESUMED:  # one warning per connection, not per eviction
            file, line = self._place(conn.last)
            self._emit([Finding(
                file=file, record=line, conn=conn.name, severity=Severity.WARNING, kind=Kind.CAPTURE,
                code="too-many-connections", path="",
                message=f"more than max_connections={self._limits.max_connections} connections open at once: "
                        "this one, idle longest, is no longer tracked (what it left unanswered is reported as at "
                        "the end of the capture; its later records are checked as joined mid-conversation)",
            )], conn)
        self._end(conn, _EVICTED, forget=True)

    def _sweep(self, now: float) -> None:
        """Finish every connection idle longer than its protocol's bound by ``now``."""
        due = float("inf")
        for protocol, lane in self._lanes.items():
            bound = self._idle.get(protocol) if protocol not in (None, _UNTIMED) else None
            if bound is None:
                continue
            while lane:
                conn = next(iter(lane.values()))
                assert conn.last_ts is not None
                if conn.last_ts + bound >= now:
                    due = min(due, conn.last_ts + bound)
                    break
                self._end(conn, _idle_words(bound), forget=True)
        self._sweep_at = due

    def _check(self, item: Record, conn: _Connection) -> None:
        if conn.protocol is None:
            if (item.close is not None and item.protocol is None) or (item.open is not None and item.protocol is None):
                if item.close is not None:
                    conn.early_closes.append(item)  # says nothing about the protocol: replayed once known
                return
            if not self._start(item, conn):
                return
        elif item.protocol is not None and item.protocol != conn.protocol:
            if conn.owned:
                self._finding(item, Severity.ERROR, Kind.DECODE, "protocol-changed",
                              f"record says {item.protocol!r} but the connection is {conn.protocol!r}", conn)
            return
        if conn.checker is not None:
            self._emit(conn.checker.check(item), conn)
        elif conn.shadow is not None:
            conn.shadow.check(item)

    def _start(self, item: Record, conn: _Connection) -> bool:
        """Tell the connection's protocol from ``item`` and make its checker; whether ``item`` is then checked."""
        # Until a record reveals the protocol, each record is tried again (one bad first record
        # must not hide the rest of the connection).
        protocol = _guess(item, self._limits)
        if protocol is None:
            if conn.owned:
                self._finding(item, Severity.ERROR, Kind.DECODE, "unknown-protocol",
                              "cannot tell the message's protocol from its shape: give 'protocol' in the record",
                              conn)
            return False
        conn.protocol = protocol
        if conn.last_ts is not None:
            self._move(conn, protocol)
        factory = self._factories.get(protocol)
        if factory is None:
            if conn.owned:
                self._finding(item, Severity.WARNING, Kind.DECODE, "protocol-not-checked",
                              f"ccproto does not check {protocol} traffic yet; the connection is skipped", conn)
            return False
        earliest = self._first if self._first != math.inf else None
        history = earliest if conn.start is not Start.RESUMED else (conn.first_ts or earliest)
        history_until = None if history is None else history + self._limits.request_timeout
        if conn.owned:
            conn.checker = factory(limits=self._limits, strict=self._strict, capture=self._shared)
            begin = getattr(conn.checker, "begin", None)
            if begin is not None:
                begin(conn.start, partial=self._partial, history_until=history_until)
        elif protocol in SHADOWS:
            conn.shadow = SHADOWS[protocol](conn.name, start=conn.start, limits=self._limits, capture=self._shared)
        else:
            return False
        for close in conn.early_closes:
            self._check(close, conn)
        conn.early_closes.clear()
        return True

    def _end(self, conn: _Connection, ended: str, *, forget: bool = False) -> None:
        name = conn.name
        del self._open[name]
        del conn.lane[name]
        self._step += 1
        if forget:
            self._forgotten.add(name)
        if conn.shadow is not None:
            conn.shadow.finish()
        if not conn.owned:
            return
        if conn.checker is not None:
            file, _ = self._place(conn.last)
            if isinstance(conn.checker, MessageChecker):
                found = conn.checker.finish(file, name, conn.last, ended=ended)
            else:
                found = conn.checker.finish(file, name, conn.last)
            self._emit(found, conn)
        if conn.findings or self._all_connections:
            files = conn.files or {conn.last >> _FILE_SHIFT}
            for index in sorted(files):
                file = self._files[index] if index < len(self._files) else self._file or ""
                self._protocols(file)[name] = conn.protocol
                if self.ended is not None:
                    self.ended.append((file, name, (self._seq, self._step)))

    def finish(self) -> Report:
        """End of the capture: what is still open is reported (captures get cut) and dropped."""
        self._seq += 1
        self._step = 0
        for conn in list(self._open.values()):
            self._end(conn, _ENDED)
        return self.report


@attrs.define
class ShardResult:
    """What one shard of a validation gives (:func:`validate_shard`): merged by :func:`merge_shards`."""

    report: Report
    #: For each finding of ``report``, where one process would have emitted it: (run, sequence, step, index).
    keys: list[tuple[int, int, int, int]]
    #: Each connection registered in ``report.connections``: (run, sequence, step), file, name.
    ended: list[tuple[tuple[int, int, int], str, str]]


def merge_shards(shards: list[ShardResult]) -> Report:
    """One report from every shard of the same files: the report one process would have given."""
    report = Report()
    report.records = shards[0].report.records  # every shard reads every record
    for file in shards[0].report.connections:
        report.connections.setdefault(file, {})
    keyed: list[tuple[tuple[int, int, int, int], Finding]] = []
    ended: list[tuple[tuple[int, int, int], str, str, str | None]] = []
    for shard in shards:
        keyed.extend(zip(shard.keys, shard.report.findings, strict=True))
        ended.extend((at, file, name, shard.report.connections[file][name]) for at, file, name in shard.ended)
        if shard.report.coverage is not None:
            if report.coverage is None:
                report.coverage = Coverage()
            report.coverage.merge(shard.report.coverage)
    keyed.sort(key=lambda item: item[0])
    report.findings = [finding for _, finding in keyed]
    for _, file, name, protocol in sorted(ended, key=lambda item: item[0]):
        report.connections.setdefault(file, {})[name] = protocol
    report.sort()
    return report


def validate_records(
    records: Iterable[Record | BadRecord],
    *,
    report: Report | None = None,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    all_connections: bool = True,
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
) -> Report:
    """Check the records of one capture, one state machine per connection; add findings to ``report``.

    See :class:`CaptureValidator` for the options.
    """
    validator = CaptureValidator(report=report, strict=strict, limits=limits, checkers=checkers, coverage=coverage,
                                 all_connections=all_connections, partial=partial, idle_timeouts=idle_timeouts)
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
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
    series: bool = False,
) -> Report:
    """Validate capture files (JSON Lines or HAR, plain or gzip); raises ``OSError`` for an unreadable file.

    Each file is its own capture, unless ``series``: then the files are one capture, in the order given
    (rotated files: a connection goes on from one file to the next; findings still name each file and its
    own record numbers).  See :class:`CaptureValidator` for the other options.
    """
    result = validate_shard(
        paths, shard=(0, 1), strict=strict, limits=limits, checkers=checkers, coverage=coverage, kind=kind,
        all_connections=all_connections, partial=partial, idle_timeouts=idle_timeouts, series=series,
    )
    return result.report


def validate_shard(
    paths: Iterable[str | Path],
    *,
    shard: tuple[int, int],
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    all_connections: bool = True,
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
    series: bool = False,
) -> ShardResult:
    """:func:`validate_files`, checking only shard ``k`` of ``n`` (``shard=(k, n)``) of the connections.

    Every shard reads every record (to follow every connection's life alike); :func:`merge_shards` of the
    ``n`` results is the report of :func:`validate_files`.  ``ccproto validate --jobs n`` runs the shards in
    ``n`` processes.
    """
    sources = [(str(path), functools.partial(Path(path).open, "rb")) for path in paths]
    return validate_sources(
        sources, shard=shard, strict=strict, limits=limits, checkers=checkers, coverage=coverage, kind=kind,
        all_connections=all_connections, partial=partial, idle_timeouts=idle_timeouts, series=series,
    )


#: A capture source: its name in findings, and how to open it (a context manager giving a binary file).
Source = tuple[str, Callable[[], Any]]


def validate_sources(
    sources: Iterable[Source],
    *,
    shard: tuple[int, int] = (0, 1),
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    all_connections: bool = True,
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
    series: bool = False,
    report: Report | None = None,
) -> ShardResult:
    """:func:`validate_shard` on sources the caller opens (standard input, a file read through a progress bar).

    ``report`` is the report to fill (default: a new one): a caller interrupted part-way (Ctrl-C) still holds
    what was found so far.
    """
    report = Report() if report is None else report
    keys: list[tuple[int, int, int, int]] = []
    ended: list[tuple[tuple[int, int, int], str, str]] = []
    options: dict[str, Any] = {
        "strict": strict, "limits": limits, "checkers": checkers, "coverage": coverage,
        "all_connections": all_connections, "partial": partial, "idle_timeouts": idle_timeouts, "shard": shard,
    }
    validator: CaptureValidator | None = None
    run = 0

    def close(validator: CaptureValidator) -> None:
        validator.finish()
        if validator.keys is not None and validator.ended is not None:
            keys.extend((run, *key) for key in validator.keys)
            ended.extend(((run, *at), file, name) for file, name, at in validator.ended)

    for name, open_source in sources:
        if validator is None or not series:
            if validator is not None:
                close(validator)
                run += 1
            validator = CaptureValidator(report=report, **options)
        validator.begin_file(name)
        with open_source() as handle:
            for item in read_capture(handle, file=name, kind=kind, limits=limits):
                validator.feed(item)
    if validator is not None:
        close(validator)
    if shard[1] == 1:
        report.sort()
    return ShardResult(report=report, keys=keys, ended=ended)


def _records_of(items: Iterable[Any], file: str) -> Iterator[Record | BadRecord]:
    for number, item in enumerate(items, start=1):
        found = item if isinstance(item, (Record, BadRecord)) else record_from(file, number, item)
        assert found is not None  # only a record read by orjson is read again
        yield found


def validate_capture(
    source: str | Path | IO[bytes] | IO[str] | Iterable[Any],
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    checkers: Mapping[str, Callable[..., ConnectionChecker]] | None = None,
    coverage: bool = False,
    kind: str = "auto",
    file: str | None = None,
    partial: bool = False,
    idle_timeouts: Mapping[str, float | None] | None = None,
) -> Report:
    """Validate one capture and return its :class:`Report` (the findings ``ccproto validate`` prints).

    ``source`` is a path, a file object (binary: JSON Lines or HAR, plain or
    gzip; text: JSON Lines) or an iterable of records (:class:`Record`
    objects, or dicts as in a JSON Lines capture).  ``file`` names the source
    in findings (default: the path, the file object's name, or ``"capture"``).
    ``partial`` and ``idle_timeouts``: see :class:`CaptureValidator`.
    """
    options: dict[str, Any] = {"strict": strict, "limits": limits, "checkers": checkers, "coverage": coverage,
                               "partial": partial, "idle_timeouts": idle_timeouts}
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
    sender = _SENDERS.get(direction) if isinstance(direction, str) else direction
    if sender.__class__ is not Role:
        sender = Role(direction)
    checker = _DEFAULT_ONE_MESSAGE.get((protocol, strict)) if limits is DEFAULT_LIMITS else None
    if checker is None:
        checker = _message_checker(protocol, strict, limits)
    text = obj if obj.__class__ is str else None
    # The common case first: a valid message, decoded by the compiled path, with nothing to report.
    fast = loads_fast(text, checker.limits) if text is not None else obj
    if fast.__class__ is dict and checker.compiled is not None:
        found = checker.compiled(fast)
        if found is not None and not found[1]:
            return []
    record = Record(file="message", number=1, ts=None, conn="message", sender=sender, protocol=protocol,
                    message=None if text is not None else obj, raw=text)
    return checker.checker.check(record)


@attrs.define
class _OneMessage:
    """What :func:`validate_message` keeps per protocol, strictness and limits (made once: it costs more than
    checking a message)."""

    checker: ConnectionChecker
    limits: Limits
    #: The codec's compiled decoding: (message, warnings) or ``None`` (then the checker decides).
    compiled: Callable[[dict[str, Any]], tuple[Any, Any] | None] | None


_SENDERS = {role.value: role for role in Role}
_ONE_MESSAGE: dict[tuple[str, bool, Limits], _OneMessage] = {}


_DEFAULT_ONE_MESSAGE: dict[tuple[str, bool], _OneMessage] = {}


def _message_checker(protocol: str, strict: bool, limits: Limits) -> _OneMessage:
    if limits is DEFAULT_LIMITS:  # hashing a Limits costs as much as checking a small message
        found = _DEFAULT_ONE_MESSAGE.get((protocol, strict))
        if found is None:
            found = _DEFAULT_ONE_MESSAGE[(protocol, strict)] = _message_checker_for(protocol, strict, limits)
        return found
    found = _ONE_MESSAGE.get((protocol, strict, limits))
    if found is not None:
        return found
    if len(_ONE_MESSAGE) >= 64:  # a few (protocol, strict, limits) in practice; never unbounded
        _ONE_MESSAGE.clear()
    found = _ONE_MESSAGE[(protocol, strict, limits)] = _message_checker_for(protocol, strict, limits)
    return found


def _message_checker_for(protocol: str, strict: bool, limits: Limits) -> _OneMessage:
    if protocol not in CHECKERS:
        raise ValueError(f"protocol must be one of {', '.join(CHECKERS)}, not {protocol!r}")
    exact = attrs.evolve(limits, allow_duplicate_keys=False)  # repeated keys are always findings
    checker = CHECKERS[protocol](limits=exact, strict=strict, capture={})
    compiled = None
    if isinstance(checker, MessageChecker):
        checker.check_sequence = False  # one message has no conversation to be out of order in
        # This exact class's own (a subclass may decode with another registry: it goes through the checker).
        compiled = type(checker).__dict__.get("compiled")
        compiled = compiled.__func__ if isinstance(compiled, staticmethod) else compiled
    return _OneMessage(checker, exact, compiled)


