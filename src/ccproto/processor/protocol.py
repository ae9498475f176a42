"""The Interaction Processor's JSON commands as the layers above see them
(:class:`~ccproto.core.protocol.ProtocolSpec`)."""

from __future__ import annotations

from typing import Any

from ccproto.core.protocol import ProtocolSpec
from ccproto.processor.codec import decode
from ccproto.processor.models import REGISTRY, FailureResponse, ProcessorMessage, ServiceInformation

__all__ = ["PROTOCOL"]


def _recognizes(message: dict[str, Any]) -> bool:
    # A command, its answer (which repeats the command) or an event (a name and data, no CCEB type).
    return "command" in message or ("name" in message and "data" in message and "type" not in message)


def _strategy_types() -> tuple[type[Any], ...]:
    # A function: read when hypothesis is imported, so the registry's classes are those registered by then.  The
    # base, the failure response and the service information (not a registered class) have strategies too.
    return (*REGISTRY.message_classes(), ServiceInformation, FailureResponse, ProcessorMessage)


#: The processor's descriptor (registered in :mod:`ccproto.protocols`).
PROTOCOL = ProtocolSpec(
    name="processor",
    description="Interaction Processor JSON commands",
    transport="websocket",
    decode=decode,
    recognizes=_recognizes,
    checker="ccproto.processor.checker:ProcessorConnectionChecker",
    testing="ccproto.testing.slices.processor:SLICE",
    strategy_types=_strategy_types,
)
