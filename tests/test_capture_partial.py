"""Captures that do not hold every connection from its start: cut, rotated, late-started (issue 18).

A connection whose first record cannot open it was joined mid-conversation: exactly one finding says so
(an error, a warning with ``partial``) and the rest of the connection is checked as far as the capture allows.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ccproto.capture import Kind, Report, Severity, validate_capture
from ccproto.core.checker import JOINED

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = {protocol: EXAMPLES / f"{protocol}-clean.jsonl" for protocol in ("bridge", "processor", "cceb")}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def errors(report: Report) -> list[tuple[str | None, str]]:
    return sorted((f.conn, f.code) for f in report.findings if f.severity is Severity.ERROR)


def joined(report: Report) -> list[str | None]:
    return sorted(f.conn for f in report.findings if f.code == JOINED)


def opened(records: list[dict[str, Any]], conn: str) -> list[dict[str, Any]]:
    """The records of ``conn``, after an open record: read as a connection the capture holds from its start."""
    own = [r for r in records if r.get("conn") == conn]
    first = own[0]
    start = {"conn": conn, "from": "client", "open": {}, **({"ts": first["ts"]} if "ts" in first else {})}
    if "protocol" in first:
        start["protocol"] = first["protocol"]
    return [start, *own]


def cut_connections(records: list[dict[str, Any]], cut: int) -> set[str]:
    """Connections of the suffix ``records[cut:]`` that have records before the cut."""
    before = {r.get("conn") for r in records[:cut]}
    return {r.get("conn") for r in records[cut:]} & before


def observably_cut(records: list[dict[str, Any]], cut: int) -> set[str]:
    """The cut connections whose records after the cut are not, on their own, a valid whole conversation.

    A cut just before a message that can open a connection (a processor request, say) leaves a connection
    no reader can tell from one that opened there: with an open record before it, it validates clean.
    Every other cut connection must get exactly one ``joined-mid-conversation`` finding.
    """
    suffix = records[cut:]
    return {conn for conn in cut_connections(records, cut) if validate_capture(opened(suffix, conn)).failed}


@pytest.mark.parametrize("protocol", sorted(CLEAN))
def test_every_cut_of_a_clean_capture(protocol: str) -> None:
    records = lines(CLEAN[protocol])
    assert not validate_capture(records).failed
    for cut in range(1, len(records)):
        suffix = records[cut:]
        expected = sorted(observably_cut(records, cut))
        partial = validate_capture(suffix, partial=True)
        assert errors(partial) == [], (cut, errors(partial))
        assert joined(partial) == expected, cut
        assert all(f.severity is Severity.WARNING and f.kind is Kind.CAPTURE
                   for f in partial.findings if f.code == JOINED)
        strict = validate_capture(suffix)
        assert errors(strict) == [(conn, JOINED) for conn in expected], cut


def test_cuts_that_the_records_show_are_most_of_them() -> None:
    """The exemption above is narrow: nearly every cut is observable (a processor request can open)."""
    for protocol, path in CLEAN.items():
        records = lines(path)
        cuts = [(cut, conn) for cut in range(1, len(records)) for conn in cut_connections(records, cut)]
        seen = [(cut, conn) for cut, conn in cuts if conn in observably_cut(records, cut)]
        unseen = [(cut, records[cut]) for cut, conn in cuts if conn not in observably_cut(records, cut)]
        assert len(seen) >= len(cuts) // 2, protocol
        for _, first in unseen:
            # Only a record that can itself open a connection hides a cut.
            message = first.get("message", {})
            assert (
                (protocol == "processor" and first["from"] == "client" and "result" not in message)
                or (protocol == "cceb" and (message.get("type") == "hello" or "close" in first))
                or (protocol == "bridge" and "close" in first)
            ), (protocol, first)


def _corrupt(protocol: str, message: dict[str, Any]) -> dict[str, Any]:
    """The message with one member of a wrong type (a schema violation every reading sees)."""
    broken = copy.deepcopy(message)
    if protocol == "bridge":
        broken["header"]["name"] = 7
    elif protocol == "processor":
        if "command" in broken:
            broken["command"] = 7
        else:
            broken["data"] = 7
    else:
        broken["uuid"] = 7
    return broken


@pytest.mark.parametrize("protocol", sorted(CLEAN))
def test_a_fault_after_the_cut_is_still_found(protocol: str) -> None:
    records = lines(CLEAN[protocol])
    for cut in range(1, len(records)):
        suffix = copy.deepcopy(records[cut:])
        where = max((i for i, r in enumerate(suffix) if "message" in r), default=None)
        if where is None:
            continue
        suffix[where]["message"] = _corrupt(protocol, suffix[where]["message"])
        report = validate_capture(suffix, partial=True)
        faults = [f for f in report.findings if f.severity is Severity.ERROR]
        assert faults, cut
        assert {f.record for f in faults} == {where + 1}, (cut, faults)


def test_a_sequence_fault_after_the_cut_is_still_found() -> None:
    """History the capture does show still counts: an ack repeated after the cut is an error."""
    records = lines(CLEAN["cceb"])
    for cut in range(1, 28):
        suffix = records[cut:]
        acks = [i for i, r in enumerate(suffix) if r.get("message", {}).get("type") == "ack" and i > 0]
        last = acks[-1]
        planted = [*suffix[: last + 1], suffix[last], *suffix[last + 1:]]
        report = validate_capture(planted, partial=True)
        assert [(f.record, f.code) for f in report.findings if f.severity is Severity.ERROR] == [
            (last + 2, "already-acked")
        ], cut


# -- open records -------------------------------------------------------------------------------------------


def test_an_open_record_means_never_joined() -> None:
    """A connection with an open record is read from its start: a missing hello is the client's fault."""
    action = {"type": "action", "uuid": "00000000-0000-4000-8000-000000000001",
              "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Available"}}}
    records = [
        {"ts": 1.0, "conn": "a", "from": "client", "protocol": "cceb", "open": {}},
        {"ts": 2.0, "conn": "a", "from": "client", "protocol": "cceb", "message": action},
    ]
    report = validate_capture(records, partial=True)
    assert [(f.record, f.code) for f in report.findings] == [(2, "out-of-order")]
    without = validate_capture(records[1:], partial=True)
    assert [(f.record, f.code, f.severity.value) for f in without.findings] == [
        (1, JOINED, "warning"), (1, "unanswered-request", "warning")]  # the action was never acked


