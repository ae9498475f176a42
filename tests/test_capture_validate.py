"""The capture validator: ``validate_records`` and ``validate_files``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccproto.capture import Kind, Report, Severity, read_jsonl, render, validate_files, validate_records
from ccproto.capture.validator import CHECKERS
from sample_expectations import FAULTY_ERRORS, by_record, errors, triples, warnings

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = EXAMPLES / "bridge-clean.jsonl"
FAULTY = EXAMPLES / "bridge-faulty.jsonl"
# FAULTY_ERRORS: see sample_expectations.py

TARGET = "Acme1.CONTROL"
CANARY = "hunter2-canary"
NUMBER_SECRET = 987654321

CAPS_BODY = {
    "channel-groups-supported": True,
    "channel-groups-max-per-agent": 2,
    "channel-groups-media-types": "voice,chat",
    "single-channels-supported": True,
    "single-channels-media-types": "voice,chat,email",
}



# -- building captures ---------------------------------------------------------------------


def guid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012d}"


def request(name: str, n: int, body: dict[str, Any] | None = None, *, target: str = TARGET) -> dict[str, Any]:
    """A query (cti.query.*) or request (cti.request.*) with requestId guid(n)."""
    type_ = "cti.query" if name.startswith("cti.query.") else "cti.request"
    return {
        "header": {"type": type_, "name": name, "target": target, "requestId": guid(n)},
        "body": body or {},
    }


def response(
    name: str, n: int, body: dict[str, Any] | None = None, *, result: str = "SUCCESS", target: str = TARGET,
    **header: Any,
) -> dict[str, Any]:
    return {
        "header": {"type": "cti.response", "name": name, "target": target, "requestId": guid(n), "result": result,
                   **header},
        "body": body or {},
    }


def event(status: str) -> dict[str, Any]:
    return {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"}, "body": {"status": status}}


def server(message: Any, **fields: Any) -> dict[str, Any]:
    return {"from": "server", "message": message, **fields}


def client(message: Any, **fields: Any) -> dict[str, Any]:
    return {"from": "client", "message": message, **fields}


def clean_session(**fields: Any) -> list[dict[str, Any]]:
    """A complete, valid conversation (9 records); ``fields`` go into every record."""
    return [
        server(request("cti.request.serverstatus", 1), **fields),
        client(response("cti.request.serverstatus", 1), **fields),
        client(event("in-service"), **fields),
        server(request("cti.query.capabilities", 2), **fields),
        client(response("cti.query.capabilities", 2, CAPS_BODY), **fields),
        server(request("cti.request.createsession", 3, {
            "agentId": "ada", "agentPassword": CANARY, "sessionId": "s1", "destination": "Acme1.ada.s1",
        }), **fields),
        client(response("cti.request.createsession", 3), **fields),
        server(request("cti.request.dispose", 4), **fields),
        client(response("cti.request.dispose", 4), **fields),
    ]


def write_capture(tmp_path: Path, records: list[Any], name: str = "capture.jsonl") -> Path:
    """Write records (dicts become JSON lines, strings are written as they are) to a capture file."""
    path = tmp_path / name
    lines = [item if isinstance(item, str) else json.dumps(item) for item in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check(tmp_path: Path, records: list[Any], *, strict: bool = False) -> Report:
    return validate_files([write_capture(tmp_path, records)], strict=strict)










def assert_no_secret(report: Report) -> None:
    for finding in report.findings:
        for text in (finding.message, finding.path, finding.code, str(finding.conn)):
            assert CANARY not in text
            assert str(NUMBER_SECRET) not in text
    for fmt in ("text", "json"):
        output = render(report, fmt)
        assert CANARY not in output
        assert str(NUMBER_SECRET) not in output


# -- the samples -----------------------------------------------------------------------------


def test_clean_sample_has_no_errors_and_one_alternate_spelling_warning() -> None:
    report = validate_files([CLEAN])
    assert report.records == 16
    assert report.errors == 0
    assert report.warnings == 1
    [finding] = report.findings
    assert finding.record == 2
    assert finding.severity is Severity.WARNING
    assert finding.kind is Kind.SCHEMA
    assert finding.code == "alternate-spelling"
    assert finding.path == "/header/cti.result"
    assert "'cti.result'" in finding.message
    assert finding.conn == "bridge-1"
    assert finding.file == str(CLEAN)
    assert report.connections == {str(CLEAN): {"bridge-1": "bridge"}}




def test_faulty_sample_errors_are_exactly_the_known_ones() -> None:
    report = validate_files([FAULTY])
    assert report.records == 17
    assert errors(report) == FAULTY_ERRORS
    assert {f.record for f in report.findings if f.severity is Severity.ERROR} == {2, 6, 7, 9, 11, 13, 17}
    assert report.errors == 8  # record 6 has two violations
    assert all(f.conn == "bridge-1" and f.file == str(FAULTY) for f in report.findings)


def test_faulty_sample_warns_about_the_two_unanswered_queries() -> None:
    report = validate_files([FAULTY])
    assert warnings(report) == {(5, "sequence", "unanswered-request"), (14, "sequence", "unanswered-request")}
    assert report.warnings == 2
    [five] = by_record(report, 5)
    assert guid(3) in five.message
    assert "cti.query.capabilities" in five.message
    [fourteen] = [f for f in by_record(report, 14) if f.severity is Severity.WARNING]
    assert guid(5) in fourteen.message
    assert "cti.query.agentinfo" in fourteen.message


def test_faulty_sample_details() -> None:
    report = validate_files([FAULTY])
    six = sorted((f.path, f.message) for f in by_record(report, 6))
    assert six == [
        ("/body/channel-groups-max-per-agent", "must be >= 0"),
        ("/body/channel-groups-supported", "expected boolean, got string"),  # the decoder's words where it stopped
    ]
    [nine] = by_record(report, 9)
    assert "did you mean 'cti.request.createsession'?" in nine.message
    [eleven] = by_record(report, 11)
    assert eleven.related == (8,)
    assert "pausing-service" in eleven.message
    [thirteen] = by_record(report, 13)
    assert thirteen.path == "/body/status"
    assert "'stopping-service' to 'in-service'" in thirteen.message
    [seventeen] = by_record(report, 17)
    assert "CLOSED" in seventeen.message


def test_faulty_sample_hides_its_passwords() -> None:
    report = validate_files([FAULTY])
    for fmt in ("text", "json"):
        assert "hunter2" not in render(report, fmt)


def test_findings_are_sorted_by_record() -> None:
    report = validate_files([FAULTY])
    numbers = [f.record for f in report.findings]
    assert numbers == sorted(numbers)


def test_strict_turns_the_alternate_spelling_into_an_error() -> None:
    report = validate_files([CLEAN], strict=True)
    assert report.errors == 1
    assert report.warnings == 0
    assert errors(report) == {(2, "schema", "alternate-spelling")}


def test_strict_does_not_touch_unanswered_request_warnings() -> None:
    report = validate_files([FAULTY], strict=True)
    assert warnings(report) == {(5, "sequence", "unanswered-request"), (14, "sequence", "unanswered-request")}
    assert errors(report) == FAULTY_ERRORS


def test_validate_records_takes_records_directly() -> None:
    with CLEAN.open(encoding="utf-8") as handle:
        report = validate_records(read_jsonl(handle, file="clean"))
    assert report.records == 16
    assert warnings(report) == {(2, "schema", "alternate-spelling")}
    assert report.errors == 0


def test_validate_records_adds_to_a_given_report() -> None:
    report = Report()
    with FAULTY.open(encoding="utf-8") as handle:
        returned = validate_records(read_jsonl(handle, file="faulty"), report=report)
    assert returned is report
    assert report.records == 17
    assert errors(report) == FAULTY_ERRORS


def test_several_files_add_up() -> None:
    report = validate_files([FAULTY, CLEAN])
    assert report.records == 33
    assert report.errors == 8
    assert report.warnings == 3
    # Files in the order given, each file's findings in record order.
    files = [f.file for f in report.findings]
    assert files == sorted(files, key=[str(FAULTY), str(CLEAN)].index)
    assert list(report.connections) == [str(FAULTY), str(CLEAN)]


# -- a small capture -----------------------------------------------------------------------------


def test_a_clean_session_gives_no_findings(tmp_path: Path) -> None:
    report = check(tmp_path, clean_session(protocol="bridge", conn="c1"))
    assert report.findings == []
    assert report.records == 9


def test_raw_text_is_decoded_like_message(tmp_path: Path) -> None:
    records = [
        {k: v for k, v in rec.items() if k != "message"} | {"raw": json.dumps(rec["message"])}
        for rec in clean_session(protocol="bridge")
    ]
    assert check(tmp_path, records).findings == []


def test_raw_and_message_give_the_same_findings(tmp_path: Path) -> None:
    with_message = [json.loads(text) for text in FAULTY.read_text(encoding="utf-8").splitlines()]
    with_raw = [
        {k: v for k, v in rec.items() if k != "message"} | {"raw": json.dumps(rec["message"])} for rec in with_message
    ]
    one = validate_files([write_capture(tmp_path, with_message, "message.jsonl")])
    other = validate_files([write_capture(tmp_path, with_raw, "raw.jsonl")])

    def key(report: Report) -> list[tuple[Any, ...]]:
        return [(f.record, f.severity, f.kind, f.code, f.path, f.message, f.related) for f in report.findings]

    assert key(one) == key(other)
    assert errors(other) == FAULTY_ERRORS


def test_raw_without_protocol_is_detected(tmp_path: Path) -> None:
    records = [
        {"from": rec["from"], "raw": json.dumps(rec["message"])} for rec in clean_session()
    ]
    report = check(tmp_path, records)
    assert report.findings == []
    assert next(iter(report.connections.values())) == {"default": "bridge"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"header": {"type": "cti.request"', id="truncated"),
        pytest.param("not json at all", id="words"),
        pytest.param("", id="empty"),
        pytest.param("[1, 2]", id="array"),
        pytest.param('"a string"', id="string"),
    ],
)
def test_raw_text_that_is_not_a_json_object_is_a_decode_error(tmp_path: Path, raw: str) -> None:
    records = clean_session(protocol="bridge")
    records.insert(3, {"from": "client", "protocol": "bridge", "raw": raw})
    report = check(tmp_path, records)
    assert errors(report) == {(4, "decode", "decode-error")}
    assert report.warnings == 0


@pytest.mark.parametrize("message", [None, 5, "text", [1]], ids=["null", "number", "string", "list"])
def test_a_message_that_is_not_an_object_is_a_decode_error(tmp_path: Path, message: Any) -> None:
    records = clean_session(protocol="bridge")
    records.insert(3, client(message, protocol="bridge"))
    report = check(tmp_path, records)
    assert errors(report) == {(4, "decode", "decode-error")}


def test_bad_records_are_reported_and_skipped(tmp_path: Path) -> None:
    records: list[Any] = clean_session(protocol="bridge")
    records.insert(2, "{not json")
    records.insert(5, {"from": "nobody", "message": {}})
    report = check(tmp_path, records)
    assert errors(report) == {(3, "decode", "bad-record"), (6, "decode", "bad-record")}
    assert report.records == 11
    [three] = by_record(report, 3)
    assert three.conn is None
    assert three.message.startswith("line is not valid JSON: Expecting property name")


def test_blank_lines_keep_record_numbers(tmp_path: Path) -> None:
    records: list[Any] = clean_session(protocol="bridge")
    records.insert(0, "")
    records.insert(2, "   ")
    records.insert(4, client(event("in-service")))  # the status re-announced: fine
    records.append(client(event("in-service")))  # after dispose was answered: an error on line 13
    report = check(tmp_path, records)
    assert errors(report) == {(13, "sequence", "unexpected-message")}
    assert report.records == 11


def test_every_missing_member_is_named(tmp_path: Path) -> None:
    # jsonschema reports one `required` error per missing member; each finding should name its own member.
    records = clean_session(protocol="bridge")
    records[5]["message"]["body"] = {"agentPassword": CANARY}  # no agentId, sessionId, destination
    report = check(tmp_path, records)
    found = sorted((f.path, f.message) for f in by_record(report, 6))
    assert found == [
        ("/body/agentId", "missing required member 'agentId'"),
        ("/body/destination", "missing required member 'destination'"),
        ("/body/sessionId", "missing required member 'sessionId'"),
    ]


# -- connections ---------------------------------------------------------------------------------


def interleave(a: list[Any], b: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(max(len(a), len(b))):
        out.extend(part[i] for part in (a, b) if i < len(part))
    return out


def test_interleaved_clean_connections_are_independent(tmp_path: Path) -> None:
    # Both connections use the same requestIds: correlation is per connection.
    records = interleave(clean_session(conn="a", protocol="bridge"), clean_session(conn="b"))
    report = check(tmp_path, records)
    assert report.findings == []
    assert report.records == 18
    assert next(iter(report.connections.values())) == {"a": "bridge", "b": "bridge"}


def test_an_error_in_one_connection_does_not_affect_the_other(tmp_path: Path) -> None:
    a = clean_session(conn="a", protocol="bridge")
    b = clean_session(conn="b", protocol="bridge")
    # Connection b answers its capabilities query twice and drops the status report.
    b.insert(5, b[4])
    del b[2]
    records = interleave(a, b)
    report = check(tmp_path, records)
    assert report.errors >= 1
    assert {f.conn for f in report.findings} == {"b"}
    lines = {n: rec for n, rec in enumerate(records, start=1)}
    for finding in report.findings:
        assert lines[finding.record].get("conn") == "b"


def test_a_pending_request_on_one_connection_is_not_answered_by_another(tmp_path: Path) -> None:
    a = clean_session(conn="a", protocol="bridge")
    b = clean_session(conn="b", protocol="bridge")
    # a's capabilities response moves to b: a's query stays pending, b gets a second answer.
    moved = a.pop(4) | {"conn": "b"}
    b.insert(5, moved)
    records = a + b
    report = check(tmp_path, records)
    assert warnings(report) == {(4, "sequence", "unanswered-request")}
    assert {(f.conn, f.code) for f in report.findings} == {
        ("a", "unanswered-request"),
        ("b", "unknown-correlation-id"),
    }


def test_protocol_is_detected_from_the_shape(tmp_path: Path) -> None:
    report = check(tmp_path, clean_session(conn="c"))
    assert report.findings == []
    assert next(iter(report.connections.values())) == {"c": "bridge"}


def test_detected_bridge_connection_is_checked(tmp_path: Path) -> None:
    records = clean_session()
    del records[0]  # no serverstatus request: the capture joined the connection mid-conversation
    report = check(tmp_path, records)
    assert errors(report) == {(1, "capture", "joined-mid-conversation")}
    records.insert(0, {"from": "client", "open": {}})  # it did not: the bridge skipped its first request
    report = check(tmp_path, records)
    assert (2, "sequence", "unexpected-message") in errors(report)


#: Every checker but cceb's: cceb then stands for a protocol ccproto does not check.
WITHOUT_CCEB = {k: v for k, v in CHECKERS.items() if k != "cceb"}


@pytest.mark.parametrize(
    ("protocol", "messages", "expected"),
    [
        pytest.param(None, [{"type": "ack"}, {"type": "event", "uuid": "u1"}, {"type": "ack"}], "cceb", id="cceb"),
        pytest.param("cceb", [{"header": {}, "body": {}}, [1, 2]], "cceb", id="cceb-given"),
    ],
)
def test_unchecked_protocols_give_one_warning(
    tmp_path: Path, protocol: str | None, messages: list[Any], expected: str
) -> None:
    extra = {"protocol": protocol} if protocol else {}
    records = [client(m, conn="p", **extra) for m in messages]
    report = validate_files([write_capture(tmp_path, records)], checkers=WITHOUT_CCEB)
    assert report.errors == 0
    assert triples(report) == {(1, "decode", "protocol-not-checked")}
    assert report.warnings == 1
    assert next(iter(report.connections.values())) == {"p": expected}


def test_an_unchecked_connection_next_to_a_bridge_one(tmp_path: Path) -> None:
    bridge = clean_session(conn="b")
    other = [client({"type": "hello", "uuid": "u1", "data": {}}, conn="p"), server({"type": "ack"}, conn="p")]
    report = validate_files([write_capture(tmp_path, interleave(bridge, other))], checkers=WITHOUT_CCEB)
    assert triples(report) == {(2, "decode", "protocol-not-checked")}


def test_an_undetectable_message_gives_unknown_protocol(tmp_path: Path) -> None:
    records = [client({"hello": "world"}, conn="u"), client({"hello": "again"}, conn="u")]
    report = check(tmp_path, records)
    # Each undetectable record is reported: one bad record must not silence the rest of its connection.
    assert errors(report) == {(1, "decode", "unknown-protocol"), (2, "decode", "unknown-protocol")}
    assert report.errors == 2
    assert "protocol" in report.findings[0].message
    assert next(iter(report.connections.values())) == {"u": None}


def test_an_undetectable_first_record_does_not_hide_the_rest_of_the_connection(tmp_path: Path) -> None:
    records = clean_session(conn="c")
    records.insert(0, {"from": "server", "conn": "c", "raw": "{nope"})
    records.append(client({"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                           "body": {"status": "in-service"}}, conn="c"))
    report = check(tmp_path, records)
    assert (1, "decode", "unknown-protocol") in errors(report)
    # The event after dispose was answered is still caught on the same connection.
    assert (len(records), "sequence", "unexpected-message") in errors(report)


def test_unparseable_raw_first_gives_unknown_protocol(tmp_path: Path) -> None:
    report = check(tmp_path, [{"from": "server", "raw": "{nope"}])
    assert errors(report) == {(1, "decode", "unknown-protocol")}


def test_a_record_with_another_protocol_is_protocol_changed(tmp_path: Path) -> None:
    records = clean_session(conn="c", protocol="bridge")
    records.insert(4, client({"type": "ack"}, conn="c", protocol="cceb"))
    report = check(tmp_path, records)
    assert errors(report) == {(5, "decode", "protocol-changed")}
    [finding] = report.findings
    assert "'cceb'" in finding.message
    assert "'bridge'" in finding.message


def test_protocol_changed_record_is_not_fed_to_the_state_machine(tmp_path: Path) -> None:
    records = clean_session(conn="c", protocol="bridge")
    # A valid bridge answer, mislabelled: skipped, so the query stays pending and the real answer is fine.
    records.insert(4, client(response("cti.query.capabilities", 2, CAPS_BODY), conn="c", protocol="processor"))
    report = check(tmp_path, records)
    assert errors(report) == {(5, "decode", "protocol-changed")}


# -- keeping going and the sequence rules -------------------------------------------------------------


def test_the_validator_keeps_going_after_errors(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(0, client(event("in-service")))  # before the channel was opened
    records.insert(3, client(response("cti.query.capabilities", 9, CAPS_BODY)))  # answers nothing
    records.insert(6, client({"header": {"type": "cti.response"}, "body": {}}))  # schema
    records.append(server(request("cti.query.capabilities", 5)))  # after close
    records.insert(0, {"from": "client", "open": {}})  # the capture holds the connection from its start
    report = check(tmp_path, records)
    assert errors(report) == {
        (2, "sequence", "unexpected-message"),
        (5, "sequence", "unknown-correlation-id"),
        (8, "schema", "schema-violation"),
        (14, "sequence", "unexpected-message"),
    }


def test_pending_requests_at_the_end_are_warnings(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")[:6]  # cut after the createsession request
    report = check(tmp_path, records)
    assert report.errors == 0
    assert triples(report) == {(6, "sequence", "unanswered-request")}
    [finding] = report.findings
    assert finding.severity is Severity.WARNING
    assert guid(3) in finding.message
    assert "cti.request.createsession" in finding.message


def test_several_pending_requests_each_warn(tmp_path: Path) -> None:
    records = [
        server(request("cti.request.serverstatus", 1)),
        server(request("cti.query.capabilities", 2)),
        server(request("cti.request.validateagentcredentials", 3, {
            "agentId": "a", "agentLogin": "a", "agentPassword": CANARY,
        })),
    ]
    report = check(tmp_path, records)
    assert report.errors == 0
    assert warnings(report) == {(n, "sequence", "unanswered-request") for n in (1, 2, 3)}
    assert_no_secret(report)


def test_a_second_answer_is_an_error(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(5, records[4])  # the capabilities response again
    report = check(tmp_path, records)
    assert errors(report) == {(6, "sequence", "unknown-correlation-id")}
    [finding] = report.findings
    assert "already answered" in finding.message
    assert guid(2) in finding.message
    assert finding.path == "/header/requestId"


def test_an_answer_to_nothing_says_so(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(5, client(response("cti.query.capabilities", 77, CAPS_BODY)))
    report = check(tmp_path, records)
    assert errors(report) == {(6, "sequence", "unknown-correlation-id")}
    assert "names no outstanding request" in report.findings[0].message


def test_a_response_with_the_wrong_name_is_mismatched(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    # answers the capabilities query (record 4) as if it were serverstatus
    records[4] = client(response("cti.request.serverstatus", 2))
    report = check(tmp_path, records)
    assert errors(report) == {(5, "sequence", "mismatched-response")}
    assert warnings(report) == {(4, "sequence", "unanswered-request")}
    [finding] = [f for f in report.findings if f.severity is Severity.ERROR]
    assert finding.path == "/header/name"
    assert finding.related == (4,)
    assert "cti.query.capabilities" in finding.message


def test_a_failure_with_the_wrong_name_is_mismatched(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[4] = client(response("cti.query.agentinfo", 2, result="FAILURE", errorMessage="nope"))
    report = check(tmp_path, records)
    assert (5, "sequence", "mismatched-response") in errors(report)


def test_a_response_to_the_wrong_target_is_mismatched(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[4] = client(response("cti.query.capabilities", 2, CAPS_BODY, target="Other.CONTROL"))
    report = check(tmp_path, records)
    assert errors(report) == {(5, "sequence", "mismatched-response")}
    assert by_record(report, 5)[0].path == "/header/target"


def test_a_mismatched_response_leaves_the_request_open(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(4, client(response("cti.request.serverstatus", 2)))  # wrong name first, then the right answer
    report = check(tmp_path, records)
    assert triples(report) == {(5, "sequence", "mismatched-response")}


def test_a_reused_outstanding_request_id_is_a_duplicate(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(4, server(request("cti.query.capabilities", 2)))
    report = check(tmp_path, records)
    assert errors(report) == {(5, "sequence", "duplicate-correlation-id")}


def test_a_message_in_the_wrong_direction(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records.insert(3, client(request("cti.query.capabilities", 8)))
    report = check(tmp_path, records)
    assert errors(report) == {(4, "sequence", "unexpected-message")}
    assert "never sends" in report.findings[0].message


def test_createsession_success_needs_in_service(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[2] = client(event("starting-service"))
    report = check(tmp_path, records)
    assert errors(report) == {(7, "sequence", "session-while-not-in-service")}
    assert by_record(report, 7)[0].related == (6,)


def test_createsession_failure_is_fine_while_not_in_service(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[2] = client(event("starting-service"))
    records[6] = client(response("cti.request.createsession", 3, result="FAILURE", errorMessage="not in service"))
    assert check(tmp_path, records).findings == []


# -- secrets ----------------------------------------------------------------------------------------


def secret_capture() -> list[Any]:
    wrong_type = request("cti.request.createsession", 10, {
        "agentId": "a", "agentPassword": NUMBER_SECRET, "sessionId": "s", "destination": "d",
    })
    wrong_type_query = request("cti.query.agentinfo", 11, {
        "agentId": "a", "requestingAgentLogin": "a", "requestingAgentPassword": NUMBER_SECRET,
    })
    object_password = request("cti.query.agentinfo", 12, {
        "agentId": "a", "requestingAgentLogin": "a", "requestingAgentPassword": {"p": CANARY},
    })
    unknown_name = request("cti.request.createsession", 13, {"agentId": "a", "agentPassword": CANARY})
    unknown_name["header"]["name"] = "cti.request.createsessionz"
    misspelled = request("cti.request.createsession", 14, {"agentId": "a", "agentPassword": CANARY})
    misspelled["header"]["name"] = "cti.request. createsession"
    bad_id = request("cti.request.validateagentcredentials", 15, {
        "agentId": "a", "agentLogin": "a", "agentPassword": CANARY,
    })
    bad_id["header"]["requestId"] = "not-a-guid"
    missing_fields = request("cti.request.createsession", 16, {"agentPassword": CANARY})
    return [
        {"from": "client", "open": {}},  # the capture holds the connection from its start
        # out of order: a request with a password before the channel is open
        server(request("cti.request.validateagentcredentials", 20, {
            "agentId": "a", "agentLogin": "a", "agentPassword": CANARY,
        }), protocol="bridge"),
        server(request("cti.request.serverstatus", 1)),
        server(request("cti.query.agentinfo", 2, {
            "agentId": "a", "requestingAgentLogin": "a", "requestingAgentPassword": CANARY,
        })),
        # createsession during initialization
        server(request("cti.request.createsession", 3, {
            "agentId": "a", "agentPassword": CANARY, "sessionId": "s", "destination": "d",
        })),
        server(wrong_type),
        server(wrong_type_query),
        server(object_password),
        server(unknown_name),
        server(misspelled),
        server(bad_id),
        server(missing_fields),
        {"from": "server", "raw": json.dumps(request("cti.query.agentinfo", 17, {
            "agentId": "a", "requestingAgentLogin": "a", "requestingAgentPassword": NUMBER_SECRET,
        }))},
        # raw text cut short: not JSON
        {"from": "server", "raw": '{"header": {"type": "cti.request"}, "body": {"agentPassword": "' + CANARY},
        {"from": "server", "raw": '{"body": {"agentPassword": ' + str(NUMBER_SECRET)},
        # bad records holding secrets
        '{"from": "server", "message": {"body": {"agentPassword": "' + CANARY + '"}}',
        {"from": "nobody", "message": {"body": {"agentPassword": CANARY}}},
        {"from": "server", "ts": CANARY, "message": {}},
        {"from": "server", "raw": NUMBER_SECRET},
        # a client echoing a password back in a failure
        client(response("cti.query.agentinfo", 2, {"agentPassword": CANARY}, result="FAILURE", errorMessage="no")),
        # a second connection whose first message is undetectable
        client({"agentPassword": CANARY}, conn="other"),
    ]


def test_no_finding_or_output_holds_a_password(tmp_path: Path) -> None:
    report = check(tmp_path, secret_capture())
    assert report.errors >= 15  # every record above but the serverstatus request and the failure is an error
    codes = {f.code for f in report.findings}
    assert {"schema-violation", "unknown-message", "decode-error", "bad-record", "unexpected-message",
            "unknown-protocol"} <= codes
    assert_no_secret(report)


def test_no_finding_holds_a_password_in_strict_mode(tmp_path: Path) -> None:
    assert_no_secret(check(tmp_path, secret_capture(), strict=True))


def test_schema_findings_on_secret_fields_name_the_field_not_the_value(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[5]["message"]["body"]["agentPassword"] = NUMBER_SECRET
    report = check(tmp_path, records)
    assert (6, "schema", "schema-violation") in errors(report)
    [finding] = by_record(report, 6)
    assert finding.path == "/body/agentPassword"
    assert finding.message == "expected string, got integer"  # the type, never the value
    assert_no_secret(report)


def test_unknown_names_with_passwords_are_reported_without_them(tmp_path: Path) -> None:
    records = clean_session(protocol="bridge")
    records[5]["message"]["header"]["name"] = "cti.request.createSession"
    report = check(tmp_path, records)
    [finding] = by_record(report, 6)
    assert finding.code == "unknown-message"
    assert "did you mean 'cti.request.createsession'?" in finding.message
    assert_no_secret(report)


def test_an_alternate_spelling_in_a_broken_response_is_not_a_schema_error(tmp_path: Path) -> None:
    records = clean_session()
    broken = {**CAPS_BODY, "channel-groups-max-per-agent": -1}
    records[4] = client(response("cti.query.capabilities", 2, broken))
    del records[4]["message"]["header"]["result"]
    records[4]["message"]["header"]["cti.result"] = "SUCCESS"  # accepted spelling (quirk B1)
    report = check(tmp_path, records)
    assert [(f.record, f.path) for f in report.findings if f.severity is Severity.ERROR] == [
        (5, "/body/channel-groups-max-per-agent")
    ]
