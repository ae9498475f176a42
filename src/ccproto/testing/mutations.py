"""Hypothesis strategies of *invalid* messages, each labelled with the rule it breaks.

A :class:`Mutation` is a valid message (drawn from :mod:`ccproto.testing.strategies`
and encoded with the protocol's ``encode_value``) with one place broken, so an
integrator's test can assert that their implementation rejects each kind::

    @given(mutations("cceb"))
    def test_rejects(mutation):
        with pytest.raises(MyProtocolError):
            my_server.handle(mutation.text())

Valid by construction, never generate-then-filter: the place is chosen from the
places the model spec says the rule applies to in the drawn message.  Where a
place changes which class the codec dispatches to (a request's ``result``, a
header's ``name``), the mutation is kept only when the class it now claims to
be cannot hold it either (a member it requires is absent), which is decided from
the JSON, without decoding.  Every mutation is really invalid: the protocol's
``decode_value`` raises a ``ProtocolError`` and ``validate_message`` reports an
error; a ``wrong-correlation-id`` mutation is valid alone but answers nothing
outstanding once its ``context`` has been seen.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ccproto.bridge import codec as bridge_codec
from ccproto.bridge import models as bridge_models
from ccproto.cceb import codec as cceb_codec
from ccproto.cceb import envelope
from ccproto.cceb import models as cceb_models
from ccproto.core.convert import compile_pattern
from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import dumps
from ccproto.core.model import (
    PRETTY_AS_REPR,
    ExactMembersWhen,
    FieldSpec,
    JsonValue,
    Kind,
    Model,
    ModelSpec,
    OnlyWhen,
    PrettyAsRepr,
    model_spec,
)
from ccproto.core.model import pointer as json_pointer
from ccproto.core.roles import Role
from ccproto.processor import codec as processor_codec
from ccproto.processor import models as processor_models
from ccproto.testing.strategies import (
    cceb_actions,
    cceb_unknown_notifications,
    from_model,
    processor_failures,
    processor_unknown_messages,
)

__all__ = [
    "PROTOCOLS",
    "RULES_BY_PROTOCOL",
    "Mutation",
    "Rule",
    "bridge_mutations",
    "cceb_mutations",
    "mutations",
    "processor_mutations",
]

#: The protocols mutations are made for.
PROTOCOLS: tuple[str, ...] = ("bridge", "processor", "cceb")


class Rule(enum.Enum):
    """The rule a mutation breaks (values are stable, kebab-case)."""

    #: A member of the wrong JSON type (``"false"`` for a bool, ``1.5`` for an int, ...).
    WRONG_TYPE = "wrong-type"
    #: A required member (or constant, or declared object) left out.
    MISSING_REQUIRED = "missing-required"
    #: An enum member replaced by a value of the right type that is no member.
    BAD_ENUM = "bad-enum"
    #: A string that must match a pattern (GUID, uuid, target, comma list) that does not.
    BAD_PATTERN = "bad-pattern"
    #: A constant (a header's ``type``/``name``/``result``, a ``command``) replaced.
    BAD_CONSTANT = "bad-constant"
    #: An integer out of its bounds, an array shorter than its minimum.
    OUT_OF_RANGE = "out-of-range"
    #: ``null`` for an optional member (absent is the only way to leave it out).
    NULL_MEMBER = "null-member"
    #: A member that must be absent (``result`` on a request, ``timeout`` outside ``offering``).
    FORBIDDEN_MEMBER = "forbidden-member"
    #: The whole message, or an object it declares, replaced by a non-object.
    NOT_AN_OBJECT = "not-an-object"
    #: CCEB: ``action_details`` holds a field the CCEB sets itself, or an agent GUID.
    RESERVED_FIELD = "reserved-field"
    #: CCEB: ``data.action`` is a well-formed name that is no supported action.
    UNSUPPORTED_ACTION = "unsupported-action"
    #: A valid response or ack whose correlation id names nothing outstanding (needs ``context``).
    WRONG_CORRELATION_ID = "wrong-correlation-id"

    @property
    def needs_context(self) -> bool:
        """Whether the message is invalid only after its ``context`` (else it is invalid on its own)."""
        return self is Rule.WRONG_CORRELATION_ID


@attrs.frozen(kw_only=True)
class Mutation:
    """An invalid message, the rule it breaks and where.

    ``value`` is JSON (dicts, lists, str, int, float, bool, None; no tuples); it is
    an object except for ``not-an-object`` at the root.  ``context`` lists the
    valid messages (sender, JSON) that must be seen before it, in order.  The
    repr shows none of the messages (they may hold passwords and tokens).
    """

    rule: Rule
    protocol: str
    value: JsonValue = attrs.field(repr=False)
    pointer: str
    valid: dict[str, JsonValue] = attrs.field(repr=False)
    sender: Role
    context: tuple[tuple[Role, dict[str, JsonValue]], ...] = attrs.field(default=(), repr=False)

    # Hypothesis prints a failing example's attrs objects field by field, ``repr=False`` ones too: the repr
    # (which shows none of the messages) is what it prints instead.
    _repr_pretty_: ClassVar[PrettyAsRepr] = PRETTY_AS_REPR

    def text(self) -> str:
        """The invalid message's compact JSON text."""
        return dumps(self.value)


