"""The testing layer's part of each protocol: one slice per protocol, found through the protocol registry.

A slice says which reference peer plays each role (and with which defaults), which conformance machine tests
each role, and how ``ccproto serve`` makes the peers of one run.  The generic parts (the harness, the peers'
base, the live transports) look a protocol's slice up with :func:`slice_of` and hold no protocol's name.

A slice names its conformance machines (and its strategies, its walker, its mutation hooks) by import path: they
need hypothesis (``ccproto[testing]``), the peers and ``ccproto serve`` do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from ccproto.core.protocol import resolve
from ccproto.core.roles import Role, RoleName

if TYPE_CHECKING:
    from ccproto.protocols import ProtocolName
from ccproto.protocols import get, registered
from ccproto.testing.peers.base import ReferencePeer

__all__ = ["REFERENCE_PEERS", "ByProtocolAndRole", "ProtocolSlice", "reference_peer", "slice_of"]

V = TypeVar("V")


def _each_peer_its_own(cls: type[ReferencePeer]) -> Callable[[], ReferencePeer]:
    return cls


@attrs.frozen(kw_only=True)
class ProtocolSlice:
    """What the testing layer has for one protocol (a protocol spec's ``testing``)."""

    #: role -> the reference peer class that plays it.
    peers: Mapping[Role, type[ReferencePeer]]
    #: role of the system under test -> its conformance machine (a ``ConformanceMachine`` subclass), or the machine's
    #: import path (loaded on first use: machines need hypothesis).
    machines: Mapping[Role, object]
    #: role -> a function making that role's reference peer with its defaults; a role missing here is its class
    #: called with no arguments.
    defaults: Mapping[Role, Callable[[], ReferencePeer]] = attrs.field(factory=dict)
    #: The protocol's walker of valid conversations (``ccproto.testing.sequences``), or its import path.
    conversations: object = None
    #: The protocol's mutation hooks (``ccproto.testing.mutations``), or their import path.
    mutations: object = None
    #: The protocol's hypothesis strategies (a ``ccproto.testing.strategies.ProtocolStrategies``: its types'
    #: strategies, its patterns' faster strategies and simplest matches), or their import path.
    strategies: object = None
    #: How ``ccproto serve`` makes the peers of one run from a peer class and its role: what outlives a
    #: connection (sessions) is shared by the peers of the run.  Default: each its own.
    serve_factory: Callable[[type[ReferencePeer], Role], Callable[[], ReferencePeer]] = (
        lambda cls, role: _each_peer_its_own(cls))

    def peer(self, role: Role) -> ReferencePeer:
        """A new reference peer playing ``role``, with its defaults."""
        make = self.defaults.get(role)
        return make() if make is not None else self.peers[role]()

    def machine(self, role: Role) -> type:
        """The conformance machine testing a system under test playing ``role`` (imports it)."""
        return resolve(self.machines[role])  # type: ignore[no-any-return]


def slice_of(protocol: str) -> ProtocolSlice:
    """The testing slice of the registered protocol ``protocol`` (``ValueError`` if unknown or without one)."""
    found = get(protocol).load_testing()
    if not isinstance(found, ProtocolSlice):
        raise ValueError(f"the {protocol} protocol's testing slice is not a ProtocolSlice: {found!r}")
    return found


class ByProtocolAndRole(Mapping[tuple[str, Role], V], Generic[V]):
    """A live read-only mapping (protocol name, role) -> what every registered protocol's slice has for that role
    (its reference peer factory, its conformance machine): a protocol registered later is in it too."""

    def __init__(self, pick: Callable[[ProtocolSlice, Role], V]) -> None:
        self._pick = pick

    def __getitem__(self, key: tuple[str, Role]) -> V:
        protocol, role = key
        try:
            found = slice_of(protocol)
            if role not in found.peers:
                raise KeyError(key)
            return self._pick(found, role)
        except ValueError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[tuple[str, Role]]:
        for spec in registered():
            if spec.testing is not None:
                yield from ((spec.name, role) for role in slice_of(spec.name).peers)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{p}/{r.value}' for p, r in self)})"


#: (protocol, role) -> a function making that role's reference peer with its defaults: a live view of every
#: registered protocol's slice.
REFERENCE_PEERS: Mapping[tuple[str, Role], Callable[[], ReferencePeer]] = ByProtocolAndRole(
    lambda found, role: partial(found.peer, role))


def reference_peer(protocol: ProtocolName, role: Role | RoleName) -> ReferencePeer:
    """A new reference peer playing ``role`` of ``protocol`` (with its default settings)."""
    return slice_of(protocol).peer(Role(role) if isinstance(role, str) else role)
