"""Hypothesis strategies for every ccproto message, derived from the model declarations.

Valid by construction (never generate-then-filter): each field's strategy comes
from its declared type and constraints, and unknown members are generated with
an ``x-`` prefix that no declared member uses.

This module is the generic part: what a protocol adds (strategies of its own for
some types, faster strategies for its patterns) is in its testing slice
(``slices/<protocol>/strategies.py``, a :class:`ProtocolStrategies` the slice
names), collected from every registered protocol on first use, when the
strategies are also registered with ``st.from_type`` (hypothesis's entry point,
:mod:`ccproto.testing._hypothesis`, has registered deferred ones for them before).

Secrets stay out of hypothesis's reports: models print as their repr, which hides
them, and a secret drawn on its own (a token, a password) is drawn through
:func:`secret`, as a :class:`SecretText` that prints as ``'***'``.
"""

from __future__ import annotations

import enum
import functools
import importlib
from collections.abc import Callable, Container, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs
from hypothesis import strategies as st

from ccproto.core.hooks import compile_pattern
from ccproto.core.model import (
    PRETTY_AS_REPR,
    ExactMembersWhen,
    FieldSpec,
    Model,
    OnlyWhen,
    PrettyAsRepr,
    TypeKind,
    TypeSpec,
    model_spec,
    pointer,
)
from ccproto.core.protocol import resolve
from ccproto.core.redact import REDACTED
from ccproto.protocols import KNOWN, registered
from ccproto.testing.slices import slice_of

__all__ = [
    "FAST_PATTERNS",
    "SIMPLEST_MATCHES",
    "TYPE_STRATEGIES",
    "Numbers",
    "ProtocolStrategies",
    "SecretText",
    "any_case_uuids",
    "field_strategy",
    "from_model",
    "json_floats",
    "json_integers",
    "json_values",
    "model_extras",
    "mutated_json",
    "obey_rules",
    "secret",
    "simplest",
    "simplest_match",
    "text",
    "unregistered_names",
]

K = TypeVar("K")
V = TypeVar("V")

#: Prefix of generated unknown members; no protocol declares a member starting with it.
EXTRA_PREFIX = "x-"

#: The largest integer every IEEE 754 double parser reads exactly (I-JSON, RFC 7493 section 2.2).
MAX_SAFE_INTEGER = 2**53 - 1


class Numbers(enum.Enum):
    """Which JSON numbers the strategies draw (docs/quirks.md N2)."""

    #: What every JSON parser reads back as written (I-JSON): integers within +-(2**53 - 1), finite doubles, no -0.0.
    INTEROPERABLE = "interoperable"
    #: Any integer, any finite double, -0.0: for testing an implementation that promises exact echoes.
    EXACT = "exact"


def _negative_zero_as_zero(value: float) -> float:
    return 0.0 if value == 0 else value  # -0.0 == 0: both become 0.0


def json_integers(
    numbers: Numbers = Numbers.INTEROPERABLE, *, min_value: int | None = None, max_value: int | None = None
) -> st.SearchStrategy[int]:
    """Integers within the given bounds (and, unless ``numbers`` is EXACT, within I-JSON's safe range)."""
    if numbers is Numbers.INTEROPERABLE:
        # A declared bound beyond the safe range is narrowed to it; one inside it is kept.
        low, high = -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER
        min_value = low if min_value is None else max(min_value, low)
        max_value = high if max_value is None else min(max_value, high)
        if min_value > max_value:  # a range wholly beyond a double's precision: only EXACT can draw it
            raise ValueError("no interoperable integer within the declared range: draw with Numbers.EXACT")
    return st.integers(min_value=min_value, max_value=max_value)


def json_floats(numbers: Numbers = Numbers.INTEROPERABLE) -> st.SearchStrategy[float]:
    """Finite doubles (without -0.0 unless ``numbers`` is EXACT)."""
    drawn = st.floats(allow_nan=False, allow_infinity=False)
    return drawn if numbers is Numbers.EXACT else drawn.map(_negative_zero_as_zero)


def text(*, min_size: int = 0, max_size: int | None = 20, exclude: str = "") -> st.SearchStrategy[str]:
    """Unicode text that can be written as UTF-8 (no lone surrogates), including non-BMP characters."""
    return st.text(
        st.characters(codec="utf-8", exclude_characters=exclude), min_size=min_size, max_size=max_size
    )


