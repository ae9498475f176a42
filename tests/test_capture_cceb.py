"""The capture validator on CCEB traffic: the samples, each connection's rules, long-lived sessions across
connections, close records, secrets and the command line."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from ccproto.capture import (
    Finding,
    Kind,
    Record,
    Report,
    Severity,
    read_jsonl,
    render,
    validate_files,
    validate_records,
)
from ccproto.capture.validator import CHECKERS
from ccproto.cceb import REGISTRY, Notification
from ccproto.cceb.checker import SESSION_EXPIRED_RESUMED, SESSION_NOT_RESUMED, CcebConnectionChecker
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.cli import main
from ccproto.core.limits import Limits
from ccproto.core.model import wire
from ccproto.core.roles import Role
from sample_expectations import (
    CCEB_FAULTY_CUT_WARNINGS,
    CCEB_FAULTY_ERROR_RECORDS,
    CCEB_FAULTY_ERRORS,
    CCEB_FAULTY_WARNINGS,
    by_record,
    errors,
    triples,
    warnings,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = EXAMPLES / "cceb-clean.jsonl"
FAULTY = EXAMPLES / "cceb-faulty.jsonl"
# CCEB_FAULTY_ERRORS, CCEB_FAULTY_WARNINGS: see sample_expectations.py

#: Secrets of the samples: the agent's JWT and the two session keys.
SAMPLE_SECRETS = (
    "eyJhbGciOiJSUzI1NiJ9.agent-jwt.signature",
    "sk-live-7f3a9c2e-long-lived-key-one",
    "sk-live-0b1d4e8f-long-lived-key-two",
)
#: Secrets of the captures built below.
TOKEN = "eyJ-token-canary-5f2c"
KEY = "sk-key-canary-9d1e"
KEY2 = "sk-key2-canary-77ab"
NUMBER_SECRET = 987654321
CANARIES = (TOKEN, KEY, KEY2, str(NUMBER_SECRET))

#: An epoch (2027-01-15T08:00:00Z) and an hour, for the session rules.
T = 1_800_000_000.0
HOUR = 3600.0
LIFETIME = 72 * HOUR


# -- building captures ---------------------------------------------------------------------


def uid(n: int) -> str:
    """A canonical uuid numbered ``n``."""
    return f"00000000-0000-4000-8000-{n:012x}"


def hello(n: int, token: Any = TOKEN, **data: Any) -> dict[str, Any]:
    return {"type": "hello", "uuid": uid(n), "data": {"token": token, "tenant": "acme", **data}}


def hello_reply(n: int, **data: Any) -> dict[str, Any]:
    return {"type": "hello_reply", "uuid": uid(n), "data": data}


def action(n: int, name: str = "ChangeAgentStateEvent", **details: Any) -> dict[str, Any]:
    return {"type": "action", "uuid": uid(n), "data": {"action": name, "action_details": details}}


def ack(n: int) -> dict[str, Any]:
    return {"type": "ack", "uuid": uid(n)}


def notification(n: int, message_type: str = "presence", **data: Any) -> dict[str, Any]:
    return {"type": message_type, "uuid": uid(n), "data": data}


def phone_validation(n: int, state: str, **data: Any) -> dict[str, Any]:
    return notification(n, "phone_validation", state=state, **data)


def off_hook(n: int, state: str, **data: Any) -> dict[str, Any]:
    return notification(n, "off_hook", state=state, **data)


def _fields(conn: str, ts: Any, protocol: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"conn": conn}
    if ts is not None:
        fields["ts"] = ts
    if protocol is not None:
        fields["protocol"] = protocol
    return fields


def client(message: Any, *, conn: str = "c", ts: Any = None, protocol: str | None = "cceb") -> dict[str, Any]:
    return {"from": "client", **_fields(conn, ts, protocol), "message": message}


def server(message: Any, *, conn: str = "c", ts: Any = None, protocol: str | None = "cceb") -> dict[str, Any]:
    return {"from": "server", **_fields(conn, ts, protocol), "message": message}


def closed(
    sender: str, *, code: int | None = None, reason: str | None = None, conn: str = "c", ts: Any = None,
    protocol: str | None = "cceb",
) -> dict[str, Any]:
    """A close record: ``sender`` closed the WebSocket."""
    spec: dict[str, Any] = {}
    if code is not None:
        spec["code"] = code
    if reason is not None:
        spec["reason"] = reason
    return {"from": sender, **_fields(conn, ts, protocol), "close": spec}


def opening(conn: str = "c") -> dict[str, Any]:
    """An open record: the capture holds the connection from its start (never read as joined)."""
    return {"from": "client", "conn": conn, "protocol": "cceb", "open": {}}


def opened(conn: str = "c", n: int = 1) -> list[dict[str, Any]]:
    """A hello and its hello_reply (records 1 and 2 of a capture that starts with them)."""
    return [client(hello(n), conn=conn), server(hello_reply(n), conn=conn)]


def lines_of(records: list[Any]) -> list[str]:
    return [item if isinstance(item, str) else json.dumps(item) for item in records]


def check(records: list[Any], **options: Any) -> Report:
    """Validate records held in memory (JSON lines of one file named ``capture``)."""
    return validate_records(read_jsonl(lines_of(records), file="capture"), **options)


def write_capture(tmp_path: Path, records: list[Any], name: str = "capture.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines_of(records)) + "\n", encoding="utf-8")
    return path


def only_error(report: Report, number: int) -> Finding:
    [finding] = [f for f in by_record(report, number) if f.severity is Severity.ERROR]
    return finding


def interleave(*parts: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(max(len(part) for part in parts)):
        out.extend(part[i] for part in parts if i < len(part))
    return out


# -- the clean sample ------------------------------------------------------------------------


def test_clean_sample_has_no_findings() -> None:
    report = validate_files([CLEAN])
    assert report.records == 38
    assert report.errors == 0
    assert report.warnings == 0
    assert report.findings == []
    assert report.connections == {str(CLEAN): {
        "agent-1": "cceb", "agent-1-resume": "cceb", "agent-1-after-expiry": "cceb", "agent-2-bad-token": "cceb",
    }}


def test_clean_sample_passes_strict_too() -> None:
    assert validate_files([CLEAN], strict=True).findings == []


# -- the faulty sample -----------------------------------------------------------------------


def test_faulty_sample_errors_are_exactly_the_known_ones() -> None:
    report = validate_files([FAULTY])
    assert report.records == 42
    assert errors(report) == CCEB_FAULTY_ERRORS
    assert report.errors == len(CCEB_FAULTY_ERRORS) == 19  # one error a record
    assert {f.record for f in report.findings if f.severity is Severity.ERROR} == CCEB_FAULTY_ERROR_RECORDS
    assert all(f.file == str(FAULTY) for f in report.findings)
    assert set(report.connections[str(FAULTY)].values()) == {"cceb"}


def test_faulty_sample_has_exactly_its_warnings() -> None:
    report = validate_files([FAULTY])
    assert warnings(report) == CCEB_FAULTY_WARNINGS | CCEB_FAULTY_CUT_WARNINGS
    assert report.warnings == 2
    [warning] = by_record(report, 30)
    assert warning.path == "/type"
    assert "'acme_whisper'" in warning.message


def test_faulty_sample_under_strict_turns_the_warning_into_an_error() -> None:
    report = validate_files([FAULTY], strict=True)
    assert errors(report) == CCEB_FAULTY_ERRORS | CCEB_FAULTY_WARNINGS
    assert warnings(report) == CCEB_FAULTY_CUT_WARNINGS  # not a quirk of the input: --strict leaves it


def test_every_other_faulty_sample_record_is_fine() -> None:
    report = validate_files([FAULTY])
    named = {f.record for f in report.findings}
    assert named == CCEB_FAULTY_ERROR_RECORDS | {30}
    # e.g. 21: the ack of the schema-invalid phone_validation of record 20; 19: the ack of record 17.
    assert not {2, 4, 6, 7, 8, 14, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 34, 35, 36, 38, 39, 41} & named


@pytest.mark.parametrize(
    ("number", "related"),
    [
        pytest.param(3, (2,), id="wrong-uuid-names-the-hello"),
        pytest.param(10, (9,), id="ack-names-the-refused-action"),
        pytest.param(37, (34, 35), id="not-resumed-names-issue-and-end"),
        pytest.param(40, (37, 38), id="expired-names-issue-and-end"),
        pytest.param(42, (41,), id="session-key-names-the-hello"),
        pytest.param(1, (), id="action-first"),
        pytest.param(13, (), id="unknown-uuid"),
        pytest.param(16, (14, 15), id="already-acked-names-the-notification-and-first-ack"),
        pytest.param(18, (17,), id="uuid-in-flight-names-the-first-use"),
        pytest.param(32, (), id="second-hello"),
    ],
)
def test_faulty_sample_related_records(number: int, related: tuple[int, ...]) -> None:
    assert only_error(validate_files([FAULTY]), number).related == related


def test_faulty_sample_paths_and_words() -> None:
    report = validate_files([FAULTY])
    expected_paths = {
        1: "",
        3: "/uuid",
        5: "/type",
        9: "/data/action_details/tenantGuid",
        10: "/uuid",
        11: "/data/action_details/destinationAgentGuid",
        12: "/data/action",
        13: "/uuid",
        16: "/uuid",
        18: "/uuid",
        20: "/data/timeout",
        22: "/data/state",
        24: "/data/timeout",
        26: "/data/recording_controls",
        28: "/data/event/name",
        32: "/type",
        37: "/data/resumed",
        40: "/data/resumed",
        42: "/data/session_key",
    }
    assert {number: only_error(report, number).path for number in expected_paths} == expected_paths
    assert "'destinationAgentContactId'" in only_error(report, 11).message
    assert "'FlyToTheMoonEvent'" in only_error(report, 12).message
    assert "from idle to verified" in only_error(report, 22).message
    assert "5 h 0 min 0 s" in only_error(report, 37).message
    assert "'f5'" in only_error(report, 37).message
    assert "72 h 0 min 1 s" in only_error(report, 40).message
    assert "'f6'" in only_error(report, 40).message


def test_faulty_sample_json_report() -> None:
    value = json.loads(render(validate_files([FAULTY]), "json"))
    assert value["summary"] == {"records": 42, "errors": 19, "warnings": 2}
    found = {(f["record"], f["kind"], f["code"]) for f in value["findings"]}
    assert found == CCEB_FAULTY_ERRORS | CCEB_FAULTY_WARNINGS | CCEB_FAULTY_CUT_WARNINGS


@pytest.mark.parametrize("path", [CLEAN, FAULTY], ids=["clean", "faulty"])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_samples_tokens_and_keys_never_appear(path: Path, fmt: str) -> None:
    text = path.read_text(encoding="utf-8")
    report = validate_files([path])
    output = render(report, fmt)
    for secret in SAMPLE_SECRETS:
        assert secret in text  # the sample does hold it
        assert secret not in output
        assert all(secret not in f.message for f in report.findings)
    assert "sk-live" not in output
    assert "agent-jwt" not in output


# -- the command line ------------------------------------------------------------------------


def test_cli_faulty_sample_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FAULTY)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == str(FAULTY)
    assert lines[-1] == "FAILED: 42 records, 19 errors, 2 warnings"
    for number in CCEB_FAULTY_ERROR_RECORDS:
        assert f"record {number}: error " in captured.out
    assert "record 30: warning [schema/unknown-notification]" in captured.out
    assert "  connection 'f4' (cceb)" in lines
    assert "(see record 34, 35)" in captured.out
    assert not any(secret in captured.out + captured.err for secret in SAMPLE_SECRETS)


def test_cli_clean_sample_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CLEAN)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["OK: 38 records, 0 errors, 0 warnings"]
    assert captured.err == ""


def test_cli_json_and_strict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", str(FAULTY)]) == 1
    assert json.loads(capsys.readouterr().out)["summary"] == {"records": 42, "errors": 19, "warnings": 2}
    assert main(["validate", "--strict", str(CLEAN)]) == 0
    capsys.readouterr()
    assert main(["validate", "--strict", "--format", "json", str(FAULTY)]) == 1
    assert json.loads(capsys.readouterr().out)["summary"] == {"records": 42, "errors": 20, "warnings": 1}


def test_cli_clean_and_faulty_together_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CLEAN), str(FAULTY)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "FAILED: 80 records, 19 errors, 2 warnings"


# -- hello first, then nothing but hello_reply ------------------------------------------------


def test_a_clean_connection_gives_no_findings() -> None:
    records = [
        client(hello(1, long_lived=True)),
        server(hello_reply(1, session_key=KEY)),
        client(action(2, state="Available")),
        server(ack(2)),
        server(notification(3, "presence", status="Available")),
        client(ack(3)),
        server(off_hook(4, "offering", timeout=30)),
        client(ack(4)),
        client(action(5, "BlindTransferEvent", destinationAgentContactId="c-42")),
        server(ack(5)),
        closed("client", code=1000, reason="logout"),
    ]
    report = check(records)
    assert report.findings == []
    assert report.records == 11
    assert report.connections == {"capture": {"c": "cceb"}}


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(client(action(7)), id="client-action"),
        pytest.param(client(ack(7)), id="client-ack"),
        pytest.param(server(notification(7)), id="server-notification"),
        pytest.param(server(ack(7)), id="server-ack"),
        pytest.param(server(hello_reply(7)), id="server-hello-reply"),
    ],
)
def test_hello_comes_first(first: dict[str, Any]) -> None:
    report = check([opening(), first, *opened()])
    assert triples(report) == {(2, "sequence", "out-of-order")}
    finding = only_error(report, 2)
    assert finding.path == "/type"
    assert "awaiting-hello" in finding.message
    assert finding.related == ()
    # Without the open record the capture may have joined the connection after its hello: one finding says so.
    joined = check([first])
    assert errors(joined) == {(1, "capture", "joined-mid-conversation")}
    assert "--partial" in only_error(joined, 1).message


def test_hello_comes_from_the_client() -> None:
    report = check([opening(), server(hello(1)), *opened()])
    assert triples(report) == {(2, "sequence", "wrong-direction")}
    assert "never sends hello" in only_error(report, 2).message
    # Joined or not, a hello never comes from the CCEB.
    assert errors(check([server(hello(1))])) == {
        (1, "capture", "joined-mid-conversation"), (1, "sequence", "wrong-direction")}


@pytest.mark.parametrize(
    "between",
    [
        pytest.param(client(action(7)), id="client-action"),
        pytest.param(client(ack(7)), id="client-ack"),
        pytest.param(client(hello(7)), id="client-second-hello"),
        pytest.param(server(notification(7)), id="server-notification"),
        pytest.param(server(ack(7)), id="server-ack"),
    ],
)
def test_nothing_but_hello_reply_before_hello_reply(between: dict[str, Any]) -> None:
    report = check([client(hello(1)), between, server(hello_reply(1)), client(action(2)), server(ack(2))])
    # The reply (record 3) still answers the hello of record 1, and the connection goes on.
    assert triples(report) == {(2, "sequence", "out-of-order")}
    finding = only_error(report, 2)
    assert finding.path == "/type"
    assert "awaiting-hello-reply" in finding.message


def test_a_hello_reply_with_the_wrong_uuid_names_the_hello() -> None:
    report = check([opening(), client(action(9)), client(hello(1)), server(hello_reply(2)), client(action(3)),
                    server(ack(3))])
    assert triples(report) == {(2, "sequence", "out-of-order"), (4, "sequence", "wrong-uuid")}
    finding = only_error(report, 4)
    assert finding.path == "/uuid"
    assert finding.related == (3,)
    assert "hello's uuid" in finding.message


def test_a_second_hello_on_an_open_connection() -> None:
    report = check([*opened(), client(hello(3))])
    assert triples(report) == {(3, "sequence", "out-of-order")}
    assert "state open" in only_error(report, 3).message


def test_a_second_hello_reply_does_not_name_an_action_in_flight() -> None:
    report = check([*opened(), client(action(3)), server(hello_reply(1))])
    finding = only_error(report, 4)
    assert finding.code == "out-of-order"
    assert 3 not in finding.related


@pytest.mark.parametrize(
    ("hello_data", "reply_data", "path"),
    [
        pytest.param({"long_lived": True}, {}, "/data/session_key", id="long-lived-without-key"),
        pytest.param({"session_key": KEY}, {}, "/data/session_key", id="resume-asked-without-key"),
        pytest.param({}, {"session_key": KEY, "resumed": True}, "/data/resumed", id="resumed-without-hello-key"),
        pytest.param({"session_key": KEY}, {"session_key": KEY2, "resumed": True}, "/data/session_key",
                     id="resumed-with-another-key"),
        pytest.param({"session_key": KEY}, {"session_key": KEY}, "/data/resumed", id="same-key-not-resumed"),
        pytest.param({"session_key": KEY}, {"session_key": KEY, "resumed": False}, "/data/resumed",
                     id="same-key-resumed-false"),
    ],
)
def test_hello_reply_session_key_rules(hello_data: dict[str, Any], reply_data: dict[str, Any], path: str) -> None:
    report = check([client(hello(1, **hello_data)), server(hello_reply(1, **reply_data))])
    assert triples(report) == {(2, "sequence", "session-key")}
    finding = only_error(report, 2)
    assert finding.path == path
    assert finding.related == (1,)


@pytest.mark.parametrize(
    ("hello_data", "reply_data"),
    [
        pytest.param({}, {}, id="short-lived"),
        pytest.param({"long_lived": True}, {"session_key": KEY}, id="long-lived"),
        pytest.param({"long_lived": True}, {"session_key": KEY, "resumed": False}, id="long-lived-resumed-false"),
        pytest.param({"session_key": KEY}, {"session_key": KEY, "resumed": True}, id="resumed"),
        pytest.param({"session_key": KEY}, {"session_key": KEY2, "resumed": False}, id="new-session"),
        pytest.param({"session_key": KEY}, {"session_key": KEY2}, id="new-session-resumed-absent"),
    ],
)
def test_hello_reply_that_agrees_with_the_hello(hello_data: dict[str, Any], reply_data: dict[str, Any]) -> None:
    assert check([client(hello(1, **hello_data)), server(hello_reply(1, **reply_data))]).findings == []


def test_an_invalid_hello_does_not_make_the_rest_of_the_connection_out_of_order() -> None:
    records = [
        client(hello(1, tenant=5)),
        server(hello_reply(1)),
        client(action(2)),
        server(ack(2)),
        server(notification(3)),
        client(ack(3)),
    ]
    report = check(records)
    assert (1, "schema", "schema-violation") in errors(report)
    assert not [f for f in report.findings if f.record >= 3]


# -- acks, exactly once, both ways -----------------------------------------------------------


def test_each_message_acked_once_in_both_directions_is_fine() -> None:
    records = [*opened(), client(action(3)), server(notification(4)), client(ack(4)), server(ack(3))]
    assert check(records).findings == []


@pytest.mark.parametrize(
    ("sender", "what"),
    [pytest.param(client, "notification", id="client-acks"), pytest.param(server, "action", id="server-acks")],
)
def test_an_ack_of_an_unknown_uuid(sender: Any, what: str) -> None:
    report = check([*opened(), sender(ack(9))])
    assert triples(report) == {(3, "sequence", "unknown-uuid")}
    finding = only_error(report, 3)
    assert finding.path == "/uuid"
    assert finding.related == ()
    assert f"no {what} in flight" in finding.message


def test_a_notification_acked_twice() -> None:
    report = check([*opened(), server(notification(3)), client(ack(3)), client(ack(3))])
    assert triples(report) == {(5, "sequence", "already-acked")}
    finding = only_error(report, 5)
    assert finding.path == "/uuid"
    assert finding.related == (3, 4)  # the notification and its first ack
    assert "notification that was already acked" in finding.message


def test_an_action_acked_twice() -> None:
    report = check([*opened(), client(action(3)), server(ack(3)), server(ack(3))])
    assert triples(report) == {(5, "sequence", "already-acked")}
    assert only_error(report, 5).related == (3, 4)


def test_an_action_acked_twice_is_said_in_english() -> None:
    report = check([*opened(), client(action(3)), server(ack(3)), server(ack(3))])
    assert "ack of an action that was already acked" in only_error(report, 5).message


def test_acks_are_matched_per_direction() -> None:
    # The client "acks" its own action: no notification has that uuid, and the action is still unacked.
    report = check([*opened(), client(action(3)), client(ack(3))])
    assert errors(report) == {(4, "sequence", "unknown-uuid")}
    assert warnings(report) == {(3, "sequence", "unanswered-request")}


def test_the_same_uuid_may_be_in_flight_in_both_directions() -> None:
    records = [*opened(), client(action(3)), server(notification(3)), server(ack(3)), client(ack(3))]
    assert check(records).findings == []


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        pytest.param(server(notification(3)), server(notification(3, "call_leg")), "call_leg", id="notifications"),
        pytest.param(client(action(3)), client(action(3, "HoldAgentTelephoneLineEvent")), "action", id="actions"),
    ],
)
def test_a_uuid_still_in_flight_may_not_be_reused(first: dict[str, Any], second: dict[str, Any], what: str) -> None:
    peer = server if first["from"] == "client" else client
    report = check([*opened(), first, second, peer(ack(3))])
    assert triples(report) == {(4, "sequence", "uuid-in-flight")}
    finding = only_error(report, 4)
    assert finding.path == "/uuid"
    assert f"uuid of this {what} is still in flight" in finding.message


def test_a_uuid_may_be_reused_once_acked() -> None:
    records = [*opened(), server(notification(3)), client(ack(3)), server(notification(3)), client(ack(3))]
    assert check(records).findings == []


# -- refused actions -------------------------------------------------------------------------

RESERVED = [*RESERVED_ACTION_FIELDS, *CONTACT_ID_SUBSTITUTES]


@pytest.mark.parametrize("field", RESERVED)
def test_a_reserved_field_is_an_error_and_acking_it_another(field: str) -> None:
    records = [*opened(), client(action(3, "BlindTransferEvent", interactionId="i-1", **{field: "g-1"})),
               server(ack(3))]
    report = check(records)
    assert triples(report) == {(3, "schema", "reserved-field"), (4, "sequence", "acked-refused-action")}
    reserved = only_error(report, 3)
    assert reserved.path == f"/data/action_details/{field}"
    assert reserved.kind is Kind.SCHEMA
    assert "do not ack this action" in reserved.message
    if field in CONTACT_ID_SUBSTITUTES:
        assert repr(CONTACT_ID_SUBSTITUTES[field]) in reserved.message
    acked = only_error(report, 4)
    assert acked.path == "/uuid"
    assert acked.related == (3,)


@pytest.mark.parametrize("field", RESERVED)
def test_a_refused_action_left_unacked_is_right(field: str) -> None:
    # The CCEB must not ack it: no error for the missing ack and no unanswered warning.
    report = check([*opened(), client(action(3, **{field: "x"}))])
    assert triples(report) == {(3, "schema", "reserved-field")}


def test_the_contact_id_substitutes_are_fine() -> None:
    details = {substitute: "c-1" for substitute in CONTACT_ID_SUBSTITUTES.values()}
    assert check([*opened(), client(action(3, "BlindTransferEvent", **details)), server(ack(3))]).findings == []


def test_an_unsupported_action_acked_is_an_acked_refused_action() -> None:
    report = check([*opened(), client(action(3, "FlyToTheMoonEvent")), server(ack(3))])
    assert triples(report) == {(3, "schema", "unsupported-action"), (4, "sequence", "acked-refused-action")}
    assert only_error(report, 3).path == "/data/action"
    assert only_error(report, 4).related == (3,)


def test_a_reserved_field_keeps_its_code_next_to_another_violation() -> None:
    bad = action(3, tenantGuid="t-1")
    bad["uuid"] = "not-a-uuid"
    report = check([*opened(), client(bad)])
    [reserved] = [f for f in by_record(report, 3) if f.path == "/data/action_details/tenantGuid"]
    assert reserved.code == "reserved-field"


# -- notifications: phases, invalid ones, unknown ones ----------------------------------------


def _notified(make: Any, states: list[str]) -> list[dict[str, Any]]:
    """``opened()`` then one notification (and its ack) a state: the n-th state is record 2n + 1."""
    records = opened()
    for i, state in enumerate(states):
        uuid = 10 + i
        extra = {"timeout": 30} if state == "offering" else {}
        records += [server(make(uuid, state, **extra)), client(ack(uuid))]
    return records


@pytest.mark.parametrize(
    "states",
    [
        pytest.param(["offering", "answered", "verified"], id="verified"),
        pytest.param(["offering", "answered", "invalid", "offering", "rejected"], id="invalid-then-rejected"),
        pytest.param(["offering", "dropped", "offering", "answered", "dropped"], id="dropped-twice"),
        pytest.param(["offering", "answered", "verified", "offering", "answered", "verified"], id="twice"),
    ],
)
def test_phone_validation_phases_that_follow_the_table(states: list[str]) -> None:
    assert check(_notified(phone_validation, states)).findings == []


@pytest.mark.parametrize(
    ("states", "bad", "words"),
    [
        pytest.param(["verified"], 0, "from idle to verified", id="idle-verified"),
        pytest.param(["answered"], 0, "from idle to answered", id="idle-answered"),
        pytest.param(["offering", "verified"], 1, "from offering to verified", id="offering-verified"),
        pytest.param(["offering", "offering"], 1, "from offering to offering", id="offering-twice"),
        pytest.param(["offering", "answered", "rejected"], 2, "from answered to rejected", id="answered-rejected"),
        pytest.param(["offering", "answered", "verified", "answered"], 3, "from verified to answered",
                     id="verified-answered"),
    ],
)
def test_phone_validation_phases_that_break_the_table(states: list[str], bad: int, words: str) -> None:
    report = check(_notified(phone_validation, states))
    number = 2 * bad + 3
    assert triples(report) == {(number, "sequence", "phone-validation-transition")}
    finding = only_error(report, number)
    assert finding.path == "/data/state"
    assert words in finding.message
    assert "next allowed:" in finding.message


def test_phone_validation_phase_is_per_connection() -> None:
    a = _notified(phone_validation, ["offering"])
    b = [{**r, "conn": "b"} for r in _notified(phone_validation, ["answered"])]
    report = check(interleave(a, b))
    # b's answered (its record 3, the capture's 6) has no offering on b.
    assert triples(report) == {(6, "sequence", "phone-validation-transition")}
    assert only_error(report, 6).conn == "b"


@pytest.mark.parametrize(
    "states",
    [
        pytest.param(["authenticated", "dropped", "offering", "answered", "authenticated"], id="starts-authenticated"),
        pytest.param(["status", "enabled", "offering", "rejected", "offering", "offering", "answered", "dropped"],
                     id="status-first"),
        pytest.param(["disabled", "enabled", "enabled", "status", "disabled"], id="disabled-enabled"),
        pytest.param(["answered", "status", "authenticated", "disabled"], id="starts-answered"),
    ],
)
def test_off_hook_phases_that_follow_the_table(states: list[str]) -> None:
    assert check(_notified(off_hook, states)).findings == []


def _off_hook_code(code: str) -> bool:
    return code in {"off-hook-transition", "off-hook-connection-transition"}


@pytest.mark.parametrize(
    ("states", "bad", "words"),
    [
        pytest.param(["authenticated", "offering"], 1, "from authenticated to offering", id="authenticated-offering"),
        pytest.param(["enabled", "answered"], 1, "from enabled to answered", id="enabled-answered"),
        pytest.param(["disabled", "offering"], 1, "from disabled to offering", id="disabled-offering"),
        pytest.param(["offering", "authenticated"], 1, "from offering to authenticated", id="offering-authenticated"),
        pytest.param(["status", "status", "enabled", "authenticated"], 3, "from enabled to authenticated",
                     id="status-then-enabled-authenticated"),
    ],
)
def test_off_hook_phases_that_break_the_table(states: list[str], bad: int, words: str) -> None:
    report = check(_notified(off_hook, states))
    number = 2 * bad + 3
    assert report.errors == 1
    assert report.warnings == 0
    finding = only_error(report, number)
    assert finding.kind is Kind.SEQUENCE
    assert _off_hook_code(finding.code)
    assert finding.path == "/data/state"
    assert words in finding.message


def test_off_hook_transition_code_is_the_documented_one() -> None:
    report = check(_notified(off_hook, ["authenticated", "offering"]))
    assert triples(report) == {(5, "sequence", "off-hook-transition")}


@pytest.mark.parametrize(
    "invalid",
    [
        pytest.param(phone_validation(3, "bogus"), id="phone-validation-state"),
        pytest.param(phone_validation(3, "answered", timeout=30), id="timeout-not-offering"),
        pytest.param(off_hook(3, "status", media_resource_id="m"), id="media-not-authenticated"),
        pytest.param(notification(3, "agent_phone_update", recording_controls=3), id="recording-controls"),
        pytest.param(notification(3, "provisioning", event_type="AgentDeletedEvent", event={"agentId": 1}),
                     id="provisioning"),
    ],
)
def test_an_invalid_notification_is_still_acked_without_a_second_error(invalid: dict[str, Any]) -> None:
    report = check([*opened(), server(invalid), client(ack(3)), server(notification(4)), client(ack(4))])
    assert {(f.record, f.kind.value) for f in report.findings} == {(3, "schema")}
    assert all(f.severity is Severity.ERROR for f in report.findings)


def test_an_invalid_notification_left_unacked_warns() -> None:
    report = check([*opened(), server(phone_validation(3, "bogus"))])
    assert errors(report) == {(3, "schema", "schema-violation")}
    assert warnings(report) == {(3, "sequence", "unanswered-request")}
    [warning] = [f for f in by_record(report, 3) if f.severity is Severity.WARNING]
    assert "phone_validation from the server" in warning.message


def test_an_invalid_notification_does_not_move_the_phase() -> None:
    records = [*opened(), server(phone_validation(3, "offering", timeout=5)), client(ack(3)),
               server(phone_validation(5, "answered", timeout=5)), client(ack(5)),
               server(phone_validation(7, "verified")), client(ack(7))]
    report = check(records)
    assert triples(report) == {(5, "schema", "schema-violation"), (7, "sequence", "phone-validation-transition")}
    assert "from offering to verified" in only_error(report, 7).message


def test_an_unknown_notification_is_a_warning() -> None:
    report = check([*opened(), server(notification(3, "acme_whisper", text="hi")), client(ack(3))])
    assert triples(report) == {(3, "schema", "unknown-notification")}
    assert report.errors == 0
    [finding] = report.findings
    assert finding.severity is Severity.WARNING
    assert finding.path == "/type"
    assert "'acme_whisper'" in finding.message


def test_an_unknown_notification_is_an_error_under_strict() -> None:
    report = check([*opened(), server(notification(3, "acme_whisper", text="hi")), client(ack(3))], strict=True)
    assert errors(report) == {(3, "schema", "unknown-notification")}
    assert report.warnings == 0


def test_an_unknown_notification_still_needs_its_ack() -> None:
    report = check([*opened(), server(notification(3, "acme_whisper")), client(ack(3)), client(ack(3))])
    assert errors(report) == {(5, "sequence", "already-acked")}


def acme_checkers() -> dict[str, Any]:
    registry = REGISTRY.copy()
    registry.add_action("AcmeRecordEvent")

    @registry.notification("acme_whisper")
    class Whisper(Notification):
        text: str = wire("data", "text")

    return {**CHECKERS, "cceb": functools.partial(CcebConnectionChecker, registry=registry)}


def test_a_registered_notification_and_action_are_checked() -> None:
    records = [*opened(), server(notification(3, "acme_whisper", text="hi")), client(ack(3)),
               client(action(5, "AcmeRecordEvent")), server(ack(5)),
               server(notification(7, "acme_whisper", text=5)), client(ack(7))]
    report = check(records, checkers=acme_checkers())
    assert triples(report) == {(7, "schema", "schema-violation")}
    assert only_error(report, 7).path == "/data/text"
    # Without the registration: a warning and an unsupported action.
    plain = check(records)
    assert triples(plain) == {
        (3, "schema", "unknown-notification"), (5, "schema", "unsupported-action"),
        (6, "sequence", "acked-refused-action"), (7, "schema", "unknown-notification"),
    }


# -- closes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [pytest.param(4001, "authentication failed", id="4001"), pytest.param(1008, None, id="1008"),
     pytest.param(None, None, id="no-code")],
)
def test_an_authentication_failure_is_no_finding(code: int | None, reason: str | None) -> None:
    report = check([client(hello(1, token="expired.jwt")), closed("server", code=code, reason=reason)])
    assert report.findings == []
    assert report.records == 2


def test_an_authentication_failure_next_to_another_connection() -> None:
    refused = [client(hello(1), conn="r"), closed("server", code=4001, conn="r")]
    report = check(interleave(opened("ok"), refused))
    assert report.findings == []
    assert report.connections == {"capture": {"ok": "cceb", "r": "cceb"}}


@pytest.mark.parametrize("closer", ["client", "server"])
@pytest.mark.parametrize(
    "after",
    [
        pytest.param(server(notification(9)), id="notification"),
        pytest.param(client(action(9)), id="action"),
        pytest.param(client(ack(3)), id="client-ack"),
        pytest.param(client(hello(9)), id="hello"),
        pytest.param(server(hello_reply(1)), id="hello-reply"),
    ],
)
def test_a_message_after_a_close_is_out_of_order(closer: str, after: dict[str, Any]) -> None:
    records = [*opened(), server(notification(3)), client(ack(3)), closed(closer, code=1000), after]
    report = check(records)
    assert errors(report) == {(6, "sequence", "out-of-order")}
    assert "state closed" in only_error(report, 6).message


def test_a_close_before_the_hello_then_a_message() -> None:
    report = check([closed("client", code=1000), client(hello(1))])
    assert errors(report) == {(2, "sequence", "out-of-order")}


def test_a_close_without_protocol_before_the_hello_then_a_message() -> None:
    report = check([closed("client", code=1000, protocol=None), client(hello(1), protocol=None)])
    assert errors(report) == {(2, "sequence", "out-of-order")}


@pytest.mark.parametrize(("first", "second"), [("client", "server"), ("server", "client")])
def test_the_closing_handshake_is_no_finding(first: str, second: str) -> None:
    report = check([*opened(), closed(first, code=1000), closed(second, code=1000)])
    assert report.findings == []


# -- what is left at the end -----------------------------------------------------------------


def test_an_unacked_notification_at_the_end_is_a_warning_at_its_record() -> None:
    report = check([*opened(), server(notification(3)), server(notification(4, "call_leg")), client(ack(4))])
    assert report.errors == 0
    assert warnings(report) == {(3, "sequence", "unanswered-request")}
    [finding] = report.findings
    assert finding.path == "/uuid"
    assert finding.conn == "c"
    assert "presence from the server" in finding.message


def test_an_unacked_action_at_the_end_is_a_warning_at_its_record() -> None:
    report = check([*opened(), client(action(3)), client(action(4)), server(ack(4))])
    assert triples(report) == {(3, "sequence", "unanswered-request")}
    assert "action from the client" in report.findings[0].message


def test_an_unanswered_hello_at_the_end_is_a_warning() -> None:
    report = check([client(hello(1))])
    assert triples(report) == {(1, "sequence", "unanswered-request")}
    assert report.errors == 0


def test_unanswered_warnings_stay_warnings_under_strict() -> None:
    report = check([*opened(), server(notification(3))], strict=True)
    assert warnings(report) == {(3, "sequence", "unanswered-request")}
    assert report.errors == 0


# -- long-lived sessions across connections ---------------------------------------------------


def issuing(*, conn: str = "A", key: str = KEY, end: float | None = T, first: int = 1) -> list[dict[str, Any]]:
    """A long-lived hello (at ``end`` - 2 s), its reply giving ``key``, and the client's close at ``end``."""
    ts = (lambda dt: end + dt) if end is not None else (lambda dt: None)
    return [
        client(hello(first, long_lived=True), conn=conn, ts=ts(-2)),
        server(hello_reply(first, session_key=key), conn=conn, ts=ts(-1)),
        closed("client", code=1000, conn=conn, ts=ts(0)),
    ]


