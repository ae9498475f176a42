#!/usr/bin/env python3
"""Rough decode/encode throughput of bridge messages against `json.loads`/`json.dumps` (one run, ratios).

Run: .venv/bin/python bench/bridge_decode.py
The full comparison with orjson, pydantic and msgspec belongs to the performance issue.
"""

from __future__ import annotations

import json
import timeit

from ccproto import bridge

AGENTINFO = json.dumps({
    "header": {"type": "cti.response", "name": "cti.query.agentinfo", "target": "Acme1.CONTROL",
               "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-2b3a4c5d6e7f", "result": "SUCCESS"},
    "body": {"switch-agent-id": "4711", "first-name": "Ada", "last-name": "Lovelace",
             "cti-specific": {"site": 3, "skills": ["billing", "de"]}},
})
STATUS = json.dumps({"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                     "body": {"status": "in-service"}})


def rate(fn: object, number: int = 20000) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))  # type: ignore[arg-type]
    return number / best


def main() -> None:
    print(f"{'message':<12} {'bytes':>5} {'json.loads/s':>13} {'decode/s':>10} {'ratio':>6} "
          f"{'json.dumps/s':>13} {'encode/s':>10} {'ratio':>6}")
    for label, text in (("agentinfo", AGENTINFO), ("status", STATUS)):
        value = json.loads(text)
        message = bridge.decode(text)
        floor, ours = rate(lambda t=text: json.loads(t)), rate(lambda t=text: bridge.decode(t))
        out_floor, out = rate(lambda v=value: json.dumps(v)), rate(lambda m=message: bridge.encode(m))
        print(f"{label:<12} {len(text):>5} {floor:>13,.0f} {ours:>10,.0f} {floor / ours:>6.1f} "
              f"{out_floor:>13,.0f} {out:>10,.0f} {out_floor / out:>6.1f}")


if __name__ == "__main__":
    main()
