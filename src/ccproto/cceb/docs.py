"""The generated sections of ``docs/cceb.md``: messages, actions, the three tables and their diagrams."""

from __future__ import annotations

from ccproto.cceb import states
from ccproto.cceb.envelope import CONTACT_ID_SUBSTITUTES, RESERVED_ACTION_FIELDS
from ccproto.cceb.models import ALL_MESSAGE_CLASSES, REGISTRY, Ack, CcebMessage, Unknown
from ccproto.core.docgen import member_list, mermaid_block

__all__ = ["SECTIONS"]


def _senders(cls: type[CcebMessage]) -> str:
    return " / ".join("client" if role.value == "client" else "CCEB" for role in sorted(cls.SENDERS, key=str))


def message_table() -> str:
    """Markdown table: every built-in message class, its ``type``, its sender(s) and members."""
    rows = ["| class | `type` | sent by | members (beyond type/uuid) |", "|---|---|---|---|"]
    for cls in ALL_MESSAGE_CLASSES:
        message_type = "any other" if issubclass(cls, Unknown) else f"`{cls.TYPE}`"
        members = member_list(cls, skip=[("type",), ("uuid",)]) or "none"
        if cls is Ack:
            members = "none (`uuid` is the acknowledged message's)"
        rows.append(f"| `{cls.__name__}` | {message_type} | {_senders(cls)} | {members} |")
    return "\n".join(rows)


def action_list() -> str:
    """The supported actions and the fields a client never sends."""
    names = ", ".join(f"`{name}`" for name in REGISTRY.actions())
    reserved = ", ".join(f"`{name}`" for name in RESERVED_ACTION_FIELDS)
    substitutes = "; ".join(f"`{guid}` (send `{contact}`)" for guid, contact in CONTACT_ID_SUBSTITUTES.items())
    return (
        f"Supported actions ({len(REGISTRY.actions())}): {names}.\n\n"
        f"Never in `action_details`: the reserved {reserved}; and {substitutes}."
    )


def connection_diagram() -> str:
    """The connection table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_connection_diagram())


def connection_table() -> str:
    """The connection table itself, as Markdown."""
    rows = ["| state | sender | message | effect | next state |", "|---|---|---|---|---|"]
    for (state, sender, input_), (effect, target) in states.CONNECTION_TRANSITIONS.items():
        party = "client" if sender.value == "client" else "CCEB"
        rows.append(f"| {state.name} | {party} | {input_.value} | {effect.value} | {target.name} |")
    return "\n".join(rows)


def phone_validation_diagram() -> str:
    """The phone-validation table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_phone_validation_diagram())


def off_hook_diagram() -> str:
    """The off-hook table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_off_hook_diagram())


#: Section name -> generator, for ``docs/cceb.md``.
SECTIONS = {
    "cceb-messages": message_table,
    "cceb-actions": action_list,
    "cceb-connection-diagram": connection_diagram,
    "cceb-connection-table": connection_table,
    "cceb-phone-validation-diagram": phone_validation_diagram,
    "cceb-off-hook-diagram": off_hook_diagram,
}
