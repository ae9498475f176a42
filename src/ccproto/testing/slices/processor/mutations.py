"""The Interaction Processor's part of :mod:`ccproto.testing.mutations`: its hooks and its convenience strategy."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from hypothesis import strategies as st

from ccproto.core.model import Model
from ccproto.core.roles import Role
from ccproto.processor import codec, models
from ccproto.testing.mutations import MessageSource, Mutation, MutationHooks, Parts, Rule, mutations
from ccproto.testing.slices.processor.strategies import processor_failures, processor_unknown_messages
from ccproto.testing.strategies import from_model

__all__ = ["HOOKS", "processor_mutations"]

_PROTOCOL = "processor"


def _dispatch(value: dict[str, Any]) -> type[Model]:
    registry = models.REGISTRY
    return codec.message_class_for(codec.normalise(value, [], registry), registry, [])


def _discriminators() -> Mapping[Parts, tuple[str, ...]]:
    # Asked each time: the registry may have learnt commands and events since.
    registry = models.REGISTRY
    return {
        ("command",): registry.commands(),
        ("result",): tuple(m.value for m in models.Result),
        ("name",): registry.events(),
    }


def _sources() -> tuple[MessageSource, ...]:
    unknown = (models.UnknownRequest, models.UnknownSuccess, models.UnknownConfirm, models.UnknownEvent)
    return (
        *(MessageSource(from_model(cls), (cls,)) for cls in models.REGISTRY.message_classes()),
        MessageSource(processor_failures(), (models.FailureResponse,)),
        MessageSource(processor_unknown_messages(), unknown),
    )


def _senders(cls: type[Model]) -> list[Role]:
    assert issubclass(cls, models.ProcessorMessage)
    return [cls.SENDER]


def _encode(message: Any) -> dict[str, Any]:
    # A deep copy: the mutations drawn here must not share the model's own dicts.
    return copy.deepcopy(codec.encode_value(message))


def _wrong_id() -> st.SearchStrategy[Mutation]:
    registry = models.REGISTRY
    pairs = [
        (success, request)
        for success in (registry.success_class(c) for c in registry.commands())
        if success is not None
        for request in (registry.request_class(c) for c in registry.commands() if c != success.COMMAND)
        if request is not None
    ]

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        # No correlation id: a success names its command, so one of a command nobody asked for answers nothing.
        success_cls, request_cls = draw(st.sampled_from(pairs))
        value = _encode(draw(from_model(success_cls)))
        request = _encode(draw(from_model(request_cls)))
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol=_PROTOCOL, pointer="/command", sender=Role.SERVER,
            value=value, valid=copy.deepcopy(value), context=((Role.CLIENT, request),),
        )

    return draw_mutation()


#: What the mutation engine needs of the Interaction Processor (the processor's slice names it).
HOOKS = MutationHooks(
    dispatch=_dispatch, discriminators=_discriminators, sources=_sources, senders=_senders, encode=codec.encode_value,
    wrong_id=_wrong_id,
)


def processor_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid Interaction Processor messages (see :func:`~ccproto.testing.mutations.mutations`)."""
    return mutations(_PROTOCOL, rules=rules)
