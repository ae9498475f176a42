"""``ccproto validate`` end to end: the installed console script, run as a subprocess.

Every input kind (JSON Lines, gzip, standard input, DevTools HAR, raw bridge
streams), every report format, every exit status, ``--max-findings``,
``--coverage``, ``--jobs``, the progress bar, and that no secret of a capture
ever reaches standard output, standard error or the ``--output`` file.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import os
import re
import select
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from sample_expectations import (
    CCEB_FAULTY_CUT_WARNINGS,
    CCEB_FAULTY_ERRORS,
    CCEB_FAULTY_WARNINGS,
    FAULTY_ERRORS,
    PROCESSOR_FAULTY_ERRORS,
)

CCPROTO = str(Path(sys.executable).parent / "ccproto")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
SUMMARY_KEYS = {"records", "errors", "warnings"}
FINDING_KEYS = {
    "file", "record", "conn", "severity", "kind", "code", "path", "message", "related", "excerpt", "location",
}
#: A finding line of the text report: record, location, severity, kind, code.
RECORD_LINE = re.compile(r"^    record (\d+)(?: \((.+?)\))?: (error|warning) \[(\w+)/([\w-]+)\]")
CONNECTION_LINE = re.compile(r"^  connection '(.*)'(?: \((\w+)\))?$")
HAR_LOCATION = re.compile(r"^/log/entries/(\d+)/_webSocketMessages/(\d+)$")
#: Every secret planted in the captures of the secrets tests starts with this.
CANARY = "Zq9"

Triple = tuple[int, str, str]


# -- running the command -------------------------------------------------------------------------


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``ccproto validate ARGS`` as a subprocess (standard input: ``stdin``, else nothing)."""
    command = [CCPROTO, "validate", *args]
    if stdin is not None:
        return subprocess.run(command, capture_output=True, text=True, timeout=120, input=stdin, check=False)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False
    )


