"""The bridge's part of :mod:`ccproto.testing.mutations`: its hooks and its convenience strategy."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.bridge import codec, models
from ccproto.core.model import Model
from ccproto.core.model import pointer as json_pointer
from ccproto.core.roles import Role
from ccproto.testing.mutations import (
    MessageSource,
    Mutation,
    MutationHooks,
    Parts,
    Rule,
    mutations,
    other_id,
    with_member,
)
from ccproto.testing.strategies import from_model

__all__ = ["HOOKS", "bridge_mutations"]

_PROTOCOL = "bridge"


def _dispatch(value: dict[str, Any]) -> type[Model]:
    return codec.message_class_for(codec.normalise(value, []))


def _discriminators() -> Mapping[Parts, tuple[str, ...]]:
    return {
        ("header", "type"): tuple(m.value for m in models.MessageType),
        ("header", "name"): tuple(m.value for m in models.Name),
        ("header", "result"): tuple(m.value for m in models.Result),
    }


def _sources() -> tuple[MessageSource, ...]:
    return tuple(MessageSource(from_model(cls), (cls,)) for cls in models.ALL_MESSAGE_CLASSES)


def _senders(cls: type[Model]) -> list[Role]:
    assert issubclass(cls, models.BridgeMessage)
    return [cls.TYPE.sender]


def _encode(message: Any) -> dict[str, Any]:
    # A deep copy: the mutations drawn here must not share the model's own dicts.
    return copy.deepcopy(codec.encode_value(message))


def _wrong_id() -> st.SearchStrategy[Mutation]:
    requests = [cls for cls in models.ALL_MESSAGE_CLASSES if issubclass(cls, models.Request)]

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        cls = draw(st.sampled_from(requests))
        request = draw(from_model(cls))
        answered = {"target": request.target, "request_id": request.request_id}
        if draw(st.booleans()):
            answer: models.Response = attrs.evolve(draw(from_model(cls.RESPONSE)), **answered)
        else:
            name = models.RequestName(request.message_name.value)
            answer = attrs.evolve(draw(from_model(models.FailureResponse)), name=name, **answered)
        # The channel opens with serverstatus; createsession also needs the client's first status report.
        opening = models.ServerStatusRequest(target=request.target, request_id=other_id(request.request_id, 2))
        before: list[tuple[Role, models.BridgeMessage]] = []
        if cls is not models.ServerStatusRequest:
            before.append((Role.SERVER, opening))
        if cls is models.CreateSessionRequest:
            status = models.ServerStatusChanged(status=models.ServerStatus.IN_SERVICE)
            before.append((Role.CLIENT, status))
        before.append((Role.SERVER, request))
        valid = _encode(answer)
        parts: Parts = ("header", "requestId")
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol=_PROTOCOL, pointer=json_pointer(parts), sender=Role.CLIENT,
            value=with_member(valid, parts, other_id(request.request_id, 1)), valid=valid,
            context=tuple((role, _encode(m)) for role, m in before),
        )

    return draw_mutation()


#: What the mutation engine needs of the bridge (the bridge's slice names it).
HOOKS = MutationHooks(
    dispatch=_dispatch, discriminators=_discriminators, sources=_sources, senders=_senders, encode=codec.encode_value,
    wrong_id=_wrong_id,
)


def bridge_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid control-destination messages (see :func:`~ccproto.testing.mutations.mutations`)."""
    return mutations(_PROTOCOL, rules=rules)
