"""Protocol coverage (universes, hits, merging), the streaming validator (finished connections are dropped, the
cross-connection CCEB session rules still hold) and secret-free excerpts."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto.bridge import states as bridge_states
from ccproto.bridge.checker import BridgeConnectionChecker, phase_label, status_label
from ccproto.bridge.models import MESSAGE_CLASSES, MessageType, Result, ServerStatus
from ccproto.capture import (
    BadRecord,
    CaptureValidator,
    Coverage,
    ProtocolCoverage,
    Record,
    Report,
    Severity,
    read_jsonl,
    validate_files,
    validate_records,
)
from ccproto.cceb import checker as cceb_capture
from ccproto.cceb import states as cceb_states
from ccproto.cceb.checker import (
    SESSION_EXPIRED_RESUMED,
    SESSION_NOT_RESUMED,
    CcebConnectionChecker,
    _CaptureSessions,
    connection_label,
)
from ccproto.cceb.models import REGISTRY as CCEB_REGISTRY
from ccproto.core.checker import COVERAGE_KEY, EXCERPT_LENGTH, SUSPECT_NAME_PARTS, excerpt
from ccproto.core.limits import DEFAULT_LIMITS
from ccproto.core.redact import REDACTED
from ccproto.core.roles import Role
from ccproto.processor import states as processor_states
from ccproto.processor.checker import ProcessorConnectionChecker
from ccproto.processor.models import REGISTRY as PROCESSOR_REGISTRY

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
PROTOCOLS = ("bridge", "processor", "cceb")
CLEAN = {protocol: EXAMPLES / f"{protocol}-clean.jsonl" for protocol in PROTOCOLS}
FAULTY = {protocol: EXAMPLES / f"{protocol}-faulty.jsonl" for protocol in PROTOCOLS}
SAMPLES = [*CLEAN.values(), *FAULTY.values()]

#: The vendor command of the processor's clean sample (records 19-20): not registered, so outside the universe.
ACME_LABELS = {"acme.recording.status request", "acme.recording.status success"}

#: An epoch and the 72 h session lifetime, for the CCEB session rules.
T = 1_800_000_000.0
HOUR = 3600.0
LIFETIME = 72 * HOUR
KEY = "sk-key-canary-1"
KEY2 = "sk-key-canary-2"
CANARY = "hunter2-canary-0f9e"
TARGET = "Acme1.CONTROL"
CLOSE_SPEC = {"code": 1000, "reason": ""}


# -- building captures -----------------------------------------------------------------------


def lines_of(records: Iterable[Any]) -> list[str]:
    return [item if isinstance(item, str) else json.dumps(item) for item in records]


def check(records: list[Any], **options: Any) -> Report:
    """Validate records held in memory, collecting coverage; each connection is held from its start."""
    return validate_records(from_start(read_jsonl(lines_of(records), file="capture")), coverage=True, **options)


def from_start(items: Iterable[Record | BadRecord]) -> Iterator[Record | BadRecord]:
    """The records, each connection's first marked as its start (as a HAR has them), so none is read as joined."""
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Record) and item.conn not in seen:
            seen.add(item.conn)
            item.starts_connection = True
        yield item


def rec(sender: str, message: Any, *, conn: str = "c", protocol: str | None = None, ts: float | None = None
        ) -> dict[str, Any]:
    record: dict[str, Any] = {"from": sender, "conn": conn, "message": message}
    if protocol is not None:
        record["protocol"] = protocol
    if ts is not None:
        record["ts"] = ts
    return record


def close(sender: str, *, conn: str = "c", protocol: str | None = None, ts: float | None = None) -> dict[str, Any]:
    """A close record: ``sender`` closed the WebSocket."""
    record: dict[str, Any] = {"from": sender, "conn": conn, "close": dict(CLOSE_SPEC)}
    if protocol is not None:
        record["protocol"] = protocol
    if ts is not None:
        record["ts"] = ts
    return record


def both_closed(*, conn: str = "c", protocol: str | None = None, ts: float | None = None) -> list[dict[str, Any]]:
    """The closing handshake: the client's close, then the server's (1 s later when timed)."""
    return [close("client", conn=conn, protocol=protocol, ts=ts),
            close("server", conn=conn, protocol=protocol, ts=None if ts is None else ts + 1)]


# bridge


def guid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012d}"


