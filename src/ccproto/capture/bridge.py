"""Checking the records of one bridge connection: schema, then the control channel's rules."""

from __future__ import annotations

from typing import Any

from ccproto.bridge import codec
from ccproto.bridge.channel import ControlChannel
from ccproto.bridge.models import BridgeMessage
from ccproto.capture.checker import AddFinding, MessageChecker, describe
from ccproto.capture.findings import Finding, Kind, Severity
from ccproto.capture.records import Record
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.roles import Role

__all__ = ["BridgeConnectionChecker"]


class BridgeConnectionChecker(MessageChecker):
    """Feeds one connection's records through the codec and a non-sticky ``ControlChannel``."""

    protocol = "bridge"

    def __init__(self, *, limits: Limits, strict: bool, capture: dict[str, Any] | None = None) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        # The validator sees both directions: it plays no role, so errors are not sticky.
        self._channel = ControlChannel(Role.SERVER, limits=limits, sticky_errors=False)

    def _decode(self, value: dict[str, Any]) -> Decoded[BridgeMessage]:
        return codec.decode_value(value)

    def _normalised(self, value: dict[str, Any]) -> dict[str, Any]:
        return codec.normalise(value, [])

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        return codec.message_class_for(value)

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        message: BridgeMessage = decoded.message
        pending = {p.request_id: p for p in self._channel.pending_requests()}
        try:
            self._channel.observe(message, record.sender, now=record.ts, tag=record.number)
        except ProtocolError as exc:
            related: tuple[int, ...] = ()
            request_id = getattr(message, "request_id", None)
            if request_id in pending and isinstance(pending[request_id].tag, int):
                related = (pending[request_id].tag,)
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc), related)

    def finish(self, file: str, conn: str, last_record: int) -> list[Finding]:
        """Warnings for what is still pending when the capture ends (captures get cut)."""
        return self._unanswered(file, conn, last_record, [
            (pending.tag, "/header/requestId", f"{pending.name.value} {pending.request_id!r}")
            for pending in self._channel.pending_requests()
        ])