def test_an_open_record_starts_a_new_connection_of_the_same_name() -> None:
    records = lines(CLEAN["cceb"])
    agent = [r for r in records if r["conn"] == "agent-1"]
    again = [{"ts": "2026-11-02T09:30:00Z", "conn": "agent-1", "from": "client", "protocol": "cceb", "open": {}},
             *[{**r, "ts": r["ts"].replace("T09:00", "T09:30")} for r in agent[:4]]]
    report = validate_capture([*agent[:10], *again])
    assert not report.failed, report.findings


def test_an_open_record_must_hold_an_object() -> None:
    report = validate_capture([{"conn": "a", "from": "client", "open": "now"}])
    assert [(f.code, f.message) for f in report.findings] == [("bad-record", "'open' must be an object")]


def test_a_record_holds_one_of_message_raw_close_open() -> None:
    report = validate_capture([{"conn": "a", "from": "client", "open": {}, "close": {}}])
    assert [f.message for f in report.findings] == [
        "a record has exactly one of 'message', 'raw', 'close' and 'open'"
    ]


# -- the joined readings, protocol by protocol -----------------------------------------------------------------


def _bridge(records: list[tuple[str, dict[str, Any]]], t0: float = 100.0) -> list[dict[str, Any]]:
    return [{"ts": t0 + i, "conn": "b", "from": sender, "protocol": "bridge", "message": message}
            for i, (sender, message) in enumerate(records)]


def _guid(n: int) -> str:
    return f"6f1b0b2e-9a3f-4f5e-8c1d-{n:012d}"


def _response(name: str, n: int, body: dict[str, Any] | None = None, **header: Any) -> dict[str, Any]:
    return {"header": {"type": "cti.response", "name": name, "target": "Acme1.CONTROL", "requestId": _guid(n),
                       "result": "SUCCESS", **header}, "body": body or {}}


