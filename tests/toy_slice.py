"""The toy protocol's testing slice (see toy_protocol.py): reference peers, conformance machines, and what the walker
and the mutations need (conversations, mutation hooks)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from ccproto.core.errors import ProtocolError
from ccproto.core.roles import Role
from ccproto.testing.harness import ConformanceMachine
from ccproto.testing.peers.base import ReferencePeer
from ccproto.testing.slices import ProtocolSlice
from toy_protocol import NAME, Ping, Pong, State, ToyConnection, encode


class ToyServer(ReferencePeer):
    """Answers every ping with its pong."""

    protocol = NAME
    role = Role.SERVER

    def __init__(self) -> None:
        super().__init__()
        self.conn = ToyConnection(Role.SERVER, sticky_errors=False)

    def connect(self, *, now: float) -> list[str]:
        self.conn = ToyConnection(Role.SERVER, sticky_errors=False)
        return []

    def answer(self, ping: Ping) -> Pong:
        """The pong a ping gets (a planted bug overrides it)."""
        return Pong(id=ping.id)

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        try:
            message = self.conn.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
            return []
        if not isinstance(message, Ping):
            return []
        pong = self.answer(message)
        if pong.id == message.id:
            return [self.conn.send(pong)]
        # A bug planted by a subclass: sent as it is (the connection object would refuse it).
        self.conn.state, self.conn.waiting_for = State.IDLE, None
        return [encode(pong)]

    def stimulate(self, name: str, *, now: float) -> list[str]:
        return []

    def disconnect(self, *, now: float) -> list[str]:
        return []


class WrongIdServer(ToyServer):
    """A planted bug: the pong carries another id."""

    def answer(self, ping: Ping) -> Pong:
        return Pong(id="ffffffff" if ping.id != "ffffffff" else "00000000")


class ToyClient(ReferencePeer):
    """Pings when stimulated, and checks the pong."""

    protocol = NAME
    role = Role.CLIENT
    STIMULI = ("ping",)

    def __init__(self) -> None:
        super().__init__()
        self.conn = ToyConnection(Role.CLIENT, sticky_errors=False)
        self.ids = (f"{number:08x}" for number in itertools.count(1))

    def connect(self, *, now: float) -> list[str]:
        self.conn = ToyConnection(Role.CLIENT, sticky_errors=False)
        return []

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        try:
            self.conn.receive_message(text, now=now)
        except ProtocolError as exc:
            self._refused(exc)
        return []

    def stimulate(self, name: str, *, now: float) -> list[str]:
        if name != "ping" or self.conn.state is not State.IDLE:
            return []
        return [self.conn.send(Ping(id=next(self.ids)))]

    def disconnect(self, *, now: float) -> list[str]:
        return []


class _ToyMachine(ConformanceMachine):
    protocol = NAME

    def expire(self, now: float) -> list[str]:
        waiting = self.conn.waiting_for
        if waiting is None:
            return []
        self.conn.state, self.conn.waiting_for = State.IDLE, None  # let it go, as a timer would
        return [f"ping {waiting!r}"]

    def owed(self) -> list[str]:
        waiting = self.conn.waiting_for
        if waiting is None or self.sut_role is not Role.SERVER:
            return []
        return [f"ping {waiting!r}"]


class ToyServerConformance(_ToyMachine):
    """The harness pings; the system under test must pong with the same id."""

    sut_role = Role.SERVER

    def new_connection(self) -> ToyConnection:
        return ToyConnection(Role.CLIENT)

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        self.start_connection(data)

    @precondition(lambda self: self.open and self.conn.state is State.IDLE)
    @rule(data=st.data())
    def ping(self, data: st.DataObject) -> None:
        self.transmit(self.draw(data, Ping, "ping"), data)


class ToyClientConformance(_ToyMachine):
    """The system under test pings when stimulated; the harness pongs."""

    sut_role = Role.CLIENT

    def new_connection(self) -> ToyConnection:
        return ToyConnection(Role.SERVER)

    @initialize(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        self.start_connection(data)

    def react(self, message: Any, data: st.DataObject | None) -> None:
        if isinstance(message, Ping):
            self.transmit(Pong(id=message.id), data)


#: The toy's slice (its spec names it: "toy_slice:SLICE").
SLICE = ProtocolSlice(
    peers={Role.SERVER: ToyServer, Role.CLIENT: ToyClient},
    machines={Role.SERVER: ToyServerConformance, Role.CLIENT: ToyClientConformance},
    conversations="toy_walker:WALKER",
    mutations="toy_mutations:HOOKS",
)
