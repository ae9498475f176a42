"""The toy protocol's walker of valid conversations (its slice names it: ``toy_walker:WALKER``)."""

from __future__ import annotations

from hypothesis import strategies as st

from ccproto.core.roles import Role
from ccproto.testing.sequences import COMMON, RARE, Move, Step, Walker, draw_model
from toy_protocol import TABLE, Ping, Pong, State, ToyConnection, encode_value


class ToyWalker(Walker):
    """A walk of the toy's two-state table, observed by a :class:`ToyConnection`."""

    encode_value = staticmethod(encode_value)

    def __init__(self) -> None:
        super().__init__()
        self.observer = ToyConnection(Role.SERVER, sticky_errors=True)

    def deadline(self) -> float | None:
        return None

    def moves(self) -> list[tuple[int, Move]]:
        if self.observer.state is State.IDLE:
            return [(COMMON, self._ping), (RARE, self._close)]
        return [(COMMON, self._pong)]

    def _emit(self, message: Ping | Pong, sender: Role, now: float) -> Step:
        self.transitions.append(("TABLE", (self.observer.state, message.TYPE)))
        assert (self.observer.state, message.TYPE) in TABLE
        self.observer.observe(message, sender)
        return Step(sender=sender, message=message, now=now)

    def _ping(self, draw: st.DrawFn, now: float) -> Step:
        return self._emit(draw_model(draw, Ping, id=f"{self.next_serial():08x}"), Role.CLIENT, now)

    def _pong(self, draw: st.DrawFn, now: float) -> Step:
        waiting = self.observer.waiting_for
        assert waiting is not None
        return self._emit(draw_model(draw, Pong, id=waiting), Role.SERVER, now)

    def _close(self, draw: st.DrawFn, now: float) -> Step:
        return Step(sender=Role.CLIENT, message=None, close=(1000, ""), now=now)


#: The walker the slice names.
WALKER = ToyWalker