def _request(name: str, n: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    kind = "cti.query" if name.startswith("cti.query.") else "cti.request"
    return {"header": {"type": kind, "name": name, "target": "Acme1.CONTROL", "requestId": _guid(n)},
            "body": body or {}}


def test_bridge_joined_reading() -> None:
    """Answers to requests from before the capture pass while they could still come; status rules hold after
    the first status seen; createsession needs no initialization the capture did not show."""
    status = {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"}, "body": {"status": "in-service"}}
    records = _bridge([
        ("client", _response("cti.query.capabilities", 1, {
            "channel-groups-supported": True, "channel-groups-max-per-agent": 2, "channel-groups-media-types": "a",
            "single-channels-supported": True, "single-channels-media-types": "a"})),  # asked before the capture
        ("server", _request("cti.request.createsession", 2, {"agentId": "ada", "agentPassword": "p",
                                                             "sessionId": "s", "destination": "d"})),
        ("client", _response("cti.request.createsession", 2)),  # no status seen yet: it was reported before
        ("client", status),
        ("client", {**status, "body": {"status": "starting-service"}}),  # in-service -> starting: wrong
        ("client", _response("cti.query.agentinfo", 9, {"switch-agent-id": "4711", "full-name": "Ada"})),  # 5 s in
    ])
    report = validate_capture(records, partial=True)
    assert [(f.record, f.code) for f in report.findings] == [(1, JOINED), (5, "invalid-status-transition")]
    late = [*records, {**records[-1], "ts": 100.0 + 31}]  # 31 s after the capture began: it answers nothing
    report = validate_capture(late, partial=True)
    assert (7, "unknown-correlation-id") in [(f.record, f.code) for f in report.findings]


def test_cceb_joined_reading() -> None:
    """An ack of a notification sent before the capture passes within request_timeout of its start."""
    ack = {"type": "ack", "uuid": "00000000-0000-4000-8000-000000000009"}
    records = [
        {"ts": 10.0, "conn": "c", "from": "client", "protocol": "cceb", "message": ack},
        {"ts": 11.0, "conn": "c", "from": "client", "protocol": "cceb", "message": ack},  # twice: an error
        {"ts": 45.0, "conn": "c", "from": "client", "protocol": "cceb",
         "message": {**ack, "uuid": "00000000-0000-4000-8000-00000000000a"}},  # too late to be from before
    ]
    report = validate_capture(records, partial=True)
    assert [(f.record, f.code) for f in report.findings] == [
        (1, JOINED), (2, "already-acked"), (3, "unknown-uuid")]


def test_processor_cut_shows_late() -> None:
    """No message opens a processor connection: a cut shows when a message needs history the capture lacks."""
    records = lines(CLEAN["processor"])[12:]  # from a report.calljourney request, while a report runs
    report = validate_capture(records, partial=True)
    found = [f for f in report.findings if f.code == JOINED]
    assert [(f.record, f.related, f.severity.value) for f in found] == [(3, (1,), "warning")]
    assert "record 1, a report.calljourney request" in found[0].message
    assert not report.failed


def test_without_partial_a_cut_is_one_error_not_a_cascade() -> None:
    records = lines(CLEAN["cceb"])[2:28]  # agent-1 from its first action on: no hello, no hello_reply
    report = validate_capture(records)
    assert errors(report) == [("agent-1", JOINED)]
    [finding] = [f for f in report.findings if f.severity is Severity.ERROR]
    assert finding.record == 1
    assert "'action' message from the client" in finding.message
    assert "--partial" in finding.message


# -- the command line -------------------------------------------------------------------------------------------


def test_cli_partial_one_capture_and_idle_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ccproto.cli import main

    records = lines(CLEAN["cceb"])
    first, second = tmp_path / "day-1.jsonl", tmp_path / "day-2.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:10]), encoding="utf-8")
    second.write_text("".join(json.dumps(r) + "\n" for r in records[10:]), encoding="utf-8")
    # The second day on its own begins in the middle of agent-1's conversation: an error, a warning with --partial.
    assert main(["validate", "--format", "json", str(second)]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["record"], f["code"], f["kind"]) for f in found if f["severity"] == "error"] == [
        (1, JOINED, "capture")]
    assert main(["validate", "--partial", str(second)]) == 0
    assert "warning [capture/joined-mid-conversation]" in capsys.readouterr().out
    # Read as one capture, nothing is cut.
    assert main(["validate", "--one-capture", str(first), str(second)]) == 0
    assert capsys.readouterr().out.splitlines() == ["OK: 38 records, 0 errors, 0 warnings"]
    # agent-1 is silent for 10 hours before its resumed connection: idle bounds do not change the verdict.
    for spec in (["--idle-timeout", "60"], ["--idle-timeout", "cceb=60", "--idle-timeout", "bridge=off"]):
        assert main(["validate", *spec, "--one-capture", str(first), str(second)]) == 0
        capsys.readouterr()


@pytest.mark.parametrize("spec", ["0", "-5", "nan", "inf", "soon", "ftp=60", "cceb="])
def test_cli_idle_timeout_usage_errors(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ccproto.cli import main

    assert main(["validate", "--idle-timeout", spec, str(CLEAN["cceb"])]) == 2
    assert "--idle-timeout" in capsys.readouterr().err