def resuming(
    at: float | None, *, reply: dict[str, Any], conn: str = "B", key: str = KEY, n: int = 2
) -> list[dict[str, Any]]:
    """A hello giving ``key`` at ``at`` and its reply (``reply`` is its data) 0.1 s later."""
    return [
        client(hello(n, session_key=key), conn=conn, ts=at),
        server(hello_reply(n, **reply), conn=conn, ts=None if at is None else at + 0.1),
    ]


RESUMED = {"session_key": KEY, "resumed": True}
NEW_KEY = {"session_key": KEY2, "resumed": False}


@pytest.mark.parametrize(
    ("after", "reply", "expected"),
    [
        pytest.param(LIFETIME - 1, RESUMED, None, id="resumed-1s-before-expiry"),
        pytest.param(LIFETIME, RESUMED, None, id="resumed-at-exactly-72h"),
        pytest.param(LIFETIME + 1, RESUMED, SESSION_EXPIRED_RESUMED, id="resumed-1s-after-expiry"),
        pytest.param(10 * LIFETIME, RESUMED, SESSION_EXPIRED_RESUMED, id="resumed-long-after-expiry"),
        pytest.param(LIFETIME - 1, NEW_KEY, SESSION_NOT_RESUMED, id="new-key-1s-before-expiry"),
        pytest.param(1.0, NEW_KEY, SESSION_NOT_RESUMED, id="new-key-1s-after-the-close"),
        pytest.param(LIFETIME - 1, {"session_key": KEY2}, SESSION_NOT_RESUMED, id="new-key-resumed-absent"),
        pytest.param(LIFETIME + 1, NEW_KEY, None, id="new-key-1s-after-expiry"),
        pytest.param(LIFETIME + 1, {"session_key": KEY2}, None, id="new-key-resumed-absent-after-expiry"),
    ],
)
def test_the_72_hour_rule(after: float, reply: dict[str, Any], expected: str | None) -> None:
    report = check([*issuing(), *resuming(T + after, reply=reply)])
    if expected is None:
        assert report.findings == []
        return
    assert triples(report) == {(5, "sequence", expected)}
    finding = only_error(report, 5)
    assert finding.path == "/data/resumed"
    assert finding.conn == "B"
    assert finding.related == (2, 3)  # where A issued the key, and A's last record (its close)
    assert "'A'" in finding.message