class SecretText(str):
    """A drawn secret: a ``str`` whose ``repr`` (and hypothesis's printing of it) is ``'***'``.

    Hypothesis prints the values of a failing example (the test's arguments, each
    ``data.draw``); a secret drawn as a plain string would be printed whole.
    ``str(value)`` is the plain string, which is what a model must hold (models
    check exact types).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)

    # Hypothesis's printer asks this before anything else it knows about the value.
    _repr_pretty_: ClassVar[PrettyAsRepr] = PRETTY_AS_REPR


def secret(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``strategy`` with its strings drawn as :class:`SecretText` (other values, e.g. ``None``, as they are)."""
    return strategy.map(lambda value: SecretText(value) if isinstance(value, str) else value)


def json_values(*, max_leaves: int = 8, numbers: Numbers = Numbers.INTEROPERABLE) -> st.SearchStrategy[Any]:
    """Any JSON value: non-BMP strings, empty and nested containers, ``numbers``' numbers; no NaN/Infinity.

    With ``Numbers.EXACT``, big integers and -0.0 too.
    """
    scalars = (
        st.none()
        | st.booleans()
        | json_integers(numbers)
        | json_floats(numbers)
        | text()
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(text(max_size=8), children, max_size=4),
        max_leaves=max_leaves,
    )


def mutated_json(
    values: st.SearchStrategy[Any], replacements: st.SearchStrategy[Any] | None = None
) -> st.SearchStrategy[Any]:
    """A JSON value from ``values`` with one place (possibly the whole) replaced by a draw of ``replacements``.

    ``replacements`` defaults to any JSON value (big integers and -0.0 too); tests add near-miss names
    (``"Agent"``, a padded command) to it.
    """
    swap = json_values(numbers=Numbers.EXACT) if replacements is None else replacements

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        value = draw(values)
        paths: list[tuple[Any, ...]] = []
        stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
        while stack:
            node, path = stack.pop()
            paths.append(path)
            if isinstance(node, dict):
                stack.extend((child, (*path, key)) for key, child in node.items())
            elif isinstance(node, list):
                stack.extend((child, (*path, index)) for index, child in enumerate(node))
        path = draw(st.sampled_from(paths))
        replacement = draw(swap)
        if not path:
            return replacement
        node = value
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = replacement
        return value

    return mutate()


def any_case_uuids() -> st.SearchStrategy[str]:
    """UUIDs in their canonical form, in lower or upper case (a fast strategy for a UUID pattern)."""
    return st.builds(
        lambda u, upper: str(u).upper() if upper else str(u), st.uuids(), st.booleans()
    )


def unregistered_names() -> st.SearchStrategy[str]:
    """Names no registry knows (a command, an event, a notification type): they start with ``x-``."""
    # The prefix keeps generated names apart from registered ones, even once trimmed.
    return text(max_size=12).map(lambda name: EXTRA_PREFIX + name)


@attrs.frozen(kw_only=True)
class ProtocolStrategies:
    """What a protocol adds to the generic strategies (its testing slice's ``strategies``)."""

    #: Builds type -> the strategy ``st.from_type`` draws for it, for each of the types the protocol's spec lists
    #: (``strategy_types``).  A function, called once every registered protocol's patterns are known, so that its
    #: models' fields draw with their fast strategies.
    type_strategies: Callable[[], Mapping[type[Any], st.SearchStrategy[Any]]]
    #: Pattern -> a faster strategy than ``st.from_regex``, generating exactly the strings the pattern matches.
    fast_patterns: Mapping[str, st.SearchStrategy[str]] = attrs.field(factory=dict)
    #: Pattern -> the simplest string it matches (for each of ``fast_patterns``).
    simplest_matches: Mapping[str, str] = attrs.field(factory=dict)


class _Collected(Mapping[K, V]):
    """A read-only live view of what the registered protocols' strategies give: each read collects first (the
    patterns only, or the type strategies too)."""

    def __init__(self, items: dict[K, V], *, types: bool) -> None:
        self._items = items  # filled by _collect only
        self._types = types

    def __getitem__(self, key: K) -> V:
        _collect(types=self._types)
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        _collect(types=self._types)
        return iter(tuple(self._items))

    def __len__(self) -> int:
        _collect(types=self._types)
        return len(self._items)

    def __repr__(self) -> str:
        _collect(types=self._types)
        return f"{type(self).__name__}({self._items!r})"


