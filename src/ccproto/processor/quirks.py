"""Readings of the Interaction Processor seed's inconsistencies, in one place.

Each constant here is documented in ``docs/quirks.md`` (rows P1-P12); change
the reading here and nothing else needs to move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ccproto.core.patterns import WHITESPACE, char_class, literal

__all__ = [
    "COMMAND_PADDING",
    "COMMAND_WHITESPACE",
    "UNKNOWN_COMMAND",
    "UNKNOWN_EVENT",
    "UNREGISTERED_RESPONSE",
    "commands_pattern",
    "is_padded",
    "trimmed_command",
]

#: Warning code: a ``command`` with surrounding whitespace (the seed's ``" getCapabilities "``).
#: Accepted as the trimmed command when that one is registered; written trimmed.
COMMAND_WHITESPACE = "command-whitespace"

#: What a command may be padded with: white space to Python or to ECMA-262 (U+FEFF included), so the
#: published schemas' padded-command pattern says exactly what ccproto trims (docs/quirks.md P1, S3).
COMMAND_PADDING = "".join(sorted(WHITESPACE))

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
    stripped = command.strip(COMMAND_PADDING)
    if stripped != command and registered(stripped):
        return stripped
    return None


def is_padded(command: str) -> bool:
    """Whether ``command`` has surrounding :data:`COMMAND_PADDING`."""
    return command.strip(COMMAND_PADDING) != command


def commands_pattern(commands: Iterable[str]) -> str:
    """The schema pattern of any of ``commands``, as written or padded (what :func:`trimmed_command` reads)."""
    pad = char_class(WHITESPACE)
    return f"^{pad}*(?:{'|'.join(literal(command) for command in sorted(commands))}){pad}*$"
