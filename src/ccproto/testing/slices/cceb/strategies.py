"""The CCEB's hypothesis strategies: any message a registry decodes, supported actions, unknown notifications, and
fast strategies for its patterns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.cceb.envelope import ACTION_NAME_PATTERN, UUID_PATTERN
from ccproto.cceb.models import REGISTRY, Action, CcebMessage, Registry, UnknownNotification
from ccproto.testing.strategies import Numbers, ProtocolStrategies, any_case_uuids, from_model, unregistered_names

__all__ = [
    "STRATEGIES",
    "cceb_actions",
    "cceb_messages",
    "cceb_unknown_notifications",
    "type_strategies",
]

_IDENTIFIER_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"


def cceb_actions(
    *, registry: Registry = REGISTRY, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[Any]:
    """Actions whose ``data.action`` is one of ``registry``'s supported actions."""
    return st.tuples(
        from_model(Action, with_extra=with_extra, numbers=numbers), st.sampled_from(registry.actions())
    ).map(lambda pair: attrs.evolve(pair[0], action=pair[1]))


def cceb_unknown_notifications(
    *, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[UnknownNotification]:
    """Notifications of types no registry knows (types start with ``x-``)."""
    return st.tuples(
        from_model(UnknownNotification, with_extra=with_extra, numbers=numbers), unregistered_names()
    ).map(lambda pair: attrs.evolve(pair[0], type=pair[1]))


def cceb_messages(
    *, registry: Registry = REGISTRY, with_extra: bool = True, unknown: bool = True,
    numbers: Numbers = Numbers.INTEROPERABLE,
) -> st.SearchStrategy[CcebMessage]:
    """Any CCEB message ``registry`` decodes (and, with ``unknown``, notifications of unregistered types)."""
    choices = [
        from_model(cls, with_extra=with_extra, numbers=numbers)
        for cls in registry.message_classes() if cls is not Action
    ]
    choices.append(cceb_actions(registry=registry, with_extra=with_extra, numbers=numbers))
    if unknown:
        choices.append(cceb_unknown_notifications(with_extra=with_extra, numbers=numbers))
    return st.one_of(choices)


def type_strategies() -> Mapping[type[Any], st.SearchStrategy[Any]]:
    """The strategy ``st.from_type`` gives for each CCEB type (the spec's ``strategy_types``)."""
    return {
        **{cls: from_model(cls) for cls in REGISTRY.message_classes()},
        Action: cceb_actions(),
        UnknownNotification: cceb_unknown_notifications(),
        CcebMessage: cceb_messages(),
    }


#: The CCEB's strategies (its slice names them).
STRATEGIES = ProtocolStrategies(
    type_strategies=type_strategies,
    fast_patterns={
        UUID_PATTERN: any_case_uuids(),
        ACTION_NAME_PATTERN: st.builds(
            lambda first, rest: first + rest,
            st.sampled_from(_IDENTIFIER_START),
            st.text(st.sampled_from(_IDENTIFIER_START + "0123456789"), max_size=20),
        ),
    },
    simplest_matches={
        UUID_PATTERN: "00000000-0000-0000-0000-000000000000",
        ACTION_NAME_PATTERN: "A",
    },
)
