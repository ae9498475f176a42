"""The CCEB WebSocket API as the layers above see it (:class:`~ccproto.core.protocol.ProtocolSpec`)."""

from __future__ import annotations

from typing import Any

from ccproto.cceb.codec import decode
from ccproto.core.protocol import ProtocolSpec

__all__ = ["PROTOCOL"]


def _recognizes(message: dict[str, Any]) -> bool:
    # Every CCEB message has a type; all but an ack of nothing also carry a uuid.
    return "type" in message and ("uuid" in message or message.get("type") == "ack")


#: The CCEB's descriptor (registered in :mod:`ccproto.protocols`).
PROTOCOL = ProtocolSpec(
    name="cceb",
    description="CCEB WebSocket API",
    transport="websocket",
    decode=decode,
    recognizes=_recognizes,
    checker="ccproto.capture.cceb:CcebConnectionChecker",
    shadow="ccproto.capture.cceb:CcebSessionShadow",
    testing="ccproto.testing.slices.cceb:SLICE",
)
