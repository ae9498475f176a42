#!/usr/bin/env python3
"""Write the bundled samples that are not JSON Lines, from the JSON Lines ones.

    python3 tools/samples.py

* ``examples/captures/cceb-desktop.har``: an agent desktop's DevTools export (Chromium HAR layout):
  the agent-1 conversations of ``cceb-clean.jsonl`` with two planted faults, beside the page's HTTP
  entries, whose headers and cookies carry (fake) credentials that must never reach a report.
* ``examples/captures/bridge-stream.{client,server}.bin``: ``bridge-faulty.jsonl``'s connection as the
  length-prefixed frames each side sent.
"""

from __future__ import annotations

import datetime
import json
import struct
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "examples" / "captures"


def _records(name: str) -> list[dict[str, Any]]:
    lines = (CAPTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _epoch(ts: Any) -> float:
    if isinstance(ts, (int, float)):
        return float(ts)
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _http_entry(url: str) -> dict[str, Any]:
    return {
        "startedDateTime": "2026-11-02T08:59:58.000Z", "time": 41.2, "_resourceType": "document",
        "request": {
            "method": "GET", "url": url, "httpVersion": "http/2.0",
            "headers": [{"name": "cookie", "value": "desk_session=sample-cookie-secret-8c1f"},
                        {"name": "authorization", "value": "Bearer sample-header-token-2b7e"}],
            "cookies": [{"name": "desk_session", "value": "sample-cookie-secret-8c1f", "httpOnly": True}],
            "queryString": [], "headersSize": -1, "bodySize": 0,
        },
        "response": {"status": 200, "statusText": "", "httpVersion": "http/2.0", "headers": [], "cookies": [],
                     "content": {"size": 1024, "mimeType": "text/html"}, "redirectURL": "", "headersSize": -1,
                     "bodySize": -1},
        "cache": {}, "timings": {"send": 0.1, "wait": 40.0, "receive": 1.1},
    }


def _ws_entry(url: str, started: str, frames: list[dict[str, Any]]) -> dict[str, Any]:
    entry = _http_entry(url)
    entry["startedDateTime"] = started
    entry["_resourceType"] = "websocket"
    entry["request"]["headers"].append({"name": "Sec-WebSocket-Key", "value": "dGhlIHNhbXBsZSBub25jZQ=="})
    entry["response"] = {"status": 101, "statusText": "Switching Protocols", "httpVersion": "http/1.1",
                         "headers": [{"name": "Upgrade", "value": "websocket"}], "cookies": [],
                         "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1,
                         "bodySize": 0}
    entry["_webSocketMessages"] = frames
    return entry


def _frame(record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "send" if record["from"] == "client" else "receive", "time": _epoch(record["ts"]),
            "opcode": 1, "data": json.dumps(record["message"], separators=(",", ":"))}


def har() -> None:
    records = [r for r in _records("cceb-clean.jsonl") if "message" in r]
    first = [r for r in records if r["conn"] == "agent-1"]
    resumed = [r for r in records if r["conn"] == "agent-1-resume"]
    # Fault 1: the desktop acks the off_hook "answered" notification with the uuid of the one before.
    first[7]["message"]["uuid"] = first[5]["message"]["uuid"]
    # Fault 2: a transfer naming the agent's GUID (reserved: the CCEB resolves it), acked by the CCEB.
    first[16]["message"]["data"]["action_details"]["destinationAgentGuid"] = "5e1d7a34-0c1b-4f7e-9a80-2b4c6d8e0f12"
    url = "wss://cceb.acme.example/agent/v1?access_token=sample-url-token-4d2a"
    document = {"log": {
        "version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": "2026-11-02T08:59:58.000Z", "id": "page_1", "title": "Agent desktop",
                   "pageTimings": {"onContentLoad": 310.5, "onLoad": 402.7}}],
        "entries": [
            _http_entry("https://desk.acme.example/agent"),
            _ws_entry(url, "2026-11-02T09:00:00.000Z", [_frame(r) for r in first]),
            _ws_entry(url, "2026-11-02T19:00:40.000Z", [_frame(r) for r in resumed]),
        ],
    }}
    (CAPTURES / "cceb-desktop.har").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def streams() -> None:
    out: dict[str, bytearray] = {"client": bytearray(), "server": bytearray()}
    for record in _records("bridge-faulty.jsonl"):
        if record.get("conn", "bridge-1") != "bridge-1" or "message" not in record:
            continue
        payload = json.dumps(record["message"], separators=(",", ":")).encode("utf-8")
        out[record["from"]] += struct.pack(">I", len(payload)) + payload
    for side, data in out.items():
        (CAPTURES / f"bridge-stream.{side}.bin").write_bytes(bytes(data))


if __name__ == "__main__":
    har()
    streams()