# -- JSON helpers ------------------------------------------------------------------------------

Parts = tuple[str | int, ...]
_MISSING: Any = object()


def _get(value: Any, parts: Parts) -> Any:
    node = value
    for part in parts:
        if isinstance(part, int):
            if type(node) is not list or not 0 <= part < len(node):
                return _MISSING
        elif type(node) is not dict or part not in node:
            return _MISSING
        node = node[part]
    return node


def _with(value: Any, parts: Parts, new: Any) -> Any:
    """A deep copy of ``value`` with the member at ``parts`` set to ``new`` (its parent must exist)."""
    if not parts:
        return copy.deepcopy(new)
    out = copy.deepcopy(value)
    parent = _get(out, parts[:-1])
    parent[parts[-1]] = copy.deepcopy(new)
    return out


def _without(value: Any, parts: Parts) -> Any:
    """A deep copy of ``value`` without the member at ``parts``."""
    out = copy.deepcopy(value)
    del _get(out, parts[:-1])[parts[-1]]
    return out


def _same(a: Any, b: Any) -> bool:
    # JSON equality for scalars: True is not 1, 1.0 is not 1.
    return type(a) is type(b) and a == b


# -- where rules apply: the spec's places in one JSON value -------------------------------------


@attrs.frozen
class _Site:
    """A place the spec declares, in a concrete JSON value."""

    kind: str  # "field", "const", "object" (a declared object), "item" (an object inside an array of models)
    parts: Parts
    owner: ModelSpec
    base: Parts  # where the owner's object is
    field: FieldSpec | None = None
    const: Any = None

    @property
    def top(self) -> bool:
        """Whether the place belongs to the message's own model (not a nested one)."""
        return not self.base


def _sites(cls: type[Model], value: Any) -> list[_Site]:
    found: list[_Site] = []
    _walk(model_spec(cls), value, (), found)
    return found


def _walk(spec: ModelSpec, root: Any, base: Parts, found: list[_Site]) -> None:
    found.extend(_Site("object", base + path, spec, base) for path in spec.objects[1:])
    found.extend(_Site("const", base + path, spec, base, const=const) for path, const in spec.consts.items())
    for field in spec.fields:
        parts = base + field.path
        found.append(_Site("field", parts, spec, base, field=field))
        current = _get(root, parts)
        kind, items = field.type.kind, field.type.items
        if kind is Kind.MODEL and type(current) is dict:
            _walk(model_spec(field.type.python_type), root, parts, found)
        elif kind is Kind.ARRAY and items is not None and items.kind is Kind.MODEL and type(current) is list:
            for index, item in enumerate(current):
                if type(item) is dict:
                    found.append(_Site("item", (*parts, index), spec, base))
                    _walk(model_spec(items.python_type), root, (*parts, index), found)


# -- the codecs' dispatch, and whether a mutated value is sure to break -------------------------


def _dispatch(protocol: str, value: dict[str, Any]) -> type[Model]:
    """The class the protocol's codec would structure ``value`` as (raises ``ProtocolError`` if none)."""
    if protocol == "bridge":
        return bridge_codec.message_class_for(bridge_codec.normalise(value, []))
    if protocol == "processor":
        registry = processor_models.REGISTRY
        return processor_codec.message_class_for(processor_codec.normalise(value, [], registry), registry, [])
    return cceb_codec.message_class_for(value, cceb_models.REGISTRY, [])


def _discriminators(protocol: str) -> Mapping[Parts, tuple[str, ...]]:
    """Members the codec dispatches on, and the values it knows for each."""
    if protocol == "bridge":
        return {
            ("header", "type"): tuple(m.value for m in bridge_models.MessageType),
            ("header", "name"): tuple(m.value for m in bridge_models.Name),
            ("header", "result"): tuple(m.value for m in bridge_models.Result),
        }
    if protocol == "processor":
        registry = processor_models.REGISTRY
        return {
            ("command",): registry.commands(),
            ("result",): tuple(m.value for m in processor_models.Result),
            ("name",): registry.events(),
        }
    envelope_types = (envelope.HELLO, envelope.HELLO_REPLY, envelope.ACTION, envelope.ACK)
    return {(envelope.TYPE,): (*envelope_types, *cceb_models.REGISTRY.notification_types())}


