"""Rendering a validation report: ``text`` for people, ``json`` for machines, ``junit`` for CI systems."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import groupby

from ccproto.core.coverage import Coverage
from ccproto.core.findings import Finding, Report, Severity

__all__ = ["FORMATS", "finding_lines", "render", "render_json", "render_junit", "render_text", "summary_line"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _shown(report: Report, max_findings: int | None) -> list[Finding]:
    return report.findings if max_findings is None else report.findings[:max_findings]


def _describe(finding: Finding) -> str:
    where = f" {finding.path}" if finding.path else ""
    related = " (see record " + ", ".join(map(str, finding.related)) + ")" if finding.related else ""
    return f"[{finding.kind.value}/{finding.code}]{where}: {finding.message}{related}"


def render_text(report: Report, *, max_findings: int | None = None, interrupted: bool = False) -> str:
    """Findings grouped by file and connection (each with an excerpt of its message), then a summary line.

    A report that did not keep every finding (``Report.dropped``) gets a line saying how many it counted
    but did not keep.

    ``interrupted``: the run was stopped before the end (Ctrl-C), so the summary line says ``INTERRUPTED``.
    """
    lines: list[str] = []
    shown = _shown(report, max_findings)
    file_order = {file: index for index, file in enumerate(report.connections)}
    by_place = sorted(shown, key=lambda f: (file_order.get(f.file, len(file_order)), f.file, f.conn or "", f.record))
    for file, in_file in groupby(by_place, key=lambda f: f.file):
        lines.append(file)
        protocols = report.connections.get(file, {})
        for conn, in_conn in groupby(in_file, key=lambda f: f.conn):
            protocol = protocols.get(conn) if conn is not None else None
            label = f"connection {conn!r}" if conn is not None else "(no connection)"
            lines.append(f"  {label}" + (f" ({protocol})" if protocol else ""))
            for finding in in_conn:
                lines.extend(finding_lines(finding))
    kept = " kept" if report.dropped else ""
    if len(shown) < len(report.findings):
        lines.append(f"(showing the first {len(shown)} of {len(report.findings)}{kept} findings: --max-findings)")
    if report.dropped:
        # Counted in the summary line, but not listed: say so, so that the listing does not read as complete.
        lines.append(
            f"({_plural(report.dropped, 'more finding')} ({_plural(report.dropped_errors, 'error')}, "
            f"{_plural(report.dropped_warnings, 'warning')}) counted but not kept: the report keeps the first "
            f"{len(report.findings)})"
        )
    if report.coverage is not None:
        lines.extend(_coverage_lines(report.coverage))
    lines.append(summary_line(report, interrupted=interrupted))
    return "\n".join(lines) + "\n"


def finding_lines(finding: Finding) -> list[str]:
    """The text report's lines for one finding (indented as under its connection)."""
    at = f" ({finding.location})" if finding.location else ""
    lines = [f"    record {finding.record}{at}: {finding.severity.value} {_describe(finding)}"]
    if finding.excerpt:
        lines.append(f"      > {finding.excerpt}")
    return lines


def summary_line(report: Report, *, interrupted: bool = False) -> str:
    """The text report's last line: ``OK`` or ``FAILED`` and the counts (``INTERRUPTED`` for a partial report)."""
    status = "INTERRUPTED" if interrupted else "FAILED" if report.errors else "OK"
    counts = (
        f"{_plural(report.records, 'record')}, {_plural(report.errors, 'error')}, "
        f"{_plural(report.warnings, 'warning')}"
    )
    # A partial report must not read as a verdict on the whole capture: say what it covers.
    return f"{status}: {counts} (stopped before the end: a partial report)" if interrupted else f"{status}: {counts}"


def _coverage_lines(coverage: Coverage) -> list[str]:
    lines = ["protocol coverage (what the capture exercised; only records the protocol accepted count):"]
    if not coverage.protocols:
        lines.append("  no protocol traffic")
    for protocol in sorted(coverage.protocols):
        lines.append(f"  {protocol}")
        for category, labels in coverage.protocols[protocol].universe.items():
            exercised = coverage.protocols[protocol].exercised(category)
            missed = coverage.protocols[protocol].missed(category)
            lines.append(f"    {category}: {len(labels) - len(missed)} of {len(labels)} exercised")
            lines.extend(f"      + {label} ({count})" for label, count in exercised)
            lines.extend(f"      - {label} (never)" for label in missed)
    return lines


