"""Reading capture records: ``read_jsonl``, ``parse_timestamp`` and ``detect_protocol``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccproto.capture.records import BadRecord, Record, detect_protocol, parse_timestamp, read_jsonl
from ccproto.core.roles import Role

CANARY = "hunter2-canary"
#: 2025-11-21T08:00:00Z as epoch seconds.
EPOCH = 1763712000.0

SERVERSTATUS = {
    "header": {
        "type": "cti.request",
        "name": "cti.request.serverstatus",
        "target": "Acme1.CONTROL",
        "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000001",
    },
    "body": {},
}


def line(**fields: Any) -> str:
    return json.dumps(fields) + "\n"


def read(*lines: str) -> list[Record | BadRecord]:
    return list(read_jsonl(lines, file="capture.jsonl"))


def only(*lines: str) -> Record | BadRecord:
    items = read(*lines)
    assert len(items) == 1
    return items[0]


# -- good records --------------------------------------------------------------------------


def test_a_full_record_is_read_field_by_field() -> None:
    record = only(line(ts=EPOCH, conn="bridge-1", **{"from": "server"}, protocol="bridge", message=SERVERSTATUS))
    assert isinstance(record, Record)
    assert record.file == "capture.jsonl"
    assert record.number == 1
    assert record.ts == EPOCH
    assert record.conn == "bridge-1"
    assert record.sender is Role.SERVER
    assert record.protocol == "bridge"
    assert record.message == SERVERSTATUS
    assert record.raw is None


def test_a_raw_record_keeps_the_text_and_no_message() -> None:
    text = json.dumps(SERVERSTATUS)
    record = only(line(**{"from": "client"}, raw=text))
    assert isinstance(record, Record)
    assert record.raw == text
    assert record.message is None
    assert record.sender is Role.CLIENT


def test_optional_fields_default() -> None:
    record = only(line(**{"from": "client"}, message=SERVERSTATUS))
    assert isinstance(record, Record)
    assert record.conn == "default"
    assert record.ts is None
    assert record.protocol is None


def test_blank_lines_are_skipped_but_keep_their_numbers() -> None:
    good = line(**{"from": "server"}, message=SERVERSTATUS)
    items = read("\n", good, "   \n", "\t\r\n", good, "", good.rstrip("\n"))
    assert [item.number for item in items] == [2, 5, 7]
    assert all(isinstance(item, Record) for item in items)


def test_bad_records_are_numbered_by_line_too() -> None:
    good = line(**{"from": "server"}, message=SERVERSTATUS)
    items = read(good, "\n", "not json\n", good, "[1]\n")
    assert [(item.number, type(item)) for item in items] == [
        (1, Record),
        (3, BadRecord),
        (4, Record),
        (5, BadRecord),
    ]


def test_crlf_line_endings_are_accepted() -> None:
    record = only(json.dumps({"from": "client", "message": SERVERSTATUS}) + "\r\n")
    assert isinstance(record, Record)


# -- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        pytest.param("2025-11-21T08:00:00Z", EPOCH, id="rfc3339-Z"),
        pytest.param("2025-11-21T08:00:00.500Z", EPOCH + 0.5, id="rfc3339-fraction-Z"),
        pytest.param("2025-11-21T10:00:00+02:00", EPOCH, id="rfc3339-plus-two"),
        pytest.param("2025-11-21T03:30:00-04:30", EPOCH, id="rfc3339-negative-offset"),
        pytest.param("2025-11-21T08:00:00+00:00", EPOCH, id="rfc3339-zero-offset"),
        pytest.param(1763712000, EPOCH, id="epoch-int"),
        pytest.param(1763712000.25, EPOCH + 0.25, id="epoch-float"),
        pytest.param(0, 0.0, id="epoch-zero"),
    ],
)
def test_ts_is_parsed_to_epoch_seconds(ts: Any, expected: float) -> None:
    record = only(line(ts=ts, **{"from": "client"}, message=SERVERSTATUS))
    assert isinstance(record, Record)
    assert record.ts == pytest.approx(expected, abs=1e-6)
    assert isinstance(record.ts, float)
    assert parse_timestamp(ts) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "ts",
    [True, False, None, "2025-11-21T08:00:00", "2025-11-21", "garbage", "", [], {}],
    ids=["true", "false", "null", "no-offset", "date-only", "garbage", "empty", "list", "object"],
)
def test_parse_timestamp_rejects_what_is_not_a_time(ts: Any) -> None:
    with pytest.raises(ValueError, match=r"ts|isoformat"):
        parse_timestamp(ts)


# -- close records ---------------------------------------------------------------------------


def test_a_close_record_gives_code_and_reason() -> None:
    record = only(line(ts=EPOCH, conn="ws-1", **{"from": "server"}, close={"code": 4001, "reason": "x"}))
    assert isinstance(record, Record)
    assert record.close == (4001, "x")
    assert record.sender is Role.SERVER
    assert record.conn == "ws-1"
    assert record.ts == EPOCH
    assert record.message is None
    assert record.raw is None
    assert record.protocol is None


@pytest.mark.parametrize(
    ("close", "expected"),
    [
        pytest.param({}, (None, ""), id="empty"),
        pytest.param({"code": 1000}, (1000, ""), id="code-only"),
        pytest.param({"reason": "going away"}, (None, "going away"), id="reason-only"),
        pytest.param({"code": 1001, "reason": ""}, (1001, ""), id="empty-reason"),
        pytest.param({"code": 4001, "reason": "x", "wasClean": True}, (4001, "x"), id="other-members-ignored"),
    ],
)
def test_close_code_is_optional_and_reason_defaults_to_empty(close: Any, expected: tuple[Any, str]) -> None:
    record = only(line(**{"from": "client"}, protocol="cceb", close=close))
    assert isinstance(record, Record)
    assert record.close == expected
    assert record.protocol == "cceb"


def test_message_and_raw_records_have_no_close() -> None:
    message, raw = read(line(**{"from": "server"}, message=SERVERSTATUS),
                        line(**{"from": "server"}, raw=json.dumps(SERVERSTATUS)))
    assert isinstance(message, Record)
    assert isinstance(raw, Record)
    assert message.close is None
    assert raw.close is None


# -- bad records -----------------------------------------------------------------------------

#: (line, expected conn, a word the detail names).  Every line holds the canary somewhere.
BAD_LINES = [
    pytest.param('{"from": "client", "agentPassword": "hunter2-canary"\n', None, "JSON", id="not-json"),
    pytest.param("hunter2-canary\n", None, "JSON", id="bare-word"),
    pytest.param('["hunter2-canary"]\n', None, "object", id="array"),
    pytest.param('"hunter2-canary"\n', None, "object", id="string"),
    pytest.param("42\n", None, "object", id="number"),
    pytest.param("null\n", None, "object", id="null"),
    pytest.param(
        line(conn=7, **{"from": "client"}, message={"agentPassword": CANARY}), None, "conn", id="conn-number"
    ),
    pytest.param(
        line(conn=None, **{"from": "client"}, message={"agentPassword": CANARY}), None, "conn", id="conn-null"
    ),
    pytest.param(
        line(conn=["a"], **{"from": "client"}, message={"agentPassword": CANARY}), None, "conn", id="conn-list"
    ),
    pytest.param(line(conn="c1", message={"agentPassword": CANARY}), "c1", "from", id="from-missing"),
    pytest.param(
        line(conn="c1", **{"from": "bridge"}, message={"agentPassword": CANARY}), "c1", "from", id="from-invalid"
    ),
    pytest.param(
        line(conn="c1", **{"from": "Client"}, message={"agentPassword": CANARY}), "c1", "from", id="from-case"
    ),
    pytest.param(line(conn="c1", **{"from": None}, message={"agentPassword": CANARY}), "c1", "from", id="from-null"),
    pytest.param(line(conn="c1", **{"from": []}, message={"agentPassword": CANARY}), "c1", "from", id="from-list"),
    pytest.param(
        line(conn="c1", **{"from": "client"}, protocol="http", message={"agentPassword": CANARY}),
        "c1", "protocol", id="protocol-unknown",
    ),
    pytest.param(
        line(conn="c1", **{"from": "client"}, protocol="Bridge", message={"agentPassword": CANARY}),
        "c1", "protocol", id="protocol-case",
    ),
    pytest.param(
        line(conn="c1", **{"from": "client"}, protocol=["bridge"], message={"agentPassword": CANARY}),
        "c1", "protocol", id="protocol-list",
    ),
    pytest.param(
        line(conn="c1", **{"from": "client"}, message={"agentPassword": CANARY}, raw=json.dumps(SERVERSTATUS)),
        "c1", "exactly one", id="message-and-raw",
    ),
    pytest.param(line(conn="c1", **{"from": "client"}, agentPassword=CANARY), "c1", "exactly one", id="neither"),
    pytest.param(line(conn="c1", **{"from": "client"}, raw=987654321), "c1", "raw", id="raw-number"),
    pytest.param(
        line(conn="c1", **{"from": "client"}, raw={"agentPassword": CANARY}), "c1", "raw", id="raw-object"
    ),
    pytest.param(line(conn="c1", **{"from": "client"}, raw=None), "c1", "raw", id="raw-null"),
    pytest.param(
        line(conn="c1", **{"from": "client"}, message={"agentPassword": CANARY}, close={"code": 1000}),
        "c1", "exactly one", id="message-and-close",
    ),
    pytest.param(
        line(conn="c1", **{"from": "client"}, raw=CANARY, close={"code": 1000}), "c1", "exactly one",
        id="raw-and-close",
    ),
    pytest.param(line(conn="c1", **{"from": "client"}, close=[1000, CANARY]), "c1", "close", id="close-list"),
    pytest.param(line(conn="c1", **{"from": "client"}, close=CANARY), "c1", "close", id="close-string"),
    pytest.param(line(conn="c1", **{"from": "client"}, close=1000), "c1", "close", id="close-number"),
    pytest.param(line(conn="c1", **{"from": "client"}, close=None), "c1", "close", id="close-null"),
    pytest.param(
        line(conn="c1", **{"from": "server"}, close={"code": "4001", "reason": CANARY}), "c1", "close",
        id="close-code-string",
    ),
    pytest.param(
        line(conn="c1", **{"from": "server"}, close={"code": True, "reason": CANARY}), "c1", "close",
        id="close-code-bool",
    ),
    pytest.param(
        line(conn="c1", **{"from": "server"}, close={"code": 1000.0, "reason": CANARY}), "c1", "close",
        id="close-code-float",
    ),
    pytest.param(
        line(conn="c1", **{"from": "server"}, close={"code": 1000, "reason": 987654321}), "c1", "close",
        id="close-reason-number",
    ),
    pytest.param(
        line(conn="c1", **{"from": "server"}, close={"code": 1000, "reason": [CANARY]}), "c1", "close",
        id="close-reason-list",
    ),
    pytest.param(
        line(conn="c1", ts=True, **{"from": "client"}, message={"agentPassword": CANARY}), "c1", "ts", id="ts-bool"
    ),
    pytest.param(
        line(conn="c1", ts="2025-11-21T08:00:00", **{"from": "client"}, message={"agentPassword": CANARY}),
        "c1", "ts", id="ts-no-offset",
    ),
    pytest.param(
        line(conn="c1", ts=CANARY, **{"from": "client"}, message={"agentPassword": CANARY}),
        "c1", "ts", id="ts-garbage",
    ),
    pytest.param(
        line(conn="c1", ts=None, **{"from": "client"}, message={"agentPassword": CANARY}), "c1", "ts", id="ts-null"
    ),
]


@pytest.mark.parametrize(("text", "conn", "word"), BAD_LINES)
def test_a_malformed_line_gives_a_bad_record(text: str, conn: str | None, word: str) -> None:
    items = read("\n", text)
    assert len(items) == 1
    bad = items[0]
    assert isinstance(bad, BadRecord)
    assert bad.file == "capture.jsonl"
    assert bad.number == 2
    assert bad.conn == conn
    assert word in bad.detail


@pytest.mark.parametrize(("text", "conn", "word"), BAD_LINES)
def test_a_bad_record_never_quotes_its_line(text: str, conn: str | None, word: str) -> None:
    bad = only(text)
    assert isinstance(bad, BadRecord)
    assert CANARY not in bad.detail
    assert CANARY not in repr(bad)
    assert "987654321" not in bad.detail
    assert text.strip() not in bad.detail


def test_a_bad_record_does_not_stop_the_reader() -> None:
    good = line(**{"from": "server"}, message=SERVERSTATUS)
    items = read("{oops\n", good, line(**{"from": "nobody"}, message={}), good)
    assert [type(item) for item in items] == [BadRecord, Record, BadRecord, Record]


def test_deep_nesting_is_a_bad_record_not_a_crash() -> None:
    bad = only("[" * 100_000 + "]" * 100_000 + "\n")
    assert isinstance(bad, BadRecord)


@pytest.mark.parametrize("ts", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_ts_is_a_bad_record(ts: str) -> None:
    # NaN and Infinity are not JSON (RFC 8259) and 1e400 overflows a double; ccproto's own JSON layer
    # (core.jsonio.loads) rejects all of them, but read_jsonl uses Python's json module, which accepts them.
    bad = only('{"from": "client", "ts": ' + ts + ', "message": {}}\n')
    assert isinstance(bad, BadRecord)
    assert "JSON" in bad.detail or "ts" in bad.detail


# -- detect_protocol ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(SERVERSTATUS, "bridge", id="bridge-full"),
        pytest.param({"header": {}, "body": {}}, "bridge", id="bridge-empty"),
        pytest.param({"header": 1, "body": None, "command": "x"}, "bridge", id="bridge-wins"),
        pytest.param({"command": "login"}, "processor", id="processor-command"),
        pytest.param({"command": "login", "type": "x", "uuid": "u"}, "processor", id="processor-command-wins"),
        pytest.param({"name": "call.offered", "data": {}}, "processor", id="processor-name-data"),
        pytest.param({"type": "event", "uuid": "u-1"}, "cceb", id="cceb-type-uuid"),
        pytest.param({"type": "ack"}, "cceb", id="cceb-ack"),
        pytest.param({"name": "x", "data": {}, "type": "ack"}, "cceb", id="name-data-type-ack"),
        pytest.param({"name": "x", "data": {}, "type": "event"}, None, id="name-data-type"),
        pytest.param({"header": {}}, None, id="header-only"),
        pytest.param({"body": {}}, None, id="body-only"),
        pytest.param({"name": "x"}, None, id="name-only"),
        pytest.param({"data": {}}, None, id="data-only"),
        pytest.param({"type": "event"}, None, id="type-only"),
        pytest.param({"uuid": "u"}, None, id="uuid-only"),
        pytest.param({}, None, id="empty"),
        pytest.param([SERVERSTATUS], None, id="list"),
        pytest.param("header body", None, id="string"),
        pytest.param(None, None, id="null"),
        pytest.param(42, None, id="number"),
    ],
)
def test_detect_protocol(message: Any, expected: str | None) -> None:
    assert detect_protocol(message) == expected


def test_a_record_read_by_the_fast_path_has_every_field_set() -> None:
    # The fast path builds records slot by slot: a field added to Record and forgotten there made repr, evolve and
    # == raise AttributeError (e.g. --one-capture, which evolves records).
    import attrs

    line = json.dumps({"ts": 1.5, "conn": "c", "from": "client", "message": {"type": "ping"}}).encode()
    (record,) = read_jsonl([line], file="f.jsonl")
    assert isinstance(record, Record)
    for field in attrs.fields(Record):
        getattr(record, field.name)
    assert attrs.evolve(record) == record
    assert "Record(" in repr(record)