def test_the_72_hour_rule_messages_say_how_long() -> None:
    expired = check([*issuing(), *resuming(T + LIFETIME + 1, reply=RESUMED)])
    assert "72 h 0 min 1 s after its connection 'A' ended" in only_error(expired, 5).message
    kept = check([*issuing(), *resuming(T + LIFETIME - 1, reply=NEW_KEY)])
    assert "71 h 59 min 59 s after its connection 'A' ended" in only_error(kept, 5).message


def test_the_72_hour_rule_with_rfc_3339_times() -> None:
    a = [
        client(hello(1, long_lived=True), conn="A", ts="2026-11-02T09:00:00Z"),
        server(hello_reply(1, session_key=KEY), conn="A", ts="2026-11-02T09:00:00.100000Z"),
        closed("server", code=1001, conn="A", ts="2026-11-02T10:00:00+01:00"),
    ]

    def b(hello_ts: str) -> list[dict[str, Any]]:
        return [client(hello(2, session_key=KEY), conn="B", ts=hello_ts),
                server(hello_reply(2, **RESUMED), conn="B", ts="2026-11-06T00:00:00Z")]

    # The reply comes hours after its hello: a longer request_timeout keeps answer-timeout (V9) out of this test.
    def checked(records: list[dict[str, Any]]) -> Report:
        return check(records, limits=Limits(request_timeout=86_400.0))

    # A ended at 09:00:00Z (10:00 at +01:00): the hello's time is what counts, not the reply's.
    assert checked([*a, *b("2026-11-05T09:00:00Z")]).findings == []  # exactly 72 h
    assert checked([*a, *b("2026-11-05T11:59:59+03:00")]).findings == []
    late = checked([*a, *b("2026-11-05T09:00:01Z")])
    assert triples(late) == {(5, "sequence", SESSION_EXPIRED_RESUMED)}
    assert "72 h 0 min 1 s" in only_error(late, 5).message


