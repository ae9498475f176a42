"""One definition per message: attrs classes with wire metadata.

A message (or any object inside one) is declared once, as a frozen, slotted,
keyword-only attrs class deriving from :class:`Model`, whose fields say where
they live on the wire (``wire("header", "requestId")``) and what constrains
them.  Everything else is derived from that declaration:

* the strict cattrs structure/unstructure hooks (:mod:`ccproto.core.hooks`) and the
  functions compiled from the same spec (:mod:`ccproto.core.compiled`),
* the JSON Schema (:mod:`ccproto.core.schema`),
* the hypothesis strategies (:mod:`ccproto.testing.strategies`).

Unknown members are kept in ``extra``, keyed by the JSON pointer (relative to
the model's own object) where they were found, so decode -> encode loses nothing.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from ccproto.core.redact import REDACTED, is_secret_key, redact, register_secret_key

__all__ = [
    "ExactMembersWhen",
    "FieldSpec",
    "JsonValue",
    "Model",
    "ModelSpec",
    "OnlyWhen",
    "PRETTY_AS_REPR",
    "PrettyAsRepr",
    "WireRule",
    "model",
    "model_spec",
    "class_cache",
    "pointer",
    "split_pointer",
    "wire",
]

#: Marks a field holding any JSON value, passed through untouched.
JsonValue = Any

_META = "ccproto"
_M = TypeVar("_M", bound=type["Model"])


@attrs.frozen(kw_only=True)
class WireInfo:
    """What a field's metadata says about its wire form."""

    path: tuple[str, ...]
    secret: bool = False
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    comma_list: bool = False
    min_items: int | None = None
    description: str = ""
    #: For an open object (``Mapping``): member names it must not contain.
    forbidden_keys: tuple[str, ...] = ()


def _repr_value(value: Any) -> str:
    # Object-typed members may hold secrets under known keys (an echoed request's password).
    return repr(redact(value)) if isinstance(value, (dict, list)) else repr(value)


def wire(
    *path: str,
    secret: bool = False,
    pattern: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    comma_list: bool = False,
    min_items: int | None = None,
    description: str = "",
    forbidden_keys: tuple[str, ...] = (),
    default: attrs.NothingType | None = attrs.NOTHING,
) -> Any:
    """Declare a model field and where it lives on the wire.

    ``path`` is the sequence of JSON object keys from the model's own object to
    the value (``wire("header", "requestId")``).  ``default=None`` makes the
    member optional on the wire (``default=None``: the field defaults to
    ``None``, meaning absent; JSON ``null`` is never accepted).  ``secret=True`` keeps the value out of
    ``repr`` and redacts it everywhere.  ``comma_list=True`` exposes a
    comma-separated string as a tuple of its items.  ``min_items`` bounds an
    array's length from below.  ``forbidden_keys`` lists members an open object
    (a ``Mapping`` field) must not contain.
    """
    if not path:
        raise TypeError("wire() needs at least one key")
    if secret:
        register_secret_key(path[-1])
    info = WireInfo(
        path=path,
        secret=secret,
        pattern=pattern,
        minimum=minimum,
        maximum=maximum,
        comma_list=comma_list,
        min_items=min_items,
        description=description,
        forbidden_keys=tuple(forbidden_keys),
    )
    shown: Any = False if secret else _repr_value
    if default is None:
        return attrs.field(default=None, repr=shown, metadata={_META: info})
    return attrs.field(repr=shown, metadata={_META: info})


def pointer(parts: typing.Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a sequence of keys/indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def split_pointer(ptr: str) -> tuple[str, ...]:
    """Inverse of :func:`pointer` (indexes come back as strings)."""
    if ptr == "":
        return ()
    if not ptr.startswith("/"):
        raise ValueError(f"not a JSON pointer: {ptr!r}")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ptr[1:].split("/"))


@attrs.frozen
class OnlyWhen:
    """A rule: ``member`` may be present only while ``selector`` (in the same object) is one of ``values``.

    Paths are wire paths from the model's object; ``values`` are wire values.
    (The off-hook ``timeout`` exists only in the ``offering`` state.)
    """

    member: tuple[str, ...]
    selector: tuple[str, ...]
    values: tuple[Any, ...]


@attrs.frozen
class ExactMembersWhen:
    """A rule: while ``selector`` is ``value``, the open object at ``target`` holds exactly ``members`` (strings).

    (A provisioning ``AgentDeletedEvent`` carries its ``agentId`` and nothing else.)
    """

    selector: tuple[str, ...]
    value: Any
    target: tuple[str, ...]
    members: tuple[str, ...]


#: A rule spanning several members, beyond what each field declares.
WireRule = OnlyWhen | ExactMembersWhen