_JSON_KINDS: dict[Kind, Callable[[Any], bool]] = {
    Kind.STR: lambda v: type(v) is str,
    Kind.INT: lambda v: type(v) is int or (type(v) is float and v.is_integer()),  # 2.0 is 2 (N3)
    Kind.BOOL: lambda v: type(v) is bool,
    Kind.FLOAT: lambda v: type(v) in (int, float),
    Kind.ARRAY: lambda v: type(v) is list,
    Kind.OBJECT: lambda v: type(v) is dict,
}


def _cannot_hold(cls: type[Model], value: Any) -> bool:
    """Whether the strict structuring of ``value`` as ``cls`` is sure to fail.

    Only what the structure hook checks first and for certain: declared objects
    that are absent or not objects, constants that differ, required members that
    are absent or of the wrong JSON type, members that must be absent.
    """
    if type(value) is not dict:
        return True
    spec = model_spec(cls)
    for path in spec.objects[1:]:
        if type(_get(value, path)) is not dict:
            return True
    for path in spec.forbidden:
        if _get(value, path) is not _MISSING:
            return True
    for path, const in spec.consts.items():
        if not _same(_get(value, path), const):
            return True
    for field in spec.fields:
        current = _get(value, field.path)
        if current is _MISSING:
            if field.required:
                return True
            continue
        kind = Kind.STR if field.wire.comma_list else field.type.kind
        check = _JSON_KINDS.get(kind)
        if check is not None and current is not None and not check(current):
            return True
        if kind is Kind.MODEL and field.required and _cannot_hold(field.type.python_type, current):
            return True
    return False


def _breaks(protocol: str, cls: type[Model], value: Any) -> bool:
    """Whether the mutated ``value`` of a ``cls`` message is sure to be refused.

    A mutation that keeps the class the codec dispatches to breaks that class's
    own rule; one that changes it is sure only if the new class cannot hold it.
    """
    if type(value) is not dict:
        return True
    try:
        target = _dispatch(protocol, value)
    except ProtocolError:
        return True
    return target is cls or _cannot_hold(target, value)


# -- the rules: candidate mutations of one value ------------------------------------------------


_DELETE: Any = object()


@attrs.frozen
class _Candidate:
    """One way to break a message: set (or delete) the member at ``parts`` of ``valid``."""

    parts: Parts
    new: Any  # the new member, or _DELETE
    valid: dict[str, Any]  # the valid message it was made from (adjusted where the rule needed it)

    def value(self) -> Any:
        """The mutated message (built only for the candidates that need it: copies are not free)."""
        if self.new is _DELETE:
            return _without(self.valid, self.parts)
        return _with(self.valid, self.parts, self.new)


@attrs.frozen
class _Subject:
    """One drawn message, ready to be mutated."""

    protocol: str
    cls: type[Model]
    valid: dict[str, Any]
    sites: list[_Site]

    def fields(self, *kinds: Kind, present: bool = True) -> Iterator[tuple[_Site, FieldSpec, Any]]:
        """Field places (of ``kinds``, if given) with their current value (only present ones unless asked)."""
        for site in self.sites:
            if site.kind != "field" or site.field is None:
                continue
            if kinds and site.field.type.kind not in kinds:
                continue
            current = _get(self.valid, site.parts)
            if present and current is _MISSING:
                continue
            if current is _MISSING and type(_get(self.valid, site.parts[:-1])) is not dict:
                continue  # an optional member's parent that is itself absent
            yield site, site.field, current

    def replaced(self, parts: Parts, new: Any, valid: dict[str, Any] | None = None) -> _Candidate:
        return _Candidate(parts, new, self.valid if valid is None else valid)


def _wire_kind(field: FieldSpec) -> Kind:
    return Kind.STR if field.wire.comma_list else field.type.kind


def _enum_values(field: FieldSpec) -> list[Any]:
    return [member.value for member in field.type.python_type]


def _fraction(current: int) -> float:
    """A number that is no integer, near ``current``: ``2.0`` would be one (docs/quirks.md N3), ``2.5`` is not."""
    return current + 0.5 if abs(current) < 2**52 else 0.5  # past 2**52 a double has no halves