@pytest.mark.parametrize(
    "reply",
    [pytest.param(RESUMED, id="resumed"), pytest.param(NEW_KEY, id="new-key"),
     pytest.param({"session_key": KEY2}, id="new-key-resumed-absent")],
)
@pytest.mark.parametrize("after", [1.0, LIFETIME + 1], ids=["soon", "late"])
def test_a_key_the_capture_never_issued_is_not_judged(reply: dict[str, Any], after: float) -> None:
    report = check([*issuing(key=KEY2 + "-other"), *resuming(T + after, reply=reply)])
    assert report.findings == []


@pytest.mark.parametrize(
    ("a_times", "b_times"),
    [pytest.param(False, True, id="issuer-without-ts"), pytest.param(True, False, id="resumer-without-ts"),
     pytest.param(False, False, id="neither")],
)
@pytest.mark.parametrize("reply", [RESUMED, NEW_KEY], ids=["resumed", "new-key"])
def test_records_without_ts_are_not_judged(a_times: bool, b_times: bool, reply: dict[str, Any]) -> None:
    # Resumed 10 x 72 h after, or a new key 1 s after: each an error if the times were known.
    at = T + (10 * LIFETIME if reply is RESUMED else 1.0)
    records = [*issuing(end=T if a_times else None), *resuming(at if b_times else None, reply=reply)]
    assert check(records).findings == []