def _repr_extra(extra: Mapping[str, Any]) -> str:
    shown = {k: (REDACTED if is_secret_key(k.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")) else v)
             for k, v in extra.items()}
    return repr(redact(shown))


class PrettyAsRepr:
    """A ``_repr_pretty_`` that prints an instance's ``repr``; looked up on the class itself it is ``None``.

    Pretty printers (hypothesis's falsifying examples, IPython) ask a value for
    ``_repr_pretty_`` before anything else.  A class must print as a class (a
    message class is a rule's argument in the conformance machines): a plain method
    looked up on the class would be called unbound, and the printing would raise.
    """

    def __get__(self, instance: object, owner: type | None = None) -> Callable[[Any, bool], None] | None:
        if instance is None:
            return None

        def pretty(printer: Any, cycle: bool) -> None:
            printer.text(repr(instance))

        return pretty


#: Assign to ``_repr_pretty_`` in a class whose repr hides secrets.
PRETTY_AS_REPR = PrettyAsRepr()


@typing.dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(wire, attrs.field))
class _Transformed:
    """Tells type checkers that subclasses are keyword-only frozen classes whose fields come from ``wire()``."""

    __slots__ = ()


@attrs.frozen(kw_only=True)
class Model(_Transformed):
    """Base of every wire object.

    Subclasses are declared with :func:`model` and fields made with :func:`wire`.
    Class attributes shape the wire form further:

    * ``WIRE_OBJECTS``: paths of objects that must exist even with no declared
      field inside (e.g. an empty ``body``);
    * ``WIRE_CONSTS``: members with a fixed value (a message's type and name);
    * ``WIRE_FORBIDDEN``: members that must be absent (unknown members are kept
      otherwise), e.g. ``result`` on a request, which would make it a response;
    * ``WIRE_RULES``: rules spanning members (:class:`OnlyWhen`, :class:`ExactMembersWhen`),
      enforced by the converter and written into the schema.
    """

    WIRE_OBJECTS: ClassVar[tuple[tuple[str, ...], ...]] = ()
    WIRE_CONSTS: ClassVar[Mapping[tuple[str, ...], Any]] = {}
    #: Members that must be absent: their presence would make the JSON another kind of message.
    WIRE_FORBIDDEN: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Rules spanning several members.
    WIRE_RULES: ClassVar[tuple[WireRule, ...]] = ()

    #: Members the model does not declare, keyed by JSON pointer, kept for re-encoding.
    extra: Mapping[str, JsonValue] = attrs.field(factory=dict, repr=_repr_extra, kw_only=True)

    # Pretty printers (hypothesis's falsifying examples, IPython) would otherwise print an attrs instance field by
    # field, secrets included; the repr already hides them.
    _repr_pretty_: ClassVar[PrettyAsRepr] = PRETTY_AS_REPR


def model(cls: _M) -> _M:
    """Make ``cls`` a frozen, slotted, keyword-only attrs model compared by value."""
    return attrs.frozen(kw_only=True)(cls)


class TypeKind(enum.Enum):
    """The shape of a field's value, as the converter and schema see it."""

    STR = "string"
    INT = "integer"
    BOOL = "boolean"
    FLOAT = "number"
    ENUM = "enum"
    ARRAY = "array"
    OBJECT = "object"  # a mapping of str -> any JSON value
    ANY = "any"
    MODEL = "model"


@attrs.frozen(kw_only=True)
class TypeSpec:
    """A field's type, reduced to what the wire cares about."""

    kind: TypeKind
    python_type: Any = None  # the enum / model class for ENUM / MODEL
    items: TypeSpec | None = None  # for ARRAY


@attrs.frozen(kw_only=True)
class FieldSpec:
    """One declared field: its attribute, wire location, type and constraints."""

    attr: str
    wire: WireInfo
    type: TypeSpec
    required: bool

    @property
    def path(self) -> tuple[str, ...]:
        """Keys from the model's object to the value."""
        return self.wire.path


@attrs.frozen(kw_only=True)
class ModelSpec:
    """Everything derived from one model class's declaration."""

    cls: type[Model]
    fields: tuple[FieldSpec, ...]
    consts: Mapping[tuple[str, ...], Any]
    #: Every object path, parents before children; ``()`` is the model's own object.
    objects: tuple[tuple[str, ...], ...]
    #: For each object path, the member names that are declared there.
    known: Mapping[tuple[str, ...], frozenset[str]]
    #: Paths of members that must be absent.
    forbidden: tuple[tuple[str, ...], ...] = ()
    #: Rules spanning several members.
    rules: tuple[WireRule, ...] = ()

    def field_at(self, path: tuple[str, ...]) -> FieldSpec | None:
        """The declared field living at ``path`` (``None`` if none does)."""
        for field in self.fields:
            if field.path == path:
                return field
        return None


def _type_spec(annotation: Any) -> tuple[TypeSpec, bool]:
    """Reduce an annotation to a TypeSpec; the bool says whether ``None`` is allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args: Any = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}: only X | None")
        inner, _ = _type_spec(args[0])
        return inner, True
    if annotation is Any:
        return TypeSpec(kind=TypeKind.ANY), False
    if annotation is str:
        return TypeSpec(kind=TypeKind.STR), False
    if annotation is bool:
        return TypeSpec(kind=TypeKind.BOOL), False
    if annotation is int:
        return TypeSpec(kind=TypeKind.INT), False
    if annotation is float:
        return TypeSpec(kind=TypeKind.FLOAT), False
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return TypeSpec(kind=TypeKind.ENUM, python_type=annotation), False
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return TypeSpec(kind=TypeKind.MODEL, python_type=annotation), False
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"unsupported tuple {annotation!r}: only tuple[X, ...]")
        items, _ = _type_spec(args[0])
        return TypeSpec(kind=TypeKind.ARRAY, items=items), False
    if origin in (Mapping, dict) or annotation in (Mapping, dict):
        return TypeSpec(kind=TypeKind.OBJECT), False
    raise TypeError(f"unsupported field type {annotation!r}")


_C = TypeVar("_C")
_R = TypeVar("_R")


def class_cache(function: Callable[[type[_C]], _R]) -> Callable[[type[_C]], _R]:
    """Memoise a function of a class (``functools.cache`` without the typing trouble; classes live forever)."""
    cache: dict[type[_C], _R] = {}

    @functools.wraps(function)
    def cached(cls: type[_C]) -> _R:
        try:
            return cache[cls]
        except KeyError:
            result = cache[cls] = function(cls)
            return result

    return cached


@class_cache
def model_spec(cls: type[Model]) -> ModelSpec:
    """The (cached) spec of a model class."""
    hints = typing.get_type_hints(cls)
    fields: list[FieldSpec] = []
    for attribute in attrs.fields(cls):
        info = attribute.metadata.get(_META)
        if info is None:
            if attribute.name == "extra":
                continue
            raise TypeError(f"{cls.__qualname__}.{attribute.name} is not declared with wire()")
        tspec, nullable = _type_spec(hints[attribute.name])
        required = attribute.default is attrs.NOTHING
        if nullable == required:
            raise TypeError(
                f"{cls.__qualname__}.{attribute.name}: a field is optional exactly when its type admits None"
            )
        if info.min_items is not None and tspec.kind is not TypeKind.ARRAY:
            raise TypeError(f"{cls.__qualname__}.{attribute.name}: min_items needs tuple[X, ...]")
        if info.forbidden_keys and tspec.kind is not TypeKind.OBJECT:
            raise TypeError(f"{cls.__qualname__}.{attribute.name}: forbidden_keys needs an open object (Mapping)")
        if info.comma_list and not (tspec.kind is TypeKind.ARRAY and tspec.items and tspec.items.kind is TypeKind.STR):
            raise TypeError(f"{cls.__qualname__}.{attribute.name}: comma_list needs tuple[str, ...]")
        fields.append(FieldSpec(attr=attribute.name, wire=info, type=tspec, required=required))

    objects: set[tuple[str, ...]] = {()}
    leaf_paths: list[tuple[str, ...]] = [f.path for f in fields] + list(cls.WIRE_CONSTS)
    for path in leaf_paths + list(cls.WIRE_OBJECTS):
        for depth in range(len(path)):
            objects.add(path[:depth])
    objects.update(cls.WIRE_OBJECTS)
    known: dict[tuple[str, ...], set[str]] = {obj: set() for obj in objects}
    for path in leaf_paths:
        if path in objects:
            raise TypeError(f"{cls.__qualname__}: {pointer(path)} is both an object and a value")
        if path[-1] in known[path[:-1]]:
            raise TypeError(f"{cls.__qualname__}: {pointer(path)} declared twice")
        known[path[:-1]].add(path[-1])
    for obj in objects:
        if obj:
            known[obj[:-1]].add(obj[-1])
    ordered = tuple(sorted(objects, key=lambda p: (len(p), p)))
    for path in cls.WIRE_FORBIDDEN:
        if not path or path[:-1] not in objects or path[-1] in known[path[:-1]]:
            raise TypeError(f"{cls.__qualname__}: cannot forbid {pointer(path)}")
    spec = ModelSpec(
        cls=cls,
        fields=tuple(fields),
        consts=dict(cls.WIRE_CONSTS),
        objects=ordered,
        known={k: frozenset(v) for k, v in known.items()},
        forbidden=tuple(cls.WIRE_FORBIDDEN),
        rules=tuple(cls.WIRE_RULES),
    )
    for rule in spec.rules:
        _check_rule(cls, spec, rule)
    return spec


def _check_rule(cls: type[Model], spec: ModelSpec, rule: WireRule) -> None:
    """A rule must name declared fields of the right kinds (caught when the class is first used)."""
    if isinstance(rule, OnlyWhen):
        member, selector = spec.field_at(rule.member), spec.field_at(rule.selector)
        ok = member is not None and not member.required and selector is not None
        ok = ok and rule.member[:-1] == rule.selector[:-1]
    else:
        target, selector = spec.field_at(rule.target), spec.field_at(rule.selector)
        ok = target is not None and target.type.kind is TypeKind.OBJECT and selector is not None
    if not ok:
        raise TypeError(f"{cls.__qualname__}: rule {rule!r} does not fit the declared fields")
