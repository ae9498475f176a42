"""The validator's inputs: HAR files, raw bridge streams, gzip, the ``validate_capture`` sources and
``validate_message``."""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ccproto
from ccproto.bridge.streams import STREAM_CONN, read_bridge_streams
from ccproto.capture import render
from ccproto.capture.har import read_har
from ccproto.capture.records import BadRecord, Record, read_jsonl
from ccproto.capture.validator import read_capture, validate_files, validate_records
from ccproto.core.findings import Finding, Kind, Report, Severity
from ccproto.core.framing import encode_frame
from ccproto.core.limits import Limits
from ccproto.core.roles import Role

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
BRIDGE_CLEAN = EXAMPLES / "bridge-clean.jsonl"
BRIDGE_FAULTY = EXAMPLES / "bridge-faulty.jsonl"
CCEB_CLEAN = EXAMPLES / "cceb-clean.jsonl"
CCEB_FAULTY = EXAMPLES / "cceb-faulty.jsonl"
PROCESSOR_FAULTY = EXAMPLES / "processor-faulty.jsonl"

#: Secrets that sit in a HAR's URLs, headers and cookies: none may reach a record, a finding or a report.
URL_TOKEN = "url-token-SECRET-4b1f"
URL_PASSWORD = "userinfo-pass-SECRET-9c2d"
URL_USER = "userinfo-user-SECRET-1a7e"
FRAGMENT_SECRET = "frag-SECRET-33aa"
BEARER = "bearer-SECRET-77c1"
COOKIE = "cookie-SECRET-5e0b"
IPV6_TOKEN = "ipv6-token-SECRET-2f8d"
HAR_SECRETS = (URL_TOKEN, URL_PASSWORD, URL_USER, FRAGMENT_SECRET, BEARER, COOKIE, IPV6_TOKEN)

#: Secrets inside messages (validate_message).
MSG_TOKEN = "eyJ-msg-token-canary-61d0"
MSG_KEY = "sk-msg-key-canary-0c3b"
MSG_PASSWORD = "pw-msg-canary-8e5a"

#: 2027-01-15T08:00:00Z, in epoch seconds.
T0 = 1_800_000_000.0

CCEB_URL = f"wss://{URL_USER}:{URL_PASSWORD}@cceb.example.com:8443/agent/ws?token={URL_TOKEN}#{FRAGMENT_SECRET}"
CCEB_CONN = "wss://cceb.example.com:8443/agent/ws #1"
IPV6_URL = f"wss://[2001:DB8::1]:9443/agent/ws?access_token={IPV6_TOKEN}"
IPV6_CONN = "wss://[2001:db8::1]:9443/agent/ws #3"


# -- building CCEB messages and HAR documents ------------------------------------------------------


def uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


def hello(n: int) -> dict[str, Any]:
    return {"type": "hello", "uuid": uuid(n), "data": {"token": "eyJhbGciOiJSUzI1NiJ9.agent-jwt.sig", "tenant": "acme"}}


def hello_reply(n: int) -> dict[str, Any]:
    return {"type": "hello_reply", "uuid": uuid(n), "data": {}}


def action(n: int) -> dict[str, Any]:
    return {"type": "action", "uuid": uuid(n),
            "data": {"action": "ChangeAgentStateEvent", "action_details": {"state": "Available"}}}


def ack(n: int) -> dict[str, Any]:
    return {"type": "ack", "uuid": uuid(n)}


def presence(n: int) -> dict[str, Any]:
    return {"type": "presence", "uuid": uuid(n), "data": {"status": "Available"}}


def conversation(base: int) -> list[tuple[str, dict[str, Any]]]:
    """A valid CCEB conversation: (HAR message type, message) pairs; uuids start at ``base``."""
    return [
        ("send", hello(base)),
        ("receive", hello_reply(base)),
        ("send", action(base + 1)),
        ("receive", ack(base + 1)),
        ("receive", presence(base + 2)),
        ("send", ack(base + 2)),
    ]


def ws_message(kind: str, time: float, message: Any, *, opcode: int = 1) -> dict[str, Any]:
    text = message if isinstance(message, str) else json.dumps(message)
    data = base64.b64encode(text.encode("utf-8")).decode("ascii") if opcode == 2 else text
    return {"type": kind, "time": time, "opcode": opcode, "data": data}


def http_entry(url: str) -> dict[str, Any]:
    """An HTTP entry as Chromium DevTools exports it (no _webSocketMessages)."""
    return {
        "_initiator": {"type": "other"},
        "_priority": "VeryHigh",
        "_resourceType": "document",
        "cache": {},
        "connection": "443",
        "pageref": "page_1",
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "http/2.0",
            "headers": [
                {"name": ":authority", "value": "app.example.com"},
                {"name": "authorization", "value": f"Bearer {BEARER}"},
                {"name": "cookie", "value": f"sid={COOKIE}"},
            ],
            "queryString": [{"name": "token", "value": URL_TOKEN}],
            "cookies": [{"name": "sid", "value": COOKIE, "path": "/", "domain": "app.example.com",
                         "expires": "2027-01-16T08:00:00.000Z", "httpOnly": True, "secure": True}],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "",
            "httpVersion": "http/2.0",
            "headers": [{"name": "content-type", "value": "text/html"}],
            "cookies": [],
            "content": {"size": 12, "mimeType": "text/html", "text": f"<p>{URL_TOKEN}</p>"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_transferSize": 300,
            "_error": None,
        },
        "serverIPAddress": "192.0.2.10",
        "startedDateTime": "2027-01-15T07:59:59.000Z",
        "time": 52.1,
        "timings": {"blocked": 1.0, "dns": -1, "ssl": -1, "connect": -1, "send": 0.2, "wait": 50.0,
                    "receive": 0.9, "_blocked_queueing": 0.5},
    }