_fast_patterns: dict[str, st.SearchStrategy[str]] = {}
#: Patterns with a faster strategy than ``st.from_regex`` (which costs ~10 ms a draw for a UUID), each
#: generating exactly the strings the pattern matches (tests check them against the pattern): every registered
#: protocol's (:class:`ProtocolStrategies`), a live view.
FAST_PATTERNS: Mapping[str, st.SearchStrategy[str]] = _Collected(_fast_patterns, types=False)


def _type_strategy(tspec: TypeSpec, numbers: Numbers) -> st.SearchStrategy[Any]:
    kind = tspec.kind
    if kind is TypeKind.STR:
        return text()
    if kind is TypeKind.INT:
        return json_integers(numbers)
    if kind is TypeKind.BOOL:
        return st.booleans()
    if kind is TypeKind.FLOAT:
        return json_floats(numbers)
    if kind is TypeKind.ENUM:
        return st.sampled_from(list(tspec.python_type))
    if kind is TypeKind.ARRAY:
        assert tspec.items is not None
        return st.lists(_type_strategy(tspec.items, numbers), max_size=4).map(tuple)
    if kind is TypeKind.OBJECT:
        return st.dictionaries(text(max_size=8), json_values(numbers=numbers), max_size=4)
    if kind is TypeKind.ANY:
        return json_values(numbers=numbers)
    return from_model(tspec.python_type, numbers=numbers)


def field_strategy(field: FieldSpec, numbers: Numbers) -> st.SearchStrategy[Any]:
    """Valid values of one declared field (its type, pattern, bounds and wire form)."""
    info = field.wire
    if info.comma_list:
        # Items are non-empty and comma-free by construction: what the wire form can carry.
        strategy: st.SearchStrategy[Any] = st.lists(text(min_size=1, max_size=10, exclude=","), max_size=4).map(
            tuple
        )
    elif info.pattern:
        fast = FAST_PATTERNS.get(info.pattern)
        strategy = fast if fast is not None else st.from_regex(info.pattern, fullmatch=True)
    elif info.forbidden_keys:
        forbidden = set(info.forbidden_keys)
        # Only a key that happens to be forbidden is dropped (rare), never the whole object.
        strategy = st.dictionaries(
            text(max_size=8).filter(lambda k: k not in forbidden), json_values(numbers=numbers), max_size=4
        )
    elif info.min_items is not None:
        assert field.type.items is not None
        strategy = st.lists(
            _type_strategy(field.type.items, numbers), min_size=info.min_items, max_size=max(4, info.min_items)
        ).map(tuple)
    elif field.type.kind is TypeKind.INT and (info.minimum is not None or info.maximum is not None):
        strategy = json_integers(numbers, min_value=info.minimum, max_value=info.maximum)
    else:
        strategy = _type_strategy(field.type, numbers)
    return strategy if field.required else st.none() | strategy


def _pointer_under(path: tuple[str, ...]) -> Callable[[str], str]:
    def make(name: str) -> str:
        return pointer((*path, EXTRA_PREFIX + name))

    return make


def model_extras(cls: type[Model], numbers: Numbers) -> st.SearchStrategy[dict[str, Any]]:
    """Unknown members ``cls`` keeps in ``extra`` (JSON pointer -> value), named apart from its declared ones."""
    spec = model_spec(cls)
    for names in spec.known.values():
        clash = [n for n in names if n.startswith(EXTRA_PREFIX)]
        if clash:
            raise TypeError(f"{cls.__name__} declares {clash[0]!r}: generated extras would collide")
    places = [
        st.dictionaries(text(max_size=6).map(_pointer_under(path)), json_values(numbers=numbers), max_size=2)
        for path in spec.objects
    ]
    return st.tuples(*places).map(lambda parts: {k: v for part in parts for k, v in part.items()})


_STRATEGIES: dict[tuple[type[Model], bool, Numbers], st.SearchStrategy[Any]] = {}


def from_model(
    cls: type[Model], *, with_extra: bool = True, numbers: Numbers = Numbers.INTEROPERABLE
) -> st.SearchStrategy[Any]:
    """Instances of a model class with every field drawn from its declaration (and unknown members)."""
    key = (cls, with_extra, numbers)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _build(cls, with_extra, numbers)
    return _STRATEGIES[key]


