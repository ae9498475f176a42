"""Hypothesis strategies of *invalid* messages, each labelled with the rule it breaks.

A :class:`Mutation` is a valid message (drawn from :mod:`ccproto.testing.strategies`
and encoded with the protocol's ``encode_value``) with one place broken, so an
integrator's test can assert that their implementation rejects each kind::

    @given(mutations("cceb"))
    def test_rejects(mutation):
        with pytest.raises(MyProtocolError):
            my_server.handle(mutation.text())

The engine here knows no protocol: each protocol's testing slice names its
:class:`MutationHooks` (``ProtocolSlice.mutations``: how a value picks its class,
the messages to mutate, who sends them, its wrong-correlation-id strategy, the
rules only it has), found through the protocol registry when first needed.

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
from typing import Any, ClassVar, overload

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ccproto.core.convert import compile_pattern
from ccproto.core.errors import ProtocolError
from ccproto.core.jsonio import dumps
from ccproto.core.model import (
    PRETTY_AS_REPR,
    ExactMembersWhen,
    FieldSpec,
    JsonValue,
    Model,
    ModelSpec,
    OnlyWhen,
    PrettyAsRepr,
    TypeKind,
    model_spec,
)
from ccproto.core.model import pointer as json_pointer
from ccproto.core.protocol import resolve
from ccproto.core.roles import Role
from ccproto.protocols import get, names
from ccproto.testing.slices import slice_of

__all__ = [
    "PROTOCOLS",
    "RULES_BY_PROTOCOL",
    "Candidate",
    "MessageSource",
    "Mutation",
    "MutationHooks",
    "Parts",
    "Rule",
    "Subject",
    "mutations",
    "other_id",
    "with_member",
]


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

#: Where a member is in a JSON value: object member names and array indexes, from the root.
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


def with_member(value: Any, parts: Parts, new: Any) -> Any:
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
        if kind is TypeKind.MODEL and type(current) is dict:
            _walk(model_spec(field.type.python_type), root, parts, found)
        elif kind is TypeKind.ARRAY and items is not None and items.kind is TypeKind.MODEL and type(current) is list:
            for index, item in enumerate(current):
                if type(item) is dict:
                    found.append(_Site("item", (*parts, index), spec, base))
                    _walk(model_spec(items.python_type), root, (*parts, index), found)


# -- whether a mutated value is sure to break -------------------------------------------------------

_JSON_KINDS: dict[TypeKind, Callable[[Any], bool]] = {
    TypeKind.STR: lambda v: type(v) is str,
    TypeKind.INT: lambda v: type(v) is int or (type(v) is float and v.is_integer()),  # 2.0 is 2 (N3)
    TypeKind.BOOL: lambda v: type(v) is bool,
    TypeKind.FLOAT: lambda v: type(v) in (int, float),
    TypeKind.ARRAY: lambda v: type(v) is list,
    TypeKind.OBJECT: lambda v: type(v) is dict,
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
        kind = TypeKind.STR if field.wire.comma_list else field.type.kind
        check = _JSON_KINDS.get(kind)
        if check is not None and current is not None and not check(current):
            return True
        if kind is TypeKind.MODEL and field.required and _cannot_hold(field.type.python_type, current):
            return True
    return False


def _breaks(dispatch: Callable[[dict[str, Any]], type[Model]], cls: type[Model], value: Any) -> bool:
    """Whether the mutated ``value`` of a ``cls`` message is sure to be refused.

    A mutation that keeps the class the codec dispatches to breaks that class's
    own rule; one that changes it is sure only if the new class cannot hold it.
    """
    if type(value) is not dict:
        return True
    try:
        target = dispatch(value)
    except ProtocolError:
        return True
    return target is cls or _cannot_hold(target, value)


# -- the rules: candidate mutations of one value ------------------------------------------------


_DELETE: Any = object()


@attrs.frozen
class Candidate:
    """One way to break a message: set (or delete) the member at ``parts`` of ``valid``."""

    parts: Parts
    new: Any  # the new member, or _DELETE
    valid: dict[str, Any]  # the valid message it was made from (adjusted where the rule needed it)

    def value(self) -> Any:
        """The mutated message (built only for the candidates that need it: copies are not free)."""
        if self.new is _DELETE:
            return _without(self.valid, self.parts)
        return with_member(self.valid, self.parts, self.new)


@attrs.frozen
class Subject:
    """One drawn message, ready to be mutated: what a rule's candidate maker (:attr:`MutationHooks.rules`) reads."""

    cls: type[Model]
    valid: dict[str, Any]
    sites: list[_Site]
    #: The protocol's discriminators (:attr:`MutationHooks.discriminators`), read once per message.
    discriminators: Mapping[Parts, tuple[str, ...]]

    def fields(self, *kinds: TypeKind, present: bool = True) -> Iterator[tuple[_Site, FieldSpec, Any]]:
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

    def replaced(self, parts: Parts, new: Any, valid: dict[str, Any] | None = None) -> Candidate:
        """The candidate setting the member at ``parts`` of ``valid`` (default: the drawn message) to ``new``."""
        return Candidate(parts, new, self.valid if valid is None else valid)