def ws_entry(url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A WebSocket entry as Chromium DevTools exports it."""
    return {
        "_initiator": {"type": "script"},
        "_priority": "Medium",
        "_resourceType": "websocket",
        "_webSocketMessages": messages,
        "cache": {},
        "connection": "8443",
        "pageref": "page_1",
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Authorization", "value": f"Bearer {BEARER}"},
                {"name": "Cookie", "value": f"sid={COOKIE}"},
                {"name": "Sec-WebSocket-Key", "value": "dGhlIHNhbXBsZSBub25jZQ=="},
                {"name": "Upgrade", "value": "websocket"},
            ],
            "queryString": [{"name": "token", "value": URL_TOKEN}],
            "cookies": [{"name": "sid", "value": COOKIE, "path": "/", "domain": "cceb.example.com",
                         "expires": "1969-12-31T23:59:59.000Z", "httpOnly": False, "secure": True}],
            "headersSize": 512,
            "bodySize": 0,
        },
        "response": {
            "status": 101,
            "statusText": "Switching Protocols",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Upgrade", "value": "websocket"}, {"name": "Connection", "value": "Upgrade"}],
            "cookies": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": 129,
            "bodySize": 0,
            "_transferSize": 129,
            "_error": None,
        },
        "serverIPAddress": "192.0.2.20",
        "startedDateTime": "2027-01-15T08:00:00.000Z",
        "time": 1.5,
        "timings": {"blocked": 0.5, "dns": -1, "ssl": -1, "connect": -1, "send": 0.1, "wait": 0.8,
                    "receive": 0.1, "_blocked_queueing": 0.2},
    }


def har_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [{
                "startedDateTime": "2027-01-15T07:59:59.000Z",
                "id": "page_1",
                "title": f"https://app.example.com/desk?token={URL_TOKEN}",
                "pageTimings": {"onContentLoad": 120.0, "onLoad": 300.0},
            }],
            "entries": entries,
        }
    }


def clean_har(*, planted: dict[str, Any] | None = None, extra_1: dict[str, Any] | None = None,
              extra_3: dict[str, Any] | None = None) -> dict[str, Any]:
    """HTTP entries 0 and 2, WebSocket entries 1 and 3 (two valid CCEB conversations whose frames interleave).

    ``planted`` is a frame inserted at position 4 of entry 3; ``extra_1`` one inserted at position 2 of
    entry 1.  Entry 1's frames are at T0 + 0, 1, 2, ...; entry 3's at T0 + 0.5, 1.5, 2.5, ...
    """
    first = [ws_message(kind, T0 + i, msg) for i, (kind, msg) in enumerate(conversation(0x10))]
    second = [ws_message(kind, T0 + i + 0.5, msg) for i, (kind, msg) in enumerate(conversation(0x20))]
    if extra_1 is not None:
        first.insert(2, extra_1)
    if planted is not None:
        second.insert(4, planted)
    return har_document([
        http_entry(f"https://app.example.com/desk?token={URL_TOKEN}"),
        ws_entry(CCEB_URL, first),
        http_entry("https://app.example.com/api/me"),
        ws_entry(IPV6_URL, second),
    ])


def har_bytes(document: Any, *, indent: int | None = 2) -> bytes:
    return json.dumps(document, indent=indent).encode("utf-8")


def expected_numbers(document: dict[str, Any]) -> dict[str, int]:
    """location -> record number: by time (non-numeric times last), ties in file order."""
    frames: list[tuple[float, int, str]] = []
    for index, entry in enumerate(document["log"]["entries"]):
        for position, frame in enumerate(entry.get("_webSocketMessages", [])):
            time = frame.get("time") if isinstance(frame, dict) else None
            order = float(time) if isinstance(time, (int, float)) and not isinstance(time, bool) else float("inf")
            frames.append((order, len(frames),
                           f"/log/entries/{index}/_webSocketMessages/{position}"))
    return {location: number for number, (_, _, location) in enumerate(sorted(frames), start=1)}


def read(document: Any, **kwargs: Any) -> list[Record | BadRecord]:
    return list(read_har(har_bytes(document), file="capture.har", **kwargs))


def validate_har(document: Any, *, strict: bool = False) -> Report:
    return validate_records(read(document), strict=strict)


def codes(report: Report) -> list[tuple[int, str]]:
    return [(f.record, f.code) for f in report.findings]


def assert_no_har_secret(items: list[Record | BadRecord], report: Report | None = None) -> None:
    texts = [repr(item) for item in items] + [item.raw or "" for item in items if isinstance(item, Record)]
    if report is not None:
        texts += [repr(f) for f in report.findings]
        texts += [render(report, fmt) for fmt in ("text", "json")]
    for text in texts:
        for secret in HAR_SECRETS:
            assert secret not in text


# -- HAR: the DevTools layout ----------------------------------------------------------------------


def test_a_clean_devtools_har_gives_no_findings() -> None:
    document = clean_har()
    items = read(document)
    assert len(items) == 12
    assert all(isinstance(item, Record) for item in items)
    report = validate_records(items)
    assert report.findings == []
    assert report.records == 12
    assert report.connections == {"capture.har": {CCEB_CONN: "cceb", IPV6_CONN: "cceb"}}


def test_a_clean_devtools_har_file_gives_no_findings(tmp_path: Path) -> None:
    path = tmp_path / "session.har"
    path.write_bytes(har_bytes(clean_har()))
    report = ccproto.validate_capture(path)
    assert report.findings == []
    assert report.records == 12


def test_records_of_a_har_carry_sender_time_connection_and_location() -> None:
    document = clean_har()
    items = read(document)
    numbers = expected_numbers(document)
    for item in items:
        assert isinstance(item, Record)
        assert item.location is not None
        assert item.number == numbers[item.location]
        _, _, _, index, _, position = item.location.split("/")
        frame = document["log"]["entries"][int(index)]["_webSocketMessages"][int(position)]
        assert item.ts == frame["time"]
        assert item.sender is (Role.CLIENT if frame["type"] == "send" else Role.SERVER)
        assert item.raw == frame["data"]
        assert item.message is None
        assert item.protocol is None
        assert item.binary is False
        assert item.file == "capture.har"
        assert item.conn == (CCEB_CONN if index == "1" else IPV6_CONN)
    assert [item.number for item in items] == list(range(1, 13))
    # the two entries' frames interleave by time
    assert [item.conn for item in items] == [CCEB_CONN, IPV6_CONN] * 6


def test_a_planted_fault_is_named_by_record_and_location() -> None:
    document = clean_har(planted=ws_message("send", T0 + 3.9, ack(0x99)))
    report = validate_har(document)
    location = "/log/entries/3/_webSocketMessages/4"
    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding.code == "unknown-uuid"
    assert finding.severity is Severity.ERROR
    assert finding.location == location
    assert finding.conn == IPV6_CONN
    assert finding.record == expected_numbers(document)[location] == 9
    assert f"record 9 ({location})" in render(report, "text")
    assert render(report, "json").count(location) == 1


def test_a_planted_fault_in_a_har_file_through_validate_capture(tmp_path: Path) -> None:
    document = clean_har(planted=ws_message("send", T0 + 3.9, ack(0x99)))
    path = tmp_path / "session.har"
    path.write_bytes(har_bytes(document))
    report = ccproto.validate_capture(str(path))
    assert [(f.record, f.code, f.location, f.file) for f in report.findings] == [
        (9, "unknown-uuid", "/log/entries/3/_webSocketMessages/4", str(path))
    ]


def test_har_url_secrets_and_headers_never_reach_records_findings_or_reports() -> None:
    document = clean_har(planted=ws_message("send", T0 + 3.9, ack(0x99)),
                         extra_1=ws_message("send", T0 + 1.2, "not json"))
    items = read(document)
    report = validate_records(items)
    assert report.findings  # there is something to render
    assert_no_har_secret(items, report)
    conns = {item.conn for item in items}
    assert conns == {CCEB_CONN, IPV6_CONN}


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"wss://host.example:8443/path?token={URL_TOKEN}#frag", "wss://host.example:8443/path #0"),
        (f"wss://{URL_USER}:{URL_PASSWORD}@host.example/p", "wss://host.example/p #0"),
        (f"wss://{URL_USER}@host.example/p?x=1", "wss://host.example/p #0"),
        (f"ws://[::1]:9000/a/b?token={URL_TOKEN}", "ws://[::1]:9000/a/b #0"),
        (f"wss://{URL_USER}:{URL_PASSWORD}@[2001:db8::2]/x#{FRAGMENT_SECRET}", "wss://[2001:db8::2]/x #0"),
        ("wss://host.example", "wss://host.example #0"),
    ],
)
def test_connection_name_keeps_only_scheme_host_port_and_path(url: str, name: str) -> None:
    document = har_document([ws_entry(url, [ws_message("send", T0, hello(1))])])
    items = read(document)
    assert [item.conn for item in items] == [name]
    assert_no_har_secret(items, validate_records(items))


def test_http_entries_are_skipped() -> None:
    document = har_document([http_entry(f"https://a.example/?token={URL_TOKEN}") for _ in range(3)])
    assert read(document) == []
    report = validate_har(document)
    assert report.records == 0
    assert report.findings == []


def test_send_is_the_client_and_receive_the_server() -> None:
    document = har_document([ws_entry("wss://h/p", [
        ws_message("receive", T0, presence(1)), ws_message("send", T0 + 1, ack(1)),
    ])])
    assert [item.sender for item in read(document)] == [Role.SERVER, Role.CLIENT]  # type: ignore[union-attr]


def test_frames_of_equal_time_keep_file_order_across_entries() -> None:
    document = har_document([
        ws_entry("wss://a/p", [ws_message("send", T0 + 1, "a0"), ws_message("send", T0, "a1")]),
        http_entry("https://x/"),
        ws_entry("wss://b/p", [ws_message("send", T0, "b0"), ws_message("send", T0 + 1, "b1")]),
    ])
    items = read(document)
    assert [item.raw for item in items if isinstance(item, Record)] == ["a1", "b0", "a0", "b1"]
    assert [item.number for item in items] == [1, 2, 3, 4]


_TIMES = st.sampled_from([T0, T0 + 0.25, T0 + 1, T0 + 7.5])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(["send", "receive"]), _TIMES | st.integers(0, 3)),
                         max_size=5), max_size=4))
def test_har_records_are_numbered_in_time_order_ties_in_file_order(
    entries: list[list[tuple[str, float | int]]],
) -> None:
    document = har_document([
        ws_entry(f"wss://h/{i}", [ws_message(kind, time, f"{i}.{j}") for j, (kind, time) in enumerate(frames)])
        for i, frames in enumerate(entries)
    ])
    items = read(document)
    flat = [(time, i, j, kind) for i, frames in enumerate(entries) for j, (kind, time) in enumerate(frames)]
    expected = sorted(flat, key=lambda f: f[0])  # stable: ties keep file order
    assert [item.number for item in items] == list(range(1, len(flat) + 1))
    got = []
    for item in items:
        assert isinstance(item, Record)
        got.append((item.ts, item.raw, item.sender, item.conn, item.location))
    assert got == [
        (float(time), f"{i}.{j}", Role.CLIENT if kind == "send" else Role.SERVER, f"wss://h/{i} #{i}",
         f"/log/entries/{i}/_webSocketMessages/{j}")
        for time, i, j, kind in expected
    ]


# -- HAR: binary and bad frames --------------------------------------------------------------------


def test_a_binary_frame_is_decoded_and_warned_about() -> None:
    document = clean_har(extra_1=ws_message("receive", T0 + 1.7, presence(0x40), opcode=2))
    items = read(document)
    location = "/log/entries/1/_webSocketMessages/2"
    binary = [item for item in items if isinstance(item, Record) and item.binary]
    assert len(binary) == 1
    assert binary[0].location == location
    assert binary[0].raw == json.dumps(presence(0x40))
    report = validate_records(items)
    number = expected_numbers(document)[location]
    assert binary[0].number == number
    # besides the binary frame, the presence is never acked (an end-of-capture warning naming it)
    assert sorted((f.record, f.code, f.severity.value, f.kind.value, f.location) for f in report.findings) == [
        (number, "binary-frame", "warning", "decode", location),
        (number, "unanswered-request", "warning", "sequence", None),
    ]


def test_a_binary_frame_is_an_error_when_strict() -> None:
    document = har_document([ws_entry("wss://h/p", [
        ws_message("send", T0, hello(1), opcode=2), ws_message("receive", T0 + 1, hello_reply(1)),
    ])])
    lax = validate_har(document)
    strict = validate_har(document, strict=True)
    assert [(f.record, f.code, f.severity) for f in lax.findings] == [(1, "binary-frame", Severity.WARNING)]
    assert [(f.record, f.code, f.severity) for f in strict.findings] == [(1, "binary-frame", Severity.ERROR)]


BAD_FRAMES: list[tuple[str, dict[str, Any] | Any]] = [
    ("bad base64", {"type": "send", "time": T0 + 1.2, "opcode": 2, "data": "!!not base64!!"}),
    ("base64 of non-UTF-8", {"type": "send", "time": T0 + 1.2, "opcode": 2,
                             "data": base64.b64encode(b"\xff\xfe{}").decode()}),
    ("close opcode", {"type": "send", "time": T0 + 1.2, "opcode": 8, "data": ""}),
    ("ping opcode", {"type": "receive", "time": T0 + 1.2, "opcode": 9, "data": ""}),
    ("continuation opcode", {"type": "send", "time": T0 + 1.2, "opcode": 0, "data": "{}"}),
    ("no opcode", {"type": "send", "time": T0 + 1.2, "data": "{}"}),
    ("no type", {"time": T0 + 1.2, "opcode": 1, "data": "{}"}),
    ("wrong type", {"type": "both", "time": T0 + 1.2, "opcode": 1, "data": "{}"}),
    ("null type", {"type": None, "time": T0 + 1.2, "opcode": 1, "data": "{}"}),
    ("string time", {"type": "send", "time": "1800000001.2", "opcode": 1, "data": "{}"}),
    ("boolean time", {"type": "send", "time": True, "opcode": 1, "data": "{}"}),
    ("no time", {"type": "send", "opcode": 1, "data": "{}"}),
    ("no data", {"type": "send", "time": T0 + 1.2, "opcode": 1}),
    ("numeric data", {"type": "send", "time": T0 + 1.2, "opcode": 1, "data": 5}),
    ("object data", {"type": "send", "time": T0 + 1.2, "opcode": 1, "data": {"type": "ack"}}),
    ("not an object", "just a string"),
    ("a number", 17),
]


@pytest.mark.parametrize(("label", "frame"), BAD_FRAMES, ids=[label for label, _ in BAD_FRAMES])
def test_a_bad_frame_is_a_bad_record_and_the_rest_is_still_validated(label: str, frame: Any) -> None:
    document = clean_har(extra_1=frame, planted=ws_message("send", T0 + 3.9, ack(0x99)))
    numbers = expected_numbers(document)
    items = read(document)
    assert len(items) == 14
    report = validate_records(items)
    bad_location = "/log/entries/1/_webSocketMessages/2"
    fault_location = "/log/entries/3/_webSocketMessages/4"
    assert sorted((f.record, f.code, f.location) for f in report.findings) == sorted([
        (numbers[bad_location], "bad-record", bad_location),
        (numbers[fault_location], "unknown-uuid", fault_location),
    ])
    bad = next(f for f in report.findings if f.code == "bad-record")
    assert bad.conn == CCEB_CONN
    assert bad.kind is Kind.DECODE
    assert bad.severity is Severity.ERROR
    assert "SECRET" not in bad.message


def test_a_frame_without_a_numeric_time_comes_last() -> None:
    document = clean_har(extra_1={"type": "send", "time": "soon", "opcode": 1, "data": "{}"})
    items = read(document)
    assert items[-1].number == 13
    assert isinstance(items[-1], BadRecord)
    assert items[-1].location == "/log/entries/1/_webSocketMessages/2"
    assert all(isinstance(item, Record) for item in items[:-1])


@pytest.mark.parametrize("kind", [["send"], {"send": 1}])
def test_an_unhashable_type_is_a_bad_record(kind: Any) -> None:
    document = clean_har(extra_1={"type": kind, "time": T0 + 1.2, "opcode": 1, "data": "{}"})
    report = validate_har(document)
    assert [(f.code, f.location) for f in report.findings] == [("bad-record", "/log/entries/1/_webSocketMessages/2")]


def test_a_huge_integer_time_is_a_bad_record() -> None:
    text = har_bytes(clean_har(extra_1={"type": "send", "time": 0, "opcode": 1, "data": "{}"}), indent=None)
    text = text.replace(b'"time": 0,', b'"time": 1' + b"0" * 400 + b",", 1)
    report = validate_records(read_har(text, file="capture.har"))
    assert [(f.code, f.location) for f in report.findings] == [("bad-record", "/log/entries/1/_webSocketMessages/2")]


def test_a_nan_time_does_not_disturb_the_order_of_the_other_frames() -> None:
    frames = [ws_message("send", T0 + 3, "c"), {"type": "send", "time": 0, "opcode": 1, "data": "nan"},
              ws_message("send", T0 + 2, "b"), ws_message("send", T0 + 1, "a")]
    text = har_bytes(har_document([ws_entry("wss://h/p", frames)]), indent=None).replace(b'"time": 0,', b'"time": NaN,')
    items = list(read_har(text, file="capture.har"))
    good = [item.raw for item in items if isinstance(item, Record)]
    assert good == ["a", "b", "c"]
    assert [item.number for item in items] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "data",
    [
        b"not json at all",
        b'{"log": {"entries": [',
        b"[]",
        b"{}",
        b'{"log": []}',
        b'{"log": {}}',
        b'{"log": {"entries": {}}}',
        b'{"log": {"entries": null}}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
        "{\"log\": {\"entries\": 5}}",
    ],
)
def test_a_har_that_is_not_one_gives_one_bad_record(data: bytes | str) -> None:
    items = list(read_har(data, file="x.har"))
    assert len(items) == 1
    assert isinstance(items[0], BadRecord)
    assert items[0].number == 1
    report = validate_records(items)
    assert [(f.record, f.code) for f in report.findings] == [(1, "bad-record")]
    raw = data if isinstance(data, bytes) else data.encode()
    result = ccproto.validate_capture(io.BytesIO(raw), kind="har", file="x.har")
    assert [(f.record, f.code, f.file) for f in result.findings] == [(1, "bad-record", "x.har")]


def test_an_empty_har_has_no_records() -> None:
    report = validate_har(har_document([]))
    assert report.records == 0
    assert report.findings == []


def test_entries_that_are_not_objects_are_skipped() -> None:
    document = clean_har()
    document["log"]["entries"][0] = None
    document["log"]["entries"][2] = ["x"]
    assert validate_har(document).findings == []


# -- HAR detection ---------------------------------------------------------------------------------


def kinds(data: bytes, kind: str = "auto") -> list[str]:
    """For each item read: 'har' (located in a HAR), 'jsonl' (a record) or 'bad'."""
    out = []
    for item in read_capture(io.BytesIO(data), file="x", kind=kind):
        if isinstance(item, BadRecord):
            out.append("bad")
        else:
            out.append("har" if (item.location or "").startswith("/log/entries/") else "jsonl")
    return out


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"\n  \r\n", b"\xef\xbb\xbf\n"])
def test_a_pretty_printed_har_is_detected(prefix: bytes) -> None:
    assert kinds(prefix + har_bytes(clean_har(), indent=2)) == ["har"] * 12
    assert kinds(prefix + har_bytes(clean_har(), indent=2).replace(b"\n", b"\r\n")) == ["har"] * 12


def test_a_one_line_har_is_detected() -> None:
    assert kinds(har_bytes(clean_har(), indent=None)) == ["har"] * 12
    assert kinds(har_bytes(clean_har(), indent=None) + b"\n") == ["har"] * 12


def test_json_lines_stay_json_lines() -> None:
    data = CCEB_CLEAN.read_bytes()
    assert kinds(data) == ["jsonl"] * 38
    assert kinds(data, "jsonl") == ["jsonl"] * 38


def test_json_lines_mentioning_log_after_the_start_stay_json_lines() -> None:
    record = {"from": "client", "protocol": "cceb", "ts": T0, "conn": "agent-with-a-long-name", "raw": "log"}
    data = (json.dumps(record) + "\n").encode() * 2
    assert data.index(b'"log"') > 64
    assert kinds(data) == ["jsonl", "jsonl"]


def test_a_json_lines_record_with_a_log_value_stays_json_lines() -> None:
    record = {"conn": "log", "from": "client", "protocol": "cceb", "message": hello(1)}
    data = (json.dumps(record) + "\n").encode()
    assert kinds(data) == ["jsonl"]


def test_kind_forces_the_reader() -> None:
    har = har_bytes(clean_har(), indent=2)
    jsonl = CCEB_CLEAN.read_bytes()
    assert kinds(har, "har") == ["har"] * 12
    # a HAR read as JSON Lines: every line is a bad record, none is a HAR frame
    forced = kinds(har, "jsonl")
    assert forced
    assert set(forced) == {"bad"}
    assert kinds(har_bytes(clean_har(), indent=None), "jsonl") == ["bad"]
    # JSON Lines read as a HAR: one bad record
    assert kinds(jsonl, "har") == ["bad"]


@pytest.mark.parametrize("kind", ["xml", "HAR", "", "json"])
def test_an_unknown_kind_is_a_value_error(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        list(read_capture(io.BytesIO(b""), file="x", kind=kind))
    with pytest.raises(ValueError, match="kind"):
        ccproto.validate_capture(CCEB_CLEAN, kind=kind)
    with pytest.raises(ValueError, match="kind"):
        ccproto.validate_capture(io.BytesIO(CCEB_CLEAN.read_bytes()), kind=kind)


# -- raw bridge streams ----------------------------------------------------------------------------


def sample_records(path: Path) -> list[Record]:
    items = list(read_jsonl(path.read_text(encoding="utf-8").splitlines(), file=str(path)))
    assert all(isinstance(item, Record) for item in items)
    return items  # type: ignore[return-value]


def side_frames(records: list[Record], side: Role) -> list[bytes]:
    return [encode_frame(json.dumps(r.message).encode("utf-8")) for r in records if r.sender is side]


CLEAN_RECORDS = sample_records(BRIDGE_CLEAN)
CLIENT_FRAMES = side_frames(CLEAN_RECORDS, Role.CLIENT)
SERVER_FRAMES = side_frames(CLEAN_RECORDS, Role.SERVER)
CLIENT_BYTES = b"".join(CLIENT_FRAMES)
SERVER_BYTES = b"".join(SERVER_FRAMES)


def streams(client: list[bytes] | None, server: list[bytes] | None, **kwargs: Any) -> list[Record | BadRecord]:
    return list(read_bridge_streams(client, server, file="streams", **kwargs))


def test_bridge_streams_give_the_same_findings_as_the_jsonl_sample() -> None:
    items = streams([CLIENT_BYTES], [SERVER_BYTES])
    assert len(items) == len(CLEAN_RECORDS) == 16
    assert all(isinstance(item, Record) and item.protocol == "bridge" and item.conn == STREAM_CONN
               and item.ts is None for item in items)
    merged = validate_records(items)
    sample = validate_files([BRIDGE_CLEAN])
    assert sorted((f.code, f.severity) for f in merged.findings) == sorted((f.code, f.severity)
                                                                           for f in sample.findings)
    assert len(merged.findings) == len(sample.findings) == 1


def test_bridge_streams_keep_each_side_and_its_offsets() -> None:
    items = streams([CLIENT_BYTES], [SERVER_BYTES])
    for side, frames in ((Role.CLIENT, CLIENT_FRAMES), (Role.SERVER, SERVER_FRAMES)):
        mine = [item for item in items if isinstance(item, Record) and item.sender is side]
        assert [item.raw for item in mine] == [frame[4:].decode() for frame in frames]
        offsets = [sum(len(f) for f in frames[:i]) for i in range(len(frames))]
        assert [item.location for item in mine] == [
            f"{side.value} stream, frame {i + 1} at byte {offset}" for i, offset in enumerate(offsets)
        ]
    assert [item.number for item in items] == list(range(1, 17))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=75, deadline=None)
@given(st.lists(st.integers(0, len(CLIENT_BYTES)), max_size=30), st.lists(st.integers(0, len(SERVER_BYTES)),
                                                                        max_size=30))
def test_splitting_the_streams_anywhere_gives_the_same_records(client_cuts: list[int], server_cuts: list[int]) -> None:
    whole = streams([CLIENT_BYTES], [SERVER_BYTES])
    assert streams(chunked(CLIENT_BYTES, client_cuts), chunked(SERVER_BYTES, server_cuts)) == whole


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, len(CLIENT_BYTES)), max_size=10), st.integers(1, 200))
def test_splitting_a_cut_short_stream_anywhere_gives_the_same_records(cuts: list[int], trim: int) -> None:
    data = CLIENT_BYTES[:-trim]
    assert streams(chunked(data, cuts), [SERVER_BYTES]) == streams([data], [SERVER_BYTES])


def test_the_bridge_frame_comes_first_even_if_the_client_stream_starts_with_an_event() -> None:
    event = {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"}, "body": {"status": "in-service"}}
    client = [encode_frame(json.dumps(event).encode()), CLIENT_BYTES]
    items = streams(client, [SERVER_BYTES])
    assert items[0].location == "server stream, frame 1 at byte 0"
    assert isinstance(items[0], Record)
    assert items[0].sender is Role.SERVER


def _request_id(item: Record) -> str | None:
    value = json.loads(item.raw or "")
    request_id = value["header"].get("requestId")
    return None if request_id is None else str(request_id)


def test_every_response_comes_after_the_request_it_answers() -> None:
    # the client's responses all up front: the merge still puts each after its request
    responses = [f for f in CLIENT_FRAMES if b'"cti.response"' in f]
    events = [f for f in CLIENT_FRAMES if b'"cti.response"' not in f]
    items = streams([b"".join(responses + events)], [SERVER_BYTES])
    seen: set[str] = set()
    for item in items:
        assert isinstance(item, Record)
        request_id = _request_id(item)
        if item.sender is Role.SERVER:
            assert request_id is not None
            seen.add(request_id)
        elif request_id is not None:
            assert request_id in seen
    assert len(items) == 16


@st.composite
def conversations(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Server requests (ids r0, r1, ...) and client frames: responses to some of them and events, any order."""
    count = draw(st.integers(0, 6))
    server: list[dict[str, Any]] = [
        {"header": {"type": "cti.request", "name": "x", "requestId": f"r{i}"}, "body": {}} for i in range(count)
    ]
    answered = draw(st.lists(st.integers(0, max(count - 1, 0)), unique=True, max_size=count)) if count else []
    client: list[dict[str, Any]] = [
        {"header": {"type": "cti.response", "name": "x", "requestId": f"r{i}"}, "body": {}} for i in answered
    ]
    for n in range(draw(st.integers(0, 3))):
        client.insert(draw(st.integers(0, len(client))),
                      {"header": {"type": "cti.event", "name": "e"}, "body": {"n": n}})
    return client, server


@settings(max_examples=100, deadline=None)
@given(conversations())
def test_the_merge_respects_causality(conversation: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    client, server = conversation
    items = streams([b"".join(encode_frame(json.dumps(m).encode()) for m in client)],
                    [b"".join(encode_frame(json.dumps(m).encode()) for m in server)])
    records = [item for item in items if isinstance(item, Record)]
    assert len(records) == len(items) == len(client) + len(server)
    assert [item.number for item in items] == list(range(1, len(items) + 1))
    # each side's own order is kept
    assert [json.loads(r.raw or "") for r in records if r.sender is Role.CLIENT] == client
    assert [json.loads(r.raw or "") for r in records if r.sender is Role.SERVER] == server
    if server:
        assert records[0].sender is Role.SERVER
    asked: set[str] = set()
    for record in records:
        value = json.loads(record.raw or "")
        if record.sender is Role.SERVER:
            asked.add(value["header"]["requestId"])
        elif value["header"]["type"] == "cti.response":
            assert value["header"]["requestId"] in asked


@pytest.mark.parametrize("side", [Role.CLIENT, Role.SERVER])
@pytest.mark.parametrize("other", ["none", "empty"])
def test_one_direction_only(side: Role, other: str) -> None:
    frames = CLIENT_FRAMES if side is Role.CLIENT else SERVER_FRAMES
    missing: list[bytes] | None = None if other == "none" else []
    one = [b"".join(frames)]
    items = streams(one, missing) if side is Role.CLIENT else streams(missing, one)
    assert [item.number for item in items] == list(range(1, len(frames) + 1))
    assert all(isinstance(item, Record) and item.sender is side for item in items)
    assert [item.raw for item in items] == [f[4:].decode() for f in frames]  # type: ignore[union-attr]
    validate_records(items)  # does not raise


def test_no_streams_at_all() -> None:
    assert streams(None, None) == []
    assert streams([], [b""]) == []


def bad_findings(items: list[Record | BadRecord]) -> list[Finding]:
    return [f for f in validate_records(items).findings if f.code == "bad-record"]


@pytest.mark.parametrize("trim", [1, 10, len(CLIENT_FRAMES[-1]) - 4, len(CLIENT_FRAMES[-1]) - 1])
def test_a_truncated_last_frame_is_a_bad_record(trim: int) -> None:
    items = streams([CLIENT_BYTES[:-trim]], [SERVER_BYTES])
    assert len(items) == 16
    bad = [item for item in items if isinstance(item, BadRecord)]
    offset = len(CLIENT_BYTES) - len(CLIENT_FRAMES[-1])
    location = f"client stream, frame {len(CLIENT_FRAMES)} at byte {offset}"
    assert [item.location for item in bad] == [location]
    assert bad[0].conn == STREAM_CONN
    assert str(len(CLIENT_FRAMES[-1]) - trim) in bad[0].detail
    findings = bad_findings(items)
    assert [(f.record, f.location) for f in findings] == [(bad[0].number, location)]


def test_a_cut_inside_the_length_prefix_is_a_bad_record() -> None:
    items = streams(None, [SERVER_FRAMES[0] + SERVER_FRAMES[1][:2]])
    assert isinstance(items[0], Record)
    assert isinstance(items[1], BadRecord)
    assert items[1].location == f"server stream, frame 2 at byte {len(SERVER_FRAMES[0])}"


def test_an_over_limit_length_prefix_is_a_bad_record_and_ends_that_side() -> None:
    limits = Limits(max_message_bytes=max(len(f) - 4 for f in CLIENT_FRAMES[:3]) + 1)
    huge = struct.pack(">I", limits.max_message_bytes + 1) + b"x" * (limits.max_message_bytes + 1)
    client = CLIENT_FRAMES[0] + CLIENT_FRAMES[1] + huge + CLIENT_FRAMES[2]
    items = streams([client], [SERVER_FRAMES[0]], limits=limits)
    location = f"client stream, frame 3 at byte {len(CLIENT_FRAMES[0]) + len(CLIENT_FRAMES[1])}"
    bad = [item for item in items if isinstance(item, BadRecord)]
    assert [item.location for item in bad] == [location]
    assert str(limits.max_message_bytes) in bad[0].detail
    # nothing of that side after it; the other side is still read
    assert len(items) == 4
    assert items[-1] == bad[0]
    assert sum(isinstance(i, Record) and i.sender is Role.SERVER for i in items) == 1
    assert [(f.record, f.location) for f in bad_findings(items)] == [(4, location)]


def test_an_over_limit_prefix_alone_does_not_buffer_the_frame() -> None:
    limits = Limits(max_message_bytes=16)
    items = streams([struct.pack(">I", 2**32 - 1)], None, limits=limits)
    assert len(items) == 1
    assert isinstance(items[0], BadRecord)
    assert items[0].location == "client stream, frame 1 at byte 0"


def test_an_invalid_utf8_frame_is_a_bad_record_and_the_stream_goes_on() -> None:
    bad_frame = encode_frame(b'{"header": "\xff\xfe"}')
    server = SERVER_FRAMES[0] + bad_frame + b"".join(SERVER_FRAMES[1:])
    items = streams([CLIENT_BYTES], [server])
    assert len(items) == 17
    location = f"server stream, frame 2 at byte {len(SERVER_FRAMES[0])}"
    bad = [item for item in items if isinstance(item, BadRecord)]
    assert [item.location for item in bad] == [location]
    assert "UTF-8" in bad[0].detail
    servers = [item for item in items if isinstance(item, Record) and item.sender is Role.SERVER]
    offset = len(SERVER_FRAMES[0]) + len(bad_frame)
    assert servers[1].location == f"server stream, frame 3 at byte {offset}"
    assert [(f.location, f.severity) for f in bad_findings(items)] == [(location, Severity.ERROR)]


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.binary(max_size=300) | st.none(), st.integers(1, 64))
def test_any_bytes_never_crash_the_stream_reader(client: bytes, server: bytes | None, limit: int) -> None:
    items = streams([client], None if server is None else [server], limits=Limits(max_message_bytes=limit))
    assert [item.number for item in items] == list(range(1, len(items) + 1))
    for item in items:
        assert isinstance(item, (Record, BadRecord))
        assert item.location is not None
        assert " stream, frame " in item.location
    validate_records(items)  # nothing crashes


# -- gzip ------------------------------------------------------------------------------------------


def triples(report: Report) -> list[tuple[int, str, str, str | None]]:
    return [(f.record, f.code, f.path, f.location) for f in report.findings]


@pytest.mark.parametrize("sample", [CCEB_FAULTY, BRIDGE_FAULTY, PROCESSOR_FAULTY])
@pytest.mark.parametrize("name", ["capture.jsonl.gz", "capture.jsonl", "capture"])
def test_gzipped_json_lines_give_the_same_findings(tmp_path: Path, sample: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(sample.read_bytes()))
    plain = validate_files([sample])
    packed = ccproto.validate_capture(path)
    assert plain.findings
    assert triples(packed) == triples(plain)
    assert {f.file for f in packed.findings} == {str(path)}


@pytest.mark.parametrize("name", ["session.har.gz", "session.har", "session.json", "session"])
def test_a_gzipped_har_is_read_as_a_har(tmp_path: Path, name: str) -> None:
    document = clean_har(planted=ws_message("send", T0 + 3.9, ack(0x99)))
    path = tmp_path / name
    path.write_bytes(gzip.compress(har_bytes(document)))
    report = ccproto.validate_capture(path)
    assert triples(report) == [(9, "unknown-uuid", "/uuid", "/log/entries/3/_webSocketMessages/4")]
    assert report.records == 13
    one_line = gzip.compress(har_bytes(document, indent=None))
    assert triples(ccproto.validate_capture(io.BytesIO(one_line))) == triples(report)


def assert_corrupt(items: list[Record | BadRecord]) -> None:
    assert items
    last = items[-1]
    assert isinstance(last, BadRecord)
    assert "compressed stream is corrupt" in last.detail
    assert all(isinstance(item, Record) for item in items[:-1])
    assert [item.number for item in items] == sorted(item.number for item in items)


@pytest.mark.parametrize("data", [
    gzip.compress(CCEB_FAULTY.read_bytes(), mtime=0)[:100],
    gzip.compress(CCEB_FAULTY.read_bytes(), mtime=0)[:-4],
    gzip.compress(CCEB_FAULTY.read_bytes(), mtime=0)[:10],
    b"\x1f\x8b",
    b"\x1f\x8b\x08\x00garbage-garbage-garbage",
    gzip.compress(har_bytes(clean_har()), mtime=0)[:-20],
])
def test_a_corrupt_gzip_stream_is_a_bad_record_not_an_exception(tmp_path: Path, data: bytes) -> None:
    assert_corrupt(list(read_capture(io.BytesIO(data), file="x")))
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(data)
    report = ccproto.validate_capture(path)
    corrupt = [f for f in report.findings if "compressed stream is corrupt" in f.message]
    assert len(corrupt) == 1
    assert corrupt[0].code == "bad-record"
    assert corrupt[0].record == max(f.record for f in report.findings)


GZ_SAMPLE = gzip.compress(CCEB_FAULTY.read_bytes())


@settings(max_examples=60, deadline=None)
@given(st.integers(2, len(GZ_SAMPLE) - 1))
def test_any_cut_short_gzip_stream_ends_in_one_corrupt_bad_record(length: int) -> None:
    items = list(read_capture(io.BytesIO(GZ_SAMPLE[:length]), file="x"))
    assert_corrupt(items)
    records = [item for item in items if isinstance(item, Record)]
    whole = [item for item in read_capture(io.BytesIO(GZ_SAMPLE), file="x") if isinstance(item, Record)]
    assert records == whole[: len(records)]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, len(GZ_SAMPLE) - 1), st.integers(1, 255))
