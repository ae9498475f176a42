"""The toy protocol's mutation hooks (its slice names them: ``toy_mutations:HOOKS``)."""

from __future__ import annotations

from hypothesis import strategies as st

import toy_protocol
from ccproto.core.model import Model
from ccproto.core.roles import Role
from ccproto.testing.mutations import MessageSource, Mutation, MutationHooks, Rule, other_id, with_member
from ccproto.testing.strategies import from_model
from toy_protocol import Ping, Pong


def _wrong_id() -> st.SearchStrategy[Mutation]:
    """A pong answering another ping than the one before it."""

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        ping = draw(from_model(Ping))
        valid = toy_protocol.encode_value(Pong(id=ping.id))
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol=toy_protocol.NAME, pointer="/id", sender=Role.SERVER,
            value=with_member(valid, ("id",), other_id(ping.id, 1)), valid=valid,
            context=((Role.CLIENT, toy_protocol.encode_value(ping)),),
        )

    return draw_mutation()


def _senders(cls: type[Model]) -> list[Role]:
    assert issubclass(cls, toy_protocol.ToyMessage)
    return [cls.SENDER]


#: What the mutation engine needs of the toy.
HOOKS = MutationHooks(
    dispatch=toy_protocol.message_class,
    discriminators=lambda: {("type",): tuple(toy_protocol.CLASSES)},
    sources=lambda: tuple(MessageSource(from_model(cls), (cls,)) for cls in (Ping, Pong)),
    senders=_senders,
    encode=toy_protocol.encode_value,
    wrong_id=_wrong_id,
)
