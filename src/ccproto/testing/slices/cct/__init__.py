"""CCT's testing slice: a conformance machine for a client's session supervisor, and its strategies.

CCT has no reference *peer*: a CCT client speaks SOAP over HTTP to a server whose payloads are not public, so
``ccproto serve cct`` is not offered. What is tested is the client's session supervisor, through
:class:`~ccproto.testing.slices.cct.conformance.SupervisorAdapter`, against the pure
:class:`~ccproto.testing.slices.cct.server.ReferenceCctServer`: ``run_cct_conformance`` in
:mod:`ccproto.testing.slices.cct.conformance`.
"""

from __future__ import annotations

from ccproto.core.roles import Role
from ccproto.testing.slices import ProtocolSlice

__all__ = ["SLICE"]

#: CCT's slice (CCT's spec names it): no peers; the client's supervisor has a conformance machine.
SLICE = ProtocolSlice(
    peers={},
    machines={Role.CLIENT: "ccproto.testing.slices.cct.conformance:CctSupervisorConformance"},
    strategies="ccproto.testing.slices.cct.strategies:STRATEGIES",
)