def test_a_resumed_session_counts_from_its_latest_connection() -> None:
    records = [
        *issuing(),
        *resuming(T + HOUR, reply=RESUMED),
        closed("server", code=1001, conn="B", ts=T + 2 * HOUR),
        # 73 h after A closed but 71 h after B closed: still resumable.
        *resuming(T + 73 * HOUR, reply=RESUMED, conn="C", n=3),
        closed("client", code=1000, conn="C", ts=T + 74 * HOUR),
        # 72 h 0 min 1 s after C closed: expired; the finding names C's reply and close.
        *resuming(T + 74 * HOUR + LIFETIME + 1, reply=RESUMED, conn="D", n=4),
    ]
    report = check(records)
    assert triples(report) == {(11, "sequence", SESSION_EXPIRED_RESUMED)}
    assert only_error(report, 11).related == (8, 9)
    assert "'C'" in only_error(report, 11).message


def test_an_expired_key_stays_expired() -> None:
    records = [
        *issuing(),
        *resuming(T + LIFETIME + 1, reply=NEW_KEY),  # right: a new session
        closed("client", conn="B", ts=T + LIFETIME + 2),
        *resuming(T + LIFETIME + 3, reply=RESUMED, conn="C", n=3),  # resumes the expired key
    ]
    report = check(records)
    assert triples(report) == {(8, "sequence", SESSION_EXPIRED_RESUMED)}
    assert only_error(report, 8).related == (2, 3)