def run_json(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    """Exit status and the parsed ``--format json`` report (standard error must stay empty)."""
    result = run("--format", "json", *args, stdin=stdin)
    assert result.stderr == ""
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return result.returncode, value


def run_junit(*args: str) -> tuple[int, ET.Element]:
    """Exit status and the parsed ``--format junit`` report."""
    result = run("--format", "junit", *args)
    assert result.stderr == ""
    return result.returncode, ET.fromstring(result.stdout)


def sample(name: str) -> str:
    return str(EXAMPLES / name)


def error_triples(report: dict[str, Any]) -> set[Triple]:
    return {(f["record"], f["kind"], f["code"]) for f in report["findings"] if f["severity"] == "error"}


def warning_triples(report: dict[str, Any]) -> set[Triple]:
    return {(f["record"], f["kind"], f["code"]) for f in report["findings"] if f["severity"] == "warning"}


def failures(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//failure")


# -- building inputs ------------------------------------------------------------------------------


def records_of(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines capture."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def epoch(ts: Any) -> float:
    if isinstance(ts, (int, float)):
        return float(ts)
    return datetime.datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()


def ws_message(sender: str, ts: float, message: Any) -> dict[str, Any]:
    """One ``_webSocketMessages`` item: a text frame carrying ``message`` as JSON text."""
    return {"type": "send" if sender == "client" else "receive", "time": ts, "opcode": 1, "data": json.dumps(message)}


def http_entry(url: str, *, headers: Sequence[dict[str, str]] = (), cookies: Sequence[dict[str, Any]] = ()) -> dict[
    str, Any
]:
    """An HTTP entry (no WebSocket frames: the validator skips it)."""
    return {
        "startedDateTime": "2026-11-02T08:59:59.000Z",
        "time": 12.5,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": list(headers),
                    "cookies": list(cookies), "queryString": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Content-Type", "value": "text/html"}], "cookies": [],
                     "content": {"size": 0, "mimeType": "text/html"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": 0},
        "cache": {},
        "timings": {"send": 0, "wait": 10, "receive": 2.5},
    }


def ws_entry(url: str, messages: list[dict[str, Any]], *, headers: Sequence[dict[str, str]] = (),
             cookies: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A WebSocket entry as DevTools exports it."""
    return {
        "_resourceType": "websocket",
        "startedDateTime": "2026-11-02T09:00:00.000Z",
        "time": 0,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Upgrade", "value": "websocket"}, *headers], "cookies": list(cookies),
                    "queryString": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Upgrade", "value": "websocket"}, {"name": "Connection", "value": "Upgrade"}],
                     "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "",
                     "headersSize": -1, "bodySize": 0},
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        "_webSocketMessages": messages,
    }


def har_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "pages": [],
                    "entries": entries}}


def write_har(path: Path, entries: list[dict[str, Any]]) -> Path:
    """A HAR file, pretty-printed as DevTools writes it (its first line is a lone ``{``)."""
    path.write_text(json.dumps(har_document(entries), indent=2), encoding="utf-8")
    return path


def har_from_capture(capture: str, path: Path) -> tuple[Path, int]:
    """The message records of a CCEB JSON Lines capture as a HAR (one WebSocket entry a connection, after an
    HTTP entry); also how many frames it has.  HAR files have no close frames: close records are left out."""
    by_conn: dict[str, list[dict[str, Any]]] = {}
    frames = 0
    for record in records_of(capture):
        if "message" not in record:
            continue
        by_conn.setdefault(record["conn"], []).append(ws_message(record["from"], epoch(record["ts"]),
                                                                 record["message"]))
        frames += 1
    entries = [http_entry("https://cceb.example.com/agent/login",
                          headers=[{"name": "Cookie", "value": "sid=abc"}],
                          cookies=[{"name": "sid", "value": "abc", "path": "/", "httpOnly": True}])]
    entries += [ws_entry(f"wss://cceb.example.com/ws/{conn}?tenant=acme", messages)
                for conn, messages in by_conn.items()]
    return write_har(path, entries), frames


def frame(payload: bytes) -> bytes:
    """One Processor Bridge frame: 4-byte big-endian length, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def write_streams(records: Iterable[dict[str, Any]], directory: Path) -> tuple[Path, Path]:
    """Raw bridge streams (client, server) of a bridge capture's records, split by ``from``."""
    sent: dict[str, bytearray] = {"client": bytearray(), "server": bytearray()}
    for record in records:
        sent[record["from"]] += frame(json.dumps(record["message"]).encode("utf-8"))
    client, server = directory / "client.bin", directory / "server.bin"
    client.write_bytes(bytes(sent["client"]))
    server.write_bytes(bytes(sent["server"]))
    return client, server


def streams_args(client: Path, server: Path) -> list[str]:
    return ["--bridge-stream", f"client={client}", "--bridge-stream", f"server={server}"]


# -- 1. input kinds --------------------------------------------------------------------------------

SAMPLE_EXPECTATIONS = [
    pytest.param("bridge-clean.jsonl", 0, set(), id="bridge-clean"),
    pytest.param("bridge-faulty.jsonl", 1, FAULTY_ERRORS, id="bridge-faulty"),
    pytest.param("processor-clean.jsonl", 0, set(), id="processor-clean"),
    pytest.param("processor-faulty.jsonl", 1, PROCESSOR_FAULTY_ERRORS, id="processor-faulty"),
    pytest.param("cceb-clean.jsonl", 0, set(), id="cceb-clean"),
    pytest.param("cceb-faulty.jsonl", 1, CCEB_FAULTY_ERRORS, id="cceb-faulty"),
]


@pytest.mark.parametrize(("name", "status", "expected"), SAMPLE_EXPECTATIONS)
def test_jsonl_file(name: str, status: int, expected: set[Triple]) -> None:
    returncode, report = run_json(sample(name))
    assert returncode == status
    assert error_triples(report) == expected
    assert report["summary"]["records"] == len(records_of(sample(name)))
    assert {f["file"] for f in report["findings"]} <= {sample(name)}
    if name == "cceb-faulty.jsonl":
        assert warning_triples(report) == CCEB_FAULTY_WARNINGS | CCEB_FAULTY_CUT_WARNINGS


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl"], ids=["gz-name", "gzip-without-gz-name"])
@pytest.mark.parametrize(("name", "status", "expected"), SAMPLE_EXPECTATIONS)
def test_gzip_file(tmp_path: Path, suffix: str, name: str, status: int, expected: set[Triple]) -> None:
    packed = tmp_path / f"capture{suffix}"
    packed.write_bytes(gzip.compress((EXAMPLES / name).read_bytes()))
    returncode, report = run_json(str(packed))
    assert returncode == status
    assert error_triples(report) == expected
    _, plain = run_json(sample(name))
    assert report["summary"] == plain["summary"]
    assert [{**f, "file": None} for f in report["findings"]] == [{**f, "file": None} for f in plain["findings"]]
    assert {f["file"] for f in report["findings"]} <= {str(packed)}


@pytest.mark.parametrize(("name", "status", "expected"), SAMPLE_EXPECTATIONS)
def test_standard_input(name: str, status: int, expected: set[Triple]) -> None:
    returncode, report = run_json("-", stdin=(EXAMPLES / name).read_text(encoding="utf-8"))
    assert returncode == status
    assert error_triples(report) == expected
    assert report["summary"]["records"] == len(records_of(sample(name)))
    assert {f["file"] for f in report["findings"]} <= {"<stdin>"}


def test_standard_input_among_files() -> None:
    result = run(sample("bridge-clean.jsonl"), "-", stdin=(EXAMPLES / "processor-faulty.jsonl").read_text("utf-8"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert sample("bridge-clean.jsonl") in lines
    assert "<stdin>" in lines
    assert lines[-1] == "FAILED: 36 records, 10 errors, 3 warnings"


def test_har_file_clean(tmp_path: Path) -> None:
    har, frames = har_from_capture(sample("cceb-clean.jsonl"), tmp_path / "clean.har")
    returncode, report = run_json(str(har))
    assert returncode == 0
    assert report["summary"]["records"] == frames
    assert report["summary"]["errors"] == 0
    # without close frames, the bad-token hello is left unanswered: a warning, not an error
    assert {f["code"] for f in report["findings"]} == {"unanswered-request"}
    for finding in report["findings"]:
        assert finding["file"] == str(har)
        assert re.fullmatch(r"wss://cceb\.example\.com/ws/[\w-]+ #[1-9]\d*", finding["conn"])


def test_har_file_faulty(tmp_path: Path) -> None:
    har, frames = har_from_capture(sample("cceb-faulty.jsonl"), tmp_path / "faulty.har")
    returncode, report = run_json(str(har))
    assert returncode == 1
    assert report["summary"]["records"] == frames
    codes = {(f["kind"], f["code"]) for f in report["findings"] if f["severity"] == "error"}
    assert codes >= {
        ("sequence", "out-of-order"), ("sequence", "wrong-uuid"), ("schema", "reserved-field"),
        ("sequence", "acked-refused-action"), ("schema", "unsupported-action"), ("sequence", "unknown-uuid"),
        ("sequence", "already-acked"), ("sequence", "uuid-in-flight"), ("schema", "schema-violation"),
        ("sequence", "phone-validation-transition"), ("sequence", "session-not-resumed"),
        ("sequence", "session-key"),
    }
    assert ("schema", "unknown-notification") in {(f["kind"], f["code"]) for f in report["findings"]
                                                  if f["severity"] == "warning"}
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    for finding in report["findings"]:
        if finding["location"] is None:  # end-of-capture warnings name no frame
            continue
        match = HAR_LOCATION.fullmatch(finding["location"])
        assert match is not None, finding
        index, position = int(match[1]), int(match[2])
        assert index >= 1  # entry 0 is the HTTP entry, skipped
        assert finding["conn"] == entries[index]["request"]["url"].split("?")[0] + f" #{index}"
        assert position < len(entries[index]["_webSocketMessages"])


def test_har_file_binary_frame_is_a_warning(tmp_path: Path) -> None:
    hello = {"type": "hello", "uuid": "00000000-0000-4000-8000-000000000001", "data": {"token": "t", "tenant": "a"}}
    reply = {"type": "hello_reply", "uuid": "00000000-0000-4000-8000-000000000001", "data": {}}
    binary = {"type": "send", "time": 1793610000.0, "opcode": 2,
              "data": base64.b64encode(json.dumps(hello).encode()).decode()}
    har = write_har(tmp_path / "binary.har", [ws_entry("wss://cceb.example.com/ws", [
        binary, ws_message("server", 1793610000.1, reply)])])
    returncode, report = run_json(str(har))
    assert returncode == 0
    assert warning_triples(report) == {(1, "decode", "binary-frame")}
    [finding] = report["findings"]
    assert finding["location"] == "/log/entries/0/_webSocketMessages/0"
    assert finding["excerpt"].startswith('{"type":"hello"')
    returncode, strict = run_json("--strict", str(har))
    assert returncode == 1
    assert error_triples(strict) == {(1, "decode", "binary-frame")}


def test_bridge_streams_clean(tmp_path: Path) -> None:
    client, server = write_streams(records_of(sample("bridge-clean.jsonl")), tmp_path)
    returncode, report = run_json(*streams_args(client, server))
    assert returncode == 0
    assert report["summary"] == {"records": 16, "errors": 0, "warnings": 1}
    [finding] = report["findings"]
    assert finding["code"] == "alternate-spelling"
    assert finding["conn"] == "bridge-stream"
    assert finding["file"] == f"client={client} + server={server}"
    assert finding["location"] == "client stream, frame 1 at byte 0"


def test_bridge_streams_faulty(tmp_path: Path) -> None:
    client, server = write_streams(records_of(sample("bridge-faulty.jsonl")), tmp_path)
    returncode, report = run_json(*streams_args(client, server))
    assert returncode == 1
    assert report["summary"]["records"] == 17
    codes = {(f["kind"], f["code"]) for f in report["findings"] if f["severity"] == "error"}
    assert codes >= {("schema", "schema-violation"), ("sequence", "unknown-correlation-id"),
                     ("schema", "unknown-message"), ("sequence", "invalid-status-transition")}
    for finding in report["findings"]:
        if finding["location"] is not None:
            assert re.fullmatch(r"(client|server) stream, frame \d+ at byte \d+", finding["location"])


def test_bridge_stream_cut_short(tmp_path: Path) -> None:
    client, server = write_streams(records_of(sample("bridge-clean.jsonl")), tmp_path)
    client.write_bytes(client.read_bytes()[:-3])
    returncode, report = run_json(*streams_args(client, server))
    assert returncode == 1
    assert [(f["kind"], f["code"]) for f in report["findings"] if f["severity"] == "error"] == [
        ("decode", "bad-record")
    ]


# -- 2. formats ---------------------------------------------------------------------------------


def parse_text(out: str) -> tuple[list[tuple[str, str | None, int, str, str, str]], list[str]]:
    """(file, conn, record, severity, kind, code) of every finding line, checking the layout; and the excerpts."""
    found: list[tuple[str, str | None, int, str, str, str]] = []
    excerpts: list[str] = []
    file: str | None = None
    conn: str | None = None
    headings: set[tuple[str | None, str | None]] = set()
    lines = out.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("      > "):
            assert RECORD_LINE.match(lines[index - 1]), "an excerpt follows its finding"
            excerpts.append(line[8:])
        elif match := RECORD_LINE.match(line):
            assert file is not None
            found.append((file, conn, int(match[1]), match[3], match[4], match[5]))
        elif match := CONNECTION_LINE.match(line):
            conn = match[1]
            assert (file, conn) not in headings, f"connection {conn!r} of {file} is listed twice"
            headings.add((file, conn))
        elif line == "  (no connection)":
            conn = None
        elif line.startswith(("OK: ", "FAILED: ", "(showing the first ")) or line.startswith(" "):
            continue
        else:
            file, conn = line, None
    return found, excerpts


def test_text_format_layout() -> None:
    result = run("--format", "text", sample("bridge-faulty.jsonl"))
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == sample("bridge-faulty.jsonl")
    assert lines[1] == "  connection 'bridge-1' (bridge)"
    assert lines[-1] == "FAILED: 17 records, 8 errors, 2 warnings"
    errors = [line for line in lines if RECORD_LINE.match(line) and ": error [" in line]
    assert {(int(m[1]), m[4], m[5]) for m in map(RECORD_LINE.match, errors) if m} == FAULTY_ERRORS
    for index, line in enumerate(lines):
        if line in errors:
            assert lines[index + 1].startswith("      > {\"header\":"), line
    [related] = [line for line in lines if line.startswith("    record 11: ")]
    assert related.endswith("(see record 8)")
    assert "hunter2" not in result.stdout


def test_text_format_clean_summary() -> None:
    result = run(sample("cceb-clean.jsonl"))
    assert result.returncode == 0
    assert result.stdout == "OK: 38 records, 0 errors, 0 warnings\n"


def test_text_format_agrees_with_json(tmp_path: Path) -> None:
    """Every finding of the JSON report is in the text report, under its file and connection."""
    har, _ = har_from_capture(sample("cceb-faulty.jsonl"), tmp_path / "faulty.har")
    client, server = write_streams(records_of(sample("bridge-faulty.jsonl")), tmp_path)
    inputs = [*(sample(f"{p}-{k}.jsonl") for p in ("bridge", "processor", "cceb") for k in ("clean", "faulty")),
              str(har), *streams_args(client, server)]
    text = run(*inputs)
    _, report = run_json(*inputs)
    found, excerpts = parse_text(text.stdout)
    assert sorted(found, key=repr) == sorted(
        ((f["file"], f["conn"], f["record"], f["severity"], f["kind"], f["code"]) for f in report["findings"]),
        key=repr,
    )
    assert sorted(excerpts) == sorted(f["excerpt"] for f in report["findings"] if f["excerpt"])
    summary = report["summary"]
    assert text.stdout.splitlines()[-1] == (
        f"FAILED: {summary['records']} records, {summary['errors']} errors, {summary['warnings']} warnings"
    )
    lines = text.stdout.splitlines()
    assert "  connection 'bridge-stream' (bridge)" in lines
    assert "  connection 'wss://cceb.example.com/ws/f4 #4' (cceb)" in lines
    assert "  connection 'desk-2' (processor)" in lines


@pytest.mark.parametrize("name", [p.values[0] for p in SAMPLE_EXPECTATIONS])
def test_json_format(name: str) -> None:
    returncode, report = run_json(sample(name))
    assert set(report) == {"summary", "findings"}
    assert set(report["summary"]) == SUMMARY_KEYS
    findings = report["findings"]
    assert report["summary"]["errors"] == sum(f["severity"] == "error" for f in findings)
    assert report["summary"]["warnings"] == sum(f["severity"] == "warning" for f in findings)
    assert returncode == (1 if report["summary"]["errors"] else 0)
    for finding in findings:
        assert set(finding) == FINDING_KEYS
        assert finding["file"] == sample(name)
        assert finding["severity"] in {"error", "warning"}
        assert finding["kind"] in {"decode", "schema", "sequence", "capture"}
        assert isinstance(finding["related"], list)
        assert all(isinstance(r, int) and 1 <= r < finding["record"] for r in finding["related"])
        assert isinstance(finding["excerpt"], str)
        assert finding["location"] is None or isinstance(finding["location"], str)


def test_json_related_names_the_request_a_bridge_response_answers() -> None:
    _, report = run_json(sample("bridge-faulty.jsonl"))
    [finding] = [f for f in report["findings"] if f["record"] == 11]
    assert finding["code"] == "session-while-not-in-service"
    assert finding["related"] == [8]
    request = records_of(sample("bridge-faulty.jsonl"))[8 - 1]["message"]["header"]
    response = records_of(sample("bridge-faulty.jsonl"))[11 - 1]["message"]["header"]
    assert request["requestId"] == response["requestId"]
    assert request["type"] == "cti.request"
    assert response["type"] == "cti.response"


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize(("name", "connections"), [
    ("bridge-clean.jsonl", ["bridge-1"]),
    ("bridge-faulty.jsonl", ["bridge-1"]),
    ("processor-clean.jsonl", ["desk-1"]),
    ("processor-faulty.jsonl", ["desk-2"]),
    ("cceb-clean.jsonl", ["agent-1", "agent-1-resume", "agent-1-after-expiry", "agent-2-bad-token"]),
    ("cceb-faulty.jsonl", [f"f{n}" for n in range(1, 9)]),
])
@pytest.mark.slow
def test_junit_format(name: str, connections: list[str], strict: bool) -> None:
    flags = ["--strict"] if strict else []
    returncode, root = run_junit(*flags, sample(name))
    status, report = run_json(*flags, sample(name))
    assert returncode == status
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    assert suite.get("name") == sample(name)
    assert [case.get("name") for case in suite.findall("testcase")] == connections
    assert suite.get("tests") == str(len(connections))
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    warnings = [f for f in report["findings"] if f["severity"] == "warning"]
    failed = {f["conn"] for f in errors}  # a test case fails once, however many errors it has (issue 21, 16)
    assert len(failures(root)) == len(failed)
    assert root.get("failures") == suite.get("failures") == str(len(failed))
    for case in suite.findall("testcase"):
        mine = [f for f in errors if f["conn"] == case.get("name")]
        if not mine:
            assert case.findall("failure") == []
            continue
        [failure] = case.findall("failure")
        more = f" (and {len(mine) - 1} more)" if len(mine) > 1 else ""
        assert failure.get("message") == f"record {mine[0]['record']}: {mine[0]['message']}{more}"
        assert failure.get("type") == mine[0]["code"]
        assert [line.split(": ", 1)[0] for line in (failure.text or "").splitlines() if line.startswith("record ")] \
            == [f"record {f['record']}" + (f" ({f['location']})" if f["location"] else "") for f in mine]
        out = case.find("system-out")
        notes = [f for f in warnings if f["conn"] == case.get("name")]
        if notes:
            assert out is not None
            assert (out.text or "").count("warning record ") == len(notes)
        else:
            assert out is None


def test_junit_failures_match_json_errors_over_several_inputs(tmp_path: Path) -> None:
    har, _ = har_from_capture(sample("cceb-faulty.jsonl"), tmp_path / "faulty.har")
    client, server = write_streams(records_of(sample("bridge-faulty.jsonl")), tmp_path)
    inputs = [sample("processor-faulty.jsonl"), sample("bridge-clean.jsonl"), str(har), *streams_args(client, server)]
    returncode, root = run_junit(*inputs)
    _, report = run_json(*inputs)
    assert returncode == 1
    failed = {(f["file"], f["conn"]) for f in report["findings"] if f["severity"] == "error"}
    assert len(failures(root)) == len(failed)  # one per failed test case (issue 21, 16)
    assert int(root.get("failures") or -1) == len(failed) <= int(root.get("tests") or -1)
    cases = {(suite.get("name"), case.get("name")) for suite in root.findall("testsuite")
             for case in suite.findall("testcase")}
    assert len(cases) == len(list(root.iter("testcase")))  # one test case per connection
    assert {(f["file"], f["conn"]) for f in report["findings"]} <= cases
    assert (f"client={client} + server={server}", "bridge-stream") in cases


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_output_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    to_file = run("--format", fmt, "--output", str(out), sample("processor-faulty.jsonl"))
    to_stdout = run("--format", fmt, sample("processor-faulty.jsonl"))
    assert to_file.returncode == to_stdout.returncode == 1
    assert to_file.stdout == ""
    assert to_file.stderr == ""
    assert out.read_text(encoding="utf-8") == to_stdout.stdout
    assert to_stdout.stdout.strip()


# -- 3. exit status --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "warnings"), [
    ("bridge-clean.jsonl", 1), ("processor-clean.jsonl", 3), ("cceb-clean.jsonl", 0),
])
def test_exit_0_clean_even_with_warnings(name: str, warnings: int) -> None:
    result = run(sample(name))
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("OK: ")
    assert result.stdout.splitlines()[-1].endswith(f", 0 errors, {warnings} warning{'' if warnings == 1 else 's'}")


@pytest.mark.parametrize("name", ["bridge-faulty.jsonl", "processor-faulty.jsonl", "cceb-faulty.jsonl"])
def test_exit_1_errors(name: str) -> None:
    result = run(sample(name))
    assert result.returncode == 1
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("FAILED: ")


@pytest.mark.parametrize(("name", "codes"), [
    ("bridge-clean.jsonl", {(2, "schema", "alternate-spelling")}),
    ("processor-clean.jsonl", {(2, "schema", "command-whitespace"), (19, "schema", "unknown-command"),
                               (20, "schema", "unknown-command")}),
])
def test_exit_1_strict_turns_warnings_into_errors(name: str, codes: set[Triple]) -> None:
    returncode, report = run_json(sample(name))
    assert returncode == 0
    assert warning_triples(report) == codes
    returncode, strict = run_json("--strict", sample(name))
    assert returncode == 1
    assert error_triples(strict) == codes
    assert strict["summary"]["errors"] == len(codes)


def usage_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    clean = sample("bridge-clean.jsonl")
    return {
        "missing-file": ([str(tmp_path / "missing.jsonl")], "cannot read"),
        "missing-file-among-good": ([clean, str(tmp_path / "missing.jsonl")], "cannot read"),
        "missing-file-jobs": (["--jobs", "2", clean, sample("cceb-clean.jsonl"), str(tmp_path / "missing.jsonl")],
                              "cannot read"),
        "directory": ([str(tmp_path)], "cannot read"),
        "no-input": ([], "give at least one FILE"),
        "bad-bridge-stream-side": (["--bridge-stream", "middle=x"], "--bridge-stream takes"),
        "bridge-stream-without-file": (["--bridge-stream", "client="], "--bridge-stream takes"),
        "bridge-stream-side-twice": (["--bridge-stream", f"client={clean}", "--bridge-stream", f"client={clean}"],
                                     "given twice"),
        "missing-bridge-stream": (["--bridge-stream", f"client={tmp_path / 'missing.bin'}"], "cannot read"),
        "max-findings-negative": (["--max-findings", "-1", clean], "--max-findings"),
        "jobs-0": (["--jobs", "0", clean], "--jobs"),
        "stdin-twice": (["-", "-"], "standard input"),
        "unwritable-output": (["--output", str(tmp_path / "no" / "such" / "dir" / "out.txt"), clean],
                              "cannot write"),
        "output-is-a-directory": (["--output", str(tmp_path), clean], "cannot write"),
        "unknown-extension": (["--extension", "no.such.module", clean], "cannot import extension"),
        "unknown-format": (["--format", "xml", clean], "--format"),
    }


USAGE_CASES = list(usage_cases(Path("/nonexistent")))


@pytest.mark.parametrize("case", USAGE_CASES)
def test_exit_2_usage_errors(tmp_path: Path, case: str) -> None:
    args, words = usage_cases(tmp_path)[case]
    result = run(*args, stdin="")
    assert result.returncode == 2
    assert result.stdout == ""
    assert words in result.stderr
    assert result.stderr.splitlines()[-1].startswith("ccproto validate: ")
    assert not (tmp_path / "no").exists()


# -- 4. --max-findings ------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3, 9])
def test_max_findings_text(limit: int) -> None:
    full = run(sample("cceb-faulty.jsonl"))
    cut = run("--max-findings", str(limit), sample("cceb-faulty.jsonl"))
    assert cut.returncode == full.returncode == 1
    shown = [line for line in cut.stdout.splitlines() if RECORD_LINE.match(line)]
    assert len(shown) == limit
    assert shown == [line for line in full.stdout.splitlines() if RECORD_LINE.match(line)][:limit]
    assert f"(showing the first {limit} of 21 findings: --max-findings)" in cut.stdout.splitlines()
    assert cut.stdout.splitlines()[-1] == full.stdout.splitlines()[-1] == "FAILED: 42 records, 19 errors, 2 warnings"


@pytest.mark.parametrize("limit", [1, 3, 9, 100])
def test_max_findings_json(limit: int) -> None:
    _, full = run_json(sample("processor-faulty.jsonl"))
    returncode, cut = run_json("--max-findings", str(limit), sample("processor-faulty.jsonl"))
    assert returncode == 1
    assert cut["summary"] == full["summary"] == {"records": 20, "errors": 10, "warnings": 2}
    assert cut["findings"] == full["findings"][:limit]
    assert len(cut["findings"]) == min(limit, 12)


@pytest.mark.parametrize("limit", [1, 4])
def test_max_findings_junit(limit: int) -> None:
    returncode, root = run_junit("--max-findings", str(limit), sample("bridge-faulty.jsonl"))
    assert returncode == 1
    assert 1 <= len(failures(root)) <= limit
    assert root.get("failures") == str(len(failures(root)))


def test_max_findings_exit_status_counts_hidden_errors() -> None:
    """The one finding shown is a warning, but errors follow: exit status 1, summary counts them all."""
    inputs = [sample("bridge-clean.jsonl"), sample("bridge-faulty.jsonl")]
    text = run("--max-findings", "1", *inputs)
    assert text.returncode == 1
    [line] = [line for line in text.stdout.splitlines() if RECORD_LINE.match(line)]
    assert ": warning [schema/alternate-spelling]" in line
    assert text.stdout.splitlines()[-1] == "FAILED: 33 records, 8 errors, 3 warnings"
    returncode, report = run_json("--max-findings", "1", *inputs)
    assert returncode == 1
    assert report["summary"] == {"records": 33, "errors": 8, "warnings": 3}
    assert [f["severity"] for f in report["findings"]] == ["warning"]
    returncode, root = run_junit("--max-findings", "1", *inputs)
    assert returncode == 1
    assert failures(root) == []


# -- 5. --coverage --------------------------------------------------------------------------------


def parse_coverage_text(out: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The text report's coverage section, in the shape of the JSON report's ``coverage``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("protocol coverage"))
    result: dict[str, dict[str, dict[str, Any]]] = {}
    protocol = category = ""
    for line in lines[start + 1:]:
        if match := re.fullmatch(r"  (\w+)", line):
            protocol = match[1]
            result[protocol] = {}
        elif match := re.fullmatch(r"    (.+): (\d+) of (\d+) exercised", line):
            category = match[1]
            result[protocol][category] = {"exercised": {}, "missed": [], "total": int(match[3]),
                                          "count": int(match[2])}
        elif match := re.fullmatch(r"      \+ (.+) \((\d+)\)", line):
            result[protocol][category]["exercised"][match[1]] = int(match[2])
        elif match := re.fullmatch(r"      - (.+) \(never\)", line):
            result[protocol][category]["missed"].append(match[1])
        else:
            assert line.startswith(("OK: ", "FAILED: ")), line
    return result


def test_coverage_bridge_clean() -> None:
    text = run("--coverage", sample("bridge-clean.jsonl"))
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert any(line.startswith("protocol coverage") for line in lines)
    assert "      + cti.request.dispose (1)" in lines
    assert any(re.fullmatch(r"      - .*FAILURE \(never\)", line) for line in lines)
    returncode, report = run_json("--coverage", sample("bridge-clean.jsonl"))
    assert returncode == 0
    coverage = report["coverage"]
    assert set(coverage) == {"bridge"}
    types = coverage["bridge"]["message types"]
    assert set(types) == {"exercised", "missed", "total"}
    assert types["exercised"]["cti.request.dispose"] == 1
    assert types["exercised"]["cti.serverstatuschanged"] == 4
    assert any(label.endswith("FAILURE") for label in types["missed"])
    assert "cti.request.dispose" not in types["missed"]
    for category in coverage["bridge"].values():
        assert len(category["exercised"]) + len(category["missed"]) == category["total"]
        assert not set(category["exercised"]) & set(category["missed"])
        assert all(count >= 1 for count in category["exercised"].values())


def test_coverage_text_agrees_with_json(tmp_path: Path) -> None:
    har, _ = har_from_capture(sample("cceb-clean.jsonl"), tmp_path / "clean.har")
    inputs = [*(sample(f"{p}-{k}.jsonl") for p in ("bridge", "processor", "cceb") for k in ("clean", "faulty")),
              str(har)]
    text = run("--coverage", *inputs)
    _, report = run_json("--coverage", *inputs)
    parsed = parse_coverage_text(text.stdout)
    assert set(parsed) == set(report["coverage"]) == {"bridge", "processor", "cceb"}
    for protocol, categories in report["coverage"].items():
        assert set(parsed[protocol]) == set(categories)
        for name, category in categories.items():
            mine = parsed[protocol][name]
            assert mine["exercised"] == category["exercised"]
            assert mine["missed"] == category["missed"]
            assert mine["total"] == category["total"]
            # "N of M exercised" counts the universe's labels; labels outside it (vendor types) are listed too
            assert mine["count"] == category["total"] - len(category["missed"])
            assert mine["count"] <= len(category["exercised"])


def test_coverage_counts_add_up_over_files() -> None:
    _, once = run_json("--coverage", sample("bridge-clean.jsonl"))
    _, twice = run_json("--coverage", sample("bridge-clean.jsonl"), sample("bridge-clean.jsonl"))
    for name, category in once["coverage"]["bridge"].items():
        doubled = twice["coverage"]["bridge"][name]
        assert doubled["exercised"] == {label: 2 * n for label, n in category["exercised"].items()}
        assert doubled["missed"] == category["missed"]


def test_no_coverage_without_the_option() -> None:
    text = run(sample("bridge-clean.jsonl"))
    assert "protocol coverage" not in text.stdout
    _, report = run_json(sample("bridge-clean.jsonl"))
    assert "coverage" not in report


# -- 6. --jobs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--coverage"], ["--strict", "--max-findings", "7"]],
                         ids=["plain", "coverage", "strict-max"])
def test_jobs_give_the_same_report(tmp_path: Path, extra: list[str]) -> None:
    packed = tmp_path / "processor-faulty.jsonl.gz"
    packed.write_bytes(gzip.compress((EXAMPLES / "processor-faulty.jsonl").read_bytes()))
    har, _ = har_from_capture(sample("cceb-faulty.jsonl"), tmp_path / "faulty.har")
    inputs = [sample("bridge-faulty.jsonl"), sample("cceb-clean.jsonl"), str(packed), str(har),
              sample("bridge-clean.jsonl"), sample("cceb-faulty.jsonl"), sample("processor-clean.jsonl")]
    one_status, one = run_json("--jobs", "1", *extra, *inputs)
    two_status, two = run_json("--jobs", "2", *extra, *inputs)
    assert one_status == two_status == 1
    assert two == one
    assert one["findings"]
    assert [f["file"] for f in one["findings"]] == sorted((f["file"] for f in one["findings"]), key=inputs.index)


def test_jobs_text_and_junit_match(tmp_path: Path) -> None:
    inputs = [sample(f"{p}-{k}.jsonl") for p in ("cceb", "bridge", "processor") for k in ("faulty", "clean")]
    for fmt in ("text", "junit"):
        one, two = run("--format", fmt, "--jobs", "1", *inputs), run("--format", fmt, "--jobs", "3", *inputs)
        assert one.returncode == two.returncode == 1
        assert two.stdout == one.stdout
        assert two.stderr == one.stderr == ""


# -- 7. progress bar -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean bridge capture over 8 MiB: the sample on many connections (one warning, on the first)."""
    records = records_of(sample("bridge-clean.jsonl"))
    path = tmp_path_factory.mktemp("large") / "large.jsonl"
    lines: list[str] = []
    size = copy = 0
    while size <= 9 * 1024 * 1024:
        for record in records:
            record = {**record, "conn": f"bridge-{copy}"}
            if copy:
                header = record["message"]["header"]
                if "cti.result" in header:
                    header = {**{k: v for k, v in header.items() if k != "cti.result"}, "result": header["cti.result"]}
                    record["message"] = {**record["message"], "header": header}
            line = json.dumps(record)
            lines.append(line)
            size += len(line) + 1
        copy += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 8 * 1024 * 1024
    return path


def test_no_progress_bar_when_stderr_is_not_a_terminal(large_capture: Path) -> None:
    result = run(str(large_capture))
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("OK: ")
    assert result.stdout.splitlines()[-1].endswith(" records, 0 errors, 1 warning")


def test_progress_bar_on_a_terminal(large_capture: Path) -> None:
    pty = pytest.importorskip("pty")
    plain = run(str(large_capture))
    master, slave = pty.openpty()
    try:
        try:
            # No delay: the display appears at once (by default only after about a second of work).
            env = {**os.environ, "TERM": "xterm", "CCPROTO_PROGRESS_DELAY": "0"}
            result = subprocess.run([CCPROTO, "validate", str(large_capture)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120, check=False,
                                    env=env)
        finally:
            os.close(slave)
        chunks: list[bytes] = []
        while select.select([master], [], [], 1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # Linux: EIO once the other side is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    err = b"".join(chunks).decode("utf-8", "replace")
    assert result.returncode == 0
    assert "%" in err
    assert "100%" in err
    assert str(large_capture) in err
    assert result.stdout == plain.stdout


def test_no_progress_bar_for_a_small_input_on_a_terminal() -> None:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        try:
            result = subprocess.run([CCPROTO, "validate", sample("bridge-faulty.jsonl")], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120, check=False)
        finally:
            os.close(slave)
        ready = select.select([master], [], [], 0.5)[0]
        try:
            err = os.read(master, 65536) if ready else b""
        except OSError:
            err = b""
    finally:
        os.close(master)
    assert result.returncode == 1
    assert err == b""
    assert result.stdout.splitlines()[-1] == "FAILED: 17 records, 8 errors, 2 warnings"


# -- 8. secrets -------------------------------------------------------------------------------------


def secret_records() -> list[dict[str, Any]]:
    """JSON Lines records planting canaries where each protocol keeps secrets; each record gets a finding
    (its excerpt is shown) and puts the secret early, where the excerpt would show it if not redacted."""
    uuid = "00000000-0000-4000-8000-0000000000{:02x}".format
    header = {"target": "Acme1.CONTROL"}
    return [
        # bridge: the capture holds the connection from its start (an open record) ...
        {"conn": "b1", "from": "client", "protocol": "bridge", "open": {}},
        # ... and these come before the channel is open, so each gets a finding
        {"conn": "b1", "from": "server", "protocol": "bridge", "message": {
            "body": {"agentId": "ada", "agentLogin": "ada", "agentPassword": f"{CANARY}-bridge-password"},
            "header": {"type": "cti.request", "name": "cti.request.validateagentcredentials", **header,
                       "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000004"}}},
        {"conn": "b1", "from": "server", "protocol": "bridge", "message": {
            "body": {"agentId": "ada", "requestingAgentLogin": "ada",
                     "requestingAgentPassword": f"{CANARY}-bridge-requesting"},
            "header": {"type": "cti.query", "name": "cti.query.agentinfo", **header,
                       "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000005"}}},
        {"conn": "b1", "from": "client", "protocol": "bridge", "message": {
            "body": {"cti-specific": {"sessionKey": f"{CANARY}-bridge-vendor-sessionkey"}, "switch-agent-id": "1"},
            "header": {"type": "cti.response", "name": "cti.query.agentinfo", **header,
                       "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000077", "result": "SUCCESS"}}},
        {"conn": "b1", "from": "server", "protocol": "bridge", "message": {
            "body": {"agentId": "ada", "agentPassword": f"{CANARY}-bridge-createsession", "sessionId": "s",
                     "destination": "Acme1.ada.s"},
            "header": {"type": "cti.request", "name": "cti.request.createsession", **header,
                       "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000006"}}},
        # processor: override "false" (a string) is a schema violation
        {"conn": "p1", "from": "client", "protocol": "processor", "message": {
            "command": "prepareSession",
            "data": {"agent": {"id": "1001", "password": f"{CANARY}-processor-password"}, "model": "uccx",
                     "override": "false"}}},
        {"conn": "p1", "from": "server", "protocol": "processor", "message": {
            "original": {"data": {"agent": {"password": f"{CANARY}-processor-original"}, "model": "uccx",
                                  "override": True},
                         "command": "prepareSession"},
            "command": "prepareSession", "result": "confirm", "message": "Replace?"}},
        # processor vendor extensions: unknown commands (warnings) with credentials under vendor names
        {"conn": "p1", "from": "client", "protocol": "processor", "message": {
            "command": "acme.vault.open", "data": {"sessionKey": f"{CANARY}-processor-vendor-sessionkey"}}},
        {"conn": "p1", "from": "client", "protocol": "processor", "message": {
            "command": "acme.vault.seal", "data": {"key": f"{CANARY}-processor-vendor-key"}}},
        # text that is not JSON: it cannot be redacted, so it must not be shown
        {"conn": "p1", "from": "client", "protocol": "processor",
         "raw": '{"command": "prepareSession", "data": {"agent": {"password": "' + CANARY + '-processor-raw'},
        # CCEB: a hello_reply with the wrong uuid, a second hello, vendor notifications
        {"conn": "c1", "from": "client", "protocol": "cceb", "message": {
            "type": "hello", "uuid": uuid(1), "data": {"token": f"{CANARY}-cceb-token", "tenant": "acme",
                                                       "long_lived": True}}},
        {"conn": "c1", "from": "server", "protocol": "cceb", "message": {
            "type": "hello_reply", "uuid": uuid(9), "data": {"session_key": f"{CANARY}-cceb-session-key"}}},
        {"conn": "c1", "from": "client", "protocol": "cceb", "message": {
            "type": "hello", "uuid": uuid(2), "data": {"token": f"{CANARY}-cceb-token-2", "tenant": "acme",
                                                       "session_key": f"{CANARY}-cceb-session-key"}}},
        {"conn": "c1", "from": "server", "protocol": "cceb", "message": {
            "data": {"sessionKey": f"{CANARY}-cceb-vendor-sessionkey"}, "type": "acme_vault", "uuid": uuid(3)}},
        {"conn": "c1", "from": "server", "protocol": "cceb", "message": {
            "data": {"key": f"{CANARY}-cceb-vendor-key"}, "type": "acme_vault", "uuid": uuid(4)}},
        # a later connection resuming the key: session rules compare keys across connections
        {"conn": "c2", "from": "client", "protocol": "cceb", "message": {
            "type": "hello", "uuid": uuid(5), "data": {"token": f"{CANARY}-cceb-token-3", "tenant": "acme",
                                                       "session_key": f"{CANARY}-cceb-session-key"}}},
        {"conn": "c2", "from": "server", "protocol": "cceb", "message": {
            "type": "hello_reply", "uuid": uuid(6), "data": {"session_key": f"{CANARY}-cceb-session-key-2",
                                                             "resumed": False}}},
    ]


def secret_har_entries() -> list[dict[str, Any]]:
    """HTTP and WebSocket entries with credentials in the URL, headers and cookies, and CCEB frames with some."""
    uuid = "00000000-0000-4000-8000-0000000001{:02x}".format
    cookies = [{"name": "sid", "value": f"{CANARY}-cookie-array", "path": "/", "httpOnly": True, "secure": True}]
    headers = [
        {"name": "Cookie", "value": f"sid={CANARY}-cookie-header"},
        {"name": "Authorization", "value": f"Bearer {CANARY}-authorization"},
    ]
    start = 1793610000.0
    hello = {"type": "hello", "uuid": uuid(1), "data": {"token": f"{CANARY}-har-token", "tenant": "acme",
                                                        "long_lived": True}}
    binary_hello = {"type": "hello", "uuid": uuid(7), "data": {"token": f"{CANARY}-har-binary-token",
                                                               "tenant": "acme"}}
    return [
        http_entry(f"https://cceb.example.com/agent/login?token={CANARY}-http-url-token", headers=headers,
                   cookies=cookies),
        ws_entry(f"wss://agent:{CANARY}-userinfo@cceb.example.com:8443/ws?token={CANARY}-url-token"
                 f"&tenant=acme#{CANARY}-fragment",
                 [
                     ws_message("client", start, hello),
                     ws_message("server", start + 0.1, {"type": "hello_reply", "uuid": uuid(9),
                                                        "data": {"session_key": f"{CANARY}-har-session-key"}}),
                     ws_message("client", start + 0.2, {"type": "hello", "uuid": uuid(2),
                                                        "data": {"token": f"{CANARY}-har-token-2"}}),
                     ws_message("server", start + 0.3, {"data": {"key": f"{CANARY}-har-vendor-key"},
                                                        "type": "acme_vault", "uuid": uuid(3)}),
                 ],
                 headers=headers, cookies=cookies),
        ws_entry(f"wss://cceb.example.com/ws?access_token={CANARY}-url-token-2",
                 [{"type": "send", "time": start + 1, "opcode": 2,
                   "data": base64.b64encode(json.dumps(binary_hello).encode()).decode()}],
                 headers=headers, cookies=cookies),
    ]


def secret_stream_frames() -> tuple[bytes, bytes]:
    """Raw bridge streams (client, server) with passwords, before the channel is open (so: findings)."""
    header = {"target": "Acme1.CONTROL"}
    server = [
        {"body": {"agentId": "bob", "agentLogin": "bob", "agentPassword": f"{CANARY}-stream-password"},
         "header": {"type": "cti.request", "name": "cti.request.validateagentcredentials", **header,
                    "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000101"}},
        {"body": {"agentId": "bob", "agentPassword": f"{CANARY}-stream-createsession", "sessionId": "s",
                  "destination": "Acme1.bob.s"},
         "header": {"type": "cti.request", "name": "cti.request.createsession", **header,
                    "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000102"}},
    ]
    client = [
        json.dumps({"body": {"agentPassword": f"{CANARY}-stream-client"},
                    "header": {"type": "cti.event", "name": "cti.acme.secret"}}).encode(),
        ('{"body": {"agentPassword": "' + CANARY + '-stream-broken"').encode(),
    ]
    return (b"".join(frame(payload) for payload in client),
            b"".join(frame(json.dumps(message).encode()) for message in server))


@pytest.fixture(scope="module")
def secret_inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Arguments naming every capture with planted secrets: JSON Lines, gzip, HAR and raw bridge streams."""
    directory = tmp_path_factory.mktemp("secrets")
    text = "".join(json.dumps(record) + "\n" for record in secret_records())
    (directory / "secrets.jsonl").write_text(text, encoding="utf-8")
    (directory / "secrets.jsonl.gz").write_bytes(gzip.compress(text.encode("utf-8")))
    write_har(directory / "secrets.har", secret_har_entries())
    client, server = secret_stream_frames()
    (directory / "client.bin").write_bytes(client)
    (directory / "server.bin").write_bytes(server)
    inputs = [str(directory / "secrets.jsonl"), str(directory / "secrets.jsonl.gz"), str(directory / "secrets.har")]
    assert CANARY not in str(directory)  # the file names hold no canary
    return [*inputs, *streams_args(directory / "client.bin", directory / "server.bin")]


def test_secret_inputs_do_produce_findings_with_excerpts(secret_inputs: list[str]) -> None:
    """The secrets tests mean something only if the records holding secrets are reported with excerpts."""
    returncode, report = run_json(*secret_inputs)
    assert returncode == 1
    by_file: dict[str, set[int]] = {}
    redacted: dict[str, set[int]] = {}
    for finding in report["findings"]:
        by_file.setdefault(Path(finding["file"].split(" + ")[0]).name, set()).add(finding["record"])
        if "***" in finding["excerpt"] or finding["excerpt"] == "(not shown: it may hold a secret)":
            redacted.setdefault(Path(finding["file"].split(" + ")[0]).name, set()).add(finding["record"])
    # JSON Lines (plain and gzip): every record but the open record and the first hello is reported with a
    # redacted excerpt
    assert redacted["secrets.jsonl"] >= {2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15}
    assert redacted["secrets.jsonl.gz"] == redacted["secrets.jsonl"]
    # HAR: the wrong-uuid hello_reply, the second hello, the vendor notification, the binary hello
    assert redacted["secrets.har"] >= {2, 3, 4, 5}
    assert any(f["conn"] == "wss://cceb.example.com:8443/ws #1" for f in report["findings"])
    assert any(f["conn"] == "wss://cceb.example.com/ws #2" for f in report["findings"])
    # raw streams: both server frames and both client frames
    assert len(redacted["client.bin"]) >= 3


SECRET_FLAGS = [[], ["--coverage"], ["--strict"], ["--coverage", "--strict", "--jobs", "2"]]


@pytest.mark.slow
@pytest.mark.parametrize("flags", SECRET_FLAGS, ids=["plain", "coverage", "strict", "coverage-strict-jobs"])
@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_no_secret_reaches_any_output(tmp_path: Path, secret_inputs: list[str], fmt: str, flags: list[str]) -> None:
    printed = run("--format", fmt, *flags, *secret_inputs)
    out = tmp_path / "report"
    written = run("--format", fmt, *flags, "--output", str(out), *secret_inputs)
    assert printed.returncode == written.returncode == 1
    report = out.read_text(encoding="utf-8")
    for name, text in [("stdout", printed.stdout), ("stderr", printed.stderr), ("--output stdout", written.stdout),
                       ("--output stderr", written.stderr), ("--output file", report)]:
        assert CANARY not in text, f"a secret reached {name}: {text[max(0, text.find(CANARY) - 150):][:300]!r}"
    assert report == printed.stdout
    assert printed.stdout.count("***") >= 15  # the excerpts are there, redacted
    assert "(not shown: it may hold a secret)" in printed.stdout
    if "--coverage" in flags and fmt != "junit":
        assert "coverage" in printed.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_no_secret_from_standard_input(secret_inputs: list[str], fmt: str) -> None:
    result = run("--format", fmt, "--coverage", "-", stdin=Path(secret_inputs[0]).read_text(encoding="utf-8"))
    assert result.returncode == 1
    assert CANARY not in result.stdout
    assert CANARY not in result.stderr
    assert "***" in result.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_no_secret_in_a_double_encoded_message(tmp_path: Path, fmt: str) -> None:
    inner = {"data": {"agent": {"password": f"{CANARY}-double-encoded"}}, "command": "prepareSession"}
    capture = tmp_path / "double.jsonl"
    capture.write_text(json.dumps({"conn": "p1", "from": "client", "protocol": "processor",
                                   "message": json.dumps(inner, separators=(",", ":"))}) + "\n", encoding="utf-8")
    result = run("--format", fmt, str(capture))
    assert result.returncode == 1  # a message must be a JSON object
    assert "decode-error" in result.stdout
    assert CANARY not in result.stdout
