"""Checking the records of one Interaction Processor connection: schema, then the session's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccproto.capture.checker import AddFinding, MessageChecker, describe
from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import Limits
from ccproto.core.model import Model
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
from ccproto.processor.session import REPORT_NOT_ACTIVE, ProcessorSession

__all__ = ["ProcessorConnectionChecker", "message_label"]


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


def _exchange_label(state: states.Exchange, sender: Role, input_: states.Input, action: states.Action) -> str:
    party = "client" if sender is Role.CLIENT else "processor"
    return f"{state.name} --{party}: {input_.value}--> {action.value}"


def _report_label(state: states.Report, input_: states.ReportInput, target: states.Report) -> str:
    return f"report {state.name} --{input_.value}--> {target.name}"


class ProcessorConnectionChecker(MessageChecker):
    """Feeds one connection's records through the codec and a non-sticky ``ProcessorSession``.

    ``registry`` says which commands and events are known (default: the global
    one, which ``ccproto validate --extension MODULE`` extends).
    """

    protocol = "processor"

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
        action = states.EXCHANGE_TRANSITIONS.get((exchange, sender, input_))
        if action is None:
            return []
        found = [("transitions", _exchange_label(exchange, sender, input_, action))]
        queue = self._session.pending_for(command) if command is not None and action is states.Action.ANSWER else ()
        report = states.report_input_of(message, queue[0].request if queue else None)
        if report is not None:
            current = self._session.report_state(report[1])
            target = states.REPORT_TRANSITIONS.get((current, report[0]))
            if target is not None:
                found.append(("report transitions", _report_label(current, report[0], target)))
        return found

    def _decode(self, value: dict[str, Any]) -> Decoded[ProcessorMessage]:
        return codec.decode_value(value, registry=self._registry)

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
            self._session.observe(message, record.sender, now=record.ts, tag=record.number, value=decoded.value)
            if self._coverage is not None:
                self._cover("message types", message_label(message, self._registry))
                for category, label in covered:
                    self._cover(category, label)
        except ProtocolError as exc:
            if isinstance(message, TeamStatusEvent) and exc.code != REPORT_NOT_ACTIVE:
                related = None  # the ended report is only relevant to an event that came too late
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc),
                (related,) if isinstance(related, int) else ())

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Warnings for requests still unanswered when the capture ends (captures get cut)."""
        return self._unanswered(file, conn, last_record, [
            (pending.tag, "/command", f"{pending.command} request") for pending in self._session.pending_requests()
        ])