def _wrong_types(field: FieldSpec, current: Any) -> list[Any]:
    kind = _wire_kind(field)
    if kind is Kind.ENUM:
        if all(type(v) is int for v in _enum_values(field)):
            return [str(current), _fraction(current), True]
        return [0, True, [current]]
    if kind is Kind.STR:
        return [0, False, [current]]
    if kind is Kind.INT:
        return [_fraction(current), str(current), True]
    if kind is Kind.BOOL:
        return [str(current).lower(), int(current)]
    if kind is Kind.FLOAT:
        return [str(current), True]
    if kind is Kind.ARRAY:
        return [{}, "x"]
    return []  # objects: not-an-object; any JSON value: nothing is wrong


def _wrong_type(subject: _Subject) -> list[_Candidate]:
    return [subject.replaced(site.parts, new) for site, field, current in subject.fields()
            for new in _wrong_types(field, current)]


def _missing_required(subject: _Subject) -> list[_Candidate]:
    places = [site.parts for site in subject.sites if site.kind in ("const", "object")]
    places += [site.parts for site, field, _ in subject.fields() if field.required]
    return [_Candidate(parts, _DELETE, subject.valid) for parts in places]


def _bad_enum(subject: _Subject) -> list[_Candidate]:
    out: list[_Candidate] = []
    for site, field, current in subject.fields(Kind.ENUM):
        members = _enum_values(field)
        if all(type(v) is int for v in members):
            near: list[Any] = [max(members) + 1, min(members) - 1]
        else:
            near = [current.upper(), current.lower(), current.title(), current + "-", current.replace("-", "_"), ""]
        seen: list[Any] = []
        for new in near:
            if not any(_same(new, m) for m in members) and new not in seen:
                seen.append(new)
                out.append(subject.replaced(site.parts, new))
    return out


def _bad_pattern(subject: _Subject) -> list[_Candidate]:
    out: list[_Candidate] = []
    for site, field, current in subject.fields(Kind.STR, Kind.ARRAY):
        if field.wire.comma_list:
            # An empty item: what a trailing or doubled comma gives.
            near = [current + ",", "," + current]
        elif field.wire.pattern and field.type.kind is Kind.STR:
            regex = compile_pattern(field.wire.pattern)
            near = [v for v in (current + "\n", "{" + current + "}", current[:-1], " " + current, "")
                    if not regex.search(v)]
        else:
            continue
        out.extend(subject.replaced(site.parts, new) for new in dict.fromkeys(near))
    return out


def _other_const(const: Any) -> Any:
    if type(const) is str:
        return const + "!"
    if type(const) is bool:
        return not const
    return [const]


def _bad_constant(subject: _Subject) -> list[_Candidate]:
    known = _discriminators(subject.protocol)
    out: list[_Candidate] = []
    for site in subject.sites:
        if site.kind != "const":
            continue
        others = [*(known.get(tuple(site.parts), ()) if site.top else ()), _other_const(site.const)]
        out.extend(subject.replaced(site.parts, new) for new in others if not _same(new, site.const))
    return out


def _allowing(subject: _Subject, site: _Site) -> list[dict[str, Any]]:
    """Valid messages (``subject.valid``, or it with a selector changed) where ``site``'s member may be present."""
    relative = site.parts[len(site.base):]
    rules = [r for r in site.owner.rules if isinstance(r, OnlyWhen) and r.member == relative]
    if not rules:
        return [subject.valid]
    rule = rules[0]
    selector = site.base + rule.selector
    if any(_same(_get(subject.valid, selector), v) for v in rule.values):
        return [subject.valid]
    return [_obeying(_with(subject.valid, selector, rule.values[0]), site.owner, site.base)]


def _obeying(value: dict[str, Any], spec: ModelSpec, base: Parts) -> dict[str, Any]:
    """``value`` without the members its (changed) selectors no longer allow in the object of ``spec`` at ``base``."""
    for rule in spec.rules:
        if isinstance(rule, OnlyWhen):
            member = base + rule.member
            allowed = any(_same(_get(value, base + rule.selector), v) for v in rule.values)
            if not allowed and _get(value, member) is not _MISSING:
                value = _without(value, member)
    return value


def _out_of_range(subject: _Subject) -> list[_Candidate]:
    out: list[_Candidate] = []
    for site, field, current in subject.fields(Kind.INT, Kind.ARRAY, present=False):
        info = field.wire
        if field.type.kind is Kind.ARRAY and info.min_items:
            if type(current) is list:
                out.append(subject.replaced(site.parts, current[: info.min_items - 1]))
            continue
        if field.type.kind is not Kind.INT:
            continue
        bounds = [b for b in (None if info.minimum is None else info.minimum - 1,
                              None if info.maximum is None else info.maximum + 1) if b is not None]
        for valid in _allowing(subject, site) if current is _MISSING else [subject.valid]:
            out.extend(subject.replaced(site.parts, new, valid) for new in bounds)
    return out