def b_request(name: str, n: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    type_ = "cti.query" if name.startswith("cti.query.") else "cti.request"
    return {"header": {"type": type_, "name": name, "target": TARGET, "requestId": guid(n)}, "body": body or {}}


def b_response(name: str, n: int, body: dict[str, Any] | None = None, result: str = "SUCCESS") -> dict[str, Any]:
    return {
        "header": {"type": "cti.response", "name": name, "target": TARGET, "requestId": guid(n), "result": result},
        "body": body or {},
    }


def b_status(status: str) -> dict[str, Any]:
    return {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"}, "body": {"status": status}}


CAPS_BODY = {
    "channel-groups-supported": True,
    "channel-groups-max-per-agent": 2,
    "channel-groups-media-types": "voice,chat",
    "single-channels-supported": True,
    "single-channels-media-types": "voice,chat,email",
}


def bridge_session(conn: str = "c") -> list[dict[str, Any]]:
    """A complete, valid bridge conversation (9 records), ending with dispose answered."""
    def s(message: Any) -> dict[str, Any]:
        return rec("server", message, conn=conn, protocol="bridge")

    def c(message: Any) -> dict[str, Any]:
        return rec("client", message, conn=conn, protocol="bridge")

    return [
        s(b_request("cti.request.serverstatus", 1)),
        c(b_response("cti.request.serverstatus", 1)),
        c(b_status("in-service")),
        s(b_request("cti.query.capabilities", 2)),
        c(b_response("cti.query.capabilities", 2, CAPS_BODY)),
        s(b_request("cti.request.createsession", 3, {
            "agentId": "ada", "agentPassword": CANARY, "sessionId": "s1", "destination": "Acme1.ada.s1",
        })),
        c(b_response("cti.request.createsession", 3)),
        s(b_request("cti.request.dispose", 4)),
        c(b_response("cti.request.dispose", 4)),
    ]


# processor


def p_req(command: str, data: Any = None) -> dict[str, Any]:
    return {"command": command, "data": {} if data is None else data}


def p_success(command: str, data: Any = None) -> dict[str, Any]:
    return {"command": command, "result": "success", "data": {} if data is None else data}


def p_failure(original: dict[str, Any]) -> dict[str, Any]:
    return {"command": original["command"], "result": "failure", "failure": {"code": "E", "message": "no"},
            "original": original}


def begin(agent: str) -> dict[str, Any]:
    return p_req("report.teamstatus.begin", {"agentId": agent})


def end(agent: str) -> dict[str, Any]:
    return p_req("report.teamstatus.end", {"agentId": agent})


def team_changed(agent: str) -> dict[str, Any]:
    return {"name": "report.teamstatus.teamchanged",
            "data": {"agentId": agent, "team": {"teamId": "T7", "teamName": "Billing"}}}


def pc(message: Any, conn: str = "c") -> dict[str, Any]:
    return rec("client", message, conn=conn, protocol="processor")


def ps(message: Any, conn: str = "c") -> dict[str, Any]:
    return rec("server", message, conn=conn, protocol="processor")


def processor_conversation(conn: str = "c") -> list[dict[str, Any]]:
    """A short valid conversation: a team-status report begun, reported on, ended."""
    return [
        pc(begin("1001"), conn), ps(p_success("report.teamstatus.begin"), conn),
        ps(team_changed("1001"), conn),
        pc(end("1001"), conn), ps(p_success("report.teamstatus.end"), conn),
    ]


# cceb


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


def hello(n: int, **data: Any) -> dict[str, Any]:
    return {"type": "hello", "uuid": uid(n), "data": {"token": CANARY, "tenant": "acme", **data}}


def hello_reply(n: int, **data: Any) -> dict[str, Any]:
    return {"type": "hello_reply", "uuid": uid(n), "data": data}


def ack(n: int) -> dict[str, Any]:
    return {"type": "ack", "uuid": uid(n)}


def notification(n: int, message_type: str = "presence", **data: Any) -> dict[str, Any]:
    return {"type": message_type, "uuid": uid(n), "data": data}


def action(n: int, name: str = "ChangeAgentStateEvent", **details: Any) -> dict[str, Any]:
    return {"type": "action", "uuid": uid(n), "data": {"action": name, "action_details": details}}


def cc(message: Any, conn: str = "c", ts: float | None = None) -> dict[str, Any]:
    return rec("client", message, conn=conn, protocol="cceb", ts=ts)


def cs(message: Any, conn: str = "c", ts: float | None = None) -> dict[str, Any]:
    return rec("server", message, conn=conn, protocol="cceb", ts=ts)


def opened(conn: str = "c", n: int = 1) -> list[dict[str, Any]]:
    return [cc(hello(n), conn), cs(hello_reply(n), conn)]


def issuing(conn: str, key: str, end_ts: float, n: int = 1) -> list[dict[str, Any]]:
    """A long-lived hello, its reply giving ``key``, then both sides close (the client first, at ``end_ts``)."""
    return [
        cc(hello(n, long_lived=True), conn, ts=end_ts - 2),
        cs(hello_reply(n, session_key=key), conn, ts=end_ts - 1),
        *both_closed(conn=conn, protocol="cceb", ts=end_ts),
    ]


def resuming(conn: str, key: str, at: float, reply: dict[str, Any], n: int = 50) -> list[dict[str, Any]]:
    """A hello giving ``key`` at ``at`` and its reply 0.1 s later."""
    return [cc(hello(n, session_key=key), conn, ts=at), cs(hello_reply(n, **reply), conn, ts=at + 0.1)]


RESUMED = {"session_key": KEY, "resumed": True}
NEW_KEY = {"session_key": KEY2, "resumed": False}


# -- reading reports -------------------------------------------------------------------------


def coverage_of(report: Report, protocol: str) -> ProtocolCoverage:
    assert report.coverage is not None
    return report.coverage.protocols[protocol]


def codes(report: Report) -> set[tuple[int, str]]:
    return {(f.record, f.code) for f in report.findings}


def error_records(report: Report) -> set[int]:
    return {f.record for f in report.findings if f.severity is Severity.ERROR}


def sample_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def new_checker(protocol: str) -> Any:
    factory = {"bridge": BridgeConnectionChecker, "processor": ProcessorConnectionChecker,
               "cceb": CcebConnectionChecker}[protocol]
    return factory(limits=DEFAULT_LIMITS, strict=False, capture={})


def sessions_of(validator: CaptureValidator) -> _CaptureSessions:
    sessions = validator._shared["cceb"]
    assert isinstance(sessions, _CaptureSessions)
    return sessions


def feed_all(validator: CaptureValidator, records: list[Any], file: str = "capture") -> None:
    for item in read_jsonl(lines_of(records), file=file):
        validator.feed(item)


# -- 1. the universes --------------------------------------------------------------------------


def assert_unique(labels: Any) -> list[str]:
    labels = list(labels)
    assert len(labels) == len(set(labels)), [label for label, n in Counter(labels).items() if n > 1]
    return labels


def test_bridge_transitions_one_label_per_phase_table_key() -> None:
    universe = new_checker("bridge").universe()
    labels = assert_unique(universe["transitions"])
    assert len(labels) == len(bridge_states.PHASE_TRANSITIONS)
    assert labels == [phase_label(*key, target) for key, target in bridge_states.PHASE_TRANSITIONS.items()]
    for (phase, sender, input_), target in bridge_states.PHASE_TRANSITIONS.items():
        party = "bridge" if sender is Role.SERVER else "client"
        assert f"{phase.name} --{party}: {input_.value}--> {target.name}" in labels


def test_bridge_server_status_changes_are_every_allowed_pair_and_every_first_report() -> None:
    labels = assert_unique(new_checker("bridge").universe()["server-status changes"])
    allowed = [(last, new) for last, nexts in bridge_states.STATUS_TRANSITIONS.items() for new in nexts]
    assert len(labels) == len(ServerStatus) + len(allowed)
    assert set(labels) == {status_label(None, s) for s in ServerStatus} | {status_label(a, b) for a, b in allowed}
    assert {f"status (none) -> {s.value}" for s in ServerStatus} <= set(labels)
    # A pair the table forbids is not there.
    assert status_label(ServerStatus.STOPPING_SERVICE, ServerStatus.IN_SERVICE) not in labels


def test_bridge_message_types_one_label_per_message_class() -> None:
    labels = assert_unique(new_checker("bridge").universe()["message types"])
    assert len(labels) == len(MESSAGE_CLASSES)
    expected = set()
    for type_, name, result in MESSAGE_CLASSES:
        if type_ is MessageType.RESPONSE:
            expected.add(f"cti.response({name.value})" + (" FAILURE" if result is Result.FAILURE else ""))
        else:
            expected.add(name.value)
    assert set(labels) == expected


def test_processor_universe() -> None:
    universe = new_checker("processor").universe()
    assert set(universe) == {"message types", "transitions", "report transitions"}
    transitions = assert_unique(universe["transitions"])
    assert len(transitions) == len(processor_states.EXCHANGE_TRANSITIONS)
    for (state, sender, input_), action_ in processor_states.EXCHANGE_TRANSITIONS.items():
        party = "client" if sender is Role.CLIENT else "processor"
        assert f"{state.name} --{party}: {input_.value}--> {action_.value}" in transitions
    reports = assert_unique(universe["report transitions"])
    assert len(reports) == len(processor_states.REPORT_TRANSITIONS)
    for (state, input_), target in processor_states.REPORT_TRANSITIONS.items():
        assert f"report {state.name} --{input_.value}--> {target.name}" in reports
    messages = assert_unique(universe["message types"])
    expected = []
    for command in PROCESSOR_REGISTRY.commands():
        expected += [f"{command} request", f"{command} failure"]
        if PROCESSOR_REGISTRY.success_class(command) is not None:
            expected.append(f"{command} success")
        if PROCESSOR_REGISTRY.confirm_class(command) is not None:
            expected.append(f"{command} confirm")
    expected += [f"{name} event" for name in PROCESSOR_REGISTRY.events()]
    assert sorted(messages) == sorted(expected)
    assert "prepareSession confirm" in messages
    assert "getCapabilities confirm" not in messages


def test_cceb_universe() -> None:
    universe = new_checker("cceb").universe()
    assert set(universe) == {"message types", "actions", "transitions", "phone validation", "off hook"}
    assert assert_unique(universe["message types"]) == [
        "hello", "hello_reply", "action", "ack", *CCEB_REGISTRY.notification_types()
    ]
    assert assert_unique(universe["actions"]) == list(CCEB_REGISTRY.actions())
    transitions = assert_unique(universe["transitions"])
    assert len(transitions) == len(cceb_states.CONNECTION_TRANSITIONS)
    assert transitions == [
        connection_label(*key, target) for key, (_, target) in cceb_states.CONNECTION_TRANSITIONS.items()
    ]
    for table, category, prefix in [
        (cceb_states.PHONE_VALIDATION_TRANSITIONS, "phone validation", "phone_validation"),
        (cceb_states.OFF_HOOK_TRANSITIONS, "off hook", "off_hook"),
    ]:
        labels = assert_unique(universe[category])
        assert len(labels) == len(table)
        assert set(labels) == {f"{prefix} {phase.name} --{state.value}--> {target.name}"
                               for (phase, state), target in table.items()}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_universe_is_declared_once_per_capture(protocol: str) -> None:
    report = validate_files([CLEAN[protocol]], coverage=True)
    assert report.coverage is not None
    assert set(report.coverage.protocols) == {protocol}
    universe = coverage_of(report, protocol).universe
    assert {category: list(labels) for category, labels in universe.items()} == {
        category: list(labels) for category, labels in new_checker(protocol).universe().items()
    }


def test_without_coverage_nothing_is_collected() -> None:
    report = validate_files([CLEAN["cceb"]])
    assert report.coverage is None
    assert "coverage" not in report.to_json()
    assert "coverage" in validate_files([CLEAN["cceb"]], coverage=True).to_json()


# -- 2. what the captures exercised -------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_exercised_label_is_in_the_universe(path: Path) -> None:
    report = validate_files([path], coverage=True)
    protocol = path.stem.split("-")[0]
    coverage = coverage_of(report, protocol)
    assert coverage.hits  # the sample exercised something
    outside = {label for category, counts in coverage.hits.items() for label in counts
               if label not in coverage.universe.get(category, ())}
    unknown = {f.record for f in report.findings if f.code.startswith("unknown-")}
    if path == CLEAN["processor"]:
        assert outside == ACME_LABELS  # the unregistered vendor command, warned about as such
        assert {19, 20} <= unknown
    elif path == FAULTY["processor"]:
        assert outside == {"getcapabilities request"}  # an unknown command (a warning)
    elif path == FAULTY["cceb"]:
        assert outside == {"acme_whisper"}  # an unknown notification (a warning)
    else:
        assert outside == set()
    assert set(coverage.hits) <= set(coverage.universe)
    assert all(n > 0 for counts in coverage.hits.values() for n in counts.values())


@pytest.mark.parametrize(
    "path", [CLEAN["bridge"], FAULTY["bridge"], CLEAN["processor"], FAULTY["processor"], CLEAN["cceb"]],
    ids=lambda p: p.stem,
)
def test_exercised_counts_add_up_to_the_accepted_records(path: Path) -> None:
    report = validate_files([path], coverage=True)
    protocol = path.stem.split("-")[0]
    coverage = coverage_of(report, protocol)
    closes = sum("close" in item for item in sample_lines(path))
    accepted = report.records - len(error_records(report))
    assert report.records == len(sample_lines(path))
    assert sum(coverage.hits["message types"].values()) == accepted - closes
    # Every accepted record is one transition (a close too, for the CCEB).
    assert sum(coverage.hits["transitions"].values()) == accepted - (0 if protocol == "cceb" else closes)


def test_bridge_clean_sample_counts() -> None:
    coverage = coverage_of(validate_files([CLEAN["bridge"]], coverage=True), "bridge")
    assert sum(coverage.hits["message types"].values()) == 16  # 16 records, only a warning
    assert coverage.hits["message types"]["cti.serverstatuschanged"] == 4
    assert dict(coverage.hits["server-status changes"]) == {
        "status (none) -> starting-service": 1, "status starting-service -> in-service": 1,
        "status in-service -> pausing-service": 1, "status pausing-service -> stopping-service": 1,
    }


def test_a_repeated_server_status_is_no_status_change() -> None:
    records = bridge_session()
    records.insert(3, rec("client", b_status("in-service"), protocol="bridge"))
    report = check(records)
    assert report.findings == []
    coverage = coverage_of(report, "bridge")
    assert coverage.hits["message types"]["cti.serverstatuschanged"] == 2
    assert dict(coverage.hits["server-status changes"]) == {"status (none) -> in-service": 1}


def hits_of(report: Report, protocol: str) -> dict[str, dict[str, int]]:
    return {category: dict(counts) for category, counts in coverage_of(report, protocol).hits.items()}


BRIDGE_BAD = [
    # answers a requestId never asked (sequence)
    pytest.param(4, rec("client", b_response("cti.query.capabilities", 99, CAPS_BODY), protocol="bridge"),
                 id="unknown-correlation-id"),
    # a capabilities answer breaking its schema (the real answer follows)
    pytest.param(4, rec("client", b_response("cti.query.capabilities", 2, {**CAPS_BODY, "channel-groups-supported":
                                                                          "no"}), protocol="bridge"),
                 id="schema-violation"),
    # createsession before the client's first status (sequence)
    pytest.param(2, rec("server", b_request("cti.request.createsession", 7, {
        "agentId": "bob", "agentPassword": CANARY, "sessionId": "s2", "destination": "Acme1.bob.s2"}),
        protocol="bridge"), id="createsession-too-early"),
    # a status event that is not allowed (in-service -> starting-service; recorded all the same, so it comes last)
    pytest.param(7, rec("client", b_status("starting-service"), protocol="bridge"), id="status-transition"),
]


@pytest.mark.parametrize(("at", "bad"), BRIDGE_BAD)
def test_a_bridge_record_with_an_error_exercises_nothing(at: int, bad: dict[str, Any]) -> None:
    clean = check(bridge_session())
    assert clean.findings == []
    records = bridge_session()
    records.insert(at, bad)
    report = check(records)
    assert error_records(report) == {at + 1}
    assert hits_of(report, "bridge") == hits_of(clean, "bridge")


PROCESSOR_BAD = [
    pytest.param(2, ps(p_success("getCapabilities", {"reports": [], "maxSessions": 1})),
                 id="no-outstanding-request"),
    pytest.param(0, ps(team_changed("1001")), id="report-not-active"),
    pytest.param(5, ps(team_changed("1001")), id="event-after-end"),
    pytest.param(1, pc({"command": "report.teamstatus.begin", "data": {"agentId": 1001}}), id="schema"),
    pytest.param(2, pc(team_changed("1001")), id="client-sends-an-event"),
]


@pytest.mark.parametrize(("at", "bad"), PROCESSOR_BAD)
def test_a_processor_record_with_an_error_exercises_nothing(at: int, bad: dict[str, Any]) -> None:
    clean = check(processor_conversation())
    assert clean.findings == []
    records = processor_conversation()
    records.insert(at, bad)
    report = check(records)
    assert error_records(report) == {at + 1}
    assert hits_of(report, "processor") == hits_of(clean, "processor")


CCEB_BAD = [
    pytest.param(1, cs(notification(9)), id="notification-before-hello-reply"),
    pytest.param(2, cc(ack(77)), id="ack-of-an-unknown-uuid"),
    pytest.param(2, cc(hello(9)), id="second-hello"),
    pytest.param(2, cc(action(9, "FlyToTheMoonEvent")), id="unsupported-action"),
    pytest.param(4, cc(ack(3)), id="acked-twice"),
    pytest.param(2, cs(notification(9, "phone_validation", state="verified")), id="phone-validation-transition"),
]


@pytest.mark.parametrize(("at", "bad"), CCEB_BAD)
def test_a_cceb_record_with_an_error_exercises_nothing(at: int, bad: dict[str, Any]) -> None:
    base = [*opened(), cs(notification(3)), cc(ack(3)), *both_closed(protocol="cceb")]
    clean = check(base)
    assert clean.findings == []
    records = list(base)
    records.insert(at, bad)
    report = check(records)
    assert error_records(report) == {at + 1}
    assert hits_of(report, "cceb") == hits_of(clean, "cceb")


@pytest.mark.parametrize(("after", "reply"), [pytest.param(LIFETIME + 1, RESUMED, id="expired-resumed"),
                                              pytest.param(HOUR, NEW_KEY, id="not-resumed")])
def test_a_hello_reply_breaking_the_session_rules_exercises_nothing(after: float, reply: dict[str, Any]) -> None:
    report = check([*issuing("A", KEY, T), *resuming("B", KEY, T + after, reply)])
    assert error_records(report) == {6}
    hits = coverage_of(report, "cceb").hits
    assert hits["message types"]["hello"] == 2  # B's hello is fine
    assert hits["message types"]["hello_reply"] == 1  # A's only: B's broke the session rules


def test_processor_report_transitions_are_hit_by_a_team_status_conversation() -> None:
    records = [
        pc(begin("1001")), ps(p_success("report.teamstatus.begin")),  # INACTIVE -> ACTIVE
        ps(team_changed("1001")), ps(team_changed("1001")),  # ACTIVE event, twice
        pc(begin("1001")), ps(p_success("report.teamstatus.begin")),  # ACTIVE -> ACTIVE
        pc(end("1001")), ps(p_success("report.teamstatus.end")),  # ACTIVE -> INACTIVE
        pc(end("1001")), ps(p_success("report.teamstatus.end")),  # INACTIVE -> INACTIVE
        pc(begin("2002")), ps(p_failure(begin("2002"))),  # a failed begin: no report transition
    ]
    report = check(records)
    assert report.findings == []
    coverage = coverage_of(report, "processor")
    assert dict(coverage.hits["report transitions"]) == {
        "report INACTIVE --report.teamstatus.begin succeeded--> ACTIVE": 1,
        "report ACTIVE --team-status event--> ACTIVE": 2,
        "report ACTIVE --report.teamstatus.begin succeeded--> ACTIVE": 1,
        "report ACTIVE --report.teamstatus.end succeeded--> INACTIVE": 1,
        "report INACTIVE --report.teamstatus.end succeeded--> INACTIVE": 1,
    }
    assert coverage.missed("report transitions") == []
    assert coverage.hits["transitions"]["IDLE --processor: event--> notify"] == 2
    assert coverage.hits["transitions"]["AWAITING --processor: failure--> answer"] == 1
    assert coverage.hits["message types"]["report.teamstatus.begin failure"] == 1


def test_processor_clean_sample_hits_the_report_transitions() -> None:
    coverage = coverage_of(validate_files([CLEAN["processor"]], coverage=True), "processor")
    assert coverage.hits["report transitions"] == Counter({
        "report INACTIVE --report.teamstatus.begin succeeded--> ACTIVE": 1,
        "report ACTIVE --team-status event--> ACTIVE": 6,
        "report ACTIVE --report.teamstatus.end succeeded--> INACTIVE": 1,
    })


def close_hits(report: Report) -> dict[str, int]:
    return {label: n for label, n in coverage_of(report, "cceb").hits["transitions"].items() if ": close-->" in label}


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([*opened(), close("client", protocol="cceb"), close("server", protocol="cceb")],
                     {"OPEN --client: close--> CLOSED": 1, "CLOSED --cceb: close--> CLOSED": 1}, id="open"),
        pytest.param([*opened(), close("server", protocol="cceb"), close("client", protocol="cceb")],
                     {"OPEN --cceb: close--> CLOSED": 1, "CLOSED --client: close--> CLOSED": 1}, id="server-first"),
        pytest.param([cc(hello(1)), close("server", protocol="cceb"), close("client", protocol="cceb")],
                     {"AWAITING_HELLO_REPLY --cceb: close--> CLOSED": 1, "CLOSED --client: close--> CLOSED": 1},
                     id="authentication-failure"),
        pytest.param([close("client", protocol="cceb"), close("server", protocol="cceb")],
                     {"AWAITING_HELLO --client: close--> CLOSED": 1, "CLOSED --cceb: close--> CLOSED": 1},
                     id="before-hello"),
    ],
)
def test_cceb_close_records_hit_the_close_transitions(records: list[dict[str, Any]], expected: dict[str, int]) -> None:
    report = check(records)
    assert report.findings == []
    assert close_hits(report) == expected
    # A close is no message.
    assert sum(coverage_of(report, "cceb").hits.get("message types", Counter()).values()) == len(records) - 2


