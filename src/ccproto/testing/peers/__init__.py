"""Reference peers: pure (sans-I/O) implementations of every role, usable as fakes and as systems under test.

Each peer is driven by text and ``now`` only (see :class:`ReferencePeer`) and
built on ccproto's public API: the protocol's connection object checks every
message it sends, so a reference peer never breaks the protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from ccproto.core.roles import ProtocolName, Role, RoleName
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.peers.bridge import ReferenceBridge, ReferenceBridgeClient
from ccproto.testing.peers.cceb import ReferenceCceb, ReferenceCcebClient
from ccproto.testing.peers.processor import ReferenceProcessor, ReferenceProcessorClient
from ccproto.testing.slices import ByProtocolAndRole, slice_of

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

#: (protocol, role) -> a function making that role's reference peer with its defaults: a live view of every
#: registered protocol's testing slice (``ccproto.testing.slices``).
REFERENCE_PEERS: Mapping[tuple[str, Role], Callable[[], ReferencePeer]] = ByProtocolAndRole(
    lambda found, role: partial(found.peer, role))


def reference_peer(protocol: ProtocolName, role: Role | RoleName) -> ReferencePeer:
    """A new reference peer playing ``role`` of ``protocol`` (with its default settings)."""
    return slice_of(protocol).peer(Role(role) if isinstance(role, str) else role)
