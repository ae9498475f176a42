"""Large, clean, realistic mixed captures, generated: test and benchmark data that nobody hand-wrote.

``ccproto validate`` has to keep up with production captures: hundreds of thousands to millions of records,
tens of thousands of connections, many of them never logging a close.  This module writes such captures
(JSON Lines, as ``docs/validate.md`` describes them) from a seed, deterministically, mixing the three
protocols:

* **bridge** (Processor Bridge control channel): the bridge's ``cti.request.serverstatus`` first, the
  client's status report, capability and agent-info queries (answers with ``cti-specific`` data),
  credential validations, ``createsession`` (refused while the client pauses its service), status polls and
  pause/resume; a closed connection ends with ``cti.request.dispose`` answered before the close.
* **processor** (Interaction Processor): ``getCapabilities``, ``prepareSession`` (sometimes confirmed and
  repeated with ``override``), the agent's team-status report (teams of 5-20 members, then member status
  changes, additions, removals, renames), call journeys (several in flight at once, some failing); a closed
  connection ends its report first.
* **cceb** (CCEB WebSocket API): ``hello`` / ``hello_reply`` with long-lived sessions that a pool of agents
  resumes on its later connections, every registered notification type, actions of many supported kinds,
  bursts acked out of order, ``off_hook`` and ``phone_validation`` sequences that follow
  ``ccproto.cceb.states``.

Every message decodes without a warning and every id is fresh.  Each connection is a valid conversation
that stops at a quiescent point (nothing outstanding), so a connection that never logs its close still gives
no finding at all; ``close_fraction`` of them log their closes from both sides.  Records are exact in number;
answers come a few records after their request (well within ``Limits.request_timeout`` whatever the
interleaving).

Use :func:`records` for the records as dicts (treat them as read-only: they share sub-objects), and
:func:`write` for a file (``.gz`` is compressed)::

    import synthetic_captures                      # tests/ is on sys.path under pytest
    stats = synthetic_captures.write("big.jsonl", records=1_000_000, connections=20_000, concurrency=2_000)
"""

from __future__ import annotations

import base64
import bisect
import datetime
import gzip
import heapq
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from random import Random
from typing import Any, ClassVar, TypeVar

__all__ = ["DEFAULT_START", "MAX_STEP", "PROTOCOLS", "STYLES", "records", "write"]

#: The protocols a capture mixes.
PROTOCOLS = ("bridge", "processor", "cceb")
#: How records are written: ``compact`` (``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``),
#: ``spaced`` (``json.dumps`` defaults) or ``iso`` (compact, with RFC 3339 ``...Z`` timestamps).
STYLES = ("compact", "spaced", "iso")
#: Default time of the first record (epoch seconds): 2026-09-21T14:13:20Z.
DEFAULT_START = 1_790_000_000.0
#: Largest ``step`` accepted: with it, an answer still comes well within 30 s of its request.
MAX_STEP = 4.0

#: A long-lived CCEB session resumes within 72 h of its connection's end (``ccproto.cceb.quirks``).
_SESSION_LIFETIME = 72 * 3600.0
#: Most records between a message and its answer inside one unit of a conversation.
_MAX_ANSWER_DISTANCE = 5
#: Most units (exchanges) in progress at once, interleaved record by record.
_MAX_ACTIVE_UNITS = 16
#: What an answer's delay may reach, in seconds (the validator allows 30).
_ANSWER_BUDGET = 20.0

_T = TypeVar("_T")
_CLIENT, _SERVER = "client", "server"
_MESSAGE, _CLOSE = "message", "close"

# ---------------------------------------------------------------------------------------------------------
# Names and vocabularies (a few non-ASCII names: the captures are UTF-8)

_FIRST_NAMES = (
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Dennis", "Frances", "Radia",
    "Niklaus", "Björn", "José", "Zoë", "Søren", "Chloé", "Łukasz", "Małgorzata", "Ngozi", "Aiko", "Mei", "Priya",
    "Oluwaseun", "Ingrid", "Tomás", "Renée", "François", "Hedy", "Katherine", "Dorothy", "Annie", "John", "Leslie",
    "Sophie", "Mateo", "Yusuf", "Amara", "Keiko", "Lars",
)
_LAST_NAMES = (
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Ritchie", "Allen",
    "Perlman", "Wirth", "Stroustrup", "Müller", "García", "Øster", "Nowak", "Okafor", "Tanaka", "Chen", "Sharma",
    "Adeyemi", "Johansson", "Ibáñez", "Dubois", "Lamarr", "Johnson", "Vaughan", "Easley", "Backus", "Lamport",
    "Wilson", "Rossi", "Yilmaz", "Nwosu", "Sato", "Larsen", "O'Brien", "Schmidt", "Kowalczyk",
)
_TEAM_NAMES = (
    "Billing", "Billing & Payments", "Tier 1 Support", "Tier 2 Support — EMEA", "Retention", "Sales Inbound",
    "Sales Outbound", "Collections", "Onboarding", "VIP Desk", "Claims", "Technical Support", "Escalations",
    "Chat Team", "Email Team", "Night Shift", "Kundenservice DE", "Service Client FR", "Atención al Cliente",
    "Fraud Prevention",
)
_SKILLS = (
    "billing", "sales", "support", "retention", "de", "en", "fr", "es", "it", "vip", "chat", "email", "voice",
    "claims", "tier2", "fraud", "collections", "onboarding",
)
_PROCESSOR_NAMES = ("Acme1", "Acme2", "Acme3", "Globex", "Initech", "Umbrella", "Hooli", "Stark")
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
_DEVICE_TYPES = (
    ("Route Point", "Main IVR"), ("Route Point", "Billing IVR"), ("CTI Port", "Queue announcement"),
    ("Agent", None), ("Agent", None), ("Agent", None), ("Trunk", "PSTN gateway"),
)
_AGENT_STATES = ("Available", "Away", "Busy", "Lunch", "Meeting", "Training", "Offline")
_CHANNELS = ("voice", "voice", "voice", "chat", "email", "sms")
_DISPOSITIONS = ("resolved", "callback", "escalated", "no-answer", "wrong-number", "sale")


def _choice(rng: Random, seq: Sequence[_T]) -> _T:
    """``rng.choice``, cheaper (one call to ``random()``)."""
    return seq[int(rng.random() * len(seq))]


def _randint(rng: Random, low: int, high: int) -> int:
    """``rng.randint``, cheaper (one call to ``random()``)."""
    return low + int(rng.random() * (high - low + 1))


def _randrange(rng: Random, stop: int) -> int:
    """``rng.randrange(stop)``, cheaper (one call to ``random()``)."""
    return int(rng.random() * stop)


class _Ids:
    """Fresh random ids from the capture's seeded RNG (uuid version 4 layout)."""

    __slots__ = ("_bits",)

    _CLEAR = ~((0xF << 76) | (0x3 << 62))
    _SET = (0x4 << 76) | (0x2 << 62)

    def __init__(self, rng: Random) -> None:
        self._bits = rng.getrandbits

    def uuid(self) -> str:
        h = f"{(self._bits(128) & self._CLEAR) | self._SET:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def token(self, length: int) -> str:
        """URL-safe random text (session keys, JWT parts)."""
        size = (length * 3 + 3) // 4
        return base64.urlsafe_b64encode(self._bits(8 * size).to_bytes(size, "little")).decode("ascii")[:length]


# ---------------------------------------------------------------------------------------------------------
# What connections of one capture share: directories of people, teams, agents


