"""What every reference peer is: a pure (sans-I/O) implementation of one role, driven by text and ``now``.

A peer never opens a socket or reads a clock.  Its owner (a test, the
conformance harness's :class:`~ccproto.testing.harness.PeerAdapter`, a real
transport) tells it when a connection opens (``connect``) and closes (``disconnect``), hands it each text
message the other side sent, and writes whatever texts the peer returns, in
order.  ``stimulate`` asks the peer to do something on its own initiative (what
a user, a switch or a timer would make a real implementation do); the names it
understands are in ``STIMULI``.
"""

from __future__ import annotations

from typing import ClassVar

from ccproto.core.roles import Role

__all__ = ["ReferencePeer"]


class ReferencePeer:
    """Base of the reference peers: one role of one protocol, over any number of successive connections."""

    #: ``"bridge"``, ``"processor"`` or ``"cceb"`` (the ``protocol`` of a capture record).
    protocol: ClassVar[str] = ""
    #: The role this peer plays.
    role: ClassVar[Role] = Role.SERVER
    #: Names :meth:`stimulate` understands.
    STIMULI: ClassVar[tuple[str, ...]] = ()
    #: How many of the newest errors ``errors`` keeps: a peer that keeps going after each refused message must
    #: not keep every one (a flood of them would grow memory without bound); ``error_count`` counts them all.
    MAX_ERRORS_KEPT: ClassVar[int] = 100

    def __init__(self) -> None:
        #: The newest protocol errors the other side caused (at most ``MAX_ERRORS_KEPT``), newest last (a peer
        #: keeps going after one).  A list, so it still compares with ``[]`` and slices.
        self.errors: list[Exception] = []
        #: How many errors were ever recorded (``errors`` keeps only the newest).
        self.error_count = 0

    def _refused(self, exc: Exception) -> None:
        """Record a protocol error the other side caused: counted, and kept among the newest."""
        self.error_count += 1
        errors = self.errors
        errors.append(exc)
        excess = len(errors) - max(self.MAX_ERRORS_KEPT, 0)
        if excess > 0:
            del errors[:excess]  # at most MAX_ERRORS_KEPT pointers moved: cheap at the default bound

    def connect(self, *, now: float) -> list[str]:
        """A new connection opened; returns what this peer sends first (often nothing)."""
        raise NotImplementedError

    def receive(self, text: str | bytes, *, now: float) -> list[str]:
        """The other side sent ``text`` (bytes as they crossed: the connection object checks their UTF-8); returns
        this peer's replies, in order."""
        raise NotImplementedError

    def stimulate(self, name: str, *, now: float) -> list[str]:
        """Do ``name`` (one of ``STIMULI``) now; returns what that makes this peer send (may be nothing).

        A stimulus the current state does not allow is a no-op, never an error.
        """
        raise NotImplementedError

    def disconnect(self, *, now: float) -> list[str]:
        """The other side closed the connection (or it dropped); what outlives it stays (sessions, keys)."""
        raise NotImplementedError

    def advance(self, *, now: float) -> list[str]:
        """Time moved to ``now`` with nothing received; returns what timers make this peer send."""
        return []
