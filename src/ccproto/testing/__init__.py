"""Tools for testing implementations against ccproto's protocols (needs the ``testing`` extra for most).

``pip install 'ccproto[testing]'`` brings hypothesis.

* :mod:`~ccproto.testing.strategies`: a strategy for every message type (``st.from_type`` works);
* :mod:`~ccproto.testing.mutations`: invalid messages, each labelled with the rule it breaks;
* :mod:`~ccproto.testing.sequences`: valid conversations, walking each protocol's transition tables;
* :mod:`~ccproto.testing.peers`: reference peers, pure implementations of every role;
* :mod:`~ccproto.testing.harness` and :mod:`~ccproto.testing.conformance`: the conformance harness;
* :mod:`~ccproto.testing.pytest_plugin`: ``conformance_test(...)``, one line per role in a pytest module.

Names are loaded on first use, so the pytest plugin (and ``import ccproto.testing``)
works without hypothesis; using a name that needs it says which extra to install.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "Numbers", "bridge_messages", "cceb_actions", "cceb_messages", "cceb_unknown_notifications",
            "from_model", "json_floats", "json_integers", "json_values", "mutated_json", "processor_failures",
            "processor_messages", "processor_unknown_messages", "simplest",
        ),
        "ccproto.testing.strategies",
    ),
    # Not ``mutations`` itself: the name is its module's (``ccproto.testing.mutations.mutations`` is the function).
    **dict.fromkeys(
        ("Mutation", "Rule", "RULES_BY_PROTOCOL", "bridge_mutations", "cceb_mutations", "processor_mutations"),
        "ccproto.testing.mutations",
    ),
    **dict.fromkeys(("Conversation", "Step", "conversations"), "ccproto.testing.sequences"),
    **dict.fromkeys(("REFERENCE_PEERS", "ReferencePeer", "reference_peer"), "ccproto.testing.peers"),
    **dict.fromkeys(
        ("Adapter", "AsyncAdapter", "BaseAdapter", "Capture", "ConformanceFailure", "PeerAdapter", "sync_adapter"),
        "ccproto.testing.harness",
    ),
    **dict.fromkeys(("machine_for", "run_conformance"), "ccproto.testing.conformance"),
    **dict.fromkeys(("ClockHookError", "LiveAdapter", "advance_clock", "serve_peer"), "ccproto.testing.live"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ccproto.testing' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name == "hypothesis":
            raise ImportError("ccproto.testing needs hypothesis: pip install 'ccproto[testing]'") from exc
        raise
    globals()[name] = value
    return value
