"""Readings of the Interaction Processor seed's inconsistencies, in one place.

Each constant here is documented in ``docs/quirks.md`` (rows P1-P12); change
the reading here and nothing else needs to move.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "COMMAND_WHITESPACE",
    "UNKNOWN_COMMAND",
    "UNKNOWN_EVENT",
    "UNREGISTERED_RESPONSE",
    "trimmed_command",
]

#: Warning code: a ``command`` with surrounding whitespace (the seed's ``" getCapabilities "``).
#: Accepted as the trimmed command when that one is registered; written trimmed.
COMMAND_WHITESPACE = "command-whitespace"

#: Warning code: a request or response whose ``command`` no registry knows (decoded whole).
UNKNOWN_COMMAND = "unknown-command"

#: Warning code: an event whose ``name`` no registry knows (decoded whole).
UNKNOWN_EVENT = "unknown-event"

#: Warning code: a success/confirm of a registered command whose response class is not registered.
UNREGISTERED_RESPONSE = "unregistered-response"


def trimmed_command(command: str, registered: Callable[[str], bool]) -> str | None:
    """The registered command ``command`` stands for once its surrounding whitespace is dropped.

    ``registered`` tells whether a command is registered (``Registry.has_command``).
    ``None`` when the command has no surrounding whitespace or the trimmed one is
    not registered (then it is an unknown command, kept exactly as written).
    """
    stripped = command.strip()
    if stripped != command and registered(stripped):
        return stripped
    return None