class _World:
    """Directories shared by the connections of one capture (built from its seed)."""

    def __init__(self, rng: Random, ids: _Ids) -> None:
        self.rng = rng
        self.ids = ids
        # UCCX people (team members): per person its member dicts, one per status/reason (shared, never mutated).
        self.people: list[tuple[str, tuple[dict[str, str], ...]]] = []
        used: set[int] = set()
        for _ in range(600):
            number = _randint(rng, 1000, 99999)
            while number in used:
                number = _randint(rng, 1000, 99999)
            used.add(number)
            member_id = str(number)
            name = f"{_choice(rng, _FIRST_NAMES)} {_choice(rng, _LAST_NAMES)}"
            kind = rng.choices(("Agent", "Supervisor", "TeamLead"), (85, 10, 5))[0]
            variants = tuple(
                {"memberId": member_id, "memberType": kind, "memberName": name, "status": status, "reason": reason}
                for status, reason in (("ready", ""), ("ACW", ""), ("not_ready", "0"), ("not_ready", "22"),
                                       ("not_ready", "31"), ("not_ready", "45"))
            )
            self.people.append((member_id, variants))
        # UCCX teams: (teamId, name, member indexes); 5-20 members each.
        self.teams: list[tuple[str, str, tuple[int, ...]]] = [
            (f"T{100 + i}", _TEAM_NAMES[i % len(_TEAM_NAMES)] + ("" if i < len(_TEAM_NAMES) else f" {i // 20 + 1}"),
             tuple(rng.sample(range(len(self.people)), _randint(rng, 5, 20))))
            for i in range(60)
        ]
        # Bridge agents, each with its agent-info answer body (cti-specific data) built once.
        self.bridge_agents: list[tuple[str, str, str, dict[str, Any]]] = []
        for i in range(400):
            first, last = _choice(rng, _FIRST_NAMES), _choice(rng, _LAST_NAMES)
            agent_id = f"{first.lower()[:3]}{last.lower()[:3]}{i:03d}".encode("ascii", "ignore").decode()
            password = ids.token(12)
            body: dict[str, Any] = {"switch-agent-id": str(4000 + i)}
            if rng.random() < 0.8:
                body["first-name"], body["last-name"] = first, last
            else:
                body["full-name"] = f"{first} {last}"
            body["cti-specific"] = {
                "skills": rng.sample(_SKILLS, _randint(rng, 2, 6)),
                "site": _randint(rng, 1, 12),
                "extension": str(_randint(rng, 2000, 7999)),
                "acdGroups": [f"ACD-{_randint(rng, 1, 40):02d}" for _ in range(_randint(rng, 1, 3))],
                "queues": [{"id": f"q-{_randint(rng, 1, 200)}", "priority": _randint(rng, 1, 9)}
                           for _ in range(_randint(rng, 1, 4))],
                "maxChats": _randint(rng, 1, 4),
                "supervisor": rng.random() < 0.1,
            }
            self.bridge_agents.append((agent_id, agent_id, password, body))
        # CCEB agents: a pool that reconnects (sessions resume across their connections).
        self.cceb_agents: list[_CcebAgent] = []
        self.contacts = [f"c-{_randint(rng, 10000, 99999)}" for _ in range(300)]
        self.queues = [f"q-{i}" for i in range(1, 120)]
        self.campaigns = [f"camp-{_randint(rng, 100, 999)}" for _ in range(12)]

    def cceb_agent(self, index: int) -> _CcebAgent:
        while len(self.cceb_agents) <= index:
            first, last = _choice(self.rng, _FIRST_NAMES), _choice(self.rng, _LAST_NAMES)
            self.cceb_agents.append(_CcebAgent(
                contact_id=_choice(self.rng, self.contacts), name=f"{first} {last}",
                tenant=_choice(self.rng, _TENANTS), number=len(self.cceb_agents),
            ))
        return self.cceb_agents[index]

    def phone(self) -> str:
        return f"+{_choice(self.rng, (1, 44, 49, 33, 34, 39))}{_randint(self.rng, 200_000_000, 999_999_999)}"


class _CcebAgent:
    """A CCEB agent: its long-lived session's key and the connection that holds it."""

    __slots__ = ("contact_id", "holder", "key", "name", "number", "tenant")

    def __init__(self, *, contact_id: str, name: str, tenant: str, number: int) -> None:
        self.contact_id = contact_id
        self.name = name
        self.tenant = tenant
        self.number = number
        self.key: str | None = None
        self.holder: _Connection | None = None


# ---------------------------------------------------------------------------------------------------------
# Connections: each builds its conversation one unit (a complete exchange) at a time

#: One record of a unit: (from, "message" | "close", value).
_Item = tuple[str, str, Any]


class _Connection:
    """One connection: its planned length and the state its next unit depends on."""

    __slots__ = (
        "close_mode", "due", "index", "last_ts", "name", "opened", "pace", "remaining", "started", "tail",
    )

    protocol = ""
    #: Fewest records of a conversation: (never closed, closed by both sides).
    MIN = (1, 1)

    def __init__(self, index: int, name: str, length: int, close_mode: int) -> None:
        self.index = index
        self.name = name
        self.remaining = length
        #: 0: never closed; 1: only the client's close was logged; 2: closed by both sides.
        self.close_mode = close_mode
        self.tail = 0
        self.started = False  # the opening unit was built
        self.opened = False  # ... and completely emitted
        self.due = 0.0
        self.pace = 1.0
        self.last_ts = 0.0

    def next_unit(self, world: _World, now: float) -> list[_Item]:
        if not self.started:
            self.started = True
            unit = self.opening(world, self.remaining - self.tail, now)
        elif self.remaining == self.tail:
            unit = self.closing(world)
            self.tail = 0
        else:
            unit = self.body(world, self.remaining - self.tail)
        self.remaining -= len(unit)
        assert self.remaining >= self.tail, (self.name, self.remaining, self.tail)  # the plan always fits
        return unit

    def opening(self, world: _World, budget: int, now: float) -> list[_Item]:
        raise NotImplementedError

    def body(self, world: _World, budget: int) -> list[_Item]:
        raise NotImplementedError

    def closing(self, world: _World) -> list[_Item]:
        raise NotImplementedError


class _Table:
    """Units to choose from: (name, length, weight) each."""

    __slots__ = ("cumulative", "longest", "names", "rows")

    def __init__(self, rows: list[tuple[str, int, float]]) -> None:
        self.rows = rows
        self.names = [name for name, _, _ in rows]
        self.cumulative = list(itertools.accumulate(weight for _, _, weight in rows))
        self.longest = max(length for _, length, _ in rows)


def _pick(rng: Random, table: _Table, budget: int) -> str:
    """A weighted choice among the units that fit ``budget`` records."""
    if budget >= table.longest:
        return table.names[bisect.bisect(table.cumulative, rng.random() * table.cumulative[-1])]
    fitting = [row for row in table.rows if row[1] <= budget]
    total = sum(weight for _, _, weight in fitting)
    x = rng.random() * total
    for name, _, weight in fitting:
        x -= weight
        if x < 0:
            return name
    return fitting[-1][0]


# -- bridge ---------------------------------------------------------------------------------------------