def _null_member(subject: _Subject) -> list[_Candidate]:
    return [subject.replaced(site.parts, None) for site, field, _ in subject.fields(present=False)
            if not field.required]


def _placeholder(field: FieldSpec) -> Any:
    """A valid wire value for ``field`` (for members added where they are forbidden)."""
    kind = field.type.kind
    if kind is Kind.INT:
        return field.wire.minimum if field.wire.minimum is not None else 0
    if kind is Kind.ENUM:
        return _enum_values(field)[0]
    simple: dict[Kind, Any] = {Kind.BOOL: False, Kind.FLOAT: 0.0, Kind.ARRAY: [], Kind.OBJECT: {}, Kind.ANY: {}}
    return simple.get(kind, "x")


def _forbidden_member(subject: _Subject) -> list[_Candidate]:
    known = _discriminators(subject.protocol)
    owners: dict[Parts, ModelSpec] = {}
    for site in subject.sites:
        owners.setdefault(site.base, site.owner)
    out: list[_Candidate] = []
    for base, spec in owners.items():
        for path in spec.forbidden:
            values = [*known.get(tuple(path), ()), "x"]
            out.extend(subject.replaced(base + path, new) for new in values)
        for rule in spec.rules:
            selector = base + rule.selector
            current = _get(subject.valid, selector)
            selector_field = spec.field_at(rule.selector)
            assert selector_field is not None
            if isinstance(rule, OnlyWhen):
                member = spec.field_at(rule.member)
                assert member is not None
                if any(_same(current, v) for v in rule.values):
                    if selector_field.type.kind is not Kind.ENUM:
                        continue
                    others = [v for v in _enum_values(selector_field) if not any(_same(v, a) for a in rule.values)]
                    valids = [_obeying(_with(subject.valid, selector, v), spec, base) for v in others]
                else:
                    valids = [subject.valid]
                out.extend(subject.replaced(base + rule.member, _placeholder(member), v) for v in valids)
            elif isinstance(rule, ExactMembersWhen):
                valid = subject.valid
                if not _same(current, rule.value):
                    exact = {m: "x" for m in rule.members}
                    valid = _with(_with(valid, selector, rule.value), base + rule.target, exact)
                    valid = _obeying(valid, spec, base)
                extra = "extra" if "extra" not in rule.members else "extra-member"
                out.append(subject.replaced((*base, *rule.target, extra), "x", valid))
    return out


def _not_an_object(subject: _Subject) -> list[_Candidate]:
    # A list of messages, and scalars; not a bare string, which ``validate_message`` would read as JSON text.
    out = [_Candidate((), new, subject.valid) for new in ([subject.valid], [], None, 0, True)]
    places = [site.parts for site in subject.sites if site.kind in ("object", "item")]
    places += [site.parts for site, _, _ in subject.fields(Kind.MODEL, Kind.OBJECT)]
    not_objects: tuple[Any, ...] = ([], "x", 0)
    out.extend(subject.replaced(parts, new) for parts in places for new in not_objects)
    return out


_DETAILS: Parts = (envelope.DATA, envelope.ACTION_DETAILS)
_ACTION: Parts = (envelope.DATA, envelope.ACTION_NAME)


def _reserved_field(subject: _Subject) -> list[_Candidate]:
    if subject.cls is not cceb_models.Action:
        return []
    out: list[_Candidate] = []
    for name in (*envelope.RESERVED_ACTION_FIELDS, *envelope.CONTACT_ID_SUBSTITUTES):
        # What a client would plausibly send: a GUID for the GUID fields, a flag for the flags.
        value: Any = subject.valid[envelope.UUID] if name.endswith("Guid") else "x"
        if name.startswith("is"):
            value = True
        out.append(subject.replaced((*_DETAILS, name), value))
    return out


def _unsupported_action(subject: _Subject) -> list[_Candidate]:
    if subject.cls is not cceb_models.Action:
        return []
    current = subject.valid[envelope.DATA][envelope.ACTION_NAME]
    regex = compile_pattern(envelope.ACTION_NAME_PATTERN)
    registry = cceb_models.REGISTRY
    near = (current + "V2", current[:1].lower() + current[1:], "Custom" + current, current.removesuffix("Event"))
    return [subject.replaced(_ACTION, new) for new in dict.fromkeys(near)
            if new != current and regex.search(new) and not registry.has_action(new)]


