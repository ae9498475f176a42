"""Rendering a validation report: ``text`` for people, ``json`` for machines."""

from __future__ import annotations

import json
from itertools import groupby

from ccproto.capture.findings import Report

__all__ = ["FORMATS", "render"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_text(report: Report) -> str:
    """Findings grouped by file and connection, then a summary line."""
    lines: list[str] = []
    by_place = sorted(report.findings, key=lambda f: (f.file, f.conn or "", f.record))
    for file, in_file in groupby(by_place, key=lambda f: f.file):
        lines.append(file)
        protocols = report.connections.get(file, {})
        for conn, in_conn in groupby(in_file, key=lambda f: f.conn):
            protocol = protocols.get(conn) if conn is not None else None
            label = f"connection {conn!r}" if conn is not None else "(no connection)"
            lines.append(f"  {label}" + (f" ({protocol})" if protocol else ""))
            for finding in in_conn:
                where = f" {finding.path}" if finding.path else ""
                related = (
                    " (see record " + ", ".join(map(str, finding.related)) + ")" if finding.related else ""
                )
                lines.append(
                    f"    record {finding.record}: {finding.severity.value} "
                    f"[{finding.kind.value}/{finding.code}]{where}: {finding.message}{related}"
                )
    status = "FAILED" if report.errors else "OK"
    lines.append(
        f"{status}: {_plural(report.records, 'record')}, {_plural(report.errors, 'error')}, "
        f"{_plural(report.warnings, 'warning')}"
    )
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """Exactly one JSON object: ``{"summary": {...}, "findings": [...]}``."""
    return json.dumps(report.to_json(), indent=2) + "\n"


FORMATS = {"text": render_text, "json": render_json}


def render(report: Report, fmt: str) -> str:
    """Render ``report`` in format ``fmt`` (a key of :data:`FORMATS`)."""
    return FORMATS[fmt](report)
