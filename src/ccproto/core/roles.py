"""Roles shared by every protocol."""

from __future__ import annotations

import enum
from typing import Literal

__all__ = ["IdentityEnum", "Role", "RoleName"]

#: A :class:`Role` by its value (``Role(name)``), as the testing APIs accept it beside the member itself.
RoleName = Literal["server", "client"]


class IdentityEnum(enum.Enum):
    """An enum whose members hash by identity.

    Members are singletons and ``Enum`` compares them by identity, so an identity
    hash agrees with equality.  Why: CPython's ``Enum.__hash__`` is a Python
    function (``hash(self._name_)``), and the transition tables are dicts keyed by
    tuples of members, looked up for every message; ``object.__hash__`` is a C slot.
    Hash order was never stable anyway (string hashes are randomised per process).
    """

    __hash__ = object.__hash__


class Role(IdentityEnum):
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
        return _PEERS[self]


# A dict rather than ``Role.SERVER if ...``: reading members off an Enum class is slow, and this is per message.
_PEERS = {Role.CLIENT: Role.SERVER, Role.SERVER: Role.CLIENT}
