"""What validation reports: findings and the report that collects them."""

from __future__ import annotations

import enum
from typing import Any

import attrs

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
        }


@attrs.define
class Report:
    """All findings of one validation run."""

    records: int = 0
    findings: list[Finding] = attrs.Factory(list)
    #: For each file, each connection seen and its protocol (for grouping the text report).
    connections: dict[str, dict[str, str | None]] = attrs.Factory(dict)

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        """How many findings are warnings."""
        return sum(f.severity is Severity.WARNING for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` object."""
        return {
            "summary": {"records": self.records, "errors": self.errors, "warnings": self.warnings},
            "findings": [f.to_json() for f in self.findings],
        }
