"""The generated sections of ``docs/processor.md``: message table, the two tables and their diagrams."""

from __future__ import annotations

from ccproto.core.docgen import member_list, mermaid_block
from ccproto.processor import states
from ccproto.processor.models import (
    ALL_MESSAGE_CLASSES,
    REGISTRY,
    Event,
    FailureResponse,
    ProcessorMessage,
    Request,
    Response,
    Unknown,
)

__all__ = ["SECTIONS"]


def _wire_name(cls: type[ProcessorMessage]) -> str:
    if issubclass(cls, (Unknown, FailureResponse)):
        return "any"
    if issubclass(cls, (Request, Response)):
        return f"`{cls.COMMAND}`"
    assert issubclass(cls, Event)
    return f"`{cls.NAME}`"


def _kind(cls: type[ProcessorMessage]) -> str:
    if issubclass(cls, Request):
        return "request"
    if issubclass(cls, Response):
        return f"response (`{cls.RESULT.value}`)"
    return "event"


def message_table() -> str:
    """Markdown table: every built-in message class, its command or event name, its sender and members."""
    rows = [
        "| class | kind | command / name | sent by | members (beyond command/name/result) |",
        "|---|---|---|---|---|",
    ]
    for cls in ALL_MESSAGE_CLASSES:
        members = member_list(cls, skip=[("command",), ("name",)])
        sender = "client" if cls.SENDER.value == "client" else "processor"
        resource = ""
        if issubclass(cls, Request) and not issubclass(cls, Unknown):
            found = REGISTRY.resource_type(cls.COMMAND)
            resource = f" (resource `{found}`)" if found else ""
        rows.append(
            f"| `{cls.__name__}` | {_kind(cls)} | {_wire_name(cls)}{resource} | {sender} | {members} |"
        )
    return "\n".join(rows)


def exchange_diagram() -> str:
    """The exchange table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_exchange_diagram())


def exchange_table() -> str:
    """The exchange table itself, as Markdown."""
    rows = ["| oldest outstanding request of the command | sender | message | action |", "|---|---|---|---|"]
    for (exchange, sender, input_), action in states.EXCHANGE_TRANSITIONS.items():
        party = "client" if sender.value == "client" else "processor"
        rows.append(f"| {exchange.name} | {party} | {input_.value} | {action.value} |")
    return "\n".join(rows)


def report_diagram() -> str:
    """The report table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_report_diagram())


#: Section name -> generator, for ``docs/processor.md``.
SECTIONS = {
    "processor-messages": message_table,
    "processor-exchange-diagram": exchange_diagram,
    "processor-exchange-table": exchange_table,
    "processor-report-diagram": report_diagram,
}