_CANDIDATES: dict[Rule, Callable[[_Subject], list[_Candidate]]] = {
    Rule.WRONG_TYPE: _wrong_type,
    Rule.MISSING_REQUIRED: _missing_required,
    Rule.BAD_ENUM: _bad_enum,
    Rule.BAD_PATTERN: _bad_pattern,
    Rule.BAD_CONSTANT: _bad_constant,
    Rule.OUT_OF_RANGE: _out_of_range,
    Rule.NULL_MEMBER: _null_member,
    Rule.FORBIDDEN_MEMBER: _forbidden_member,
    Rule.NOT_AN_OBJECT: _not_an_object,
    Rule.RESERVED_FIELD: _reserved_field,
    Rule.UNSUPPORTED_ACTION: _unsupported_action,
}


def _moves_dispatch(discriminators: Collection[Parts], parts: Parts) -> bool:
    """Whether a change at ``parts`` may change the class the codec dispatches to."""
    return any(d[: len(parts)] == parts or parts[: len(d)] == d for d in discriminators)


def _candidates(rule: Rule, protocol: str, cls: type[Model], valid: dict[str, Any]) -> list[_Candidate]:
    subject = _Subject(protocol, cls, valid, _sites(cls, valid))
    discriminators = tuple(_discriminators(protocol))
    return [c for c in _CANDIDATES[rule](subject)
            if not _moves_dispatch(discriminators, c.parts) or _breaks(protocol, cls, c.value())]


# -- what to draw the valid messages from -------------------------------------------------------


@attrs.frozen
class _Source:
    """A strategy of valid messages and the classes it draws."""

    strategy: st.SearchStrategy[Any]
    classes: tuple[type[Model], ...]


def _sources(protocol: str) -> tuple[_Source, ...]:
    if protocol == "bridge":
        return tuple(_Source(from_model(cls), (cls,)) for cls in bridge_models.ALL_MESSAGE_CLASSES)
    if protocol == "processor":
        unknown = (processor_models.UnknownRequest, processor_models.UnknownSuccess,
                   processor_models.UnknownConfirm, processor_models.UnknownEvent)
        return (
            *(_Source(from_model(cls), (cls,)) for cls in processor_models.REGISTRY.message_classes()),
            _Source(processor_failures(), (processor_models.FailureResponse,)),
            _Source(processor_unknown_messages(), unknown),
        )
    return (
        *(_Source(from_model(cls), (cls,)) for cls in cceb_models.REGISTRY.message_classes()
          if cls is not cceb_models.Action),
        _Source(cceb_actions(), (cceb_models.Action,)),
        _Source(cceb_unknown_notifications(), (cceb_models.UnknownNotification,)),
    )


def _skeleton(cls: type[Model]) -> dict[str, Any]:
    """A minimal wire value of ``cls`` (its objects, constants and required members), to tell where rules apply."""
    spec = model_spec(cls)
    value: dict[str, Any] = {}
    for path in spec.objects[1:]:
        _get(value, path[:-1])[path[-1]] = {}
    for path, const in spec.consts.items():
        _get(value, path[:-1])[path[-1]] = const
    for field in spec.fields:
        kind = field.type.kind
        if not field.required:
            continue
        member: Any = _placeholder(field)
        if kind is Kind.MODEL:
            member = _skeleton(field.type.python_type)
        elif kind is Kind.ARRAY and field.type.items is not None:
            count = field.wire.min_items or 1
            items = field.type.items
            if field.wire.comma_list:
                member = "a"
            elif items.kind is Kind.MODEL:
                member = [_skeleton(items.python_type) for _ in range(count)]
            else:
                member = [_placeholder(FieldSpec(attr="", wire=field.wire, type=items, required=True))] * count
        elif field.wire.pattern:
            member = "a"
        _get(value, field.path[:-1])[field.path[-1]] = member
    return value


def _applies(rule: Rule, protocol: str, source: _Source) -> bool:
    return any(_candidates(rule, protocol, cls, _skeleton(cls)) for cls in source.classes)


def _senders(protocol: str, cls: type[Model]) -> list[Role]:
    if protocol == "bridge":
        assert issubclass(cls, bridge_models.BridgeMessage)
        return [cls.TYPE.sender]
    if protocol == "processor":
        assert issubclass(cls, processor_models.ProcessorMessage)
        return [cls.SENDER]
    assert issubclass(cls, cceb_models.CcebMessage)
    return sorted(cls.SENDERS, key=lambda role: role.value)


