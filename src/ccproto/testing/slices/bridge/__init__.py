"""The bridge's testing slice: its reference peers and conformance machines."""

from __future__ import annotations

from ccproto.core.roles import Role
from ccproto.testing.slices import ProtocolSlice
from ccproto.testing.slices.bridge.peers import ReferenceBridge, ReferenceBridgeClient

__all__ = ["SLICE"]

#: The bridge's slice (the bridge's spec names it).
SLICE = ProtocolSlice(
    peers={Role.SERVER: ReferenceBridge, Role.CLIENT: ReferenceBridgeClient},
    conversations="ccproto.testing.slices.bridge.conversations:WALKER",
    mutations="ccproto.testing.slices.bridge.mutations:HOOKS",
    strategies="ccproto.testing.slices.bridge.strategies:STRATEGIES",
    machines={Role.SERVER: "ccproto.testing.slices.bridge.conformance:BridgeServerConformance",
              Role.CLIENT: "ccproto.testing.slices.bridge.conformance:BridgeClientConformance"},
)
