"""The Processor Bridge control destination as the layers above see it
(:class:`~ccproto.core.protocol.ProtocolSpec`)."""

from __future__ import annotations

from typing import Any

from ccproto.bridge.codec import decode
from ccproto.bridge.models import ALL_MESSAGE_CLASSES, BridgeMessage
from ccproto.core.protocol import ProtocolSpec

__all__ = ["PROTOCOL"]


def _recognizes(message: dict[str, Any]) -> bool:
    # Every bridge message, and nothing of the other protocols, is a header and a body.
    return "header" in message and "body" in message


def _strategy_types() -> tuple[type[Any], ...]:
    # Every message class, and their base: each has a strategy of its own (ccproto.testing's).
    return (*ALL_MESSAGE_CLASSES, BridgeMessage)


#: The bridge's descriptor (registered in :mod:`ccproto.protocols`).
PROTOCOL = ProtocolSpec(
    name="bridge",
    description="Processor Bridge control destination",
    transport="framed",
    decode=decode,
    recognizes=_recognizes,
    checker="ccproto.bridge.checker:BridgeConnectionChecker",
    testing="ccproto.testing.slices.bridge:SLICE",
    strategy_types=_strategy_types,
    stream_reader="ccproto.bridge.streams:read_bridge_streams",
)
