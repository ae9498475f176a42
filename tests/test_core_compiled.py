"""core.compiled and the fast JSON path: wherever they answer they agree with the reference path; else they defer.

The contract (module docstring of :mod:`ccproto.core.compiled`): a compiled function only ever returns a
success, and then exactly what the reference path (:mod:`ccproto.core.convert`'s cattrs hooks) returns;
anything else raises :class:`Fallback` (or a ``StructureError`` from a delegated hook).  ``loads_fast``
returns ``None`` whenever :func:`~ccproto.core.jsonio.parse_object` must decide, ``dumps_plain`` ``None``
whenever :func:`~ccproto.core.jsonio.dumps` must.  The codecs give the same results with and without orjson.
"""

from __future__ import annotations

import collections
import copy
import enum
import functools
import json
import math
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccproto.bridge import codec as bridge_codec
from ccproto.bridge import models as bridge_models
from ccproto.cceb import codec as cceb_codec
from ccproto.cceb import models as cceb_models
from ccproto.core import jsonio
from ccproto.core.compiled import (
    PLAIN_DEPTH,
    Fallback,
    depth_bound,
    plain_json,
    structure_function,
    unstructure_function,
)
from ccproto.core.convert import StructureError, converter, decode_model, encode_model, encode_text
from ccproto.core.decoding import message_text
from ccproto.core.errors import DecodeError, LimitExceededError, ProtocolError
from ccproto.core.jsonio import FAST_DEPTH_BOUND, dumps, dumps_plain, json_equal, loads_fast, parse_object
from ccproto.core.limits import DEFAULT_LIMITS, Limits
from ccproto.core.model import Model, TypeKind, class_cache, model, model_spec, wire
from ccproto.processor import codec as processor_codec
from ccproto.processor import models as processor_models
from ccproto.testing import strategies as ccst
from ccproto.testing.mutations import PROTOCOLS, Mutation, mutations
from ccproto.testing.slices.bridge.strategies import bridge_messages
from ccproto.testing.slices.cceb.strategies import cceb_messages
from ccproto.testing.slices.processor.strategies import processor_messages

FEW = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
SOME = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
MANY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

#: What a compiled structure function may raise: "the reference path decides".
STRUCTURE_DEFERS = (Fallback, StructureError)
#: What the callers of a compiled unstructure function treat as "the reference path decides" (encode_model).
UNSTRUCTURE_DEFERS = (Fallback, StructureError, AttributeError)


# -- every model of every protocol ---------------------------------------------------------------------------


def _nested_models(cls: type[Model], found: dict[type[Model], None]) -> None:
    if cls in found:
        return
    found[cls] = None
    for field in model_spec(cls).fields:
        tspec = field.type
        while tspec.kind is TypeKind.ARRAY:
            assert tspec.items is not None
            tspec = tspec.items
        if tspec.kind is TypeKind.MODEL:
            _nested_models(tspec.python_type, found)


def _all_models() -> list[type[Model]]:
    roots: list[type[Model]] = [
        *bridge_models.ALL_MESSAGE_CLASSES,
        *processor_models.REGISTRY.message_classes(),
        processor_models.FailureResponse,
        processor_models.ServiceInformation,
        processor_models.UnknownRequest,
        processor_models.UnknownSuccess,
        processor_models.UnknownConfirm,
        processor_models.UnknownEvent,
        *cceb_models.REGISTRY.message_classes(),
        cceb_models.UnknownNotification,
    ]
    found: dict[type[Model], None] = {}
    for cls in roots:
        _nested_models(cls, found)
    return list(found)


ALL_MODELS = _all_models()
MODEL_IDS = [f"{cls.__module__.split('.')[1]}.{cls.__qualname__}" for cls in ALL_MODELS]

CODECS: dict[str, Any] = {"bridge": bridge_codec, "processor": processor_codec, "cceb": cceb_codec}
MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "bridge": bridge_messages(numbers=ccst.Numbers.EXACT),
    "processor": processor_messages(numbers=ccst.Numbers.EXACT),
    "cceb": cceb_messages(numbers=ccst.Numbers.EXACT),
}


def test_the_model_list_is_complete() -> None:
    assert len(ALL_MODELS) == len(set(MODEL_IDS))
    assert len(ALL_MODELS) > 50
    assert set(bridge_models.ALL_MESSAGE_CLASSES) <= set(ALL_MODELS)
    assert set(cceb_models.REGISTRY.message_classes()) <= set(ALL_MODELS)
    assert processor_models.TeamMember in ALL_MODELS  # nested models are found too


# -- helpers ---------------------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types at every level (``True`` is not ``1``, a tuple is not a list), key order too."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Model):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in attrs.fields(type(a)))
    if isinstance(a, dict):
        return [(type(k), k) for k in a] == [(type(k), k) for k in b] and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    result: bool = a == b
    return result


def depth(value: Any) -> int:
    """Nesting of containers (dicts, lists, tuples); the message's own object is 1."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_float(v) for v in value)
    return False


def orjson_friendly(value: Any) -> bool:
    """No float, every int within orjson's 64 bits, no lone surrogate, str keys only: orjson reads/writes it."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(type(k) is str and orjson_friendly(k) and orjson_friendly(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(orjson_friendly(v) for v in value)
    return False


def has_extra(value: Any) -> bool:
    """Whether a model, or one nested in it (in a field or an array), keeps unknown members."""
    if isinstance(value, Model):
        return bool(value.extra) or any(has_extra(getattr(value, f.name)) for f in attrs.fields(type(value)))
    if isinstance(value, tuple):
        return any(has_extra(v) for v in value)
    return False


