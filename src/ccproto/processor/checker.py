"""Checking the records of one Interaction Processor connection: schema, then the session's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccproto.core.checker import JOINED, AddFinding, MessageChecker, Start, describe
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.record import Record
from ccproto.core.roles import Role
from ccproto.processor import codec, quirks, states
from ccproto.processor.models import (
    REGISTRY,
    ConfirmResponse,
    Event,
    FailureResponse,
    ProcessorMessage,
    Registry,
    Request,
    Response,
    TeamStatusEvent,
)
from ccproto.processor.session import NO_OUTSTANDING_REQUEST, REPORT_NOT_ACTIVE, ProcessorSession

__all__ = ["ProcessorConnectionChecker", "message_label", "opens_connection"]


def opens_connection(value: dict[str, Any], sender: Role) -> bool:
    """Whether a message (its JSON value) can be a processor connection's first: any request from the client.

    The protocol has no opening message, so this cannot tell a connection's start from a capture cut just
    before a request: later messages may still show the cut (``_history_explains``).
    """
    return sender is Role.CLIENT and "command" in value and "result" not in value


def message_label(message: ProcessorMessage, registry: Registry = REGISTRY) -> str:
    """The coverage label of a message: ``prepareSession request``, ``... success``, ``report.x event``."""
    if isinstance(message, Event):
        return f"{message.event_name} event"
    assert isinstance(message, (Request, Response))
    kind = (
        "request" if isinstance(message, Request) else "confirm" if isinstance(message, ConfirmResponse)
        else "failure" if isinstance(message, FailureResponse) else "success"
    )
    command = quirks.trimmed_command(message.command_name, registry.has_command) or message.command_name
    return f"{command} {kind}"


def _exchange_label(state: states.Exchange, sender: Role, input_: states.Input, action: states.Effect) -> str:
    party = "client" if sender is Role.CLIENT else "processor"
    return f"{state.name} --{party}: {input_.value}--> {action.value}"


def _report_label(state: states.ReportState, input_: states.ReportInput, target: states.ReportState) -> str:
    return f"report {state.name} --{input_.value}--> {target.name}"


class ProcessorConnectionChecker(MessageChecker):
    """Feeds one connection's records through the codec and a non-sticky ``ProcessorSession``.

    ``registry`` says which commands and events are known (default: the global
    one, which ``ccproto validate --extension MODULE`` extends).
    """

    protocol = "processor"
    #: Agent desktops' connections: many, each quiet while its agent is.
    idle_timeout = 3600.0
    # (a lambda, not a partial: a partial with keywords builds a dict per call)
    compiled = staticmethod(lambda value: codec.decode_compiled(value, REGISTRY, False))

    def __init__(
        self, *, limits: Limits, strict: bool, registry: Registry | None = None, capture: dict[str, Any] | None = None
    ) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        self._registry = registry if registry is not None else REGISTRY
        self._session = ProcessorSession(Role.SERVER, registry=self._registry, limits=limits, sticky_errors=False)
        self._declare_coverage()

    def universe(self) -> Mapping[str, Sequence[str]]:
        """Every registered message, exchange transition and report transition."""
        registry = self._registry
        messages = []
        for command in registry.commands():
            messages.append(f"{command} request")
            if registry.success_class(command) is not None:
                messages.append(f"{command} success")
            if registry.confirm_class(command) is not None:
                messages.append(f"{command} confirm")
            messages.append(f"{command} failure")
        messages.extend(f"{name} event" for name in registry.events())
        return {
            "message types": messages,
            "transitions": [_exchange_label(*key, action) for key, action in states.EXCHANGE_TRANSITIONS.items()],
            "report transitions": [_report_label(*key, target) for key, target in states.REPORT_TRANSITIONS.items()],
        }

    def _transitions(self, message: ProcessorMessage, sender: Role) -> list[tuple[str, str]]:
        """What observing ``message`` will exercise, if it is accepted (worked out before, from the state)."""
        input_ = states.input_of(message)
        command = message.command_name if isinstance(message, (Request, Response)) else None
        if command is not None:
            command = quirks.trimmed_command(command, self._registry.has_command) or command
        exchange = self._session.exchange_state(command) if command is not None else states.Exchange.IDLE
        if exchange is states.Exchange.JOINED and input_ is states.Input.REQUEST:
            exchange = states.Exchange.IDLE  # a request opens its exchange as after the protocol's own start
        action = states.EXCHANGE_TRANSITIONS.get((exchange, sender, input_))
        if action is None:
            return []
        found = [("transitions", _exchange_label(exchange, sender, input_, action))]
        queue = self._session.pending_for(command) if command is not None and action is states.Effect.ANSWER else ()
        report = states.report_input_of(message, queue[0].request if queue else None)
        if report is not None:
            current = self._session.report_state(report[1])
            target = states.REPORT_TRANSITIONS.get((current, report[0]))
            if target is not None:
                found.append(("report transitions", _report_label(current, report[0], target)))
        return found

    def _decode(self, value: dict[str, Any]) -> Decoded[ProcessorMessage]:
        return codec.decode_value(value, registry=self._registry)

    def _decode_fast(self, value: dict[str, Any]) -> Decoded[ProcessorMessage] | None:
        return codec.decode_fast(value, registry=self._registry)

    def begin(self, start: Start, *, partial: bool = False, history_until: float | None = None) -> None:
        """Say where the connection's first record stands (see :class:`MessageChecker`)."""
        super().begin(start, partial=partial, history_until=history_until)
        # No message opens a processor connection: whether the capture joined it mid-conversation may only
        # show later, in a message that needs history the capture does not hold (docs/quirks.md V12).
        self._unproven = start is not Start.OPENED

    _unproven = False
    _first: tuple[int, str] | None = None

    def _opens(self, value: dict[str, Any], sender: Role) -> bool:
        return opens_connection(value, sender)

    def _place(self, value: dict[str, Any], record: Record, add: AddFinding) -> None:
        super()._place(value, record, add)
        if self.joined:
            self._unproven = False
        elif self._unproven:
            self._first = (record.number, self._what(value))

    def _join(self) -> None:
        super()._join()
        self._session.join(history_until=self._history_until)

    @staticmethod
    def _what(value: dict[str, Any]) -> str:
        command, name = value.get("command"), value.get("name")
        if isinstance(command, str) and len(command) <= 60:
            result = value.get("result")
            kind = result if isinstance(result, str) and len(result) <= 20 else "request"
            return f"a {command.strip()} {kind}"
        if isinstance(name, str) and len(name) <= 60:
            return f"a {name} event"
        return "a message"

    def _history_explains(self, message: ProcessorMessage, record: Record, code: str) -> bool:
        """Whether the error ``code`` on ``message`` is what a capture begun mid-conversation would show."""
        if code == REPORT_NOT_ACTIVE and isinstance(message, TeamStatusEvent):
            return not self._session.report_known(message.agent_id)  # the report may have begun before
        if code == NO_OUTSTANDING_REQUEST and isinstance(message, Response):
            in_time = record.ts is None or self._history_until is None or record.ts <= self._history_until
            command = quirks.trimmed_command(message.command_name, self._registry.has_command) or message.command_name
            return in_time and not self._session.has_requested(command)  # it may answer a request from before
        return False

    def _late_join(self, value: dict[str, Any], record: Record) -> None:
        """Read the connection as joined from its first record on, as ``message`` shows it must have been."""
        self._unproven = False
        self._join()
        if self._start is Start.UNKNOWN and self._first is not None:
            number, what = self._first
            severity = Severity.WARNING if self._partial else Severity.ERROR
            hint = (
                "the capture began after the connection opened (--partial)" if self._partial else
                "if the capture began after the connection opened, pass --partial; otherwise this message needs "
                "history the connection never had"
            )
            self._late.append(Finding(
                file=record.file, record=record.number, conn=record.conn, severity=severity, kind=Kind.CAPTURE,
                code=JOINED, path="", related=(number,),
                message=f"the capture may join this processor connection mid-conversation: {self._what(value)} "
                        f"needs history from before the capture, though the connection's first record (record "
                        f"{number}, {what}) could open it ({hint})",
            ))

    def _normalised(self, value: dict[str, Any]) -> dict[str, Any]:
        return codec.normalise(value, [], self._registry)

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        return codec.message_class_for(value, self._registry)

    def _invalid(self, value: dict[str, Any], record: Record) -> None:
        # A request that broke its schema may still be answered (with a failure repeating it).
        self._session.observe_invalid(value, record.sender, now=record.ts, tag=record.number)

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        message: ProcessorMessage = decoded.message
        related: Any = None
        if isinstance(message, Response):
            queue = self._session.pending_for(message.command_name)
            related = queue[0].tag if queue else None
        elif isinstance(message, TeamStatusEvent):
            related = self._session.ended_report_tag(message.agent_id)
        covered = self._transitions(message, record.sender) if self._coverage is not None else []
        try:
            try:
                self._session.observe(message, record.sender, now=record.ts, tag=record.number,
                                      value=decoded.value)
            except ProtocolError as exc:
                if not self._unproven or not self._history_explains(message, record, exc.code):
                    raise
                self._late_join(decoded.value, record)
                self._session.observe(message, record.sender, now=record.ts, tag=record.number,
                                      value=decoded.value)
                return  # accepted, but it needed history the capture lacks: it exercises nothing
            if self._coverage is not None:
                self._cover("message types", message_label(message, self._registry))
                for category, label in covered:
                    self._cover(category, label)
        except ProtocolError as exc:
            if isinstance(message, TeamStatusEvent) and exc.code != REPORT_NOT_ACTIVE:
                related = None  # the ended report is only relevant to an event that came too late
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc),
                (related,) if isinstance(related, int) else ())

    def check(self, record: Record) -> list[Finding]:
        """Findings for one record (a joined connection found out late adds its finding first)."""
        self._late: list[Finding] = []
        findings = super().check(record)
        return self._late + findings if self._late else findings

    def finish(self, file: str, conn: str, last_record: int, *, ended: str = "the capture ended") -> list[Finding]:
        """Warnings for requests still unanswered when the connection's part of the capture ends."""
        return self._unanswered(file, conn, last_record, [
            (pending.tag, "/command", f"{pending.command} request") for pending in self._session.pending_requests()
        ], ended)