def test_cceb_clean_sample_close_transitions() -> None:
    report = validate_files([CLEAN["cceb"]], coverage=True)
    assert close_hits(report) == {
        "AWAITING_HELLO_REPLY --cceb: close--> CLOSED": 1, "OPEN --client: close--> CLOSED": 1,
        "OPEN --cceb: close--> CLOSED": 1,
    }


PHONE_STATES = ["offering", "answered", "verified", "offering", "answered", "invalid", "offering", "rejected",
                "offering", "dropped", "offering", "answered", "dropped"]


def notified(message_type: str, states: list[str]) -> list[dict[str, Any]]:
    records = opened()
    for i, state in enumerate(states):
        extra = {"timeout": 30} if state == "offering" else {}
        records += [cs(notification(10 + i, message_type, state=state, **extra)), cc(ack(10 + i))]
    return records


def test_phone_validation_phase_transitions_are_hit() -> None:
    report = check(notified("phone_validation", PHONE_STATES))
    assert report.findings == []
    coverage = coverage_of(report, "cceb")
    hits = coverage.hits["phone validation"]
    assert sum(hits.values()) == len(PHONE_STATES)
    assert coverage.missed("phone validation") == []
    assert hits["phone_validation IDLE --offering--> OFFERING"] == 1
    assert hits["phone_validation OFFERING --answered--> ANSWERED"] == 3
    assert hits["phone_validation ANSWERED --dropped--> DROPPED"] == 1
    assert coverage.hits["message types"]["phone_validation"] == len(PHONE_STATES)
    assert "off hook" not in coverage.hits


