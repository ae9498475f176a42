"""The Interaction Processor's testing slice: its reference peers, conformance machines and serve factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices import ProtocolSlice
from ccproto.testing.slices.processor.peers import AgentSessions, ReferenceProcessor, ReferenceProcessorClient

__all__ = ["SLICE"]


def _serve_factory(cls: type[ReferencePeer], role: Role) -> Callable[[], ReferencePeer]:
    if role is Role.SERVER:
        sessions = AgentSessions()  # agent sessions outlive connections: one table for every peer of the run
        served: Any = cls
        return lambda: served(sessions=sessions)
    return cls


#: The processor's slice (the processor's spec names it).
SLICE = ProtocolSlice(
    peers={Role.SERVER: ReferenceProcessor, Role.CLIENT: ReferenceProcessorClient},
    conversations="ccproto.testing.slices.processor.conversations:WALKER",
    mutations="ccproto.testing.slices.processor.mutations:HOOKS",
    strategies="ccproto.testing.slices.processor.strategies:STRATEGIES",
    machines={Role.SERVER: "ccproto.testing.slices.processor.conformance:ProcessorServerConformance",
              Role.CLIENT: "ccproto.testing.slices.processor.conformance:ProcessorClientConformance"},
    serve_factory=_serve_factory,
)
