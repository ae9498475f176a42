"""Hypothesis strategies for whole conversations: walks of each protocol's transition tables.

A conversation is a sequence of :class:`Step` (who sent which message, or who
closed a CCEB WebSocket, and when) that the protocol's connection objects of
both roles accept, and that ``ccproto validate`` finds no error in.  It is
valid by construction: at each step the walker lists the table entries the
current state enables (and, for answers, only those it can build now: a
response needs an outstanding request, an ack something in flight, ...),
draws one, draws the message's fields from :mod:`ccproto.testing.strategies`
and then fixes what correlates it with earlier messages.  Nothing is filtered
or rejected, and every choice is an integer draw, so examples shrink well
(shorter conversations, earlier table entries, smaller time steps).

Each accepted step is also fed to an observer connection (``sticky_errors``):
if it refuses a step, the walker has a bug, and the error propagates.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from ccproto.bridge import codec as bridge_codec
from ccproto.bridge import states as bridge_states
from ccproto.bridge.channel import ControlChannel, PendingRequest
from ccproto.bridge.models import ALL_MESSAGE_CLASSES as BRIDGE_CLASSES
from ccproto.bridge.models import FailureResponse as BridgeFailure
from ccproto.bridge.models import Name, RequestName, ServerStatus, ServerStatusChanged
from ccproto.bridge.models import Request as BridgeRequest
from ccproto.bridge.models import Response as BridgeResponse
from ccproto.cceb import codec as cceb_codec
from ccproto.cceb import states as cceb_states
from ccproto.cceb.connection import CcebConnection
from ccproto.cceb.models import REGISTRY as CCEB_REGISTRY
from ccproto.cceb.models import (
    Ack,
    Action,
    CcebMessage,
    Hello,
    HelloReply,
    OffHook,
    OffHookState,
    PhoneValidation,
    UnknownNotification,
)
from ccproto.cceb.models import Notification as CcebNotification
from ccproto.core.jsonio import JsonValue
from ccproto.core.limits import DEFAULT_LIMITS
from ccproto.core.model import Model, model_spec
from ccproto.core.roles import Role
from ccproto.processor import codec as processor_codec
from ccproto.processor import states as processor_states
from ccproto.processor.models import (
    REGISTRY,
    TEAM_STATUS_BEGIN,
    TEAM_STATUS_END,
    FailureResponse,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    SessionResource,
    TeamStatusBeginRequest,
    TeamStatusEndRequest,
    TeamStatusEvent,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
)
from ccproto.processor.models import Request as ProcessorRequest
from ccproto.processor.models import Response as ProcessorResponse
from ccproto.processor.session import PendingCommand, ProcessorSession
from ccproto.testing.strategies import EXTRA_PREFIX, Numbers, _extras, _field_strategy, _obey_rules, text

__all__ = [
    "PROTOCOLS",
    "Conversation",
    "Step",
    "Transition",
    "bridge_conversations",
    "cceb_conversations",
    "conversations",
    "processor_conversations",
]

#: The protocols :func:`conversations` walks (the ``protocol`` of a capture record).
PROTOCOLS = ("bridge", "processor", "cceb")

#: A table entry a step exercised: ``(table name, key)``.  Table names are those of the ``states`` modules
#: (``"PHASE_TRANSITIONS"``, ``"EXCHANGE_TRANSITIONS"``, ``"REPORT_TRANSITIONS"``, ``"CONNECTION_TRANSITIONS"``,
#: ``"PHONE_VALIDATION_TRANSITIONS"``, ``"OFF_HOOK_TRANSITIONS"``) with the table's own key, plus
#: ``"SERVER_STATUS"`` with ``(last reported status or None, reported status)`` for every bridge status report.
Transition = tuple[str, tuple[Any, ...]]

#: Largest pause between two steps, in milliseconds (less when something outstanding would expire).
MAX_PAUSE_MS = 2000
#: Largest start time drawn (epoch seconds): captures carry real times.
MAX_START = 2_000_000_000

_T = TypeVar("_T")
_M = TypeVar("_M", bound=Model)


@attrs.frozen(kw_only=True)
class Step:
    """One thing that crossed a connection: ``sender``'s ``message``, or ``sender`` closing the WebSocket.

    ``message`` is ``None`` for a close, and ``close`` is then ``(code, reason)``.
    ``now`` is in seconds and never decreases along a conversation.  The repr
    is the model's, which never shows secrets.
    """

    sender: Role
    message: Model | None
    close: tuple[int | None, str] | None = None
    now: float


def _encoder(protocol: str) -> Callable[[Any], dict[str, Any]]:
    encoders: dict[str, Callable[[Any], dict[str, Any]]] = {
        "bridge": bridge_codec.encode_value,
        "processor": processor_codec.encode_value,
        "cceb": cceb_codec.encode_value,
    }
    return encoders[protocol]


@attrs.frozen(kw_only=True)
class Conversation:
    """A valid conversation of one protocol, as drawn by the strategies of this module.

    ``transitions`` lists, step by step, the table entries each accepted step
    exercised (see :data:`Transition`).
    """

    protocol: str
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...] = attrs.field(default=(), repr=False)

    def records(self, conn: str = "conversation", *, opened: bool = True) -> list[dict[str, JsonValue]]:
        """The conversation as capture records (``ccproto validate``'s JSON Lines records), one per step.

        With ``opened`` an open record comes first (at the first step's time): the conversation is the whole
        connection, so ``ccproto validate`` never reads it as joined mid-conversation.  The records hold the
        messages as they cross the wire, secrets included: they are test data.
        """
        encode = _encoder(self.protocol)
        found: list[dict[str, JsonValue]] = []
        if opened:
            start = self.steps[0].now if self.steps else 0.0
            found.append({"ts": start, "conn": conn, "from": "client", "protocol": self.protocol, "open": {}})
        for step in self.steps:
            record: dict[str, JsonValue] = {
                "ts": step.now, "conn": conn, "from": step.sender.value, "protocol": self.protocol,
            }
            if step.message is not None:
                record["message"] = encode(step.message)
            else:
                code, reason = step.close if step.close is not None else (None, "")
                record["close"] = {"reason": reason} if code is None else {"code": code, "reason": reason}
            found.append(record)
        return found

    def jsonl(self, conn: str = "conversation", *, opened: bool = True) -> str:
        """The records as JSON Lines text (ASCII-only JSON, so no character can split a line)."""
        return "".join(
            json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False) + "\n"
            for record in self.records(conn, opened=opened)
        )


# -- what every walk shares ----------------------------------------------------------------

#: A possible next step: given the draw function and the time, build it, have it observed and return it.
Move = Callable[[st.DrawFn, float], Step]
#: Weight of the moves that end a conversation (dispose, closes) against the others: conversations run longer.
_RARE, _COMMON = 1, 8

#: Fields holding an id drawn from a pattern: drawn as UUIDs (in either case) instead, which is much faster than
#: generating from the regular expression and yields the same values (8-4-4-4-12 hexadecimal digits).
_ID_FIELDS = frozenset({"uuid", "request_id"})
_IDS = st.tuples(st.uuids(), st.booleans()).map(lambda pair: str(pair[0]).upper() if pair[1] else str(pair[0]))
_PARTS: dict[tuple[type[Model], frozenset[str]], st.SearchStrategy[dict[str, Any]]] = {}


def _parts(cls: type[Model], fixed: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    """The keyword arguments of ``cls`` but ``fixed`` ones (and ``extra``), each from the field's own strategy."""
    key = (cls, fixed)
    if key not in _PARTS:
        fields = {
            field.attr: _IDS if field.attr in _ID_FIELDS else _field_strategy(field, Numbers.INTEROPERABLE)
            for field in model_spec(cls).fields
            if field.attr not in fixed
        }
        _PARTS[key] = st.fixed_dictionaries(fields)
    return _PARTS[key]


_EXTRAS: dict[type[Model], st.SearchStrategy[dict[str, Any]]] = {}


def _extra_members(cls: type[Model]) -> st.SearchStrategy[dict[str, Any]]:
    # Built once per class: building (and validating) a strategy costs more than drawing from it.
    if cls not in _EXTRAS:
        _EXTRAS[cls] = _extras(cls, Numbers.INTEROPERABLE)
    return _EXTRAS[cls]


@functools.cache
def _below(total: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=total - 1)


def _draw_model(draw: st.DrawFn, cls: type[_M], **fixed: Any) -> _M:
    """An instance of ``cls`` with ``fixed`` fields as given and the others drawn (unknown ``x-`` members too).

    The fields that correlate a message with earlier ones are given rather than drawn and replaced: drawing
    values only to throw them away would cost time and make shrinking wander.  One message in four carries
    unknown members (they cost the most to draw; shrinking drops them).
    """
    kwargs = draw(_parts(cls, frozenset(fixed)))
    extra = draw(_extra_members(cls)) if _choose(draw, [(3, False), (1, True)]) else {}
    instance = cls(**kwargs, **fixed, extra=extra)
    if model_spec(cls).rules:
        instance = _obey_rules(instance, draw(st.data()))  # type: ignore[assignment]
    return instance


def _choose(draw: st.DrawFn, options: Sequence[tuple[int, _T]]) -> _T:
    """One of ``options`` (weighted); an integer draw, so shrinking moves toward the first option."""
    assert options
    total = sum(weight for weight, _ in options)
    pick = draw(_below(total))
    for weight, option in options:
        if pick < weight:
            return option
        pick -= weight
    raise AssertionError("unreachable")  # pragma: no cover


def _pick(draw: st.DrawFn, options: Sequence[_T]) -> _T:
    """One of ``options``, equally likely (shrinks toward the first)."""
    return _choose(draw, [(1, option) for option in options])


def _fresh_id(drawn: str, taken: Callable[[str], bool], serial: int) -> str:
    """``drawn`` unless it is taken (hypothesis likes repeating values); then a GUID of our own that is not."""
    candidate, n = drawn, serial
    while taken(candidate):
        candidate = f"00000000-0000-4000-8000-{n:012x}"
        n += 1
    return candidate


class _Walker:
    """The state of one walk: the observer, the transitions exercised, a counter for fresh ids."""

    def __init__(self) -> None:
        self.transitions: list[Transition] = []
        self.serial = 0

    def moves(self) -> list[tuple[int, Move]]:
        """The steps enabled now, weighted (empty: the conversation is over)."""
        raise NotImplementedError

    def deadline(self) -> float | None:
        """When the oldest outstanding item would expire (time must stay before it)."""
        raise NotImplementedError

    def next_serial(self) -> int:
        """A number never used before in this walk (for ids of our own)."""
        self.serial += 1
        return self.serial

    def weigh(self, table: str, key: tuple[Any, ...], weight: int) -> int:
        """``weight``, tripled while this walk has not exercised ``table``'s ``key`` (walks spread wider)."""
        return weight if (table, key) in self.transitions else 3 * weight

    def novel(self, draw: st.DrawFn, table: str, keys: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        """One of ``table``'s ``keys``, those this walk has not exercised yet first and three times as likely.

        A function of the walk so far, so still valid by construction; it spreads one walk over more of a
        table, so that fewer walks exercise all of it.
        """
        done = {key for name, key in self.transitions if name == table}
        novel = [(3, key) for key in keys if key not in done]
        return _choose(draw, [*novel, *((1, key) for key in keys if key in done)])


@attrs.define
class _Clock:
    """Time along a walk, in whole milliseconds after a drawn start (exact: no float sums)."""

    start: int
    elapsed_ms: int = 0

    def pause(self, draw: st.DrawFn, deadline: float | None) -> float:
        """Advance by a drawn pause that stays a millisecond short of ``deadline`` (an expiry makes answers errors)."""
        longest = MAX_PAUSE_MS
        if deadline is not None:
            longest = min(longest, int((deadline - self.start) * 1000) - 1 - self.elapsed_ms)
        longest = max(0, min(longest, int(DEFAULT_LIMITS.request_timeout * 1000) - 1))
        self.elapsed_ms += draw(_below(longest + 1))
        return self.start + self.elapsed_ms / 1000


@st.composite
def _step(draw: st.DrawFn, walker: _Walker, clock: _Clock, go_on: Sequence[tuple[int, bool]]) -> Step | None:
    # One step is one nested draw, so its choices form one span: the shrinker deletes whole steps at once.
    moves = walker.moves()
    if not moves or not _choose(draw, go_on):
        return None
    move = _choose(draw, moves)
    return move(draw, clock.pause(draw, walker.deadline()))


def _walk(draw: st.DrawFn, protocol: str, walker: _Walker, max_steps: int) -> Conversation:
    clock = _Clock(start=draw(st.integers(min_value=0, max_value=MAX_START)))
    # Whether to go on is drawn before each step (as st.lists does), not a length up front: the shrinker can then
    # delete a step by deleting its choices alone.  Going on is likelier, so walks average about max_steps / 2.
    # Stopping sits between two halves of going on: hypothesis draws the first and last options more often than
    # their weights say, and either at an edge made most walks a few steps long.
    weight = max(2, max_steps // 2 - 1)
    go_on = [(weight // 2, True), (1, False), (weight - weight // 2, True)]
    steps: list[Step] = []
    for _ in range(max_steps):
        step = draw(_step(walker, clock, go_on))
        if step is None:
            break
        steps.append(step)
    return Conversation(protocol=protocol, steps=tuple(steps), transitions=tuple(walker.transitions))


# -- the bridge's control destination ------------------------------------------------------

_BRIDGE_REQUESTS: dict[bridge_states.Input, type[BridgeRequest]] = {
    bridge_states.Input(cls.NAME.value): cls
    for cls in BRIDGE_CLASSES
    if issubclass(cls, BridgeRequest) and cls.NAME is not None
}
_BRIDGE_RESPONSES: dict[Name, type[BridgeResponse]] = {
    cls.NAME: cls.RESPONSE for cls in _BRIDGE_REQUESTS.values() if cls.NAME is not None
}
_PHASES = "PHASE_TRANSITIONS"
_TARGETS = _field_strategy(
    next(f for f in model_spec(BridgeRequest).fields if f.attr == "target"), Numbers.INTEROPERABLE
)


class _BridgeWalker(_Walker):
    def __init__(self) -> None:
        super().__init__()
        self.observer = ControlChannel(Role.SERVER)
        #: The targets requests were sent to so far (a channel's requests usually name one processor).
        self.targets: list[str] = []

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: Any, sender: Role, now: float) -> Step:
        observer = self.observer
        self.transitions.append(("PHASE_TRANSITIONS", (observer.phase, sender, bridge_states.input_of(message))))
        if isinstance(message, ServerStatusChanged):
            self.transitions.append(("SERVER_STATUS", (observer.server_status, message.status)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def moves(self) -> list[tuple[int, Move]]:
        phase = self.observer.phase
        pending = self.observer.pending_requests()
        answerable = [p for p in pending if p.name is not Name.DISPOSE]
        disposing = [p for p in pending if p.name is Name.DISPOSE]
        found: list[tuple[int, Move]] = []
        for key in bridge_states.PHASE_TRANSITIONS:
            table_phase, sender, input_ = key
            if table_phase is not phase:
                continue
            if sender is Role.SERVER:
                weight = self.weigh(_PHASES, key, _COMMON)
                if input_ is bridge_states.Input.DISPOSE_REQUEST:
                    # Rare, as it ends the walk; less so while initializing, which the status report soon ends.
                    weight = _RARE if phase is bridge_states.Phase.ACTIVE else _COMMON // 2
                found.append((weight, self._request(_BRIDGE_REQUESTS[input_])))
            elif input_ is bridge_states.Input.RESPONSE and answerable:
                found.append((self.weigh(_PHASES, key, _COMMON), self._response(answerable)))
            elif input_ is bridge_states.Input.DISPOSE_RESPONSE and disposing:
                found.append((_COMMON, self._response(disposing)))
            elif input_ is bridge_states.Input.STATUS_EVENT:
                # The status table has entries of its own: weigh more while one reachable now is new.
                last = self.observer.server_status
                fresh = any(("SERVER_STATUS", (last, new)) not in self.transitions for new in self._allowed())
                found.append((self.weigh(_PHASES, key, 2 * _COMMON) * (3 if fresh else 1), self._status))
        return found

    def _request(self, cls: type[BridgeRequest]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            target = _pick(draw, [*self.targets, None]) if self.targets else None
            if target is None:
                target = draw(_TARGETS)
                self.targets.append(target)
            request = _draw_model(draw, cls, target=target)
            outstanding = {p.request_id for p in self.observer.pending_requests()}
            request_id = _fresh_id(request.request_id, outstanding.__contains__, self.next_serial())
            return self.emit(attrs.evolve(request, request_id=request_id), Role.SERVER, now)

        return move

    def _response(self, candidates: Sequence[PendingRequest]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            answered = _pick(draw, candidates)
            # createsession may succeed only while the last reported status is in-service (docs/quirks.md B11).
            can_succeed = answered.name is not Name.CREATE_SESSION or (
                self.observer.server_status is bridge_states.SESSION_STATUS
            )
            success = can_succeed and _choose(draw, [(3, True), (1, False)])
            response: BridgeResponse
            if success:
                response = _draw_model(draw, _BRIDGE_RESPONSES[answered.name], target=answered.target,
                                       request_id=answered.request_id)
            else:
                response = _draw_model(draw, BridgeFailure, target=answered.target, request_id=answered.request_id,
                                       name=RequestName(answered.name.value))
            return self.emit(response, Role.CLIENT, now)

        return move

    def _allowed(self) -> list[ServerStatus]:
        last = self.observer.server_status
        if last is None:
            return list(ServerStatus)
        # The changes first, then re-announcing the same status (allowed, but less interesting).
        return [s for s in ServerStatus if s in bridge_states.STATUS_TRANSITIONS[last]] + [last]

    def _status(self, draw: st.DrawFn, now: float) -> Step:
        last = self.observer.server_status
        _, status = self.novel(draw, "SERVER_STATUS", [(last, s) for s in self._allowed()])
        return self.emit(_draw_model(draw, ServerStatusChanged, status=status), Role.CLIENT, now)


@st.composite
def _bridge(draw: st.DrawFn, max_steps: int) -> Conversation:
    return _walk(draw, "bridge", _BridgeWalker(), max_steps)


def bridge_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid control-destination conversations of at most ``max_steps`` steps.

    Queries and requests from the bridge, success and failure responses (in any
    order, createsession succeeding only while in service), server-status
    reports along ``STATUS_TRANSITIONS``, dispose and its answer (which ends the
    conversation); messages carry unknown ``x-`` members now and then.
    """
    return _bridge(max_steps)


# -- the Interaction Processor -------------------------------------------------------------

_Exchange = processor_states.Exchange
_Report, _RInput = processor_states.Report, processor_states.ReportInput
_PInput = processor_states.Input
_REPORTS = "REPORT_TRANSITIONS"
#: Commands and event names no registry knows (the prefix keeps them apart from registered ones).
_UNKNOWN_NAMES = text(max_size=12).map(lambda name: EXTRA_PREFIX + name)


class _ProcessorWalker(_Walker):
    def __init__(self) -> None:
        super().__init__()
        self.observer = ProcessorSession(Role.SERVER)
        #: Agent ids team-status requests named so far (begin/end often name one again).
        self.agents: list[str] = []

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: ProcessorMessage, sender: Role, now: float) -> Step:
        observer = self.observer
        input_ = processor_states.input_of(message)
        command = message.command_name if isinstance(message, (ProcessorRequest, ProcessorResponse)) else None
        exchange = observer.exchange_state(command) if command is not None else _Exchange.IDLE
        self.transitions.append(("EXCHANGE_TRANSITIONS", (exchange, sender, input_)))
        queue = observer.pending_for(command) if command is not None and input_ is not _PInput.REQUEST else ()
        report = processor_states.report_input_of(message, queue[0].request if queue else None)
        if report is not None:
            report_input, agent_id = report
            self.transitions.append(("REPORT_TRANSITIONS", (observer.report_state(agent_id), report_input)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def heads(self) -> dict[str, _Exchange]:
        """Commands with outstanding requests (oldest first) -> what their oldest request allows."""
        commands = dict.fromkeys(p.command for p in self.observer.pending_requests())
        return {command: self.observer.exchange_state(command) for command in commands}

    def moves(self) -> list[tuple[int, Move]]:
        heads = self.heads()
        found: list[tuple[int, Move]] = []
        for key in processor_states.EXCHANGE_TRANSITIONS:
            exchange, _sender, input_ = key
            commands = [command for command, head in heads.items() if head is exchange]
            weight = self.weigh("EXCHANGE_TRANSITIONS", key, _COMMON)
            if input_ is _PInput.EVENT:
                found.append((weight, self._event))
            elif input_ is _PInput.REQUEST and exchange is _Exchange.IDLE:
                found.append((weight, self._new_request))  # an unknown command is always idle
            elif input_ is _PInput.REQUEST and commands:
                found.append((weight, self._queued_request(commands)))
            elif commands:
                found.append((weight, self._answer(commands, input_)))
        return found

    # -- requests --------------------------------------------------------------------------

    def _new_request(self, draw: st.DrawFn, now: float) -> Step:
        heads = self.heads()
        idle = [c for c in REGISTRY.commands() if c not in heads and REGISTRY.request_class(c) is not None]
        # The report commands weigh more: the report table needs begin, its success, end and its success in turn.
        running = bool(self.observer.active_reports)
        weights = {
            TEAM_STATUS_BEGIN: self.weigh(_REPORTS, (_Report.ACTIVE, _RInput.BEGIN_SUCCEEDED), 3) if running else 3,
            TEAM_STATUS_END: self.weigh(_REPORTS, (_Report.ACTIVE, _RInput.END_SUCCEEDED), 3) if running else 3,
        }
        command = _choose(draw, [*((weights.get(c, 1), c) for c in idle), (1, None)])
        if command is None:
            command = draw(_UNKNOWN_NAMES)
        return self.emit(self._request_of(draw, command), Role.CLIENT, now)

    def _queued_request(self, commands: Sequence[str]) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            return self.emit(self._request_of(draw, _pick(draw, commands)), Role.CLIENT, now)

        return move

    def _request_of(self, draw: st.DrawFn, command: str) -> ProcessorRequest:
        cls = REGISTRY.request_class(command)
        if cls is None:
            return _draw_model(draw, UnknownRequest, command=command)
        confirmation = self.observer.confirmation
        if cls is PrepareSessionRequest and confirmation is not None and _choose(draw, [(1, False), (1, True)]):
            # The user accepted the prompt: the client repeats the confirmed request with override (P10).
            return confirmation.original.with_override()
        if cls in (TeamStatusBeginRequest, TeamStatusEndRequest):
            # Begin and end often name an agent seen before: a running report, one that ended.
            # Mostly an agent whose report runs (a repeated begin, an end that ends something), first.
            running = list(self.observer.active_reports)
            agent_id = _choose(draw, [*((3, a) for a in running), *((1, a) for a in self.agents if a not in running),
                                      (1, None)])
            if agent_id is None:
                request = _draw_model(draw, cls)
                self.agents.append(request.agent_id)  # type: ignore[attr-defined]
                return request
            return _draw_model(draw, cls, agent_id=agent_id)
        return _draw_model(draw, cls)

    # -- answers ---------------------------------------------------------------------------

    def _answer(self, commands: Sequence[str], input_: processor_states.Input) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            command = _pick(draw, commands)
            oldest = self.observer.pending_for(command)[0]
            answer: ProcessorMessage
            if input_ is _PInput.SUCCESS:
                answer = self._success(draw, command, oldest)
            elif input_ is _PInput.CONFIRM:
                answer = self._confirm(draw, command, oldest)
            else:
                # A failure repeats the request it answers, exactly, in ``original`` (P5).
                answer = _draw_model(draw, FailureResponse, command=command, original=dict(oldest.value))
            return self.emit(answer, Role.SERVER, now)

        return move

    def _success(self, draw: st.DrawFn, command: str, oldest: PendingCommand) -> ProcessorMessage:
        cls = REGISTRY.success_class(command)
        if cls is None:
            return _draw_model(draw, UnknownSuccess, command=command)
        if cls is PrepareSessionSuccess:
            # resource.data repeats the request's data exactly (P6).
            assert isinstance(oldest.request, PrepareSessionRequest)
            resource = _draw_model(draw, SessionResource, data=oldest.request.data)
            return _draw_model(draw, PrepareSessionSuccess, resource=resource)
        return _draw_model(draw, cls)

    def _confirm(self, draw: st.DrawFn, command: str, oldest: PendingCommand) -> ProcessorMessage:
        cls = REGISTRY.confirm_class(command)
        if cls is None:
            # An unknown command's confirm keeps ``original`` among its unknown members.
            drawn = _draw_model(draw, UnknownConfirm, command=command)
            return attrs.evolve(drawn, extra={**drawn.extra, "/original": dict(oldest.value)})
        if cls is not PrepareSessionConfirm:
            raise NotImplementedError(f"no walk knows how {cls.__name__} repeats its request")
        assert isinstance(oldest.request, PrepareSessionRequest)
        return _draw_model(draw, PrepareSessionConfirm, original=oldest.request)

    # -- events ----------------------------------------------------------------------------

    def _event(self, draw: st.DrawFn, now: float) -> Step:
        classes = [cls for cls in map(REGISTRY.event_class, REGISTRY.events()) if cls is not None]
        team_status = [cls for cls in classes if issubclass(cls, TeamStatusEvent)]
        others = [cls for cls in classes if not issubclass(cls, TeamStatusEvent)]
        running = list(self.observer.active_reports)
        kinds: list[tuple[int, type[ProcessorMessage]]] = [(3, cls) for cls in team_status] if running else []
        kinds += [(1, cls) for cls in others] + [(1, UnknownEvent)]
        cls = _choose(draw, kinds)
        event: ProcessorMessage
        if cls is UnknownEvent:
            event = _draw_model(draw, UnknownEvent, name=draw(_UNKNOWN_NAMES))
        elif issubclass(cls, TeamStatusEvent):
            # Team-status events flow only for an agent whose report runs (P11).
            event = _draw_model(draw, cls, agent_id=_pick(draw, running))
        else:
            event = _draw_model(draw, cls)
        return self.emit(event, Role.SERVER, now)


@st.composite
def _processor(draw: st.DrawFn, max_steps: int) -> Conversation:
    return _walk(draw, "processor", _ProcessorWalker(), max_steps)


def processor_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid Interaction Processor conversations of at most ``max_steps`` steps.

    Requests of every registered command and of unknown (``x-``) ones, several
    of one command outstanding at once; success, confirm and failure answers to
    the oldest outstanding request of their command (``original`` and
    ``resource.data`` repeating it; confirm only for ``override: false``; a
    confirmed prepareSession repeated with override); team-status reports begun
    and ended, with their events only while they run; unknown events.
    """
    return _processor(max_steps)


# -- the CCEB WebSocket API ----------------------------------------------------------------

_State = cceb_states.ConnectionState
_CInput = cceb_states.Input

_SHORT_TEXT = text(max_size=20)
_CLOSE_CODES = st.none() | st.sampled_from([1000, 1001, 1008, 1011, 4001]) | st.integers(3000, 4999)


class _CcebWalker(_Walker):
    def __init__(self) -> None:
        super().__init__()
        self.observer = CcebConnection(Role.SERVER)
        self.closed_by: set[Role] = set()

    def deadline(self) -> float | None:
        return self.observer.get_timer()

    def emit(self, message: CcebMessage, sender: Role, now: float) -> Step:
        observer = self.observer
        self.transitions.append(
            ("CONNECTION_TRANSITIONS", (observer.state, sender, cceb_states.input_of(message)))
        )
        if isinstance(message, PhoneValidation):
            self.transitions.append(("PHONE_VALIDATION_TRANSITIONS", (observer.phone_validation, message.state)))
        elif isinstance(message, OffHook):
            self.transitions.append(("OFF_HOOK_TRANSITIONS", (observer.off_hook, message.state)))
        observer.observe(message, sender, now=now)
        return Step(sender=sender, message=message, now=now)

    def moves(self) -> list[tuple[int, Move]]:
        state = self.observer.state
        found: list[tuple[int, Move]] = []
        closes: list[tuple[int, Move]] = []
        for key in cceb_states.CONNECTION_TRANSITIONS:
            table_state, sender, input_ = key
            if table_state is not state:
                continue
            if input_ is _CInput.CLOSE:
                if sender not in self.closed_by:  # each side closes once; both closed: the end
                    closes.append((_RARE, self._close(sender)))
            elif input_ is _CInput.HELLO:
                found.append((2 * _COMMON, self._hello))
            elif input_ is _CInput.HELLO_REPLY:
                found.append((2 * _COMMON, self._hello_reply))
            elif input_ is _CInput.ACTION:
                found.append((_COMMON, self._action))
            elif input_ is _CInput.NOTIFICATION:
                # First and heavier: the phase tables' deeper entries need several notifications in turn, and
                # the first option is the one hypothesis draws most (and shrinks toward).
                found.insert(0, (4 * _COMMON * (3 if self._fresh_phase("OFF_HOOK_TRANSITIONS")
                                                or self._fresh_phase("PHONE_VALIDATION_TRANSITIONS") else 1),
                                 self._notification))
            elif sender is Role.CLIENT and self.observer.unacked_notifications():
                found.append((_COMMON, self._ack(Role.SERVER)))
            elif sender is Role.SERVER and self.observer.unacked_actions():
                found.append((_COMMON, self._ack(Role.CLIENT)))
        # Closes are rare, so that most walks get to the deeper table entries; and never the first or last option,
        # which hypothesis draws more often than their weights say.
        return [*found[:1], *closes, *found[1:]]

    def _fresh_phase(self, table: str) -> bool:
        """Whether a notification could exercise an entry of ``table`` this walk has not exercised yet."""
        if table == "OFF_HOOK_TRANSITIONS":
            phase: Any = self.observer.off_hook
            keys: Iterable[tuple[Any, Any]] = cceb_states.OFF_HOOK_TRANSITIONS
        else:
            phase, keys = self.observer.phone_validation, cceb_states.PHONE_VALIDATION_TRANSITIONS
        return any(key[0] is phase and (table, key) not in self.transitions for key in keys)

    def _close(self, sender: Role) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            close = (draw(_CLOSE_CODES), draw(_SHORT_TEXT))
            self.transitions.append(("CONNECTION_TRANSITIONS", (self.observer.state, sender, _CInput.CLOSE)))
            self.observer.observe_close(sender, code=close[0], reason=close[1], now=now)
            self.closed_by.add(sender)
            return Step(sender=sender, message=None, close=close, now=now)

        return move

    def _hello(self, draw: st.DrawFn, now: float) -> Step:
        return self.emit(_draw_model(draw, Hello), Role.CLIENT, now)

    def _hello_reply(self, draw: st.DrawFn, now: float) -> Step:
        hello = self.observer.hello
        assert hello is not None
        # The key rules (docs/quirks.md C8): resumed only with the hello's own key, a reply repeating the hello's
        # key says resumed, a hello asking for a long-lived session gets a key.
        if hello.session_key is not None and _choose(draw, [(1, True), (1, False)]):
            reply = _draw_model(draw, HelloReply, uuid=hello.uuid, session_key=hello.session_key, resumed=True)
        else:
            reply = _draw_model(draw, HelloReply, uuid=hello.uuid, resumed=_pick(draw, [None, False]))
            key = reply.session_key
            if key is None and hello.asks_long_lived:
                key = draw(_SHORT_TEXT)
            if key is not None and key == hello.session_key:
                key += "-new"
            reply = attrs.evolve(reply, session_key=key)
        return self.emit(reply, Role.SERVER, now)

    def _action(self, draw: st.DrawFn, now: float) -> Step:
        unacked = {item.uuid for item in self.observer.unacked_actions()}
        action = _draw_model(draw, Action, action=_pick(draw, CCEB_REGISTRY.actions()))
        uuid = _fresh_id(action.uuid, unacked.__contains__, self.next_serial())
        return self.emit(attrs.evolve(action, uuid=uuid), Role.CLIENT, now)

    def _notification(self, draw: st.DrawFn, now: float) -> Step:
        notification: CcebNotification
        # The phase tables weigh more: their deeper entries need several notifications in turn.
        kind = _choose(draw, [(3 * (3 if self._fresh_phase("OFF_HOOK_TRANSITIONS") else 1), "off_hook"),
                              (3 * (3 if self._fresh_phase("PHONE_VALIDATION_TRANSITIONS") else 1), "phone_validation"),
                              (1, "open")])
        if kind == "phone_validation":
            phase = self.observer.phone_validation
            keys = [key for key in cceb_states.PHONE_VALIDATION_TRANSITIONS if key[0] is phase]
            _, state = self.novel(draw, "PHONE_VALIDATION_TRANSITIONS", keys)
            notification = _draw_model(draw, PhoneValidation, state=state)  # the rules drop a misplaced timeout
        elif kind == "off_hook":
            hook = self.observer.off_hook
            # Moves along the flow first (hypothesis draws the first options most): a status or a disable
            # changes nothing or goes back to the start.
            hook_keys = sorted((key for key in cceb_states.OFF_HOOK_TRANSITIONS if key[0] is hook),
                               key=lambda key: key[1] in (OffHookState.STATUS, OffHookState.DISABLED))
            _, hook_state = self.novel(draw, "OFF_HOOK_TRANSITIONS", hook_keys)
            notification = _draw_model(draw, OffHook, state=hook_state)
        else:
            types = CCEB_REGISTRY.notification_types()
            classes = [cls for cls in map(CCEB_REGISTRY.notification_class, types)
                       if cls is not None and cls not in (PhoneValidation, OffHook)]
            cls = _pick(draw, [*classes, None])
            if cls is None:
                notification = _draw_model(draw, UnknownNotification, type=draw(_UNKNOWN_NAMES))
            else:
                notification = _draw_model(draw, cls)
        unacked = {item.uuid for item in self.observer.unacked_notifications()}
        uuid = _fresh_id(notification.uuid, unacked.__contains__, self.next_serial())
        return self.emit(attrs.evolve(notification, uuid=uuid), Role.SERVER, now)

    def _ack(self, owner: Role) -> Move:
        def move(draw: st.DrawFn, now: float) -> Step:
            observer = self.observer
            waiting = observer.unacked_notifications() if owner is Role.SERVER else observer.unacked_actions()
            acked = _pick(draw, waiting)
            return self.emit(_draw_model(draw, Ack, uuid=acked.uuid), owner.peer, now)

        return move


@st.composite
def _cceb(draw: st.DrawFn, max_steps: int) -> Conversation:
    return _walk(draw, "cceb", _CcebWalker(), max_steps)


def cceb_conversations(*, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid CCEB WebSocket conversations of at most ``max_steps`` steps.

    hello and its hello_reply (repeating its uuid, keeping the session-key
    rules), actions and notifications (phone_validation and off_hook along
    their tables, other types, unknown ``x-`` types), each acked at most once,
    and closes by either side at any time (the other side's close completes the
    handshake and ends the walk).
    """
    return _cceb(max_steps)


def conversations(protocol: str, *, max_steps: int = 30) -> st.SearchStrategy[Conversation]:
    """Valid conversations of ``protocol`` (``"bridge"``, ``"processor"`` or ``"cceb"``)."""
    factories: Mapping[str, Callable[..., st.SearchStrategy[Conversation]]] = {
        "bridge": bridge_conversations,
        "processor": processor_conversations,
        "cceb": cceb_conversations,
    }
    if protocol not in factories:
        raise ValueError(f"unknown protocol {protocol!r}: one of " + ", ".join(PROTOCOLS))
    return factories[protocol](max_steps=max_steps)