def nested_lists(levels: int, leaf: Any = 0) -> Any:
    """``levels`` arrays, one inside the other, around ``leaf``."""
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def nested_objects(levels: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(levels):
        value = {"k": value}
    return value


_UNSET: Any = object()


def reference_structure(cls: type[Model], value: Any) -> tuple[Any, BaseException | None]:
    try:
        return converter.structure(value, cls), None
    except Exception as exc:  # any refusal of the reference path counts
        return _UNSET, exc


def check_structure(cls: type[Model], value: Any) -> bool:
    """Assert the compiled structure function defers or agrees with the reference; True when it answered."""
    try:
        got = structure_function(cls)(value)
    except STRUCTURE_DEFERS:
        return False
    expected, error = reference_structure(cls, value)
    assert error is None, f"compiled {cls.__name__} accepted {value!r}, reference refuses: {error!r}"
    assert same(got, expected), f"{cls.__name__} on {value!r}: compiled {got!r} != reference {expected!r}"
    return True


def reference_unstructure(obj: Model) -> tuple[Any, BaseException | None]:
    """What encode_model's reference path gives: unstructure, then the strict re-check of the output."""
    cls = type(obj)
    try:
        value = converter.unstructure(obj, cls)
        converter.structure(value, cls)
    except Exception as exc:  # any refusal of the reference path counts
        return _UNSET, exc
    return value, None


def check_unstructure(obj: Model) -> bool:
    """Assert the compiled unstructure function defers or agrees with the reference; True when it answered."""
    cls = type(obj)
    try:
        got = unstructure_function(cls)(obj)
    except UNSTRUCTURE_DEFERS:
        return False
    expected, error = reference_unstructure(obj)
    assert error is None, f"compiled {cls.__name__} wrote {got!r}, reference refuses: {error!r}"
    assert json.dumps(got) == json.dumps(expected)  # same JSON, same key order at every level
    assert same(got, expected)
    return True


def paths(value: Any, base: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place inside ``value`` (not the root), parents before children."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*base, key)
        yield from paths(child, (*base, key))


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def edited(value: Any, path: tuple[Any, ...], change: Callable[[Any], Any]) -> Any:
    """``value`` with the node at ``path`` replaced by ``change(node)`` (containers along the path copied)."""
    if not path:
        return change(value)
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        out[head] = edited(value[head], rest, change)
        return out
    items = list(value)
    items[head] = edited(value[head], rest, change)
    return items if isinstance(value, list) else tuple(items)


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    return edited(value, path, lambda _: new)


def _deleted(key: Any) -> Callable[[dict[Any, Any]], dict[Any, Any]]:
    return lambda node: {k: v for k, v in node.items() if k != key}


def _added(key: Any, new: Any) -> Callable[[dict[Any, Any]], dict[Any, Any]]:
    return lambda node: {**node, key: new}


def _rekeyed(key: str) -> Callable[[dict[Any, Any]], dict[Any, Any]]:
    return lambda node: {(_Str(k) if k == key else k): v for k, v in node.items()}


class _Str(str):
    """A str subclass: not a JSON string (nothing a parser makes)."""


class _Int(int):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


class _OtherEnum(enum.Enum):
    A = "a"
    ONE = 1


#: Values that are no JSON a parser makes, or the wrong JSON, or the near-misses of the right one.
TRICKY: tuple[Any, ...] = (
    True, False, 1, 0, -1, 1.0, 0.0, 0.5, -0.0, 2**64, -(2**70), "false", "true", "1", "", "x", None,
    _Str("x"), _Str(""), _Int(1), _OtherEnum.A, (), ("x",), [], ["x"], [1.5], [None], {}, {"k": 0.5}, {"k": [0.5]},
    {1: "x"}, {"k": {2: "x"}}, {None: 1}, {"k": (1, 2)}, {"k": {"x"}}, {"k": _Str("x")}, _Dict(),
    types.MappingProxyType({}), collections.OrderedDict(), set(), frozenset({"x"}), b"x", object(), float("nan"),
    float("inf"), nested_lists(PLAIN_DEPTH - 1), nested_lists(PLAIN_DEPTH), nested_lists(PLAIN_DEPTH + 1),
    nested_objects(PLAIN_DEPTH), nested_objects(PLAIN_DEPTH + 1), {"k": nested_lists(PLAIN_DEPTH, 0.5)},
)


def tricky_inputs(cls: type[Model], value: Any) -> Iterator[Any]:
    """Hand-made invalid or borderline variants of a valid JSON value of ``cls``."""
    yield [value]
    yield _Dict(value)
    yield collections.OrderedDict(value)
    yield tuple(value.items())
    for path in paths(value):
        for new in TRICKY:
            yield replaced(value, path, new)
        parent = get(value, path[:-1])
        if isinstance(parent, dict):
            yield edited(value, path[:-1], _deleted(path[-1]))
            yield edited(value, path[:-1], _rekeyed(path[-1]))
    objects = [()] + [p for p in paths(value) if isinstance(get(value, p), dict)]
    for where in objects:
        for new in TRICKY:
            yield edited(value, where, _added("x-unknown", new))
        for key in (1, None, True, _Str("x-k"), ("t",)):
            yield edited(value, where, _added(key, "x"))
    # Absent optional members, set to the tricky values (their parents are declared objects: present).
    for field in model_spec(cls).fields:
        try:
            get(value, field.path)
        except (KeyError, IndexError, TypeError):
            for new in TRICKY:
                yield edited(value, field.path[:-1], _added(field.path[-1], new))


# -- 1. agreement on valid messages --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_simplest_instance_is_answered_by_both_compiled_functions(cls: type[Model]) -> None:
    obj = ccst.simplest(cls)
    assert check_unstructure(obj), f"{cls.__name__}: compiled unstructure always falls back"
    value = converter.unstructure(obj, cls)
    assert check_structure(cls, value), f"{cls.__name__}: compiled structure always falls back"


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_compiled_functions_agree_on_valid_instances(cls: type[Model]) -> None:
    @FEW
    @given(st.data())
    def check(data: st.DataObject) -> None:
        with_extra = data.draw(st.booleans(), label="with_extra")
        obj = data.draw(ccst.from_model(cls, with_extra=with_extra, numbers=ccst.Numbers.EXACT), label="obj")
        answered = check_unstructure(obj)
        value = converter.unstructure(obj, cls)
        structured = check_structure(cls, value)
        plain = not has_float(value)
        if plain:
            assert structured, f"compiled {cls.__name__} deferred a valid float-free value"
        if plain and not has_extra(obj):
            assert answered, f"compiled {cls.__name__} deferred a valid float-free instance without extra"
        if has_extra(obj):
            assert not answered  # extras always go through the reference path on output

    check()


# -- 2. never accepts what the reference rejects ------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_compiled_structure_defers_on_tricky_values(cls: type[Model]) -> None:
    @settings(FEW, max_examples=2)
    @given(ccst.from_model(cls, with_extra=False, numbers=ccst.Numbers.EXACT))
    def check(obj: Model) -> None:
        value = converter.unstructure(obj, cls)
        for candidate in tricky_inputs(cls, value):
            check_structure(cls, candidate)

    check()
    simplest = converter.unstructure(ccst.simplest(cls), cls)
    answered = sum(check_structure(cls, candidate) for candidate in tricky_inputs(cls, simplest))
    assert answered > 0  # some variants are valid (e.g. an unknown member holding a string)


def _dispatch(protocol: str, value: Any) -> tuple[type[Model], Any] | None:
    """The class the protocol's codec structures ``value`` as, and the (normalised) value it structures."""
    if type(value) is not dict:
        return None
    try:
        if protocol == "bridge":
            normalised = bridge_codec.normalise(value, [])
            return bridge_codec.message_class_for(normalised), normalised
        if protocol == "processor":
            normalised = processor_codec.normalise(value, [])
            return processor_codec.message_class_for(normalised, processor_models.REGISTRY, []), normalised
        return cceb_codec.message_class_for(value, cceb_models.REGISTRY, []), value
    except ProtocolError:
        return None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_compiled_structure_defers_on_mutations(protocol: str) -> None:
    @settings(SOME, max_examples=120)
    @given(mutations(protocol))
    def check(m: Mutation) -> None:
        valid = _dispatch(protocol, m.valid)
        assert valid is not None
        answered = check_structure(valid[0], valid[1])
        assert answered or has_float(valid[1])  # what the mutation was made from is answered
        check_structure(valid[0], m.value)
        claimed = _dispatch(protocol, m.value)
        if claimed is not None:
            check_structure(*claimed)

    check()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_compiled_structure_defers_on_random_replacements(protocol: str) -> None:
    codec = CODECS[protocol]
    values = MESSAGES[protocol].map(lambda message: copy.deepcopy(codec.encode_value(message)))

    @SOME
    @given(ccst.mutated_json(values))
    def check(value: Any) -> None:
        claimed = _dispatch(protocol, value)
        if claimed is not None:
            check_structure(*claimed)

    check()


@class_cache
def _subclass_of(cls: type[Model]) -> type[Model]:
    return model(type(f"Sub{cls.__name__}", (cls,), {"__module__": __name__}))


def _planted(obj: Model, attr: str, new: Any) -> Model:
    """A copy of ``obj`` holding ``new`` in ``attr``, past every check (as a buggy caller could)."""
    out = copy.copy(obj)
    object.__setattr__(out, attr, new)
    return out


def wrong_values(obj: Model, attr: str) -> Iterator[Any]:
    """Values a field of ``obj`` must not hold (or borderline ones), given its current one."""
    current = getattr(obj, attr)
    yield from TRICKY
    yield _Str(current) if isinstance(current, str) else _Str("x")
    if isinstance(current, enum.Enum):
        yield current.value
        yield type(current)  # the enum class itself
    if isinstance(current, str):
        yield current + "\n"
        yield " " + current
        yield "{" + current + "}"
        yield current + "\ud800"  # a lone surrogate (valid for the model; no UTF-8 text can hold it)
    if isinstance(current, int) and not isinstance(current, bool):
        yield current + 1
        yield current - 1
        yield -(2**63) - 1
    if isinstance(current, Model):
        yield _subclass_of(type(current))(**{f.name: getattr(current, f.name) for f in attrs.fields(type(current))})
        yield converter.unstructure(current, type(current))  # its JSON where the model belongs
        yield _planted(current, "extra", {"/x-a": 1})
    if isinstance(current, tuple):
        yield list(current)
        yield (*current, None)
        yield (*current, 0.5)
        yield current[:-1]
        if current and isinstance(current[0], Model):
            first = current[0]
            sub = _subclass_of(type(first))(**{f.name: getattr(first, f.name) for f in attrs.fields(type(first))})
            yield (sub, *current[1:])
            yield (_planted(first, "extra", {"/x-a": 1}), *current[1:])
    if isinstance(current, dict):
        yield {**current, "x": 0.5}
        yield {**current, 1: "x"}
        yield {**current, "x": nested_lists(PLAIN_DEPTH + 1)}
        yield {**current, "x": {"y"}}
        yield types.MappingProxyType(current)


#: ``extra`` contents: plain (a member kept for re-encoding) and wrong (colliding, misplaced, not JSON).
EXTRAS: tuple[Any, ...] = (
    {"/x-a": 1}, {"/x-a": 0.5}, {"/x-a": {"y"}}, {"/x-a": nested_lists(PLAIN_DEPTH + 1)}, {"": 1}, {"/": 1},
    {"/nope/x": 1}, {"x": 1}, {"/x-a": object()}, _Dict({"/x-a": 1}), types.MappingProxyType({"/x-a": 1}),
    _Dict(), types.MappingProxyType({}),
)


def test_compiled_unstructure_defers_on_wrong_values_in_every_field() -> None:
    answered = 0
    for cls in ALL_MODELS:
        obj = ccst.simplest(cls)
        for field in attrs.fields(cls):
            if field.name == "extra":
                continue
            for new in wrong_values(obj, field.name):
                answered += check_unstructure(_planted(obj, field.name, new))
        for data in (obj.extra, *EXTRAS):
            check_unstructure(_planted(obj, "extra", data))
        for collide in model_spec(cls).known[()]:
            check_unstructure(_planted(obj, "extra", {"/" + collide: "x"}))
    assert answered > 0  # e.g. another string for a free string, or a list for a tuple


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_compiled_unstructure_defers_on_wrong_values_in_generated_instances(cls: type[Model]) -> None:
    @settings(FEW, max_examples=2)
    @given(ccst.from_model(cls, with_extra=False, numbers=ccst.Numbers.EXACT))
    def check(obj: Model) -> None:
        for field in attrs.fields(cls):
            if field.name != "extra":
                for new in wrong_values(obj, field.name):
                    check_unstructure(_planted(obj, field.name, new))

    check()


@pytest.mark.parametrize("extra", [None, (), "", 0, False, []], ids=repr)
def test_compiled_unstructure_defers_on_a_falsy_non_mapping_extra(extra: Any) -> None:
    obj = _planted(ccst.simplest(bridge_models.ServerStatusRequest), "extra", extra)
    _, error = reference_unstructure(obj)
    assert error is not None
    with pytest.raises(UNSTRUCTURE_DEFERS):
        unstructure_function(type(obj))(obj)


# -- models declared here: the generator's features (and its limits) --------------------------------------


class Color(enum.Enum):
    RED = "red"
    ONE = "1"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


@model
class Part(Model):
    name: str = wire("name", pattern=r"^[a-z]+$")
    qty: int | None = wire("qty", default=None, minimum=0, maximum=9)


@model
class Gadget(Model):
    """A test-only model using every kind of field the declaration machinery offers."""

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = (("head",), ("body",), ("body", "empty"))
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {
        ("head", "type"): "gadget",
        ("head", "version"): 2,
        ("head", "final"): True,
    }
    WIRE_FORBIDDEN: ClassVar[tuple[tuple[str, ...], ...]] = (("head", "result"),)

    ident: str = wire("head", "id", pattern=r"^g-[0-9]+$")
    count: int = wire("body", "count", minimum=0, maximum=100)
    flag: bool = wire("body", "flag")
    color: Color = wire("body", "color")
    level: Level | None = wire("body", "level", default=None)
    tags: tuple[str, ...] = wire("body", "tags", min_items=1)
    parts: tuple[Part, ...] = wire("body", "parts")
    main: Part = wire("body", "main")
    props: Mapping[str, Any] = wire("body", "props", forbidden_keys=("secret",))
    payload: Any = wire("body", "payload")
    maybe: Any | None = wire("body", "maybe", default=None)
    media: tuple[str, ...] = wire("body", "media", comma_list=True, pattern=r"^[a-z]+$")
    levels: tuple[Level, ...] = wire("body", "levels")
    odd: int | None = wire("body", "we/ird~key", default=None)


GADGET = {
    "head": {"type": "gadget", "version": 2, "final": True, "id": "g-1"},
    "body": {
        "empty": {},
        "count": 5,
        "flag": False,
        "color": "red",
        "level": 2,
        "tags": ["a"],
        "parts": [{"name": "x"}, {"name": "y", "qty": 2}],
        "main": {"name": "m"},
        "props": {"k": [1, {"z": None}]},
        "payload": None,
        "maybe": [True],
        "media": "voice,chat",
        "levels": [1, 2, 1],
        "we/ird~key": 3,
    },
}


def test_declared_here_gadget_agrees_on_tricky_values() -> None:
    assert check_structure(Gadget, GADGET)
    obj = converter.structure(GADGET, Gadget)
    assert check_unstructure(obj)
    for candidate in tricky_inputs(Gadget, GADGET):
        check_structure(Gadget, candidate)
    for field in attrs.fields(Gadget):
        if field.name != "extra":
            for new in wrong_values(obj, field.name):
                check_unstructure(_planted(obj, field.name, new))


@given(ccst.from_model(Gadget))
@SOME
def test_declared_here_gadget_agrees_on_generated_instances(obj: Gadget) -> None:
    check_unstructure(obj)
    check_structure(Gadget, converter.unstructure(obj, Gadget))


class Mixed(enum.Enum):
    A = "a"
    ONE = 1


@model
class WithMixedEnum(Model):
    choice: Mixed = wire("choice")


def test_an_enum_mixing_value_types_is_deferred_not_an_assertion() -> None:
    assert converter.structure({"choice": "a"}, WithMixedEnum) == WithMixedEnum(choice=Mixed.A)
    assert decode_model({"choice": 1}, WithMixedEnum) == WithMixedEnum(choice=Mixed.ONE)


@model
class WithFloat(Model):
    ratio: float = wire("ratio")
    ratios: tuple[float, ...] = wire("ratios")


@pytest.mark.parametrize("ratio", [0.5, 1e-7, float("nan"), float("inf")], ids=repr)
def test_floats_are_deferred_on_input(ratio: float) -> None:
    with pytest.raises(Fallback):
        structure_function(WithFloat)({"ratio": ratio, "ratios": []})
    with pytest.raises(Fallback):
        structure_function(WithFloat)({"ratio": 1, "ratios": [ratio]})


@pytest.mark.parametrize("ratio", [0.5, 1e-7, float("nan"), float("inf")], ids=repr)
def test_floats_are_deferred_on_output(ratio: float) -> None:
    obj = WithFloat(ratio=ratio, ratios=(ratio,))
    with pytest.raises(UNSTRUCTURE_DEFERS):
        unstructure_function(WithFloat)(obj)


@pytest.mark.parametrize("ratio", [1e-7, float("nan"), float("inf")], ids=repr)
def test_encode_text_answers_only_what_the_exact_path_writes(ratio: float) -> None:
    pytest.importorskip("orjson")
    obj = WithFloat(ratio=ratio, ratios=())
    fast = encode_text(obj)
    try:
        exact: str | None = message_text(encode_model(obj))
    except ProtocolError:
        exact = None
    assert fast is None or fast == exact


# -- 3. depth bound -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_depth_bound_is_within_the_fast_parser_bound(cls: type[Model]) -> None:
    assert depth_bound(cls) <= FAST_DEPTH_BOUND


def deep_variants(value: Any) -> Iterator[Any]:
    """``value`` with free-form members nested around the plain depth, at every place and in every object."""
    levels = (PLAIN_DEPTH - 1, PLAIN_DEPTH, PLAIN_DEPTH + 1)
    for path in paths(value):
        for n in levels:
            yield replaced(value, path, nested_lists(n))
            yield replaced(value, path, nested_objects(n))
    objects = [()] + [p for p in paths(value) if isinstance(get(value, p), dict)]
    for where in objects:
        for n in levels:
            yield edited(value, where, _added("x-deep", nested_lists(n)))
            yield edited(value, where, _added("x-deep", nested_objects(n)))


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_accepted_values_never_nest_deeper_than_the_bound(cls: type[Model]) -> None:
    bound = depth_bound(cls)
    deepest = 0

    def accepted(value: Any) -> None:
        nonlocal deepest
        if check_structure(cls, value):
            assert depth(value) <= bound, f"{cls.__name__} accepted depth {depth(value)} > bound {bound}"
            deepest = max(deepest, depth(value))

    @settings(FEW, max_examples=2)
    @given(ccst.from_model(cls, numbers=ccst.Numbers.EXACT))
    def check(obj: Model) -> None:
        value = converter.unstructure(obj, cls)
        accepted(value)
        for variant in deep_variants(value):
            accepted(variant)

    check()
    for variant in deep_variants(converter.unstructure(ccst.simplest(cls), cls)):
        accepted(variant)
    assert deepest > PLAIN_DEPTH  # deep free-form members were accepted up to the plain depth


def test_plain_json_room() -> None:
    plain_json(nested_lists(PLAIN_DEPTH))
    with pytest.raises(Fallback):
        plain_json(nested_lists(PLAIN_DEPTH + 1))
    for bad in (0.5, {1: "x"}, {"k": _Str("x")}, {"k": {"x"}}, _Dict(), [float("nan")], {"k": _Int(1)}):
        with pytest.raises(Fallback):
            plain_json(bad)


@model
class WithRows(Model):
    rows: tuple[Mapping[str, Any], ...] = wire("body", "rows")


def test_depth_bound_counts_free_form_array_items() -> None:
    # Items that are open objects get the full PLAIN_DEPTH of room: the bound must count it.
    bound = depth_bound(WithRows)
    deepest_accepted = {"body": {"rows": [nested_objects(PLAIN_DEPTH)]}}
    structure_function(WithRows)(deepest_accepted)
    assert depth(deepest_accepted) <= bound
    with pytest.raises(Fallback):
        structure_function(WithRows)({"body": {"rows": [nested_objects(PLAIN_DEPTH + 1)]}})


# -- 4. jsonio: loads_fast and dumps_plain ------------------------------------------------------------------

#: Whether orjson is installed (loads_fast answers only with it).
ORJSON = loads_fast("{}") is not None
needs_orjson = pytest.mark.skipif(not ORJSON, reason="orjson is not installed")

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | st.integers(min_value=2**64, max_value=2**100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(), max_size=8)  # lone surrogates included
    | st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\u2028", "\u2029", "\x00", "\x1f", "\x7f", "😀", "\ufeff"])
)
_keys = st.text(st.characters(), max_size=6) | st.sampled_from(["\ud800", "", "a", "\x00"])
json_objects = st.dictionaries(
    _keys,
    st.recursive(
        _scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
        max_leaves=12,
    ),
    max_size=5,
)


def exact_outcome(data: str | bytes, limits: Limits) -> tuple[Any, BaseException | None]:
    try:
        return parse_object(data, limits=limits), None
    except ProtocolError as exc:
        return _UNSET, exc


def check_loads_fast(data: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Assert loads_fast defers or agrees with parse_object; returns its result."""
    fast = loads_fast(data, limits)
    exact, error = exact_outcome(data, limits)
    if fast is None:
        return None
    if error is not None:
        # Only one refusal may be left to the caller: nesting deeper than a limit at or above the bound,
        # which the compiled structure functions refuse (nothing they accept is that deep).
        assert isinstance(error, LimitExceededError), (data, error)
        assert error.code == "too-deep", (data, error)
        assert limits.max_depth >= FAST_DEPTH_BOUND
        assert depth(fast) > limits.max_depth
        return fast
    assert type(fast) is dict
    if not has_float(fast):
        assert json_equal(fast, exact), (data, fast, exact)
        assert json.dumps(fast) == json.dumps(exact)  # same key order too
    elif not has_float(exact):
        # A float where the exact parser has none: only an integer beyond 64 bits, read as a float.
        assert json.dumps(exact) != json.dumps(fast)
    return fast


@needs_orjson
@MANY
@given(json_objects, st.booleans(), st.booleans(), st.booleans())
def test_loads_fast_defers_or_agrees(value: dict[str, Any], ascii_only: bool, compact: bool, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":") if compact else None)
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    fast = check_loads_fast(data)
    canonical = orjson_friendly(value) and jsonio._orjson.dumps(value) == text.encode("utf-8", "surrogatepass")
    if canonical:
        assert fast is not None  # the fast parser is really used on what it can read
        assert json_equal(fast, value)
    elif orjson_friendly(value) and "\\u003" not in text:
        # Any spelling of a value that repeats no key is trusted too (quirk J4: the ':' count proves it).
        assert fast is not None
        assert json_equal(fast, value)
    relaxed = loads_fast(data, Limits(allow_duplicate_keys=True))
    if orjson_friendly(value):
        assert relaxed is not None  # any formatting, when repeated keys may pass
        assert json_equal(relaxed, value)


EDGE_TEXTS: tuple[str | bytes, ...] = (
    "\ufeff{}", b"\xef\xbb\xbf{}", '{"a":NaN}', '{"a":Infinity}', '{"a":-Infinity}', '{"a":1e999}',
    '{"a":-1e400}', '{"a":1e-400}', "{} x", "{}\x00", "{}{}", '{"a":1,}', "{'a':1}", '{"a":01}', '{"a":.5}',
    '{"a":"\x01"}', '{"a":"\\ud800"}', '{"\\udc00":1}', '{"a":"\\ud83d\\ude00"}', '{"a":"\ud800"}', "[]", "1",
    '"x"', "null", "", " ", "\t{}\r\n", "\x0c{}", '{"a":1,"a":2,"b":3}', '{"b":1,"a":2,"b":3}', '{"a":-0}',
    '{"a":18446744073709551616}', '{"a":18446744073709551615}', '{"a":-9223372036854775809}', '{"a":1.0}',
    '{"a":1E2}', b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"\xff", "{\"a\":" + "[" * 2000 + "]" * 2000 + "}",
    "{\"a\":" + "[" * 40 + "]" * 40 + "}", "{\"a\":" + "[" * 70 + "]" * 70 + "}", '{"a":"[[[[[[[[[["}',
)


@needs_orjson
@pytest.mark.parametrize("data", EDGE_TEXTS, ids=lambda d: repr(d)[:40])
@pytest.mark.parametrize(
    "limits",
    [DEFAULT_LIMITS, Limits(max_depth=3), Limits(max_depth=FAST_DEPTH_BOUND), Limits(max_message_bytes=16)],
    ids=["default", "depth-3", "depth-bound", "16-bytes"],
)
def test_loads_fast_edge_texts(data: str | bytes, limits: Limits) -> None:
    check_loads_fast(data, limits)


@needs_orjson
@pytest.mark.parametrize("max_depth", [1, 2, 3, 5, FAST_DEPTH_BOUND - 1])
@pytest.mark.parametrize("levels", [1, 2, 3, 4, 6, FAST_DEPTH_BOUND - 1, FAST_DEPTH_BOUND, FAST_DEPTH_BOUND + 1])
def test_loads_fast_depth_below_the_bound(max_depth: int, levels: int) -> None:
    for value in ({"a": nested_lists(levels - 1)}, nested_objects(levels - 1)):
        text = json.dumps(value)
        check_loads_fast(text, Limits(max_depth=max_depth))
        check_loads_fast(text.encode(), Limits(max_depth=max_depth))


@needs_orjson
@pytest.mark.parametrize("size", [1, 2, 8, 15, 16, 17, 40, 64])
def test_loads_fast_size_limit(size: int) -> None:
    for filler in ("a", "é", "😀", "\\u00e9"):
        text = '{"k":"' + filler * 8 + '"}'
        check_loads_fast(text, Limits(max_message_bytes=size))
        check_loads_fast(text.encode(), Limits(max_message_bytes=size))


@needs_orjson
@MANY
@given(json_objects, st.booleans(), st.sampled_from([None, (",", ":"), (", ", ": "), (" ,", " :")]), st.data())
def test_loads_fast_never_trusts_a_repeated_key(
    value: dict[str, Any], ascii_only: bool, separators: tuple[str, str] | None, data: st.DataObject
) -> None:
    """A key written twice in one object, however the text is spelled, is left to the exact parser (J4)."""
    if not value:
        return
    text = json.dumps(value, ensure_ascii=ascii_only, separators=separators)
    key = data.draw(st.sampled_from(sorted(value)))
    again = json.dumps({key: data.draw(_scalars)}, ensure_ascii=ascii_only, separators=separators)
    repeated = text[:-1] + (separators or (", ", ": "))[0] + again[1:]  # the key repeated at the end
    for form in (repeated, repeated.encode("utf-8", "surrogatepass")):
        assert loads_fast(form) is None
        assert jsonio.loads_object_fast(form if isinstance(form, bytes) else form.encode("utf-8", "surrogatepass"))\
            is None


def test_loads_fast_without_orjson_always_defers() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "_orjson", None)
        assert loads_fast('{"a":1}') is None
        assert loads_fast(b'{"a":1}') is None


_plain_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | st.text(st.characters(), max_size=8)
    | st.sampled_from(["\ud800", "a\udc00", "\u2028", "\u2029", "\x00", "\x1f", "\x7f", "\x80", "😀", '"\\/'])
    | st.builds(_Str, st.text(max_size=4))
)
_plain_keys = (
    st.text(st.characters(), max_size=6)
    | st.sampled_from(["\ud800", "\u2028", "\x00"])
    | st.integers()
    | st.booleans()
    | st.none()
    | st.builds(_Str, st.text(max_size=4))
)
float_free_values = st.recursive(
    _plain_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(_plain_keys, children, max_size=4)
    ),
    max_leaves=12,
)


@MANY
@given(float_free_values)
def test_dumps_plain_defers_or_agrees(value: Any) -> None:
    exact = dumps(value)
    fast = dumps_plain(value)
    assert fast is None or fast == exact
    if ORJSON and orjson_friendly(value):
        assert fast is not None  # the fast writer is really used on what it can write
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "_orjson", None)
        slow = dumps_plain(value)
    try:
        exact.encode("utf-8")
    except UnicodeEncodeError:
        assert slow is None
        assert fast is None
    else:
        assert slow == exact


@pytest.mark.parametrize(
    "value",
    [{"a": "\x00\x1f\x7f\u2028\u2029"}, {"😀": "😀"}, {"a": 2**64 - 1}, {"a": 2**64}, {"a": -(2**63) - 1},
     {1: 2}, {True: None}, {None: 1}, {"a": "\ud800"}, {"\udfff": 1}, {"a": ("x", [])}, {"a": _Str("s")},
     {"a": nested_lists(300)}, {"a": '"\\/'}, {"a": "</script>"}],
    ids=repr,
)
def test_dumps_plain_edge_values(value: Any) -> None:
    fast = dumps_plain(value)
    assert fast is None or fast == dumps(value)


# -- 5. the codecs, with and without orjson -----------------------------------------------------------------


def both_ways(call: Callable[[], Any]) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """``call()`` with orjson in use and with it hidden: ("ok", result) or ("error", exception) each."""

    def outcome() -> tuple[str, Any]:
        try:
            return "ok", call()
        except ProtocolError as exc:
            return "error", exc

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jsonio, "_orjson", None)
        slow = outcome()
    return fast, slow


def assert_same_outcome(fast: tuple[str, Any], slow: tuple[str, Any]) -> None:
    assert fast[0] == slow[0], (fast, slow)
    a, b = fast[1], slow[1]
    if fast[0] == "error":
        assert type(a) is type(b)
        assert (a.code, a.pointer, str(a), a.hint) == (b.code, b.pointer, str(b), b.hint)
        assert json_equal(a.message, b.message)
    elif isinstance(a, str):
        assert a == b
    else:
        assert same(a.message, b.message), (a.message, b.message)
        assert a.warnings == b.warnings
        assert json_equal(a.value, b.value)
        assert json.dumps(a.value) == json.dumps(b.value)


def check_decoding(protocol: str, data: str | bytes, strict: bool = False) -> tuple[str, Any]:
    codec = CODECS[protocol]
    fast, slow = both_ways(lambda: codec.decode_text(data, strict=strict))
    assert_same_outcome(fast, slow)
    plain_fast, plain_slow = both_ways(lambda: codec.decode(data, strict=strict))
    assert plain_fast[0] == plain_slow[0] == fast[0]
    if fast[0] == "ok":
        assert same(plain_fast[1], fast[1].message)
        assert same(plain_slow[1], fast[1].message)
    else:
        assert type(plain_fast[1]) is type(fast[1])
        assert str(plain_fast[1]) == str(fast[1])
    return fast


@needs_orjson
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_codecs_agree_with_and_without_orjson_on_valid_messages(protocol: str) -> None:
    codec = CODECS[protocol]

    @settings(SOME, max_examples=80)
    @given(MESSAGES[protocol], st.booleans())
    def check(message: Any, as_bytes: bool) -> None:
        fast, slow = both_ways(lambda: codec.encode(message))
        assert_same_outcome(fast, slow)
        assert fast[0] == "ok"
        text = fast[1]
        data = text.encode() if as_bytes else text
        result = check_decoding(protocol, data)
        assert result[0] == "ok"
        assert same(result[1].message, message)
        check_decoding(protocol, data, strict=True)
        # The fast path is really taken on what it can decide: a message without floats that raises no warning
        # (an unregistered command, event or notification type warns, and the exact path words the warning).
        value = parse_object(text)
        registry = () if protocol == "bridge" else (codec.REGISTRY,)
        if orjson_friendly(value) and not result[1].warnings:
            assert codec.decode_compiled(loads_fast(data), *registry, False) is not None

    check()


@needs_orjson
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_codecs_agree_with_and_without_orjson_on_mutations(protocol: str) -> None:
    @settings(SOME, max_examples=60)
    @given(mutations(protocol), st.booleans())
    def check(m: Mutation, strict: bool) -> None:
        text = m.text()
        check_decoding(protocol, text, strict=strict)
        check_decoding(protocol, text.encode(), strict=strict)

    check()


@needs_orjson
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_codecs_agree_with_and_without_orjson_on_planted_values(protocol: str) -> None:
    """Values only one of the writers/parsers can handle: big ints, lone surrogates, floats, deep members."""
    codec = CODECS[protocol]
    planted = (2**64, -(2**63) - 1, 2**63, "\ud800", 0.5, 1e-7, nested_lists(PLAIN_DEPTH + 1), {"k": 1e16})

    @settings(SOME, max_examples=12)
    @given(MESSAGES[protocol])
    def check(message: Any) -> None:
        for field in attrs.fields(type(message)):
            if field.name == "extra":
                continue
            for new in planted:
                wrong = _planted(message, field.name, new)
                assert_same_outcome(*both_ways(functools.partial(codec.encode, wrong)))
        value = codec.encode_value(message)
        for where in [()] + [p for p in paths(value) if isinstance(get(value, p), dict)]:
            for new in planted:
                changed = edited(value, where, _added("x-planted", new))
                text = dumps(changed)
                check_decoding(protocol, text)
                check_decoding(protocol, text.encode("utf-8", "surrogatepass"))

    check()


def _bridge_alternate_key() -> str:
    response = ccst.simplest(bridge_models.ServerStatusResponse)
    value = bridge_codec.encode_value(response)
    value["header"]["cti.result"] = value["header"].pop("result")
    return dumps(value)


def _bridge_agent_name_missing() -> str:
    return bridge_codec.encode(ccst.simplest(bridge_models.AgentInfoResponse))


def _processor_padded_command() -> str:
    request = ccst.simplest(processor_models.REGISTRY.message_classes()[0])
    value = processor_codec.encode_value(request)
    value["command"] = f" {value['command']} "
    return dumps(value)


def _processor_unknown_command() -> str:
    request = attrs.evolve(ccst.simplest(processor_models.UnknownRequest), command="x-unregistered")
    return processor_codec.encode(request)


def _cceb_unknown_notification() -> str:
    notification = attrs.evolve(ccst.simplest(cceb_models.UnknownNotification), type="x-unregistered")
    return cceb_codec.encode(notification)


WARNING_INPUTS: list[tuple[str, Callable[[], str], str]] = [
    ("bridge", _bridge_alternate_key, "alternate-spelling"),
    ("bridge", _bridge_agent_name_missing, "agent-name-missing"),
    ("processor", _processor_padded_command, "command-whitespace"),
    ("processor", _processor_unknown_command, "unknown-command"),
    ("cceb", _cceb_unknown_notification, "unknown-notification"),
]


@needs_orjson
@pytest.mark.parametrize(("protocol", "make", "code"), WARNING_INPUTS, ids=[w[2] for w in WARNING_INPUTS])
def test_codecs_agree_on_warnings_and_strictness(protocol: str, make: Callable[[], str], code: str) -> None:
    text = make()
    lenient = check_decoding(protocol, text)
    assert lenient[0] == "ok"
    assert [w.code for w in lenient[1].warnings] == [code]
    strict = check_decoding(protocol, text, strict=True)
    assert strict[0] == "error"
    assert strict[1].code == code
    check_decoding(protocol, text.encode(), strict=True)


@pytest.mark.parametrize(
    ("data", "limits", "error"),
    [
        ('{"a":' + "[" * 40 + "]" * 40 + "}", Limits(max_depth=FAST_DEPTH_BOUND + 2), LimitExceededError),
        ('{"a":' + "[" * 10 + "]" * 10 + "}", Limits(max_depth=5), LimitExceededError),
        ('{"type":"hello"}' + " " * 64, Limits(max_message_bytes=32), LimitExceededError),
        ('{"type":1e999}', DEFAULT_LIMITS, DecodeError),
    ],
    ids=["deeper-than-a-limit-above-the-bound", "deeper-than-a-small-limit", "over-size", "out-of-range"],
)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_codecs_refuse_over_limits_either_way(protocol: str, data: str, limits: Limits, error: type[Exception]) -> None:
    codec = CODECS[protocol]
    fast, slow = both_ways(lambda: codec.decode_text(data, limits=limits))
    assert_same_outcome(fast, slow)
    assert fast[0] == "error"
    assert isinstance(fast[1], error)


# -- 6. every model's generated source ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MODELS, ids=MODEL_IDS)
def test_generated_source_exists_and_compiles(cls: type[Model]) -> None:
    for function in (structure_function(cls), unstructure_function(cls)):
        source = vars(function)["__ccproto_source__"]
        assert isinstance(source, str)
        assert source.startswith("def ")
        compile(source, f"<test {cls.__name__}>", "exec")
    assert structure_function(cls) is structure_function(cls)  # built once
    assert unstructure_function(cls) is unstructure_function(cls)


def test_falling_back_to_the_reference_path_keeps_nothing() -> None:
    # Found by fuzzing: one shared Fallback instance kept every traceback it was raised through, and with them the
    # frames and values of every message that fell back (memory grew by kilobytes a message).
    import gc
    import tracemalloc

    text = json.dumps({"command": "report.calljourney", "data": {"CallId": "99", "x-weight": 0.5}})
    processor_codec.decode(text)  # a float: the compiled path falls back
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            processor_codec.decode(text)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, f"{grown} bytes kept after 2000 decodes that fell back"
