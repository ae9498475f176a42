"""The messages the codec benchmark decodes and encodes, each with inputs every library must reject.

Four representative messages (the planning notes' K1-K4) and a large one:

* ``agentinfo`` (bridge): a ``cti.response`` to ``cti.query.agentinfo`` with a free-form ``cti-specific``;
* ``failure`` (processor): a failure response echoing its ``original`` request;
* ``action`` (CCEB): an ``action`` message with ``action_details``;
* ``team10`` / ``team50`` (processor): a ``report.teamstatus.teamadded`` event with 10 / 50 members.

``INVALID`` holds, for each message, texts that break one rule each (labelled): the benchmark checks
that ccproto and every rival library accept the valid text and reject each of these before timing.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["INVALID", "MESSAGES", "PROTOCOL", "mixed_stream"]


def _team(members: int) -> dict[str, Any]:
    statuses = ("ready", "not_ready", "ACW")
    return {"name": "report.teamstatus.teamadded", "data": {"agentId": "1001", "team": {
        "teamId": "T7", "teamName": "Billing", "members": [
            {"memberId": str(2000 + i), "memberType": "Agent", "memberName": f"Agent {i}",
             "status": statuses[i % len(statuses)], "reason": "" if i % 3 else "Lunch"}
            for i in range(members)]}}}


VALUES: dict[str, dict[str, Any]] = {
    "agentinfo": {
        "header": {"type": "cti.response", "name": "cti.query.agentinfo", "target": "Acme1.CONTROL",
                   "requestId": "6f1b0b2e-9a3f-4f5e-8c1d-2b3a4c5d6e7f", "result": "SUCCESS"},
        "body": {"switch-agent-id": "4711", "first-name": "Ada", "last-name": "Lovelace",
                 "cti-specific": {"site": 3, "skills": ["billing", "de"]}},
    },
    "failure": {
        "command": "report.calljourney", "result": "failure",
        "failure": {"code": "NOT_FOUND", "message": "no such call",
                    "context": "ReportService.journey(ReportService.java:88)"},
        "original": {"command": "report.calljourney", "data": {"CallId": "99"}},
    },
    "action": {"type": "action", "uuid": "0f8e2a34-5b6c-4d7e-8f90-a1b2c3d4e5f6", "data": {
        "action": "BlindTransferEvent",
        "action_details": {"interactionId": "i-1", "destinationAgentContactId": "c-42"}}},
    "team10": _team(10),
    "team50": _team(50),
}

#: Each message's protocol.
PROTOCOL = {"agentinfo": "bridge", "failure": "processor", "action": "cceb", "team10": "processor",
            "team50": "processor"}

#: The JSON text of each message (compact, as a peer would send it).
MESSAGES: dict[str, str] = {name: json.dumps(value, separators=(",", ":")) for name, value in VALUES.items()}


def _variant(name: str, path: tuple[Any, ...], new: Any) -> str:
    value = json.loads(MESSAGES[name])
    target = value
    for key in path[:-1]:
        target = target[key]
    if new is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return json.dumps(value, separators=(",", ":"))


_DELETE = object()

#: label -> text breaking exactly that rule, per message.
INVALID: dict[str, dict[str, str]] = {
    "agentinfo": {
        "request id not a UUID": _variant("agentinfo", ("header", "requestId"), "not-a-uuid"),
        "target without .CONTROL": _variant("agentinfo", ("header", "target"), "Acme1"),
        "missing switch-agent-id": _variant("agentinfo", ("body", "switch-agent-id"), _DELETE),
        "switch-agent-id is a number": _variant("agentinfo", ("body", "switch-agent-id"), 4711),
        "first-name is null": _variant("agentinfo", ("body", "first-name"), None),
        "cti-specific is an array": _variant("agentinfo", ("body", "cti-specific"), ["site"]),
        "missing header": _variant("agentinfo", ("header",), _DELETE),
    },
    "failure": {
        "missing failure code": _variant("failure", ("failure", "code"), _DELETE),
        "failure message is a number": _variant("failure", ("failure", "message"), 404),
        "failure is a string": _variant("failure", ("failure",), "NOT_FOUND"),
        "original is an array": _variant("failure", ("original",), []),
    },
    "action": {
        "uuid not a UUID": _variant("action", ("uuid",), "1234"),
        "missing data": _variant("action", ("data",), _DELETE),
        "action is a number": _variant("action", ("data", "action"), 7),
        "action_details is a string": _variant("action", ("data", "action_details"), "i-1"),
    },
    "team10": {
        "bad member status": _variant("team10", ("data", "team", "members", 3, "status"), "asleep"),
        "bad member type": _variant("team10", ("data", "team", "members", 0, "memberType"), "Robot"),
        "member id is a number": _variant("team10", ("data", "team", "members", 9, "memberId"), 2009),
        "missing team name": _variant("team10", ("data", "team", "teamName"), _DELETE),
        "members is an object": _variant("team10", ("data", "team", "members"), {}),
        "agent id is false": _variant("team10", ("data", "agentId"), False),
    },
}
INVALID["team50"] = {label: text for label, text in INVALID["team10"].items()
                     if "members is" in label or "team name" in label}


def mixed_stream() -> list[str]:
    """One of each of the four representative messages (K1-K4), the mixed stream's repeating unit."""
    return [MESSAGES[name] for name in ("agentinfo", "failure", "action", "team10")]
