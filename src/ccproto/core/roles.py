"""Roles shared by every protocol."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    """Which side of a connection a party plays.

    ``SERVER`` is the Processor Bridge, the Interaction Processor or the CCEB;
    ``CLIENT`` is the CTI connector, the processor client or the CCEB client.
    The values match the ``from`` field of a capture record.
    """

    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> Role:
        """The other side."""
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT
