"""The capture validator on Interaction Processor traffic: the samples, vendor extensions, mixed captures, rules."""

from __future__ import annotations

import collections
import functools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto.capture import Kind, Record, Report, Severity, read_jsonl, render, validate_files, validate_records
from ccproto.capture.validator import CHECKERS
from ccproto.cli import main
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import wire
from ccproto.processor import (
    REGISTRY,
    CallJourneyRequest,
    CallJourneySuccess,
    GetCapabilitiesRequest,
    GetCapabilitiesSuccess,
    MemberRemovedEvent,
    MembersAddedEvent,
    MemberStatusChangedEvent,
    PrepareSessionRequest,
    Registry,
    Request,
    SuccessResponse,
    TeamAddedEvent,
    TeamChangedEvent,
    TeamRemovedEvent,
    TeamStatusBeginRequest,
    TeamStatusBeginSuccess,
    TeamStatusEndRequest,
    TeamStatusEndSuccess,
    encode_value,
)
from ccproto.processor.checker import ProcessorConnectionChecker
from ccproto.testing.strategies import from_model
from ccproto.testing.strategies import text as any_text
from sample_expectations import (
    PROCESSOR_FAULTY_ERROR_RECORDS,
    PROCESSOR_FAULTY_ERRORS,
    by_record,
    errors,
    triples,
    warnings,
)
from test_capture_validate import clean_session, interleave

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = EXAMPLES / "processor-clean.jsonl"
FAULTY = EXAMPLES / "processor-faulty.jsonl"
# PROCESSOR_FAULTY_ERRORS: see sample_expectations.py

#: The agent password in both samples: it must never be shown.
PASSWORD = "Winter2025!"
CANARY = "hunter2-canary"
FINDING_KEYS = {
    "file", "record", "conn", "severity", "kind", "code", "path", "message", "related", "excerpt", "location",
}
#: The vendor command the clean sample uses on records 19-20 (not built in).
ACME = "acme.recording.status"
#: A throwaway extension module that registers ACME into the global registry (for ``--extension``).
EXTENSION_MODULE = "ccproto_test_acme_extension"



# -- building captures ---------------------------------------------------------------------


def client(message: Any, **fields: Any) -> dict[str, Any]:
    return {"from": "client", "message": message, **fields}


def server(message: Any, **fields: Any) -> dict[str, Any]:
    return {"from": "server", "message": message, **fields}


def as_raw(record: dict[str, Any]) -> dict[str, Any]:
    """The same record with the message given as ``raw`` text."""
    return {k: v for k, v in record.items() if k != "message"} | {"raw": json.dumps(record["message"])}


def req(command: str, data: Any = None) -> dict[str, Any]:
    return {"command": command, "data": {} if data is None else data}


def success(command: str, data: Any = None) -> dict[str, Any]:
    return {"command": command, "result": "success", "data": {} if data is None else data}


def failure(original: dict[str, Any], command: str | None = None) -> dict[str, Any]:
    return {
        "command": command if command is not None else original["command"],
        "result": "failure",
        "failure": {"code": "E", "message": "it failed"},
        "original": original,
    }


def journey(call_id: str) -> dict[str, Any]:
    return req("report.calljourney", {"CallId": call_id})


def begin(agent: str) -> dict[str, Any]:
    return req("report.teamstatus.begin", {"agentId": agent})


def end(agent: str) -> dict[str, Any]:
    return req("report.teamstatus.end", {"agentId": agent})


def team_changed(agent: str) -> dict[str, Any]:
    team = {"teamId": "T7", "teamName": "Billing"}
    return {"name": "report.teamstatus.teamchanged", "data": {"agentId": agent, "team": team}}


def prepare(override: bool = False, password: str = CANARY) -> dict[str, Any]:
    return req("prepareSession", {"model": "uccx", "override": override, "agent": {"id": "1001", "password": password}})


def sample_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]


def lines_of(records: list[Any]) -> list[str]:
    return [item if isinstance(item, str) else json.dumps(item) for item in records]


def write_capture(tmp_path: Path, records: list[Any], name: str = "capture.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines_of(records)) + "\n", encoding="utf-8")
    return path


def check(records: list[Any], **options: Any) -> Report:
    """Validate records held in memory (as one file named ``capture``)."""
    return validate_records(read_jsonl(lines_of(records), file="capture"), **options)


#: An open record: the capture holds the connection from its start, so nothing reads as history from before.
OPENING = {"from": "client", "open": {}}










def only_error(report: Report, number: int) -> Any:
    [finding] = [f for f in by_record(report, number) if f.severity is Severity.ERROR]
    return finding


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["validate", "--format", "json", *args])
    return status, json.loads(capsys.readouterr().out)


def acme_registry() -> Registry:
    """A copy of the built-in registry with the ACME command registered, as an integrator would."""
    registry = REGISTRY.copy()

    @registry.request(ACME)
    class RecordingStatusRequest(Request):
        call_id: str = wire("data", "callId")

    @registry.success(ACME)
    class RecordingStatusSuccess(SuccessResponse):
        recording: bool = wire("data", "recording")

    return registry


def checkers_for(registry: Registry) -> dict[str, Any]:
    return {**CHECKERS, "processor": functools.partial(ProcessorConnectionChecker, registry=registry)}


ACME_REQUEST = req(ACME, {"callId": "16777301"})
#: The wrong-typed success the brief's item (c) describes.
ACME_BAD_SUCCESS = {"command": ACME, "result": "success", "data": {"recording": "yes"}}


