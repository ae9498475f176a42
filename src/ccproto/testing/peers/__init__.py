"""Reference peers: pure (sans-I/O) implementations of every role, usable as fakes and as systems under test.

Each peer is driven by text and ``now`` only (see :class:`ReferencePeer`) and
built on ccproto's public API: the protocol's connection object checks every
message it sends, so a reference peer never breaks the protocol.
"""

from __future__ import annotations

from collections.abc import Callable

from ccproto.core.roles import ProtocolName, Role, RoleName
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.peers.bridge import ReferenceBridge, ReferenceBridgeClient
from ccproto.testing.peers.cceb import ReferenceCceb, ReferenceCcebClient
from ccproto.testing.peers.processor import ReferenceProcessor, ReferenceProcessorClient

__all__ = [
    "REFERENCE_PEERS",
    "ReferenceBridge",
    "ReferenceBridgeClient",
    "ReferenceCceb",
    "ReferenceCcebClient",
    "ReferencePeer",
    "ReferenceProcessor",
    "ReferenceProcessorClient",
    "reference_peer",
]

#: (protocol, role) -> a function making that role's reference peer with its defaults.
REFERENCE_PEERS: dict[tuple[str, Role], Callable[[], ReferencePeer]] = {
    ("bridge", Role.SERVER): ReferenceBridge,
    ("bridge", Role.CLIENT): ReferenceBridgeClient,
    ("processor", Role.SERVER): ReferenceProcessor,
    ("processor", Role.CLIENT): ReferenceProcessorClient,
    ("cceb", Role.SERVER): ReferenceCceb,
    ("cceb", Role.CLIENT): lambda: ReferenceCcebClient(token="reference-token", tenant="reference-tenant"),
}


def reference_peer(protocol: ProtocolName, role: Role | RoleName) -> ReferencePeer:
    """A new reference peer playing ``role`` of ``protocol`` (with its default settings)."""
    return REFERENCE_PEERS[(protocol, Role(role) if isinstance(role, str) else role)]()
