#!/usr/bin/env python3
"""Rough decode/encode throughput of bridge, processor and CCEB messages against `json.loads`/`json.dumps` (ratios).

Run: .venv/bin/python bench/decode.py
The full comparison with orjson, pydantic and msgspec belongs to the performance issue.
"""

from __future__ import annotations

import json
import timeit

from ccproto import bridge, cceb, processor

AGENTINFO = json.dumps({
    "header": {"type": "cti.response", "name": "cti.query.agentinfo", "target": "Acme1.CONTROL",
               "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-2b3a4c5d6e7f", "result": "SUCCESS"},
    "body": {"switch-agent-id": "4711", "first-name": "Ada", "last-name": "Lovelace",
             "cti-specific": {"site": 3, "skills": ["billing", "de"]}},
})
STATUS = json.dumps({"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                     "body": {"status": "in-service"}})
PREPARE = json.dumps({"command": "prepareSession",
                      "data": {"model": "uccx", "override": False, "agent": {"id": "1001", "password": "pw"}}})
TEAM_50 = json.dumps({"name": "report.teamstatus.teamadded", "data": {"agentId": "1001", "team": {
    "teamId": "T7", "teamName": "Billing", "members": [
        {"memberId": str(2000 + i), "memberType": "Agent", "memberName": f"Agent {i}", "status": "ready",
         "reason": ""} for i in range(50)]}}})

ACTION = json.dumps({"type": "action", "uuid": "0f8e2a34-5b6c-4d7e-8f90-a1b2c3d4e5f6", "data": {
    "action": "BlindTransferEvent", "action_details": {"interactionId": "i-1", "destinationAgentContactId": "c-42"}}})
OFF_HOOK = json.dumps({"type": "off_hook", "uuid": "0f8e2a34-5b6c-4d7e-8f90-a1b2c3d4e5f7",
                       "data": {"state": "offering", "timeout": 30}})


def rate(fn: object, number: int = 20000) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))  # type: ignore[arg-type]
    return number / best


def main() -> None:
    print(f"{'message':<12} {'bytes':>5} {'json.loads/s':>13} {'decode/s':>10} {'ratio':>6} "
          f"{'json.dumps/s':>13} {'encode/s':>10} {'ratio':>6}")
    cases = (
        ("agentinfo", AGENTINFO, bridge.decode, bridge.encode, 20000),
        ("status", STATUS, bridge.decode, bridge.encode, 20000),
        ("prepare", PREPARE, processor.decode, processor.encode, 20000),
        ("team(50)", TEAM_50, processor.decode, processor.encode, 1000),
        ("action", ACTION, cceb.decode, cceb.encode, 20000),
        ("off_hook", OFF_HOOK, cceb.decode, cceb.encode, 20000),
    )
    for label, text, decode, encode, number in cases:
        value = json.loads(text)
        message = decode(text)
        floor, ours = rate(lambda t=text: json.loads(t), number), rate(lambda t=text, d=decode: d(t), number)
        out_floor, out = rate(lambda v=value: json.dumps(v), number), rate(lambda m=message, e=encode: e(m), number)
        print(f"{label:<12} {len(text):>5} {floor:>13,.0f} {ours:>10,.0f} {floor / ours:>6.1f} "
              f"{out_floor:>13,.0f} {out:>10,.0f} {out_floor / out:>6.1f}")


if __name__ == "__main__":
    main()
