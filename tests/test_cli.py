"""The ``ccproto`` command line: ``ccproto validate`` and ``--version``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ccproto
from ccproto.cli import main
from sample_expectations import FAULTY_ERROR_RECORDS, FAULTY_ERRORS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "captures"
CLEAN = str(EXAMPLES / "bridge-clean.jsonl")
FAULTY = str(EXAMPLES / "bridge-faulty.jsonl")
FINDING_KEYS = {
    "file", "record", "conn", "severity", "kind", "code", "path", "message", "related", "excerpt", "location",
}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    status = main(["validate", "--format", "json", *args])
    out = capsys.readouterr().out
    return status, json.loads(out)


# -- text ------------------------------------------------------------------------------------


def test_clean_sample_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", CLEAN]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "OK: 16 records, 0 errors, 1 warning"
    assert "alternate-spelling" in captured.out
    assert captured.err == ""


def test_faulty_sample_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", FAULTY]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "FAILED: 17 records, 8 errors, 2 warnings"
    assert out.splitlines()[0] == FAULTY
    assert "  connection 'bridge-1' (bridge)" in out.splitlines()
    for number in FAULTY_ERROR_RECORDS:
        assert f"record {number}: error " in out
    assert "hunter2" not in out


def test_text_report_shows_related_records(capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", FAULTY])
    [line] = [text for text in capsys.readouterr().out.splitlines() if "record 11:" in text]
    assert line.endswith("(see record 8)")


def test_several_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", CLEAN, FAULTY]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "FAILED: 33 records, 8 errors, 3 warnings"
    assert CLEAN in out.splitlines()
    assert FAULTY in out.splitlines()


def test_a_capture_with_only_warnings_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text(
        json.dumps({"from": "server", "message": {
            "header": {"type": "cti.request", "name": "cti.request.serverstatus", "target": "Acme1.CONTROL",
                       "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-000000000001"},
            "body": {},
        }}) + "\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 0
    assert "unanswered-request" in capsys.readouterr().out


def test_an_empty_capture_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == "OK: 0 records, 0 errors, 0 warnings\n"


# -- json ------------------------------------------------------------------------------------


def test_json_is_exactly_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", FAULTY]) == 1
    out = capsys.readouterr().out
    value, end = json.JSONDecoder().raw_decode(out)
    assert out[end:].strip() == ""
    assert isinstance(value, dict)
    assert set(value) == {"summary", "findings"}
    assert value["summary"] == {"records": 17, "errors": 8, "warnings": 2}


def test_json_findings_have_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    _, value = run_json(capsys, FAULTY)
    assert len(value["findings"]) == 10
    for finding in value["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["file"] == FAULTY
        assert finding["conn"] == "bridge-1"
        assert finding["severity"] in {"error", "warning"}
        assert finding["kind"] in {"decode", "schema", "sequence"}
        assert isinstance(finding["record"], int)
        assert isinstance(finding["message"], str)
        assert finding["message"]


def test_json_errors_name_the_faulty_records(capsys: pytest.CaptureFixture[str]) -> None:
    _, value = run_json(capsys, FAULTY)
    errors = [f for f in value["findings"] if f["severity"] == "error"]
    warnings = [f for f in value["findings"] if f["severity"] == "warning"]
    assert {f["record"] for f in errors} == FAULTY_ERROR_RECORDS
    assert {(f["record"], f["code"]) for f in warnings} == {(5, "unanswered-request"), (14, "unanswered-request")}
    assert {(f["record"], f["kind"], f["code"]) for f in errors} == FAULTY_ERRORS


def test_json_clean_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status, value = run_json(capsys, CLEAN)
    assert status == 0
    assert value["summary"] == {"records": 16, "errors": 0, "warnings": 1}
    [finding] = value["findings"]
    assert finding == {
        "file": CLEAN,
        "record": 2,
        "conn": "bridge-1",
        "severity": "warning",
        "kind": "schema",
        "code": "alternate-spelling",
        "path": "/header/cti.result",
        "message": "header key 'cti.result' is an alternate spelling of 'result'",
        "related": [],
        "excerpt": finding["excerpt"],
        "location": None,
    }
    assert finding["excerpt"].startswith('{"header":{"type":"cti.response","name":"cti.request.serverstatus"')


def test_json_bad_record_has_null_conn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('\n{"agentPassword": "hunter2-canary"\n', encoding="utf-8")
    status, value = run_json(capsys, str(path))
    assert status == 1
    assert value["findings"] == [{
        "file": str(path), "record": 2, "conn": None, "severity": "error", "kind": "decode", "code": "bad-record",
        "path": "",
        "message": "line is not valid JSON: Expecting ',' delimiter (line 1 column 35):"
                   " the text ends too early (truncated?)",
        "related": [], "excerpt": "", "location": None,
    }]


# -- strict ----------------------------------------------------------------------------------


def test_strict_fails_the_clean_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", CLEAN]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "FAILED: 16 records, 1 error, 0 warnings"


def test_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, value = run_json(capsys, "--strict", CLEAN)
    assert status == 1
    assert value["summary"] == {"records": 16, "errors": 1, "warnings": 0}
    assert [(f["record"], f["severity"], f["code"]) for f in value["findings"]] == [(2, "error", "alternate-spelling")]


def test_options_may_follow_the_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", CLEAN, "--strict", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["errors"] == 1


# -- usage errors ----------------------------------------------------------------------------


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["validate", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cannot read" in captured.err
    assert str(missing) in captured.err


def test_a_missing_file_among_good_ones_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["validate", "--format", "json", CLEAN, str(missing), FAULTY]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(missing) in captured.err


def test_a_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert str(tmp_path) in captured.err
    assert captured.out == ""


def test_no_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    captured = capsys.readouterr()
    assert "give at least one FILE" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-arguments"),
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param(["validate", "--bogus", CLEAN], id="unknown-validate-option"),
        pytest.param(["validate", "--format", "xml", CLEAN], id="unknown-format"),
        pytest.param(["frobnicate"], id="unknown-command"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    captured = capsys.readouterr()
    assert "usage:" in captured.err
    assert captured.out == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert excinfo.value.code == 0
    assert capsys.readouterr().out.strip() == f"ccproto {ccproto.__version__}"


def test_validate_help_documents_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["validate", "--help"])
    assert excinfo.value.code == 0
    out = capsys.readouterr().out
    assert "--strict" in out
    assert "Exit status" in out


# -- the module entry point ------------------------------------------------------------------------


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccproto", *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_python_m_ccproto_version() -> None:
    result = run_module("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ccproto {ccproto.__version__}"


def test_python_m_ccproto_validate_exit_codes(tmp_path: Path) -> None:
    faulty = run_module("validate", "--format", "json", FAULTY)
    assert faulty.returncode == 1
    assert json.loads(faulty.stdout)["summary"] == {"records": 17, "errors": 8, "warnings": 2}
    clean = run_module("validate", CLEAN)
    assert clean.returncode == 0
    assert clean.stdout.splitlines()[-1] == "OK: 16 records, 0 errors, 1 warning"
    missing = run_module("validate", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    usage = run_module()
    assert usage.returncode == 2


def test_the_bounds_are_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bounds.jsonl"
    records = [
        {"from": "client", "conn": name, "protocol": "processor",
         "message": {"command": "getCapabilities", "data": {"x": [[[[1]]]]}}}
        for name in ("a", "b", "c")
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    status, value = run_json(capsys, str(path))
    assert status == 0  # the defaults allow all of it
    status, value = run_json(capsys, str(path), "--max-depth", "3")
    assert status == 1
    assert sorted((f["conn"], f["code"]) for f in value["findings"]) == [
        ("a", "bad-record"), ("b", "bad-record"), ("c", "bad-record")]
    assert all("max_depth=3" in f["message"] for f in value["findings"])
    status, value = run_json(capsys, str(path), "--max-connections", "2")
    assert status == 0  # a third connection drops the one idle longest ('a'): a warning, the bound is ours
    assert [(f["conn"], f["code"]) for f in value["findings"] if f["kind"] == "capture"] == [
        ("a", "too-many-connections")]
    assert {f["severity"] for f in value["findings"]} == {"warning"}
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"from": "client", "protocol": "processor", "raw": json.dumps(records[0]["message"])})
                   + "\n", encoding="utf-8")
    status, value = run_json(capsys, str(raw), "--max-message-bytes", "20")
    assert status == 1
    assert [f["code"] for f in value["findings"]] == ["message-too-large"]
    assert "max_message_bytes=20" in value["findings"][0]["message"]
    with pytest.raises(SystemExit):
        main(["validate", str(path), "--max-depth", "0"])
