"""Planted bugs in the reference Interaction Processor: each subclass breaks one rule, as a buggy vendor would.

Not a test module: ``tests/test_peers_processor.py`` (and the conformance harness's tests) import it as
``import planted_processor``.  Each bug overrides the one decision it gets wrong, plus :meth:`emit`, which
falls back to the codec when the peer's own session refuses the message (a buggy vendor has no such check).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ccproto.core.errors import LocalProtocolError
from ccproto.core.jsonio import JsonValue
from ccproto.processor import (
    FailureResponse,
    PrepareSessionConfirm,
    PrepareSessionRequest,
    PrepareSessionSuccess,
    ProcessorMessage,
    encode,
)
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.processor.peers import ReferenceProcessor

__all__ = ["BUGS", "ConfirmsOverride", "EventAfterEnd", "OriginalDiffers", "WrongResourceData"]


class _Unchecked(ReferenceProcessor):
    """Sends what its session refuses anyway (the session has still counted an answer it matched by position)."""

    def emit(self, message: ProcessorMessage, *, now: float) -> str:
        """The session's text, or the codec's when the session refuses the message."""
        try:
            return super().emit(message, now=now)
        except LocalProtocolError:
            return encode(message)


class ConfirmsOverride(_Unchecked):
    """Bug "confirms-override": confirms a prepareSession with ``override: true`` when the agent has a session."""

    def should_confirm(self, request: PrepareSessionRequest) -> bool:
        """Ignores ``override``."""
        return request.data.agent.id in self.sessions


class EventAfterEnd(_Unchecked):
    """Bug "event-after-end": report.teamstatus.end answers success but the report keeps running."""

    def end_report(self, agent_id: str) -> None:
        """Forgets to stop the report."""


def _other_model(request: PrepareSessionRequest) -> PrepareSessionRequest:
    """``request`` with another call model: still a valid prepareSession, but not the one received."""
    return attrs.evolve(request, data=attrs.evolve(request.data, model=request.data.model + "-v2"))


class OriginalDiffers(_Unchecked):
    """Bug "original-differs": the ``original`` of a confirm (and of a failure) is not the request received."""

    def confirm_prepare_session(self, request: PrepareSessionRequest) -> PrepareSessionConfirm:
        """Repeats the request with another ``model``."""
        return super().confirm_prepare_session(_other_model(request))

    def failure(self, command: str, original: Mapping[str, JsonValue], code: str, message: str) -> FailureResponse:
        """Repeats the request with one member added."""
        return super().failure(command, {**original, "echo": "rewritten"}, code, message)


class WrongResourceData(_Unchecked):
    """Bug "wrong-resource-data": a prepareSession success whose ``resource.data`` is not the request's ``data``."""

    def start_session(self, request: PrepareSessionRequest) -> PrepareSessionSuccess:
        """Repeats ``data`` with another ``model``."""
        success = super().start_session(request)
        data = _other_model(request).data
        return attrs.evolve(success, resource=attrs.evolve(success.resource, data=data))


#: Bug id -> the subclass that plants it.
BUGS: dict[str, type[ReferencePeer]] = {
    "confirms-override": ConfirmsOverride,
    "event-after-end": EventAfterEnd,
    "original-differs": OriginalDiffers,
    "wrong-resource-data": WrongResourceData,
}