def _wire_kind(field: FieldSpec) -> TypeKind:
    return TypeKind.STR if field.wire.comma_list else field.type.kind


def _enum_values(field: FieldSpec) -> list[Any]:
    return [member.value for member in field.type.python_type]


def _fraction(current: int) -> float:
    """A number that is no integer, near ``current``: ``2.0`` would be one (docs/quirks.md N3), ``2.5`` is not."""
    return current + 0.5 if abs(current) < 2**52 else 0.5  # past 2**52 a double has no halves


def _wrong_types(field: FieldSpec, current: Any) -> list[Any]:
    kind = _wire_kind(field)
    if kind is TypeKind.ENUM:
        if all(type(v) is int for v in _enum_values(field)):
            return [str(current), _fraction(current), True]
        return [0, True, [current]]
    if kind is TypeKind.STR:
        return [0, False, [current]]
    if kind is TypeKind.INT:
        return [_fraction(current), str(current), True]
    if kind is TypeKind.BOOL:
        return [str(current).lower(), int(current)]
    if kind is TypeKind.FLOAT:
        return [str(current), True]
    if kind is TypeKind.ARRAY:
        return [{}, "x"]
    return []  # objects: not-an-object; any JSON value: nothing is wrong


def _wrong_type(subject: Subject) -> list[Candidate]:
    return [subject.replaced(site.parts, new) for site, field, current in subject.fields()
            for new in _wrong_types(field, current)]


def _missing_required(subject: Subject) -> list[Candidate]:
    places = [site.parts for site in subject.sites if site.kind in ("const", "object")]
    places += [site.parts for site, field, _ in subject.fields() if field.required]
    return [Candidate(parts, _DELETE, subject.valid) for parts in places]


def _bad_enum(subject: Subject) -> list[Candidate]:
    out: list[Candidate] = []
    for site, field, current in subject.fields(TypeKind.ENUM):
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


def _bad_pattern(subject: Subject) -> list[Candidate]:
    out: list[Candidate] = []
    for site, field, current in subject.fields(TypeKind.STR, TypeKind.ARRAY):
        if field.wire.comma_list:
            # An empty item: what a trailing or doubled comma gives.
            near = [current + ",", "," + current]
        elif field.wire.pattern and field.type.kind is TypeKind.STR:
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


def _bad_constant(subject: Subject) -> list[Candidate]:
    known = subject.discriminators
    out: list[Candidate] = []
    for site in subject.sites:
        if site.kind != "const":
            continue
        others = [*(known.get(tuple(site.parts), ()) if site.top else ()), _other_const(site.const)]
        out.extend(subject.replaced(site.parts, new) for new in others if not _same(new, site.const))
    return out