def test_interleaved_connections_share_sessions_and_keep_their_own_rules() -> None:
    other = [
        client(hello(1), conn="X", ts=T - 5),
        server(hello_reply(1), conn="X", ts=T - 4),
        server(notification(2), conn="X", ts=T - 3),
        client(ack(2), conn="X", ts=T - 2),
        client(ack(2), conn="X", ts=T - 1),  # already acked: X's own rules
    ]
    late = resuming(T + LIFETIME + 1, reply=RESUMED)
    records = [*interleave(issuing(), other), *late]
    # Record numbers: A's reply is 3, A's close is 5, X's second ack is 8; B's reply is 10.
    report = check(records)
    assert triples(report) == {(8, "sequence", "already-acked"), (10, "sequence", SESSION_EXPIRED_RESUMED)}
    assert only_error(report, 10).related == (3, 5)
    assert only_error(report, 8).conn == "X"
    assert report.connections == {"capture": {"A": "cceb", "X": "cceb", "B": "cceb"}}


def test_interleaved_connections_without_protocol_are_detected() -> None:
    def bare(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "protocol"} for r in records]

    other = bare([client(hello(1), conn="X", ts=T - 3), server(hello_reply(1), conn="X", ts=T - 2),
                  client(action(2), conn="X", ts=T - 1)])
    records = [*interleave(bare(issuing()), other), *bare(resuming(T + LIFETIME - 1, reply=NEW_KEY))]
    # A: 1, 3, 5 (its close); X: 2, 4, 6 (an action never acked); B: 7, 8.
    report = check(records)
    assert triples(report) == {(6, "sequence", "unanswered-request"), (8, "sequence", SESSION_NOT_RESUMED)}
    assert only_error(report, 8).related == (3, 5)
    assert report.connections == {"capture": {"A": "cceb", "X": "cceb", "B": "cceb"}}