def test_cceb_clean_sample_phase_hits() -> None:
    coverage = coverage_of(validate_files([CLEAN["cceb"]], coverage=True), "cceb")
    assert dict(coverage.hits["phone validation"]) == {
        "phone_validation IDLE --offering--> OFFERING": 1, "phone_validation OFFERING --answered--> ANSWERED": 1,
        "phone_validation ANSWERED --verified--> VERIFIED": 1,
    }
    assert dict(coverage.hits["off hook"]) == {
        "off_hook UNKNOWN --offering--> OFFERING": 1, "off_hook OFFERING --answered--> ANSWERED": 1,
        "off_hook ANSWERED --authenticated--> AUTHENTICATED": 1,
    }
    assert dict(coverage.hits["actions"]) == {"BlindTransferEvent": 1, "ChangeAgentStateEvent": 1}


def test_off_hook_phases_are_hit_from_unknown() -> None:
    states = ["status", "enabled", "offering", "rejected", "offering", "offering", "answered", "dropped"]
    report = check(notified("off_hook", states))
    assert report.findings == []
    hits = coverage_of(report, "cceb").hits["off hook"]
    assert sum(hits.values()) == len(states)
    assert hits["off_hook UNKNOWN --status--> UNKNOWN"] == 1
    assert hits["off_hook OFFERING --offering--> OFFERING"] == 1