def _allowing(subject: Subject, site: _Site) -> list[dict[str, Any]]:
    """Valid messages (``subject.valid``, or it with a selector changed) where ``site``'s member may be present."""
    relative = site.parts[len(site.base):]
    rules = [r for r in site.owner.rules if isinstance(r, OnlyWhen) and r.member == relative]
    if not rules:
        return [subject.valid]
    rule = rules[0]
    selector = site.base + rule.selector
    if any(_same(_get(subject.valid, selector), v) for v in rule.values):
        return [subject.valid]
    return [_obeying(with_member(subject.valid, selector, rule.values[0]), site.owner, site.base)]


def _obeying(value: dict[str, Any], spec: ModelSpec, base: Parts) -> dict[str, Any]:
    """``value`` without the members its (changed) selectors no longer allow in the object of ``spec`` at ``base``."""
    for rule in spec.rules:
        if isinstance(rule, OnlyWhen):
            member = base + rule.member
            allowed = any(_same(_get(value, base + rule.selector), v) for v in rule.values)
            if not allowed and _get(value, member) is not _MISSING:
                value = _without(value, member)
    return value


def _out_of_range(subject: Subject) -> list[Candidate]:
    out: list[Candidate] = []
    for site, field, current in subject.fields(TypeKind.INT, TypeKind.ARRAY, present=False):
        info = field.wire
        if field.type.kind is TypeKind.ARRAY and info.min_items:
            if type(current) is list:
                out.append(subject.replaced(site.parts, current[: info.min_items - 1]))
            continue
        if field.type.kind is not TypeKind.INT:
            continue
        bounds = [b for b in (None if info.minimum is None else info.minimum - 1,
                              None if info.maximum is None else info.maximum + 1) if b is not None]
        for valid in _allowing(subject, site) if current is _MISSING else [subject.valid]:
            out.extend(subject.replaced(site.parts, new, valid) for new in bounds)
    return out


def _null_member(subject: Subject) -> list[Candidate]:
    return [subject.replaced(site.parts, None) for site, field, _ in subject.fields(present=False)
            if not field.required]


def _placeholder(field: FieldSpec) -> Any:
    """A valid wire value for ``field`` (for members added where they are forbidden)."""
    kind = field.type.kind
    if kind is TypeKind.INT:
        return field.wire.minimum if field.wire.minimum is not None else 0
    if kind is TypeKind.ENUM:
        return _enum_values(field)[0]
    simple: dict[TypeKind, Any] = {
        TypeKind.BOOL: False, TypeKind.FLOAT: 0.0, TypeKind.ARRAY: [], TypeKind.OBJECT: {}, TypeKind.ANY: {},
    }
    return simple.get(kind, "x")


def _forbidden_member(subject: Subject) -> list[Candidate]:
    known = subject.discriminators
    owners: dict[Parts, ModelSpec] = {}
    for site in subject.sites:
        owners.setdefault(site.base, site.owner)
    out: list[Candidate] = []
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
                    if selector_field.type.kind is not TypeKind.ENUM:
                        continue
                    others = [v for v in _enum_values(selector_field) if not any(_same(v, a) for a in rule.values)]
                    valids = [_obeying(with_member(subject.valid, selector, v), spec, base) for v in others]
                else:
                    valids = [subject.valid]
                out.extend(subject.replaced(base + rule.member, _placeholder(member), v) for v in valids)
            elif isinstance(rule, ExactMembersWhen):
                valid = subject.valid
                if not _same(current, rule.value):
                    exact = {m: "x" for m in rule.members}
                    valid = with_member(with_member(valid, selector, rule.value), base + rule.target, exact)
                    valid = _obeying(valid, spec, base)
                extra = "extra" if "extra" not in rule.members else "extra-member"
                out.append(subject.replaced((*base, *rule.target, extra), "x", valid))
    return out


