"""Planted bugs in the bridge reference peers: each class breaks the protocol in one known, reachable way.

Each bug overrides one decision of a clean peer.  Where that decision makes
the peer send what its own channel refuses, the bug also mixes in
:class:`Unchecked`, which writes the message anyway (as a buggy vendor would:
``ccproto.bridge.encode`` instead of the channel).
"""

from __future__ import annotations

from typing import Any

import attrs

from ccproto.bridge import (
    AgentInfoQuery,
    BridgeMessage,
    CapabilitiesResponse,
    ControlChannel,
    CreateSessionRequest,
    Phase,
    Request,
    Response,
    ServerStatus,
    ServerStatusRequest,
    encode,
    new_request_id,
    success_response,
)
from ccproto.core.errors import LocalProtocolError
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices.bridge.peers import DEFAULT_CAPABILITIES, ReferenceBridge, ReferenceBridgeClient

__all__ = ["BUGS"]


class Unchecked:
    """Mixin: send through the channel when it agrees, else write the message anyway."""

    channel: Any

    def send(self, message: BridgeMessage, now: float) -> str:
        """The channel's text, or the bare encoding when the channel refuses to send ``message``."""
        channel: ControlChannel = self.channel
        try:
            return channel.send_text(message, now=now)
        except LocalProtocolError:
            return encode(message)


class CreateSessionWhilePausing(Unchecked, ReferenceBridgeClient):
    """Bug ``createsession-while-pausing``: answers createsession SUCCESS whatever its reported status."""

    def answer_create_session(self, request: CreateSessionRequest) -> list[BridgeMessage]:
        return [success_response(request)]


class AnotherRequestId(Unchecked, ReferenceBridgeClient):
    """Bug ``another-request-id``: answers agentinfo with the requestId of the previous, already answered request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._previous: str | None = None

    def answer(self, request: Request) -> list[BridgeMessage]:
        replies = super().answer(request)
        previous, self._previous = self._previous, request.request_id
        if isinstance(request, AgentInfoQuery) and previous is not None:
            response = replies[0]
            assert isinstance(response, Response)
            replies = [attrs.evolve(response, request_id=previous), *replies[1:]]
        return replies


class StoppingToInService(Unchecked, ReferenceBridgeClient):
    """Bug ``stopping-to-in-service``: ``resume`` also works from stopping-service (a forbidden change)."""

    def status_change(self, name: str) -> ServerStatus | None:
        if name == "resume" and self.status is ServerStatus.STOPPING_SERVICE:
            return ServerStatus.IN_SERVICE
        return super().status_change(name)


class ResponseToUnsentRequest(Unchecked, ReferenceBridgeClient):
    """Bug ``response-to-unsent-request``: after answering serverstatus, answers a capabilities query never sent."""

    def answer_server_status(self, request: ServerStatusRequest) -> list[BridgeMessage]:
        invented = CapabilitiesResponse(target=request.target, request_id=new_request_id(), **DEFAULT_CAPABILITIES)
        return [*super().answer_server_status(request), invented]


class CreateSessionBeforeStatus(Unchecked, ReferenceBridge):
    """Bug ``createsession-before-status``: the bridge sends createsession before the client's first status."""

    def may_request(self, channel: ControlChannel, name: str) -> bool:
        if name == "create-session" and channel.phase is Phase.INITIALIZING:
            return True
        return super().may_request(channel, name)


BUGS: dict[str, type[ReferencePeer]] = {
    "createsession-while-pausing": CreateSessionWhilePausing,
    "another-request-id": AnotherRequestId,
    "stopping-to-in-service": StoppingToInService,
    "response-to-unsent-request": ResponseToUnsentRequest,
    "createsession-before-status": CreateSessionBeforeStatus,
}