# -- 3. merging and the JSON shape ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(CLEAN["bridge"], FAULTY["bridge"], id="bridge"),
        pytest.param(CLEAN["processor"], FAULTY["processor"], id="processor"),
        pytest.param(CLEAN["cceb"], FAULTY["cceb"], id="cceb"),
        pytest.param(CLEAN["cceb"], CLEAN["bridge"], id="cceb-and-bridge"),
    ],
)
def test_merging_two_reports_equals_validating_both_files_into_one(first: Path, second: Path) -> None:
    one, two = validate_files([first], coverage=True), validate_files([second], coverage=True)
    merged = Report()
    merged.merge(one)
    merged.merge(two)
    together = validate_files([first, second], coverage=True)
    assert merged.coverage is not None
    assert together.coverage is not None
    assert merged.coverage.to_json() == together.coverage.to_json()
    assert {p: hits_of(merged, p) for p in merged.coverage.protocols} == {
        p: hits_of(together, p) for p in together.coverage.protocols
    }
    assert merged.records == together.records
    assert len(merged.findings) == len(together.findings)
    # The inputs are untouched (the merge copied the counts).
    again = validate_files([first], coverage=True)
    assert one.coverage is not None
    assert again.coverage is not None
    assert one.coverage.to_json() == again.coverage.to_json()


def test_coverage_merge_adds_counts_and_does_not_alias() -> None:
    report = validate_files([CLEAN["cceb"]], coverage=True)
    assert report.coverage is not None
    total = Coverage()
    total.merge(report.coverage)
    total.merge(report.coverage)
    ours, theirs = total.protocols["cceb"], report.coverage.protocols["cceb"]
    for category, counts in theirs.hits.items():
        assert ours.hits[category] == Counter({label: 2 * n for label, n in counts.items()})
    ours.hits["message types"]["hello"] += 100
    assert theirs.hits["message types"]["hello"] == 4


def test_report_merge_without_coverage() -> None:
    plain = validate_files([CLEAN["bridge"]])
    merged = Report()
    merged.merge(plain)
    assert merged.coverage is None
    with_coverage = validate_files([CLEAN["bridge"]], coverage=True)
    merged.merge(with_coverage)
    assert merged.coverage is not None
    assert with_coverage.coverage is not None
    assert merged.coverage is not with_coverage.coverage
    assert merged.coverage.to_json() == with_coverage.coverage.to_json()
    assert merged.records == 2 * with_coverage.records


HIT = st.tuples(st.sampled_from(["p", "q"]), st.sampled_from(["a", "b"]), st.sampled_from(["x", "y", "z", "w"]))
UNIVERSE = {"a": ("x", "y", "z"), "b": ("y", "x")}


def coverage_from(hits: list[tuple[str, str, str]]) -> Coverage:
    coverage = Coverage()
    for protocol in ("p", "q"):
        coverage.declare(protocol, UNIVERSE)
    for protocol, category, label in hits:
        coverage.hit(protocol, category, label)
    return coverage


@settings(max_examples=60, deadline=None)
@given(st.lists(HIT, max_size=20), st.lists(HIT, max_size=20))
def test_coverage_merge_property(first: list[tuple[str, str, str]], second: list[tuple[str, str, str]]) -> None:
    merged = coverage_from(first)
    merged.merge(coverage_from(second))
    assert merged.to_json() == coverage_from(first + second).to_json()
    into_empty = Coverage()
    into_empty.merge(coverage_from(first))
    into_empty.merge(coverage_from(second))
    assert into_empty.to_json() == merged.to_json()
    for protocol, coverage in merged.protocols.items():
        for category in UNIVERSE:
            exercised = dict(coverage.exercised(category))
            expected = Counter(label for p, c, label in first + second if (p, c) == (protocol, category))
            assert exercised == dict(expected)
            assert set(coverage.missed(category)) == set(UNIVERSE[category]) - set(expected)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_coverage_json_shape(path: Path) -> None:
    report = validate_files([path], coverage=True)
    assert report.coverage is not None
    shape = report.to_json()["coverage"]
    assert shape == report.coverage.to_json()
    json.dumps(shape)  # plain JSON
    protocol = path.stem.split("-")[0]
    assert set(shape) == {protocol}
    coverage = coverage_of(report, protocol)
    assert set(shape[protocol]) == set(coverage.universe)
    for category, entry in shape[protocol].items():
        assert set(entry) == {"exercised", "missed", "total"}
        universe = coverage.universe[category]
        assert entry["total"] == len(universe)
        assert all(isinstance(n, int) and n > 0 for n in entry["exercised"].values())
        assert not set(entry["exercised"]) & set(entry["missed"])
        assert entry["missed"] == [label for label in universe if label in entry["missed"]]  # the universe's order
        outside = [label for label in entry["exercised"] if label not in universe]
        assert len(entry["exercised"]) + len(entry["missed"]) == entry["total"] + len(outside)
        if path in (CLEAN["bridge"], CLEAN["cceb"], FAULTY["bridge"]):
            assert outside == []
            assert len(entry["exercised"]) + len(entry["missed"]) == entry["total"]
        # Inside labels in the universe's order, then the outside ones.
        inside = [label for label in entry["exercised"] if label in universe]
        assert list(entry["exercised"]) == inside + sorted(outside)
        assert inside == [label for label in universe if label in inside]


def test_processor_clean_json_lists_the_vendor_labels_outside_the_total() -> None:
    shape = validate_files([CLEAN["processor"]], coverage=True).to_json()["coverage"]["processor"]["message types"]
    assert set(shape["exercised"]) >= ACME_LABELS
    assert len(shape["exercised"]) + len(shape["missed"]) == shape["total"] + 2


# -- 4. streaming: finished connections are dropped ----------------------------------------------