def _not_an_object(subject: Subject) -> list[Candidate]:
    # A list of messages, and scalars; not a bare string, which ``validate_message`` would read as JSON text.
    out = [Candidate((), new, subject.valid) for new in ([subject.valid], [], None, 0, True)]
    places = [site.parts for site in subject.sites if site.kind in ("object", "item")]
    places += [site.parts for site, _, _ in subject.fields(TypeKind.MODEL, TypeKind.OBJECT)]
    not_objects: tuple[Any, ...] = ([], "x", 0)
    out.extend(subject.replaced(parts, new) for parts in places for new in not_objects)
    return out


_CANDIDATES: dict[Rule, Callable[[Subject], list[Candidate]]] = {
    Rule.WRONG_TYPE: _wrong_type,
    Rule.MISSING_REQUIRED: _missing_required,
    Rule.BAD_ENUM: _bad_enum,
    Rule.BAD_PATTERN: _bad_pattern,
    Rule.BAD_CONSTANT: _bad_constant,
    Rule.OUT_OF_RANGE: _out_of_range,
    Rule.NULL_MEMBER: _null_member,
    Rule.FORBIDDEN_MEMBER: _forbidden_member,
    Rule.NOT_AN_OBJECT: _not_an_object,
}


def _moves_dispatch(discriminators: Collection[Parts], parts: Parts) -> bool:
    """Whether a change at ``parts`` may change the class the codec dispatches to."""
    return any(d[: len(parts)] == parts or parts[: len(d)] == d for d in discriminators)


# -- what a protocol gives the engine ------------------------------------------------------------


@attrs.frozen
class MessageSource:
    """A strategy of valid messages and the classes it draws (one of :attr:`MutationHooks.sources`)."""

    strategy: st.SearchStrategy[Any]
    classes: tuple[type[Model], ...]


@attrs.frozen(kw_only=True)
class MutationHooks:
    """What the engine needs of one protocol; its testing slice's ``mutations`` names it (``HOOKS``).

    Callables rather than tables where the protocol's registry may grow (a vendor's commands, notifications):
    they are asked when mutations are made, not when the hooks are built.
    """

    #: The class the protocol's codec would structure a JSON object as (``ProtocolError`` if none).
    dispatch: Callable[[dict[str, Any]], type[Model]]
    #: The members the codec dispatches on, and the values it knows for each.
    discriminators: Callable[[], Mapping[Parts, tuple[str, ...]]]
    #: What to draw the valid messages from: every class the codec decodes, each in one source.
    sources: Callable[[], tuple[MessageSource, ...]]
    #: The roles that may send a class's messages.
    senders: Callable[[type[Model]], Sequence[Role]]
    #: A message's JSON (the codec's ``encode_value``; the engine copies it before breaking it).
    encode: Callable[[Any], dict[str, Any]]
    #: The ``wrong-correlation-id`` mutations (valid answers to nothing outstanding, with their context), or
    #: ``None`` when the protocol has no correlation to break.
    wrong_id: Callable[[], st.SearchStrategy[Mutation]] | None = None
    #: The rules only this protocol has (the CCEB's reserved fields, ...): rule -> its candidate maker.
    rules: Mapping[Rule, Callable[[Subject], list[Candidate]]] = attrs.field(factory=dict)


def _makers(hooks: MutationHooks) -> dict[Rule, Callable[[Subject], list[Candidate]]]:
    return {**_CANDIDATES, **hooks.rules}


def _candidates(rule: Rule, hooks: MutationHooks, cls: type[Model], valid: dict[str, Any]) -> list[Candidate]:
    subject = Subject(cls, valid, _sites(cls, valid), hooks.discriminators())
    discriminators = tuple(subject.discriminators)
    return [c for c in _makers(hooks)[rule](subject)
            if not _moves_dispatch(discriminators, c.parts) or _breaks(hooks.dispatch, cls, c.value())]


