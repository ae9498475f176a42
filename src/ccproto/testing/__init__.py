"""Tools for testing implementations against ccproto's protocols (needs the ``testing`` extra for most).

``pip install 'ccproto[testing]'`` brings hypothesis.

* :mod:`~ccproto.testing.strategies`: a strategy for every message type (``st.from_type`` works as soon as
  hypothesis is imported: its entry point, :mod:`~ccproto.testing._hypothesis`, registers them); each protocol's
  own strategies (``bridge_messages``, ...) are in its slice, ``slices/<protocol>/strategies.py``;
* :mod:`~ccproto.testing.mutations`: invalid messages, each labelled with the rule it breaks;
* :mod:`~ccproto.testing.sequences`: valid conversations, walking each protocol's transition tables;
* :mod:`~ccproto.testing.peers`: reference peers, pure implementations of every role;
* :mod:`~ccproto.testing.harness` and :mod:`~ccproto.testing.conformance`: the conformance harness;
* :mod:`~ccproto.testing.pytest_plugin`: ``conformance_test(...)``, one line per role in a pytest module.

Names are loaded on first use, so the pytest plugin (and ``import ccproto.testing``)
works without hypothesis; using a name that needs it says which extra to install.
Type checkers see every name with its real type (the ``TYPE_CHECKING`` imports below).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The names of ``_EXPORTS`` as type checkers see them (at run time they load on first use, below);
    # tests/test_typing.py checks that the two lists agree.
    from ccproto.testing.conformance import machine_for as machine_for
    from ccproto.testing.conformance import run_conformance as run_conformance
    from ccproto.testing.harness import Adapter as Adapter
    from ccproto.testing.harness import AsyncAdapter as AsyncAdapter
    from ccproto.testing.harness import BaseAdapter as BaseAdapter
    from ccproto.testing.harness import Capture as Capture
    from ccproto.testing.harness import ConformanceFailure as ConformanceFailure
    from ccproto.testing.harness import PeerAdapter as PeerAdapter
    from ccproto.testing.harness import sync_adapter as sync_adapter
    from ccproto.testing.live import ClockHookError as ClockHookError
    from ccproto.testing.live import LiveAdapter as LiveAdapter
    from ccproto.testing.live import advance_clock as advance_clock
    from ccproto.testing.live import serve_peer as serve_peer
    from ccproto.testing.mutations import RULES_BY_PROTOCOL as RULES_BY_PROTOCOL
    from ccproto.testing.mutations import Mutation as Mutation
    from ccproto.testing.mutations import Rule as Rule
    from ccproto.testing.peers import ReferencePeer as ReferencePeer
    from ccproto.testing.sequences import Conversation as Conversation
    from ccproto.testing.sequences import Step as Step
    from ccproto.testing.sequences import conversations as conversations
    from ccproto.testing.slices import REFERENCE_PEERS as REFERENCE_PEERS
    from ccproto.testing.slices import reference_peer as reference_peer
    from ccproto.testing.slices.bridge.mutations import bridge_mutations as bridge_mutations
    from ccproto.testing.slices.bridge.strategies import bridge_messages as bridge_messages
    from ccproto.testing.slices.cceb.mutations import cceb_mutations as cceb_mutations
    from ccproto.testing.slices.cceb.strategies import cceb_actions as cceb_actions
    from ccproto.testing.slices.cceb.strategies import cceb_messages as cceb_messages
    from ccproto.testing.slices.cceb.strategies import cceb_unknown_notifications as cceb_unknown_notifications
    from ccproto.testing.slices.processor.mutations import processor_mutations as processor_mutations
    from ccproto.testing.slices.processor.strategies import processor_failures as processor_failures
    from ccproto.testing.slices.processor.strategies import processor_messages as processor_messages
    from ccproto.testing.slices.processor.strategies import processor_unknown_messages as processor_unknown_messages
    from ccproto.testing.strategies import Numbers as Numbers
    from ccproto.testing.strategies import from_model as from_model
    from ccproto.testing.strategies import json_floats as json_floats
    from ccproto.testing.strategies import json_integers as json_integers
    from ccproto.testing.strategies import json_values as json_values
    from ccproto.testing.strategies import mutated_json as mutated_json
    from ccproto.testing.strategies import simplest as simplest

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ("Numbers", "from_model", "json_floats", "json_integers", "json_values", "mutated_json", "simplest"),
        "ccproto.testing.strategies",
    ),
    # Each protocol's own strategies live in its slice.
    "bridge_messages": "ccproto.testing.slices.bridge.strategies",
    **dict.fromkeys(
        ("cceb_actions", "cceb_messages", "cceb_unknown_notifications"), "ccproto.testing.slices.cceb.strategies"
    ),
    **dict.fromkeys(
        ("processor_failures", "processor_messages", "processor_unknown_messages"),
        "ccproto.testing.slices.processor.strategies",
    ),
    # Not ``mutations`` itself: the name is its module's (``ccproto.testing.mutations.mutations`` is the function).
    **dict.fromkeys(("Mutation", "Rule", "RULES_BY_PROTOCOL"), "ccproto.testing.mutations"),
    # Each protocol's convenience strategy lives in its slice, next to its mutation hooks.
    "bridge_mutations": "ccproto.testing.slices.bridge.mutations",
    "cceb_mutations": "ccproto.testing.slices.cceb.mutations",
    "processor_mutations": "ccproto.testing.slices.processor.mutations",
    **dict.fromkeys(("Conversation", "Step", "conversations"), "ccproto.testing.sequences"),
    **dict.fromkeys(("REFERENCE_PEERS", "reference_peer"), "ccproto.testing.slices"),
    "ReferencePeer": "ccproto.testing.peers",
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