def _encode(protocol: str, message: Any) -> dict[str, Any]:
    """The message's JSON (a deep copy: mutations must not reach into the model's own dicts)."""
    if protocol == "bridge":
        value = bridge_codec.encode_value(message)
    elif protocol == "processor":
        value = processor_codec.encode_value(message)
    else:
        value = cceb_codec.encode_value(message)
    return copy.deepcopy(value)


def _context_free(protocol: str, rule: Rule, sources: Sequence[_Source]) -> st.SearchStrategy[Mutation]:
    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        # Sources are tried in a drawn order: one whose message offers no place for the rule (rare: e.g. an open
        # object that happens to hold what the rule needed absent) hands over to the next, never a redraw.
        for index in draw(st.permutations(range(len(sources)))):
            message = draw(sources[index].strategy)
            cls = type(message)
            valid = _encode(protocol, message)
            candidates = _candidates(rule, protocol, cls, valid)
            if not candidates:
                continue
            chosen = draw(st.sampled_from(candidates))
            return Mutation(
                rule=rule, protocol=protocol, value=chosen.value(), pointer=json_pointer(chosen.parts),
                valid=chosen.valid, sender=draw(st.sampled_from(_senders(protocol, cls))),
            )
        raise AssertionError(f"no {protocol} message offers a place for {rule.value}")  # pragma: no cover

    return draw_mutation()


# -- wrong correlation ids ------------------------------------------------------------------------


def _other_id(value: str, step: int) -> str:
    """``value`` (a GUID or uuid) with its last hex digit moved by ``step``: another well-formed id."""
    digits = "0123456789abcdef"
    return value[:-1] + digits[(int(value[-1], 16) + step) % 16]


def _bridge_wrong_id() -> st.SearchStrategy[Mutation]:
    requests = [cls for cls in bridge_models.ALL_MESSAGE_CLASSES if issubclass(cls, bridge_models.Request)]

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        cls = draw(st.sampled_from(requests))
        request = draw(from_model(cls))
        answered = {"target": request.target, "request_id": request.request_id}
        if draw(st.booleans()):
            answer: bridge_models.Response = attrs.evolve(draw(from_model(cls.RESPONSE)), **answered)
        else:
            name = bridge_models.RequestName(request.message_name.value)
            answer = attrs.evolve(draw(from_model(bridge_models.FailureResponse)), name=name, **answered)
        # The channel opens with serverstatus; createsession also needs the client's first status report.
        opening = bridge_models.ServerStatusRequest(target=request.target, request_id=_other_id(request.request_id, 2))
        before: list[tuple[Role, bridge_models.BridgeMessage]] = []
        if cls is not bridge_models.ServerStatusRequest:
            before.append((Role.SERVER, opening))
        if cls is bridge_models.CreateSessionRequest:
            status = bridge_models.ServerStatusChanged(status=bridge_models.ServerStatus.IN_SERVICE)
            before.append((Role.CLIENT, status))
        before.append((Role.SERVER, request))
        valid = _encode("bridge", answer)
        parts: Parts = ("header", "requestId")
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol="bridge", pointer=json_pointer(parts), sender=Role.CLIENT,
            value=_with(valid, parts, _other_id(request.request_id, 1)), valid=valid,
            context=tuple((role, _encode("bridge", m)) for role, m in before),
        )

    return draw_mutation()


def _processor_wrong_id() -> st.SearchStrategy[Mutation]:
    registry = processor_models.REGISTRY
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
        value = _encode("processor", draw(from_model(success_cls)))
        request = _encode("processor", draw(from_model(request_cls)))
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol="processor", pointer="/command", sender=Role.SERVER,
            value=value, valid=copy.deepcopy(value), context=((Role.CLIENT, request),),
        )

    return draw_mutation()


def _cceb_wrong_id() -> st.SearchStrategy[Mutation]:
    # Phone-validation and off-hook notifications move phases of their own; unknown ones only warn.
    plain = [cls for cls in cceb_models.REGISTRY.message_classes()
             if issubclass(cls, cceb_models.Notification)
             and cls not in (cceb_models.PhoneValidation, cceb_models.OffHook)]
    items = st.one_of(cceb_actions(), *(from_model(cls) for cls in plain))

    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        hello = attrs.evolve(draw(from_model(cceb_models.Hello)), long_lived=None, session_key=None)
        reply = attrs.evolve(draw(from_model(cceb_models.HelloReply)), uuid=hello.uuid, session_key=None,
                             resumed=None)
        item = draw(items)
        owner = Role.CLIENT if isinstance(item, cceb_models.Action) else Role.SERVER
        wrong = _other_id(item.uuid, 1)
        if wrong.lower() == hello.uuid.lower():
            wrong = _other_id(item.uuid, 2)
        valid = _encode("cceb", cceb_models.Ack.of(item))
        return Mutation(
            rule=Rule.WRONG_CORRELATION_ID, protocol="cceb", pointer="/uuid", sender=owner.peer,
            value=_with(valid, (envelope.UUID,), wrong), valid=valid,
            context=((Role.CLIENT, _encode("cceb", hello)), (Role.SERVER, _encode("cceb", reply)),
                     (owner, _encode("cceb", item))),
        )

    return draw_mutation()