def pending_then_closed(protocol: str, conn: str = "c") -> list[dict[str, Any]]:
    """A connection left with one unanswered request, closed by both sides."""
    if protocol == "bridge":
        first = [rec("server", b_request("cti.request.serverstatus", 1), conn=conn, protocol="bridge")]
    elif protocol == "processor":
        first = [pc(begin("1001"), conn)]
    else:
        first = [*opened(conn), cs(notification(3), conn)]
    return [*first, *both_closed(conn=conn, protocol=protocol)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_connection_closed_by_both_sides_is_finished_at_once(protocol: str) -> None:
    records = pending_then_closed(protocol)
    validator = CaptureValidator(coverage=True)
    items = list(read_jsonl(lines_of(records), file="capture"))
    for item in items[:-1]:
        validator.feed(item)
    # One side closed: still open, nothing said about the end yet.
    assert "c" in validator._open
    assert "unanswered-request" not in {f.code for f in validator.report.findings}
    validator.feed(items[-1])
    assert "c" not in validator._open
    assert validator._open == {}
    [warning] = validator.report.findings  # before finish()
    assert warning.code == "unanswered-request"
    assert warning.severity is Severity.WARNING
    assert warning.record == len(records) - 2
    assert warning.conn == "c"
    report = validator.finish()
    assert [f.code for f in report.findings] == ["unanswered-request"]  # not reported twice
    assert report.connections == {"capture": {"c": protocol}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_connection_closed_by_one_side_is_finished_at_the_end(protocol: str) -> None:
    records = pending_then_closed(protocol)[:-1]
    validator = CaptureValidator()
    feed_all(validator, records)
    assert "c" in validator._open
    assert validator.report.findings == []
    assert [f.code for f in validator.finish().findings] == ["unanswered-request"]
    assert validator._open == {}


def test_a_cceb_connection_name_reused_after_both_closes_is_a_new_connection() -> None:
    records = [*opened(), *both_closed(protocol="cceb"), *opened(n=5), cs(notification(6)), cc(ack(6))]
    report = check(records)
    assert report.findings == []
    coverage = coverage_of(report, "cceb")
    assert coverage.hits["transitions"]["AWAITING_HELLO --client: hello--> AWAITING_HELLO_REPLY"] == 2
    assert report.connections == {"capture": {"c": "cceb"}}
    # Closed by one side only, the connection goes on: a new hello is out of order.
    half = check([*opened(), close("client", protocol="cceb"), *opened(n=5)])
    assert codes(half) == {(4, "out-of-order"), (5, "out-of-order")}


def test_a_bridge_connection_name_reused_after_both_closes_is_a_new_connection() -> None:
    report = check([*bridge_session(), *both_closed(protocol="bridge"), *bridge_session()])
    assert report.findings == []
    assert coverage_of(report, "bridge").hits["transitions"][
        "AWAITING_INIT --bridge: cti.request.serverstatus--> INITIALIZING"] == 2
    # Without the closes, the second conversation comes after dispose was answered.
    assert (10, "unexpected-message") in codes(check([*bridge_session(), *bridge_session()]))


def test_a_processor_connection_name_reused_after_both_closes_is_a_new_connection() -> None:
    records = [pc(begin("1001")), *both_closed(protocol="processor"), ps(p_success("report.teamstatus.begin"))]
    report = check(records)
    # The old request was warned about when its connection ended; the new connection begins with an answer, so
    # the capture joined it mid-conversation (no open record says it began there).
    assert codes(report) == {(1, "unanswered-request"), (4, "joined-mid-conversation")}
    assert report.errors == 1
    # Closed by one side only, the answer still belongs to the request.
    assert check([pc(begin("1001")), close("client", protocol="processor"),
                  ps(p_success("report.teamstatus.begin"))]).findings == []


def test_a_connection_closed_by_both_sides_before_any_message_is_finished() -> None:
    records = [close("client"), close("server"), *opened()]
    validator = CaptureValidator()
    items = list(read_jsonl(lines_of(records), file="capture"))
    validator.feed(items[0])
    validator.feed(items[1])
    assert "c" not in validator._open
    for item in items[2:]:
        validator.feed(item)
    assert validator.finish().findings == []


def test_protocol_less_closed_connections_do_not_pile_up() -> None:
    validator = CaptureValidator()
    most = 0
    for i in range(200):
        feed_all(validator, [close("client", conn=f"x{i}"), close("server", conn=f"x{i}")])
        most = max(most, len(validator._open))
    assert most <= 1


def cceb_connection(i: int) -> list[dict[str, Any]]:
    conn = f"agent-{i}"
    return [
        cc(hello(1), conn, ts=T + 10 * i), cs(hello_reply(1), conn, ts=T + 10 * i + 1),
        cs(notification(2), conn, ts=T + 10 * i + 2), cc(ack(2), conn, ts=T + 10 * i + 3),
        cc(action(3), conn, ts=T + 10 * i + 4), cs(ack(3), conn, ts=T + 10 * i + 5),
        *both_closed(conn=conn, protocol="cceb", ts=T + 10 * i + 6),
    ]


def test_many_sequential_cceb_connections_keep_memory_bounded() -> None:
    validator = CaptureValidator(coverage=True)
    sessions = None
    most_open = most_seen = most_closed = 0
    count = 2000
    for i in range(count):
        for item in read_jsonl(lines_of(cceb_connection(i)), file="capture"):
            validator.feed(item)
            sessions = sessions or sessions_of(validator)
            most_open = max(most_open, len(validator._open))
            most_seen = max(most_seen, len(sessions.last_seen))
            most_closed = max(most_closed, len(sessions.closed))
    assert sessions is not None
    assert most_open == 1
    assert most_seen == 1
    assert most_closed == 1
    assert validator._open == {}
    assert sessions.last_seen == {}
    assert sessions.closed == {}
    report = validator.finish()
    assert report.findings == []
    assert report.records == 8 * count
    assert len(report.connections["capture"]) == count
    hits = coverage_of(report, "cceb").hits
    assert hits["message types"]["hello"] == count
    assert hits["transitions"]["CLOSED --cceb: close--> CLOSED"] == count


def test_many_sequential_processor_connections_keep_memory_bounded() -> None:
    validator = CaptureValidator()
    most_open = 0
    count = 2000
    for i in range(count):
        records = [*processor_conversation(f"desk-{i}"), *both_closed(conn=f"desk-{i}", protocol="processor")]
        for item in read_jsonl(lines_of(records), file="capture"):
            validator.feed(item)
            most_open = max(most_open, len(validator._open))
    assert most_open == 1
    assert validator._open == {}
    report = validator.finish()
    assert report.findings == []
    assert report.records == 7 * count


def test_two_connections_at_a_time_keep_at_most_two_open() -> None:
    validator = CaptureValidator()
    most_open = 0
    for i in range(0, 400, 2):
        a = [*processor_conversation(f"p{i}"), *both_closed(conn=f"p{i}", protocol="processor")]
        b = [*cceb_connection(i + 1)]
        for item in read_jsonl(lines_of(interleave(a, b)), file="capture"):
            validator.feed(item)
            most_open = max(most_open, len(validator._open))
    assert most_open == 2
    assert validator._open == {}
    assert validator.finish().findings == []


def interleave(*parts: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(max(len(part) for part in parts)):
        out.extend(part[i] for part in parts if i < len(part))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=6), st.randoms(use_true_random=False))
def test_open_connections_are_exactly_those_not_yet_closed_by_both(count: int, rnd: random.Random) -> None:
    """Random interleavings of processor connections: ``_open`` holds exactly the ones started and not finished."""
    scripts = [[*processor_conversation(f"k{i}"), *both_closed(conn=f"k{i}", protocol="processor")]
               for i in range(count)]
    order = [i for i, script in enumerate(scripts) for _ in script]
    rnd.shuffle(order)
    positions = [0] * count
    records = []
    for i in order:
        records.append(scripts[i][positions[i]])
        positions[i] += 1
    validator = CaptureValidator()
    fed = [0] * count
    for item, i in zip(read_jsonl(lines_of(records), file="capture"), order, strict=True):
        validator.feed(item)
        fed[i] += 1
        expected = {f"k{j}" for j in range(count) if 0 < fed[j] < len(scripts[j])}
        assert set(validator._open) == expected
    assert validator._open == {}
    assert validator.report.findings == []


# -- 4b. the CCEB session rules across finished connections ---------------------------------------


def test_a_finished_connection_leaves_no_per_connection_times() -> None:
    validator = CaptureValidator()
    feed_all(validator, issuing("A", KEY, T))
    sessions = sessions_of(validator)
    assert "A" not in validator._open
    assert sessions.last_seen == {}
    assert sessions.closed == {}
    assert len(sessions.keys) == 1  # the session itself is remembered


@pytest.mark.parametrize(
    ("after", "reply", "expected"),
    [
        pytest.param(LIFETIME + 1, RESUMED, SESSION_EXPIRED_RESUMED, id="resumed-after-expiry"),
        pytest.param(LIFETIME - 1, NEW_KEY, SESSION_NOT_RESUMED, id="not-resumed-within-72h"),
        pytest.param(LIFETIME - 1, RESUMED, None, id="resumed-in-time"),
        pytest.param(LIFETIME + 1, NEW_KEY, None, id="new-key-after-expiry"),
    ],
)
def test_session_rules_across_a_finished_connection(after: float, reply: dict[str, Any], expected: str | None
                                                    ) -> None:
    validator = CaptureValidator()
    feed_all(validator, [*issuing("A", KEY, T), *resuming("B", KEY, T + after, reply)])
    # Before the capture ends: B is still open, A long gone.
    assert set(validator._open) == {"B"}
    findings = list(validator.report.findings)
    if expected is None:
        assert findings == []
    else:
        [finding] = findings
        assert (finding.record, finding.code, finding.conn) == (6, expected, "B")
        assert finding.related == (2, 3)  # A's reply and A's first close record
        assert "'A'" in finding.message
        assert KEY not in finding.message
        assert KEY not in finding.excerpt
    assert validator.finish().findings == findings


def test_the_first_close_record_is_when_the_session_was_left() -> None:
    # The server's close comes 1 h after the client's: 72 h after the server's but more after the client's.
    records = [
        cc(hello(1, long_lived=True), "A", ts=T - 2), cs(hello_reply(1, session_key=KEY), "A", ts=T - 1),
        close("client", conn="A", protocol="cceb", ts=T), close("server", conn="A", protocol="cceb", ts=T + HOUR),
        *resuming("B", KEY, T + LIFETIME + 1, RESUMED),
    ]
    report = check(records)
    assert codes(report) == {(6, SESSION_EXPIRED_RESUMED)}
    assert report.findings[0].related == (2, 3)


def test_a_reused_connection_name_still_judges_the_old_session() -> None:
    # A issues KEY and finishes; a new connection also named A resumes it after expiry.
    report = check([*issuing("A", KEY, T), *resuming("A", KEY, T + LIFETIME + 1, RESUMED)])
    assert codes(report) == {(6, SESSION_EXPIRED_RESUMED)}


def issue_keys(count: int, *, end_ts: float = T) -> list[dict[str, Any]]:
    return [item for i in range(count) for item in issuing(f"A{i}", f"{KEY}-{i}", end_ts + i, n=i + 1)]


@pytest.mark.parametrize(("key_index", "judged"), [(0, False), (1, True), (3, True)])
@pytest.mark.parametrize(("after", "reply_code"), [(LIFETIME + 10, SESSION_EXPIRED_RESUMED),
                                                   (HOUR, SESSION_NOT_RESUMED)], ids=["expired", "not-resumed"])
def test_only_the_newest_sessions_are_remembered(
    monkeypatch: pytest.MonkeyPatch, key_index: int, judged: bool, after: float, reply_code: str
) -> None:
    monkeypatch.setattr(cceb_capture, "MAX_TRACKED_SESSIONS", 3)
    key = f"{KEY}-{key_index}"
    reply = {"session_key": key, "resumed": True} if reply_code == SESSION_EXPIRED_RESUMED else NEW_KEY
    records = [*issue_keys(4), *resuming("B", key, T + 3 + after, reply)]
    validator = CaptureValidator()
    feed_all(validator, records)
    assert len(sessions_of(validator).keys) <= 3
    report = validator.finish()
    assert codes(report) == ({(18, reply_code)} if judged else set())


def test_a_forgotten_key_is_judged_with_the_default_limit() -> None:
    records = [*issue_keys(4), *resuming("B", f"{KEY}-0", T + 3 + LIFETIME + 10, {"session_key": f"{KEY}-0",
                                                                                    "resumed": True})]
    assert codes(check(records)) == {(18, SESSION_EXPIRED_RESUMED)}


def test_a_resumed_session_becomes_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    k = [f"{KEY}-{i}" for i in range(4)]
    records = [
        *issue_keys(3),  # k0, k1, k2 (A0-A2 end at T, T+1, T+2)
        # B resumes k0 in time: k0 is the newest now, k1 the oldest.
        cc(hello(20, session_key=k[0]), "B", ts=T + HOUR), cs(hello_reply(20, session_key=k[0], resumed=True), "B",
                                                                ts=T + HOUR),
        *both_closed(conn="B", protocol="cceb", ts=T + HOUR + 1),
        *issuing("A3", k[3], T + HOUR + 10, n=4),  # k3 pushes k1 out
        # k0 and k1 both resumed long after they expired: only k0 is still remembered.
        *resuming("C", k[0], T + 10 * LIFETIME, {"session_key": k[0], "resumed": True}, n=30),
        *resuming("D", k[1], T + 10 * LIFETIME, {"session_key": k[1], "resumed": True}, n=31),
    ]
    # With the default limit, both are judged.
    assert codes(check(records)) == {(22, SESSION_EXPIRED_RESUMED), (24, SESSION_EXPIRED_RESUMED)}
    monkeypatch.setattr(cceb_capture, "MAX_TRACKED_SESSIONS", 3)
    report = check(records)
    assert codes(report) == {(22, SESSION_EXPIRED_RESUMED)}
    assert report.findings[0].conn == "C"
    assert report.findings[0].related == (14, 15)  # B's reply and B's first close


def test_many_connections_with_sessions_keep_the_sessions_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cceb_capture, "MAX_TRACKED_SESSIONS", 5)
    validator = CaptureValidator()
    most = 0
    for i in range(300):
        feed_all(validator, issuing(f"A{i}", f"{KEY}-{i}", T + 10 * i, n=1))
        sessions = sessions_of(validator)
        most = max(most, len(sessions.keys), len(validator._open), len(sessions.last_seen), len(sessions.closed))
        assert len(validator._open) == 0
    assert most == 5
    assert validator.finish().findings == []