def _build(cls: type[Model], with_extra: bool, numbers: Numbers) -> st.SearchStrategy[Any]:
    spec = model_spec(cls)
    kwargs = {field.attr: field_strategy(field, numbers) for field in spec.fields}
    if with_extra:
        kwargs["extra"] = model_extras(cls, numbers)
    built = st.builds(cls, **kwargs)
    if not spec.rules:
        return built
    return st.tuples(built, st.data()).map(lambda pair: obey_rules(pair[0], pair[1]))


def _wire_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def obey_rules(instance: Model, data: st.DataObject) -> Model:
    """Make a drawn instance obey its class's cross-member rules (by construction: drop or redraw members)."""
    spec = model_spec(type(instance))
    changes: dict[str, Any] = {}
    for rule in spec.rules:
        if isinstance(rule, OnlyWhen):
            member, selector = spec.field_at(rule.member), spec.field_at(rule.selector)
            assert member is not None
            assert selector is not None
            if _wire_value(getattr(instance, selector.attr)) not in rule.values:
                changes[member.attr] = None
        elif isinstance(rule, ExactMembersWhen):
            target, selector = spec.field_at(rule.target), spec.field_at(rule.selector)
            assert target is not None
            assert selector is not None
            if _wire_value(getattr(instance, selector.attr)) == rule.value:
                changes[target.attr] = {name: data.draw(text()) for name in rule.members}
    return attrs.evolve(instance, **changes) if changes else instance


_simplest_matches: dict[str, str] = {}
#: The simplest string each fast pattern matches (what ``simplest`` uses): every registered protocol's, a live view.
SIMPLEST_MATCHES: Mapping[str, str] = _Collected(_simplest_matches, types=False)


@functools.cache
def simplest_match(pattern: str) -> str:
    """The simplest string ``pattern`` matches in full: :data:`SIMPLEST_MATCHES`'s, or else built from the parsed
    pattern (each repeat its least times, each class its least character, each alternation its first branch), so
    a protocol registered later (a vendor's, a test's toy) gets one too.  ``ValueError`` for what it cannot build
    (a look-around, a back reference)."""
    known = SIMPLEST_MATCHES.get(pattern)
    if known is not None:
        return known
    # The standard library's own regular-expression parser (re._parser; sre_parse, deprecated, before 3.11).
    parser: Any = importlib.import_module("re._parser")
    built = "".join(_least(item) for item in parser.parse(pattern))
    if compile_pattern(pattern).fullmatch(built) is None:
        raise ValueError(f"no simplest match built for {pattern!r}")
    return built


def _least(item: tuple[Any, Any]) -> str:
    """The least string one parsed regular-expression item matches."""
    op, argument = item
    name = str(op)
    if name == "LITERAL":
        return chr(argument)
    if name == "IN":
        return min(_class_chars(argument))
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        least, _, inner = argument
        return "".join(_least(sub) for sub in inner) * int(least)
    if name == "SUBPATTERN":
        return "".join(_least(sub) for sub in argument[-1])
    if name == "ATOMIC_GROUP":
        return "".join(_least(sub) for sub in argument)
    if name == "BRANCH":
        return "".join(_least(sub) for sub in argument[1][0])
    if name == "AT":
        return ""
    if name == "ANY":
        return "0"
    if name == "CATEGORY":
        return min(_class_chars([item]))
    raise ValueError(f"cannot build the simplest match of {name}")