# -- the clean sample --------------------------------------------------------------------------------

CLEAN_WARNINGS = {
    (2, "schema", "command-whitespace"),
    (19, "schema", "unknown-command"),
    (20, "schema", "unknown-command"),
}


def test_clean_sample_exits_0_with_its_three_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CLEAN)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[-1] == "OK: 22 records, 0 errors, 3 warnings"
    assert lines[0] == str(CLEAN)
    assert "  connection 'desk-1' (processor)" in lines
    assert " error " not in captured.out
    assert captured.err == ""


def test_clean_sample_warnings_are_exactly_the_known_ones() -> None:
    report = validate_files([CLEAN])
    assert report.records == 22
    assert report.errors == 0
    assert warnings(report) == CLEAN_WARNINGS
    assert report.warnings == 3
    assert all(f.path == "/command" and f.conn == "desk-1" for f in report.findings)
    assert "read as 'getCapabilities'" in by_record(report, 2)[0].message
    assert all(ACME in f.message for f in report.findings if f.code == "unknown-command")
    assert report.connections == {str(CLEAN): {"desk-1": "processor"}}


def test_clean_sample_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, value = run_json(capsys, str(CLEAN))
    assert status == 0
    assert value["summary"] == {"records": 22, "errors": 0, "warnings": 3}
    assert {(f["record"], f["kind"], f["code"]) for f in value["findings"]} == CLEAN_WARNINGS
    assert all(set(f) == FINDING_KEYS and f["severity"] == "warning" for f in value["findings"])


def test_strict_fails_the_clean_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", str(CLEAN)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "FAILED: 22 records, 3 errors, 0 warnings"
    report = validate_files([CLEAN], strict=True)
    assert errors(report) == CLEAN_WARNINGS
    assert report.warnings == 0


# -- the faulty sample -------------------------------------------------------------------------------

FAULTY_WARNINGS = {(20, "schema", "unknown-command"), (20, "sequence", "unanswered-request")}


def test_faulty_sample_exits_1_and_names_every_faulty_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FAULTY)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[-1] == "FAILED: 20 records, 10 errors, 2 warnings"
    assert lines[0] == str(FAULTY)
    assert "  connection 'desk-2' (processor)" in lines
    for number in PROCESSOR_FAULTY_ERROR_RECORDS:
        assert f"record {number}: error " in out
    # Records that are fine (e.g. 15, the failure answering the invalid request 14) are not named.
    for number in set(range(1, 21)) - PROCESSOR_FAULTY_ERROR_RECORDS - {20}:
        assert f"record {number}:" not in out
    assert out.count("record 20: warning ") == 2


def test_faulty_sample_errors_are_exactly_the_known_ones() -> None:
    report = validate_files([FAULTY])
    assert report.records == 20
    assert errors(report) == PROCESSOR_FAULTY_ERRORS
    assert report.errors == 10  # one error a record
    assert all(f.conn == "desk-2" and f.file == str(FAULTY) for f in report.findings)
    assert report.connections == {str(FAULTY): {"desk-2": "processor"}}


def test_faulty_sample_warnings_are_the_two_on_record_20() -> None:
    report = validate_files([FAULTY])
    assert warnings(report) == FAULTY_WARNINGS
    assert report.warnings == 2
    unanswered, unknown = sorted(by_record(report, 20), key=lambda f: f.code)
    assert unknown.code == "unknown-command"
    assert "'getcapabilities'" in unknown.message
    assert "did you mean 'getCapabilities'?" in unknown.message
    assert unanswered.code == "unanswered-request"
    assert unanswered.path == "/command"
    assert "getcapabilities" in unanswered.message


@pytest.mark.parametrize(
    ("number", "related"),
    [
        pytest.param(2, (1,), id="confirm-answers-record-1"),
        pytest.param(9, (8,), id="failure-answers-record-8"),
        pytest.param(12, (11,), id="event-after-the-end-of-record-11"),
        pytest.param(17, (16,), id="success-answers-record-16"),
        pytest.param(13, (1,), id="success-to-nothing-may-show-a-cut"),
        pytest.param(18, (), id="event-from-the-client"),
    ],
)
def test_faulty_sample_related_records(number: int, related: tuple[int, ...]) -> None:
    assert only_error(validate_files([FAULTY]), number).related == related


