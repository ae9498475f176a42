"""The bridge's hypothesis strategies: any control-destination message, and fast strategies for its patterns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from ccproto.bridge.models import ALL_MESSAGE_CLASSES, CONTROL_TARGET_PATTERN, GUID_PATTERN, BridgeMessage
from ccproto.core.patterns import WHITESPACE
from ccproto.testing.strategies import Numbers, ProtocolStrategies, any_case_uuids, from_model

__all__ = ["STRATEGIES", "bridge_messages", "type_strategies"]


def bridge_messages(
    *, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[BridgeMessage]:
    """Any control-destination message."""
    return st.one_of([from_model(cls, with_extra=with_extra, numbers=numbers) for cls in ALL_MESSAGE_CLASSES])


def type_strategies() -> Mapping[type[Any], st.SearchStrategy[Any]]:
    """The strategy ``st.from_type`` gives for each bridge type (the spec's ``strategy_types``)."""
    return {
        **{cls: from_model(cls) for cls in ALL_MESSAGE_CLASSES},
        BridgeMessage: bridge_messages(),
    }


#: The bridge's strategies (its slice names them).
STRATEGIES = ProtocolStrategies(
    type_strategies=type_strategies,
    fast_patterns={
        GUID_PATTERN: any_case_uuids(),
        # The pattern's class is "not WHITESPACE" (either engine's white space), for every code point.
        CONTROL_TARGET_PATTERN: st.text(
            st.characters(codec="utf-8").filter(lambda c: c not in WHITESPACE), min_size=1, max_size=12
        ).map(lambda name: name + ".CONTROL"),
    },
    simplest_matches={
        GUID_PATTERN: "00000000-0000-0000-0000-000000000000",
        CONTROL_TARGET_PATTERN: "0.CONTROL",
    },
)
