"""Reference peers: pure (sans-I/O) implementations of every role, usable as fakes and as systems under test.

Each peer is driven by text and ``now`` only (see :class:`ReferencePeer`) and
built on ccproto's public API: the protocol's connection object checks every
message it sends, so a reference peer never breaks the protocol.  Each protocol's peers live in its testing
slice (``ccproto.testing.slices.<protocol>.peers``); ``reference_peer(protocol, role)`` (in
:mod:`ccproto.testing.slices`, and ``ccproto.testing``) makes the one a protocol's slice names.
"""

from __future__ import annotations

from ccproto.testing.peers.base import ReferencePeer

__all__ = ["ReferencePeer"]
