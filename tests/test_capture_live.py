"""Live checking (``ccproto serve``'s output) and recording: validate's lines, secrets kept out, replayable files."""

from __future__ import annotations

import io
import json

from ccproto.capture.live import LiveCapture
from ccproto.capture.recording import Recording
from ccproto.capture.validator import validate_capture
from ccproto.core.roles import Role

TOKEN = "tok-Very-Secret-123"
HELLO = json.dumps({"type": "hello", "uuid": "5f5f0966-65a2-4e95-9973-dff9ea242e19",
                    "data": {"token": TOKEN, "tenant": "acme", "long_lived": True}})
REPLY = json.dumps({"type": "hello_reply", "uuid": "5f5f0966-65a2-4e95-9973-dff9ea242e19",
                    "data": {"session_key": "key-Very-Secret-456", "resumed": False}})
STRAY_ACK = json.dumps({"type": "ack", "uuid": "c5961fca-52e3-469d-a260-64cb60662680"})


def live_run(*texts: tuple[Role, str]) -> tuple[list[str], LiveCapture, str]:
    lines: list[str] = []
    file = io.StringIO()
    live = LiveCapture(write=lines.append, record=file, name="serve")
    for number, (sender, text) in enumerate(texts):
        live.message(conn="serve-1", sender=sender, protocol="cceb", now=1_800_000_000.0 + number, text=text)
    return lines, live, file.getvalue()


def test_each_record_is_printed_with_a_redacted_excerpt() -> None:
    lines, live, _ = live_run((Role.CLIENT, HELLO), (Role.SERVER, REPLY))
    assert lines[0].startswith("record 1 connection 'serve-1' (cceb) client: {")
    assert lines[1].startswith("record 2 connection 'serve-1' (cceb) server: {")
    assert len(lines) == 2
    assert live.summary() == "OK: 2 records, 0 errors, 0 warnings"
    assert not any(secret in "\n".join(lines) for secret in (TOKEN, "key-Very-Secret-456"))


def test_findings_follow_their_record_in_validates_format() -> None:
    lines, live, _ = live_run((Role.CLIENT, HELLO), (Role.SERVER, REPLY), (Role.SERVER, STRAY_ACK))
    finding = lines[3]
    assert finding.startswith("    record 3: error [")
    assert "unknown-uuid" in finding
    assert lines[4].startswith("      > ")
    assert live.report.failed
    assert live.summary() == "FAILED: 3 records, 1 error, 0 warnings"


def test_the_recording_validates_as_the_live_check_did_and_holds_no_secret() -> None:
    _, live, recorded = live_run((Role.CLIENT, HELLO), (Role.SERVER, REPLY), (Role.SERVER, STRAY_ACK))
    assert TOKEN not in recorded
    assert "key-Very-Secret-456" not in recorded
    report = validate_capture(io.StringIO(recorded), file="recorded")
    assert [f.code for f in report.findings] == [f.code for f in live.report.findings]


def test_closes_print_and_finish_the_connection() -> None:
    lines: list[str] = []
    live = LiveCapture(write=lines.append)
    live.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=1.0, text=HELLO)
    live.close(conn="c", sender=Role.CLIENT, protocol="cceb", now=2.0, code=1000)
    live.close(conn="c", sender=Role.SERVER, protocol="cceb", now=2.0, code=1000, reason="bye")
    assert lines[1].endswith("client: closed (code 1000)")
    assert lines[2].endswith("server: closed (code 1000): bye")
    # Both sides closed: the validator ran its end-of-connection checks (the hello was never answered).
    assert [f.code for f in live.report.findings] == ["unanswered-request"], live.report.findings


def test_recording_placeholders_are_stable_and_keep_json_types() -> None:
    recording = Recording()
    for text in (HELLO, HELLO, json.dumps({"command": "x", "data": {"password": 1234}})):
        recording.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=0.0, text=text)
    first, second, third = recording.records
    assert first["message"] == second["message"]
    assert first["message"]["data"]["token"] == "secret-1"  # type: ignore[index, call-overload]
    assert third["message"]["data"]["password"] == 2  # type: ignore[index, call-overload]
    assert recording.jsonl().count("\n") == 3


def test_a_recording_that_keeps_nothing_still_returns_each_record() -> None:
    recording = Recording(keep=False)
    record = recording.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=0.0, text='{"token": "x"')
    assert recording.records == []
    assert "message" not in record
    assert record["raw"] == '{"token": "***"'  # not JSON: kept as raw text, still redacted


ACTION = json.dumps({"type": "action", "uuid": "0b9c5043-d5f9-4301-adb6-9e7a41f88e3e",
                     "data": {"action": "ForwardInteractionEvent", "action_details": {}}})