_WRONG_ID: dict[str, Callable[[], st.SearchStrategy[Mutation]]] = {
    "bridge": _bridge_wrong_id,
    "processor": _processor_wrong_id,
    "cceb": _cceb_wrong_id,
}


# -- the public strategies ------------------------------------------------------------------------


def _producible(protocol: str) -> dict[Rule, tuple[_Source, ...]]:
    sources = _sources(protocol)
    found: dict[Rule, tuple[_Source, ...]] = {}
    for rule in _CANDIDATES:
        applying = tuple(s for s in sources if _applies(rule, protocol, s))
        if applying:
            found[rule] = applying
    return found


_PRODUCIBLE: dict[str, dict[Rule, tuple[_Source, ...]]] = {p: _producible(p) for p in PROTOCOLS}

#: The rules each protocol's mutations can break (in :class:`Rule` order).
RULES_BY_PROTOCOL: Mapping[str, tuple[Rule, ...]] = {
    protocol: tuple(r for r in Rule if r in _PRODUCIBLE[protocol] or r is Rule.WRONG_CORRELATION_ID)
    for protocol in PROTOCOLS
}

_CACHE: dict[tuple[str, Rule], st.SearchStrategy[Mutation]] = {}


def _rule_strategy(protocol: str, rule: Rule) -> st.SearchStrategy[Mutation]:
    key = (protocol, rule)
    if key not in _CACHE:
        if rule is Rule.WRONG_CORRELATION_ID:
            _CACHE[key] = _WRONG_ID[protocol]()
        else:
            _CACHE[key] = _context_free(protocol, rule, _PRODUCIBLE[protocol][rule])
    return _CACHE[key]


def _refused(reason: str) -> st.SearchStrategy[Mutation]:
    """A strategy that reports bad arguments when drawn from (as hypothesis' own strategies do)."""

    def fail(_: object) -> Mutation:
        raise InvalidArgument(reason)

    return st.just(None).map(fail)


def mutations(
    protocol: str, *, rules: Collection[Rule | str] | Rule | str | None = None
) -> st.SearchStrategy[Mutation]:
    """Invalid messages of ``protocol`` (``"bridge"``, ``"processor"`` or ``"cceb"``), each labelled with its rule.

    ``rules`` narrows them to some rules (members of :class:`Rule` or their values, or one given bare);
    each must be one :data:`RULES_BY_PROTOCOL` lists for the protocol.  Building
    never raises: bad arguments raise ``InvalidArgument`` when the strategy is drawn from.
    """
    if protocol not in RULES_BY_PROTOCOL:
        return _refused(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    offered = RULES_BY_PROTOCOL[protocol]
    if isinstance(rules, (str, Rule)):
        rules = [rules]  # one rule given bare (a string is a collection too: of letters)
    if rules is None:
        chosen = offered
    else:
        by_value = {r.value: r for r in Rule}
        asked = [r if isinstance(r, Rule) else by_value.get(r) for r in rules]
        wrong = [r for r, a in zip(rules, asked, strict=True) if a is None or a not in offered]
        if wrong:
            return _refused(f"{protocol} mutations cannot break {wrong[0]!r}; "
                            f"they break {', '.join(r.value for r in offered)}")
        chosen = tuple(r for r in offered if r in asked)
        if not chosen:
            return _refused("rules is empty: give at least one rule, or None for all")
    return st.sampled_from(chosen).flatmap(lambda rule: _rule_strategy(protocol, rule))


def bridge_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid control-destination messages (see :func:`mutations`)."""
    return mutations("bridge", rules=rules)


def processor_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid Interaction Processor messages (see :func:`mutations`)."""
    return mutations("processor", rules=rules)


def cceb_mutations(*, rules: Collection[Rule | str] | Rule | str | None = None) -> st.SearchStrategy[Mutation]:
    """Invalid CCEB messages (see :func:`mutations`)."""
    return mutations("cceb", rules=rules)
