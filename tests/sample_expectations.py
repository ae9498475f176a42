"""What `ccproto validate` must find in the bundled sample captures (shared by the capture and CLI tests)."""

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