class _BridgeConnection(_Connection):
    """The Processor Bridge (server) and its CTI client: ``{"header": {...}, "body": {...}}`` messages."""

    __slots__ = ("_agents", "_sessions", "_status", "_target")

    protocol = "bridge"
    MIN = (3, 7)

    def __init__(self, index: int, name: str, length: int, close_mode: int, rng: Random) -> None:
        super().__init__(index, name, length, close_mode)
        if close_mode:
            # dispose, (stopping-service), its answer, the closes.
            self.tail = 5 if length >= 8 and rng.random() < 0.6 else 4
        self._status = "in-service"
        self._sessions = 0
        self._target = ""
        self._agents: list[tuple[str, str, str, dict[str, Any]]] = []

    # messages

    def _request(self, world: _World, kind: str, name: str, body: dict[str, Any]) -> tuple[_Item, str]:
        request_id = world.ids.uuid()
        header = {"type": kind, "name": name, "target": self._target, "requestId": request_id}
        return (_SERVER, _MESSAGE, {"header": header, "body": body}), request_id

    def _success(self, name: str, request_id: str, body: dict[str, Any]) -> _Item:
        header = {"type": "cti.response", "name": name, "target": self._target, "requestId": request_id,
                  "result": "SUCCESS"}
        return _CLIENT, _MESSAGE, {"header": header, "body": body}

    def _failure(self, name: str, request_id: str, why: str, body: dict[str, Any]) -> _Item:
        header = {"type": "cti.response", "name": name, "target": self._target, "requestId": request_id,
                  "result": "FAILURE", "errorMessage": why}
        return _CLIENT, _MESSAGE, {"header": header, "body": body}

    def _status_event(self, status: str) -> _Item:
        self._status = status
        return _CLIENT, _MESSAGE, {"header": {"type": "cti.event", "name": "cti.serverstatuschanged"},
                                   "body": {"status": status}}

    _CAPABILITIES = (
        {"channel-groups-supported": True, "channel-groups-max-per-agent": 2,
         "channel-groups-media-types": "voice,chat", "single-channels-supported": True,
         "single-channels-media-types": "voice,chat,email"},
        {"channel-groups-supported": False, "channel-groups-max-per-agent": 0,
         "channel-groups-media-types": "voice", "single-channels-supported": True,
         "single-channels-media-types": "voice,chat,email,sms"},
        {"channel-groups-supported": True, "channel-groups-max-per-agent": 4,
         "channel-groups-media-types": "voice,chat,email", "single-channels-supported": False,
         "single-channels-media-types": "voice"},
    )

    def _capabilities(self, world: _World) -> list[_Item]:
        query, request_id = self._request(world, "cti.query", "cti.query.capabilities", {})
        return [query, self._success("cti.query.capabilities", request_id, _choice(world.rng, self._CAPABILITIES))]

    def _agent_info(self, world: _World) -> tuple[_Item, _Item]:
        agent_id, login, password, answer = _choice(world.rng, self._agents)
        query, request_id = self._request(world, "cti.query", "cti.query.agentinfo", {
            "agentId": agent_id, "requestingAgentLogin": login, "requestingAgentPassword": password,
        })
        if world.rng.random() < 0.05:
            return query, self._failure("cti.query.agentinfo", request_id, f"agent {agent_id} is not provisioned",
                                        {"errorCode": 404})
        return query, self._success("cti.query.agentinfo", request_id, answer)

    def _validate(self, world: _World) -> tuple[_Item, _Item]:
        agent_id, login, password, _ = _choice(world.rng, self._agents)
        request, request_id = self._request(world, "cti.request", "cti.request.validateagentcredentials", {
            "agentId": agent_id, "agentLogin": login, "agentPassword": password,
        })
        if world.rng.random() < 0.15:
            return request, self._failure("cti.request.validateagentcredentials", request_id,
                                          "invalid credentials", {})
        return request, self._success("cti.request.validateagentcredentials", request_id, {})

    def _create_session(self, world: _World) -> tuple[_Item, _Item]:
        agent_id, _, password, _ = _choice(world.rng, self._agents)
        self._sessions += 1
        session_id = f"sess-{self._sessions}"
        processor = self._target.removesuffix(".CONTROL")
        request, request_id = self._request(world, "cti.request", "cti.request.createsession", {
            "agentId": agent_id, "agentPassword": password, "sessionId": session_id,
            "destination": f"{processor}.{agent_id}.{session_id}",
        })
        if self._status != "in-service":
            return request, self._failure("cti.request.createsession", request_id,
                                          f"service is {self._status}: no new sessions", {})
        return request, self._success("cti.request.createsession", request_id, {})

    # units

    def opening(self, world: _World, budget: int, now: float) -> list[_Item]:
        rng = world.rng
        self._target = f"{_choice(rng, _PROCESSOR_NAMES)}.CONTROL"
        self._agents = rng.sample(world.bridge_agents, _randint(rng, 3, 12))
        request, request_id = self._request(world, "cti.request", "cti.request.serverstatus", {})
        unit = [request, self._success("cti.request.serverstatus", request_id, {})]
        if budget >= 6 and rng.random() < 0.8:
            if rng.random() < 0.5:  # queried while initializing, before the client's first report
                unit.extend(self._capabilities(world))
                unit.append(self._status_event("starting-service"))
            else:
                unit.append(self._status_event("starting-service"))
                unit.extend(self._capabilities(world))
        unit.append(self._status_event("in-service"))
        return unit

    _UNITS: ClassVar[_Table] = _Table([
        ("agentinfo", 2, 5.0), ("validate", 2, 3.0), ("createsession", 2, 4.0), ("login", 4, 2.0),
        ("login6", 6, 1.5), ("capabilities", 2, 0.5), ("poll", 3, 1.5), ("status", 1, 1.5),
        ("restart", 3, 0.2),
    ])

    def body(self, world: _World, budget: int) -> list[_Item]:
        rng = world.rng
        name = _pick(rng, self._UNITS, budget)
        if name == "agentinfo":
            return list(self._agent_info(world))
        if name == "validate":
            return list(self._validate(world))
        if name == "createsession":
            return list(self._create_session(world))
        if name in ("login", "login6"):
            # Two requests in flight at once, answered in either order (requestId correlates them).
            query, info = self._agent_info(world)
            request, answer = self._validate(world)
            unit = [query, request, answer, info] if rng.random() < 0.5 else [query, request, info, answer]
            if name == "login6":
                unit.extend(self._create_session(world))
            return unit
        if name == "capabilities":
            return self._capabilities(world)
        if name == "poll":
            request, request_id = self._request(world, "cti.request", "cti.request.serverstatus", {})
            return [request, self._success("cti.request.serverstatus", request_id, {}),
                    self._status_event(self._status)]
        if name == "restart":
            # The CTI link went down and came back.
            return [self._status_event("out-of-service"), self._status_event("starting-service"),
                    self._status_event("in-service")]
        # status: pause, resume, or re-announce.
        if self._status == "pausing-service":
            return [self._status_event("in-service")]
        return [self._status_event("pausing-service" if rng.random() < 0.4 else "in-service")]

    def closing(self, world: _World) -> list[_Item]:
        request, request_id = self._request(world, "cti.request", "cti.request.dispose", {})
        unit = [request]
        if self.tail == 5:
            unit.append(self._status_event("stopping-service"))
        unit.append(self._success("cti.request.dispose", request_id, {}))
        unit.append((_SERVER, _CLOSE, {"code": 1000, "reason": "disposed"}))
        unit.append((_CLIENT, _CLOSE, {"code": 1000, "reason": "disposed"}))
        return unit


# -- processor ------------------------------------------------------------------------------------------


