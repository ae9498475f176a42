"""What `ccproto validate` must find in the bundled sample captures, and helpers to read reports (shared by the
capture and CLI tests)."""

from ccproto.core.findings import Finding, Report, Severity

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
    # a getCapabilities success with nothing outstanding (record 13): getCapabilities was never requested and
    # it comes 6 s after the capture's first record, so it may answer a request from before the capture began:
    # with no open record, the capture may have joined the connection mid-conversation (named on record 13)
    (13, "capture", "joined-mid-conversation"),
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


#: (record, kind, code) of every error in examples/captures/cceb-faulty.jsonl (one error a record).
CCEB_FAULTY_ERRORS = {
    # conn f1: an action before the hello: with no open record, read as a capture that joined the connection
    # after its hello (an error unless --partial)
    (1, "capture", "joined-mid-conversation"),
    # conn f2: a hello_reply that does not repeat the hello's uuid (record 2)
    (3, "sequence", "wrong-uuid"),
    # conn f3: a notification between the hello and its hello_reply
    (5, "sequence", "out-of-order"),
    # conn f4: an action with the reserved field tenantGuid ...
    (9, "schema", "reserved-field"),
    # ... which the CCEB acks although it had to refuse it
    (10, "sequence", "acked-refused-action"),
    # destinationAgentGuid: a client sends destinationAgentContactId instead
    (11, "schema", "reserved-field"),
    # FlyToTheMoonEvent is not a supported action
    (12, "schema", "unsupported-action"),
    # the client acks a uuid that no notification has
    (13, "sequence", "unknown-uuid"),
    # the client acks the presence notification of record 14 a second time
    (16, "sequence", "already-acked"),
    # a call_leg reusing the uuid of record 17 while it is still unacked
    (18, "sequence", "uuid-in-flight"),
    # phone_validation answered with a timeout (only offering carries one); acked without a second error
    (20, "schema", "schema-violation"),
    # phone_validation verified with no validation offered (idle -> verified)
    (22, "sequence", "phone-validation-transition"),
    # off_hook status with a timeout (only offering carries one)
    (24, "schema", "schema-violation"),
    # agent_phone_update recording_controls 3 (0, 1 or 2)
    (26, "schema", "schema-violation"),
    # provisioning QueueDeletedEvent with a member besides its ids
    (28, "schema", "schema-violation"),
    # a second hello on an open connection
    (32, "sequence", "out-of-order"),
    # conn f6: key one, issued on f5 (record 34) which closed 5 h before (record 35), not resumed
    (37, "sequence", "session-not-resumed"),
    # conn f7: key two, issued on f6 (record 37) which closed 72 h 0 min 1 s before (record 38), resumed
    (40, "sequence", "session-expired-resumed"),
    # conn f8: the hello asked for a long-lived session (record 41) but hello_reply has no session_key
    (42, "sequence", "session-key"),
}

#: The records those errors name.
CCEB_FAULTY_ERROR_RECORDS = {record for record, _, _ in CCEB_FAULTY_ERRORS}

#: (record, kind, code) of the one warning in examples/captures/cceb-faulty.jsonl: a notification type no
#: registry knows (acme_whisper).
CCEB_FAULTY_WARNINGS = {(30, "schema", "unknown-notification")}
#: The warning the cut leaves: f1's action (record 1), read as in a joined connection, is never acked.
CCEB_FAULTY_CUT_WARNINGS = {(1, "sequence", "unanswered-request")}


#: (record, kind, code) of every error in examples/captures/cct-faulty.har (made by tools/cct_samples.py): each
#: capture duty of ccproto.cct.duties.Duty broken once.
CCT_FAULTY_ERRORS = {
    # an Unsubscribe sent before its replacement's Subscribe (record 11)
    (9, "sequence", "old-subscription-dropped-first"),
    # a probe 660 s after the previous one, with only GetVersion between them
    (19, "sequence", "getversion-only-keep-alive"),
    # a probe 660 s after the previous one, nothing between them, two subscriptions held
    (23, "sequence", "session-silent-past-timeout"),
    # a probe after the SessionNotCreatedException of record 26, before a new login
    (27, "sequence", "call-without-session"),
    # the re-login answered in record 30 re-subscribes one listener of two
    (30, "sequence", "not-resubscribed"),
}
#: The one warning: the last session is held when the capture ends (it may have been cut).
CCT_FAULTY_WARNINGS = {(36, "sequence", "session-not-logged-off")}


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
