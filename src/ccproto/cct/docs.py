"""The generated sections of ``docs/cct.md``: the supervisor's configuration, its transition diagram and table."""

from __future__ import annotations

import attrs

from ccproto.cct import states
from ccproto.cct.config import SupervisorConfig
from ccproto.core.docgen import mermaid_block

__all__ = ["SECTIONS"]


def supervisor_diagram() -> str:
    """The supervisor's table as a fenced Mermaid diagram."""
    return mermaid_block(states.mermaid_diagram())


def supervisor_table() -> str:
    """The supervisor's table itself, as Markdown (one row per step; a guarded row has two)."""
    rows = ["| state | input | if | effect | next state |", "|---|---|---|---|---|"]
    for (state, input_), transition in states.TRANSITIONS.items():
        for step in transition.steps:
            if transition.guard is None:
                condition = ""
            elif step is transition.then:
                condition = transition.guard.value
            else:
                condition = f"not {transition.guard.value}"
            rows.append(f"| {state.name} | {input_.value} | {condition} | {step.effect.value} | {step.target.name} |")
    return "\n".join(rows)


def config_table() -> str:
    """``SupervisorConfig``'s fields and defaults, as Markdown."""
    defaults = SupervisorConfig()
    rows = ["| field | default |", "|---|---|"]
    for field in attrs.fields(SupervisorConfig):
        rows.append(f"| `{field.name}` | `{getattr(defaults, field.name)!r}` |")
    return "\n".join(rows)


#: Section name -> generator, for ``docs/cct.md``.
SECTIONS = {
    "cct-supervisor-config": config_table,
    "cct-supervisor-diagram": supervisor_diagram,
    "cct-supervisor-table": supervisor_table,
}