# -- what to draw the valid messages from -------------------------------------------------------


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
        if kind is TypeKind.MODEL:
            member = _skeleton(field.type.python_type)
        elif kind is TypeKind.ARRAY and field.type.items is not None:
            count = field.wire.min_items or 1
            items = field.type.items
            if field.wire.comma_list:
                member = "a"
            elif items.kind is TypeKind.MODEL:
                member = [_skeleton(items.python_type) for _ in range(count)]
            else:
                member = [_placeholder(FieldSpec(attr="", wire=field.wire, type=items, required=True))] * count
        elif field.wire.pattern:
            member = "a"
        _get(value, field.path[:-1])[field.path[-1]] = member
    return value


def _applies(rule: Rule, hooks: MutationHooks, source: MessageSource) -> bool:
    return any(_candidates(rule, hooks, cls, _skeleton(cls)) for cls in source.classes)


def _encode(hooks: MutationHooks, message: Any) -> dict[str, Any]:
    """The message's JSON (a deep copy: mutations must not reach into the model's own dicts)."""
    return copy.deepcopy(hooks.encode(message))


def _context_free(
    protocol: str, hooks: MutationHooks, rule: Rule, sources: Sequence[MessageSource]
) -> st.SearchStrategy[Mutation]:
    @st.composite
    def draw_mutation(draw: st.DrawFn) -> Mutation:
        # Sources are tried in a drawn order: one whose message offers no place for the rule (rare: e.g. an open
        # object that happens to hold what the rule needed absent) hands over to the next, never a redraw.
        for index in draw(st.permutations(range(len(sources)))):
            message = draw(sources[index].strategy)
            cls = type(message)
            valid = _encode(hooks, message)
            candidates = _candidates(rule, hooks, cls, valid)
            if not candidates:
                continue
            chosen = draw(st.sampled_from(candidates))
            return Mutation(
                rule=rule, protocol=protocol, value=chosen.value(), pointer=json_pointer(chosen.parts),
                valid=chosen.valid, sender=draw(st.sampled_from(list(hooks.senders(cls)))),
            )
        raise AssertionError(f"no {protocol} message offers a place for {rule.value}")  # pragma: no cover

    return draw_mutation()


def other_id(value: str, step: int) -> str:
    """``value`` (a GUID or uuid) with its last hex digit moved by ``step``: another well-formed id."""
    digits = "0123456789abcdef"
    return value[:-1] + digits[(int(value[-1], 16) + step) % 16]


# -- each protocol's hooks, found through the registry (on first use, so a protocol registered later counts) ---


@attrs.frozen
class _Prepared:
    """What one protocol's hooks give, worked out once: the rules it can break and the sources for each."""

    hooks: MutationHooks
    producible: dict[Rule, tuple[MessageSource, ...]]
    rules: tuple[Rule, ...]
    strategies: dict[Rule, st.SearchStrategy[Mutation]] = attrs.field(factory=dict)


_PREPARED: dict[str, _Prepared] = {}


def _hooks_reference(protocol: str) -> object:
    """The protocol's slice's ``mutations`` (hooks or their import path); ``None`` when it has none or is unknown."""
    try:
        if get(protocol).testing is None:
            return None
        return slice_of(protocol).mutations
    except ValueError:
        return None


def _prepare(hooks: MutationHooks) -> _Prepared:
    sources = hooks.sources()
    producible: dict[Rule, tuple[MessageSource, ...]] = {}
    for rule in _makers(hooks):
        applying = tuple(s for s in sources if _applies(rule, hooks, s))
        if applying:
            producible[rule] = applying
    offered = tuple(r for r in Rule if r in producible
                    or (r is Rule.WRONG_CORRELATION_ID and hooks.wrong_id is not None))
    return _Prepared(hooks, producible, offered)


