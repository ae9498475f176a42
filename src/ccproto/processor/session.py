"""``ProcessorSession``: the sans-I/O Interaction Processor connection, message by message.

The transport (usually a WebSocket) delivers whole messages: text in ->
``receive_message`` -> a checked message; a message out -> ``send`` -> the
text to write.  Passive observers (validators, proxies) use ``observe``.

Order rules are looked up in :mod:`ccproto.processor.states`.  This module adds
what the tables cannot hold: the queue of outstanding requests per command
(answers carry no correlation id, so they answer the oldest), the checks that a
response repeats its request (``original``, ``resource.data``), timers, and the
last confirmation.  Time is always passed in (``now``, seconds).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

import attrs

from ccproto.core.connection import ConnectionBase, EarliestDeadline, slot_builder
from ccproto.core.decoding import parse_message
from ccproto.core.errors import (
    LimitExceededError,
    ProtocolError,
    SchemaViolationError,
    UnexpectedMessageError,
    UnknownCorrelationIdError,
)
from ccproto.core.jsonio import JsonValue, check_text_size, first_difference
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import pointer
from ccproto.core.redact import is_secret_key
from ccproto.core.roles import Role
from ccproto.processor import codec, quirks, states
from ccproto.processor.models import (
    PREPARE_SESSION,
    REGISTRY,
    ConfirmResponse,
    Event,
    FailureResponse,
    PrepareSessionConfirm,
    PrepareSessionSuccess,
    ProcessorMessage,
    Registry,
    Request,
    Response,
    TeamStatusBeginRequest,
    Unknown,
)
from ccproto.processor.states import Effect, Exchange, ReportInput, ReportState, SessionState

__all__ = ["NO_OUTSTANDING_REQUEST", "REPORT_NOT_ACTIVE", "PendingCommand", "ProcessorSession"]

#: Error code of a team-status event whose report is not running.
REPORT_NOT_ACTIVE = "report-not-active"
#: Error code of an answer when no request of its command is outstanding.
NO_OUTSTANDING_REQUEST = "no-outstanding-request"
#: The code of an answer that fits a later outstanding request of its command but not the oldest (issue 19).
ANSWER_OUT_OF_ORDER = "answer-out-of-order"

# Enum members used for every message, bound once: reading a member off its Enum class takes
# EnumType.__getattr__'s slow attribute path, several times the cost of a plain class attribute.
_IDLE, _OPEN, _ANSWER = Exchange.IDLE, Effect.OPEN, Effect.ANSWER
_ACTIVE, _INACTIVE = ReportState.ACTIVE, ReportState.INACTIVE

_NOUNS = {
    states.Input.REQUEST: "requests",
    states.Input.SUCCESS: "responses",
    states.Input.CONFIRM: "responses",
    states.Input.FAILURE: "responses",
    states.Input.EVENT: "events",
}


@attrs.frozen(kw_only=True)
class PendingCommand:
    """A request that has not been answered yet."""

    command: str
    #: The request (``None`` when it broke its schema: only a failure can answer it).
    request: Request | None
    #: Who sent it (always the client, ``Role.CLIENT``, in a valid conversation).
    sender: Role
    #: ``now`` when it was sent or received (``None`` if no time was given).
    since: float | None
    #: When ``handle_timer`` expires it (``None``: never).
    deadline: float | None
    #: Whatever the caller attached (a validator attaches the record number).
    tag: Any = attrs.field(default=None, eq=False)
    #: The request's JSON as it crossed the wire: what ``original`` must repeat (holds secrets: never shown).
    value: Mapping[str, JsonValue] = attrs.field(factory=dict, eq=False, repr=False)
    #: The state this request puts its command's exchange in while it is the oldest outstanding one.
    exchange: Exchange = Exchange.AWAITING
    #: Position among all requests of the session (orders ``pending_requests``).
    order: int = attrs.field(default=0, eq=False, repr=False)


#: ``PendingCommand(...)`` with every field given positionally, for the hot path (see ``slot_builder``).
_new_pending = slot_builder(PendingCommand)


def _untimed(message: ProcessorMessage) -> str | None:
    """What would have had a deadline had ``now`` been given: a request (its response is awaited)."""
    return f"the {message.command_name} request" if isinstance(message, Request) else None


class ProcessorSession(ConnectionBase):
    """One Interaction Processor connection, seen from ``our_role``.

    ``ProcessorSession(Role.SERVER)`` is the Interaction Processor,
    ``ProcessorSession(Role.CLIENT)`` its client.  ``registry`` says which
    commands and events are known (unknown ones pass, with a warning that
    ``strict`` makes an error).  ``sticky_errors`` (default) stops the session
    at the first protocol error; a processor that answers bad requests with a
    failure, and validators, turn it off.
    """

    ERROR_STATE = SessionState.ERROR

    def __init__(
        self,
        our_role: Role,
        *,
        registry: Registry = REGISTRY,
        limits: Limits = DEFAULT_LIMITS,
        strict: bool = False,
        sticky_errors: bool = True,
    ) -> None:
        super().__init__(our_role, sticky_errors=sticky_errors)
        self.registry = registry
        self.limits = limits
        self.strict = strict
        self.state = SessionState.OPEN
        #: The last prepareSession confirmation received or sent (cleared by the next prepareSession answer).
        self.confirmation: PrepareSessionConfirm | None = None
        self._queues: dict[str, collections.deque[PendingCommand]] = {}
        self._count = 0
        self._timer = EarliestDeadline()
        self._sequence = 0
        self._reports: dict[str, Any] = {}  # agent id -> tag of the begin success, while ACTIVE
        # Recently ended reports and expired requests, so a late message is named as such (bounded).
        self._ended: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._expired: collections.Counter[str] = collections.Counter()
        #: Whether the session is read as observed from the middle of its conversation (:meth:`join`).
        self.joined = False
        self._history_until: float | None = None
        # What the session has seen of commands and reports, for the joined reading (bounded: beyond, lenient).
        self._requested: set[str] = set()
        self._known_agents: collections.OrderedDict[str, None] = collections.OrderedDict()

    def join(self, *, history_until: float | None = None) -> None:
        """Read the session as observed from the middle of its conversation (a capture that began after it).

        May come after messages were observed (no message opens a session: a capture may show it was cut
        only later).  From then on an answer of a command not requested since observing began answers a
        request from before (while ``now`` is at most ``history_until``; ``None``: always), and team-status
        events pass for an agent whose report was never mentioned (no begin request, no begin or end
        success) until an end success stops it (docs/quirks.md V12).
        """
        self.joined = True
        self._history_until = history_until

    def has_requested(self, command: str) -> bool:
        """Whether a request of ``command`` was observed (bounded memory: a few commands may be forgotten)."""
        return command in self._requested

    def report_known(self, agent_id: str) -> bool:
        """Whether a begin request, or a begin or end success, of ``agent_id``'s report was observed."""
        return agent_id in self._reports or agent_id in self._known_agents

    def _know(self, agent_id: str) -> None:
        known = self._known_agents
        known[agent_id] = None
        known.move_to_end(agent_id)
        while len(known) > 4 * self.limits.max_pending:
            known.popitem(last=False)

    # -- inspection ------------------------------------------------------------------------

    @property
    def current_state(self) -> SessionState:
        """The session's state (errors report it as theirs)."""
        return self.state

    def _enter_error_state(self) -> None:
        self.state = SessionState.ERROR

    def pending_requests(self) -> tuple[PendingCommand, ...]:
        """Outstanding requests, oldest first."""
        everything = [item for queue in self._queues.values() for item in queue]
        return tuple(sorted(everything, key=lambda p: p.order))

    def pending_for(self, command: str) -> tuple[PendingCommand, ...]:
        """Outstanding requests of one command, in the order they will be answered."""
        return tuple(self._queues.get(command, ()))

    def exchange_state(self, command: str, now: float | None = None) -> Exchange:
        """What the oldest outstanding request of ``command`` allows (at ``now``, for a joined session)."""
        if self.joined and not self._queues.get(command) and self._from_before(command, now):
            return Exchange.JOINED
        queue = self._queues.get(command)
        return queue[0].exchange if queue else Exchange.IDLE

    def report_state(self, agent_id: str) -> ReportState:
        """Whether team-status events may flow for ``agent_id`` (``UNKNOWN``: joined, never mentioned)."""
        if agent_id in self._reports:
            return ReportState.ACTIVE
        return ReportState.UNKNOWN if self.joined and agent_id not in self._known_agents else ReportState.INACTIVE

    def _from_before(self, command: str, now: float | None) -> bool:
        """Whether an answer of ``command`` may answer a request from before observing began (joined)."""
        return command not in self._requested and (
            now is None or self._history_until is None or now <= self._history_until
        )

    @property
    def active_reports(self) -> Mapping[str, Any]:
        """Agent ids whose team-status report is running -> the tag given with the begin's success."""
        return dict(self._reports)

    def ended_report_tag(self, agent_id: str) -> Any:
        """The tag given with the success that last ended ``agent_id``'s report (``None`` if unknown)."""
        return self._ended.get(agent_id)

    def outstanding(self) -> tuple[PendingCommand, ...]:
        """Requests not answered yet, oldest first (the same as :meth:`pending_requests`)."""
        return self.pending_requests()

    def get_timer(self) -> float | None:
        """The earliest deadline of an outstanding request (``None`` if there is none)."""
        if self._timer.known:
            return self._timer.earliest
        return self._timer.recompute(self._deadlines())

    def _deadlines(self) -> list[float]:
        return [p.deadline for q in self._queues.values() for p in q if p.deadline is not None]

    def handle_timer(self, now: float) -> tuple[PendingCommand, ...]:
        """Expire (and return) every outstanding request whose deadline is at or before ``now``.

        Answers carry no id, so a late answer to an expired request would answer
        the next one of its command: after an expiry, treat the connection's
        answers to that command with suspicion (docs/quirks.md P9).
        """
        if self._timer.surely_not_due(now):
            return ()
        expired = []
        for command, queue in list(self._queues.items()):
            keep: collections.deque[PendingCommand] = collections.deque()
            gone: list[PendingCommand] = []
            for item in queue:
                (gone if item.deadline is not None and item.deadline <= now else keep).append(item)
            if gone:
                expired.extend(gone)
                self._expired[command] += len(gone)
                self._count -= len(gone)
                self._set_queue(command, keep)
        self._timer.recompute(self._deadlines())
        return tuple(sorted(expired, key=lambda p: p.order))

    # -- receiving and sending -------------------------------------------------------------

    def receive_message(
        self, data: str | bytes | ProcessorMessage, *, now: float | None = None
    ) -> ProcessorMessage:
        """Check one whole message from the peer (JSON text/bytes, or a decoded model)."""
        if self.error is not None:
            self._check_usable(self.their_role)
        if isinstance(data, ProcessorMessage):
            self.observe(data, self.their_role, now=now)
            self._warn_if_untimed(now, _untimed(data))
            return data
        try:
            # decode_value(parse_message(...)), by the compiled path when it answers (then with the same result).
            decoded = codec.decode_text(data, registry=self.registry, limits=self.limits, strict=self.strict)
        except ProtocolError as exc:
            if isinstance(exc, SchemaViolationError):
                # Raised once the text was parsed (parse errors are others): note the value it parsed to.
                self.observe_invalid(parse_message(data, self.limits), self.their_role, now=now)
            raise self._fail(exc, self.their_role) from None
        self.observe(decoded.message, self.their_role, now=now, value=decoded.value)
        self._warn_if_untimed(now, _untimed(decoded.message))
        return decoded.message

    def send(self, message: ProcessorMessage, *, now: float | None = None) -> str:
        """Check a message we are about to send and return its JSON text (one text frame)."""
        if self.error is not None:
            self._check_usable(self.our_role)
        try:
            value, text = codec._value_and_text(message)  # encode_value, then message_text of it
            check_text_size(text, self.limits, LimitExceededError.Local)
        except ProtocolError as exc:
            raise self._fail(exc, self.our_role) from None
        self.observe(message, self.our_role, now=now, value=value)  # the encoding is done once
        self._warn_if_untimed(now, _untimed(message))
        return text

    def send_text(self, message: ProcessorMessage, *, now: float | None = None) -> str:
        """The same as :meth:`send` (a processor message is one JSON text)."""
        return self.send(message, now=now)

    # -- the rules -------------------------------------------------------------------------

    def observe(
        self,
        message: ProcessorMessage,
        sender: Role,
        *,
        now: float | None = None,
        tag: Any = None,
        value: Mapping[str, JsonValue] | None = None,
    ) -> None:
        """Apply the session's rules to ``message`` sent by ``sender``; raise if it breaks one.

        ``value`` is the message's JSON as it crossed the wire, when known (a
        request's ``original`` is compared with it as well as with the encoding).
        A response is matched by position, so one that contradicts its request
        still answers it: the error is raised after the request left the queue.
        """
        if self.error is not None:
            self._check_usable(sender)
        try:
            self._apply(message, sender, now, tag, value)
        except ProtocolError as exc:
            raise self._fail(exc, sender, lambda: codec.encode_value(message), repr(message)) from None

    def observe_invalid(
        self, value: Mapping[str, JsonValue], sender: Role, *, now: float | None = None, tag: Any = None
    ) -> bool:
        """Note a request that broke its schema, so the failure answering it is recognised.

        Returns whether it was queued: only a client's request-shaped value with
        a string ``command`` is (a processor may answer such a request with a
        failure that repeats it in ``original``).
        """
        if self.error is not None:
            self._check_usable(sender)
        command = value.get("command")
        if sender is not Role.CLIENT or type(command) is not str or "result" in value:
            return False
        trimmed = quirks.trimmed_command(command, self.registry.has_command)
        try:
            self._enqueue(trimmed or command, None, sender, now, tag, dict(value))
        except ProtocolError:
            return False
        return True

    def _apply(
        self, message: ProcessorMessage, sender: Role, now: float | None, tag: Any,
        value: Mapping[str, JsonValue] | None,
    ) -> None:
        input_ = states.input_of(message)
        command: str | None = None
        exchange = _IDLE
        if isinstance(message, (Request, Response)):
            command = message.command_name
            if quirks.is_padded(command):  # (trimmed_command is None for a command without padding)
                # A padded registered command is that command (docs/quirks.md P1), whichever side wrote it.
                command = quirks.trimmed_command(command, self.registry.has_command) or command
            queue = self._queues.get(command)
            if queue:  # self.exchange_state(command), without the call
                exchange = queue[0].exchange
            elif self.joined and self._from_before(command, now):
                exchange = Exchange.JOINED
        action = states.EXCHANGE_LOOKUP.get((exchange, sender, input_))
        if action is None:
            raise self._unexpected(message, sender, input_, exchange, command)
        if action is _OPEN:
            assert isinstance(message, Request)
            assert command is not None
            self._enqueue(command, message, sender, now, tag, value)
        elif action is _ANSWER:
            assert command is not None
            self._answer(message, sender, command, tag, value)
        elif action is Effect.ANSWER_EARLIER:
            if command == PREPARE_SESSION:
                self.confirmation = message if isinstance(message, PrepareSessionConfirm) else None
        else:
            assert isinstance(message, Event)
            self._report(message, None, sender, tag)

    def _enqueue(
        self, command: str, request: Request | None, sender: Role, now: float | None, tag: Any,
        value: Mapping[str, JsonValue] | None,
    ) -> None:
        if self._count >= self.limits.max_pending:
            raise self._blame(
                LimitExceededError, sender, f"more than max_pending={self.limits.max_pending} requests outstanding",
                code="too-many-pending",
            )
        if value is None:
            assert request is not None
            value = codec.encode_value(request)
        self._sequence += 1
        confirms = isinstance(request, Unknown) or self.registry.confirm_class(command) is not None
        deadline = None if now is None else now + self.limits.request_timeout
        item = _new_pending(
            command, request, sender, now, deadline, tag, value,
            states.exchange_of(request, command_confirms=confirms), self._sequence,
        )
        queue = self._queues.get(command)
        if queue is None:
            queue = self._queues[command] = collections.deque()
        queue.append(item)
        self._count += 1
        self._timer.added(deadline)
        if len(self._requested) < 4 * self.limits.max_pending:
            self._requested.add(command)
        if isinstance(request, TeamStatusBeginRequest):
            self._know(request.agent_id)

    def _set_queue(self, command: str, queue: collections.deque[PendingCommand]) -> None:
        if queue:
            self._queues[command] = queue
        else:
            self._queues.pop(command, None)

    def _answer(
        self, message: ProcessorMessage, sender: Role, command: str, tag: Any, value: Mapping[str, JsonValue] | None
    ) -> None:
        queue = self._queues[command]
        pending = queue.popleft()
        self._count -= 1
        self._timer.removed(pending.deadline, empty=not self._count)
        self._set_queue(command, queue)
        if command == PREPARE_SESSION:
            # Any answer to a prepareSession (even to an invalid one) replaces the last prompt; a confirm only
            # counts once its original checked out (the client would repeat that original).
            self.confirmation = None
        if isinstance(message, (ConfirmResponse, FailureResponse)):
            self._check_echo(message, value, pending, sender, "original", "the request it answers", command)
        if isinstance(message, PrepareSessionSuccess):
            self._check_echo(message, value, pending, sender, "resource/data", "the request's data", command)
        if isinstance(message, PrepareSessionConfirm):
            self.confirmation = message
        self._report(message, pending.request, sender, tag)

    def _echo_difference(
        self, message: ProcessorMessage, value: Mapping[str, JsonValue] | None, pending: PendingCommand, where: str,
    ) -> tuple[str | int, ...] | None:
        """Where ``where`` (a path in the response) first differs from the request (or its ``data``); numbers by
        value (N1: as JSON.parse/stringify write them)."""
        echoed: Any = value if value is not None else codec.encode_value(message)
        for key in where.split("/"):
            echoed = echoed.get(key) if isinstance(echoed, dict) else None
        expected: Any = pending.value
        if where != "original":
            expected = expected.get("data")
        elif isinstance(echoed, dict):
            # Either side may write a padded command as it was written or trimmed (docs/quirks.md P1).
            echoed = codec.normalise(echoed, [], self.registry)
            expected = codec.normalise(dict(expected), [], self.registry)
        return first_difference(echoed, expected, numbers_by_value=True)

    @staticmethod
    def _echo_of(message: ProcessorMessage) -> str | None:
        """The path where an answer repeats its request (``None``: it repeats nothing)."""
        if isinstance(message, (ConfirmResponse, FailureResponse)):
            return "original"
        if isinstance(message, PrepareSessionSuccess):
            return "resource/data"
        return None

    def _overtaken(
        self, message: ProcessorMessage, value: Mapping[str, JsonValue] | None, sender: Role, input_: states.Input,
        later: Any,
    ) -> int | None:
        """The position (1: second oldest, ...) of the later outstanding request ``message`` would answer (its
        state allows it and what it repeats is that request), or ``None``."""
        where = self._echo_of(message)
        for position, pending in enumerate(later, start=1):
            if states.EXCHANGE_LOOKUP.get((pending.exchange, sender, input_)) is not _ANSWER:
                continue
            if where is None or self._echo_difference(message, value, pending, where) is None:
                return position
        return None

    def _out_of_order(self, message: ProcessorMessage, sender: Role, command: str, position: int) -> ProtocolError:
        what = f"{states.input_of(message).value} ({command})"
        return self._blame(
            UnexpectedMessageError, sender,
            f"{what} answers a later {command} request (outstanding number {position + 1}), not the oldest:"
            f" answers of one command must come in the order of its requests",
            pointer="", hint=f"answer the oldest outstanding {command} request first", code=ANSWER_OUT_OF_ORDER,
        )

    def _check_echo(
        self, message: ProcessorMessage, value: Mapping[str, JsonValue] | None, pending: PendingCommand,
        sender: Role, where: str, what: str, command: str,
    ) -> None:
        """``where`` (a path in the response) must repeat the request (or its ``data``); numbers by value (N1)."""
        difference = self._echo_difference(message, value, pending, where)
        if difference is None:
            return
        # The oldest request is already taken off its queue: what is left are the later ones.
        queue = self._queues.get(command)
        position = self._overtaken(message, value, sender, states.input_of(message), queue or ())
        if position is not None:
            assert queue is not None
            # The answer answered the later request it repeats, not the oldest: one finding for the one fault,
            # and the oldest's own answer, when it comes, fits.
            answered = queue[position - 1]
            del queue[position - 1]
            queue.appendleft(pending)
            self._timer.added(pending.deadline)
            self._timer.removed(answered.deadline, empty=False)
            raise self._out_of_order(message, sender, command, position)
        # A difference inside a secret member is pointed at the member: below it, keys and indexes are the secret's.
        secret_at = next(
            (i for i, part in enumerate(difference) if isinstance(part, str) and is_secret_key(part)), None
        )
        if secret_at is not None:
            difference = difference[: secret_at + 1]
        at = pointer((*where.split("/"), *difference))
        raise self._blame(
            UnknownCorrelationIdError, sender,
            f"{pointer(where.split('/'))} does not repeat {what} (first difference at {at})",
            pointer=at, hint=f"copy {what} into {pointer(where.split('/'))} unchanged",
            code="original-mismatch" if where == "original" else "resource-data-mismatch",
        )

    def _report(self, message: ProcessorMessage, answered: Request | None, sender: Role, tag: Any) -> None:
        found = states.report_input_of(message, answered)
        if found is None:
            return
        input_, agent_id = found
        current = _ACTIVE if agent_id in self._reports else (  # self.report_state(agent_id)
            ReportState.UNKNOWN if self.joined and agent_id not in self._known_agents else _INACTIVE
        )
        target = states.REPORT_LOOKUP.get((current, input_))
        if input_ is not ReportInput.EVENT:
            self._know(agent_id)
        if target is None:
            ended = " (its report was ended)" if agent_id in self._ended else ""
            raise self._blame(
                UnexpectedMessageError, sender,
                f"team-status event for agent {agent_id!r}, whose report is not running{ended}",
                pointer="/data/agentId", code=REPORT_NOT_ACTIVE,
                hint="team-status events flow only after report.teamstatus.begin for the agent succeeded "
                "and until its report.teamstatus.end succeeds",
            )
        if target is _ACTIVE and current is not _ACTIVE:
            if len(self._reports) >= self.limits.max_pending:
                # Each running report is state we keep per agent: a peer must not grow it without bound.
                raise self._blame(
                    LimitExceededError, sender,
                    f"more than max_pending={self.limits.max_pending} team-status reports running at once",
                    pointer="/data/agentId", code="too-many-reports",
                    hint="end a report (report.teamstatus.end) before beginning another",
                )
            self._reports[agent_id] = tag
            self._ended.pop(agent_id, None)
        elif target is _INACTIVE and current is _ACTIVE:
            del self._reports[agent_id]
            self._ended[agent_id] = tag
            while len(self._ended) > self.limits.max_pending:
                self._ended.popitem(last=False)

    def _unexpected(
        self, message: ProcessorMessage, sender: Role, input_: states.Input, exchange: Exchange, command: str | None
    ) -> ProtocolError:
        party = "client" if sender is Role.CLIENT else "processor"
        what = f"{input_.value} ({command or getattr(message, 'event_name', '')})"
        if not any(key[1] is sender and key[2] is input_ for key in states.EXCHANGE_TRANSITIONS):
            return self._blame(
                UnexpectedMessageError, sender, f"the {party} never sends {_NOUNS[input_]}: {what}", pointer="",
                hint="requests flow client -> processor; responses and events flow processor -> client",
            )
        if exchange is Exchange.IDLE:
            late = (
                f" ({self._expired[command]} expired earlier)" if command is not None and self._expired[command] else ""
            )
            return self._blame(
                UnknownCorrelationIdError, sender, f"{what} answers no outstanding request{late}",
                pointer="/command", hint=states.EXCHANGE_HINTS.get((exchange, input_)), code=NO_OUTSTANDING_REQUEST,
            )
        queue = self._queues.get(command) if command is not None else None
        if queue and command is not None:
            later = list(queue)[1:]
            position = self._overtaken(message, None, sender, input_, later)
            if position is not None:
                return self._out_of_order(message, sender, command, position)
        return self._blame(
            UnexpectedMessageError, sender,
            f"{what} cannot answer the oldest outstanding {command} request ({exchange.value})",
            pointer="/result", hint=states.EXCHANGE_HINTS.get((exchange, input_)), code="answer-not-allowed",
        )
