"""The CCEB's part of :mod:`ccproto.testing.mutations`: its hooks, its own rules and its convenience strategy."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

import attrs
from hypothesis import strategies as st

from ccproto.cceb import codec, envelope, models
from ccproto.core.convert import compile_pattern
from ccproto.core.model import Model
from ccproto.core.roles import Role
from ccproto.testing.mutations import (
    Candidate,
    MessageSource,
    Mutation,
    MutationHooks,
    Parts,
    Rule,
    Subject,
    mutations,
    other_id,
    with_member,
)
from ccproto.testing.slices.cceb.strategies import cceb_actions, cceb_unknown_notifications
from ccproto.testing.strategies import from_model

__all__ = ["HOOKS", "cceb_mutations"]

_PROTOCOL = "cceb"


def _dispatch(value: dict[str, Any]) -> type[Model]:
    return codec.message_class_for(value, models.REGISTRY, [])


def _discriminators() -> Mapping[Parts, tuple[str, ...]]:
    # Asked each time: the registry may have learnt notification types since.
    envelope_types = (envelope.HELLO, envelope.HELLO_REPLY, envelope.ACTION, envelope.ACK)
    return {(envelope.TYPE,): (*envelope_types, *models.REGISTRY.notification_types())}


def _sources() -> tuple[MessageSource, ...]:
    return (
        *(MessageSource(from_model(cls), (cls,)) for cls in models.REGISTRY.message_classes()
          if cls is not models.Action),
        MessageSource(cceb_actions(), (models.Action,)),
        MessageSource(cceb_unknown_notifications(), (models.UnknownNotification,)),
    )


def _senders(cls: type[Model]) -> list[Role]:
    assert issubclass(cls, models.CcebMessage)
    return sorted(cls.SENDERS, key=lambda role: role.value)


def _encode(message: Any) -> dict[str, Any]:
    # A deep copy: the mutations drawn here must not share the model's own dicts.
    return copy.deepcopy(codec.encode_value(message))


# -- the CCEB's own rules ---------------------------------------------------------------------------------------

_DETAILS: Parts = (envelope.DATA, envelope.ACTION_DETAILS)
_ACTION: Parts = (envelope.DATA, envelope.ACTION_NAME)


def _reserved_field(subject: Subject) -> list[Candidate]:
    if subject.cls is not models.Action:
        return []
    out: list[Candidate] = []
    for name in (*envelope.RESERVED_ACTION_FIELDS, *envelope.CONTACT_ID_SUBSTITUTES):
        # What a client would plausibly send: a GUID for the GUID fields, a flag for the flags.
        value: Any = subject.valid[envelope.UUID] if name.endswith("Guid") else "x"
        if name.startswith("is"):
            value = True
        out.append(subject.replaced((*_DETAILS, name), value))
    return out


def _unsupported_action(subject: Subject) -> list[Candidate]:
    if subject.cls is not models.Action:
        return []
    current = subject.valid[envelope.DATA][envelope.ACTION_NAME]
    regex = compile_pattern(envelope.ACTION_NAME_PATTERN)
    registry = models.REGISTRY
    near = (current + "V2", current[:1].lower() + current[1:], "Custom" + current, current.removesuffix("Event"))
    return [subject.replaced(_ACTION, new) for new in dict.fromkeys(near)
            if new != current and regex.search(new) and not registry.has_action(new)]


# -- wrong correlation ids ----------------------------------------------------------------------------------------


def _wrong_id() -> st.SearchStrategy[Mutation]:
    # Phone-validation and off-hook notifications move phases of their own; unknown ones only warn.
    plain = [cls for cls in models.REGISTRY.message_classes()
             if issubclass(cls, models.Notification)
             and cls not in (models.PhoneValidation, models.OffHook)]
    items = st.one_of(cceb_actions(), *(from_model(cls) for cls in plain))

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        hello = attrs.evolve(draw(from_model(models.Hello)), long_lived=None, session_key=None)
        reply = attrs.evolve(draw(from_model(models.HelloReply)), uuid=hello.uuid, session_key=None,
                             resumed=None)
        item = draw(items)
        owner = Role.CLIENT if isinstance(item, models.Action) else Role.SERVER
        wrong = other_id(item.uuid, 1)
        if wrong.lower() == hello.uuid.lower():
            wrong = other_id(item.uuid, 2)
        valid = _encode(models.Ack.of(item))
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol=_PROTOCOL, pointer="/uuid", sender=owner.peer,
            value=with_member(valid, (envelope.UUID,), wrong), valid=valid,
            context=((Role.CLIENT, _encode(hello)), (Role.SERVER, _encode(reply)), (owner, _encode(item))),
        )

    return draw_mutation()


#: What the mutation engine needs of the CCEB (the CCEB's slice names it).
HOOKS = MutationHooks(
    dispatch=_dispatch, discriminators=_discriminators, sources=_sources, senders=_senders, encode=codec.encode_value,
    wrong_id=_wrong_id,
    rules={Rule.RESERVED_FIELD: _reserved_field, Rule.UNSUPPORTED_ACTION: _unsupported_action},
)


def cceb_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid CCEB messages (see :func:`~ccproto.testing.mutations.mutations`)."""
    return mutations(_PROTOCOL, rules=rules)