def test_sessions_are_not_shared_between_files(tmp_path: Path) -> None:
    first = write_capture(tmp_path, issuing(), "first.jsonl")
    second = write_capture(tmp_path, resuming(T + LIFETIME + 1, reply=RESUMED), "second.jsonl")
    assert validate_files([first, second]).findings == []
    together = write_capture(tmp_path, [*issuing(), *resuming(T + LIFETIME + 1, reply=RESUMED)], "both.jsonl")
    assert triples(validate_files([together])) == {(5, "sequence", SESSION_EXPIRED_RESUMED)}


def test_a_session_whose_connection_was_never_seen_closing_is_not_judged_expired() -> None:
    still_open = issuing()[:2]  # no close: the session's WebSocket is still connected, or the capture was cut
    report = check([*still_open, *resuming(T + LIFETIME + 1, reply=RESUMED)])
    assert SESSION_EXPIRED_RESUMED not in {f.code for f in report.findings}


def records_of(items: list[dict[str, Any]]) -> list[Record]:
    """The same records built as ``Record`` objects, numbered from 1."""
    out = []
    for number, item in enumerate(items, start=1):
        close = item.get("close")
        out.append(Record(
            file="objects", number=number, ts=item.get("ts"), conn=item["conn"], sender=Role(item["from"]),
            protocol=item.get("protocol"), message=item.get("message"), raw=None,
            close=None if close is None else (close.get("code"), close.get("reason", "")),
        ))
    return out


