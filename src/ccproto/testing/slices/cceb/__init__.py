"""The CCEB's testing slice: its reference peers (the client's default credentials), conformance machines and
serve factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ccproto.cceb import SessionStore
from ccproto.core.roles import Role
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices import ProtocolSlice
from ccproto.testing.slices.cceb.peers import ReferenceCceb, ReferenceCcebClient

__all__ = ["CLIENT_TENANT", "CLIENT_TOKEN", "SLICE"]

#: The token and tenant a reference CCEB client says hello with by default (the reference CCEB takes any): in
#: tests, in the harness and in ``ccproto serve cceb --role client``, alike.
CLIENT_TOKEN, CLIENT_TENANT = "reference-token", "reference-tenant"


def _client() -> ReferencePeer:
    return ReferenceCcebClient(token=CLIENT_TOKEN, tenant=CLIENT_TENANT)


def _serve_factory(cls: type[ReferencePeer], role: Role) -> Callable[[], ReferencePeer]:
    made: Any = cls
    if role is Role.SERVER:
        store = SessionStore()  # long-lived sessions outlive connections: one store for every peer of the run
        return lambda: made(store=store)
    return lambda: made(token=CLIENT_TOKEN, tenant=CLIENT_TENANT)


#: The CCEB's slice (the CCEB's spec names it).
SLICE = ProtocolSlice(
    peers={Role.SERVER: ReferenceCceb, Role.CLIENT: ReferenceCcebClient},
    conversations="ccproto.testing.slices.cceb.conversations:WALKER",
    mutations="ccproto.testing.slices.cceb.mutations:HOOKS",
    strategies="ccproto.testing.slices.cceb.strategies:STRATEGIES",
    machines={Role.SERVER: "ccproto.testing.slices.cceb.conformance:CcebServerConformance",
              Role.CLIENT: "ccproto.testing.slices.cceb.conformance:CcebClientConformance"},
    defaults={Role.CLIENT: _client},
    serve_factory=_serve_factory,
)
