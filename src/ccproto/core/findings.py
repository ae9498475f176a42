"""What validation reports: findings and the report that collects them."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ccproto.core.coverage import Coverage

__all__ = ["Finding", "Kind", "Report", "Severity"]


class Severity(enum.Enum):
    """How bad a finding is: errors fail validation, warnings do not (unless ``--strict``)."""

    ERROR = "error"
    WARNING = "warning"


class Kind(enum.Enum):
    """Which check found it."""

    #: Not a record, not JSON, or not a message of the protocol.
    DECODE = "decode"
    #: A message that breaks its schema.
    SCHEMA = "schema"
    #: A valid message in the wrong place: order, correlation, status rules.
    SEQUENCE = "sequence"
    #: What the capture holds or leaves out, not what the traffic did: a connection the capture joined
    #: mid-conversation, one the validator stopped tracking to stay within its bounds.
    CAPTURE = "capture"


@attrs.frozen(kw_only=True)
class Finding:
    """One thing wrong (or worth knowing) about one record.  Never holds a secret."""

    file: str
    record: int
    conn: str | None
    severity: Severity
    kind: Kind
    code: str
    path: str
    message: str
    #: Record numbers of earlier records this finding relates to (e.g. the request a response answers).
    related: tuple[int, ...] = ()
    #: A short excerpt of the message, secrets redacted ("" when there is nothing safe to show).
    excerpt: str = ""
    #: Where the record is in its source when its number alone does not say (HAR frame, stream frame).
    location: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as the ``--format json`` object has it."""
        return {
            "file": self.file,
            "record": self.record,
            "conn": self.conn,
            "severity": self.severity.value,
            "kind": self.kind.value,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "related": list(self.related),
            "excerpt": self.excerpt,
            "location": self.location,
        }


@attrs.define
class Report:
    """All findings of one validation run.

    A report may keep fewer findings than it counts (a live check keeps memory bounded, ``LiveCapture``'s
    ``max_findings``): ``dropped_errors`` and ``dropped_warnings`` count those not kept in ``findings``, and
    ``errors``, ``warnings`` and ``failed`` include them.
    """

    records: int = 0
    findings: list[Finding] = attrs.Factory(list)
    #: For each file, each connection seen and its protocol (for grouping the text report).
    connections: dict[str, dict[str, str | None]] = attrs.Factory(dict)
    #: What the captures exercised, when asked for (``--coverage``).
    coverage: Coverage | None = None
    #: Errors found but not kept in ``findings`` (counted all the same).
    dropped_errors: int = 0
    #: Warnings found but not kept in ``findings`` (counted all the same).
    dropped_warnings: int = 0

    @property
    def errors(self) -> int:
        """How many findings are errors (kept or not)."""
        return sum(f.severity is Severity.ERROR for f in self.findings) + self.dropped_errors

    @property
    def warnings(self) -> int:
        """How many findings are warnings (kept or not)."""
        return sum(f.severity is Severity.WARNING for f in self.findings) + self.dropped_warnings

    @property
    def dropped(self) -> int:
        """How many findings were counted but not kept in ``findings``."""
        return self.dropped_errors + self.dropped_warnings

    @property
    def failed(self) -> bool:
        """Whether any finding is an error, kept or not (exit status 1)."""
        return self.dropped_errors > 0 or any(f.severity is Severity.ERROR for f in self.findings)

    def drop(self, finding: Finding) -> None:
        """Count ``finding`` without keeping it (the caller keeps memory bounded)."""
        if finding.severity is Severity.ERROR:
            self.dropped_errors += 1
        else:
            self.dropped_warnings += 1

    def sort(self) -> None:
        """Findings in file order, then record order (each file's own order is kept)."""
        order = {file: index for index, file in enumerate(self.connections)}
        self.findings.sort(key=lambda f: (order.get(f.file, len(order)), f.record))

    def merge(self, other: Report) -> None:
        """Add another report's records, findings, counts not kept, connections and coverage (several files)."""
        self.records += other.records
        self.findings.extend(other.findings)
        self.dropped_errors += other.dropped_errors
        self.dropped_warnings += other.dropped_warnings
        for file, connections in other.connections.items():
            self.connections.setdefault(file, {}).update(connections)
        if other.coverage is not None:
            if self.coverage is None:
                self.coverage = Coverage()
            self.coverage.merge(other.coverage)

    def to_json(self, *, max_findings: int | None = None) -> dict[str, Any]:
        """The ``--format json`` object (``max_findings``: list only the first so many)."""
        shown = self.findings if max_findings is None else self.findings[:max_findings]
        result: dict[str, Any] = {
            # As defined by the first issue; fewer findings than errors + warnings means --max-findings cut them
            # or the report did not keep them all (dropped_errors, dropped_warnings: counted here all the same).
            "summary": {"records": self.records, "errors": self.errors, "warnings": self.warnings},
            "findings": [f.to_json() for f in shown],
        }
        if self.coverage is not None:
            result["coverage"] = self.coverage.to_json()
        return result