def _prepared(protocol: str) -> _Prepared | None:
    """The protocol's prepared hooks (cached while its slice names the same hooks), or ``None`` if it has none."""
    reference = _hooks_reference(protocol)
    if reference is None:
        return None
    hooks = resolve(reference)
    if not isinstance(hooks, MutationHooks):
        raise TypeError(f"the {protocol} protocol's mutation hooks are not MutationHooks: {type(hooks).__name__}")
    found = _PREPARED.get(protocol)
    if found is None or found.hooks is not hooks:  # a protocol registered again (replace=True) gets new tables
        found = _PREPARED[protocol] = _prepare(hooks)
    return found


def _protocols() -> tuple[str, ...]:
    return tuple(name for name in names() if _hooks_reference(name) is not None)


class _Protocols(Sequence[str]):
    """A live, read-only sequence of the registered protocols whose testing slice has mutation hooks."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return _protocols()[index]

    def __len__(self) -> int:
        return len(_protocols())

    def __iter__(self) -> Iterator[str]:
        return iter(_protocols())

    def __contains__(self, value: object) -> bool:
        return value in _protocols()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_Protocols, tuple, list)):
            return _protocols() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, whose hash there is none of

    def __repr__(self) -> str:
        return repr(_protocols())


class _RulesByProtocol(Mapping[str, tuple[Rule, ...]]):
    """A live, read-only mapping: protocol -> the rules its mutations can break (worked out on first use)."""

    def __getitem__(self, protocol: str) -> tuple[Rule, ...]:
        found = _prepared(protocol)
        if found is None:
            raise KeyError(protocol)
        return found.rules

    def __iter__(self) -> Iterator[str]:
        return iter(_protocols())

    def __len__(self) -> int:
        return len(_protocols())

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{p!r}: {self[p]!r}' for p in self)}}}"


#: The protocols mutations are made for: a live view (a read-only sequence) of the registered protocols whose
#: testing slice names mutation hooks; a protocol registered later is in it too.
PROTOCOLS: Sequence[str] = _Protocols()

#: The rules each protocol's mutations can break (in :class:`Rule` order): a live read-only mapping, worked out
#: for a protocol when first read.
RULES_BY_PROTOCOL: Mapping[str, tuple[Rule, ...]] = _RulesByProtocol()


# -- the public strategies ------------------------------------------------------------------------


def _rule_strategy(protocol: str, prepared: _Prepared, rule: Rule) -> st.SearchStrategy[Mutation]:
    found = prepared.strategies.get(rule)
    if found is None:
        if rule is Rule.WRONG_CORRELATION_ID:
            assert prepared.hooks.wrong_id is not None  # offered only then
            found = prepared.hooks.wrong_id()
        else:
            found = _context_free(protocol, prepared.hooks, rule, prepared.producible[rule])
        prepared.strategies[rule] = found
    return found


def _refused(reason: str) -> st.SearchStrategy[Mutation]:
    """A strategy that reports bad arguments when drawn from (as hypothesis' own strategies do)."""

    def fail(_: object) -> Mutation:
        raise InvalidArgument(reason)

    return st.just(None).map(fail)


def mutations(
    protocol: str, *, rules: Collection[Rule | str] | Rule | str | None = None
) -> st.SearchStrategy[Mutation]:
    """Invalid messages of ``protocol`` (one of :data:`PROTOCOLS`), each labelled with its rule.

    ``rules`` narrows them to some rules (members of :class:`Rule` or their values, or one given bare);
    each must be one :data:`RULES_BY_PROTOCOL` lists for the protocol.  Building
    never raises: bad arguments raise ``InvalidArgument`` when the strategy is drawn from.
    """
    prepared = _prepared(protocol)
    if prepared is None:
        return _refused(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    offered = prepared.rules
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
    return st.sampled_from(chosen).flatmap(lambda rule: _rule_strategy(protocol, prepared, rule))
