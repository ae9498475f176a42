"""The bridge's testing slice: its reference peers and conformance machines."""

from __future__ import annotations

from ccproto.core.roles import Role
from ccproto.testing.peers.bridge import ReferenceBridge, ReferenceBridgeClient
from ccproto.testing.slices import ProtocolSlice

__all__ = ["SLICE"]

#: The bridge's slice (the bridge's spec names it).
SLICE = ProtocolSlice(
    peers={Role.SERVER: ReferenceBridge, Role.CLIENT: ReferenceBridgeClient},
    conversations="ccproto.testing.slices.bridge.conversations:WALKER",
    mutations="ccproto.testing.slices.bridge.mutations:HOOKS",
    machines={Role.SERVER: "ccproto.testing.conformance.bridge:BridgeServerConformance",
              Role.CLIENT: "ccproto.testing.conformance.bridge:BridgeClientConformance"},
)