def _class_chars(items: Any) -> list[str]:
    """Candidate characters of a character class (its least members)."""
    found: list[str] = []
    for op, argument in items:
        name = str(op)
        if name == "LITERAL":
            found.append(chr(argument))
        elif name == "RANGE":
            found.append(chr(argument[0]))
        elif name == "CATEGORY":
            found.append({"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "0", "CATEGORY_SPACE": " "}.get(str(argument), "0"))
        elif name == "NEGATE":
            raise ValueError("a negated class has no least member this builder knows")
    if not found:
        raise ValueError("an empty class")
    return found


def _simplest_value(tspec: TypeSpec, field: FieldSpec | None = None) -> Any:
    info = field.wire if field is not None else None
    kind = tspec.kind
    if kind is TypeKind.STR:
        if info is not None and info.pattern and not info.comma_list:
            return simplest_match(info.pattern)
        return ""
    if kind is TypeKind.INT:
        return info.minimum if info is not None and info.minimum is not None else 0
    if kind is TypeKind.BOOL:
        return False
    if kind is TypeKind.FLOAT:
        return 0.0
    if kind is TypeKind.ENUM:
        return next(iter(tspec.python_type))
    if kind is TypeKind.ARRAY:
        if info is not None and info.comma_list:
            return ()
        assert tspec.items is not None
        count = info.min_items if info is not None and info.min_items is not None else 0
        return tuple(_simplest_value(tspec.items) for _ in range(count))
    if kind in (TypeKind.OBJECT, TypeKind.ANY):
        return {}
    return simplest(tspec.python_type)


def simplest(cls: type[Model]) -> Any:
    """The simplest valid instance of ``cls``, without drawing: what shrinking would reach, built directly.

    Required fields take their simplest value (``""``, ``0`` or the minimum, ``False``,
    the first enum member, the fewest items); optional ones are absent.  The
    conformance harness sends it when a test does not need varied content, which
    keeps conversations cheap to generate and to shrink.
    """
    spec = model_spec(cls)
    kwargs = {field.attr: _simplest_value(field.type, field) for field in spec.fields if field.required}
    instance = cls(**kwargs)
    changes: dict[str, Any] = {}
    for rule in spec.rules:
        if isinstance(rule, ExactMembersWhen):
            target, selector = spec.field_at(rule.target), spec.field_at(rule.selector)
            assert target is not None
            assert selector is not None
            if _wire_value(getattr(instance, selector.attr)) == rule.value:
                changes[target.attr] = dict.fromkeys(rule.members, "")
    return attrs.evolve(instance, **changes) if changes else instance


_type_strategies: dict[type[Any], st.SearchStrategy[Any]] = {}
#: The strategy ``st.from_type`` gives for each type a registered protocol has one of its own for (each spec's
#: ``strategy_types``; what hypothesis's entry point, :mod:`ccproto.testing._hypothesis`, defers to): a live view,
#: collected from the protocols' slices (:class:`ProtocolStrategies`) and registered with ``st.from_type`` then.
TYPE_STRATEGIES: Mapping[type[Any], st.SearchStrategy[Any]] = _Collected(_type_strategies, types=True)

#: Protocol name -> its strategies (``None``: none), for each protocol whose patterns are in the views above.
_FOUND: dict[str, ProtocolStrategies | None] = {}
#: The protocols whose type strategies are in :data:`TYPE_STRATEGIES` (and registered with ``st.from_type``).
_TYPED: set[str] = set()
#: Whether :func:`_collect` is running (building a protocol's strategies reads the views above).
_collecting = False


def _collect(*, types: bool) -> None:
    """Bring in what the registered protocols not collected yet give: their patterns' strategies and simplest
    matches, and with ``types`` their type strategies (cheap when there is nothing new).

    On first use rather than on import: a slice's strategies module imports this one, so whichever is imported
    first, this module is whole by the time a slice's strategies are read.  Every protocol's patterns go in before
    any type strategy is built, since building a model's strategy looks its patterns up; the type strategies
    (~0.5 s for the built-in protocols) wait until they are asked for, so a first :func:`from_model` in a test does
    not pay for them.
    """
    global _collecting
    done: Container[str] = _TYPED if types else _FOUND
    if _collecting or all(name in done for name in KNOWN):
        return
    _collecting = True
    try:
        for spec in registered():
            if spec.name not in _FOUND:
                found = None if spec.testing is None else resolve(slice_of(spec.name).strategies)
                if found is not None and not isinstance(found, ProtocolStrategies):
                    raise TypeError(f"the {spec.name} protocol's strategies are not a ProtocolStrategies: {found!r}")
                if found is not None:
                    _fast_patterns.update(found.fast_patterns)
                    _simplest_matches.update(found.simplest_matches)
                _FOUND[spec.name] = found
        for spec in registered() if types else ():
            found = _FOUND[spec.name]
            if spec.name not in _TYPED and found is not None:
                for cls, strategy in found.type_strategies().items():
                    _type_strategies[cls] = strategy
                    st.register_type_strategy(cls, strategy)
            _TYPED.add(spec.name)
    finally:
        _collecting = False