def test_text_report_shows_related_records(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", str(FAULTY)])
    lines = capsys.readouterr().out.splitlines()
    for number, related in ((2, 1), (9, 8), (12, 11), (13, 1), (17, 16)):
        [line] = [text for text in lines if f"record {number}: " in text]
        assert line.endswith(f"(see record {related})")
    for number in (18,):
        [line] = [text for text in lines if f"record {number}: " in text]
        assert "see record" not in line


def test_faulty_sample_details() -> None:
    report = validate_files([FAULTY])
    expected_paths = {
        2: "/result",
        5: "/data/agentId",
        7: "/data/team/members/0/memberType",
        9: "/original/data/CallId",
        12: "/data/agentId",
        13: "",
        14: "/data/override",
        17: "/resource/data/override",
        18: "",
        19: "/data/team/members",
    }
    assert {number: only_error(report, number).path for number in expected_paths} == expected_paths
    assert "'Agent', 'Supervisor', 'TeamLead'" in only_error(report, 7).message
    assert only_error(report, 14).message == "expected boolean, got string"
    assert "its report was ended" in only_error(report, 12).message
    assert "its report was ended" not in only_error(report, 5).message
    assert only_error(report, 5).related == ()
    assert "never sends events" in only_error(report, 18).message
    assert "at least 1" in only_error(report, 19).message
    assert not by_record(report, 15)  # a failure answering the invalid request 14 is fine


def test_faulty_sample_json_names_every_faulty_record(capsys: pytest.CaptureFixture[str]) -> None:
    status, value = run_json(capsys, str(FAULTY))
    assert status == 1
    assert value["summary"] == {"records": 20, "errors": 10, "warnings": 2}
    found = value["findings"]
    assert all(set(f) == FINDING_KEYS for f in found)
    errors_ = [f for f in found if f["severity"] == "error"]
    assert {f["record"] for f in errors_} == PROCESSOR_FAULTY_ERROR_RECORDS
    assert {(f["record"], f["kind"], f["code"]) for f in errors_} == PROCESSOR_FAULTY_ERRORS
    warnings_ = {(f["record"], f["kind"], f["code"]) for f in found if f["severity"] == "warning"}
    assert warnings_ == FAULTY_WARNINGS
    assert [f["record"] for f in found] == sorted(f["record"] for f in found)


@pytest.mark.parametrize("path", [CLEAN, FAULTY], ids=["clean", "faulty"])
@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_the_agent_password_never_appears(
    path: Path, fmt: str, strict: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PASSWORD in path.read_text(encoding="utf-8")  # the sample does hold it
    main(["validate", "--format", fmt, *(["--strict"] if strict else []), str(path)])
    captured = capsys.readouterr()
    assert captured.out
    assert PASSWORD not in captured.out
    assert PASSWORD not in captured.err
    assert "Winter2025" not in captured.out


def test_the_password_stays_hidden_when_messages_are_raw_text(tmp_path: Path) -> None:
    records = [as_raw(record) for record in sample_records(FAULTY)]
    # and two lines cut short inside the password
    cut = json.dumps(prepare(password=PASSWORD))[: -len('"}}}')]  # ends inside the password string
    assert cut.endswith(PASSWORD)
    records.append({"from": "client", "conn": "desk-2", "raw": cut})
    records.append({"from": "client", "conn": "desk-2", "raw": '{"command": "prepareSession", "data": '
                    '{"agent": {"password": "' + PASSWORD})
    report = validate_files([write_capture(tmp_path, records)])
    assert {(21, "decode", "decode-error"), (22, "decode", "decode-error")} <= errors(report)
    for finding in report.findings:
        assert PASSWORD not in finding.message
        assert PASSWORD not in finding.path
    for fmt in ("text", "json"):
        assert PASSWORD not in render(report, fmt)


def test_strict_turns_the_unknown_command_warning_into_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    # --strict is about quirky input (docs/processor.md); a request left unanswered when the capture was cut
    # stays a warning, as for the bridge (test_capture_validate.test_strict_does_not_touch_...).
    status, value = run_json(capsys, "--strict", str(FAULTY))
    assert status == 1
    assert value["summary"] == {"records": 20, "errors": 11, "warnings": 1}
    on_20 = {(f["kind"], f["code"], f["severity"]) for f in value["findings"] if f["record"] == 20}
    assert on_20 == {("schema", "unknown-command", "error"), ("sequence", "unanswered-request", "warning")}
    report = validate_files([FAULTY], strict=True)
    assert errors(report) == PROCESSOR_FAULTY_ERRORS | {(20, "schema", "unknown-command")}


# -- vendor extensions: a registry copy --------------------------------------------------------------


def test_without_the_registration_the_vendor_command_is_unknown() -> None:
    plain = validate_files([CLEAN], checkers=checkers_for(REGISTRY.copy()))
    assert warnings(plain) == CLEAN_WARNINGS
    assert {(f.record, f.code) for f in plain.findings if f.code == "unknown-command"} == {
        (19, "unknown-command"), (20, "unknown-command"),
    }


def test_a_registered_vendor_command_is_no_longer_unknown() -> None:
    registry = acme_registry()
    with CLEAN.open(encoding="utf-8") as handle:
        report = validate_records(read_jsonl(handle, file="clean"), checkers=checkers_for(registry))
    assert report.errors == 0
    assert triples(report) == {(2, "schema", "command-whitespace")}
    # The copy did not touch the global registry: the default validation still warns.
    assert REGISTRY.request_class(ACME) is None
    assert warnings(validate_files([CLEAN])) == CLEAN_WARNINGS


def test_a_registered_vendor_command_is_checked_against_its_schema() -> None:
    registry = acme_registry()
    records = [client(ACME_REQUEST), server(ACME_BAD_SUCCESS)]
    report = check(records, checkers=checkers_for(registry))
    finding = only_error(report, 2)
    assert (finding.kind, finding.code, finding.path) == (Kind.SCHEMA, "schema-violation", "/data/recording")
    assert finding.message.startswith("expected boolean, got ")
    assert (2, "schema", "unknown-command") not in triples(report)
    # Unregistered, the same success is just an unknown command's answer: warnings only.
    plain = check(records)
    assert plain.errors == 0
    assert warnings(plain) == {(1, "schema", "unknown-command"), (2, "schema", "unknown-command")}


def test_a_registered_vendor_request_is_checked_too() -> None:
    registry = acme_registry()
    bad_request = req(ACME, {"callId": 16777301})
    report = check([client(bad_request), server(failure(bad_request))], checkers=checkers_for(registry))
    assert triples(report) == {(1, "schema", "schema-violation")}
    assert by_record(report, 1)[0].path == "/data/callId"


def test_the_checker_can_be_built_directly_with_a_registry() -> None:
    checker = ProcessorConnectionChecker(limits=DEFAULT_LIMITS, strict=False, registry=acme_registry())
    records = [item for item in read_jsonl(lines_of(sample_records(CLEAN)), file="clean")]
    assert all(isinstance(item, Record) for item in records)
    found = [finding for item in records for finding in checker.check(item)]
    found += checker.finish("clean", "desk-1", records[-1].number)
    assert [(f.record, f.code) for f in found] == [(2, "command-whitespace")]

    checker = ProcessorConnectionChecker(limits=DEFAULT_LIMITS, strict=False, registry=acme_registry())
    [request_, answer] = read_jsonl(lines_of([client(ACME_REQUEST), server(ACME_BAD_SUCCESS)]), file="f")
    assert isinstance(request_, Record)
    assert isinstance(answer, Record)
    assert checker.check(request_) == []
    [finding] = checker.check(answer)
    assert (finding.severity, finding.code, finding.path) == (Severity.ERROR, "schema-violation", "/data/recording")


def test_the_checker_defaults_to_the_global_registry() -> None:
    checker = ProcessorConnectionChecker(limits=DEFAULT_LIMITS, strict=True)
    [record] = read_jsonl(lines_of([client(ACME_REQUEST)]), file="f")
    assert isinstance(record, Record)
    [finding] = checker.check(record)
    assert (finding.severity, finding.code) == (Severity.ERROR, "unknown-command")


def test_a_monkeypatched_processor_checker_is_used_by_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(CHECKERS, "processor", functools.partial(ProcessorConnectionChecker, registry=acme_registry()))
    assert main(["validate", str(CLEAN)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "OK: 22 records, 0 errors, 1 warning"
    assert "unknown-command" not in out


# -- vendor extensions: ccproto validate --extension MODULE ----------------------------------------------

EXTENSION_SOURCE = f'''
from ccproto.core.model import wire
from ccproto.processor import REGISTRY, Request, SuccessResponse


@REGISTRY.request("{ACME}", replace=True)
class RecordingStatusRequest(Request):
    call_id: str = wire("data", "callId")


@REGISTRY.success("{ACME}", replace=True)
class RecordingStatusSuccess(SuccessResponse):
    recording: bool = wire("data", "recording")
'''


@pytest.fixture
def global_registry_restored() -> Iterator[None]:
    """Whatever a test registers into ``ccproto.processor.REGISTRY`` is gone afterwards."""
    snapshot = REGISTRY.copy()
    yield
    for table in ("_requests", "_successes", "_confirms", "_events", "_resource_types"):
        setattr(REGISTRY, table, getattr(snapshot, table))
    sys.modules.pop(EXTENSION_MODULE, None)
    assert REGISTRY.request_class(ACME) is None


@pytest.fixture
def extension_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, global_registry_restored: None) -> str:
    folder = tmp_path / "extension"
    folder.mkdir()
    (folder / f"{EXTENSION_MODULE}.py").write_text(EXTENSION_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    return EXTENSION_MODULE


def test_extension_registers_the_vendor_command(extension_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert REGISTRY.request_class(ACME) is None
    assert main(["validate", "--extension", extension_module, str(CLEAN)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "OK: 22 records, 0 errors, 1 warning"
    assert "command-whitespace" in captured.out
    assert "unknown-command" not in captured.out
    assert captured.err == ""
    assert REGISTRY.request_class(ACME) is not None


def test_extension_commands_are_checked_against_their_schema(
    extension_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_capture(tmp_path, [client(ACME_REQUEST, conn="x"), server(ACME_BAD_SUCCESS, conn="x")])
    status, value = run_json(capsys, "--extension", extension_module, str(path))
    assert status == 1
    assert [(f["record"], f["severity"], f["kind"], f["code"], f["path"]) for f in value["findings"]] == [
        (1, "warning", "sequence", "unanswered-request", "/command"),  # a broken answer answers nothing
        (2, "error", "schema", "schema-violation", "/data/recording"),
    ]


def test_extension_option_is_repeatable_and_may_follow_the_files(
    extension_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(CLEAN), "--extension", extension_module, "--extension", "json"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "OK: 22 records, 0 errors, 1 warning"


def test_a_missing_extension_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--extension", "no.such.module", str(CLEAN)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot import extension 'no.such.module'" in captured.err


@pytest.mark.parametrize("name", ["", ".relative"], ids=["empty", "relative"])
def test_an_invalid_extension_name_exits_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--extension", name, str(CLEAN)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot import extension" in captured.err


def test_an_extension_that_fails_while_importing_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, global_registry_restored: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    source = EXTENSION_SOURCE.replace(f'"{ACME}", replace=True', '"getCapabilities"')
    (folder / f"{EXTENSION_MODULE}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    assert main(["validate", "--extension", EXTENSION_MODULE, str(CLEAN)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert EXTENSION_MODULE in captured.err


# -- mixed captures ------------------------------------------------------------------------------------


def processor_session(conn: str = "p", *, protocol: str | None = None) -> list[dict[str, Any]]:
    """The clean processor sample's records, for connection ``conn``, with ``protocol`` (or none)."""
    records = []
    for record in sample_records(CLEAN):
        record = {k: v for k, v in record.items() if k not in ("protocol", "conn", "ts")} | {"conn": conn}
        records.append(record | ({"protocol": protocol} if protocol else {}))
    return records


def test_interleaved_bridge_and_processor_connections_without_protocol() -> None:
    bridge = clean_session(conn="b")
    processor = processor_session("p")
    assert not any("protocol" in record for record in bridge + processor)
    records = interleave(bridge, processor)
    report = check(records)
    assert report.records == 31
    assert report.connections == {"capture": {"b": "bridge", "p": "processor"}}
    assert report.errors == 0
    # The processor sample's three warnings, at their new record numbers; nothing on the bridge connection.
    in_file = [number for number, record in enumerate(records, start=1) if record["conn"] == "p"]
    assert warnings(report) == {(in_file[n - 1], kind, code) for n, kind, code in CLEAN_WARNINGS}
    assert {f.conn for f in report.findings} == {"p"}


def test_each_connection_is_checked_by_its_own_rules() -> None:
    bridge = clean_session(conn="b")
    del bridge[0]  # no cti.request.serverstatus: the bridge's phase rules complain
    processor = processor_session("p")
    del processor[0]  # no getCapabilities request: the processor's answer rules complain
    processor.append(client(team_changed("1001"), conn="p"))  # a client never sends events
    records = bridge + processor
    report = check(records)
    processor_codes = {f.code for f in report.findings if f.conn == "p" and f.severity is Severity.ERROR}
    bridge_codes = {f.code for f in report.findings if f.conn == "b" and f.severity is Severity.ERROR}
    # Both were joined mid-conversation (each protocol says what may open one); the client's event is wrong anyway.
    assert processor_codes == {"joined-mid-conversation", "unexpected-message"}
    assert bridge_codes == {"joined-mid-conversation"}
    first_p = len(bridge) + 1
    assert (first_p, "capture", "joined-mid-conversation") in errors(report)
    assert (len(records), "sequence", "unexpected-message") in errors(report)
    assert "never sends events" in only_error(report, len(records)).message
    assert "a getCapabilities success from the server" in only_error(report, first_p).message
    assert "a cti.request to cti" not in only_error(report, 1).message


def test_the_same_connection_name_in_two_files_is_two_connections(tmp_path: Path) -> None:
    one = write_capture(tmp_path, processor_session("c")[:2], "one.jsonl")
    other = write_capture(tmp_path, clean_session(conn="c"), "other.jsonl")
    report = validate_files([one, other])
    assert report.connections == {str(one): {"c": "processor"}, str(other): {"c": "bridge"}}
    assert triples(report) == {(2, "schema", "command-whitespace")}


def test_a_record_that_says_bridge_on_a_processor_connection_is_protocol_changed() -> None:
    records = processor_session("p", protocol="processor")[:6]
    # The confirm answering record 3, mislabelled: skipped, so request 3 stays outstanding for the real confirm.
    records.insert(3, records[3] | {"protocol": "bridge"})
    report = check(records)
    assert errors(report) == {(4, "decode", "protocol-changed")}
    finding = only_error(report, 4)
    assert "'bridge'" in finding.message
    assert "'processor'" in finding.message
    assert warnings(report) == {(2, "schema", "command-whitespace")}


def test_a_processor_connection_detected_from_its_shape_then_labelled_bridge() -> None:
    records = processor_session("p")[:4]
    records.append(client(req("getCapabilities"), conn="p", protocol="bridge"))
    report = check(records)
    assert errors(report) == {(5, "decode", "protocol-changed")}
    assert report.connections == {"capture": {"p": "processor"}}


def test_raw_processor_text_gives_the_same_findings_as_message() -> None:
    with_message = sample_records(FAULTY)
    with_raw = [as_raw(record) for record in with_message]
    one, other = check(with_message), check(with_raw)

    def key(report: Report) -> list[tuple[Any, ...]]:
        return [(f.record, f.severity, f.kind, f.code, f.path, f.message, f.related) for f in report.findings]

    assert key(one) == key(other)
    assert errors(other) == PROCESSOR_FAULTY_ERRORS


def test_a_raw_processor_record_without_protocol_is_detected() -> None:
    records = [{"from": record["from"], "raw": json.dumps(record["message"])} for record in sample_records(CLEAN)]
    report = check(records)
    assert report.connections == {"capture": {"default": "processor"}}
    assert warnings(report) == CLEAN_WARNINGS
    assert report.errors == 0


def test_one_raw_record_among_message_records() -> None:
    records = processor_session("p")[:8]
    records[3] = as_raw(records[3])  # the confirm, as text
    records[5] = as_raw(records[5])  # the success, as text
    report = check(records)
    assert triples(report) == {(2, "schema", "command-whitespace")}


def test_raw_text_that_is_not_a_processor_object_is_a_decode_error() -> None:
    records: list[Any] = processor_session("p")[:2]
    records.insert(1, {"from": "server", "conn": "p", "raw": '{"command": "getCapabilities", "result": '})
    records.insert(2, {"from": "server", "conn": "p", "raw": '["getCapabilities"]'})
    report = check(records)
    assert errors(report) == {(2, "decode", "decode-error"), (3, "decode", "decode-error")}
    assert warnings(report) == {(4, "schema", "command-whitespace")}


# -- the rules -----------------------------------------------------------------------------------------------

INVALID_REQUESTS = [
    pytest.param(
        req("prepareSession", {"model": "uccx", "override": "false", "agent": {"id": "1", "password": CANARY}}),
        "/data/override", id="override-string",
    ),
    pytest.param({"command": "getCapabilities"}, "/data", id="no-data"),
    pytest.param(req("report.calljourney", {"CallId": 16777301}), "/data/CallId", id="callid-number"),
    pytest.param(req("report.teamstatus.begin", {}), "/data/agentId", id="no-agent-id"),
    pytest.param({"command": "acme.unknown", "data": []}, "/data", id="unknown-command-data-array"),
]


@pytest.mark.parametrize(("invalid", "pointer"), INVALID_REQUESTS)
def test_a_failure_answering_an_invalid_request_is_not_reported(invalid: dict[str, Any], pointer: str) -> None:
    records = [client(invalid), server(failure(invalid)), client(req("getCapabilities")),
               server(success("getCapabilities"))]
    report = check(records)
    assert errors(report) == {(1, "schema", "schema-violation")}
    assert [f.path for f in report.findings if f.severity is Severity.ERROR] == [pointer]
    assert not by_record(report, 2)
    assert (1, "sequence", "unanswered-request") not in warnings(report)
    assert CANARY not in render(report, "text")


def test_a_failure_must_still_repeat_the_invalid_request() -> None:
    invalid = req("report.calljourney", {"CallId": 1})
    records = [client(invalid), server(failure(req("report.calljourney", {"CallId": 2})))]
    report = check(records)
    assert errors(report) == {(1, "schema", "schema-violation"), (2, "sequence", "original-mismatch")}
    assert only_error(report, 2).related == (1,)
    assert only_error(report, 2).path == "/original/data/CallId"


def test_only_a_failure_may_answer_an_invalid_request() -> None:
    invalid = req("report.calljourney", {"CallId": 1})
    records = [client(invalid), server(success("report.calljourney", {"CallJourney": []})), server(failure(invalid))]
    report = check(records)
    assert errors(report) == {(1, "schema", "schema-violation"), (2, "sequence", "answer-not-allowed")}
    finding = only_error(report, 2)
    assert finding.related == (1,)
    assert "answer it with a failure" in finding.message
    assert report.warnings == 0  # the failure on record 3 answered it


def test_a_padded_command_in_an_invalid_request_is_not_a_command_error() -> None:
    invalid = req(" report.calljourney ", {"CallId": 16777301})
    report = check([client(invalid), server(failure(invalid))])
    assert [(f.path, f.code) for f in report.findings if f.severity is Severity.ERROR] == [
        ("/data/CallId", "schema-violation")
    ]


def test_a_padded_command_in_an_invalid_request_is_still_answered_by_its_failure() -> None:
    invalid = req(" report.calljourney ", {"CallId": 16777301})
    trimmed = req("report.calljourney", {"CallId": 16777301})
    for original in (invalid, trimmed):
        report = check([client(invalid), server(failure(original, command="report.calljourney"))])
        assert {number for number, _, _ in triples(report)} == {1}


def test_an_unanswered_request_at_the_end_is_a_warning_on_its_record() -> None:
    records = [
        client(req("getCapabilities")),
        server(success("getCapabilities")),
        client(journey("1")),
        client(begin("1001")),
        client(journey("2")),
        server(success("report.calljourney", {"CallJourney": []})),
    ]
    report = check(records)
    assert report.errors == 0
    assert warnings(report) == {(4, "sequence", "unanswered-request"), (5, "sequence", "unanswered-request")}
    four, five = sorted((f for f in report.findings), key=lambda f: f.record)
    assert (four.path, four.related) == ("/command", ())
    assert "report.teamstatus.begin request was never answered" in four.message
    assert "report.calljourney" in five.message


def test_a_capture_with_only_unanswered_requests_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_capture(tmp_path, [client(prepare(password=PASSWORD)), client(journey("1"))])
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("unanswered-request") == 2
    assert out.splitlines()[-1] == "OK: 2 records, 0 errors, 2 warnings"
    assert PASSWORD not in out


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(success("getCapabilities"), id="success"),
        pytest.param(failure(journey("1")), id="failure"),
        pytest.param({"command": "prepareSession", "result": "confirm", "message": "Replace?",
                      "original": prepare()}, id="confirm"),
        pytest.param(success("report.teamstatus.end"), id="end-success"),
        pytest.param({"command": "acme.x", "result": "success", "data": {}}, id="unknown-command"),
    ],
)
def test_a_response_to_nothing_is_an_error_without_related_records(answer: dict[str, Any]) -> None:
    records = [OPENING, client(req("getCapabilities")), server(success("getCapabilities")), server(answer)]
    report = check(records)
    assert (4, "sequence", "no-outstanding-request") in errors(report)
    assert report.errors == 1
    finding = only_error(report, 4)
    assert finding.related == ()
    assert finding.path == "/command"
    assert "answers no outstanding request" in finding.message
    assert CANARY not in render(report, "text")


def test_a_second_answer_is_an_answer_to_nothing() -> None:
    records = [client(journey("1")), server(failure(journey("1"))), server(failure(journey("1")))]
    report = check(records)
    assert errors(report) == {(3, "sequence", "no-outstanding-request")}
    assert only_error(report, 3).related == ()


def test_answers_go_to_the_oldest_request_of_their_command() -> None:
    records = [
        client(journey("1")),
        client(req("getCapabilities")),
        client(journey("2")),
        server(success("getCapabilities")),
        server(failure(journey("1"))),
        server(failure(journey("2"))),
    ]
    assert check(records).findings == []
    swapped = [*records[:4], server(failure(journey("2"))), server(failure(journey("1")))]
    report = check(swapped)
    # One fault, one finding (issue 19): the first answer overtook its elder; the second then fits.
    assert errors(report) == {(5, "sequence", "answer-out-of-order")}


def test_confirm_then_override_is_clean() -> None:
    ask, again = prepare(override=False), prepare(override=True)
    records = [
        client(ask),
        server({"command": "prepareSession", "result": "confirm", "message": "Replace?", "original": ask}),
        client(again),
        server({"command": "prepareSession", "result": "success", "resource": {"id": "s1", "data": again["data"]}}),
    ]
    assert check(records).findings == []
    # The processor may not confirm the repeated request again.
    records[3] = server({"command": "prepareSession", "result": "confirm", "message": "Again?", "original": again})
    report = check(records)
    assert errors(report) == {(4, "sequence", "answer-not-allowed")}
    assert only_error(report, 4).related == (3,)


def test_team_status_events_need_a_running_report_of_their_agent() -> None:
    records = [
        OPENING,
        client(begin("1001")),
        server(success("report.teamstatus.begin")),
        server(team_changed("1001")),
        server(team_changed("2002")),  # another agent's report is not running
        client(begin("2002")),
        server(failure(begin("2002"))),  # a failed begin starts nothing
        server(team_changed("2002")),
        client(end("1001")),
        server(failure(end("1001"))),  # a failed end ends nothing
        server(team_changed("1001")),
        client(end("1001")),
        server(success("report.teamstatus.end")),
        server(team_changed("1001")),
    ]
    report = check(records)
    assert errors(report) == {(n, "sequence", "report-not-active") for n in (5, 8, 14)}
    assert only_error(report, 5).related == ()
    assert only_error(report, 8).related == ()
    assert only_error(report, 14).related == (13,)
    # Without the open record, record 5 may be a report begun before the capture: one finding says so.
    joined = check(records[1:], partial=True)
    assert triples(joined) == {(4, "capture", "joined-mid-conversation"), (7, "sequence", "report-not-active"),
                               (13, "sequence", "report-not-active")}


def test_a_new_begin_restarts_an_ended_report() -> None:
    records = [
        client(begin("1001")), server(success("report.teamstatus.begin")),
        client(end("1001")), server(success("report.teamstatus.end")),
        client(begin("1001")), server(success("report.teamstatus.begin")),
        server(team_changed("1001")),
    ]
    assert check(records).findings == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(1763712000.0, 1763712000.0 + 3600, id="epoch-an-hour-later"),
        pytest.param("2025-11-21T08:00:00Z", "2025-11-22T08:00:00+00:00", id="rfc3339-a-day-later"),
        pytest.param(1763712000.0, 1763711000.0, id="going-backwards"),
        pytest.param(0, 10**9, id="from-zero"),
    ],
)
def test_timestamps_alone_cause_no_errors(first: Any, second: Any) -> None:
    records = [
        client(journey("1"), ts=first),
        client(req("getCapabilities"), ts=first),
        server(failure(journey("1")), ts=second),
        server(success("getCapabilities")),  # a record without ts among records with one
    ]
    for limits in (DEFAULT_LIMITS, Limits(request_timeout=0.001)):
        assert check(records, limits=limits, idle_timeouts={"processor": None}).findings == []
        # Idle longer than its bound (an hour), the connection is finished as if the capture ended there: what
        # it left unanswered is a warning, and it goes on read as joined (its answers may be to those requests).
        report = check(records, limits=limits)
        assert report.errors == 0
        assert {f.code for f in report.findings} <= {"unanswered-request"}


def test_timestamps_do_not_hide_unanswered_requests() -> None:
    records = [client(journey("1"), ts=0.0), client(journey("2"), ts=1.0), server(failure(journey("1")), ts=3000.0)]
    report = check(records, limits=Limits(request_timeout=1.0))
    assert triples(report) == {(2, "sequence", "unanswered-request")}


def test_too_many_outstanding_requests() -> None:
    records = [client(journey(str(n))) for n in range(3)]
    report = check(records, limits=Limits(max_pending=2))
    assert errors(report) == {(3, "sequence", "too-many-pending")}
    assert warnings(report) == {(1, "sequence", "unanswered-request"), (2, "sequence", "unanswered-request")}


def test_messages_in_the_wrong_direction() -> None:
    records = [OPENING, server(req("getCapabilities")), client(req("getCapabilities")),
               client(success("getCapabilities"))]
    report = check(records)
    assert errors(report) == {(2, "sequence", "unexpected-message"), (4, "sequence", "unexpected-message")}
    assert "the processor never sends requests" in only_error(report, 2).message
    assert "the client never sends responses" in only_error(report, 4).message
    assert warnings(report) == {(3, "sequence", "unanswered-request")}


def test_a_confirm_for_a_command_that_is_never_confirmed() -> None:
    records = [client(req("getCapabilities")), server({"command": "getCapabilities", "result": "confirm",
                                                       "message": "Sure?", "original": req("getCapabilities")})]
    report = check(records)
    assert errors(report) == {(2, "schema", "unknown-message")}
    assert warnings(report) == {(1, "sequence", "unanswered-request")}


def test_an_unknown_event_is_a_warning() -> None:
    report = check([OPENING, server({"name": "acme.recording.started", "data": {"callId": "1"}})])
    assert triples(report) == {(2, "schema", "unknown-event")}
    assert report.connections == {"capture": {"default": "processor"}}


# -- a property: any valid conversation validates ------------------------------------------------------------

AGENTS = ("1001", "1002", "ada")
REQUEST_CLASSES = (
    GetCapabilitiesRequest, CallJourneyRequest, TeamStatusBeginRequest, TeamStatusEndRequest, PrepareSessionRequest,
)
SUCCESS_CLASSES: dict[str, Any] = {
    cls.COMMAND: cls
    for cls in (GetCapabilitiesSuccess, CallJourneySuccess, TeamStatusBeginSuccess, TeamStatusEndSuccess)
}
TEAM_STATUS_EVENTS = (
    TeamChangedEvent, TeamRemovedEvent, TeamAddedEvent, MembersAddedEvent, MemberStatusChangedEvent,
    MemberRemovedEvent,
)


@st.composite
def valid_conversations(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[int]]:
    """Records of a valid conversation, and the record numbers of the requests it leaves unanswered.

    Requests of any command at any time (several of one command outstanding at once); each answer goes to the
    oldest outstanding request of its command, with an exact ``original`` or ``resource.data``; team-status
    events only for agents whose report is running (a begin succeeded and no end succeeded since).
    """
    records: list[dict[str, Any]] = []
    queues: dict[str, collections.deque[tuple[int, dict[str, Any], Request]]] = {}
    running: set[str] = set()
    protocol = draw(st.sampled_from([{}, {"protocol": "processor"}]))
    as_text = draw(st.booleans())
    ts = draw(st.floats(min_value=0, max_value=2e9))

    def add(sender: str, value: dict[str, Any]) -> None:
        nonlocal ts
        ts += draw(st.floats(min_value=0, max_value=120))
        record = {"ts": ts, "conn": "desk", "from": sender, **protocol, "message": value}
        records.append(as_raw(record) if as_text and draw(st.booleans()) else record)

    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        choices = ["request"]
        if any(queues.values()):
            choices.append("answer")
        if running:
            choices.append("event")
        action = draw(st.sampled_from(choices))
        if action == "request":
            request = draw(from_model(draw(st.sampled_from(REQUEST_CLASSES))))
            if isinstance(request, (TeamStatusBeginRequest, TeamStatusEndRequest)):
                request = attrs.evolve(request, agent_id=draw(st.sampled_from(AGENTS)))
            value = encode_value(request)
            add("client", value)
            queues.setdefault(request.command_name, collections.deque()).append((len(records), value, request))
        elif action == "answer":
            command = draw(st.sampled_from(sorted(c for c, queue in queues.items() if queue)))
            _, value, request = queues[command].popleft()
            results = ["success", "failure"]
            if isinstance(request, PrepareSessionRequest) and request.confirmable:
                results.append("confirm")
            result = draw(st.sampled_from(results))
            if result == "failure":
                why = {"code": draw(any_text()), "message": draw(any_text())}
                if draw(st.booleans()):
                    why["context"] = draw(any_text())
                add("server", {"command": command, "result": "failure", "failure": why, "original": value})
            elif result == "confirm":
                add("server", {"command": command, "result": "confirm", "message": draw(any_text()), "original": value})
            elif isinstance(request, PrepareSessionRequest):
                add("server", {"command": command, "result": "success",
                               "resource": {"id": draw(any_text()), "data": value["data"]}})
            else:
                add("server", encode_value(draw(from_model(SUCCESS_CLASSES[command]))))
            if result == "success" and isinstance(request, TeamStatusBeginRequest):
                running.add(request.agent_id)
            if result == "success" and isinstance(request, TeamStatusEndRequest):
                running.discard(request.agent_id)
        else:
            event = draw(from_model(draw(st.sampled_from(TEAM_STATUS_EVENTS))))
            add("server", encode_value(attrs.evolve(event, agent_id=draw(st.sampled_from(sorted(running))))))
    unanswered = {number for queue in queues.values() for number, _, _ in queue}
    return records, unanswered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(valid_conversations())
def test_a_valid_conversation_has_no_errors(conversation: tuple[list[dict[str, Any]], set[int]]) -> None:
    records, unanswered = conversation
    report = check(records)
    assert errors(report) == set()
    assert warnings(report) == {(number, "sequence", "unanswered-request") for number in unanswered}
    assert report.records == len(records)
    if records:
        assert report.connections == {"capture": {"desk": "processor"}}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(valid_conversations())
def test_a_valid_conversation_stays_valid_under_strict(conversation: tuple[list[dict[str, Any]], set[int]]) -> None:
    records, _ = conversation
    assert check(records, strict=True).errors == 0


@pytest.mark.slow
def test_the_conversation_strategy_covers_every_kind_of_message() -> None:
    # A guard on the property above: it does produce answers of each kind and team-status events.
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(valid_conversations())
    def collect(conversation: tuple[list[dict[str, Any]], set[int]]) -> None:
        for record in conversation[0]:
            message = record["message"] if "message" in record else json.loads(record["raw"])
            seen.add(message.get("result") or ("event" if "name" in message else "request"))

    collect()
    assert seen == {"request", "success", "failure", "confirm", "event"}