def render_json(report: Report, *, max_findings: int | None = None, interrupted: bool = False) -> str:
    """Exactly one JSON object: ``{"summary": {...}, "findings": [...]}`` (and ``"coverage"`` if collected).

    ``interrupted``: a partial report of a run stopped before the end, marked ``"interrupted": true``.
    """
    value = report.to_json(max_findings=max_findings)
    if interrupted:  # only then: a complete report keeps the shape it always had
        value["interrupted"] = True
    return json.dumps(value, indent=2) + "\n"


# XML 1.0 allows no control characters but tab, newline and carriage return (nor surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold written as a ``\\uXXXX`` escape."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _junit_text(finding: Finding) -> str:
    at = f" ({finding.location})" if finding.location else ""
    text = f"record {finding.record}{at}: {_describe(finding)}"
    return text + (f"\n> {finding.excerpt}" if finding.excerpt else "")


def render_junit(report: Report, *, max_findings: int | None = None, interrupted: bool = False) -> str:
    """JUnit XML: a test suite per file, a test case per connection, one ``<failure>`` per failed test case.

    A test case fails once however many errors its connection has, so ``failures`` never exceeds ``tests``
    (what CI systems expect): the failure's message is the first error (and how many more), its text every
    error.  Warnings go to the test case's ``<system-out>``; findings that belong to no connection (lines
    that are not records) to a test case named ``(no connection)``.  ``max_findings`` limits the findings
    written, as for the other formats.  ``interrupted``: a partial report of a run stopped before the end,
    marked by the property ``interrupted`` = ``true`` on every test suite (a suite named ``(interrupted)`` when
    no file was reached).
    """
    shown = _shown(report, max_findings)
    root = ET.Element("testsuites", name="ccproto validate")
    files = list(report.connections) + sorted({f.file for f in shown} - set(report.connections))
    if interrupted and not files:
        files = ["(interrupted)"]  # a suite to carry the mark: XSDs allow properties on suites only
    total_tests = total_failures = 0
    for file in files:
        in_file = [f for f in shown if f.file == file]
        by_conn: dict[str | None, list[Finding]] = {conn: [] for conn in report.connections.get(file, {})}
        for finding in in_file:
            by_conn.setdefault(finding.conn, []).append(finding)
        failures = sum(any(f.severity is Severity.ERROR for f in found) for found in by_conn.values())
        suite = ET.SubElement(root, "testsuite", name=xml_safe(file), tests=str(len(by_conn)),
                              failures=str(failures), errors="0")
        if interrupted:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="interrupted", value="true")
        total_tests += len(by_conn)
        total_failures += failures
        protocols = report.connections.get(file, {})
        for conn, findings in by_conn.items():
            protocol = protocols.get(conn) if conn is not None else None
            name = conn if conn is not None else "(no connection)"
            case = ET.SubElement(suite, "testcase", classname=xml_safe(f"{file}.{protocol or 'capture'}"),
                                 name=xml_safe(name))
            errors = [f for f in findings if f.severity is Severity.ERROR]
            if errors:
                first = errors[0]
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                failure = ET.SubElement(case, "failure", message=xml_safe(f"record {first.record}: "
                                        f"{first.message}{more}"), type=xml_safe(first.code))
                failure.text = xml_safe("\n".join(_junit_text(f) for f in errors))
            notes = [f"warning {_junit_text(f)}" for f in findings if f.severity is not Severity.ERROR]
            if notes:
                ET.SubElement(case, "system-out").text = xml_safe("\n".join(notes))
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


FORMATS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json, "junit": render_junit}


def render(report: Report, fmt: str, *, max_findings: int | None = None, interrupted: bool = False) -> str:
    """Render ``report`` in format ``fmt`` (a key of :data:`FORMATS`); ``interrupted`` marks a partial report."""
    return FORMATS[fmt](report, max_findings=max_findings, interrupted=interrupted)