# -- 5. excerpts ------------------------------------------------------------------------------


SECRET_NAMES = ["password", "token", "session_key", "sessionKey"]
SUSPECT_NAMES = ["apiKey", "X-Auth-Token", "client_secret", "PASSPHRASE", "pwd", "Cookie", "signature",
                 "credentials", "authorization", "refreshToken", "KEYRING"]


@pytest.mark.parametrize("name", SECRET_NAMES + SUSPECT_NAMES)
@pytest.mark.parametrize(
    "secret", [CANARY, 987654321, [CANARY], {"inner": CANARY}], ids=["string", "number", "list", "object"]
)
def test_secret_members_are_hidden_at_any_depth(name: str, secret: Any) -> None:
    flat = {"name": "ada", name: secret}
    deep = {"a": [1, {"b": {"c": [{name: secret, "ok": "shown"}]}}]}
    for value, expected in [
        (flat, {"name": "ada", name: REDACTED}),
        (deep, {"a": [1, {"b": {"c": [{name: REDACTED, "ok": "shown"}]}}]}),
    ]:
        text = excerpt(value)
        assert CANARY not in text
        assert "987654321" not in text
        assert json.loads(text) == expected
    assert "ada" in excerpt(flat)  # what is not secret is shown


@pytest.mark.parametrize("part", SUSPECT_NAME_PARTS)
def test_every_suspect_name_part_hides_its_member(part: str) -> None:
    for name in (part, part.upper(), f"my{part.capitalize()}Value", f"x_{part}_y"):
        assert json.loads(excerpt({name: CANARY, "plain": 1})) == {name: REDACTED, "plain": 1}