class _ProcessorConnection(_Connection):
    """An agent desktop (client) and the Interaction Processor: commands, responses and team-status events."""

    __slots__ = ("_agent", "_announced", "_password", "_pending_teams")

    protocol = "processor"
    MIN = (2, 4)

    _CAPABILITIES = (
        {"reports": ["report.calljourney", "report.teamstatus"], "maxSessions": 1, "models": ["uccx"]},
        {"reports": ["report.calljourney", "report.teamstatus"], "maxSessions": 2, "models": ["uccx", "ucce"],
         "service": {"vendor": "OpenMethods", "version": "4.2.1", "cti-vendor": "Cisco", "cti-version": "12.5",
                     "instance-domain": "emea-1"}},
        {"reports": ["report.teamstatus"], "maxSessions": 1, "models": ["uccx"], "heartbeatSeconds": 30},
    )

    def __init__(self, index: int, name: str, length: int, close_mode: int, rng: Random) -> None:
        super().__init__(index, name, length, close_mode)
        if close_mode:
            # report.teamstatus.end and its answer, then the closes (only the closes when it is too short).
            self.tail = 4 if length >= 8 else 2
        self._agent = ""
        self._password = ""
        #: Team index -> (name, member indexes) of the teams the report announced.
        self._announced: dict[int, tuple[str, list[int]]] = {}
        self._pending_teams: list[int] = []

    # messages

    def _team_added(self, world: _World, team: int) -> _Item:
        team_id, name, members = world.teams[team]
        self._announced[team] = (name, list(members))
        rng = world.rng
        people = world.people
        listed = [people[p][1][_randrange(rng, 6) if rng.random() < 0.5 else 0] for p in members]
        return _SERVER, _MESSAGE, {"name": "report.teamstatus.teamadded", "data": {
            "agentId": self._agent, "team": {"teamId": team_id, "teamName": name, "members": listed}}}

    def _team_event(self, world: _World) -> _Item:
        rng = world.rng
        if self._pending_teams and (not self._announced or rng.random() < 0.3):
            return self._team_added(world, self._pending_teams.pop())
        team = _choice(rng, list(self._announced))
        name, members = self._announced[team]
        team_id = world.teams[team][0]
        people = world.people
        x = rng.random()
        if x < 0.7:
            changed = rng.sample(members, min(len(members), _choice(rng, (1, 1, 1, 2, 3))))
            return _SERVER, _MESSAGE, {"name": "report.teamstatus.memberstatuschanged", "data": {
                "agentId": self._agent, "team": {"teamId": team_id, "teamName": name,
                                                 "members": [people[p][1][_randrange(rng, 6)] for p in changed]}}}
        if x < 0.8:
            newcomer = _randrange(rng, len(people))
            if newcomer not in members:
                members.append(newcomer)
            return _SERVER, _MESSAGE, {"name": "report.teamstatus.memberadded", "data": {
                "agentId": self._agent, "team": {"teamId": team_id, "teamName": name,
                                                 "members": [people[newcomer][1][0]]}}}
        if x < 0.9 and len(members) > 5:
            gone = members.pop(_randrange(rng, len(members)))
            return _SERVER, _MESSAGE, {"name": "report.teamstatus.memberremoved", "data": {
                "agentId": self._agent, "team": {"teamId": team_id, "teamName": name,
                                                 "members": [{"memberId": people[gone][0]}]}}}
        if x < 0.97 or len(self._announced) == 1:
            renamed = _choice(rng, _TEAM_NAMES)
            self._announced[team] = (renamed, members)
            return _SERVER, _MESSAGE, {"name": "report.teamstatus.teamchanged", "data": {
                "agentId": self._agent, "team": {"teamId": team_id, "teamName": renamed}}}
        del self._announced[team]
        self._pending_teams.append(team)
        return _SERVER, _MESSAGE, {"name": "report.teamstatus.teamremoved", "data": {
            "agentId": self._agent, "team": {"teamId": team_id, "teamName": name}}}

    def _begin(self) -> list[_Item]:
        return [(_CLIENT, _MESSAGE, {"command": "report.teamstatus.begin", "data": {"agentId": self._agent}}),
                (_SERVER, _MESSAGE, {"command": "report.teamstatus.begin", "result": "success", "data": {}})]

    def _end(self) -> list[_Item]:
        self._pending_teams.extend(self._announced)
        self._announced.clear()
        return [(_CLIENT, _MESSAGE, {"command": "report.teamstatus.end", "data": {"agentId": self._agent}}),
                (_SERVER, _MESSAGE, {"command": "report.teamstatus.end", "result": "success", "data": {}})]

    def _capabilities(self, world: _World) -> tuple[_Item, _Item]:
        return ((_CLIENT, _MESSAGE, {"command": "getCapabilities", "data": {}}),
                (_SERVER, _MESSAGE, {"command": "getCapabilities", "result": "success",
                                     "data": _choice(world.rng, self._CAPABILITIES)}))

    def _journey(self, world: _World, fail: bool) -> tuple[_Item, _Item]:
        rng = world.rng
        call = str(16_777_216 + _randrange(rng, 1_000_000))
        request = {"command": "report.calljourney", "data": {"CallId": call}}
        if fail:
            return (_CLIENT, _MESSAGE, request), (_SERVER, _MESSAGE, {
                "command": "report.calljourney", "result": "failure",
                "failure": {"code": "NOT_FOUND", "message": f"no such call: {call}",
                            "context": "ReportService.journey(ReportService.java:88)"},
                "original": request})
        steps = []
        number = int(call)
        for _ in range(_randint(rng, 2, 6)):
            device_type, description = _choice(rng, _DEVICE_TYPES)
            if description is None:
                device, description = world.people[_randrange(rng, len(world.people))][1][0]["memberId"], "Agent"
            else:
                device = str(_randint(rng, 6000, 6999))
            seconds = _randint(rng, 3, 900)
            steps.append({"CallId": str(number), "Device": device, "DeviceType": device_type,
                          "Description": description, "Duration": f"00:{seconds // 60:02d}:{seconds % 60:02d}"})
            number += _randint(rng, 1, 3)
        return (_CLIENT, _MESSAGE, request), (_SERVER, _MESSAGE, {
            "command": "report.calljourney", "result": "success", "data": {"CallJourney": steps}})

    # units

    def opening(self, world: _World, budget: int, now: float) -> list[_Item]:
        rng = world.rng
        self._agent = str(_randint(rng, 1000, 99999))
        self._password = world.ids.token(10)
        self._pending_teams = rng.sample(range(len(world.teams)), _choice(rng, (1, 1, 2, 2, 3)))
        credentials = {"id": self._agent, "password": self._password}
        if budget == 2:  # just the session
            data = {"model": "uccx", "override": False, "agent": credentials}
            return [(_CLIENT, _MESSAGE, {"command": "prepareSession", "data": data}),
                    (_SERVER, _MESSAGE, {"command": "prepareSession", "result": "success",
                                         "resource": {"id": f"session-{self._agent}", "data": data}})]
        if budget == 3:  # just the report, with its first team
            return [*self._begin(), self._team_added(world, self._pending_teams.pop())]
        unit: list[_Item] = []
        room = budget - 4  # prepareSession and the report's begin are always there
        if room >= 2 and rng.random() < 0.7:
            unit.extend(self._capabilities(world))
            room -= 2
        if room >= 2 and rng.random() < 0.1:
            room -= 2
            typo = {"command": "prepareSession", "data": {"model": "uccx", "override": False, "agent": {
                "id": self._agent, "password": self._password[:-1]}}}
            unit.append((_CLIENT, _MESSAGE, typo))
            unit.append((_SERVER, _MESSAGE, {"command": "prepareSession", "result": "failure", "failure": {
                "code": "AUTHENTICATION_FAILED", "message": "invalid agent id or password"}, "original": typo}))
        data = {"model": "uccx", "override": False, "agent": credentials}
        request = {"command": "prepareSession", "data": data}
        unit.append((_CLIENT, _MESSAGE, request))
        if room >= 2 and rng.random() < 0.3:
            room -= 2
            unit.append((_SERVER, _MESSAGE, {
                "command": "prepareSession", "result": "confirm",
                "message": f"Agent {self._agent} already has a session. Replace it?", "original": request}))
            data = {"model": "uccx", "override": True, "agent": data["agent"]}
            unit.append((_CLIENT, _MESSAGE, {"command": "prepareSession", "data": data}))
        unit.append((_SERVER, _MESSAGE, {"command": "prepareSession", "result": "success",
                                         "resource": {"id": f"session-{self._agent}", "data": data}}))
        unit.extend(self._begin())
        while room > 0 and self._pending_teams:
            unit.append(self._team_added(world, self._pending_teams.pop()))
            room -= 1
        return unit

    _UNITS: ClassVar[_Table] = _Table([
        ("event", 1, 12.0), ("journey", 2, 4.0), ("journey-failed", 2, 0.7), ("journeys", 4, 1.0),
        ("overlap", 4, 0.8), ("capabilities", 2, 0.4), ("restart", 4, 0.3),
    ])

    def body(self, world: _World, budget: int) -> list[_Item]:
        rng = world.rng
        name = _pick(rng, self._UNITS, budget)
        if name == "event":
            return [self._team_event(world)]
        if name in ("journey", "journey-failed"):
            return list(self._journey(world, name == "journey-failed"))
        if name == "journeys":
            # Two journeys in flight: answered in order (responses carry no id).
            first, second = self._journey(world, False), self._journey(world, rng.random() < 0.1)
            return [first[0], second[0], first[1], second[1]]
        if name == "overlap":
            # Different commands in flight: answered in any order.
            journey, capabilities = self._journey(world, False), self._capabilities(world)
            return [journey[0], capabilities[0], capabilities[1], journey[1]]
        if name == "capabilities":
            return list(self._capabilities(world))
        return self._end() + self._begin()

    def closing(self, world: _World) -> list[_Item]:
        closes = [(_CLIENT, _CLOSE, {"code": 1000, "reason": "agent logged out"}),
                  (_SERVER, _CLOSE, {"code": 1000, "reason": "agent logged out"})]
        return [*self._end(), *closes] if self.tail == 4 else closes


# -- cceb -----------------------------------------------------------------------------------------------

