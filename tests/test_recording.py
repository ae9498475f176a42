"""What ``Recording`` keeps of hostile messages (issue 22, items 1, 7 and 8's recording part).

A recording is what ``ccproto serve --record`` writes and ``ccproto validate`` later reads: it must
never crash on a message the codecs refuse, never keep a secret in clear, and keep what the codecs
refuse as the raw text that crossed, so the later validation finds the same fault.
"""

from __future__ import annotations

import json
from pathlib import Path

from ccproto.capture import validate_capture
from ccproto.capture.recording import Recording, record_line
from ccproto.core.roles import Role

TOKEN = "eyJ-canary-5f1e"  # a canary: it must never appear in a record


def _record(text: str) -> dict[str, object]:
    return Recording().message(conn="c1", sender=Role.CLIENT, protocol="cceb", now=1.0, text=text)


def _nested_action(depth: int) -> str:
    return '{"type":"action","uuid":"u1","data":{"action":"ChangeAgentStateEvent","action_details":' + (
        '{"a":' * depth + "1" + "}" * depth) + "}}"


def test_a_message_nested_past_the_codecs_depth_is_kept_raw_not_a_recursion_error() -> None:
    text = _nested_action(600)
    json.loads(text)  # the standard parser takes it: what once reached the recursive _hide
    record = _record(text)
    assert "message" not in record
    assert record["raw"] == text


def test_a_token_in_json_text_inside_a_string_is_not_recorded_in_clear() -> None:
    inner = json.dumps({"type": "hello", "data": {"token": TOKEN, "tenant": "acme"}})
    text = json.dumps({"type": "hello", "uuid": "u1", "data": {"tenant": "acme", "payload": inner}})
    line = record_line(_record(text))  # type: ignore[arg-type]
    assert TOKEN not in line
    assert "payload" in line


def test_a_repeated_key_is_kept_as_it_crossed_so_validation_still_finds_it(tmp_path: Path) -> None:
    # Last-value-wins would record an ack: the smuggling attempt would vanish from the capture.
    text = '{"type":"action","uuid":"0f8e2a34-5b6c-4d7e-8f90-a1b2c3d4e5f6","data":{},"type":"ack"}'
    record = _record(text)
    assert record["raw"] == text
    capture = tmp_path / "recorded.jsonl"
    capture.write_text(record_line(record), encoding="utf-8")  # type: ignore[arg-type]
    report = validate_capture(capture)
    assert [f.code for f in report.findings] == ["duplicate-key"], report.findings


def test_nan_is_kept_raw() -> None:
    text = '{"type":"ack","uuid":"u1","data":{"n":NaN}}'
    assert _record(text)["raw"] == text


def test_a_clean_message_is_kept_parsed_with_its_secrets_as_placeholders() -> None:
    text = json.dumps({"type": "hello", "uuid": "u1", "data": {"token": TOKEN, "tenant": "acme"}})
    record = _record(text)
    assert record["message"] == {"type": "hello", "uuid": "u1", "data": {"token": "secret-1", "tenant": "acme"}}