def test_a_damaged_gzip_stream_never_raises(position: int, flip: int) -> None:
    data = bytearray(GZ_SAMPLE)
    data[position] ^= flip
    items = list(read_capture(io.BytesIO(bytes(data)), file="x"))
    assert all(isinstance(item, (Record, BadRecord)) for item in items)
    validate_records(items)


# -- validate_capture's sources --------------------------------------------------------------------


def findings_of(report: Report) -> list[tuple[Any, ...]]:
    """Everything of each finding but the file."""
    return [(f.record, f.conn, f.severity, f.kind, f.code, f.path, f.message, f.related, f.excerpt, f.location)
            for f in report.findings]


def sources(path: Path) -> Iterator[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8")
    yield "str path", str(path)
    yield "Path", path
    yield "BytesIO", io.BytesIO(path.read_bytes())
    yield "StringIO", io.StringIO(text)
    yield "dicts", [json.loads(line) for line in text.splitlines()]
    yield "dict generator", (json.loads(line) for line in text.splitlines())
    yield "Records", list(read_jsonl(text.splitlines(), file=str(path)))


@pytest.mark.parametrize("sample", [CCEB_FAULTY, BRIDGE_FAULTY, PROCESSOR_FAULTY, CCEB_CLEAN, BRIDGE_CLEAN])
def test_every_kind_of_source_gives_the_same_findings(sample: Path) -> None:
    expected = validate_files([sample])
    for label, source in sources(sample):
        report = ccproto.validate_capture(source)
        assert findings_of(report) == findings_of(expected), label
        assert report.records == expected.records, label
    with sample.open("rb") as handle:
        assert findings_of(ccproto.validate_capture(handle)) == findings_of(expected)
    with sample.open("rb", buffering=0) as raw:
        assert findings_of(ccproto.validate_capture(raw)) == findings_of(expected)
    with sample.open(encoding="utf-8") as text:
        assert findings_of(ccproto.validate_capture(text)) == findings_of(expected)


def test_strict_and_coverage_pass_through_every_source() -> None:
    expected = validate_files([BRIDGE_CLEAN], strict=True, coverage=True)
    assert expected.errors == 1
    for label, source in sources(BRIDGE_CLEAN):
        report = ccproto.validate_capture(source, strict=True, coverage=True)
        assert findings_of(report) == findings_of(expected), label
        assert report.coverage is not None
        assert report.coverage.to_json() == expected.coverage.to_json()  # type: ignore[union-attr]


def test_file_names_the_source() -> None:
    data = CCEB_FAULTY.read_bytes()
    text = data.decode("utf-8")
    named = [
        ccproto.validate_capture(io.BytesIO(data), file="named"),
        ccproto.validate_capture(io.StringIO(text), file="named"),
        ccproto.validate_capture([json.loads(line) for line in text.splitlines()], file="named"),
    ]
    for report in named:
        assert report.findings
        assert {f.file for f in report.findings} == {"named"}
        assert list(report.connections) == ["named"]
    assert {f.file for f in ccproto.validate_capture(io.BytesIO(data)).findings} == {"capture"}
    with CCEB_FAULTY.open("rb") as handle:
        assert {f.file for f in ccproto.validate_capture(handle).findings} == {str(CCEB_FAULTY)}
    assert {f.file for f in ccproto.validate_capture(CCEB_FAULTY).findings} == {str(CCEB_FAULTY)}


def test_file_names_a_path_source_too() -> None:
    report = ccproto.validate_capture(CCEB_FAULTY, file="named")
    assert {f.file for f in report.findings} == {"named"}


def test_validate_capture_is_a_lazy_attribute_of_the_package() -> None:
    from ccproto.capture.validator import validate_capture, validate_message

    assert ccproto.validate_capture is validate_capture
    assert ccproto.validate_message is validate_message
    assert "validate_capture" in ccproto.__all__
    with pytest.raises(AttributeError):
        ccproto.validate_nothing  # noqa: B018


# -- validate_message ------------------------------------------------------------------------------


def first_message(path: Path, index: int = 0) -> tuple[Any, Role]:
    record = sample_records(path)[index]
    return record.message, record.sender


VALID = [
    ("bridge", *first_message(BRIDGE_CLEAN, 0)),
    ("bridge", *first_message(BRIDGE_CLEAN, 4)),
    ("processor", *first_message(EXAMPLES / "processor-clean.jsonl", 0)),
    ("processor", *first_message(EXAMPLES / "processor-clean.jsonl", 2)),
    ("cceb", *first_message(CCEB_CLEAN, 0)),
    ("cceb", *first_message(CCEB_CLEAN, 2)),
    ("cceb", *first_message(CCEB_CLEAN, 4)),
]


@pytest.mark.parametrize(("protocol", "message", "sender"), VALID)
def test_a_valid_message_of_each_protocol_has_no_findings(protocol: str, message: Any, sender: Role) -> None:
    assert ccproto.validate_message(message, protocol=protocol, direction=sender) == []
    assert ccproto.validate_message(message, protocol=protocol, direction=sender.value) == []
    assert ccproto.validate_message(json.dumps(message), protocol=protocol, direction=sender) == []


@pytest.mark.parametrize(("protocol", "message", "direction"), [
    # a bridge response that answers nothing
    ("bridge", first_message(BRIDGE_CLEAN, 4)[0], "client"),
    # a createsession success while no status was reported
    ("bridge", first_message(BRIDGE_CLEAN, 10)[0], "client"),
    # a CCEB ack of nothing, from either side
    ("cceb", ack(5), "client"),
    ("cceb", ack(5), "server"),
    # an action before any hello
    ("cceb", action(7), "client"),
    # a processor success with nothing outstanding
    ("processor", first_message(EXAMPLES / "processor-clean.jsonl", 5)[0], "server"),
])
def test_sequence_rules_do_not_apply_to_one_message(protocol: str, message: Any, direction: str) -> None:
    assert ccproto.validate_message(message, protocol=protocol, direction=direction) == []
    # ... while the same message alone in a capture that holds its connection from the start breaks them
    opening = {"from": "client", "protocol": protocol, "open": {}}
    record = {"from": direction, "protocol": protocol, "message": message}
    assert any(f.kind is Kind.SEQUENCE for f in ccproto.validate_capture([opening, record]).findings)


SCHEMA_BROKEN = [
    ("bridge", "server", {"header": {"type": "cti.request", "name": "cti.request.createsession",
                                     "target": "Acme1.CONTROL", "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000005"},
                          "body": {"agentId": 5, "agentPassword": MSG_PASSWORD, "sessionId": "sess-1"}}),
    ("cceb", "client", {"data": {"token": MSG_TOKEN, "tenant": 7, "session_key": {"k": MSG_KEY}},
                        "type": "hello", "uuid": uuid(1)}),
    ("cceb", "client", {"type": "action", "uuid": uuid(2),
                        "data": {"action": "ChangeAgentStateEvent", "action_details": {"tenantGuid": "t"}}}),
    ("processor", "client", {"command": "prepareSession", "data": {"agent": {"password": MSG_PASSWORD, "id": 1001},
                                                                   "model": "uccx", "override": "no"}}),
]


@pytest.mark.parametrize(("protocol", "direction", "message"), SCHEMA_BROKEN)
def test_schema_findings_match_those_of_a_capture_record(protocol: str, direction: str, message: Any) -> None:
    alone = ccproto.validate_message(message, protocol=protocol, direction=direction)
    assert alone
    assert all(f.kind is Kind.SCHEMA and f.severity is Severity.ERROR for f in alone)
    capture = ccproto.validate_capture([{"from": direction, "protocol": protocol, "message": message}])
    schema = [(f.code, f.path) for f in capture.findings if f.kind is Kind.SCHEMA]
    assert sorted((f.code, f.path) for f in alone) == sorted(schema)
    as_text = ccproto.validate_message(json.dumps(message), protocol=protocol, direction=direction)
    assert [(f.code, f.path, f.message, f.severity) for f in as_text] == [
        (f.code, f.path, f.message, f.severity) for f in alone
    ]


@pytest.mark.parametrize(("protocol", "direction", "message"), SCHEMA_BROKEN)
def test_validate_message_never_shows_a_secret(protocol: str, direction: str, message: Any) -> None:
    for obj in (message, json.dumps(message), json.dumps(message)[:-3]):
        findings = ccproto.validate_message(obj, protocol=protocol, direction=direction)
        assert findings
        text = repr(findings) + json.dumps([f.to_json() for f in findings])
        for secret in (MSG_TOKEN, MSG_KEY, MSG_PASSWORD):
            assert secret not in text


def test_validate_message_hides_a_secret_in_an_excerpt() -> None:
    message = {"data": {"token": MSG_TOKEN, "tenant": 7}, "type": "hello", "uuid": uuid(1)}
    (finding,) = ccproto.validate_message(message, protocol="cceb", direction="client")
    assert finding.path == "/data/tenant"
    assert '"token":"***"' in finding.excerpt  # the excerpt reaches the token, and hides it
    assert MSG_TOKEN not in repr(finding)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"type": "hello", "data": {"token": "x"', "null"])
def test_text_that_is_not_a_message_is_a_decode_finding(text: str) -> None:
    findings = ccproto.validate_message(text, protocol="cceb", direction="client")
    assert [f.kind for f in findings] == [Kind.DECODE]
    capture = ccproto.validate_capture([{"from": "client", "protocol": "cceb", "raw": text}])
    assert [(f.code, f.path) for f in capture.findings] == [(f.code, f.path) for f in findings]


def test_a_quirk_is_a_warning_and_an_error_when_strict() -> None:
    message = first_message(BRIDGE_CLEAN, 1)[0]  # "cti.result" for "result"
    lax = ccproto.validate_message(message, protocol="bridge", direction="client")
    strict = ccproto.validate_message(message, protocol="bridge", direction="client", strict=True)
    assert [(f.code, f.severity) for f in lax] == [("alternate-spelling", Severity.WARNING)]
    assert [(f.code, f.severity) for f in strict] == [("alternate-spelling", Severity.ERROR)]


@pytest.mark.parametrize("protocol", ["xmpp", "", "BRIDGE", "sip"])
def test_an_unknown_protocol_is_a_value_error(protocol: str) -> None:
    with pytest.raises(ValueError, match="protocol"):
        ccproto.validate_message(ack(1), protocol=protocol, direction="client")


@pytest.mark.parametrize("direction", ["CLIENT", "both", "", "agent", None, 1])
def test_a_bad_direction_is_a_value_error(direction: Any) -> None:
    with pytest.raises(ValueError, match="Role"):
        ccproto.validate_message(ack(1), protocol="cceb", direction=direction)


class _CountingStream(io.BytesIO):
    """A stream that remembers the longest piece it handed out at once."""

    longest = 0

    def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        line = super().readline(size)
        self.longest = max(self.longest, len(line))
        return line


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_line_longer_than_a_record_may_be_is_skipped_without_being_held(gzipped: bool) -> None:
    from ccproto.capture.validator import read_capture
    from ccproto.core.limits import Limits

    limits = Limits(max_message_bytes=1000)
    good = b'{"from":"client","protocol":"cceb","message":{"type":"ack","uuid":"u"}}\n'
    data = good + b'{"from":"client","message":"' + b"x" * 500_000 + b'"}\n' + good
    stream = _CountingStream(gzip.compress(data) if gzipped else data)
    items = list(read_capture(stream, file="f", limits=limits))
    assert [type(item) for item in items] == [Record, BadRecord, Record]
    assert [item.number for item in items] == [1, 2, 3]
    bad = items[1]
    assert isinstance(bad, BadRecord)
    assert "500031 bytes" in bad.detail
    assert "6 x max_message_bytes" in bad.detail
    if not gzipped:
        assert stream.longest <= 6 * 1000 + 65536 + 1  # never the whole line at once
