"""Checking the records of one Interaction Processor connection: schema, then the session's rules."""

from __future__ import annotations

from typing import Any

from ccproto.capture.checker import AddFinding, MessageChecker, describe
from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.roles import Role
from ccproto.processor import codec
from ccproto.processor.models import REGISTRY, ProcessorMessage, Registry, Response, TeamStatusEvent
from ccproto.processor.session import REPORT_NOT_ACTIVE, ProcessorSession

__all__ = ["ProcessorConnectionChecker"]


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
        try:
            self._session.observe(message, record.sender, now=record.ts, tag=record.number, value=decoded.value)
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