_PROVISIONING_OTHER = (
    "AgentAddedEvent", "AgentUpdatedEvent", "AgentQueueAddedEvent", "AgentAccessRightsAddedEvent",
    "AgentGroupAddedEvent", "AgentGroupUpdatedEvent", "TenantUpdatedEvent", "QueueAddedEvent", "QueueUpdatedEvent",
)
_PROVISIONING_DELETED = ("AgentDeletedEvent", "AgentQueueDeletedEvent", "AgentGroupDeletedEvent", "QueueDeletedEvent")


class _CcebConnection(_Connection):
    """An agent's client and the CCEB: hello first, then actions and notifications, each acked once."""

    __slots__ = ("_agent", "_interactions", "_off_hook")

    protocol = "cceb"
    MIN = (2, 4)

    def __init__(self, index: int, name: str, length: int, close_mode: int, agent: _CcebAgent) -> None:
        super().__init__(index, name, length, close_mode)
        self.tail = close_mode  # the close records
        self._agent = agent
        self._off_hook = "unknown"  # the off-hook phase, as ccproto.cceb.states.OffHookPhase
        self._interactions: list[tuple[str, str]] = []  # (interactionId, channel)

    # messages

    def _note(self, world: _World, kind: str, data: dict[str, Any]) -> tuple[_Item, _Item]:
        uuid = world.ids.uuid()
        return (_SERVER, _MESSAGE, {"type": kind, "uuid": uuid, "data": data}), (
            _CLIENT, _MESSAGE, {"type": "ack", "uuid": uuid})

    def _action(self, world: _World, action: str, details: dict[str, Any]) -> tuple[_Item, _Item]:
        uuid = world.ids.uuid()
        return (_CLIENT, _MESSAGE, {"type": "action", "uuid": uuid,
                                    "data": {"action": action, "action_details": details}}), (
            _SERVER, _MESSAGE, {"type": "ack", "uuid": uuid})

    def _interaction(self, world: _World) -> tuple[str, str]:
        if self._interactions and world.rng.random() < 0.8:
            return _choice(world.rng, self._interactions)
        return self._new_interaction(world)

    def _new_interaction(self, world: _World) -> tuple[str, str]:
        found = (f"i-{world.ids.uuid()[:18]}", _choice(world.rng, _CHANNELS))
        self._interactions.append(found)
        if len(self._interactions) > 4:
            del self._interactions[0]
        return found

    def _notification(self, world: _World) -> tuple[_Item, _Item]:
        rng = world.rng
        x = rng.random()
        if x < 0.22:
            return self._note(world, "presence", {
                "status": _choice(rng, _AGENT_STATES), "agentId": self._agent.contact_id,
                "since": _iso(1_790_000_000 + _randrange(rng, 10_000_000)), "reasonCode": _randint(rng, 0, 40)})
        if x < 0.42:
            interaction, channel = self._interaction(world)
            return self._note(world, "interaction_update", {
                "interactionId": interaction, "channel": channel,
                "state": _choice(rng, ("offered", "assigned", "active", "wrapup", "completed")),
                "queueId": _choice(rng, world.queues), "priority": _randint(rng, 1, 10),
                "customer": {"name": f"{_choice(rng, _FIRST_NAMES)} {_choice(rng, _LAST_NAMES)}",
                             "phone": world.phone(), "tier": _choice(rng, ("gold", "silver", "standard"))},
                "attributes": {"language": _choice(rng, ("en", "de", "fr", "es")),
                               "topic": _choice(rng, _SKILLS), "waitSeconds": _randint(rng, 0, 600)}})
        if x < 0.55:
            interaction, _ = self._interaction(world)
            return self._note(world, "call_leg", {
                "interactionId": interaction, "legId": f"leg-{_randrange(rng, 1 << 32):08x}",
                "status": _choice(rng, ("ringing", "connected", "held", "retrieved", "disconnected")),
                "direction": _choice(rng, ("inbound", "outbound")), "ani": world.phone(), "dnis": world.phone()})
        if x < 0.62:
            interaction, channel = self._interaction(world)
            return self._note(world, "agent_interaction", {
                "interactionId": interaction, "channel": channel, "state": "assigned",
                "queueId": _choice(rng, world.queues)})
        if x < 0.67:
            return self._note(world, "interactions_list", {"interactions": [
                {"interactionId": i, "channel": c, "state": "active"} for i, c in self._interactions]})
        if x < 0.72:
            interaction, _ = self._interaction(world)
            return self._note(world, "switch_line", {"lineId": f"line-{_randint(rng, 1, 4)}",
                                                     "interactionId": interaction})
        if x < 0.77:
            interaction, _ = self._interaction(world)
            recording = world.ids.uuid()
            return self._note(world, "recording_ready", {
                "interactionId": interaction, "recordingId": recording,
                "url": f"https://recordings.{self._agent.tenant}.example/r/{recording}",
                "durationSeconds": _randint(rng, 20, 3600), "format": "audio/ogg"})
        if x < 0.81:
            dialed = _randint(rng, 100, 20_000)
            return self._note(world, "campaign_status", {
                "campaignId": _choice(rng, world.campaigns), "state": _choice(rng, ("running", "paused")),
                "dialed": dialed, "connected": dialed * _randint(rng, 20, 60) // 100,
                "abandonRate": round(rng.random() * 0.05, 4), "agentsAvailable": _randint(rng, 0, 80)})
        if x < 0.86:
            interaction, _ = self._interaction(world)
            return self._note(world, "agent_line_status", {
                "agentId": self._agent.contact_id, "lineId": f"line-{_randint(rng, 1, 4)}",
                "status": _choice(rng, ("idle", "ringing", "busy", "held")), "interactionId": interaction})
        if x < 0.89:
            return self._note(world, "monitoring_agent_list", {"agents": [
                {"agentContactId": _choice(rng, world.contacts), "name": f"{_choice(rng, _FIRST_NAMES)} "
                 f"{_choice(rng, _LAST_NAMES)}", "state": _choice(rng, _AGENT_STATES)}
                for _ in range(_randint(rng, 3, 10))]})
        if x < 0.97:
            return self._note(world, "provisioning", self._provisioning(world))
        return self._note(world, "agent_phone_update", {"recording_controls": _randint(rng, 0, 2)})

    def _provisioning(self, world: _World) -> dict[str, Any]:
        rng = world.rng
        if rng.random() < 0.25:
            event_type = _choice(rng, _PROVISIONING_DELETED)
            ids = {"agentId": _choice(rng, world.contacts), "queueId": _choice(rng, world.queues),
                   "groupId": f"g-{_randint(rng, 1, 50)}", "queueType": _choice(rng, ("voice", "chat", "email"))}
            wanted = {"AgentDeletedEvent": ("agentId",), "AgentQueueDeletedEvent": ("agentId", "queueId"),
                      "AgentGroupDeletedEvent": ("groupId",), "QueueDeletedEvent": ("queueId", "queueType")}
            return {"event_type": event_type, "event": {k: ids[k] for k in wanted[event_type]}}
        event_type = _choice(rng, _PROVISIONING_OTHER)
        if event_type.startswith("Queue"):
            event: dict[str, Any] = {"queueId": _choice(rng, world.queues), "deltas": {
                "name": _choice(rng, _TEAM_NAMES), "slaSeconds": _choice(rng, (20, 30, 60)),
                "channels": rng.sample(_CHANNELS[2:], 2)}}
        elif event_type.startswith("Tenant"):
            event = {"tenantId": self._agent.tenant, "deltas": {"timezone": _choice(rng,
                ("Europe/Berlin", "America/New_York", "Asia/Tokyo")), "recordingEnabled": rng.random() < 0.5}}
        elif event_type.startswith("AgentGroup"):
            event = {"groupId": f"g-{_randint(rng, 1, 50)}", "name": _choice(rng, _TEAM_NAMES),
                     "members": rng.sample(world.contacts, _randint(rng, 2, 8))}
        else:
            event = {"agentId": _choice(rng, world.contacts), "firstName": _choice(rng, _FIRST_NAMES),
                     "lastName": _choice(rng, _LAST_NAMES), "queues": rng.sample(world.queues, _randint(rng, 1, 4)),
                     "rights": rng.sample(("chat", "voice", "email", "monitor", "barge"), 2)}
        return {"event_type": event_type, "event": event}

    def _some_action(self, world: _World) -> tuple[_Item, _Item]:
        rng = world.rng
        x = _randrange(rng, 20)
        if x < 3:
            return self._action(world, "ChangeAgentStateEvent", {"state": _choice(rng, _AGENT_STATES)})
        if x == 3:
            return self._action(world, "ChangeAgentSubStateEvent", {"subState": _choice(rng, ("Lunch", "Coaching"))})
        if x == 4:
            return self._action(world, "SetAgentNextStatusEvent", {"nextStatus": _choice(rng, _AGENT_STATES)})
        if x == 5:
            return self._action(world, "RequestAgentInteractionListEvent", {})
        if x == 6:
            return self._action(world, "InitiatePhoneCallEvent", {
                "phoneNumber": world.phone(), "queueId": _choice(rng, world.queues), "callerId": world.phone()})
        if x == 7:
            return self._action(world, "InitiateEmailInteractionEvent", {
                "to": f"customer{_randint(rng, 1, 99999)}@example.com", "subject": "Your request",
                "queueId": _choice(rng, world.queues)})
        if x == 8:
            return self._action(world, "AgentToAgentChatRequestEvent", {
                "destinationAgentContactId": _choice(rng, world.contacts), "message": "Can you take a look?"})
        if x == 9:
            return self._action(world, _choice(rng, ("StartOutboundCampaignEvent", "SkipOutboundCampaignEvent")),
                                {"campaignId": _choice(rng, world.campaigns)})
        if x == 10:
            if rng.random() < 0.3:
                return self._action(world, "PhoneValidationStatusEvent", {})
            return self._action(world, "TclAndDispositionRequestEvent", {"queueId": _choice(rng, world.queues)})
        interaction, _ = self._interaction(world)
        if x == 11:
            if rng.random() < 0.2:
                return self._action(world, "CancelTransferEvent", {"interactionId": interaction})
            return self._action(world, "BlindTransferEvent", {
                "interactionId": interaction, "destinationAgentContactId": _choice(rng, world.contacts)})
        if x == 12:
            return self._action(world, _choice(rng, ("TransferAgentTelephoneLinesEvent",
                                                   "ConferenceAgentTelephoneLinesEvent")), {
                "interactionId": interaction, "secondAgentContactId": _choice(rng, world.contacts)})
        if x == 13:
            return self._action(world, "UpdateInteractionEvent", {
                "interactionId": interaction, "attributes": {"note": "customer asked for a callback",
                                                             "priority": _randint(rng, 1, 10)}})
        if x == 14:
            return self._action(world, "EndPostProcessingEvent", {
                "interactionId": interaction, "dispositionCode": _choice(rng, _DISPOSITIONS)})
        if x == 15:
            return self._action(world, "ForwardInteractionEvent", {
                "interactionId": interaction, "destinationQueueId": _choice(rng, world.queues)})
        if x == 16:
            return self._action(world, _choice(rng, ("DeleteInteractionEvent", "EndEmailInteractionEvent",
                                                   "RejectInteractionEvent")), {"interactionId": interaction})
        return self._action(world, _choice(rng, (
            "HoldAgentTelephoneLineEvent", "UnholdAgentTelephoneLineEvent", "MuteAgentTelephoneLineEvent",
            "UnmuteAgentTelephoneLineEvent", "HangupAgentTelephoneLineEvent", "HangupParticipantTelephoneLineEvent",
        )), {"interactionId": interaction, "lineId": f"line-{_randint(rng, 1, 4)}"})

    def _off_hook_note(self, world: _World, state: str, **extra: Any) -> tuple[_Item, _Item]:
        self._off_hook = {"offering": "offering", "answered": "answered", "authenticated": "authenticated",
                          "dropped": "enabled", "rejected": "enabled", "enabled": "enabled",
                          "disabled": "disabled"}.get(state, self._off_hook)
        return self._note(world, "off_hook", {"state": state, **extra})

    # units

    def opening(self, world: _World, budget: int, now: float) -> list[_Item]:
        rng = world.rng
        agent = self._agent
        token = f"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{world.ids.token(96)}.{world.ids.token(86)}"
        hello: dict[str, Any] = {"token": token, "tenant": agent.tenant}
        reply: dict[str, Any] = {}
        resumed = False
        holder = agent.holder
        if rng.random() < 0.1:
            pass  # a plain session: nothing outlives this connection
        elif (agent.key is not None and holder is not None and holder.opened
              and now - holder.last_ts < _SESSION_LIFETIME - 3600.0):
            # Resume: the holder's last record is no later than what the validator saw of it (margin: 1 h).
            hello["session_key"] = reply["session_key"] = agent.key
            reply["resumed"] = resumed = True
            agent.holder = self
        else:
            hello["long_lived"] = True
            agent.key = reply["session_key"] = f"sk-{world.ids.token(43)}"
            if rng.random() < 0.5:
                reply["resumed"] = False
            agent.holder = self
        if rng.random() < 0.2:
            hello["auto_accept"] = rng.random() < 0.5
        uuid = world.ids.uuid()
        unit: list[_Item] = [(_CLIENT, _MESSAGE, {"type": "hello", "uuid": uuid, "data": hello}),
                             (_SERVER, _MESSAGE, {"type": "hello_reply", "uuid": uuid, "data": reply})]
        if resumed and budget >= 4:
            unit.extend(self._note(world, "interactions_list", {"interactions": [
                {"interactionId": i, "channel": c, "state": "active"} for i, c in self._interactions]}))
        return unit

    _UNITS: ClassVar[_Table] = _Table([
        ("note", 2, 10.0), ("action", 2, 6.0), ("state", 4, 3.0), ("burst2", 4, 2.0), ("burst3", 6, 1.0),
        ("offer", 6, 2.5), ("off_hook", 6, 1.5), ("off_hook_status", 4, 0.4), ("off_hook_toggle", 4, 0.3),
        ("phone_validation", 8, 0.4), ("phone_validation_pin", 10, 0.3), ("phone_validation_short", 4, 0.3),
        ("phone_validation_cancel", 6, 0.1), ("off_hook_pin", 8, 0.4),
    ])

    def body(self, world: _World, budget: int) -> list[_Item]:
        rng = world.rng
        name = _pick(rng, self._UNITS, budget)
        if name == "note":
            return list(self._notification(world))
        if name == "action":
            return list(self._some_action(world))
        if name == "state":
            state = _choice(rng, _AGENT_STATES[:3])
            change = self._action(world, "ChangeAgentStateEvent", {"state": state})
            presence = self._note(world, "presence", {"status": state, "agentId": self._agent.contact_id})
            return [*change, *presence]
        if name in ("burst2", "burst3"):
            # Several notifications before the client acks them, in any order.
            pairs = [self._notification(world) for _ in range(2 if name == "burst2" else 3)]
            acks = [ack for _, ack in pairs]
            rng.shuffle(acks)
            return [note for note, _ in pairs] + acks
        if name == "offer":
            interaction, channel = self._new_interaction(world)
            offered = self._note(world, "interaction_update", {
                "interactionId": interaction, "channel": channel, "state": "offered",
                "queueId": _choice(rng, world.queues), "priority": _randint(rng, 1, 10), "timeout": 20})
            accept = self._action(world, "AcceptInteractionEvent", {"interactionId": interaction})
            leg = self._note(world, "call_leg", {
                "interactionId": interaction, "legId": f"leg-{_randrange(rng, 1 << 32):08x}", "status": "connected",
                "direction": "inbound", "ani": world.phone(), "dnis": world.phone()})
            return [*offered, *accept, *leg]
        if name == "off_hook":
            return self._off_hook_unit(world)
        if name == "off_hook_pin":
            if self._off_hook not in ("unknown", "enabled"):
                return [*self._off_hook_unit(world), *self._some_action(world)]
            # The agent answers the persistent leg and types its PIN before it is authenticated.
            offering = self._off_hook_note(world, "offering", timeout=30)
            answered = self._off_hook_note(world, "answered")
            pin = self._action(world, "OffHookAuthPinValidationEvent", {"pin": f"{_randrange(rng, 10_000):04d}"})
            authenticated = self._off_hook_note(world, "authenticated", media_resource_id=f"media-{world.ids.uuid()}")
            return [*offering, *answered, *pin, *authenticated]
        if name == "off_hook_status":
            action = self._action(world, "OffHookConnectionStatusEvent", {})
            return [*action, *self._off_hook_note(world, "status")]
        if name == "off_hook_toggle":
            enable = self._off_hook == "disabled"
            action = self._action(world, "SetOffHookConnectionEvent", {"enabled": enable})
            return [*action, *self._off_hook_note(world, "enabled" if enable else "disabled")]
        if name in ("phone_validation", "phone_validation_pin"):
            action = self._action(world, "PhoneValidationValidateEvent", {"phoneNumber": world.phone()})
            offering = self._note(world, "phone_validation", {"state": "offering", "timeout": 60})
            answered = self._note(world, "phone_validation", {"state": "answered"})
            code: tuple[_Item, ...] = self._action(
                world, "PhoneVerificationPinEvent", {"pin": f"{_randrange(rng, 10_000):04d}"}
            ) if name == "phone_validation_pin" else ()
            result = self._note(world, "phone_validation", {
                "state": "verified" if rng.random() < 0.85 else _choice(rng, ("invalid", "dropped"))})
            return [*action, *offering, *answered, *code, *result]
        offering = self._note(world, "phone_validation", {"state": "offering", "timeout": 60})
        if name == "phone_validation_cancel":
            cancel = self._action(world, "PhoneValidationCancelEvent", {})
            return [*offering, *cancel, *self._note(world, "phone_validation", {"state": "dropped"})]
        ended = self._note(world, "phone_validation", {"state": _choice(rng, ("rejected", "dropped"))})
        return [*offering, *ended]

    def _off_hook_unit(self, world: _World) -> list[_Item]:
        """Six records that move the persistent phone connection along ``OFF_HOOK_TRANSITIONS``."""
        rng = world.rng
        phase = self._off_hook
        if phase == "authenticated":
            dropped = self._off_hook_note(world, "dropped")
            action = self._action(world, "ChangeAgentStateEvent", {"state": "Available"})
            return [*dropped, *action, *self._off_hook_note(world, "offering", timeout=30)]
        if phase == "disabled":
            action = self._action(world, "SetOffHookConnectionEvent", {"enabled": True})
            enabled = self._off_hook_note(world, "enabled")
            return [*action, *enabled, *self._off_hook_note(world, "offering", timeout=30)]
        if phase == "answered":
            authenticated = self._off_hook_note(world, "authenticated", media_resource_id=f"media-{world.ids.uuid()}")
            return [*authenticated, *self._off_hook_note(world, "dropped"), *self._off_hook_note(world, "status")]
        if phase == "offering":
            answered = self._off_hook_note(world, "answered")
            return [*answered, *self._off_hook_note(world, "authenticated",
                                                    media_resource_id=f"media-{world.ids.uuid()}"),
                    *self._off_hook_note(world, "status")]
        # unknown or enabled: the agent asks to become Available, the CCEB offers the persistent leg.
        if rng.random() < 0.15:
            offering = self._off_hook_note(world, "offering", timeout=30)
            if rng.random() < 0.5:
                reject = self._action(world, "RejectOffHookEvent", {})
                return [*offering, *reject, *self._off_hook_note(world, "rejected")]
            cancelled = self._action(world, "OffHookCancelledEvent", {})
            return [*offering, *cancelled, *self._off_hook_note(world, "dropped")]
        offer, offer_ack = self._off_hook_note(world, "offering", timeout=30)
        answer, answer_ack = self._off_hook_note(world, "answered")
        auth, auth_ack = self._off_hook_note(world, "authenticated", media_resource_id=f"media-{world.ids.uuid()}")
        if rng.random() < 0.5:
            # The CCEB runs ahead of the client's acks.
            return [offer, offer_ack, answer, auth, answer_ack, auth_ack]
        return [offer, offer_ack, answer, answer_ack, auth, auth_ack]

    def closing(self, world: _World) -> list[_Item]:
        if self.close_mode == 1:  # the capture logged only the client's close frame
            return [(_CLIENT, _CLOSE, {"code": 1001, "reason": "going away"})]
        if world.rng.random() < 0.8:
            return [(_CLIENT, _CLOSE, {"code": 1000, "reason": "logout"}),
                    (_SERVER, _CLOSE, {"code": 1000, "reason": "logout"})]
        return [(_SERVER, _CLOSE, {"code": 1001, "reason": "going away"}),
                (_CLIENT, _CLOSE, {"code": 1001, "reason": "going away"})]


