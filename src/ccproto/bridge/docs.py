"""The generated sections of ``docs/bridge.md``: message table and state diagrams."""

from __future__ import annotations

from ccproto.bridge import states
from ccproto.bridge.models import ALL_MESSAGE_CLASSES, FailureResponse
from ccproto.core.docgen import member_list, mermaid_block

__all__ = ["SECTIONS"]


def message_table() -> str:
    """Markdown table: every message class, its header type/name, its sender and its declared members."""
    rows = ["| class | type | name | sent by | members (beyond type/name) |", "|---|---|---|---|---|"]
    for cls in ALL_MESSAGE_CLASSES:
        members = member_list(cls)
        name = "any request's name" if cls is FailureResponse else f"`{cls.NAME.value if cls.NAME else ''}`"
        sender = "bridge" if cls.TYPE.sender.value == "server" else "client"
        rows.append(f"| `{cls.__name__}` | `{cls.TYPE.value}` | {name} | {sender} | {members} |")
    return "\n".join(rows)


def phase_diagram() -> str:
    """The phase table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_diagram())


def status_diagram() -> str:
    """The server-status table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_status_diagram())


def phase_table() -> str:
    """The phase table itself, as Markdown."""
    rows = ["| phase | sender | message | next phase |", "|---|---|---|---|"]
    for (phase, sender, input_), target in states.PHASE_TRANSITIONS.items():
        party = "bridge" if sender.value == "server" else "client"
        rows.append(f"| {phase.name} | {party} | `{input_.value}` | {target.name} |")
    return "\n".join(rows)


#: Section name -> generator, for ``docs/bridge.md``.
SECTIONS = {
    "bridge-messages": message_table,
    "bridge-phase-diagram": phase_diagram,
    "bridge-phase-table": phase_table,
    "bridge-status-diagram": status_diagram,
}
