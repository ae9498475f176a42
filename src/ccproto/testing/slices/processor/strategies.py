"""The Interaction Processor's hypothesis strategies: any message a registry decodes, failures, unknown ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.core.model import Model
from ccproto.processor.models import (
    REGISTRY,
    FailureResponse,
    ProcessorMessage,
    Registry,
    ServiceInformation,
    UnknownConfirm,
    UnknownEvent,
    UnknownRequest,
    UnknownSuccess,
)
from ccproto.testing.strategies import Numbers, ProtocolStrategies, from_model, unregistered_names

__all__ = [
    "STRATEGIES",
    "processor_failures",
    "processor_messages",
    "processor_unknown_messages",
    "type_strategies",
]


def processor_unknown_messages(
    *, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[ProcessorMessage]:
    """Requests, responses and events of commands and events no registry knows (names start with ``x-``)."""
    def renamed(cls: type[Model], member: str) -> st.SearchStrategy[Any]:
        return st.tuples(from_model(cls, with_extra=with_extra, numbers=numbers), unregistered_names()).map(
            lambda pair: attrs.evolve(pair[0], **{member: pair[1]})
        )

    return st.one_of(
        renamed(UnknownRequest, "command"),
        renamed(UnknownSuccess, "command"),
        renamed(UnknownConfirm, "command"),
        renamed(UnknownEvent, "name"),
    )


def processor_failures(
    *, registry: Registry = REGISTRY, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[FailureResponse]:
    """Failure responses of registered and unregistered commands."""
    names = st.sampled_from(registry.commands()) | unregistered_names() if registry.commands() else unregistered_names()
    return st.tuples(from_model(FailureResponse, with_extra=with_extra, numbers=numbers), names).map(
        lambda pair: attrs.evolve(pair[0], command=pair[1])
    )


def processor_messages(
    *, registry: Registry = REGISTRY, with_extra: bool = True, unknown: bool = True,
    numbers: Numbers = Numbers.INTEROPERABLE,
) -> st.SearchStrategy[ProcessorMessage]:
    """Any Interaction Processor message ``registry`` decodes (and, with ``unknown``, unregistered ones)."""
    choices = [from_model(cls, with_extra=with_extra, numbers=numbers) for cls in registry.message_classes()]
    choices.append(processor_failures(registry=registry, with_extra=with_extra, numbers=numbers))
    if unknown:
        choices.append(processor_unknown_messages(with_extra=with_extra, numbers=numbers))
    return st.one_of(choices)


def type_strategies() -> Mapping[type[Any], st.SearchStrategy[Any]]:
    """The strategy ``st.from_type`` gives for each processor type (the spec's ``strategy_types``)."""
    return {
        **{cls: from_model(cls) for cls in (*REGISTRY.message_classes(), ServiceInformation)},
        FailureResponse: processor_failures(),
        ProcessorMessage: processor_messages(),
    }


#: The processor's strategies (its slice names them); its models have no pattern a fast strategy is needed for.
STRATEGIES = ProtocolStrategies(type_strategies=type_strategies)
