"""Checking the records of one bridge connection: schema, then the control channel's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ccproto.bridge import codec, states
from ccproto.bridge.channel import ControlChannel
from ccproto.bridge.models import (
    MESSAGE_CLASSES,
    BridgeMessage,
    FailureResponse,
    MessageType,
    Name,
    Result,
    ServerStatus,
    ServerStatusChanged,
)
from ccproto.core.checker import AddFinding, MessageChecker, describe
from ccproto.core.decoding import Decoded
from ccproto.core.errors import ProtocolError
from ccproto.core.findings import Finding, Kind, Severity
from ccproto.core.limits import Limits
from ccproto.core.model import Model
from ccproto.core.record import Record
from ccproto.core.roles import Role

__all__ = ["BridgeConnectionChecker", "message_label", "opens_connection", "phase_label", "status_label"]


def _label(type_: MessageType, name: Name, failure: bool) -> str:
    if type_ is MessageType.RESPONSE:
        return f"cti.response({name.value})" + (" FAILURE" if failure else "")
    return name.value


def message_label(message: BridgeMessage) -> str:
    """The coverage label of a message: its name; a response's request name and whether it failed."""
    return _label(message.TYPE, message.message_name, isinstance(message, FailureResponse))


def phase_label(phase: states.Phase, sender: Role, input_: states.Input, target: states.Phase) -> str:
    """The coverage label of a phase-table transition."""
    party = "bridge" if sender is Role.SERVER else "client"
    return f"{phase.name} --{party}: {input_.value}--> {target.name}"


def status_label(last: ServerStatus | None, new: ServerStatus) -> str:
    """The coverage label of a server-status change (``None``: the first report)."""
    return f"status {last.value if last else '(none)'} -> {new.value}"


def opens_connection(value: dict[str, Any], sender: Role) -> bool:
    """Whether a message (its JSON value) can be a control channel's first: the bridge's serverstatus request.

    The bridge may send ``cti.request.serverstatus`` again later, so a capture cut just before a later one
    reads as opened there (docs/quirks.md V10).
    """
    header = value.get("header")
    return (
        sender is Role.SERVER and isinstance(header, dict) and header.get("type") == MessageType.REQUEST.value
        and header.get("name") == Name.SERVER_STATUS.value
    )


class BridgeConnectionChecker(MessageChecker):
    """Feeds one connection's records through the codec and a non-sticky ``ControlChannel``."""

    protocol = "bridge"
    #: A bridge has few control channels, each long-lived and quiet for hours at night: a long bound costs little.
    idle_timeout = 24 * 3600.0
    # (a lambda, not a partial: a partial with keywords builds a dict per call)
    compiled = staticmethod(lambda value: codec.decode_compiled(value, False))

    def __init__(self, *, limits: Limits, strict: bool, capture: dict[str, Any] | None = None) -> None:
        super().__init__(limits=limits, strict=strict, capture=capture)
        # The validator sees both directions: it plays no role, so errors are not sticky.
        self._channel = ControlChannel(Role.SERVER, limits=limits, sticky_errors=False)
        self._declare_coverage()

    def universe(self) -> Mapping[str, Sequence[str]]:
        """Every message type, phase transition and server-status change of the control channel."""
        first_reports = [status_label(None, status) for status in ServerStatus]
        return {
            "message types": list(dict.fromkeys(
                _label(type_, name, result is Result.FAILURE)
                for type_, name, result in MESSAGE_CLASSES
            )),
            "transitions": [phase_label(*key, target) for key, target in states.PHASE_TRANSITIONS.items()],
            "server-status changes": first_reports + [
                status_label(last, new) for last, allowed in states.STATUS_TRANSITIONS.items()
                for new in ServerStatus if new in allowed
            ],
        }

    def _decode(self, value: dict[str, Any]) -> Decoded[BridgeMessage]:
        return codec.decode_value(value)

    def _decode_fast(self, value: dict[str, Any]) -> Decoded[BridgeMessage] | None:
        return codec.decode_fast(value)

    def _opens(self, value: dict[str, Any], sender: Role) -> bool:
        return opens_connection(value, sender)

    def _join(self) -> None:
        super()._join()
        self._channel.join(history_until=self._history_until)

    @staticmethod
    def _what(value: dict[str, Any]) -> str:
        header = value.get("header")
        kind = header.get("type") if isinstance(header, dict) else None
        name = header.get("name") if isinstance(header, dict) else None
        if not isinstance(kind, str) or not isinstance(name, str) or len(kind) + len(name) > 80:
            return "a message"
        return f"a {kind} to {name}" if kind == MessageType.RESPONSE.value else f"a {kind} {name}"

    def _normalised(self, value: dict[str, Any]) -> dict[str, Any]:
        return codec.normalise(value, [])

    def _schema_class(self, value: dict[str, Any]) -> type[Model]:
        return codec.message_class_for(value)

    def _deadline(self) -> float | None:
        return self._channel.get_timer()

    def _observe(self, decoded: Decoded[Any], record: Record, add: AddFinding) -> None:
        message: BridgeMessage = decoded.message
        channel = self._channel
        phase, status = channel.phase, channel.server_status
        request_id = getattr(message, "request_id", None)
        # What it answers (or repeats), before observing it settles that (for a finding's related record).
        pending = channel.pending_request(request_id) if request_id is not None else None
        try:
            channel.observe(message, record.sender, now=record.ts, tag=record.number)
            if self._coverage is not None:
                self._cover("message types", message_label(message))
                input_ = states.input_of(message)
                if (phase, record.sender, input_) in states.PHASE_TRANSITIONS:  # not the joined reading's rows
                    self._cover("transitions", phase_label(phase, record.sender, input_, self._channel.phase))
                if isinstance(message, ServerStatusChanged) and message.status is not status:
                    self._cover("server-status changes", status_label(status, message.status))
        except ProtocolError as exc:
            related: tuple[int, ...] = ()
            if pending is not None and isinstance(pending.tag, int):
                related = (pending.tag,)
            add(Severity.ERROR, Kind.SEQUENCE, exc.code, exc.pointer, describe(exc), related)

    def _expire(self, now: float) -> list[tuple[Any, str, str]]:
        return [
            (pending.tag, "/header/requestId", f"{pending.name.value} {pending.request_id!r}")
            for pending in self._channel.handle_timer(now)
        ]

    def finish(self, file: str, conn: str, last_record: int, *, ended: str = "the capture ended") -> list[Finding]:
        """Warnings for what is still pending when the connection's part of the capture ends."""
        return self._unanswered(file, conn, last_record, [
            (pending.tag, "/header/requestId", f"{pending.name.value} {pending.request_id!r}")
            for pending in self._channel.pending_requests()
        ], ended)