def test_validate_records_over_record_objects() -> None:
    items = [*issuing(), *resuming(T + LIFETIME + 1, reply=RESUMED), server(notification(9), conn="B"),
             closed("client", conn="B", ts=T + LIFETIME + 5), client(ack(9), conn="B")]
    report = validate_records(records_of(items))
    assert triples(report) == {
        (5, "sequence", SESSION_EXPIRED_RESUMED), (6, "sequence", "unanswered-request"),
        (8, "sequence", "out-of-order"),
    }
    assert only_error(report, 5).related == (2, 3)
    assert only_error(report, 8).related == (6,)  # the notification it acks, too late
    assert all(f.file == "objects" for f in report.findings)
    assert triples(check(items)) == triples(report)


# -- secrets ---------------------------------------------------------------------------------


def secret_capture() -> list[Any]:
    """Tokens and session keys everywhere a finding could be made of them."""
    return [
        # A issues KEY; a second hello (out of order) repeats the token and key.
        client(hello(1, long_lived=True), conn="A", ts=T - 2),
        server(hello_reply(1, session_key=KEY), conn="A", ts=T - 1),
        client(hello(9, session_key=KEY), conn="A", ts=T - 0.5),
        closed("client", conn="A", ts=T),
        # B: not resumed (session-not-resumed), issues KEY2, closes.
        client(hello(2, session_key=KEY), conn="B", ts=T + HOUR),
        server(hello_reply(2, session_key=KEY2, resumed=False), conn="B", ts=T + HOUR),
        closed("server", conn="B", ts=T + 2 * HOUR),
        # C: KEY2 resumed 78 h later (session-expired-resumed).
        client(hello(3, session_key=KEY2), conn="C", ts=T + 80 * HOUR),
        server(hello_reply(3, session_key=KEY2, resumed=True), conn="C", ts=T + 80 * HOUR),
        # D: resumed with another key than the hello's (session-key).
        client(hello(4, session_key=KEY), conn="D", ts=T + 1),
        server(hello_reply(4, session_key=KEY2, resumed=True), conn="D", ts=T + 1),
        # E: secrets of the wrong type.
        client(hello(5, token=NUMBER_SECRET, session_key={"k": KEY}), conn="E"),
        server(hello_reply(5, session_key=NUMBER_SECRET), conn="E"),
        client(hello(6, token=[TOKEN], session_key=NUMBER_SECRET), conn="E2"),
        # F: a hello from the CCEB; G: a misspelled hello (an unknown notification from the client).
        server(hello(7, session_key=KEY), conn="F"),
        client({"type": "helo", "uuid": uid(8), "data": {"token": TOKEN, "session_key": KEY}}, conn="G"),
        client({"type": "hello", "uuid": "not-a-uuid", "data": {"token": TOKEN, "session_key": KEY, "long_lived": 1}},
               conn="G2"),
        # H: raw text cut short; bad records.
        {"conn": "H", "from": "client", "protocol": "cceb",
         "raw": '{"type": "hello", "uuid": "' + uid(10) + '", "data": {"token": "' + TOKEN},
        {"conn": "H2", "from": "client", "protocol": "cceb", "raw": '{"data": {"session_key": ' + str(NUMBER_SECRET)},
        '{"conn": "I", "from": "client", "message": {"type": "hello", "data": {"token": "' + TOKEN + '"}}',
        {"conn": "J", "from": "nobody", "message": hello(11)},
        {"conn": "K", "from": "client", "ts": KEY, "message": hello(12)},
        {"conn": "K2", "from": "client", "close": {"code": KEY2}},
        # L: a reply repeating the hello's key without resumed: true; an unacked notification.
        client(hello(13, session_key=KEY), conn="L"),
        server(hello_reply(13, session_key=KEY), conn="L"),
        server(notification(14, "acme_x", key=KEY), conn="L"),
    ]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_no_finding_or_output_holds_a_token_or_session_key(strict: bool) -> None:
    records = secret_capture()
    assert all(any(c in line for line in lines_of(records)) for c in CANARIES)
    report = check(records, strict=strict)
    codes = {f.code for f in report.findings}
    assert {SESSION_NOT_RESUMED, SESSION_EXPIRED_RESUMED, "session-key", "out-of-order", "wrong-direction",
            "schema-violation", "decode-error", "bad-record", "unknown-notification", "unanswered-request"} <= codes
    for finding in report.findings:
        for text in (finding.message, finding.path, finding.code, str(finding.conn), repr(finding)):
            for canary in CANARIES:
                assert canary not in text
    for fmt in ("text", "json"):
        output = render(report, fmt)
        for canary in CANARIES:
            assert canary not in output


def test_the_cli_does_not_show_tokens_or_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_capture(tmp_path, secret_capture())
    for fmt in ("text", "json"):
        assert main(["validate", "--format", fmt, str(path)]) == 1
        captured = capsys.readouterr()
        assert captured.out
        for canary in CANARIES:
            assert canary not in captured.out
            assert canary not in captured.err