_CLASSES: dict[str, type[_Connection]] = {
    "bridge": _BridgeConnection, "processor": _ProcessorConnection, "cceb": _CcebConnection,
}


# ---------------------------------------------------------------------------------------------------------
# Planning: which connection has which protocol, length and close


def _weights(protocols: Mapping[str, float] | Iterable[str] | None) -> dict[str, float]:
    if protocols is None:
        return dict.fromkeys(PROTOCOLS, 1.0)
    weights = dict(protocols) if isinstance(protocols, Mapping) else dict.fromkeys(protocols, 1.0)
    for name, weight in weights.items():
        if name not in PROTOCOLS:
            raise ValueError(f"unknown protocol {name!r}: choose among {', '.join(PROTOCOLS)}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"protocol weight must be a number >= 0, not {weight!r}")
    weights = {name: float(weight) for name, weight in weights.items() if weight > 0}
    if not weights:
        raise ValueError("give at least one protocol a positive weight")
    return weights


def _split(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """``total`` split in proportion to ``weights`` (largest remainders)."""
    whole = sum(weights.values())
    shares = {name: total * weight / whole for name, weight in weights.items()}
    counts = {name: int(share) for name, share in shares.items()}
    missing = total - sum(counts.values())
    for name in sorted(shares, key=lambda n: (counts[n] - shares[n], PROTOCOLS.index(n)))[:missing]:
        counts[name] += 1
    return counts


def _plan(
    rng: Random, total: int, connections: int, close_fraction: float, weights: Mapping[str, float]
) -> tuple[list[str], list[int], list[int]]:
    """Per connection: protocol, length (summing to ``total``) and close mode (0, 1: client only, 2: both)."""
    protocols = [name for name, count in _split(connections, weights).items() for _ in range(count)]
    rng.shuffle(protocols)
    closes = [2] * round(close_fraction * connections) + [0] * (connections - round(close_fraction * connections))
    rng.shuffle(closes)
    minimum = [_CLASSES[p].MIN[1 if c else 0] for p, c in zip(protocols, closes, strict=True)]
    extra = total - sum(minimum)
    if extra < 0:
        raise ValueError(f"{connections} connections need at least {sum(minimum)} records, not {total}")
    # Lengths spread log-normally around the mean (integer shares: they never sum over ``total``).
    spread = [1 + int(rng.lognormvariate(0.0, 0.8) * 1_000_000) for _ in range(connections)]
    whole = sum(spread)
    lengths = [m + extra * w // whole for m, w in zip(minimum, spread, strict=True)]
    for i in rng.sample(range(connections), total - sum(lengths)):
        lengths[i] += 1
    # A CCEB conversation is pairs (message, answer) and both closes: its length is even.
    odd = [i for i, p in enumerate(protocols) if p == "cceb" and lengths[i] % 2]
    while len(odd) >= 2:
        lengths[odd.pop()] -= 1  # odd and at least its (even) minimum: one over it
        lengths[odd.pop()] += 1
    if odd:
        (i,) = odd
        others = [j for j, p in enumerate(protocols) if p != "cceb"]
        if others:
            lengths[i] -= 1
            lengths[_choice(rng, others)] += 1
        else:
            closes[i] = 1  # no other protocol takes the odd record: only the client's close is logged
    return protocols, lengths, closes


# ---------------------------------------------------------------------------------------------------------
# The records


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _check(
    records: int, connections: int, concurrency: int | None, close_fraction: float, step: float, style: str,
    start: float,
) -> None:
    for name, value in (("records", records), ("connections", connections)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, not {value!r}")
    if connections > records:
        raise ValueError(f"{connections} connections cannot fit in {records} records")
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                    or concurrency < 1):
        raise ValueError(f"concurrency must be None or an int >= 1, not {concurrency!r}")
    if not 0.0 <= close_fraction <= 1.0:
        raise ValueError(f"close_fraction must be between 0 and 1, not {close_fraction!r}")
    if not 0.0 < step <= MAX_STEP:
        raise ValueError(f"step must be > 0 and <= {MAX_STEP} s (answers come within 30 s), not {step!r}")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if not math.isfinite(start):
        raise ValueError(f"start must be a finite number of epoch seconds, not {start!r}")


def records(
    *,
    records: int = 10_000,
    connections: int = 100,
    concurrency: int | None = None,
    close_fraction: float = 0.5,
    protocols: Mapping[str, float] | Iterable[str] | None = None,
    seed: int = 0,
    start: float = DEFAULT_START,
    step: float = 0.01,
    style: str = "compact",
) -> Iterator[dict[str, Any]]:
    """The capture's records as dicts, in capture order (exactly ``records`` of them).

    ``connections`` distinct connections share the records (mean length ``records / connections``);
    ``concurrency`` of them are open at once (``None``: all of them, for the whole capture); a connection that
    ends makes room for the next.  ``close_fraction`` of the connections log their closes from both sides.
    ``protocols`` weighs the protocols (a mapping name -> weight, or names; default: the three alike).
    Record ``i`` is at ``start + i * step`` seconds (plus jitter under ``step``, in milliseconds); ``style``
    ``iso`` writes them as RFC 3339 strings.  The same arguments give the same records.  The dicts share
    sub-objects: treat them as read-only.
    """
    _check(records, connections, concurrency, close_fraction, step, style, start)
    weights = _weights(protocols)
    rng = Random(seed)
    protocol_of, lengths, closes = _plan(rng, records, connections, close_fraction, weights)
    return _generate(rng, protocol_of, lengths, closes, concurrency, start, step, style == "iso")


def _generate(
    rng: Random, protocol_of: list[str], lengths: list[int], closes: list[int], concurrency: int | None,
    start: float, step: float, iso: bool,
) -> Iterator[dict[str, Any]]:
    total = sum(lengths)
    world = _World(rng, _Ids(rng))
    count = len(lengths)
    agents = max(1, sum(1 for p in protocol_of if p == "cceb") // 3)
    cceb_seen = 0
    width = len(str(count))

    def make(index: int) -> _Connection:
        nonlocal cceb_seen
        protocol, length, close = protocol_of[index], lengths[index], closes[index]
        if protocol == "cceb":
            agent = world.cceb_agent(cceb_seen % agents)
            cceb_seen += 1
            return _CcebConnection(index, f"agent{agent.number:04d}-ws{index:0{width}d}", length, close, agent)
        prefix = "bridge" if protocol == "bridge" else "desk"
        return _CLASSES[protocol](index, f"{prefix}-{index:0{width}d}", length, close, rng)  # type: ignore[call-arg]

    # Which connection's next unit starts next: a heap on virtual time, so that every connection's records
    # spread over its lifetime (all of the capture when every connection is open at once).
    heap: list[tuple[float, int, _Connection]] = []
    pool = count if concurrency is None else min(concurrency, count)
    for index in range(pool):
        conn = make(index)
        conn.pace = total / lengths[index] if concurrency is None else float(pool)
        # All open at once: each opens early (in the first tenth) and spreads its records over the capture.
        conn.due = rng.random() * (min(3.0 * conn.pace, 0.1 * total) if concurrency is None else conn.pace)
        heap.append((conn.due, index, conn))
    heapq.heapify(heap)
    started = pool
    # Units in progress, interleaved record by record; each gets a record at least every other round, so an
    # answer comes within _MAX_ANSWER_DISTANCE * (2 * width + 2) records of its request.
    width_limit = int((_ANSWER_BUDGET / (_MAX_ANSWER_DISTANCE * step) - 2) / 2)
    active_width = max(1, min(_MAX_ACTIVE_UNITS, width_limit))
    active: list[list[Any]] = []  # [connection, unit, position, skipped]
    cursor = 0
    now = 0.0
    random = rng.random
    start_ms, step_ms = round(start * 1000), step * 1000
    emitted = 0
    while emitted < total:
        while len(active) < active_width and heap:
            now, _, conn = heapq.heappop(heap)
            ts = start + emitted * step
            active.append([conn, conn.next_unit(world, ts), 0, False])
        n = len(active)
        if cursor >= n:
            cursor = 0
        slot = active[cursor]
        if n > 1 and not slot[3] and random() < 0.4:
            slot[3] = True  # skipped once: not again before it emits
            cursor = cursor + 1 if cursor + 1 < n else 0
            slot = active[cursor]
        slot[3] = False
        conn, unit, position = slot[0], slot[1], slot[2]
        sender, kind, value = unit[position]
        ts = (start_ms + int((emitted + 0.8 * random()) * step_ms)) / 1000  # == round(..., 3), faster
        yield {"ts": _iso(ts) if iso else ts, "conn": conn.name, "from": sender, "protocol": conn.protocol,
               kind: value}
        emitted += 1
        position += 1
        if position < len(unit):
            slot[2] = position
            cursor += 1
            continue
        del active[cursor]  # the cursor now points at the next unit
        conn.last_ts = ts
        conn.opened = True
        if conn.remaining:
            conn.due = max(conn.due, now) + len(unit) * conn.pace * (0.5 + random())
            heapq.heappush(heap, (conn.due, conn.index, conn))
        elif started < count:  # it ended: the next connection takes its place
            new = make(started)
            new.pace = float(pool)
            new.due = now + random() * new.pace
            heapq.heappush(heap, (new.due, started, new))
            started += 1


# ---------------------------------------------------------------------------------------------------------
# Writing


def _encoder(style: str) -> Any:
    if style == "spaced":
        dumps = json.dumps
        return lambda record: (dumps(record) + "\n").encode("utf-8")
    try:
        import orjson  # the same text as json.dumps(separators=(",", ":"), ensure_ascii=False), faster
    except ImportError:
        encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        return lambda record: (encode(record) + "\n").encode("utf-8")
    return lambda record, dumps=orjson.dumps, flag=orjson.OPT_APPEND_NEWLINE: dumps(record, option=flag)


def write(path: str | Path, **params: Any) -> dict[str, Any]:
    """Write a capture (parameters as :func:`records`) to ``path`` (gzip when it ends in ``.gz``); its stats.

    The stats: ``records``, ``connections``, ``closed_connections`` (logging both closes), per protocol
    ``records_by_protocol`` and ``connections_by_protocol``, ``bytes`` (of JSON Lines) and ``file_bytes``
    (on disk).
    """
    path = Path(path)
    style = params.get("style", "compact")
    encode = _encoder(style)
    by_protocol = dict.fromkeys(PROTOCOLS, 0)
    conns: dict[str, str] = {}
    closed: set[str] = set()
    size = 0
    count = 0
    raw = path.open("wb")
    out: Any = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) \
        if path.suffix == ".gz" else raw
    try:
        buffer: list[bytes] = []
        for record in records(**params):
            line = encode(record)
            buffer.append(line)
            size += len(line)
            count += 1
            protocol = record["protocol"]
            by_protocol[protocol] += 1
            conn = record["conn"]
            if conn not in conns:
                conns[conn] = protocol
            if "close" in record and record["from"] == _SERVER:
                closed.add(conn)
            if len(buffer) >= 8192:
                out.write(b"".join(buffer))
                buffer.clear()
        out.write(b"".join(buffer))
    finally:
        if out is not raw:
            out.close()
        raw.close()
    connections_by_protocol = dict.fromkeys(PROTOCOLS, 0)
    for protocol in conns.values():
        connections_by_protocol[protocol] += 1
    return {
        "path": str(path),
        "records": count,
        "connections": len(conns),
        "closed_connections": len(closed),
        "records_by_protocol": by_protocol,
        "connections_by_protocol": connections_by_protocol,
        "bytes": size,
        "file_bytes": path.stat().st_size,
    }
