"""What `ccproto validate` must find in the bundled sample captures, and helpers to read reports (shared by the
capture and CLI tests)."""

from ccproto.capture.findings import Finding, Report, Severity

#: (record, kind, code) of every error in examples/captures/bridge-faulty.jsonl.
FAULTY_ERRORS = {
    # createsession before the client's first status report
    (2, "sequence", "unexpected-message"),
    # channel-groups-supported "false" (a string) and channel-groups-max-per-agent -1
    (6, "schema", "schema-violation"),
    # answers requestId ...063, which was never asked
    (7, "sequence", "unknown-correlation-id"),
    # "cti.request. createsession" (with a space)
    (9, "schema", "unknown-message"),
    # createsession SUCCESS while the last reported status is pausing-service
    (11, "sequence", "session-while-not-in-service"),
    # stopping-service -> in-service
    (13, "sequence", "invalid-status-transition"),
    # a status event after dispose was answered
    (17, "sequence", "unexpected-message"),
}

#: The records those errors name.
FAULTY_ERROR_RECORDS = {record for record, _, _ in FAULTY_ERRORS}

#: (record, kind, code) of every error in examples/captures/processor-faulty.jsonl.
PROCESSOR_FAULTY_ERRORS = {
    # confirm answering a prepareSession whose override is true (record 1)
    (2, "sequence", "answer-not-allowed"),
    # a team-status event before report.teamstatus.begin succeeded
    (5, "sequence", "report-not-active"),
    # memberType "Manager"
    (7, "schema", "schema-violation"),
    # a failure whose original names another CallId than request 8
    (9, "sequence", "original-mismatch"),
    # a team-status event after report.teamstatus.end succeeded (record 11)
    (12, "sequence", "report-not-active"),
    # a getCapabilities success with nothing outstanding
    (13, "sequence", "no-outstanding-request"),
    # prepareSession with override "false" (a string); the failure answering it (record 15) is fine
    (14, "schema", "schema-violation"),
    # a success whose resource.data differs from request 16's data
    (17, "sequence", "resource-data-mismatch"),
    # the client sends an event
    (18, "sequence", "unexpected-message"),
    # memberremoved with no members
    (19, "schema", "schema-violation"),
}

#: The records those errors name.
PROCESSOR_FAULTY_ERROR_RECORDS = {record for record, _, _ in PROCESSOR_FAULTY_ERRORS}


# -- reading reports (shared by the capture tests) ----------------------------------------------

Triple = tuple[int, str, str]


def triples(report: Report, severity: Severity | None = None) -> set[Triple]:
    """(record, kind, code) of every finding (of one severity)."""
    return {
        (f.record, f.kind.value, f.code)
        for f in report.findings
        if severity is None or f.severity is severity
    }


def errors(report: Report) -> set[Triple]:
    """(record, kind, code) of every error."""
    return triples(report, Severity.ERROR)


def warnings(report: Report) -> set[Triple]:
    """(record, kind, code) of every warning."""
    return triples(report, Severity.WARNING)


def by_record(report: Report, number: int) -> list[Finding]:
    """The findings of one record."""
    return [f for f in report.findings if f.record == number]