ACTION_ACK = json.dumps({"type": "ack", "uuid": "0b9c5043-d5f9-4301-adb6-9e7a41f88e3e"})
LATER_ACTION = json.dumps({"type": "action", "uuid": "df81e74c-a99a-4b0c-8a4f-558c69e2c4cd",
                           "data": {"action": "RejectInteractionEvent", "action_details": {}}})
LATER_ACK = json.dumps({"type": "ack", "uuid": "df81e74c-a99a-4b0c-8a4f-558c69e2c4cd"})


def test_a_live_connection_is_never_finished_as_idle() -> None:
    # ``ccproto serve --test-clock`` moves its clock by 72 h while a long-lived session is open (the harness's
    # expiry rounds): the live check sees every close, so an idle bound (for captures that miss closes) must
    # not finish the connection and read what follows as joined mid-conversation.  Found by CI (test_test_clock).
    lines: list[str] = []
    live = LiveCapture(write=lines.append, name="serve")
    start = 1_800_000_000.0
    live.opened(conn="serve-1", sender=Role.CLIENT, protocol="cceb", now=start)
    for offset, (sender, text) in enumerate(
        [(Role.CLIENT, HELLO), (Role.SERVER, REPLY), (Role.CLIENT, ACTION), (Role.SERVER, ACTION_ACK)], start=1
    ):
        live.message(conn="serve-1", sender=sender, protocol="cceb", now=start + offset, text=text)
    later = start + 72 * 3600.0 + 5
    live.opened(conn="serve-2", sender=Role.CLIENT, protocol="cceb", now=later)
    live.message(conn="serve-1", sender=Role.CLIENT, protocol="cceb", now=later + 1, text=LATER_ACTION)
    live.message(conn="serve-1", sender=Role.SERVER, protocol="cceb", now=later + 2, text=LATER_ACK)
    live.close(conn="serve-1", sender=Role.CLIENT, protocol="cceb", now=later + 3, code=1000)
    live.close(conn="serve-1", sender=Role.SERVER, protocol="cceb", now=later + 3, code=1000)
    assert live.summary() == "OK: 10 records, 0 errors, 0 warnings", "\n".join(lines)


def test_errors_are_put_down_to_the_side_that_sent_the_record() -> None:
    # A client's invalid hello is the client's error; a stray ack is the server's (issue 21: serve counts them apart).
    _, live, _ = live_run((Role.CLIENT, '{"type":"hello"}'), (Role.CLIENT, HELLO), (Role.SERVER, REPLY))
    assert live.report.errors == 2
    assert live.errors_by == {Role.CLIENT: 2, Role.SERVER: 0}
    assert [live.fault_of(finding) for finding in live.report.findings] == [Role.CLIENT, Role.CLIENT]
    summary, failed = live.attributed_summary(Role.SERVER)
    assert summary == ("OK: 3 records, 2 errors, 0 warnings (served server: clean; its clients: 2 errors, refused as "
                       "the protocol requires)")
    assert not failed
    summary, failed = live.attributed_summary(Role.SERVER, fail_on_peer_errors=True)
    assert summary.startswith("FAILED: 3 records, 2 errors, 0 warnings (served server: clean; ")
    assert failed
    # Served as the client, the same errors are the served peer's own.
    summary, failed = live.attributed_summary(Role.CLIENT)
    assert summary == "FAILED: 3 records, 2 errors, 0 warnings (served client: 2 errors; its servers: 0 errors)"
    assert failed


def test_a_served_peers_own_error_fails_and_a_clean_run_keeps_validates_summary() -> None:
    _, live, _ = live_run((Role.CLIENT, HELLO), (Role.SERVER, REPLY), (Role.SERVER, STRAY_ACK))
    assert live.errors_by == {Role.CLIENT: 0, Role.SERVER: 1}
    assert live.attributed_summary(Role.SERVER) == (
        "FAILED: 3 records, 1 error, 0 warnings (served server: 1 error; its clients: 0 errors)", True)
    _, clean, _ = live_run((Role.CLIENT, HELLO), (Role.SERVER, REPLY))
    assert clean.attributed_summary(Role.SERVER) == ("OK: 2 records, 0 errors, 0 warnings", False)


def test_an_answer_that_never_came_is_the_fault_of_the_side_that_owed_it() -> None:
    # The validator finds it on the request (the client's record); the server owed the answer.
    live = LiveCapture(write=lambda line: None)
    live.opened(conn="c", sender=Role.CLIENT, protocol="cceb", now=1.0)
    live.message(conn="c", sender=Role.CLIENT, protocol="cceb", now=1.0, text=HELLO)
    live.close(conn="c", sender=Role.CLIENT, protocol="cceb", now=1000.0, code=1000)
    [finding] = live.report.findings
    assert finding.code == "answer-timeout"
    assert finding.record == 2  # the client's hello
    assert live.fault_of(finding) is Role.SERVER
    assert live.attributed_summary(Role.SERVER)[1]