def test_harmless_names_are_shown() -> None:
    value = {"type": "presence", "uuid": uid(1), "data": {"state": "Away", "n": 3}}
    assert len(json.dumps(value, separators=(",", ":"))) <= EXCERPT_LENGTH
    assert json.loads(excerpt(value)) == value


def test_excerpts_are_short() -> None:
    long_value = {"data": ["x" * 30 for _ in range(20)]}
    text = excerpt(long_value)
    assert len(text) == EXCERPT_LENGTH
    assert text.endswith("\u2026")
    assert text[:-1] == json.dumps(long_value, separators=(",", ":"))[: EXCERPT_LENGTH - 1]
    fits = {"d": "y" * (EXCERPT_LENGTH - 8)}  # exactly EXCERPT_LENGTH characters as JSON
    assert len(json.dumps(fits, separators=(",", ":"))) == EXCERPT_LENGTH
    assert excerpt(fits) == json.dumps(fits, separators=(",", ":"))
    raw = "not json " * 50
    assert len(excerpt(None, raw)) <= EXCERPT_LENGTH
    assert excerpt(None, raw).startswith("not json not json")
    assert excerpt(None, None) == ""


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "hello", "data": {"token": "' + CANARY + '"',
        '{"data": {"PassWord": "' + CANARY + '", ',
        "session_key=" + CANARY,
        '{"x": 1, "sessionKey" : ' + CANARY,
        "Cookie: sid=" + CANARY,
        '{"apiKey": "' + CANARY + '" trailing',
    ],
)
def test_unparseable_text_with_a_secret_looking_name_is_withheld(raw: str) -> None:
    text = excerpt(None, raw)
    assert text == "(not shown: it may hold a secret)"
    assert CANARY not in text


def test_unparseable_text_without_such_a_name_is_shown() -> None:
    assert excerpt(None, '{"type": "presence", "data": ') == '{\\"type\\": \\"presence\\", \\"data\\": '


def test_unparseable_text_with_an_escaped_secret_name_is_withheld() -> None:
    raw = '{"type": "hello", "data": {"\\u0074oken": "' + CANARY + '"'
    assert json.loads(raw + "}}")["data"]["token"] == CANARY  # the name is "token"
    assert CANARY not in excerpt(None, raw)


def test_a_finding_on_an_unparseable_record_withholds_its_secret() -> None:
    raw = '{"type": "hello", "uuid": "' + uid(1) + '", "data": {"token": "' + CANARY + '"'
    report = check([{"from": "client", "conn": "c", "protocol": "cceb", "raw": raw}])
    [finding] = report.findings
    assert finding.excerpt == "(not shown: it may hold a secret)"
    assert CANARY not in json.dumps(report.to_json())


def test_a_finding_on_a_message_shows_it_redacted() -> None:
    report = check([cs(hello_reply(1, session_key=KEY))])  # before the hello: out of order
    [finding] = report.findings
    assert finding.code == "out-of-order"
    assert KEY not in finding.excerpt
    assert '"session_key":"***"' in finding.excerpt
    assert len(finding.excerpt) <= EXCERPT_LENGTH


PLAIN_TEXT = st.text(alphabet="abcdefgh 0123456789", max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | PLAIN_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(PLAIN_TEXT, children, max_size=4),
    max_leaves=15,
)


@st.composite
def suspect_names(draw: st.DrawFn) -> str:
    part = draw(st.sampled_from([*SUSPECT_NAME_PARTS, *SECRET_NAMES]))
    part = "".join(c.upper() if draw(st.booleans()) else c for c in part)
    return draw(PLAIN_TEXT.filter(lambda s: " " not in s)) + part + draw(PLAIN_TEXT)


@st.composite
def planted(draw: st.DrawFn) -> tuple[Any, str]:
    """A random JSON object with a secret string somewhere under a suspect member name."""
    secret = "ZQ-" + draw(st.text(alphabet="IJKLMNOP", min_size=6, max_size=12))
    held: Any = draw(st.sampled_from([secret, [secret], {"v": secret}, [1, {"w": [secret]}]]))
    value: Any = {draw(suspect_names()): held}
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            others = draw(st.lists(JSON_VALUES, max_size=3))
            value = [*others[: len(others) // 2], value, *others[len(others) // 2:]]
        else:
            others = draw(st.dictionaries(PLAIN_TEXT, JSON_VALUES, max_size=3))
            value = {**others, draw(PLAIN_TEXT) + "x": value}
    if isinstance(value, list):
        value = {"data": value}
    value.update(draw(st.dictionaries(PLAIN_TEXT.map(lambda s: s + "y"), JSON_VALUES, max_size=3)))
    return value, secret


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planted())
def test_a_planted_secret_never_appears_in_the_excerpt(case: tuple[Any, str]) -> None:
    value, secret = case
    assert secret in json.dumps(value)  # it is really there
    text = excerpt(value)
    assert secret not in text
    assert "ZQ-" not in text  # not even a cut-off piece of it
    assert len(text) <= EXCERPT_LENGTH
    # Text that does not parse (the object cut short) is withheld altogether.
    raw = json.dumps(value)
    assert secret not in excerpt(None, raw[:-1])


@settings(max_examples=100, deadline=None)
@given(JSON_VALUES, st.text(max_size=400))
def test_excerpts_never_exceed_the_limit(value: Any, raw: str) -> None:
    assert len(excerpt(value)) <= EXCERPT_LENGTH
    assert len(excerpt(None, raw)) <= EXCERPT_LENGTH


def test_coverage_key_is_where_the_checkers_find_the_coverage() -> None:
    coverage = Coverage()
    checker = CcebConnectionChecker(limits=DEFAULT_LIMITS, strict=False, capture={COVERAGE_KEY: coverage})
    assert set(coverage.protocols) == {"cceb"}
    assert coverage.protocols["cceb"].universe == {
        category: tuple(labels) for category, labels in checker.universe().items()
    }
    [record] = read_jsonl(lines_of([cc(hello(1))]), file="f")
    assert not isinstance(record, BadRecord)
    assert checker.check(record) == []
    assert coverage.protocols["cceb"].hits == {
        "message types": Counter({"hello": 1}),
        "transitions": Counter({"AWAITING_HELLO --client: hello--> AWAITING_HELLO_REPLY": 1}),
    }


def test_without_all_connections_only_connections_with_findings_are_kept() -> None:
    from ccproto.capture import validate_files

    root = Path(__file__).resolve().parent.parent / "examples" / "captures"
    kept = validate_files([root / "cceb-faulty.jsonl"], all_connections=False)
    every = validate_files([root / "cceb-faulty.jsonl"])
    assert kept.findings == every.findings
    [(file, conns)] = kept.connections.items()
    assert set(conns) == {f.conn for f in kept.findings if f.conn is not None}
    assert set(conns) < set(every.connections[file])
    assert all(every.connections[file][name] == protocol for name, protocol in conns.items())
    clean = validate_files([root / "cceb-clean.jsonl"], all_connections=False)
    assert clean.findings == []
    assert list(clean.connections.values()) == [{}]
