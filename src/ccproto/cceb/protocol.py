"""The CCEB WebSocket API as the layers above see it (:class:`~ccproto.core.protocol.ProtocolSpec`)."""

from __future__ import annotations

from typing import Any

from ccproto.cceb.codec import decode
from ccproto.cceb.models import REGISTRY, Action, CcebMessage, UnknownNotification
from ccproto.core.protocol import ProtocolSpec

__all__ = ["PROTOCOL"]


def _recognizes(message: dict[str, Any]) -> bool:
    # Every CCEB message has a type; all but an ack of nothing also carry a uuid.
    return "type" in message and ("uuid" in message or message.get("type") == "ack")


def _strategy_types() -> tuple[type[Any], ...]:
    # A function: read when hypothesis is imported, so the registry's classes are those registered by then.  The
    # base, actions (of supported names) and the catch-all notification have strategies of their own too.
    return (*REGISTRY.message_classes(), Action, UnknownNotification, CcebMessage)


#: The CCEB's descriptor (registered in :mod:`ccproto.protocols`).
PROTOCOL = ProtocolSpec(
    name="cceb",
    description="CCEB WebSocket API",
    transport="websocket",
    decode=decode,
    recognizes=_recognizes,
    checker="ccproto.cceb.checker:CcebConnectionChecker",
    shadow="ccproto.cceb.checker:CcebSessionShadow",
    testing="ccproto.testing.slices.cceb:SLICE",
    strategy_types=_strategy_types,
)
